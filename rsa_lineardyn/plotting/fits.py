"""The figure of a fit: the profile of the best score over the balance ``lam``, one line per width."""

from __future__ import annotations

import numpy as np

from .._validation import InputTypeError

__all__ = ["plot_fit_profile"]


def plot_fit_profile(result, ax=None):
    """Profile of the best score over ``lam``, one line per ``n_hidden``; the overall best point starred.

    Every point is the best score over the other parameters (times, init scale) at that width and ``lam``,
    taken from ``result.table`` (the searched grid).  The key sits to the right of the axes, outside the data.

    Parameters
    ----------
    result : FitResult
        From :func:`rsa_lineardyn.fit_rdms`.
    ax : matplotlib Axes, optional
        Drawn into; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import rsa_lineardyn as rl
    >>> task = rl.hierarchical_task(depth=3, include_root=False)
    >>> data = rl.LinearNetworkModel(task, n_hidden=4, lam=0.0, init="aligned", item_order=task.labels)
    >>> data = data.predict_rdm([0.5])
    >>> res = rl.fit_rdms(data, task, n_hidden=[2, 4], n_boot=0, init="aligned", start_check=None)
    >>> ax = rl.plot_fit_profile(res)
    >>> ax.get_xlabel()
    'balance $\\\\lambda$'
    """
    import matplotlib.pyplot as plt

    from ..inference.fitting import FitResult

    if not isinstance(result, FitResult):
        raise InputTypeError(f"`result` must be a FitResult from rl.fit_rdms, got {type(result).__name__}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 3.4), layout="constrained")
    prof = result.table.groupby(["n_hidden", "lam"], as_index=False)["score"].max()
    widths = list(dict.fromkeys(prof["n_hidden"]))
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, max(len(widths), 1)))
    for h, colour in zip(widths, colours):
        rows = prof[prof["n_hidden"] == h].sort_values("lam")
        ax.plot(rows["lam"], rows["score"], "o-", color=colour, ms=3.5, lw=1.4, label=f"$N_h$ = {h}")
    best = result.best
    ax.plot([best["lam"]], [best["score"]], "*", color="red", mec="k", ms=13, zorder=5,
            label=f"best ($N_h$ = {best['n_hidden']})")
    ax.margins(x=0.04, y=0.12)  # the star stays inside the axes at an edge of the grid
    ax.set_xlabel(r"balance $\lambda$")
    ax.set_ylabel(f"best score ({best['method']})\nover times at each $\\lambda$")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False, borderaxespad=0.0)
    return ax
