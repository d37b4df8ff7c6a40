"""Every figure function keeps its layout (issue 22): nothing outside the figure, keys beside the data rather
than over it, marks (stars, brackets) inside their axes, error bars named, one colour scale where panels are
compared.  The checks measure the drawn figure (display coordinates after a draw), not the code that made it.
"""

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import rsa_lineardyn as rl  # noqa: E402
from rsa_lineardyn.plotting.hypotheses import BRACKET_GID  # noqa: E402
from rsa_lineardyn.inference.recovery import simulate_voxel_rdms  # noqa: E402

TOL = 1.0  # pixels


# --------------------------------------------------------------------------- measurements
def _renderer(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _outside_figure(fig):
    """Visible texts, legends and axes whose drawn extent leaves the figure (descriptions of the offenders)."""
    r = _renderer(fig)
    box = fig.bbox
    bad = []
    # tick labels count through their axes' tight box (matplotlib keeps labels of ticks outside the view, undrawn)
    ticks = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
             for t in axis.get_ticklabels(which="both") + [axis.get_offset_text()]}
    artists = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in ticks]
    artists += [ax for ax in fig.axes if ax.get_visible()]
    artists += [leg for leg in fig.findobj(matplotlib.legend.Legend) if leg.get_visible()]
    for a in artists:
        if isinstance(a, Text) and not (a.axes is None or a.axes.get_visible()):
            continue
        ext = a.get_window_extent(r) if not isinstance(a, matplotlib.axes.Axes) else a.get_tightbbox(r)
        if ext is None or ext.width == 0:
            continue
        if ext.x0 < box.x0 - TOL or ext.y0 < box.y0 - TOL or ext.x1 > box.x1 + TOL or ext.y1 > box.y1 + TOL:
            bad.append(f"{type(a).__name__} {getattr(a, 'get_text', lambda: '')()!r:.40} at {ext.bounds}")
    return bad


def _legends(fig):
    return [leg for leg in fig.findobj(matplotlib.legend.Legend) if leg.get_visible()]


def _points_under(legend, lines, renderer):
    """How many data points of ``lines`` are drawn inside ``legend``'s box."""
    box = legend.get_window_extent(renderer)
    n = 0
    for line in lines:
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        xy = xy[np.isfinite(xy).all(axis=1)]
        if not len(xy) or not line.get_visible():
            continue
        disp = line.get_transform().transform(xy)
        n += int(np.sum((disp[:, 0] > box.x0) & (disp[:, 0] < box.x1) & (disp[:, 1] > box.y0) & (disp[:, 1] < box.y1)))
    return n


def _data_lines(fig):
    return [ln for ax in fig.axes for ln in ax.lines if ln.get_label() is None or not ln.get_label().startswith("_")
            or len(ln.get_xdata()) > 1]


def _assert_legends_clear(fig):
    r = _renderer(fig)
    lines = [ln for ax in fig.axes if ax.get_visible() for ln in ax.lines]
    for leg in _legends(fig):
        assert _points_under(leg, lines, r) == 0, f"the key {[t.get_text() for t in leg.get_texts()]} covers data"


def _marker_inside(ax, line, renderer):
    """The marker's data position is inside the axes' limits and its drawn extent inside the axes box."""
    x, y = float(np.asarray(line.get_xdata())[0]), float(np.asarray(line.get_ydata())[0])
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    centre = ax.transData.transform((x, y))
    radius = line.get_markersize() * ax.figure.dpi / 72 / 2
    box = ax.get_window_extent(renderer)
    return (x0 <= x <= x1 and y0 <= y <= y1 and box.x0 - TOL <= centre[0] - radius and centre[0] + radius <= box.x1
            + TOL and box.y0 - TOL <= centre[1] - radius and centre[1] + radius <= box.y1 + TOL)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tree():
    return rl.hierarchical_task(depth=3, include_root=False)


@pytest.fixture(scope="module")
def hypothesis_result(tree):
    data = simulate_voxel_rdms(tree, 2, 0.0, 0.1, [2.0, 4.0, 6.0], n_subjects=6, n_voxels=60, noise=0.2,
                               init="random", per_subject=True, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rl.compare_widths(data, tree, widths=[1, 2, "wide"], init="aligned", n_times=9, n_lam=3)


@pytest.fixture(scope="module")
def fit_result(tree):
    model = rl.LinearNetworkModel(tree, n_hidden=4, lam=0.0, init="aligned", item_order=tree.labels)
    data = model.predict_rdm([0.5])
    return rl.fit_rdms(data, tree, n_hidden=[2, 4], n_boot=0, init="aligned", start_check=None)


# --------------------------------------------------------------------------- plotting.fits
def test_fit_profile_key_beside_the_data_and_star_inside(fit_result):
    ax = rl.plot_fit_profile(fit_result)
    fig = ax.figure
    assert _outside_figure(fig) == []
    _assert_legends_clear(fig)
    r = _renderer(fig)
    star = [ln for ln in ax.lines if ln.get_marker() == "*"]
    assert len(star) == 1 and _marker_inside(ax, star[0], r)
    assert star[0].get_ydata()[0] == pytest.approx(fit_result.best["score"])
    plt.close(fig)


def test_fit_profile_refuses_other_results(hypothesis_result):
    with pytest.raises(rl.InputTypeError, match="`result` must be a FitResult"):
        rl.plot_fit_profile(hypothesis_result)


# --------------------------------------------------------------------------- plotting.hypotheses
@pytest.mark.parametrize("error_bars", ["ci", "sem"])
def test_hypotheses_marks_come_from_the_tables(hypothesis_result, error_bars):
    res = hypothesis_result
    fig, ax, third = rl.plot_hypotheses(res, error_bars=error_bars)
    assert third is None
    assert _outside_figure(fig) == []
    table = res.table
    bars = ax.containers[0]
    assert [b.get_height() for b in bars] == pytest.approx(list(table["mean"]))
    # error bars: the table's interval (or SEM), and the caption says which
    segments = [seg for coll in ax.collections for seg in getattr(coll, "get_segments", lambda: [])()]
    spans = sorted((float(s[0][1]), float(s[1][1])) for s in segments if len(s) == 2 and s[0][0] == s[1][0])
    want = (list(zip(table["ci_low"], table["ci_high"])) if error_bars == "ci"
            else list(zip(table["mean"] - table["sem"], table["mean"] + table["sem"])))
    assert np.allclose(spans, sorted(want))
    caption = ax.get_title(loc="left").replace("\n", " ")
    assert ("t interval over 6 subjects" if error_bars == "ci" else "SEM over 6 subjects") in caption
    assert "noise ceiling" in caption and "significant" in caption
    # one bracket per significant pair, every bracket inside the axes, above every error bar
    brackets = [ln for ln in ax.lines if ln.get_gid() == BRACKET_GID]
    assert len(brackets) == int(res.pairwise["significant"].sum())
    y0, y1 = ax.get_ylim()
    for ln in brackets:
        ys = np.asarray(ln.get_ydata(), float)
        assert y0 <= ys.min() and ys.max() <= y1 and ys.min() > table["ci_high"].max()
    # the noise-ceiling band sits behind the bars, between the ceiling's bounds, inside the axes
    band = [p for p in ax.patches if p not in list(bars)]
    assert len(band) == 1 and band[0].get_zorder() < bars[0].get_zorder()
    ext = band[0].get_bbox()
    assert ext.y0 == pytest.approx(table["noise_ceiling_lower"].median())
    assert ext.y1 == pytest.approx(table["noise_ceiling_upper"].median()) and ext.y1 <= y1
    plt.close(fig)


def test_hypotheses_significant_pairs_drawn_as_the_table_says(hypothesis_result):
    """Flip the table's column: the brackets follow it (the figure has no test of its own)."""
    res = hypothesis_result
    flipped = rl.HypothesisResult(**{**res.__dict__, "pairwise": res.pairwise.assign(significant=True)})
    fig, ax, _ = rl.plot_hypotheses(flipped)
    assert len([ln for ln in ax.lines if ln.get_gid() == BRACKET_GID]) == len(res.pairwise)
    assert _outside_figure(fig) == []
    plt.close(fig)
    with pytest.raises(rl.InputValueError, match="`sort` must be False"):
        rl.plot_hypotheses(res, sort=True)
    with pytest.raises(rl.InputValueError, match="`error_bars` must be one of"):
        rl.plot_hypotheses(res, error_bars="sd")
    with pytest.raises(rl.InputTypeError, match="`result` must be a HypothesisResult"):
        rl.plot_hypotheses(res.table)


# --------------------------------------------------------------------------- plotting.rdms
def test_rdm_panels_share_one_scale():
    from rsa_lineardyn.plotting import plot_rdm, shared_limits

    mats = [np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[0.0, 5.0], [5.0, 0.0]])]
    lims = shared_limits(mats)
    fig, axes = plt.subplots(1, 2)
    ims = [plot_rdm(D, ax, ["a", "b"], vmin=lims[0], vmax=lims[1]) for D, ax in zip(mats, axes)]
    assert {im.get_clim() for im in ims} == {(0.0, 5.0)}
    plt.close(fig)
    with pytest.raises(rl.InputValueError, match="no finite dissimilarity"):
        shared_limits([np.full((2, 2), np.nan)])


# --------------------------------------------------------------------------- demos: Figure 1, semantic, human IT
def test_figure1_inside_the_figure():
    from rsa_lineardyn.demos.figure1 import make_figure

    fig, _ = make_figure(lr=0.05, t_max=3.0)
    assert _outside_figure(fig) == []
    plt.close(fig)


@pytest.fixture(scope="module")
def semantic():
    from rsa_lineardyn.demos import semantic_development as demo

    return demo, demo.compute(widths=(1, 16), n_times=30)


@pytest.mark.parametrize("regime", ["rich", "lazy_pos", "lazy_neg"])
def test_semantic_snapshots_one_colour_scale(semantic, regime):
    demo, res = semantic
    fig = demo.plot_snapshots(res, regime, None)
    heatmaps = [ax for ax in fig.axes if ax.images]
    clims = {ax.images[0].get_clim() for ax in heatmaps}
    assert len(clims) == 1  # every panel on one scale ...
    lo, hi = clims.pop()
    top = max(float(np.max(ax.images[0].get_array())) for ax in heatmaps)
    assert lo == 0.0 and hi == pytest.approx(top)  # ... from zero to the largest distance shown
    assert _outside_figure(fig) == []
    plt.close(fig)


def test_semantic_trajectories_axes_from_zero_and_key_clear(semantic):
    demo, res = semantic
    fig = demo.plot_trajectories(res, None)
    drawn = [ax for ax in fig.axes if ax.get_visible() and ax.lines]
    assert drawn and all(ax.get_ylim()[0] == 0.0 for ax in drawn)
    assert _legends(fig)
    _assert_legends_clear(fig)
    assert _outside_figure(fig) == []
    plt.close(fig)


def test_semantic_modes_keys_clear(semantic):
    demo, res = semantic
    fig = demo.plot_modes(res, None)
    assert _legends(fig)
    _assert_legends_clear(fig)
    assert _outside_figure(fig) == []
    plt.close(fig)


def test_fit_landscape_stars_inside_one_scale_compact():
    from rsa_lineardyn.demos import fit_human_it as demo

    task, data = rl.load_92images_task(), rl.load_92images_rdms("hIT")
    models = demo.make_models(task, data, widths=(1, 2, 6))
    table = demo.fit_widths(models, data)
    _, fig = demo.plot_landscape(models, data, table, None, n_lam=5, n_time=7)
    r = _renderer(fig)
    meshes = [c for ax in fig.axes for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) >= 3 and len({m.get_clim() for m in meshes}) == 1  # (the colour bar draws one too)
    stars = [(ax, ln) for ax in fig.axes for ln in ax.lines if ln.get_marker() == "*"]
    assert len(stars) == 3 and all(_marker_inside(ax, ln, r) for ax, ln in stars)
    assert fig.get_figwidth() <= 12  # was 3.3 per width + 4.5 inches in one row (21 inches for 5 widths)
    _assert_legends_clear(fig)
    assert _outside_figure(fig) == []
    plt.close(fig)


def test_hypothesis_figure_of_the_demo_inside(hypothesis_result):
    from rsa_lineardyn.demos import fit_human_it as demo

    fig = demo.plot_hypothesis_result(hypothesis_result, "a long title of a data set with many subjects")
    assert _outside_figure(fig) == []
    plt.close(fig)


# --------------------------------------------------------------------------- command line: trajectory PNG
def test_cli_trajectory_key_clear(tree):
    from rsa_lineardyn.cli.figures import _plot_trajectory

    W1, W2 = rl.task_aligned_init(tree, n_hidden=8, lam=0.0, scale=0.01)
    traj = rl.exact_dynamics(tree, W1, W2, np.logspace(-1, 2, 40))
    fig = _plot_trajectory(traj, rl.to_rdms(traj), None)
    assert _legends(fig)
    _assert_legends_clear(fig)
    assert _outside_figure(fig) == []
    plt.close(fig)


# --------------------------------------------------------------------------- the examples in the docstrings
@pytest.mark.parametrize("name", ["qqt", "rdms", "fits", "hypotheses"])
def test_plotting_docstring_examples(name):
    import doctest
    import importlib

    module = importlib.import_module(f"rsa_lineardyn.plotting.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
    plt.close("all")
