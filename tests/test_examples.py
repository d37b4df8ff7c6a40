"""The example scripts run end to end with small settings and write their figures."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def semantic_small(tmp_path_factory):
    """One small run of the semantic example (shared: computing it takes most of the time)."""
    out = tmp_path_factory.mktemp("semantic")
    mod = _load("semantic_development")
    return mod, mod.run(out_dir=out, widths=(1, 16), n_times=40, verbose=False), out


def test_semantic_development_small(semantic_small):
    mod, res, tmp_path = semantic_small
    for f in res["files"]:
        assert Path(f).stat().st_size > 1000
    table = res["table"]
    rich = table[(table.regime == "rich") & (table.n_hidden == 16)].sort_values("mode")
    # rich: stronger modes are learned first; lazy: all modes at about the same time ln2/|lam|
    assert np.all(np.diff(rich.half_time.to_numpy()) > 0)
    lazy = table[(table.regime == "lazy_pos") & (table.n_hidden == 16)]
    assert np.ptp(lazy.half_time) < 0.01 * lazy.half_time.mean()
    # a bottleneck of one unit learns only the first mode
    one = table[(table.regime == "rich") & (table.n_hidden == 1)]
    assert np.isfinite(one.half_time.iloc[0]) and np.all(np.isinf(one.half_time.iloc[1:]))
    assert res["max_sim_deviation"] < 1e-6
    # an aligned start already holds the task's modes at t = 0 (N_h = 1: plant/animal pairs far apart);
    # the expected geometry over random starts begins undifferentiated and ends where the aligned one does
    labels = list(res["result"]["task"].labels)
    iu = np.triu_indices(len(labels), 1)
    lev = np.array([mod.level_of_pair(labels[i], labels[j]) for i, j in zip(*iu)])

    def ratio(D):
        v = D[iu]
        return v[lev == "kingdom"].mean() / v[lev == "item"].mean()

    run = res["result"]["runs"]["rich", 1]
    assert ratio(run["start_rdm"]) > 10
    assert 0.9 < ratio(run["random_start_rdm"]) < 1.1
    np.testing.assert_allclose(run["random_snap_rdms"][-1], run["snap_rdms"][-1], rtol=1e-6, atol=1e-9)
    with pytest.raises(FileExistsError):
        mod.run(out_dir=tmp_path, widths=(1,), n_times=10, force=False, verbose=False)


def test_fit_human_it_small(tmp_path):
    mod = _load("fit_human_it")
    res = mod.run(out_dir=tmp_path, widths=(1, 3), hyp_widths=(1, 3, "wide"), fit_boot=5, verbose=False)
    for f in res["files"]:
        assert Path(f).stat().st_size > 100
    table = res["table"]
    assert list(table.n_hidden) == [1, 3]
    assert np.all((table.score > 0) & (table.score < 1))
    assert res["best"].init == "random" and res["fit"].settings["init"] == "random"  # the default start
    # hypothesis tests over subjects: the network (width chosen in each fold), animacy, the feature baseline
    for key, n_units in (("hit", 4), ("behaviour", 16)):
        h = res["hypotheses"][key]
        assert list(h.table.model[:2]) == ["network (N_h chosen in CV)", "animacy"]
        assert h.table.model[2].startswith("feature model")
        assert (h.table.n_units == n_units).all() and (h.table.dof == n_units - 1).all()
        assert ((h.pairwise.p > 0) & (h.pairwise.p <= 1)).all()
    with pytest.raises(FileExistsError):
        mod.run(out_dir=tmp_path, widths=(1,), force=False, verbose=False)


# --------------------------------------------------------------------------- figures (issue 12)
def _ticklabels(ax, axis="x"):
    return [t.get_text() for t in (ax.get_xticklabels() if axis == "x" else ax.get_yticklabels())]


def test_semantic_figures_have_labels_one_colour_bar_and_no_exponents(semantic_small):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mod, run, _ = semantic_small
    res = run["result"]
    labels = list(res["task"].labels)
    for regime in ("rich", "lazy_pos", "lazy_neg"):
        fig = mod.plot_snapshots(res, regime, None)
        fig.canvas.draw()
        heatmaps = [ax for ax in fig.axes if ax.images]
        cbars = [ax for ax in fig.axes if not ax.images and ax.get_ylabel().startswith("squared Euclidean")]
        assert len(cbars) == 1  # one shared colour bar, labelled
        # lazy_neg has no N_h = 16 row (infeasible): 1 aligned row + 1 random row, 5 columns
        assert len(heatmaps) == 5 * (2 if regime == "lazy_neg" else 3)
        for ax in heatmaps:
            assert _ticklabels(ax, "x") == labels  # item names on every panel
            assert ax.images[0].get_clim() == (0.0, 1.0)  # relative to the panel's max (named in the title)
            assert "max " in ax.get_title()
        assert sum(_ticklabels(ax, "y") == labels for ax in heatmaps) == len(heatmaps) // 5  # first column
        # no colour-bar exponent ("1e-11") anywhere to collide with a title
        assert all(not ax.yaxis.get_offset_text().get_text() for ax in fig.axes)
        plt.close(fig)
    fig = mod.plot_trajectories(res, None)
    drawn = [ax for ax in fig.axes if ax.get_visible() and ax.lines and ax.get_ylabel()]
    right = [ax for ax in drawn if "RSM diagonal" in ax.get_ylabel()]
    left = [ax for ax in drawn if "mean hidden distance" in ax.get_ylabel()]
    assert len(right) == len(left) == 5  # 2 widths x 3 regimes, minus infeasible (lazy_neg, 16): every column
    assert any(ax.get_legend() is not None for ax in fig.axes)
    plt.close(fig)


def test_figure1_has_a_key_for_every_entry_and_time_units(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    from rsa_lineardyn.plotting import qqt_entry_colors

    mod = _load("figure1")
    fig, worst = mod.make_figure(lr=0.02, t_max=3.0)
    curves, key = fig.axes[:3], fig.axes[3]
    names = ["x1", "x2", "x3", "y1", "y2", "y3"]
    assert _ticklabels(key, "x") == names and _ticklabels(key, "y") == names
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
    # the script refuses to overwrite without --force
    out = tmp_path / "f1.png"
    out.write_bytes(b"old")
    assert mod.main(["--out", str(out), "--lr", "0.02"]) == 1
    assert out.read_bytes() == b"old"
