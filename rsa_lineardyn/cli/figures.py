"""The figures the command line writes (trajectory RDMs, fit landscape) and the rsatoolbox hdf5 writer."""

from __future__ import annotations


import numpy as np



def save_rdms_hdf5(rdms, path):
    """``rdms.save(path, file_type="hdf5")``, but text descriptors with non-ASCII characters survive.

    rsatoolbox stores text arrays as ASCII bytes (``astype('S')``: an ascii codec error on ``"Bär"``); here such
    descriptors are written as UTF-8 string attributes, which ``rsatoolbox.rdm.load_rdm`` reads back as text.
    """
    from rsatoolbox.io.hdf5 import write_dict_hdf5

    def fix(d):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out[k] = fix(v)
            elif isinstance(v, np.ndarray) and v.dtype.kind == "U" and v.ndim == 1 and v.size and \
                    not all(str(x).isascii() for x in v):
                out[k] = tuple(str(x) for x in v)  # a sequence of str: stored as UTF-8 attributes
            else:
                out[k] = v
        return out

    write_dict_hdf5(str(path), fix(rdms.to_dict()))


def _plot_trajectory(traj, rdms, out=None, n_snap=5):
    """The ``trajectory`` PNG: RDM snapshots with item (or category) labels and the singular values of W2 W1.

    Written to ``out``; with ``out=None`` the matplotlib Figure is returned instead.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = traj.times
    order = np.argsort(times)
    pick = order[np.unique(np.linspace(0, times.size - 1, min(n_snap, times.size)).round().astype(int))]
    D = rdms.get_matrices()
    labels = [str(x) for x in rdms.pattern_descriptors.get("item", range(rdms.n_cond))]
    n = len(pick)
    fig, axes = plt.subplots(1, n + 1, figsize=(3.1 * n + 4.4, 3.9), layout="constrained")
    show_labels = len(labels) <= 24
    cats = rdms.pattern_descriptors.get("category")
    if cats is None and not show_labels:
        cats = _label_groups(labels)
    measure = f"{_measure_name(rdms.dissimilarity_measure)} distance"
    for ax, k in zip(axes, pick):
        top = float(np.max(D[k]))
        im = ax.imshow(D[k] / top if top > 0 else D[k], cmap="viridis", vmin=0, vmax=1)
        when = r"t = $\infty$" if not np.isfinite(times[k]) else f"t = {times[k]:.3g}"
        ax.set_title(f"{when}, max {top:.3g}", fontsize=9)
        if show_labels:
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(labels)))
            ax.set_yticklabels(labels if ax is axes[0] else [], fontsize=6)
        elif cats is not None:  # many items: label the category blocks
            _category_ticks(ax, [str(c) for c in cats], first=ax is axes[0])
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    cb = fig.colorbar(im, ax=list(axes[:n]), shrink=0.8, pad=0.01)
    cb.set_label(f"{measure} / panel max", fontsize=8)
    cb.ax.tick_params(labelsize=6)
    ax = axes[-1]
    fin = np.isfinite(times) & (times > 0)
    if not fin.any():  # e.g. --times 0 or 0,inf: no time to put on a log axis
        ax.text(0.5, 0.5, "no finite time t > 0\nto plot", ha="center", va="center", transform=ax.transAxes)
        fin = None
    sv = np.linalg.svd(traj.w2w1, compute_uv=False)
    s = traj.task.singular_values
    shown = min(sv.shape[1], 10) if fin is not None else 0
    for k in range(shown):
        line, = ax.plot(times[fin][np.argsort(times[fin])], sv[fin][np.argsort(times[fin]), k], lw=1.5,
                        label=f"mode {k + 1}")
        if k < s.size:
            ax.axhline(s[k], color=line.get_color(), ls="--", lw=0.7)
    if fin is not None:
        ax.set_xscale("log")
    ax.set_xlabel(r"training time t (units of $\tau$)")
    ax.set_ylabel("singular value", fontsize=8)
    ax.set_title("singular values of $W_2W_1(t)$\n(dashed: those of $\\Sigma_{yx}$, the targets)", fontsize=9)
    if shown:
        # beside the axes: inside, the key covered the weaker modes' curves
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, borderaxespad=0.0,
                  ncol=2 if shown > 5 else 1)
    fig.suptitle(f"{traj.task.name}: predicted {rdms.rdm_descriptors['representation'][0]} RDMs "
                 f"({rdms.dissimilarity_measure}), $N_h$ = {traj.n_hidden}, $\\lambda$ = {traj.lam:g}; "
                 r"t in units of $\tau$; colour scaled per panel", fontsize=10)
    if out is None:
        return fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def _measure_name(measure):
    """Readable name of a dissimilarity measure for axis labels (the package's "euclidean" is squared)."""
    return {"euclidean": "squared Euclidean", "squared euclidean": "squared Euclidean"}.get(measure, str(measure))


def _label_groups(labels, max_groups=24):
    """Groups of item labels that differ only by a trailing number (``human_body_00`` -> ``human_body``).

    ``None`` unless that gives at most ``max_groups`` runs of equal groups (labels for the blocks of a large RDM).
    """
    import re

    groups = [re.sub(r"[_\s.-]*\d+$", "", str(x)) or str(x) for x in labels]
    runs = sum(1 for i in range(len(groups)) if i == 0 or groups[i] != groups[i - 1])
    return groups if runs <= max_groups and runs < len(groups) else None


def _category_ticks(ax, cats, first=True):
    """Ticks at the centres of runs of equal category labels (e.g. the 92 images); y labels only if ``first``."""
    n = len(cats)
    starts = [i for i in range(n) if i == 0 or cats[i] != cats[i - 1]]
    centres = [(a + b - 1) / 2 for a, b in zip(starts, starts[1:] + [n])]
    ax.set_xticks(centres)
    ax.set_xticklabels([cats[a] for a in starts], rotation=90, fontsize=6)
    ax.set_yticks(centres)
    ax.set_yticklabels([cats[a] for a in starts] if first else [], fontsize=6)


_START_TEXT = {
    "random": "the expected geometry over random lambda-balanced starts (a learner from unknown small weights)",
    "aligned": "a task-aligned start (the task's modes are present, small, at t = 0)",
    "average": "the average geometry over random lambda-balanced starts",
}


def _start_line(init, other=None):
    line = f"start: init = {init!r}: the predictions assume {_START_TEXT.get(init, init)}"
    if other is not None:
        line += f"; intervals widened by a refit under init = {other!r}"
    return line


def _plot_fit(data, model, table, out, method, undetermined=()):
    """The ``fit`` PNG: data and best-fit RDMs with labels and colour-bar labels, and the score per width.

    Written to ``out``; with ``out=None`` the matplotlib Figure is returned instead.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.spatial.distance import squareform

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8))
    dm = data.get_matrices().mean(axis=0)
    pred = squareform(model.predict(), checks=False)
    par = model.params()
    labels = None
    for key in ("item", "conds", "label", "labels", "condition", "conditions", "stimulus"):
        if key in data.pattern_descriptors:
            labels = [str(x) for x in data.pattern_descriptors[key]]
            break
    cats = data.pattern_descriptors.get("category")
    if cats is None and labels is not None and len(labels) > 40:
        cats = _label_groups(labels)
    data_cb = f"data dissimilarity ({data.dissimilarity_measure})" if data.dissimilarity_measure else \
        "data dissimilarity (as given)"
    for ax, D, title, cb in ((axes[0], dm, f"data (mean of {data.n_rdm} RDM(s))", data_cb),
                             (axes[1], pred, f"best fit: {model.name}, $\\lambda$ = {par['lam']:.3g}, "
                              f"t = {par['time']:.3g} $\\tau$, init = {model.init}"
                              + (f"\nnot determined: {', '.join(undetermined)}" if undetermined else ""),
                              f"predicted {model.representation} dissimilarity ({_measure_name(model.measure)})")):
        im = ax.imshow(D, cmap="viridis")
        ax.set_title(title, fontsize=9)
        n = D.shape[0]
        if cats is not None:  # category blocks (e.g. the 92 images)
            _category_ticks(ax, [str(c) for c in cats])
        elif labels is not None and n <= 40:
            ax.set_xticks(range(n))
            ax.set_xticklabels(labels, rotation=90, fontsize=6)
            ax.set_yticks(range(n))
            ax.set_yticklabels(labels, fontsize=6)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label=cb)
    axes[2].bar([str(h) for h in table.n_hidden], table.score, color="C0")
    axes[2].set_xlabel("hidden width $N_h$")
    axes[2].set_ylabel(f"{method} (fitted)")
    axes[2].set_title("score per width", fontsize=9)
    fig.tight_layout()
    if out is None:
        return fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None
