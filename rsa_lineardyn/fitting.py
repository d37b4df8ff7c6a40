"""Fit hidden width, balance and training time(s) of a linear network to measured RDMs.

:func:`fit_rdms` is the entry point.  It searches a grid of candidates
(``n_hidden`` x ``lam`` x init ``scale``) and, for each candidate, a log
time axis (one time for a snapshot; for several stages of learning, a shared
time map ``t = offset + rate * stage`` or free increasing times), scoring
every prediction against every data RDM with an rsatoolbox comparison
method.  The score tensor (data RDM x candidate x time parameters) is
computed once; group fits, per-subject fits and the bootstrap are then just
different weightings of its first axis, so uncertainty costs little more
than the fit itself.  The overall best point is finally refined by a
bounded continuous search (kept only if it improves the score).

Predictions come from :class:`rsa_lineardyn.LinearNetworkModel` (the
task-aligned start has per-mode closed forms, so a whole time axis is one
vectorised call).
"""

from __future__ import annotations

import sys

import numpy as np

from ._validation import (
    InputTypeError,
    InputValueError,
    check_choice,
    check_comparison_method,
    check_positive_int,
    check_real,
    check_rng,
)
from .design import (
    STAGE_KEYS,
    SUBJECT_KEYS,
    _as_rdms,
    _theta,
    _widths,
    aggregate,
    make_candidates,
    make_design,
    score_tensor,
)
from .scoring import _FAST, _score_matrix, score_matrix
from .task import Task

__all__ = ["fit_rdms", "FitResult", "STAGE_KEYS", "SUBJECT_KEYS", "score_matrix", "plot_fit_profile"]

_TIME_MAPS = ("linear", "free")


# ----------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------
class FitResult:
    """What :func:`fit_rdms` found, with its uncertainty.

    Attributes
    ----------
    best : dict
        ``n_hidden``, ``lam``, ``scale``, ``time`` (snapshot) or ``times``
        (dict stage -> time) with ``rate`` and ``offset`` (linear map),
        ``score``, ``method``, ``time_map``, ``n_hidden_equivalent`` (widths
        whose best score is within ``flat_tol`` of the best) and
        ``refined`` (whether the continuous refinement improved on the grid).
    table : pandas.DataFrame
        One row per evaluated candidate (``n_hidden`` x ``lam`` x ``scale``)
        with its best time(s) and score; ``is_best`` marks the grid optimum.
    widths : pandas.DataFrame
        Best score per ``n_hidden`` (the profile over widths).
    subjects : pandas.DataFrame or None
        Per-subject best fits (one row per subject) when the data hold
        several subjects.
    bootstrap : pandas.DataFrame or None
        Best candidate per bootstrap sample (over subjects when there are
        several, else over conditions).
    lam_ci : tuple or None
        Percentile interval of ``lam`` over the bootstrap (level ``ci``).
    n_hidden_distribution : pandas.Series or None
        Fraction of bootstrap samples choosing each width.
    identifiable : dict
        Parameter name -> ``(bool, reason)``.  ``False`` means the data do
        not pin the parameter down (flat profile or a bootstrap spread over
        most of the searched range); report a range, not the point value.
    messages : list of str
        Plain-language notes (non-identifiable parameters, auto-detected
        descriptors).
    seed, settings : int, dict
    """

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    def to_dataframe(self):
        """The candidate table (a copy), ready for seaborn."""
        return self.table.copy()

    def summary(self):
        b = self.best
        lines = [f"fit_rdms ({b['method']}, {self.settings['n_rdm']} RDM(s), time_map={b['time_map']}):"]
        tdesc = f"time = {b['time']:.4g}" if "time" in b else "times = " + ", ".join(
            f"{k}: {v:.4g}" for k, v in b["times"].items())
        lines.append(f"  best n_hidden = {b['n_hidden']}, lam = {b['lam']:.4g}, scale = {b['scale']:.4g}, {tdesc}, "
                     f"score = {b['score']:.4f}")
        if self.lam_ci is not None:
            lines.append(f"  lam {100 * self.settings['ci']:.0f}% bootstrap interval: [{self.lam_ci[0]:.4g}, {self.lam_ci[1]:.4g}]")
        if self.n_hidden_distribution is not None:
            dist = ", ".join(f"{int(k)}: {v:.2f}" for k, v in self.n_hidden_distribution.items())
            lines.append(f"  n_hidden over bootstrap samples: {dist}")
        for p, (ok, why) in self.identifiable.items():
            lines.append(f"  {p}: {'identifiable' if ok else 'NOT identifiable'} ({why})")
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()


# ----------------------------------------------------------------------------
# main entry point
# ----------------------------------------------------------------------------
def fit_rdms(data_rdms, task, n_hidden=None, lam=None, *, method="corr", scale=0.1, fit_scale=False,
             representation="hidden", measure="euclidean", init="aligned", tau=1.0,
             subject_descriptor="auto", stage_descriptor="auto", time_map="linear", time_offset=False,
             time_bounds=None, n_times=61, n_lam=12, n_scale=5, scale_bounds=None, refine=True,
             n_boot=100, ci=0.95, flat_tol=1e-3, sigma_k=None, seed=0, n_jobs=1, backend=None, progress=None):
    """Fit ``n_hidden``, ``lam``, training time(s) and optionally the init scale to data RDMs.

    Parameters
    ----------
    data_rdms : rsatoolbox.rdm.RDMs
        Measured RDMs whose conditions carry item labels (a pattern
        descriptor such as ``item``) matching ``task.labels``; any order and
        any subset of the task's items.
    task : Task
        The task the subjects learned (whitened inputs).
    n_hidden : int or sequence of int, optional
        Widths to search.  Default: 1 up to the rank of ``Syx``, plus a wide
        network (``max(n_in, n_out)``).
    lam : None, float or sequence of float
        ``None`` (default): a grid of about ``2 * n_lam`` values, dense near 0,
        over the feasible range (``|lam| <= 4 s_max``; ``lam > 0`` needs
        ``n_hidden <= n_out``, ``lam < 0`` needs ``n_hidden <= n_in``), then
        refined continuously.  A number fixes it; a sequence is the grid.
    method : str, default "corr"
        Any rsatoolbox comparison method (``"cosine"``, ``"corr"``,
        ``"spearman"``, ``"tau-a"``, ``"corr_cov"``, ``"cosine_cov"``, ...).
    scale : float, default 0.1
        Init scale (each aligned mode starts at ``scale**2``).  With
        ``fit_scale=True`` it is free on a log grid of ``n_scale`` values in
        ``scale_bounds`` (default ``scale * [1e-2, 10]``).
    representation, measure, init, tau
        As in :class:`LinearNetworkModel`.
    subject_descriptor : "auto", str or None
        rdm descriptor naming subjects (``"auto"``: the first of
        ``subject, participant, subj, sub`` with several values).  Each
        subject is also fitted on its own, and the bootstrap resamples
        subjects.
    stage_descriptor : "auto", str or None
        rdm descriptor naming stages of learning (``"auto"``: the first of
        ``stage, epoch, time`` with several values (never ``session``: sessions are repeated measurements); ``None``: one
        snapshot).  Numeric values are positions on the stage axis;
        non-numeric ones are sorted and placed at 1, 2, ...
    time_map : {"linear", "free"}, default "linear"
        Several stages: ``"linear"`` fits ``t = rate * stage`` (+ ``offset``
        when ``time_offset=True``); ``"free"`` fits one non-decreasing time
        per stage.  A snapshot fits one time.
    time_bounds : (float, float), optional
        Range of times searched (log-spaced, ``n_times`` points).  Default
        from the task's singular values: ``1e-3 tau / s_max`` to a time
        at which the slowest kept mode, started at the smallest scale, has
        converged.
    n_times, n_lam, n_scale : int
        Grid sizes.
    refine : bool, default True
        Continuous refinement (bounded Powell search within one grid cell)
        of the overall best and of each subject's best.
    n_boot : int, default 100
        Bootstrap samples (0 to skip).
    ci : float, default 0.95
    flat_tol : float, default 1e-3
        A profile that varies by less than this (in score units) is flat,
        i.e. the parameter is not identifiable.
    sigma_k : ndarray, optional
        For the ``*_cov`` methods.
    seed : None, int or Generator, default 0
        Only the bootstrap draws are random; the result is deterministic
        given ``seed``.
    n_jobs : int, default 1
        joblib parallelism over hidden widths.  Inside
        ``with joblib.parallel_config(backend="dask"):`` (and a
        ``dask.distributed.Client``) the work runs on the cluster.
    backend : str, optional
        joblib backend (default: joblib's current one).
    progress : bool, optional
        tqdm progress bars; default on only when stderr is a terminal.

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> task = rl.hierarchical_task(depth=2)
    >>> truth = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0)
    >>> data = truth.predict_rdm([0.4])
    >>> res = rl.fit_rdms(data, task, n_hidden=[1, 2, 4], method="corr", seed=0, n_boot=0)
    >>> res.best["n_hidden"], round(res.best["score"], 3)
    (2, 1.0)
    """
    from threadpoolctl import threadpool_limits

    # the matrices here are small: multi-threaded BLAS only adds overhead (x20 measured on 2 cores);
    # parallelism comes from joblib (`n_jobs`) instead
    with threadpool_limits(1):
        return _fit_rdms(data_rdms, task, n_hidden, lam, method, scale, fit_scale, representation, measure, init,
                         tau, subject_descriptor, stage_descriptor, time_map, time_offset, time_bounds, n_times,
                         n_lam, n_scale, scale_bounds, refine, n_boot, ci, flat_tol, sigma_k, seed, n_jobs,
                         backend, progress)


def _fit_rdms(data_rdms, task, n_hidden, lam, method, scale, fit_scale, representation, measure, init, tau,
              subject_descriptor, stage_descriptor, time_map, time_offset, time_bounds, n_times, n_lam, n_scale,
              scale_bounds, refine, n_boot, ci, flat_tol, sigma_k, seed, n_jobs, backend, progress):
    data_rdms = _as_rdms(data_rdms)
    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")
    check_comparison_method(method)
    check_choice(time_map, "time_map", _TIME_MAPS)
    n_times = check_positive_int(n_times, "n_times", minimum=3)
    n_lam = check_positive_int(n_lam, "n_lam")
    n_scale = check_positive_int(n_scale, "n_scale")
    n_boot = check_positive_int(n_boot, "n_boot", minimum=0)
    ci = check_real(ci, "ci", minimum=0, maximum=1, strict_min=True)
    flat_tol = check_real(flat_tol, "flat_tol", minimum=0)
    scale = check_real(scale, "scale", minimum=0, strict_min=True)
    tau = check_real(tau, "tau", minimum=0, strict_min=True)
    rng = check_rng(seed)
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    widths = _widths(task, n_hidden)
    messages = []

    # --- scales ---
    if fit_scale:
        lo_s, hi_s = (scale * 1e-2, scale * 10.0) if scale_bounds is None else scale_bounds
        lo_s = check_real(lo_s, "scale_bounds[0]", minimum=0, strict_min=True)
        hi_s = check_real(hi_s, "scale_bounds[1]", minimum=lo_s)
        log10_scales = np.linspace(np.log10(lo_s), np.log10(hi_s), n_scale)
    else:
        log10_scales = np.array([np.log10(scale)])

    design = make_design(data_rdms, task, subject_descriptor=subject_descriptor, stage_descriptor=stage_descriptor,
                         time_map=time_map, time_offset=time_offset, time_bounds=time_bounds, n_times=n_times,
                         min_scale=10.0 ** log10_scales.min(), tau=tau)
    messages.extend(design.messages)
    subj_key, stage_key = design.subject_key, design.stage_key
    stages, xs, stage_of, K = design.stages, design.xs, design.stage_of, design.K
    snapshot, free = design.snapshot, design.free
    subjects, subj_of = design.subjects, design.subject_of
    tparams, tnames, times, lt = design.tparams, design.tnames, design.times, design.lt
    t_lo, t_hi = design.t_lo, design.t_hi
    n_rdm = design.n_rdm
    D = design.data

    # --- candidates ---
    model_kw = dict(representation=representation, measure=measure, scale=scale, fit_scale=fit_scale, init=init,
                    tau=tau)
    cands = make_candidates(task, data_rdms, widths, lam, n_lam, log10_scales, model_kw)
    models = {model.n_hidden: model for model, _, _ in cands.groups}
    lam_vals = {model.n_hidden: lv for model, lv, _ in cands.groups}
    cand = list(range(len(cands)))
    cand_h, cand_lam, cand_ls = cands.n_hidden, cands.lam, cands.log10_scale

    R = score_tensor(design, cands, method, sigma_k, n_jobs=n_jobs, backend=backend, progress=progress,
                     what="fit_rdms fit")[0]  # (n_rdm, C, G)
    if not np.any(np.isfinite(R)):
        raise InputValueError(
            f"every prediction has an undefined {method!r} score against the data (constant RDMs?); "
            "check the data RDMs and the representation."
        )
    w_all = np.ones(n_rdm)
    score, gidx, _ = aggregate(R, w_all, stage_of, K, free)

    import pandas as pd

    def describe(c, g_path, sc):
        row = {"n_hidden": int(cand_h[c]), "lam": float(cand_lam[c]), "scale": float(10.0 ** cand_ls[c])}
        row.update(_time_fields(tparams, tnames, g_path, times, stages, snapshot, free))
        row["score"] = float(sc)
        return row

    table = pd.DataFrame([describe(c, gidx[c], score[c]) for c in range(len(cand))])
    table["score"] = table["score"].where(np.isfinite(table["score"]))  # undefined (constant RDM) -> NaN
    ib = int(np.argmax(score))
    table["is_best"] = np.arange(len(cand)) == ib
    widths_df = (table.groupby("n_hidden", as_index=False)["score"].max())
    best = describe(ib, gidx[ib], score[ib])
    best.update(method=method, time_map="snapshot" if snapshot else time_map, refined=False)
    best["n_hidden_equivalent"] = [int(h) for h, sc in zip(widths_df["n_hidden"], widths_df["score"])
                                   if sc >= score[ib] - flat_tol]

    fitter = _Refiner(models, D, stage_of, xs, stages, method, sigma_k, snapshot, free, time_offset,
                      lam is None or np.size(lam) > 1, fit_scale, lt, tparams, log10_scales, lam_vals)
    if refine:
        best = fitter.refine(best, ib, gidx[ib], cand_h, cand_lam, cand_ls, w_all)

    # --- per-subject fits ---
    subjects_df = None
    if subjects is not None and len(subjects) > 1:
        rows = []
        for j, name in enumerate(subjects):
            w = (subj_of == j).astype(float)
            sc, gi, _ = aggregate(R, w, stage_of, K, free)
            c = int(np.argmax(sc))
            row = describe(c, gi[c], sc[c])
            row.update(method=method, time_map=best["time_map"], refined=False)
            if refine:
                row = fitter.refine(row, c, gi[c], cand_h, cand_lam, cand_ls, w)
            row = {"subject": name, **{k: v for k, v in row.items() if k not in ("method", "time_map", "times")}}
            rows.append(row)
        subjects_df = pd.DataFrame(rows)

    # --- bootstrap ---
    def boot_row(sc, gi):
        c = int(np.argmax(sc))
        row = describe(c, gi[c], sc[c])
        row["lam"] = _interp_lam(sc, c, cand_h, cand_lam, cand_ls)
        return row

    boot_df, lam_ci, nh_dist, boot_over = None, None, None, None
    if n_boot > 0:
        boot_rows = []
        if subjects is not None and len(subjects) > 1:
            boot_over = "subjects"
            draws = rng.integers(0, len(subjects), size=(n_boot, len(subjects)))
            for b in range(n_boot):
                counts = np.bincount(draws[b], minlength=len(subjects)).astype(float)
                sc, gi, _ = aggregate(R, counts[subj_of], stage_of, K, free)
                boot_rows.append(boot_row(sc, gi))
        else:
            boot_over = "conditions"
            if method not in _FAST:
                messages.append(f"condition bootstrap skipped: it is implemented for 'corr' and 'cosine' only, not {method!r}")
            else:
                n_cond = data_rdms.n_cond
                ia, ib_ = np.triu_indices(n_cond, k=1)
                draws = rng.integers(0, n_cond, size=(n_boot, n_cond))
                counts = np.stack([np.bincount(d, minlength=n_cond) for d in draws]).astype(float)
                Rb = score_tensor(design, cands, method, sigma_k, pair_weights=counts[:, ia] * counts[:, ib_],
                                  n_jobs=n_jobs, backend=backend, progress=progress, what="fit_rdms bootstrap")
                for b in range(n_boot):
                    sc, gi, _ = aggregate(Rb[b], w_all, stage_of, K, free)
                    boot_rows.append(boot_row(sc, gi))
        if boot_rows:
            boot_df = pd.DataFrame(boot_rows)
            boot_df.insert(0, "sample", np.arange(len(boot_df)))
            q = (1 - ci) / 2
            lam_ci = (float(np.quantile(boot_df["lam"], q)), float(np.quantile(boot_df["lam"], 1 - q)))
            nh_dist = boot_df["n_hidden"].value_counts(normalize=True).sort_index()
            nh_dist.name = "fraction"

    identifiable = _identifiability(table, best, widths_df, lam_ci, nh_dist, lam_vals, flat_tol, fit_scale)
    for p, (ok, why) in identifiable.items():
        if not ok:
            messages.append(f"{p} is not identifiable from these data: {why}")
    settings = dict(widths=widths, n_times=n_times, n_lam=n_lam, n_scale=n_scale, time_bounds=(t_lo, t_hi),
                    n_boot=n_boot, ci=ci, flat_tol=flat_tol, fit_scale=fit_scale, representation=representation,
                    measure=measure, init=init, tau=tau, n_rdm=n_rdm, subject_descriptor=subj_key,
                    stage_descriptor=stage_key, stages=stages, stage_positions=xs.tolist(), bootstrap_over=boot_over,
                    time_offset=time_offset)
    return FitResult(best=best, table=table, widths=widths_df, subjects=subjects_df, bootstrap=boot_df,
                     lam_ci=lam_ci, n_hidden_distribution=nh_dist, identifiable=identifiable, messages=messages,
                     seed=seed if not isinstance(seed, np.random.Generator) else None, settings=settings,
                     scores_=R)


def _interp_lam(score, c, cand_h, cand_lam, cand_ls):
    """Vertex of the parabola through the lam profile at the grid optimum and its two neighbours."""
    same = np.flatnonzero((cand_h == cand_h[c]) & (cand_ls == cand_ls[c]))
    order = same[np.argsort(cand_lam[same])]
    i = int(np.flatnonzero(order == c)[0])
    if i == 0 or i == order.size - 1:
        return float(cand_lam[c])
    x = cand_lam[order[i - 1: i + 2]]
    y = score[order[i - 1: i + 2]]
    if not np.all(np.isfinite(y)):
        return float(cand_lam[c])
    d1 = (y[1] - y[0]) / (x[1] - x[0])
    d2 = (y[2] - y[1]) / (x[2] - x[1])
    curv = (d2 - d1) / (x[2] - x[0])
    if curv >= 0:
        return float(cand_lam[c])
    xv = 0.5 * (x[0] + x[1]) - d1 / (2 * curv)
    return float(np.clip(xv, x[0], x[2]))


def _time_fields(tparams, tnames, g_path, times, stages, snapshot, free):
    out = {}
    if snapshot:
        g = int(g_path[0])
        out["time"] = float(times[g, 0])
        out["log10_time"] = float(tparams[g, 0])
        return out
    if free:
        out["times"] = {st: float(times[int(g_path[k]), k]) for k, st in enumerate(stages)}
    else:
        g = int(g_path[0])
        out["rate"] = float(10.0 ** tparams[g, 0])
        out["offset"] = float(tparams[g, 1]) if len(tnames) > 1 else 0.0
        out["times"] = {st: float(times[g, k]) for k, st in enumerate(stages)}
    for st, t in out["times"].items():
        out[f"time[{st}]"] = t
    return out


class _Refiner:
    """Bounded continuous search around a grid optimum (kept only if it improves the score)."""

    def __init__(self, models, D, stage_of, xs, stages, method, sigma_k, snapshot, free, offset, free_lam,
                 fit_scale, lt, tparams, log10_scales, lam_vals):
        self.__dict__.update(locals())
        del self.__dict__["self"]

    def refine(self, row, c, g_path, cand_h, cand_lam, cand_ls, w):
        from scipy.optimize import minimize

        h = int(cand_h[c])
        model = self.models[h]
        x0, box, names = [], [], []
        if self.free_lam:
            lv = self.lam_vals[h]
            i = int(np.searchsorted(lv, cand_lam[c]))
            x0.append(cand_lam[c])
            box.append((lv[max(i - 1, 0)], lv[min(i + 1, lv.size - 1)]))
            names.append("lam")
        if self.fit_scale and self.log10_scales.size > 1:
            st = self.log10_scales[1] - self.log10_scales[0]
            x0.append(cand_ls[c])
            box.append((max(cand_ls[c] - st, self.log10_scales[0]), min(cand_ls[c] + st, self.log10_scales[-1])))
            names.append("log10_scale")
        if self.snapshot or self.free:
            step = self.lt[1] - self.lt[0]
            for k, g in enumerate(g_path if self.free else g_path[:1]):
                x0.append(self.lt[int(g)])
                box.append((self.lt[int(g)] - step, self.lt[int(g)] + step))
                names.append(f"lt{k}")
        else:
            g = int(g_path[0])
            step = np.diff(np.unique(self.tparams[:, 0]))[0]
            x0.append(self.tparams[g, 0])
            box.append((self.tparams[g, 0] - step, self.tparams[g, 0] + step))
            names.append("lrate")
            if self.offset:
                offs = np.unique(self.tparams[:, 1])
                j = int(np.searchsorted(offs, self.tparams[g, 1]))
                x0.append(self.tparams[g, 1])
                box.append((offs[max(j - 1, 0)], offs[min(j + 1, offs.size - 1)]))
                names.append("offset")
        x0 = np.array(x0, dtype=float)
        wsum = w.sum()

        def unpack(x):
            p = dict(zip(names, x))
            lam = p.get("lam", cand_lam[c])
            ls = p.get("log10_scale", cand_ls[c])
            if self.snapshot:
                t = np.array([10.0 ** p["lt0"]])
            elif self.free:
                t = np.array([10.0 ** p[f"lt{k}"] for k in range(len(self.stages))])
            else:
                t = p.get("offset", 0.0) + 10.0 ** p["lrate"] * self.xs
            return lam, ls, t

        def objective(x):
            lam, ls, t = unpack(x)
            if self.free and np.any(np.diff(t) < 0):
                return 1e3
            try:
                V = model.predict_times(t, _theta(model, lam, ls))
            except ValueError:
                return 1e3
            S = _score_matrix(V, self.D, self.method, self.sigma_k)  # (K, R)
            vals = S[self.stage_of, np.arange(self.D.shape[0])]
            ok = np.isfinite(vals) & (w > 0)
            if not ok.any():
                return 1e3
            return -float(np.sum(vals[ok] * w[ok]) / np.sum(w[ok]))

        base = objective(x0)
        res = minimize(objective, x0, method="Powell", bounds=box, options={"xtol": 1e-4, "ftol": 1e-10})
        row = dict(row)
        if np.all(np.isfinite(res.x)) and res.fun < base - 1e-12:
            lam, ls, t = unpack(res.x)
            row["lam"] = float(lam)
            row["scale"] = float(10.0 ** ls)
            if self.snapshot:
                row["time"] = float(t[0])
                row["log10_time"] = float(np.log10(t[0]))
            else:
                row["times"] = {st: float(tt) for st, tt in zip(self.stages, t)}
                for st, tt in row["times"].items():
                    row[f"time[{st}]"] = tt
                if not self.free:
                    p = dict(zip(names, res.x))
                    row["rate"] = float(10.0 ** p["lrate"])
                    row["offset"] = float(p.get("offset", 0.0))
            row["score"] = -float(res.fun)
            row["refined"] = True
        return row


def _identifiability(table, best, widths_df, lam_ci, nh_dist, lam_vals, flat_tol, fit_scale):
    out = {}
    # n_hidden
    span = widths_df["score"].max() - widths_df["score"].min()
    if len(widths_df) > 1 and span < flat_tol:
        out["n_hidden"] = (False, f"flat profile: the best score per width varies by {span:.2g} < flat_tol = {flat_tol:g}")
    elif len(best["n_hidden_equivalent"]) > 1:
        out["n_hidden"] = (False, f"widths {best['n_hidden_equivalent']} fit within flat_tol = {flat_tol:g} of the best")
    elif nh_dist is not None and nh_dist.max() < 0.5:
        out["n_hidden"] = (False, f"no width is chosen in half of the bootstrap samples (top: {nh_dist.max():.2f})")
    else:
        freq = "" if nh_dist is None else f"; chosen in {nh_dist.get(best['n_hidden'], 0.0):.0%} of bootstrap samples"
        out["n_hidden"] = (True, f"n_hidden = {best['n_hidden']} is best by more than flat_tol{freq}")
    # lam, within the best width
    sub = table[table["n_hidden"] == best["n_hidden"]]
    prof = sub.groupby("lam")["score"].max()
    lv = lam_vals[best["n_hidden"]]
    rng_lam = (float(lv.min()), float(lv.max()))
    lspan = prof.max() - prof.min() if len(prof) > 1 else 0.0
    if len(prof) <= 1:
        out["lam"] = (True, "fixed by the user")
    elif lspan < flat_tol:
        out["lam"] = (False, f"flat profile: the score varies by {lspan:.2g} < flat_tol = {flat_tol:g} over lam in "
                             f"[{rng_lam[0]:.3g}, {rng_lam[1]:.3g}]")
    elif lam_ci is not None and (lam_ci[1] - lam_ci[0]) > 0.5 * (rng_lam[1] - rng_lam[0]):
        out["lam"] = (False, f"the bootstrap interval [{lam_ci[0]:.3g}, {lam_ci[1]:.3g}] covers more than half of "
                             f"the searched range [{rng_lam[0]:.3g}, {rng_lam[1]:.3g}]")
    else:
        near = prof[prof >= prof.max() - flat_tol].index
        out["lam"] = (True, f"scores within flat_tol of the best for lam in [{near.min():.3g}, {near.max():.3g}]")
    if fit_scale:
        sp = sub[sub["lam"] == sub.loc[sub["score"].idxmax(), "lam"]].groupby("scale")["score"].max()
        sspan = sp.max() - sp.min()
        out["scale"] = ((sspan >= flat_tol), f"score varies by {sspan:.2g} over the scale grid"
                        + (" (flat)" if sspan < flat_tol else ""))
    return out


# ----------------------------------------------------------------------------
# plotting mirrors computation
# ----------------------------------------------------------------------------
def plot_fit_profile(result, ax=None):
    """Profile of the best score over ``lam``, one line per ``n_hidden`` (seaborn), best point marked."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if not isinstance(result, FitResult):
        raise InputTypeError(f"`result` must be a FitResult from rl.fit_rdms, got {type(result).__name__}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    prof = result.table.groupby(["n_hidden", "lam"], as_index=False)["score"].max()
    sns.lineplot(data=prof, x="lam", y="score", hue="n_hidden", marker="o", ax=ax, palette="viridis")
    ax.plot([result.best["lam"]], [result.best["score"]], "r*", ms=12, label="best")
    ax.set_ylabel(f"score ({result.best['method']})")
    ax.legend(title="n_hidden", fontsize="small")
    return ax
