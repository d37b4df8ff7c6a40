"""The figure of a hypothesis test: one bar per hypothesis, its interval, the noise ceiling and the significant pairs.

Everything drawn comes from the result's own tables, so the figure and the tables agree: the bars are
``table["mean"]``, the error bars ``table["ci_low"]``/``table["ci_high"]`` (the t interval over units; or
``table["sem"]``), the grey band ``noise_ceiling_lower``/``noise_ceiling_upper`` and the brackets the rows of
``pairwise`` whose ``significant`` column is true (family-wise corrected, as printed).
"""

from __future__ import annotations

import textwrap

import numpy as np

from .._validation import InputTypeError, InputValueError, check_choice

__all__ = ["plot_hypotheses", "plot_stage_tests"]

#: ``gid`` of the bracket lines that mark the significant pairs (to find them in a drawn figure).
BRACKET_GID = "significant-pair"

#: What the error bars of :func:`plot_hypotheses` show, by the name of its ``error_bars`` argument.
ERROR_BARS = ("ci", "sem")


def _check_result(result):
    from ..inference.hypotheses import HypothesisResult

    if not isinstance(result, HypothesisResult):
        raise InputTypeError(f"`result` must be a HypothesisResult (from rl.evaluate_hypotheses, rl.compare_widths or "
                             f"rl.compare_regimes), got {type(result).__name__}.")


def _units(result):
    """``"16 subjects"`` (the units of replication; their descriptor named when it is not ``subject``)."""
    s = result.settings
    name = s.get("unit_descriptor")
    return f"{s['n_units']} subjects" + (f" ({name!r})" if name and name != "subject" else "")


def _error_label(result, error_bars):
    s = result.settings
    units = _units(result)
    if error_bars == "sem":
        return f"error bars: SEM over {units} (jackknife)"
    return f"error bars: {100 * s['ci']:.0f}% t interval over {units} (dof {int(result.table['dof'].iloc[0])})"


def plot_hypotheses(result, ax=None, *, error_bars="ci", sort=False):
    """Bar plot of a :class:`~rsa_lineardyn.HypothesisResult`, every mark from its tables.

    Parameters
    ----------
    result : HypothesisResult
        From :func:`rsa_lineardyn.evaluate_hypotheses`, :func:`rsa_lineardyn.compare_widths` or
        :func:`rsa_lineardyn.compare_regimes`.
    ax : matplotlib Axes, optional
        Drawn into; a new figure (sized to the number of hypotheses) otherwise.
    error_bars : {"ci", "sem"}, default "ci"
        ``"ci"``: the table's t interval over units (``ci_low``, ``ci_high``, level ``settings["ci"]``);
        ``"sem"``: plus and minus the jackknife standard error ``sem``.  The y label says which.
    sort : bool, default False
        Must stay False: the bars keep the table's order (as the printed table).

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes
    key : None
        Kept so that ``fig, ax, _ = plot_hypotheses(res)`` (the shape of rsatoolbox's
        ``plot_model_comparison``) keeps working; there is no second axes.

    Notes
    -----
    The grey band is the noise ceiling (lower to upper bound), drawn behind the bars.  A bracket joins every
    pair whose ``pairwise["significant"]`` is true (``correction``-corrected ``p < 1 - ci``); the caption
    below the axes says so.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rsa_lineardyn as rl
    >>> from rsa_lineardyn.inference.recovery import simulate_voxel_rdms
    >>> task = rl.hierarchical_task(depth=3, include_root=False)
    >>> data = simulate_voxel_rdms(task, 2, 0.0, 0.1, [3.0, 6.0], n_subjects=4, seed=0)
    >>> res = rl.compare_widths(data, task, widths=[2, "wide"], init="aligned", n_times=9, n_lam=3)
    >>> fig, ax, _ = rl.plot_hypotheses(res)
    >>> len(ax.containers[0]) == len(res.table)   # one bar per hypothesis
    True
    """
    import matplotlib.pyplot as plt

    _check_result(result)
    error_bars = check_choice(error_bars, "error_bars", ERROR_BARS)
    if sort:
        raise InputValueError("`sort` must be False: plot_hypotheses keeps the table's model order, so that the "
                              "figure reads like the printed table.")
    table = result.table
    names = list(table["model"])
    n = len(names)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.8, 1.2 + 1.05 * n), 3.6), layout="constrained")
    fig = ax.figure
    x = np.arange(n)
    mean = table["mean"].to_numpy(dtype=float)
    if error_bars == "sem":
        low = high = table["sem"].to_numpy(dtype=float)
    else:
        low, high = mean - table["ci_low"].to_numpy(dtype=float), table["ci_high"].to_numpy(dtype=float) - mean
    nc_lo = float(np.nanmedian(table["noise_ceiling_lower"].to_numpy(dtype=float)))
    nc_hi = float(np.nanmedian(table["noise_ceiling_upper"].to_numpy(dtype=float)))
    if np.isfinite(nc_lo) and np.isfinite(nc_hi):
        ax.axhspan(nc_lo, nc_hi, color="0.85", zorder=0, lw=0)
    ax.bar(x, mean, width=0.6, color="C0", zorder=2)
    ax.errorbar(x, mean, yerr=np.vstack([low, high]), fmt="none", ecolor="k", elinewidth=1, capsize=3, zorder=3)
    ax.axhline(0, color="k", lw=0.6, zorder=1)
    ax.set_xticks(x)
    ax.set_xticklabels(["\n".join(textwrap.wrap(str(m), 16)) for m in names], fontsize=8)
    ax.set_xlim(-0.6, n - 0.4)
    s = result.settings
    ax.set_ylabel(f"crossvalidated {s['method']}\n(mean over {s['n_units']} subjects)", fontsize=9)
    tops = np.concatenate([mean + high, [nc_hi] if np.isfinite(nc_hi) else []])
    bottoms = np.concatenate([mean - low, [0.0]])
    top = float(np.nanmax(tops)) if np.isfinite(tops).any() else 1.0
    bottom = float(np.nanmin(bottoms)) if np.isfinite(bottoms).any() else 0.0
    step = 0.07 * max(top - bottom, 1e-12)
    y = _pair_marks(ax, result, names, top + step, step)
    ax.set_ylim(min(bottom - step / 2, 0.0), y + step / 2)
    caption = _error_label(result, error_bars)
    if np.isfinite(nc_lo) and np.isfinite(nc_hi):
        caption += "; grey band: noise ceiling (lower to upper bound)"
    if "significant" in result.pairwise:
        caption += (f"; brackets: pairs with {s['correction']}-corrected p < {1 - s['ci']:.2g} "
                    "(pairwise['significant'])")
    per_line = max(40, int(18 * ax.get_position().width * fig.get_figwidth()))  # ~18 characters per inch at 7 pt
    ax.set_title("\n".join(textwrap.wrap(caption, per_line)), fontsize=7, loc="left")
    return fig, ax, None


def _pair_marks(ax, result, names, y, step):
    """A bracket for every significant pair of ``result.pairwise`` (its own column), stacked from ``y`` upwards.

    Returns the height above the last bracket.
    """
    sig = result.pairwise[result.pairwise["significant"].astype(bool)]
    for r in sig.itertuples():
        i, j = names.index(r.model_a), names.index(r.model_b)
        ax.plot([i, i, j, j], [y - step / 3, y, y, y - step / 3], color="k", lw=0.8, zorder=4, gid=BRACKET_GID)
        y += step
    return y


#: ``gid`` of the markers of the stages where a pair differs significantly (in :func:`plot_stage_tests`).
STAGE_MARK_GID = "significant-stage"


def plot_stage_tests(result, ax=None):
    """The stage-resolved tests of a :class:`~rsa_lineardyn.HypothesisResult`: every pair's difference per stage.

    One line per pair of ``result.stages``: ``mean_diff`` (``model_a - model_b``) at each stage with its t
    interval (``ci_low``, ``ci_high``); a filled marker where the row's ``significant`` column is true (the
    family-wise corrected p over pairs x stages, as printed), an open one elsewhere.  Below zero at a stage the
    first model scores worse there: a network below the feature baseline has failed at that stage.

    Parameters
    ----------
    result : HypothesisResult
        With several stages (``result.stages`` is not ``None``).
    ax : matplotlib Axes, optional

    Returns
    -------
    fig : matplotlib Figure
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rsa_lineardyn as rl
    >>> from rsa_lineardyn.inference.recovery import simulate_voxel_rdms
    >>> from rsa_lineardyn.plotting.hypotheses import plot_stage_tests
    >>> task = rl.hierarchical_task(depth=3, include_root=False)
    >>> data = simulate_voxel_rdms(task, 2, 0.0, 0.1, [3.0, 6.0], n_subjects=4, seed=0)
    >>> res = rl.compare_widths(data, task, widths=[2], init="aligned", n_times=9, n_lam=3)
    >>> fig, ax = plot_stage_tests(res)
    >>> len(ax.lines) >= len(res.stages)   # one marker per pair and stage (and the zero line)
    True
    """
    import matplotlib.pyplot as plt

    _check_result(result)
    st = result.stages
    if st is None:
        raise InputValueError("`result` has one stage, so there are no stage-resolved tests (result.stages is None); "
                              "use plot_hypotheses.")
    stages = list(dict.fromkeys(st["stage"]))
    pairs = list(dict.fromkeys(zip(st["model_a"], st["model_b"])))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.8, 1.6 + 0.9 * len(stages)), 3.4), layout="constrained")
    x = np.arange(len(stages), dtype=float)
    width = 0.5 / max(len(pairs), 1)
    for i, (a, b) in enumerate(pairs):
        rows = st[(st["model_a"] == a) & (st["model_b"] == b)].set_index("stage").loc[stages]
        xi = x + (i - (len(pairs) - 1) / 2) * width
        d = rows["mean_diff"].to_numpy(dtype=float)
        err = np.vstack([d - rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float) - d])
        color = f"C{i % 10}"
        ax.errorbar(xi, d, yerr=err, fmt="none", ecolor=color, elinewidth=1, capsize=3)
        sig = rows["significant"].to_numpy(dtype=bool)
        ax.plot(xi[~sig], d[~sig], "o", mfc="white", mec=color, label=f"{a} - {b}")
        ax.plot(xi[sig], d[sig], "o", color=color, gid=STAGE_MARK_GID,
                label=None if (~sig).any() else f"{a} - {b}")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels([str(s_) for s_ in stages])
    ax.set_xlabel(f"stage ({result.settings.get('stage_descriptor')})", fontsize=9)
    s = result.settings
    ax.set_ylabel(f"difference of crossvalidated {s['method']}\n(mean over {s['n_units']} subjects)", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the data
    ax.set_title(f"filled: {s['correction']}-corrected p < {1 - s['ci']:.2g} over pairs x stages "
                 f"(stages['significant']); bars: {100 * s['ci']:.0f}% t interval (jackknife)", fontsize=7, loc="left")
    return ax.figure, ax
