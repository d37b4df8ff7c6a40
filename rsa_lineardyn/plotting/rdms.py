"""RDMs as heatmaps on one shared colour scale, so that panels that are compared can be compared."""

from __future__ import annotations

import numpy as np

from .._validation import InputValueError

__all__ = ["plot_rdm", "shared_limits"]


def shared_limits(matrices):
    """``(0, largest finite entry)`` over all ``matrices``: the one colour scale of a figure's RDM panels.

    Examples
    --------
    >>> import numpy as np
    >>> from rsa_lineardyn.plotting import shared_limits
    >>> shared_limits([np.array([[0, 1], [1, 0]]), np.array([[0, 3], [3, 0]])])
    (0.0, 3.0)
    """
    tops = [float(np.nanmax(np.where(np.isfinite(D), D, np.nan))) for D in matrices if np.isfinite(D).any()]
    if not tops:
        raise InputValueError("`matrices` hold no finite dissimilarity: there is no colour scale to share.")
    top = max(tops)
    return 0.0, top if top > 0 else 1.0


def plot_rdm(D, ax, labels=None, *, vmin=0.0, vmax=None, title=None, show_x=True, show_y=True, cmap="viridis",
             fontsize=7):
    """One RDM as a heatmap with item labels, on the colour scale ``[vmin, vmax]``; returns the image.

    Pass the same ``vmin``, ``vmax`` (e.g. from :func:`shared_limits`) to every panel of a figure and draw one
    colour bar for all of them.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from rsa_lineardyn.plotting import plot_rdm
    >>> fig, ax = plt.subplots()
    >>> im = plot_rdm(np.array([[0, 2], [2, 0]]), ax, ["a", "b"], vmax=4)
    >>> im.get_clim()
    (0.0, 4.0)
    """
    D = np.asarray(D, dtype=float)
    im = ax.imshow(D, cmap=cmap, vmin=vmin, vmax=vmax if vmax is not None else float(np.nanmax(D)))
    if labels is not None:
        n = len(labels)
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xticklabels(labels if show_x else [], rotation=90, fontsize=fontsize)
        ax.set_yticklabels(labels if show_y else [], fontsize=fontsize)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    return im
