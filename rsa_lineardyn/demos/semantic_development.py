"""Semantic development: hidden representations of linear networks learning the semantic hierarchy.

The 8-item semantic hierarchy (Rumelhart & Todd 1993; McClelland & Rogers 2003;
``rl.load_semantic_task()``) is learned by two-layer linear networks with a
bottleneck (``N_h`` = 1, 2, 3) or a wide hidden layer (``N_h`` = 16 > 8 items),
in two regimes:

* rich: small initial weights (``scale`` = 0.01, each mode starts at strength
  1e-4) and ``lam = 0``.  Modes are learned one after the other, strongest
  first (sigmoidal, stage-like), and the hidden RDM differentiates
  progressively: plants vs animals first, then birds vs fish and trees vs
  flowers, then the individual items;
* lazy: the same small product but a large balance ``|lam|`` (default 20,
  well above the largest singular value 2.4 of ``Syx``).  Every mode then
  follows ``da/dt ~ |lam| (s - a)``: all are learned together, on one fast
  exponential time scale ``~ 1/|lam|``.  With ``lam > 0`` the hidden layer
  stays small (``W1^T W1 ~ a^2 / lam``); with ``lam < 0`` (bottlenecks only:
  it needs ``N_h <= n_in``) it is dominated by its large initial value and
  barely changes relative to it.

Which start, and why.  The solid curves and the RDM rows labelled "aligned"
come from the exact solution (``rl.exact_dynamics``) from the deterministic
task-aligned start (``rl.task_aligned_init``).  They are used here because the
point is the stage-like learning of the task's modes: from an aligned start
each mode follows its own closed-form sigmoid, so the half times can be read
off and checked against the closed form.  But an aligned start already holds
the task's modes at ``t = 0`` (tiny, yet in place): its hidden RDM shows the
hierarchy from the first moment (tiny, on the shared colour scale), which a real
learner from small random weights does not.  What such a learner looks like on
average is the expected geometry over random lambda-balanced starts
(``rl.LinearNetworkModel(task, n_hidden=h, init="random").predict_times(...)``,
exact per draw, the package's default model): it starts undifferentiated (all
items about equally far apart) and acquires the hierarchy as the modes grow.
It is drawn as dashed curves, and as the extra RDM row "random starts" of the
widest network.  One gradient-flow simulation (``rl.simulate``) checks the
theory.

Figures written into ``--out-dir``:

* ``semantic_rdms_<regime>.png``: hidden RDMs (squared Euclidean distances of
  ``W1 x``) as heatmaps labelled with the item names, for each width (rows,
  aligned start) at the times when the training loss has made 10%, 50% and
  90% of its total progress, and at convergence (``t = inf``); last row: the
  widest network's expected RDM over random starts at the same times;
* ``semantic_modes.png``: singular values of ``W2 W1(t)`` over training time
  against the singular values of ``Syx`` (dashed), with the time at which each
  mode reaches half of its final strength (dots), and the half times against
  the singular value for each regime;
* ``semantic_rdm_trajectories.png``: mean hidden distance between items that
  differ at each level of the hierarchy (kingdom, class, item), aligned start
  (solid) and expected over random starts (dashed), and the size of the
  hidden similarity matrix (RSM, aligned), over training time.

Time is in units of the time constant ``tau`` of gradient flow.

Run:  python examples/semantic_development.py [--out-dir out] [--n-times 300] [--force]
"""

from __future__ import annotations

import argparse
import sys
import time as _time
from pathlib import Path

import numpy as np

#: Hidden widths shown: bottlenecks 1, 2, 3 and a wide layer (16 > 8 items = n_in).
WIDTHS = (1, 2, 3, 16)
#: Initial weight scale (each task-aligned mode starts at strength scale**2).
SCALE = 0.01
#: |lam| of the lazy regimes.
LAM_LAZY = 20.0
#: Loss-progress fractions at which the RDM snapshots are taken (plus t = inf).
PROGRESS = (0.1, 0.5, 0.9)

# hierarchy of the 8 items: kingdom and class
_KINGDOM = {"pine": "plant", "oak": "plant", "rose": "plant", "daisy": "plant",
            "robin": "animal", "canary": "animal", "sunfish": "animal", "salmon": "animal"}
_CLASS = {"pine": "tree", "oak": "tree", "rose": "flower", "daisy": "flower",
          "robin": "bird", "canary": "bird", "sunfish": "fish", "salmon": "fish"}


def regimes(lam_lazy=LAM_LAZY, scale=SCALE):
    """The regimes: name -> (title, lam, scale)."""
    return {
        "rich": (rf"rich ($\lambda$ = 0, scale {scale:g})", 0.0, scale),
        "lazy_pos": (rf"lazy ($\lambda$ = +{lam_lazy:g}, scale {scale:g})", float(lam_lazy), scale),
        "lazy_neg": (rf"lazy ($\lambda$ = -{lam_lazy:g}, scale {scale:g})", -float(lam_lazy), scale),
    }


def level_of_pair(a, b):
    """Level of the hierarchy at which items ``a`` and ``b`` differ: "kingdom", "class" or "item"."""
    a, b = a.lower(), b.lower()
    if _KINGDOM[a] != _KINGDOM[b]:
        return "kingdom"
    if _CLASS[a] != _CLASS[b]:
        return "class"
    return "item"


def half_times(times, strength, target):
    """First time each mode reaches half its target strength (log-linear interpolation; inf if never).

    ``times`` (T,) increasing and finite, ``strength`` (T, m), ``target`` (m,).
    """
    out = np.full(target.size, np.inf)
    for k in range(target.size):
        if target[k] <= 0:
            continue
        above = np.flatnonzero(strength[:, k] >= target[k] / 2)
        if above.size == 0:
            continue
        j = above[0]
        if j == 0:
            out[k] = times[0]
            continue
        t0, t1 = times[j - 1], times[j]
        y0, y1 = strength[j - 1, k], strength[j, k]
        w = (target[k] / 2 - y0) / (y1 - y0)
        if t0 > 0:
            out[k] = float(np.exp(np.log(t0) + w * (np.log(t1) - np.log(t0))))
        else:
            out[k] = float(t0 + w * (t1 - t0))
    return out


def progress_times(times, loss, fractions):
    """Times at which the loss has made each fraction of its total drop ``loss[0] - loss[-1]``."""
    drop = loss[0] - loss[-1]
    prog = (loss[0] - loss) / drop if drop > 0 else np.ones_like(loss)
    prog = np.maximum.accumulate(prog)  # monotone for interpolation
    out = []
    for q in fractions:
        j = int(np.searchsorted(prog, q))
        j = min(max(j, 1), times.size - 1)
        p0, p1 = prog[j - 1], prog[j]
        w = 0.0 if p1 == p0 else (q - p0) / (p1 - p0)
        t0, t1 = times[j - 1], times[j]
        out.append(float(np.exp(np.log(t0) + w * (np.log(t1) - np.log(t0)))) if t0 > 0 else float(t0 + w * (t1 - t0)))
    return out


def compute(task=None, widths=WIDTHS, n_times=300, lam_lazy=LAM_LAZY, scale=SCALE, t_range=(1e-3, 1e2)):
    """Exact trajectories for every (regime, width); returns a dict of results (no plotting).

    Returns
    -------
    dict
        ``task``, ``times`` (finite grid), ``runs`` {(regime, width): dict with ``traj`` (on the grid),
        ``strength`` (T, m) mode strengths ``u_k^T W2 W1 v_k``, ``svals`` (T, m) singular values of
        ``W2 W1``, ``half`` (m,) half times, ``snap_times`` and ``snap_rdms`` (len(PROGRESS)+1, P, P),
        ``start_rdm`` (P, P) at t = 0; ``random_rdms``, ``random_snap_rdms``, ``random_start_rdm``: the same
        expected over random lambda-balanced starts,
        ``rdms`` (T, P, P), ``rsm`` (T, P, P)} or ``{"infeasible": message}``; ``table`` a pandas
        DataFrame of half times.
    """
    import pandas as pd

    import rsa_lineardyn as rl

    task = rl.load_semantic_task() if task is None else task
    times = np.logspace(np.log10(t_range[0]), np.log10(t_range[1]), n_times)
    U, s, Vt = task.svd()
    m_all = min(task.n_in, task.n_out)
    s = s[:m_all]
    runs = {}
    rows = []
    for reg, (_, lam, sc) in regimes(lam_lazy, scale).items():
        for h in widths:
            try:
                W1, W2 = rl.task_aligned_init(task, n_hidden=h, lam=lam, scale=sc)
            except rl.InputValueError as exc:
                runs[reg, h] = {"infeasible": str(exc).split(":")[0]}
                continue
            traj = rl.exact_dynamics(task, W1, W2, np.concatenate([times, [np.inf]]))
            grid = traj.subset(slice(0, times.size))
            w2w1 = traj.w2w1
            strength = np.einsum("ok,tok->tk", U[:, :m_all], w2w1 @ Vt.T[:, :m_all])
            svals = np.linalg.svd(w2w1, compute_uv=False)[:, :m_all]
            half = half_times(times, strength[:-1], s)
            loss = traj.loss
            snaps = progress_times(times, loss[:-1], PROGRESS)
            snap_traj = rl.exact_dynamics(task, W1, W2, snaps + [np.inf])
            rand = random_start_rdms(task, h, lam, sc, np.concatenate([times, snaps, [np.inf], [0.0]]))
            start_traj = rl.exact_dynamics(task, W1, W2, [0.0])
            runs[reg, h] = {
                "random_rdms": rand[:times.size], "random_snap_rdms": rand[times.size:-1],
                "start_rdm": rl.trajectory_rdms(start_traj, "hidden", "euclidean")[0], "random_start_rdm": rand[-1],
                "traj": grid, "lam": lam, "scale": sc, "strength": strength[:-1], "svals": svals[:-1],
                "final_svals": svals[-1], "half": half, "loss": loss[:-1],
                "snap_times": snaps + [np.inf], "snap_rdms": rl.trajectory_rdms(snap_traj, "hidden", "euclidean"),
                "rdms": rl.trajectory_rdms(grid, "hidden", "euclidean"), "rsm": rl.hidden_rsm(grid),
            }
            for k in range(m_all):
                rows.append({"regime": reg, "lam": lam, "n_hidden": h, "mode": k + 1, "singular_value": s[k],
                             "final_strength": strength[-1, k], "half_time": half[k]})
    return {"task": task, "times": times, "s": s, "runs": runs, "table": pd.DataFrame(rows),
            "widths": tuple(widths), "regimes": regimes(lam_lazy, scale)}


def random_start_rdms(task, n_hidden, lam, scale, times):
    """Expected hidden RDMs (squared Euclidean) over random lambda-balanced starts, shape (T, P, P)."""
    import warnings

    from scipy.spatial.distance import squareform

    import rsa_lineardyn as rl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        model = rl.LinearNetworkModel(task, n_hidden=n_hidden, lam=lam, scale=scale, init="random",
                                      representation="hidden", measure="euclidean")
    V = model.predict_times(np.asarray(times, float), [0.0])  # lam and scale fixed: theta is (log10_time,)
    return np.stack([squareform(v, checks=False) for v in V])


def theory_half_time(s, a0, lam):
    """Half time of a task-aligned mode from the closed form (``rl.mode_strengths``), by bisection."""
    import rsa_lineardyn as rl
    from scipy.optimize import brentq

    if s <= 0 or a0 >= s / 2:
        return 0.0
    f = lambda lt: rl.mode_strengths([s], a0, lam, [10.0**lt])[0, 0] - s / 2  # noqa: E731
    return 10.0 ** brentq(f, -12, 12, xtol=1e-10)


def simulation_check(task, n_hidden=3, lam=0.0, scale=SCALE, times=(0.5, 2.0, 5.0, 20.0)):
    """Largest ``|hidden RSM(simulated gradient flow) - hidden RSM(exact)|`` relative to the largest entry."""
    import rsa_lineardyn as rl

    W1, W2 = rl.task_aligned_init(task, n_hidden=n_hidden, lam=lam, scale=scale)
    exact = rl.exact_dynamics(task, W1, W2, list(times))
    sim = rl.simulate(task, W1, W2, list(times), method="flow")
    a, b = rl.hidden_rsm(exact), rl.hidden_rsm(sim)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


# ----------------------------------------------------------------------------- plotting
def _label(t):
    return r"$t=\infty$" if not np.isfinite(t) else f"t = {t:.3g}"


def plot_snapshots(res, regime, out):
    """Figure of hidden-RDM snapshots for one regime (rows: widths, aligned start; last row: random starts).

    Every panel is drawn on one colour scale (0 to the largest distance in the figure), so panels can be
    compared: how far apart the items are at each time and width, not only their pattern.

    Written to ``out``; with ``out=None`` the matplotlib Figure is returned instead.
    """
    import matplotlib.pyplot as plt

    from rsa_lineardyn.plotting import plot_rdm, shared_limits

    widths = res["widths"]
    labels = list(res["task"].labels)
    ncol = len(PROGRESS) + 2  # start, the progress snapshots, converged
    feasible = [h for h in widths if "infeasible" not in res["runs"][regime, h]]
    # infeasible widths get no row (a text cell made tight_layout shrink every panel); the title names them
    skipped = [f"$N_h$ = {h} infeasible ({res['runs'][regime, h]['infeasible']})" for h in widths
               if h not in feasible]
    rows = [(h, "aligned") for h in feasible] + ([(max(feasible), "random")] if feasible else [])
    fig, axes = plt.subplots(len(rows), ncol, figsize=(2.45 * ncol + 1.0, 2.9 * len(rows) + 1.3), squeeze=False,
                             layout="constrained")
    panels = {}
    for r, (h, start) in enumerate(rows):
        run = res["runs"][regime, h]
        for c in range(ncol):
            if c == 0:
                t, head = 0.0, "start"
                D = run["start_rdm"] if start == "aligned" else run["random_start_rdm"]
            else:
                t = run["snap_times"][c - 1]
                D = run["snap_rdms"][c - 1] if start == "aligned" else run["random_snap_rdms"][c - 1]
                head = f"loss {int(100 * PROGRESS[c - 1])}% learned" if c <= len(PROGRESS) else "converged"
            who = f"$N_h$ = {h}, {start}"  # "aligned" or "random" (expected over random starts)
            panels[r, c] = (D, f"{who}: {head}\n{_label(t)}")
    vmin, vmax = shared_limits([D for D, _ in panels.values()]) if panels else (0.0, 1.0)
    im = None
    for (r, c), (D, title) in panels.items():
        im = plot_rdm(D, axes[r, c], labels, vmin=vmin, vmax=vmax, title=title, show_y=(c == 0))
    if im is not None:
        cb = fig.colorbar(im, ax=axes, shrink=0.5, aspect=30, pad=0.01)
        cb.set_label("squared Euclidean distance of hidden activity\n(one scale for every panel)", fontsize=8)
        cb.ax.tick_params(labelsize=7)
    fig.suptitle(f"Hidden RDMs, {res['regimes'][regime][0]}\n"
                 "rows 'aligned': task-aligned start (modes present, tiny, at t = 0); last row: expected over "
                 "random lambda-balanced starts; t in units of $\\tau$"
                 + ("\n" + "; ".join(skipped) if skipped else ""), fontsize=9)
    if out is None:
        return fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def plot_modes(res, out):
    """Singular values of W2 W1(t) vs those of Syx, with half times; and half time vs singular value.

    Written to ``out``; with ``out=None`` the matplotlib Figure is returned instead.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    widths, times, s = res["widths"], res["times"], res["s"]
    regs = list(res["regimes"])
    colors = sns.color_palette("viridis", s.size)
    halves = np.concatenate([run["half"] for run in res["runs"].values() if "half" in run])
    halves = halves[np.isfinite(halves) & (halves > 0)]
    ylim = (halves.min() / 2, halves.max() * 2) if halves.size else None
    fig, axes = plt.subplots(len(regs), len(widths) + 1, figsize=(3.1 * (len(widths) + 1), 2.7 * len(regs)),
                             squeeze=False)
    for r, reg in enumerate(regs):
        title, lam, sc = res["regimes"][reg]
        for c, h in enumerate(widths):
            ax = axes[r, c]
            run = res["runs"][reg, h]
            if "infeasible" in run:
                ax.axis("off")
                ax.text(0.02, 0.5, f"$N_h$ = {h}, $\\lambda$ = {lam:g}:\ninfeasible ($\\lambda<0$ needs\n"
                        "$N_h \\leq n_{in}$ = 8)", transform=ax.transAxes, fontsize=8, va="center")
                continue
            for k in range(s.size):
                ax.plot(times, run["svals"][:, k], color=colors[k], lw=1.6)
                ax.axhline(s[k], color=colors[k], ls="--", lw=0.8)
                if np.isfinite(run["half"][k]):
                    ax.plot(run["half"][k], s[k] / 2, "o", color=colors[k], ms=4)
            ax.set_xscale("log")
            ax.set_title(f"$N_h$ = {h}, $\\lambda$ = {lam:g}", fontsize=9)
            if r == len(regs) - 1:
                ax.set_xlabel(r"training time t (units of $\tau$)")
            if c == 0:
                ax.set_ylabel(f"{reg}\nsingular values of $W_2W_1(t)$", fontsize=8)
        ax = axes[r, -1]
        a0 = sc**2
        for h, marker in zip(widths, "osD^v"):
            run = res["runs"][reg, h]
            if "infeasible" in run:
                continue
            ok = np.isfinite(run["half"])
            ax.plot(s[ok], run["half"][ok], marker, ms=5, mfc="none", label=f"$N_h$ = {h}")
        ss = np.linspace(s.min() * 0.9, s.max() * 1.05, 60)
        ax.plot(ss, [theory_half_time(x, a0, lam) for x in ss], "k-", lw=0.8, label="closed form")
        ax.set_yscale("log")
        if ylim:
            ax.set_ylim(*ylim)
        ax.set_xlabel("singular value $s_k$ of $\\Sigma_{yx}$")
        ax.set_ylabel("time to half strength")
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, borderaxespad=0.0)
        ax.set_title(title, fontsize=8)
    fig.suptitle("When each mode is learned: singular values of $W_2W_1(t)$ (solid) vs those of $\\Sigma_{yx}$ "
                 "(dashed); dots: half strength", fontsize=10)
    fig.tight_layout()
    if out is None:
        return fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def plot_trajectories(res, out):
    """Mean hidden distance per hierarchy level and RSM size over time (rows: widths, columns: regimes).

    Written to ``out``; with ``out=None`` the matplotlib Figure is returned instead.
    """
    import matplotlib.pyplot as plt

    widths, times = res["widths"], res["times"]
    regs = list(res["regimes"])
    labels = list(res["task"].labels)
    P = len(labels)
    iu = np.triu_indices(P, k=1)
    levels = np.array([level_of_pair(labels[i], labels[j]) for i, j in zip(*iu)])
    styles = {"kingdom": ("plant vs animal", "C3"), "class": ("tree/flower, bird/fish", "C0"),
              "item": ("pine/oak, robin/canary, ...", "C2")}
    fig, axes = plt.subplots(len(widths), len(regs), figsize=(4.1 * len(regs), 2.4 * len(widths)), squeeze=False,
                             sharex=True)
    spare = None
    for c, reg in enumerate(regs):
        for r, h in enumerate(widths):
            ax = axes[r, c]
            run = res["runs"][reg, h]
            if "infeasible" in run:
                ax.axis("off")
                ax.text(0.02, 0.92, f"$N_h$ = {h}: infeasible for {reg}", transform=ax.transAxes, fontsize=8)
                spare = ax
                continue
            V = run["rdms"][:, iu[0], iu[1]]
            Vr = run["random_rdms"][:, iu[0], iu[1]]
            for lev, (name, col) in styles.items():
                ax.plot(times, V[:, levels == lev].mean(axis=1), color=col, lw=1.6, label=name)
                ax.plot(times, Vr[:, levels == lev].mean(axis=1), color=col, lw=1.2, ls="--")
            rsm = run["rsm"]
            ax2 = ax.twinx()
            ax2.plot(times, np.trace(rsm, axis1=1, axis2=2) / P, color="0.5", ls=":", lw=1.2)
            ax2.tick_params(labelsize=6, colors="0.4")
            ax.set_ylim(bottom=0)  # distances and the RSM diagonal start at zero: no offset axis
            ax2.set_ylim(bottom=0)
            ax.set_xscale("log")
            ax.tick_params(labelsize=7)
            if r == 0:
                ax.set_title(res["regimes"][reg][0], fontsize=8)
            ax.set_ylabel(f"$N_h$ = {h}\nmean hidden distance" if c == 0 else "mean hidden distance", fontsize=7)
            ax2.set_ylabel("mean RSM diagonal\n(grey dotted)", fontsize=7, color="0.4")
            last = max(i for i, w in enumerate(widths) if "infeasible" not in res["runs"][reg, w])
            if r == last:  # the lowest drawn panel of each column carries the time axis
                ax.set_xlabel(r"training time t (units of $\tau$)")
                ax.xaxis.set_tick_params(labelbottom=True)
    from matplotlib.lines import Line2D

    key = [Line2D([], [], color=col, lw=1.6, label=name) for name, col in styles.values()]
    key += [Line2D([], [], color="0.3", lw=1.6, label="task-aligned start"),
            Line2D([], [], color="0.3", lw=1.2, ls="--", label="random starts (expected)"),
            Line2D([], [], color="0.5", lw=1.2, ls=":", label="mean RSM diagonal (right axis)")]
    if spare is not None:  # the key goes into an empty (infeasible) cell, clear of every curve
        spare.legend(handles=key, fontsize=8, loc="center", title="items differ at / curves", title_fontsize=8)
    else:
        fig.legend(handles=key, fontsize=7, loc="lower center", ncol=3, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle("Progressive differentiation: mean hidden distance between items that differ at each level\n"
                 "solid: task-aligned start; dashed: expected over random lambda-balanced starts", fontsize=10)
    fig.tight_layout(rect=(0, 0 if spare is not None else 0.07, 1, 1))
    if out is None:
        return fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def run(out_dir="out", widths=WIDTHS, n_times=300, lam_lazy=LAM_LAZY, scale=SCALE, force=True, verbose=True,
        shown_dir=None):
    """Compute everything, write the PNGs into ``out_dir``, print a summary; returns a dict.

    Returns
    -------
    dict
        ``files`` (list of written paths), ``table`` (half times, pandas DataFrame),
        ``max_sim_deviation`` (relative, gradient flow vs exact), ``seconds``.
    """
    import matplotlib

    matplotlib.use("Agg")

    start = _time.perf_counter()
    out_dir = Path(out_dir)
    names = [f"semantic_rdms_{r}.png" for r in regimes()] + ["semantic_modes.png", "semantic_rdm_trajectories.png"]
    paths = [out_dir / n for n in names]
    from rsa_lineardyn.data.files import check_new, staged_outputs

    check_new(paths, force)  # before any work
    out_dir.mkdir(parents=True, exist_ok=True)
    res = compute(widths=widths, n_times=n_times, lam_lazy=lam_lazy, scale=scale)
    with staged_outputs(paths, force) as tmps:  # all figures or none
        for reg, tmp in zip(res["regimes"], tmps):
            plot_snapshots(res, reg, tmp)
        plot_modes(res, tmps[-2])
        plot_trajectories(res, tmps[-1])
        dev = simulation_check(res["task"], n_hidden=min(3, max(widths)), lam=0.0, scale=scale)
    seconds = _time.perf_counter() - start
    table = res["table"]
    if verbose:
        s = res["s"]
        print("Semantic hierarchy: singular values of Syx:", np.array2string(s, precision=3))
        piv = table[np.isfinite(table.half_time)].pivot_table(index="mode", columns=["regime", "n_hidden"],
                                                             values="half_time")
        print("time to half strength per mode (rows) for each regime and width (inf = never learned):")
        with np.printoptions(precision=3):
            import pandas as pd

            with pd.option_context("display.width", 200, "display.float_format", "{:.3g}".format):
                print(piv.reindex(range(1, s.size + 1)).fillna(np.inf).to_string())
        print(f"largest simulation-vs-theory deviation (hidden RSM, gradient flow vs exact, relative): {dev:.2e}")
        for p in paths:  # shown_dir: where the files end up when out_dir is a staging folder
            print(f"wrote {p if shown_dir is None else Path(shown_dir) / Path(p).name}")
        print(f"done in {seconds:.1f} s")
    return {"files": [str(p) for p in paths], "table": table, "max_sim_deviation": dev, "seconds": seconds,
            "result": res}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default="out", help="folder for the PNGs (default: out)")
    parser.add_argument("--n-times", type=int, default=300, help="time points on the log grid (default 300)")
    parser.add_argument("--lam-lazy", type=float, default=LAM_LAZY, help=f"|lam| of the lazy regimes (default {LAM_LAZY:g})")
    parser.add_argument("--scale", type=float, default=SCALE, help=f"initial weight scale (default {SCALE:g})")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    args = parser.parse_args(argv)
    try:
        run(out_dir=args.out_dir, n_times=args.n_times, lam_lazy=args.lam_lazy, scale=args.scale, force=args.force)
    except FileExistsError as exc:
        print(f"semantic_development.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
