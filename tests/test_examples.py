"""The gallery scripts in ``examples/`` run as the documentation build runs them, and the demos behind them
write their files.

The scripts are sphinx-gallery examples (a docstring with a title, then ``# %%`` cells); each is run here with
``runpy`` as ``__main__``, as sphinx-gallery does, and what it computes is checked.  The demos
(:mod:`rsa_lineardyn.demos`) are what ``rsa-lineardyn demo`` and ``python -m rsa_lineardyn.demos.<name>`` run.
"""

import runpy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run_example(name):
    """Run ``examples/<name>.py`` as the gallery does; returns its namespace and the figures it left open."""
    before = set(plt.get_fignums())
    namespace = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    figures = [plt.figure(n) for n in plt.get_fignums() if n not in before]
    return namespace, figures


def test_every_example_is_a_gallery_script():
    import ast

    scripts = sorted(EXAMPLES.glob("*.py"))
    assert {p.stem for p in scripts} == {"figure1", "semantic_development", "fit_human_it"}
    assert (EXAMPLES / "GALLERY_HEADER.rst").is_file()
    for path in scripts:
        text = path.read_text()
        doc = ast.get_docstring(ast.parse(text))
        lines = doc.splitlines()
        assert len(lines) > 3 and set(lines[1]) == {"="} and len(lines[1]) == len(lines[0]), path.name
        assert text.count("# %%") >= 2, f"{path.name}: no cells for the gallery"
        assert "sys.exit" not in text and "argparse" not in text, f"{path.name}: a gallery script, not a CLI"


def test_figure1_example():
    ns, figures = _run_example("figure1")
    assert len(figures) == 1
    worst = ns["deviations"]
    assert set(worst) == {-1.0, 0.0, 1.0}
    for full, half, quarter in worst.values():  # first order in the learning rate: halving lr halves the deviation
        assert 1.8 < full / half < 2.2 and 1.8 < half / quarter < 2.2
    plt.close("all")


@pytest.fixture(scope="module")
def semantic():
    ns, figures = _run_example("semantic_development")
    yield ns, figures
    plt.close("all")


def test_semantic_development_example(semantic):
    from rsa_lineardyn.demos.semantic_development import level_of_pair

    ns, figures = semantic
    assert len(figures) == 4  # rich and lazy RDMs, modes, trajectories
    res, table = ns["res"], ns["table"]
    rich = table[(table.regime == "rich") & (table.n_hidden == 16)].sort_values("mode")
    # rich: stronger modes are learned first; lazy: all modes at about the same time ln2/|lam|
    assert np.all(np.diff(rich.half_time.to_numpy()) > 0)
    lazy = table[(table.regime == "lazy_pos") & (table.n_hidden == 16)]
    assert np.ptp(lazy.half_time) < 0.01 * lazy.half_time.mean()
    # a bottleneck of one unit learns only the first mode
    one = table[(table.regime == "rich") & (table.n_hidden == 1)]
    assert np.isfinite(one.half_time.iloc[0]) and np.all(np.isinf(one.half_time.iloc[1:]))
    assert ns["dev"] < 1e-6
    # an aligned start already holds the task's modes at t = 0 (N_h = 1: plant/animal pairs far apart);
    # the expected geometry over random starts begins undifferentiated and ends where the aligned one does
    labels = list(res["task"].labels)
    iu = np.triu_indices(len(labels), 1)
    lev = np.array([level_of_pair(labels[i], labels[j]) for i, j in zip(*iu)])

    def ratio(D):
        v = D[iu]
        return v[lev == "kingdom"].mean() / v[lev == "item"].mean()

    run = res["runs"]["rich", 1]
    assert ratio(run["start_rdm"]) > 10
    assert 0.9 < ratio(run["random_start_rdm"]) < 1.1
    np.testing.assert_allclose(run["random_snap_rdms"][-1], run["snap_rdms"][-1], rtol=1e-6, atol=1e-9)


def test_semantic_figures_have_labels_one_colour_bar_and_no_exponents(semantic):
    from rsa_lineardyn.demos.semantic_development import plot_snapshots, plot_trajectories

    ns, _ = semantic
    res = ns["res"]
    labels = list(res["task"].labels)
    for regime in ("rich", "lazy_pos", "lazy_neg"):
        fig = plot_snapshots(res, regime, None)
        fig.canvas.draw()
        heatmaps = [ax for ax in fig.axes if ax.images]
        cbars = [ax for ax in fig.axes if not ax.images and ax.get_ylabel().startswith("squared Euclidean")]
        assert len(cbars) == 1  # one shared colour bar, labelled
        # lazy_neg has no N_h = 16 row (infeasible): 3 aligned rows + 1 random row, 5 columns
        assert len(heatmaps) == 5 * (4 if regime == "lazy_neg" else 5)
        top = max(float(ax.images[0].get_array().max()) for ax in heatmaps)
        for ax in heatmaps:
            assert [t.get_text() for t in ax.get_xticklabels()] == labels  # item names on every panel
            assert ax.images[0].get_clim() == (0.0, pytest.approx(top))  # one scale: 0 to the figure's largest
        assert sum([t.get_text() for t in ax.get_yticklabels()] == labels for ax in heatmaps) == len(heatmaps) // 5
        assert all(not ax.yaxis.get_offset_text().get_text() for ax in fig.axes)  # no exponent to hit a title
        plt.close(fig)
    fig = plot_trajectories(res, None)
    drawn = [ax for ax in fig.axes if ax.get_visible() and ax.lines and ax.get_ylabel()]
    right = [ax for ax in drawn if "RSM diagonal" in ax.get_ylabel()]
    left = [ax for ax in drawn if "mean hidden distance" in ax.get_ylabel()]
    assert len(right) == len(left) == 11  # 4 widths x 3 regimes, minus infeasible (lazy_neg, 16)
    assert all(ax.get_ylim()[0] == 0 for ax in drawn)
    plt.close(fig)


def test_semantic_demo_writes_its_files_and_refuses_to_overwrite(tmp_path):
    from rsa_lineardyn.demos import semantic_development as demo

    res = demo.run(out_dir=tmp_path, widths=(1,), n_times=10, verbose=False)
    assert [Path(f).name for f in res["files"]] == ["semantic_rdms_rich.png", "semantic_rdms_lazy_pos.png",
                                                    "semantic_rdms_lazy_neg.png", "semantic_modes.png",
                                                    "semantic_rdm_trajectories.png"]
    assert all(Path(f).stat().st_size > 1000 for f in res["files"])
    with pytest.raises(FileExistsError):
        demo.run(out_dir=tmp_path, widths=(1,), n_times=10, force=False, verbose=False)


def test_fit_human_it_example():
    ns, figures = _run_example("fit_human_it")
    assert len(figures) == 4  # landscape, RDMs, two hypothesis tests
    table = ns["table"]
    assert list(table.n_hidden) == [1, 2, 3, 4, 6]
    assert np.all((table.score > 0) & (table.score < 1))
    assert ns["best"].init == "random" and ns["fit"].settings["init"] == "random"  # the default start
    assert ns["fit"].settings["n_boot"] == 20
    # hypothesis tests over subjects: the network (width chosen in each fold), animacy, the feature baseline
    for key, n_units in (("hit", 4), ("behaviour", 16)):
        h = ns["hyp"][key]
        assert list(h.table.model[:2]) == ["network (N_h chosen in CV)", "animacy"]
        assert h.table.model[2].startswith("feature model")
        assert (h.table.n_units == n_units).all() and (h.table.dof == n_units - 1).all()
        assert ((h.pairwise.p > 0) & (h.pairwise.p <= 1)).all()
    plt.close("all")


def test_fit_human_it_demo_writes_its_files(tmp_path):
    from rsa_lineardyn.demos import fit_human_it as demo

    res = demo.run(out_dir=tmp_path, widths=(1, 3), hyp_widths=(1, "wide"), fit_boot=2, hyp_subjects=3,
                   verbose=False)
    assert all(Path(f).stat().st_size > 100 for f in res["files"])
    assert list(res["table"].n_hidden) == [1, 3]
    with pytest.raises(FileExistsError):
        demo.run(out_dir=tmp_path, widths=(1,), force=False, verbose=False)


def test_figure1_has_a_key_for_every_entry_and_time_units(tmp_path):
    from matplotlib.colors import to_rgba

    from rsa_lineardyn.demos import figure1 as demo
    from rsa_lineardyn.plotting import qqt_entry_colors

    fig, worst = demo.make_figure(lr=0.02, t_max=3.0)
    curves, key = fig.axes[:3], fig.axes[3]
    names = ["x1", "x2", "x3", "y1", "y2", "y3"]
    assert [t.get_text() for t in key.get_xticklabels()] == names
    assert [t.get_text() for t in key.get_yticklabels()] == names
    colors = qqt_entry_colors(3, 3)
    assert len(colors) == 21 and len(set(colors.values())) == 21  # one distinct colour per entry
    key_cells = {tuple(to_rgba(p.get_facecolor())) for p in key.patches}
    assert key_cells == set(colors.values())
    for ax in curves:
        assert "units of $\\tau$" in ax.get_xlabel()
        drawn = {to_rgba(line.get_color()) for line in ax.lines if line.get_linestyle() == "-"}
        assert drawn == set(colors.values())  # every coloured curve is in the key
    assert max(max(v) for v in worst.values()) < 0.1
    plt.close(fig)
    # the demo refuses to overwrite without --force
    out = tmp_path / "f1.png"
    out.write_bytes(b"old")
    assert demo.main(["--out", str(out), "--lr", "0.02"]) == 1
    assert out.read_bytes() == b"old"
