"""Fitting human IT: which linear network, balance and training time best match the 92-image IT RDM?
And does a learning network explain the data better than the category structure alone?

The human IT fMRI RDM of the 92 images (Kriegeskorte et al. 2008,
``rl.load_92images_rdms("hIT")``) is compared with the hidden-layer RDMs that
a two-layer linear network predicts while it learns the images' category
structure (``rl.load_92images_task()``: one-hot images -> the category tree
object / animate / inanimate / human / nonhuman / natural / artificial / face
/ body features).  For each hidden width ``N_h`` the model
``rl.LinearNetworkModel`` (default start: the expected geometry over random
lambda-balanced starts, exact per draw -- what a learner from unknown small
weights looks like; ``init="aligned"`` would assume a task-aligned start,
which already holds the task's modes at ``t = 0``) has two free parameters, the balance ``lam`` and ``log10`` of the training time;
they are fitted by its default fitter ``rl.fit_linear_network`` (grid search +
bounded refinement) with rsatoolbox's ``corr`` comparison.

The category task has 6 non-zero singular values, the last two tied, so the
widths compared are 1, 2, 3, 4 and 6 (5 would cut the tied pair; the model
warns about that).

Figures written into ``--out-dir``:

* ``fit_hit_rdms.png``: the data RDM next to the fitted network's hidden RDM
  at a quarter of, at, and at four times the fitted time, and at
  convergence (all shown as percentiles, which is what ``corr`` compares up
  to a monotone map);
* ``fit_hit_landscape.png``: the fit landscape (score over ``lam`` and
  training time) for the best width, and the best score over ``lam`` against
  time for every width;
* ``fit_hit_hypotheses.png`` and ``fit_behaviour_hypotheses.png``: the
  hypothesis test "does a learning network explain these data better than the
  category structure alone?" (``rl.evaluate_hypotheses``,
  ``rl.plot_hypotheses``) on the hIT subject/session RDMs (4 subjects; the
  sessions of a subject stay together) and on the similarity judgements (16
  subjects).  Hypotheses: the network with its width chosen inside each
  training fold among 1-6 and wide (never on all data), the animacy model RDM
  (``ModelFixed``) and the flexible feature model (non-negative weights on the
  task's mode RDMs, added automatically).  Leave-one-subject-out
  crossvalidation, tests over subjects.

and ``fit_hit_table.csv`` with the fitted parameters per width (``profile_not_flat``: the landscape
varies by more than the library's tolerance ``rl.inference.fitting.FLAT_TOL``; this is not a verdict -- the
verdicts are ``rl.fit_rdms``'s) and ``fit_hypotheses.csv`` (both hypothesis
tables).  It also prints ``rl.fit_rdms``'s interval and verdict for every parameter (bootstrap over the
images, intervals widened by a refit under the aligned start) and the hypothesis tables with their
pairwise tests.

Run:  python -m rsa_lineardyn.demos.fit_human_it [--out-dir out] [--force]
(``examples/fit_human_it.py`` walks through the same steps with small settings; the docs build runs it.)
"""

from __future__ import annotations

import argparse
import sys
import time as _time
import warnings
from pathlib import Path

import numpy as np

WIDTHS = (1, 2, 3, 4, 6)
#: Widths among which the hypothesis test chooses inside each training fold.
HYP_WIDTHS = (1, 2, 3, 4, 5, 6, "wide")
METHOD = "corr"
#: Data sets of the hypothesis test: short name -> (bundled RDM set, title).
HYP_DATA = {"hit": ("hIT_subject_session", "human IT (4 subjects x 2 sessions)"),
            "behaviour": ("similarity_judgements", "similarity judgements (16 subjects)")}


def make_models(task, data, widths=WIDTHS):
    """One ``LinearNetworkModel`` per width, predicting in the order of ``data``'s items."""
    import rsa_lineardyn as rl

    return [rl.LinearNetworkModel(task, n_hidden=h, item_order=data) for h in widths]


def fit_widths(models, data, method=METHOD):
    """Fit every model to ``data``; returns a pandas DataFrame (one row per width)."""
    import pandas as pd

    import rsa_lineardyn as rl

    rows = []
    for m in models:
        theta = m.fit(data, method=method)
        par = m.params(theta)
        lam, t = par["lam"], par["time"]
        rows.append({"model": m.name, "n_hidden": m.n_hidden, "lam": lam, "time": t, "log10_time": np.log10(t),
                     "score": rl.compare_model(m, data, theta, method=method), "method": method})
    return pd.DataFrame(rows)


def landscape(model, data, n_lam=41, n_time=61, method=METHOD):
    """Score of ``model`` on a (lam, log10 time) grid inside its bounds: (lams, log10_times, scores (L, T))."""
    import rsa_lineardyn as rl

    names = model.param_names
    b = dict(zip(names, model.bounds))
    lo, hi = b.get("lam", (model.lam, model.lam))
    lams = np.linspace(lo, hi, n_lam)
    lt = np.linspace(*b["log10_time"], n_time)
    scores = rl.score_grid(model, data, lt, lams=lams, method=method)[:, 0, :]
    return lams, lt, scores


def hypothesis_test(task, data, widths=HYP_WIDTHS, method=METHOD, n_boot=0, seed=0):
    """Learning network (width chosen in each training fold) vs the animacy model vs the feature baseline."""
    from rsatoolbox.model import ModelFixed

    import rsa_lineardyn as rl

    animacy = ModelFixed("animacy", rl.load_92images_rdms("models").subset("name", "animacy"))
    network = rl.width_models(task, data, list(widths))
    name = "network (N_h chosen in CV)" if len(network) > 1 else f"network ({network[0].name})"
    return rl.evaluate_hypotheses(data, {name: network}, task, models=[animacy], method=method, n_boot=n_boot,
                                  random_state=seed, progress=False)


def print_hypotheses(res, title):
    """The table (one row per hypothesis) and each pair once, with its raw and Holm-corrected p-value."""
    import pandas as pd

    cols = ["model", "mean", "ci_low", "ci_high", "noise_ceiling_lower", "n_units", "dof"]
    pw = res.pairwise  # every pair once
    s = res.settings
    print(f"{title}: crossvalidated {s['method']}, {s['n_units']} units ({s['unit_descriptor']!r}), {s['cv']}")
    with pd.option_context("display.width", 200):
        print(res.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        print(pw[["model_a", "model_b", "mean_diff", "p", "p_corrected", "significant"]].to_string(
            index=False, float_format=lambda v: f"{v:.3g}"))
    for m in res.messages:
        print(f"  note: {m}")


# ----------------------------------------------------------------------------- plotting
def _percentile(D):
    from scipy.stats import rankdata

    n = D.shape[0]
    iu = np.triu_indices(n, k=1)
    v = rankdata(D[iu]) / iu[0].size * 100
    P = np.zeros_like(D)
    P[iu] = v
    return P + P.T


def _category_ticks(ax, categories):
    cats = list(categories)
    starts = [i for i in range(len(cats)) if i == 0 or cats[i] != cats[i - 1]]
    ends = starts[1:] + [len(cats)]
    centres = [(a + b - 1) / 2 for a, b in zip(starts, ends)]
    names = [cats[a] for a in starts]
    for a in starts[1:]:
        ax.axhline(a - 0.5, color="w", lw=0.5)
        ax.axvline(a - 0.5, color="w", lw=0.5)
    ax.set_xticks(centres)
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_yticks(centres)
    ax.set_yticklabels(names, fontsize=7)


def plot_rdms(data, models, out, flat=()):
    """Data RDM next to each fitted model's predicted RDMs along its trajectory (one row per model)."""
    import matplotlib.pyplot as plt
    from scipy.spatial.distance import squareform

    categories = data.pattern_descriptors["category"]
    # room between rows for the rotated category labels of the row above (titles were covered)
    fig, axes = plt.subplots(len(models), 5, figsize=(18, 4.6 * len(models)), squeeze=False,
                             gridspec_kw={"hspace": 0.75})
    for r, model in enumerate(models):
        par = model.params(model.theta_)
        lam, t = par["lam"], par["time"]
        times = [t / 4, t, 4 * t, np.inf]
        vecs = model.predict_times(times, model.theta_)
        note = " (flat fit)" if model.n_hidden in flat else ""
        note += f", start: {model.init}"
        panels = [("human IT (data)", data.get_matrices()[0])]
        for tt, v in zip(times, vecs):
            lab = "t = inf (converged)" if not np.isfinite(tt) else f"t = {tt:.3g}" + (" (fitted)" if tt == t else "")
            panels.append((f"{model.name}{note}, $\\lambda$ = {lam:.3g}\n{lab}", squareform(v, checks=False)))
        for c, (ax, (title, D)) in enumerate(zip(axes[r], panels)):
            im = ax.imshow(_percentile(D), cmap="viridis", vmin=0, vmax=100)
            _category_ticks(ax, categories)
            if c > 0:  # category names on the first column only (they ran into the neighbouring panel)
                ax.set_yticklabels([])
            ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=axes, fraction=0.015, pad=0.01, label="percentile of dissimilarity")
    fig.suptitle("Human IT RDM vs the fitted linear network's hidden RDM along training", fontsize=11)
    if out is None:
        return fig
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)


def _inside(ax, x, y, log_x=True, frac=0.04):
    """Limits ``frac`` of the span beyond the data on each side, so markers at the grid's edge stay inside."""
    lx = np.log10(x) if log_x else np.asarray(x, dtype=float)
    dx, dy = frac * (lx.max() - lx.min() or 1.0), frac * (np.max(y) - np.min(y) or 1.0)
    lo, hi = lx.min() - dx, lx.max() + dx
    ax.set_xlim(10.0**lo if log_x else lo, 10.0**hi if log_x else hi)
    ax.set_ylim(np.min(y) - dy, np.max(y) + dy)


def plot_landscape(models, data, table, out, method=METHOD, n_lam=41, n_time=61):
    """Fit landscape (score over lam and time) of every width, and best-over-lam score vs time.

    Panels on a grid of three columns, one colour scale for all landscapes (they are compared), the
    fitted point of each width starred (inside its axes, also at an edge of the grid).  Written to ``out``;
    with ``out=None`` the figure is returned as the first element instead.

    Returns ``(flat, fig_or_None)``: ``flat`` lists the widths whose landscape is flat (score range below the
    library's ``rl.inference.fitting.FLAT_TOL``, the tolerance ``rl.fit_rdms`` uses): for them ``lam`` and the time
    are not determined by the data under ``method``.
    """
    import matplotlib.pyplot as plt

    from rsa_lineardyn.inference.fitting import FLAT_TOL as flat_tol

    n = len(models)
    ncol = min(3, n + 1)
    nrow = -(-(n + 1) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol + 1.2, 3.0 * nrow + 0.6), squeeze=False,
                             layout="constrained")
    axes = axes.ravel()
    lands = [landscape(m, data, n_lam=n_lam, n_time=n_time, method=method) for m in models]
    finite = np.concatenate([sc[np.isfinite(sc)] for _, _, sc in lands])
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    flat, im = [], None
    summary = axes[n]
    for ax, m, (lams, lt, sc) in zip(axes, models, lands):
        im = ax.pcolormesh(10.0**lt, lams, sc, shading="nearest", cmap="magma", vmin=vmin, vmax=vmax)
        row = table[table.n_hidden == m.n_hidden].iloc[0]
        ax.plot(row.time, row.lam, "*", color="cyan", ms=11, mec="k", zorder=5)
        ax.set_xscale("log")
        _inside(ax, 10.0**lt, lams)
        span = float(np.nanmax(sc) - np.nanmin(sc)) if np.isfinite(sc).any() else 0.0
        note = ""
        if span < flat_tol:
            flat.append(m.n_hidden)
            note = " (flat: not determined)"
        ax.set_title(f"$N_h$ = {m.n_hidden}: best {row.score:.3f}{note}", fontsize=9)
        ax.set_xlabel(r"training time t (units of $\tau$)", fontsize=8)
        ax.set_ylabel(r"balance $\lambda$", fontsize=8)
        summary.plot(10.0**lt, np.max(sc, axis=0), lw=1.6, label=f"$N_h$ = {m.n_hidden}")
    if im is not None:
        fig.colorbar(im, ax=list(axes[:n]), shrink=0.8, pad=0.01, label=f"{method} with human IT (one scale)")
    summary.set_xscale("log")
    summary.set_xlabel(r"training time t (units of $\tau$)", fontsize=8)
    summary.set_ylabel(f"best {method} over $\\lambda$", fontsize=8)
    summary.set_title("score vs training time per width", fontsize=9)
    summary.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, borderaxespad=0.0)
    for ax in axes[n + 1:]:
        ax.set_visible(False)
    fig.suptitle("Fit landscapes of the human IT RDM (star: the fitted parameters of each width)", fontsize=10)
    if out is None:
        return flat, fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return flat, None


def plot_hypothesis_result(res, title, out=None):
    """The hypothesis-test figure of one data set (:func:`rsa_lineardyn.plot_hypotheses`) with a title.

    Written to ``out``; with ``out=None`` the matplotlib Figure is returned instead.
    """
    import matplotlib.pyplot as plt

    import rsa_lineardyn as rl

    fig, ax, _ = rl.plot_hypotheses(res)
    import textwrap

    head = f"{title}: learning network vs category structure ({res.settings['method']}, leave one subject out)"
    fig.suptitle("\n".join(textwrap.wrap(head, 60)), fontsize=9)
    if out is None:
        return fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def verdicts(task, data, widths=WIDTHS, method=METHOD, n_boot=100, seed=0):
    """``rl.fit_rdms`` over the widths: its intervals and verdicts (bootstrap over the images)."""
    import rsa_lineardyn as rl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rl.fit_rdms(data, task, n_hidden=list(widths), method=method, n_boot=n_boot, random_state=seed,
                           progress=False)


def run(out_dir="out", widths=WIDTHS, hyp_widths=HYP_WIDTHS, method=METHOD, force=True, verbose=True, seed=0,
        fit_boot=100, hyp_boot=0, hyp_subjects=None):
    """Fit, test, plot; returns a dict with ``files``, ``table``, ``best``, ``intervals``, ``hypotheses``
    (short name -> HypothesisResult), ``seconds``.  ``fit_boot``: bootstrap samples (over images) of
    ``rl.fit_rdms``'s intervals; ``hyp_boot``: bootstrap over subjects of the hypothesis tests (0: t intervals
    only); ``hyp_subjects``: use only the first so many subjects of each data set (quick runs)."""
    import matplotlib

    matplotlib.use("Agg")
    from rsa_lineardyn.data.files import check_new, staged_outputs

    start = _time.perf_counter()
    out_dir = Path(out_dir)
    names = ["fit_hit_rdms.png", "fit_hit_landscape.png", "fit_hit_table.csv", "fit_hit_hypotheses.png",
             "fit_behaviour_hypotheses.png", "fit_hypotheses.csv"]
    paths = [out_dir / n for n in names]
    check_new(paths, force)  # before any work
    out_dir.mkdir(parents=True, exist_ok=True)
    with staged_outputs(paths, force) as tmps:  # all files or none
        return _run(tmps, paths, widths, hyp_widths, method, verbose, seed, fit_boot, hyp_boot, hyp_subjects, start)


def _run(tmps, paths, widths, hyp_widths, method, verbose, seed, fit_boot, hyp_boot, hyp_subjects, start):
    """The body of :func:`run`, writing to the temporary files ``tmps`` (same order as ``paths``)."""
    import pandas as pd

    import rsa_lineardyn as rl

    task = rl.load_92images_task()
    data = rl.load_92images_rdms("hIT")
    models = make_models(task, data, widths)
    table = fit_widths(models, data, method)
    best = models[int(np.argmax(table.score.to_numpy()))]
    flat, _ = plot_landscape(models, data, table, tmps[1], method)
    table["profile_not_flat"] = ~table.n_hidden.isin(flat)  # not a verdict: see rl.fit_rdms's intervals
    fit = verdicts(task, data, widths, method, n_boot=fit_boot, seed=seed)
    table.to_csv(tmps[2], index=False)
    shown = [best]
    ident = [m for m in models if m.n_hidden not in flat]
    if best.n_hidden in flat and ident:
        shown.append(max(ident, key=lambda m: float(table.score[table.n_hidden == m.n_hidden].iloc[0])))
    plot_rdms(data, shown, tmps[0], flat)
    hyps, tables = {}, []
    for (key, (which, title)), png in zip(HYP_DATA.items(), tmps[3:5]):
        d = rl.load_92images_rdms(which)
        if hyp_subjects is not None:
            subj = list(dict.fromkeys(d.rdm_descriptors["subject"]))[:hyp_subjects]
            d = d.subset("subject", subj)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rl.DegeneracyWarning)
            hyps[key] = hypothesis_test(task, d, hyp_widths, method, n_boot=hyp_boot, seed=seed)
        plot_hypothesis_result(hyps[key], title, png)
        tables.append(hyps[key].table.assign(data=which))
    pd.concat(tables, ignore_index=True).to_csv(tmps[5], index=False)
    seconds = _time.perf_counter() - start
    if verbose:
        with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
            print(f"fits to the human IT RDM ({method}; start: {best.init}, the expected geometry over random "
                  "lambda-balanced starts):")
            print(table.drop(columns=["method"]).to_string(index=False))
        from rsa_lineardyn.inference.fitting import format_interval

        print(f"rl.fit_rdms over widths {list(widths)} (start {fit.settings['init']!r}, "
              f"{100 * fit.settings['ci']:.0f}% intervals, bootstrap over {fit.settings['bootstrap_over']}, "
              f"widened by a refit under init={fit.settings['other_init']!r}):")
        for r in fit.intervals.itertuples():
            print("  " + format_interval(r.parameter, r.estimate, r.low, r.high, r.determined, r.reason))
        if flat:
            print(f"widths {flat}: the score does not depend on lam or t, so their fitted lam and t are not determined")
        print("\nDoes a learning network explain these data better than the category structure alone?")
        for key, (_, title) in HYP_DATA.items():
            print()
            print_hypotheses(hyps[key], title)
        print()
        for p in paths:
            print(f"wrote {p}")
        print(f"done in {seconds:.1f} s")
    return {"files": [str(p) for p in paths], "table": table, "best": best, "intervals": fit.intervals,
            "fit": fit, "hypotheses": hyps, "seconds": seconds}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", default="out", help="folder for the figures and tables (default: out)")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    parser.add_argument("--method", default=METHOD, help=f"rsatoolbox compare method (default {METHOD})")
    parser.add_argument("--fit-boot", type=int, default=100,
                        help="bootstrap samples (over images) of rl.fit_rdms's intervals (default 100)")
    parser.add_argument("--hyp-boot", type=int, default=0,
                        help="bootstrap samples over subjects for percentile intervals of the hypothesis tests "
                             "(default 0: t intervals over subjects only)")
    args = parser.parse_args(argv)
    try:
        run(out_dir=args.out_dir, method=args.method, fit_boot=args.fit_boot, hyp_boot=args.hyp_boot,
            force=args.force)
    except FileExistsError as exc:
        print(f"fit_human_it.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
