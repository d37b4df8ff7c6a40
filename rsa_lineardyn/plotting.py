"""Plots. Each takes a result and an optional ``ax``; computation never plots."""

from __future__ import annotations

import numpy as np

from ._validation import InputTypeError
from .trajectory import Trajectory

__all__ = ["plot_qqt_entries"]


def plot_qqt_entries(exact, simulated=None, ax=None, time_max=None, title=None):
    """Entries of ``QQ^T`` over time: simulation as coloured lines, exact as black dotted lines.

    Parameters
    ----------
    exact : Trajectory
        Usually from :func:`rsa_lineardyn.exact_dynamics`.
    simulated : Trajectory, optional
        Usually from :func:`rsa_lineardyn.simulate`; drawn underneath.
    ax : matplotlib Axes, optional
    time_max : float, optional
        Right limit of the time axis (finite times only are drawn).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    for name, tr in (("exact", exact), ("simulated", simulated)):
        if tr is not None and not isinstance(tr, Trajectory):
            raise InputTypeError(f"`{name}` must be an rl.Trajectory, got {type(tr).__name__}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    n = exact.n_in + exact.n_out
    iu = np.triu_indices(n)
    colors = sns.color_palette("husl", len(iu[0]))
    if simulated is not None:
        ts = simulated.times
        order = np.argsort(ts)
        P = simulated.qqt[order]
        for c, (i, j) in enumerate(zip(*iu)):
            ax.plot(ts[order], P[:, i, j], color=colors[c], lw=2.2, alpha=0.8)
    te = exact.times
    keep = np.isfinite(te)
    order = np.argsort(te[keep])
    P = exact.qqt[keep][order]
    for c, (i, j) in enumerate(zip(*iu)):
        ax.plot(te[keep][order], P[:, i, j], color="k", ls=":", lw=1.3)
    if time_max is not None:
        ax.set_xlim(0, time_max)
    ax.set_xlabel("training time t")
    ax.set_ylabel(r"entries of $QQ^T$")
    ax.set_title(title if title is not None else rf"$\lambda$ = {exact.lam:g}")
    return ax
