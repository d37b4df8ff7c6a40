"""Plots. Each takes a result and an optional ``ax``; computation never plots.

Figure 1 of the package (``examples/figure1.py``) draws every entry of ``QQ^T``
over training time; :func:`qqt_entry_colors` gives each entry its colour (one
colour family per block: ``W1^T W1`` blues, ``W2 W1`` oranges, ``W2 W2^T``
greens) and :func:`plot_qqt_key` draws the key that tells which curve is which
entry.
"""

from __future__ import annotations

import numpy as np

from .._validation import InputTypeError, check_positive_int
from ..dynamics.trajectory import Trajectory

__all__ = ["plot_qqt_entries", "plot_qqt_key", "qqt_entry_colors", "qqt_entry_names"]

#: matplotlib colour maps of the three blocks of ``QQ^T`` (upper triangle).
BLOCK_CMAPS = {"w1tw1": "Blues", "w2w1": "Oranges", "w2w2t": "Greens"}
BLOCK_LABELS = {"w1tw1": r"$W_1^TW_1$ (input, input)", "w2w1": r"$W_2W_1$ (output, input)",
                "w2w2t": r"$W_2W_2^T$ (output, output)"}


def _block_of(i, j, n_in):
    if i < n_in and j < n_in:
        return "w1tw1"
    if i >= n_in and j >= n_in:
        return "w2w2t"
    return "w2w1"


def qqt_entry_names(n_in, n_out):
    """Row/column names of ``QQ^T`` (``Q = [W1^T; W2]``): inputs ``x1 .. x_n_in``, then outputs ``y1 .. y_n_out``.

    Examples
    --------
    >>> from rsa_lineardyn.plotting import qqt_entry_names
    >>> qqt_entry_names(2, 1)
    ['x1', 'x2', 'y1']
    """
    n_in = check_positive_int(n_in, "n_in")
    n_out = check_positive_int(n_out, "n_out")
    return [f"x{k + 1}" for k in range(n_in)] + [f"y{k + 1}" for k in range(n_out)]


def qqt_entry_colors(n_in, n_out):
    """Colour of each upper-triangle entry ``(i, j)``, ``i <= j``, of ``QQ^T``.

    One colour family per block (:data:`BLOCK_CMAPS`), shades running over the
    block's entries, so that a curve's block can be read from its colour and
    its entry from :func:`plot_qqt_key`.

    Returns
    -------
    dict
        ``{(i, j): (r, g, b, a)}`` for ``0 <= i <= j < n_in + n_out``.

    Examples
    --------
    >>> from rsa_lineardyn.plotting import qqt_entry_colors
    >>> len(qqt_entry_colors(3, 3))  # 6 * 7 / 2 entries
    21
    """
    import matplotlib

    names = qqt_entry_names(n_in, n_out)
    n = len(names)
    iu = list(zip(*np.triu_indices(n)))
    out = {}
    for block, cmap in BLOCK_CMAPS.items():
        cells = [(i, j) for i, j in iu if _block_of(i, j, n_in) == block]
        shades = np.linspace(0.45, 0.95, len(cells)) if len(cells) > 1 else [0.7]
        cm = matplotlib.colormaps[cmap]
        for cell, v in zip(cells, shades):
            out[(int(cell[0]), int(cell[1]))] = tuple(float(c) for c in cm(v))
    return out


def plot_qqt_key(n_in, n_out, ax=None, fontsize=7):
    """Key of :func:`plot_qqt_entries`: the upper triangle of ``QQ^T`` as a grid of cells in the curves' colours.

    Parameters
    ----------
    n_in, n_out : int
        Sizes of the task (``QQ^T`` is ``(n_in + n_out)`` square).
    ax : matplotlib Axes, optional
    fontsize : float, default 7

    Returns
    -------
    matplotlib.axes.Axes
        Rows and columns are labelled ``x1 .. x_n_in, y1 .. y_n_out``; the
        cell ``(i, j)`` has the colour of the curve of entry ``(i, j)``.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    names = qqt_entry_names(n_in, n_out)
    colors = qqt_entry_colors(n_in, n_out)
    n = len(names)
    if ax is None:
        _, ax = plt.subplots(figsize=(2.2, 2.2))
    for (i, j), col in colors.items():
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=col, edgecolor="white", lw=1))
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(n))
    ax.set_xticklabels(names, fontsize=fontsize)
    ax.set_yticks(range(n))
    ax.set_yticklabels(names, fontsize=fontsize)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title("key: the curve of entry $(i, j)$\nof $QQ^T$, $Q = [W_1^T; W_2]$", fontsize=fontsize + 1, pad=20)
    handles = [Patch(color=matplotlib.colormaps[cm](0.75), label=BLOCK_LABELS[b]) for b, cm in BLOCK_CMAPS.items()]
    handles.append(Line2D([], [], color="k", ls=":", lw=1.1, label="exact solution (every entry)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), fontsize=fontsize, frameon=False)
    return ax


def plot_qqt_entries(exact, simulated=None, ax=None, time_max=None, title=None):
    """Entries of ``QQ^T`` over time: simulation as coloured lines, exact as black dotted lines.

    Each upper-triangle entry ``(i, j)`` has the colour :func:`qqt_entry_colors`
    gives it (draw the key with :func:`plot_qqt_key`); time is in units of the
    trajectory's time constant ``tau``.

    Parameters
    ----------
    exact : Trajectory
        Usually from :func:`rsa_lineardyn.exact_dynamics`.
    simulated : Trajectory, optional
        Usually from :func:`rsa_lineardyn.simulate`; drawn underneath.
    ax : matplotlib Axes, optional
    time_max : float, optional
        Right limit of the time axis (finite times only are drawn).
    title : str, optional
        Default: the balance ``lambda`` of the trajectory.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    for name, tr in (("exact", exact), ("simulated", simulated)):
        if tr is not None and not isinstance(tr, Trajectory):
            raise InputTypeError(f"`{name}` must be an rl.Trajectory, got {type(tr).__name__}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    colors = qqt_entry_colors(exact.n_in, exact.n_out)
    if simulated is not None:
        ts = simulated.times
        order = np.argsort(ts)
        P = simulated.qqt[order]
        for (i, j), col in colors.items():
            ax.plot(ts[order], P[:, i, j], color=col, lw=2.2, alpha=0.9)
    te = exact.times
    keep = np.isfinite(te)
    order = np.argsort(te[keep])
    P = exact.qqt[keep][order]
    for i, j in colors:
        ax.plot(te[keep][order], P[:, i, j], color="k", ls=":", lw=1.1)
    if time_max is not None:
        ax.set_xlim(0, time_max)
    ax.set_xlabel(r"training time t (units of $\tau$)" if exact.tau == 1
                  else rf"training time t ($\tau$ = {exact.tau:g})")
    ax.set_ylabel(r"entries of $QQ^T$")
    ax.set_title(title if title is not None else rf"$\lambda$ = {exact.lam:g}")
    return ax
