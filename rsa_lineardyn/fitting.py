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

__all__ = ["fit_rdms", "FitResult", "FLAT_TOL", "format_interval", "STAGE_KEYS", "SUBJECT_KEYS", "score_matrix", "plot_fit_profile"]

_TIME_MAPS = ("linear", "free")
_START_CHECKS = ("widen", "flag")
_CHECK_DRAWS = 8

#: A profile (best score along one parameter, the others optimised) that varies by less than this, in score units,
#: is flat: the data do not determine the parameter.  Shared by ``fit_rdms``, the CLI and the examples.
FLAT_TOL = 1e-3
#: ``n_hidden`` is determined only if the estimate wins at least this fraction of the bootstrap samples.
MAJORITY = 0.8
#: A parameter whose interval covers more than this fraction of its searched range is not determined.
SPREAD_FRACTION = 0.5


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
    intervals : pandas.DataFrame
        One row per reported parameter (``n_hidden``, ``lam`` when searched,
        ``time`` for a snapshot, ``rate`` [and ``offset``] for the linear
        time map, ``time[<stage>]`` for free times, ``scale`` when fitted),
        columns ``parameter, estimate, low, high, level, determined,
        reason``.  ``estimate`` is the reported (refined) value and always
        lies in ``[low, high]``.  ``determined=False`` means the data do not
        pin the parameter down; ``reason`` says why (flat profile, at the
        edge of the searched range, bootstrap spread over most of the range,
        bootstrap majority below 80% for ``n_hidden``, depends on the
        assumed start, uncertainty not measured).
    subject_intervals : pandas.DataFrame or None
        The same per subject (leading ``subject`` column), from a bootstrap
        within the subject: over its repeated RDMs per stage if it has
        several, else over conditions (``corr``/``cosine``); other methods
        give NaN intervals with ``determined=False``.
    identifiable : dict
        Parameter name -> ``(determined, reason)``, read from ``intervals``.
    lam_ci : tuple or None
        ``(low, high)`` of ``lam`` from ``intervals`` (``None`` without a
        bootstrap or with ``lam`` fixed).
    n_hidden_distribution : pandas.Series or None
        Fraction of bootstrap samples choosing each width.
    start : dict or None
        ``{"init": other_init, "estimate": {...}}``: the group estimate
        under the other assumed start (``start_check``).
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
        """The best fit, then every parameter with its interval and verdict (as the CLI prints them)."""
        b = self.best
        lines = [f"fit_rdms ({b['method']}, {self.settings['n_rdm']} RDM(s), time_map={b['time_map']}):"]
        tdesc = f"time = {b['time']:.4g}" if "time" in b else "times = " + ", ".join(
            f"{k}: {v:.4g}" for k, v in b["times"].items())
        lines.append(f"  best n_hidden = {b['n_hidden']}, lam = {b['lam']:.4g}, scale = {b['scale']:.4g}, {tdesc}, "
                     f"score = {b['score']:.4f}")
        level = self.settings["ci"]
        lines.append(f"  {100 * level:.0f}% intervals (bootstrap over {self.settings['bootstrap_over'] or 'nothing'}):")
        for r in self.intervals.itertuples():
            lines.append("    " + format_interval(r.parameter, r.estimate, r.low, r.high, r.determined, r.reason))
        if self.n_hidden_distribution is not None:
            dist = ", ".join(f"{int(k)}: {v:.2f}" for k, v in self.n_hidden_distribution.items())
            lines.append(f"  n_hidden over bootstrap samples: {dist}")
        if self.subject_intervals is not None:
            n_sub = self.subject_intervals["subject"].nunique()
            for p, grp in self.subject_intervals.groupby("parameter", sort=False):
                n_und = int((~grp["determined"].astype(bool)).sum())
                lines.append(f"  per subject, {p}: determined for {n_sub - n_und} of {n_sub} subjects")
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()


def format_interval(parameter, estimate, low, high, determined, reason):
    """One line ``name = estimate [low, high] (verdict)``, shared by ``summary()``, the CLI and the examples."""
    iv = f"[{low:.3g}, {high:.3g}]" if np.isfinite(low) and np.isfinite(high) else "[no interval]"
    est = f"{int(estimate)}" if parameter == "n_hidden" else f"{estimate:.4g}"
    verdict = "determined" if determined else f"not determined: {reason}"
    if determined and parameter == "n_hidden" and reason:
        verdict += f"; {reason}"
    return f"{parameter} = {est} {iv} ({verdict})"


# ----------------------------------------------------------------------------
# main entry point
# ----------------------------------------------------------------------------
def fit_rdms(data_rdms, task, n_hidden=None, lam=None, *, method="corr", scale=0.1, fit_scale=False,
             representation="hidden", measure="euclidean", init="random", tau=1.0,
             subject_descriptor="auto", stage_descriptor="auto", time_map="linear", time_offset=False,
             time_bounds=None, n_times=61, n_lam=12, n_scale=5, scale_bounds=None, refine=True,
             n_boot=100, ci=0.95, flat_tol=FLAT_TOL, start_check="widen", subject_boot=True, sigma_k=None, seed=0,
             n_jobs=1, backend=None, progress=None):
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
    representation, measure, tau
        As in :class:`LinearNetworkModel`.
    init : {"random", "aligned", "average"}, default "random"
        The assumed start, as in :class:`LinearNetworkModel` (``"random"``,
        the default: the expected geometry over random lambda-balanced
        starts, what a learner from unknown small weights looks like;
        ``"aligned"``: the task-aligned start, which already holds the
        task's modes at ``t = 0``).  ``start_check`` refits under the
        other one.
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
        Continuous refinement (bounded Powell search within one grid step,
        never outside the searched range) of the overall best and of each
        subject's best.
    n_boot : int, default 100
        Bootstrap samples (0 to skip: every parameter is then reported as
        not determined, "uncertainty not measured").  The group bootstrap
        resamples subjects (all RDMs of a subject -- sessions, runs,
        stages -- stay together), or conditions when there is one unit;
        each subject's own interval resamples its repeated RDMs per stage,
        or else its conditions (``corr``/``cosine`` only).
    ci : float, default 0.95
        Level of the intervals.
    flat_tol : float, default ``FLAT_TOL`` (1e-3)
        A profile that varies by less than this (in score units) is flat,
        i.e. the parameter is not determined.
    subject_boot : bool, default True
        Per-subject intervals (a bootstrap within every subject).  With one
        RDM per stage this is a condition bootstrap: a score tensor per
        sample, the costliest part of a fit with many conditions (16
        subjects x 92 images: minutes); ``False`` skips it (per-subject
        rows are then reported as not determined).
    start_check : {"widen", "flag"} or None, default "widen"
        The starting weights are unknown and the bootstrap cannot see that:
        the group (and every subject) is refitted under the other start
        (``init="aligned"`` <-> the expected geometry over random starts, 8
        draws) on a coarser grid.  ``"widen"``: every interval is widened to include
        that estimate (measured coverage: see Notes); ``"flag"``: an
        estimate outside the interval marks the parameter "depends on the
        assumed start"; ``None``: skip the refit (faster, intervals then
        ignore the start).
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
        ``best``, ``table``, and ``intervals`` / ``subject_intervals``: an
        interval and a verdict for every reported parameter.

    Notes
    -----
    Intervals.  Every bootstrap sample is estimated as the point is before
    its refinement: the grid optimum with each continuous parameter moved
    to the vertex of the parabola through its profile and the two
    neighbours (``lam``, log time / log rate, log scale).  The interval is
    the percentile interval of these samples, joined with the reported
    estimate (so it always contains it), widened by half a grid step on
    each side (the resolution the bootstrap cannot resolve; the refinement
    moves within one step) and clipped to the searched range; then
    ``start_check`` widens it by the other start's estimate.  Verdicts:
    flat profile (``flat_tol``), estimate at the edge of the searched range
    (time/rate/scale grid, ``lam`` range of the width), interval over more
    than ``SPREAD_FRACTION`` of the range, ``n_hidden`` chosen in fewer than
    ``MAJORITY`` of the bootstrap samples, or a different width under the
    other start.

    Measured coverage (95% intervals; truth: N_h = 3 networks trained by
    gradient descent, every subject from its own random lambda-balanced
    start, 8 subjects, 100 noisy voxels, crossnobis, 3 stages at t = 3, 6,
    9, lam in {-1, 0, 1}; widths [2, 3, 4]).  Fitted with
    ``init="aligned"`` (15 trials): lam covered in 53% without the start
    check, 73% with ``"widen"``; rate 40% -> 60%; the aligned model is
    biased for such data (rate ~0.9 for a true 3) and ``"widen"`` /
    ``"flag"`` mark it "depends on the assumed start" in most trials.
    Fitted with ``init="random"`` (9 trials): lam 89%, rate 78% with or
    without the check; intervals called determined covered 1 of 2 (lam)
    and 4 of 5 (rate).  Small samples: ``benchmarks/calibration.py`` runs
    the full study.

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> task = rl.hierarchical_task(depth=2)
    >>> truth = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned")
    >>> data = truth.predict_rdm([0.4])
    >>> # the truth started task-aligned, so assume that start (the default is init="random")
    >>> res = rl.fit_rdms(data, task, n_hidden=[1, 2, 4], method="corr", init="aligned", seed=0, n_boot=0)
    >>> res.best["n_hidden"], round(res.best["score"], 3)
    (2, 1.0)
    >>> list(res.intervals.columns)
    ['parameter', 'estimate', 'low', 'high', 'level', 'determined', 'reason']
    >>> res.identifiable["lam"][0]  # one noiseless snapshot: lam trades against time
    False
    """
    from threadpoolctl import threadpool_limits

    # the matrices here are small: multi-threaded BLAS only adds overhead (x20 measured on 2 cores);
    # parallelism comes from joblib (`n_jobs`) instead
    with threadpool_limits(1):
        return _fit_rdms(data_rdms, task, n_hidden, lam, method, scale, fit_scale, representation, measure, init,
                         tau, subject_descriptor, stage_descriptor, time_map, time_offset, time_bounds, n_times,
                         n_lam, n_scale, scale_bounds, refine, n_boot, ci, flat_tol, start_check, subject_boot,
                         sigma_k, seed, n_jobs, backend, progress)


def _fit_rdms(data_rdms, task, n_hidden, lam, method, scale, fit_scale, representation, measure, init, tau,
              subject_descriptor, stage_descriptor, time_map, time_offset, time_bounds, n_times, n_lam, n_scale,
              scale_bounds, refine, n_boot, ci, flat_tol, start_check, subject_boot, sigma_k, seed, n_jobs, backend,
              progress):
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
    if start_check is not None:
        check_choice(start_check, "start_check", _START_CHECKS)
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

    space = _Space(design, cand_h, cand_lam, cand_ls, lam_vals, lam is None or np.size(lam) > 1, log10_scales,
                   fit_scale)
    multi = subjects is not None and len(subjects) > 1

    # --- the other assumed start (unknown starting weights) ---
    alt_fit = None
    other_init = None
    if start_check is not None:
        other_init = _other_init(init)
        alt_fit = _alt_start_fit(data_rdms, task, widths, lam, n_lam, log10_scales, model_kw, other_init,
                                 subject_descriptor=subj_key, stage_descriptor=stage_key, time_map=time_map,
                                 time_offset=time_offset, t_bounds=(t_lo, t_hi), n_times=n_times, tau=tau,
                                 method=method, sigma_k=sigma_k, n_jobs=n_jobs, backend=backend, progress=progress,
                                 fit_scale=fit_scale)

    # --- per-subject fits ---
    subjects_df = None
    sub_rows = []
    if multi:
        rows = []
        for j, name in enumerate(subjects):
            w = (subj_of == j).astype(float)
            sc, gi, _ = aggregate(R, w, stage_of, K, free)
            c = int(np.argmax(sc))
            row = describe(c, gi[c], sc[c])
            row.update(method=method, time_map=best["time_map"], refined=False)
            if refine:
                row = fitter.refine(row, c, gi[c], cand_h, cand_lam, cand_ls, w)
            sub_rows.append((row, w))
            row = {"subject": name, **{k: v for k, v in row.items() if k not in ("method", "time_map", "times")}}
            rows.append(row)
        subjects_df = pd.DataFrame(rows)

    def boot_row(sc, gi, prof):
        pt, c = space.point(sc, gi, prof)
        row = describe(c, gi[c], sc[c])
        row.update({k: v for k, v in pt.items() if k != "n_hidden"})
        if "rate" in pt:
            row["times"] = {st: row.get("offset", 0.0) + pt["rate"] * x for st, x in zip(stages, xs)}
            for st, t in row["times"].items():
                row[f"time[{st}]"] = t
        row.pop("times", None)
        return row

    # --- bootstrap over independent units ---
    boot_df, nh_dist, boot_over = None, None, None
    no_boot_reason = "uncertainty not measured (n_boot = 0)"
    if n_boot > 0:
        boot_rows = []
        if multi:
            boot_over = "subjects"
            draws = rng.integers(0, len(subjects), size=(n_boot, len(subjects)))
            for b in range(n_boot):
                counts = np.bincount(draws[b], minlength=len(subjects)).astype(float)
                sc, gi, prof = aggregate(R, counts[subj_of], stage_of, K, free)
                boot_rows.append(boot_row(sc, gi, prof))
        else:
            boot_over = "conditions"
            if method not in _FAST:
                no_boot_reason = f"no bootstrap for method {method!r} with a single unit (conditions: corr/cosine only)"
                messages.append(f"condition bootstrap skipped: it is implemented for 'corr' and 'cosine' only, not {method!r}")
            else:
                Rb = _condition_boot_tensor(design, cands, method, sigma_k, data_rdms.n_cond, n_boot, rng, n_jobs,
                                            backend, progress)
                for b in range(n_boot):
                    sc, gi, prof = aggregate(Rb[b], w_all, stage_of, K, free)
                    boot_rows.append(boot_row(sc, gi, prof))
                del Rb
        if boot_rows:
            boot_df = pd.DataFrame(boot_rows)
            boot_df.insert(0, "sample", np.arange(len(boot_df)))
            nh_dist = boot_df["n_hidden"].value_counts(normalize=True).sort_index()
            nh_dist.name = "fraction"

    # --- intervals and verdicts: group ---
    def estimates(row):
        e = {"n_hidden": float(row["n_hidden"]), "lam": float(row["lam"]), "scale": float(row["scale"])}
        if snapshot:
            e["time"] = float(row["time"])
        elif free:
            for st in stages:
                e[f"time[{st}]"] = float(row[f"time[{st}]"])
        else:
            e["rate"] = float(row["rate"])
            e["offset"] = float(row.get("offset", 0.0))
        return e

    def alt_point(w):
        if alt_fit is None:
            return None
        sp, R_alt = alt_fit
        sc, gi, prof = aggregate(R_alt, w, sp.d.stage_of, sp.d.K, sp.d.free)
        if not np.isfinite(sc).any():
            return None
        return sp.point(sc, gi, prof)[0]

    def table_for(row, w, boot, no_boot_why):
        h = int(row["n_hidden"])
        sc_w = aggregate(R, w, stage_of, K, free)[0]
        wbest = {hh: float(np.max(sc_w[cand_h == hh])) for hh in widths}
        top = max(wbest.values())
        equiv = [hh for hh in widths if wbest[hh] >= top - flat_tol]
        return _intervals_table(space, estimates(row), boot, alt_point(w), space.profiles(R, w, h), h, ci,
                                flat_tol, widths, start_check, other_init, no_boot_why, equiv)

    intervals = pd.DataFrame(table_for(best, w_all, boot_df, no_boot_reason), columns=_IV_COLS)

    # --- per subject: bootstrap within the subject ---
    subject_iv = None
    if multi:
        Rb_sub = None
        per = []
        for j, (name, (row, w)) in enumerate(zip(subjects, sub_rows)):
            mine = np.flatnonzero(subj_of == j)
            per_stage = np.bincount(stage_of[mine], minlength=K)
            boot_j, why = None, no_boot_reason
            if not subject_boot:
                why = "uncertainty not measured (subject_boot=False)"
            elif n_boot > 0 and per_stage[per_stage > 0].min() >= 2:
                rows_b = []
                for b in range(n_boot):
                    wb = np.zeros(n_rdm)
                    for k in np.flatnonzero(per_stage):
                        idx = mine[stage_of[mine] == k]
                        np.add.at(wb, rng.choice(idx, size=idx.size, replace=True), 1.0)
                    sc, gi, prof = aggregate(R, wb, stage_of, K, free)
                    rows_b.append(boot_row(sc, gi, prof))
                boot_j = pd.DataFrame(rows_b)
            elif n_boot > 0 and method in _FAST:  # the costly case: a score tensor per bootstrap sample
                if Rb_sub is None:
                    Rb_sub = _condition_boot_tensor(design, cands, method, sigma_k, data_rdms.n_cond, n_boot, rng,
                                                    n_jobs, backend, progress)
                rows_b = []
                for b in range(n_boot):
                    sc, gi, prof = aggregate(Rb_sub[b], w, stage_of, K, free)
                    rows_b.append(boot_row(sc, gi, prof))
                boot_j = pd.DataFrame(rows_b)
            elif n_boot > 0:
                why = (f"no within-subject interval for method {method!r}: one RDM per stage, and the condition "
                       "bootstrap is implemented for 'corr' and 'cosine' only")
            for r in table_for(row, w, boot_j, why):
                per.append({"subject": name, **r})
        del Rb_sub
        subject_iv = pd.DataFrame(per, columns=["subject"] + _IV_COLS)

    identifiable = {r.parameter: (bool(r.determined), str(r.reason)) for r in intervals.itertuples()}
    if not space.lam_free:
        identifiable["lam"] = (True, "fixed by the user")
    lam_ci = None
    if space.lam_free and boot_df is not None:
        r = intervals.set_index("parameter").loc["lam"]
        lam_ci = (float(r["low"]), float(r["high"]))
    for p, (ok, why) in identifiable.items():
        if not ok:
            messages.append(f"{p} is not identifiable from these data: {why}")
    settings = dict(widths=widths, n_times=n_times, n_lam=n_lam, n_scale=n_scale, time_bounds=(t_lo, t_hi),
                    n_boot=n_boot, ci=ci, flat_tol=flat_tol, fit_scale=fit_scale, representation=representation,
                    measure=measure, init=init, tau=tau, n_rdm=n_rdm, subject_descriptor=subj_key,
                    stage_descriptor=stage_key, stages=stages, stage_positions=xs.tolist(), bootstrap_over=boot_over,
                    time_offset=time_offset, start_check=start_check, other_init=other_init)
    start = None
    if alt_fit is not None:
        start = {"init": other_init, "estimate": alt_point(w_all)}
    return FitResult(best=best, table=table, widths=widths_df, subjects=subjects_df, bootstrap=boot_df,
                     lam_ci=lam_ci, n_hidden_distribution=nh_dist, identifiable=identifiable, messages=messages,
                     intervals=intervals, subject_intervals=subject_iv, start=start,
                     seed=seed if not isinstance(seed, np.random.Generator) else None, settings=settings,
                     scores_=R)


_IV_COLS = ["parameter", "estimate", "low", "high", "level", "determined", "reason"]


def _condition_boot_tensor(design, cands, method, sigma_k, n_cond, n_boot, rng, n_jobs, backend, progress):
    """Score tensor under ``n_boot`` bootstrap samples of conditions (pair weights): (B, n_rdm, C, G)."""
    ia, ib_ = np.triu_indices(n_cond, k=1)
    draws = rng.integers(0, n_cond, size=(n_boot, n_cond))
    counts = np.stack([np.bincount(d, minlength=n_cond) for d in draws]).astype(float)
    return score_tensor(design, cands, method, sigma_k, pair_weights=counts[:, ia] * counts[:, ib_],
                        n_jobs=n_jobs, backend=backend, progress=progress, what="fit_rdms bootstrap")


def _other_init(init):
    from .model import _INITS

    if init != "aligned":
        return "aligned"
    return "random" if "random" in _INITS else "average"


def _alt_start_fit(data_rdms, task, widths, lam, n_lam, log10_scales, model_kw, other_init, *, subject_descriptor,
                   stage_descriptor, time_map, time_offset, t_bounds, n_times, tau, method, sigma_k, n_jobs, backend,
                   progress, fit_scale):
    """Score tensor of the same fit under the other assumed start (coarser grid: a check, not a fit)."""
    kw = dict(model_kw, init=other_init)
    if other_init != "aligned":
        kw["n_draws"] = _CHECK_DRAWS  # an expectation over starts: fewer draws for a check (x4 faster than 32)
    design = make_design(data_rdms, task, subject_descriptor=subject_descriptor, stage_descriptor=stage_descriptor,
                         time_map=time_map, time_offset=time_offset, time_bounds=t_bounds,
                         n_times=max(n_times // 2 + 1, 3), min_scale=10.0 ** log10_scales.min(), tau=tau)
    cands = make_candidates(task, data_rdms, widths, lam, max((n_lam + 1) // 2, 2), log10_scales, kw)
    R = score_tensor(design, cands, method, sigma_k, n_jobs=n_jobs, backend=backend, progress=progress,
                     what=f"fit_rdms start check (init={other_init!r})")[0]
    lam_vals = {model.n_hidden: lv for model, lv, _ in cands.groups}
    sp = _Space(design, cands.n_hidden, cands.lam, cands.log10_scale, lam_vals, lam is None or np.size(lam) > 1,
                np.asarray(log10_scales, float), fit_scale)
    return sp, R


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
            box.append((lv[max(i - 1, 0)], lv[min(i + 1, lv.size - 1)]))  # grid points: inside the range
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
                box.append((max(self.lt[int(g)] - step, self.lt[0]), min(self.lt[int(g)] + step, self.lt[-1])))
                names.append(f"lt{k}")
        else:
            g = int(g_path[0])
            rates = np.unique(self.tparams[:, 0])
            step = np.diff(rates)[0]
            x0.append(self.tparams[g, 0])
            box.append((max(self.tparams[g, 0] - step, rates[0]), min(self.tparams[g, 0] + step, rates[-1])))
            names.append("lrate")
            if self.offset:
                offs = np.unique(self.tparams[:, 1])
                j = int(np.searchsorted(offs, self.tparams[g, 1]))
                x0.append(self.tparams[g, 1])
                box.append((offs[max(j - 1, 0)], offs[min(j + 1, offs.size - 1)]))
                names.append("offset")
        x0 = np.array(x0, dtype=float)

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


# ----------------------------------------------------------------------------
# intervals and verdicts
# ----------------------------------------------------------------------------
class _Space:
    """The searched parameter space: axes (in the coordinates the grid is regular in), edges, profiles."""

    def __init__(self, design, cand_h, cand_lam, cand_ls, lam_vals, lam_free, log10_scales, fit_scale):
        self.d = design
        self.cand_h, self.cand_lam, self.cand_ls = cand_h, cand_lam, cand_ls
        self.lam_vals, self.lam_free = lam_vals, lam_free
        self.log10_scales, self.fit_scale = log10_scales, fit_scale and log10_scales.size > 1
        d = design
        names = ["n_hidden"]
        if lam_free:
            names.append("lam")
        if d.snapshot:
            names.append("time")
        elif d.free:
            names += [f"time[{st}]" for st in d.stages]
        else:
            names.append("rate")
            if d.time_offset:
                names.append("offset")
        if self.fit_scale:
            names.append("scale")
        self.names = names

    # coordinates: lam and offset linear, times / rate / scale log10
    @staticmethod
    def to_axis(p, v):
        return v if p in ("lam", "offset", "n_hidden") else np.log10(np.maximum(v, 1e-300))

    @staticmethod
    def from_axis(p, x):
        return x if p in ("lam", "offset", "n_hidden") else 10.0 ** x

    def grid(self, p, h):
        d = self.d
        if p == "lam":
            return np.asarray(self.lam_vals[h], float)
        if p == "scale":
            return self.log10_scales
        if p == "rate":
            return np.unique(d.tparams[:, 0])
        if p == "offset":
            return np.unique(d.tparams[:, 1])
        return d.lt  # time, time[stage]

    def point(self, sc, gi, prof):
        """Grid optimum of aggregated scores, continuous parameters interpolated (vertex of a parabola)."""
        d = self.d
        c = int(np.argmax(sc))
        out = {"n_hidden": float(self.cand_h[c])}
        same_h = self.cand_h == self.cand_h[c]
        if self.lam_free:
            out["lam"] = _interp_along(sc, c, self.cand_lam, same_h & (self.cand_ls == self.cand_ls[c]))
        if self.fit_scale:
            out["scale"] = 10.0 ** _interp_along(sc, c, self.cand_ls, same_h & (self.cand_lam == self.cand_lam[c]))
        g = int(gi[c, 0])
        if d.snapshot:
            out["time"] = 10.0 ** _interp_along(prof[c], g, d.tparams[:, 0], np.ones(d.tparams.shape[0], bool))
        elif d.free:
            for k, st in enumerate(d.stages):
                out[f"time[{st}]"] = float(d.times[int(gi[c, k]), k])
        else:
            sel = np.ones(d.tparams.shape[0], bool)
            if d.time_offset:
                sel = d.tparams[:, 1] == d.tparams[g, 1]
                out["offset"] = float(d.tparams[g, 1])
            out["rate"] = 10.0 ** _interp_along(prof[c], g, d.tparams[:, 0], sel)
        return out, c

    def profiles(self, R, w, h):
        """Profile (max score over the other parameters, within width ``h``) along each parameter's grid."""
        d = self.d
        in_h = self.cand_h == h
        out = {}
        if d.free:
            stage_prof = []
            for k in range(d.K):
                sel = d.stage_of == k
                stage_prof.append(_nanwmean_local(R[sel][:, in_h], w[sel]).max(axis=0))  # (G,)
            for k, st in enumerate(d.stages):
                out[f"time[{st}]"] = stage_prof[k]
            sc_c = aggregate(R[:, in_h], w, d.stage_of, d.K, True)[0]
            P = None
        else:
            P = _nanwmean_local(R[:, in_h], w)  # (C_h, G)
            sc_c = P.max(axis=1)
            if d.snapshot:
                out["time"] = P.max(axis=0)
            else:
                pr = P.max(axis=0)
                rates = np.unique(d.tparams[:, 0])
                out["rate"] = np.array([pr[d.tparams[:, 0] == r].max() for r in rates])
                if d.time_offset:
                    offs = np.unique(d.tparams[:, 1])
                    out["offset"] = np.array([pr[d.tparams[:, 1] == o].max() for o in offs])
        lam_h, ls_h = self.cand_lam[in_h], self.cand_ls[in_h]
        if self.lam_free:
            out["lam"] = np.array([sc_c[lam_h == v].max() for v in np.unique(lam_h)])
        if self.fit_scale:
            out["scale"] = np.array([sc_c[ls_h == v].max() for v in np.unique(ls_h)])
        return out


def _nanwmean_local(R, w):
    from .design import _nanwmean

    return _nanwmean(R, w)


def _interp_along(score, i, axis, sel):
    """Vertex of the parabola through ``score`` at ``i`` and its two neighbours along ``axis`` (among ``sel``)."""
    idx = np.flatnonzero(sel)
    order = idx[np.argsort(axis[idx], kind="stable")]
    pos = np.flatnonzero(order == i)
    if pos.size == 0:
        return float(axis[i])
    j = int(pos[0])
    if j == 0 or j == order.size - 1:
        return float(axis[i])
    x = axis[order[j - 1: j + 2]].astype(float)
    y = np.asarray(score)[order[j - 1: j + 2]].astype(float)
    if not np.all(np.isfinite(y)) or x[1] == x[0] or x[2] == x[1]:
        return float(axis[i])
    d1 = (y[1] - y[0]) / (x[1] - x[0])
    d2 = (y[2] - y[1]) / (x[2] - x[1])
    curv = (d2 - d1) / (x[2] - x[0])
    if curv >= 0:
        return float(axis[i])
    xv = 0.5 * (x[0] + x[1]) - d1 / (2 * curv)
    return float(np.clip(xv, x[0], x[2]))


def _half_step(grid, x, side):
    """Half the spacing of the grid cell next to ``x`` on ``side`` (-1 below, +1 above); 0 for a 1-point grid."""
    if grid.size < 2:
        return 0.0
    if side < 0:
        i = int(np.clip(np.searchsorted(grid, x, side="left"), 1, grid.size - 1))
    else:
        i = int(np.clip(np.searchsorted(grid, x, side="right"), 1, grid.size - 1))
    return 0.5 * float(grid[i] - grid[i - 1])


def _fmt(v):
    return f"{v:.3g}"


def _intervals_table(space, est, boot, alt, profs, h_best, ci, flat_tol, nh_widths, start_mode, other_init,
                     no_boot_reason, widths_equiv):
    """Rows ``parameter, estimate, low, high, level, determined, reason`` for one fit (group or subject).

    est : dict param -> point estimate (the reported, refined value).
    boot : DataFrame of bootstrap estimates (same estimator, interpolated grid optimum) or None.
    alt : dict param -> estimate under the other assumed start, or None.
    profs : dict param -> profile along the parameter's grid (within width ``h_best``).
    """
    from scipy.stats import norm

    q = (1 - ci) / 2
    z = float(norm.ppf(1 - q))
    score_sd = float(np.nanstd(boot["score"].to_numpy(float), ddof=1)) if boot is not None and len(boot) > 1 \
        else np.nan
    rows = []
    for p in space.names:
        e = float(est[p])
        reasons = []
        if p == "n_hidden":
            grid = np.asarray(nh_widths, float)
            if grid.size == 1:
                rows.append(dict(parameter=p, estimate=e, low=e, high=e, level=ci, determined=True,
                                 reason="fixed by the user"))
                continue
            if len(widths_equiv) > 1:
                reasons.append(f"flat profile: widths {widths_equiv} fit within {flat_tol:g} of the best")
            if boot is None:
                lo, hi = np.nan, np.nan
                reasons.append(no_boot_reason)
            else:
                b = boot[p].to_numpy(float)
                lo = min(float(np.quantile(b, q, method="inverted_cdf")), e)
                hi = max(float(np.quantile(b, 1 - q, method="inverted_cdf")), e)
                frac = float(np.mean(b == e))
                if frac < MAJORITY:
                    reasons.append(f"bootstrap majority {frac:.0%} < {MAJORITY:.0%} for n_hidden = {int(e)}")
                if grid.size > 2 and lo <= grid.min() and hi >= grid.max():
                    reasons.append("bootstrap spread over all searched widths")
            if alt is not None and alt.get(p) is not None and alt[p] != e:
                if start_mode == "widen":
                    lo, hi = (min(lo, alt[p]), max(hi, alt[p])) if np.isfinite(lo) else (lo, hi)
                reasons.append(f"depends on the assumed start: init={other_init!r} gives n_hidden = {int(alt[p])}")
            rows.append(dict(parameter=p, estimate=e, low=lo, high=hi, level=ci, determined=not reasons,
                             reason="; ".join(reasons) if reasons else _ok_reason(p, boot, e)))
            continue
        grid = space.grid(p, int(h_best))
        xe = space.to_axis(p, e)
        gmin, gmax = float(grid.min()), float(grid.max())
        span_range = gmax - gmin
        prof = profs.get(p)
        if prof is not None and np.isfinite(prof).any():
            pspan = float(np.nanmax(prof) - np.nanmin(prof[np.isfinite(prof)]))
            if pspan < flat_tol:
                reasons.append(f"flat profile: the score varies by {pspan:.2g} < {flat_tol:g} over the searched "
                               f"{p} range [{_fmt(space.from_axis(p, gmin))}, {_fmt(space.from_axis(p, gmax))}]")
        elif prof is not None:
            reasons.append("flat profile: the score is undefined over the searched range")
        if grid.size > 1:
            nearest = grid[int(np.argmin(np.abs(grid - xe)))]
            if nearest in (grid[0], grid[-1]):
                edge = "lower" if nearest == grid[0] else "upper"
                reasons.append(f"at the {edge} edge of the searched {p} range "
                               f"[{_fmt(space.from_axis(p, gmin))}, {_fmt(space.from_axis(p, gmax))}]")
        if boot is None:
            lo = hi = np.nan
            reasons.append(no_boot_reason)
        else:
            b = space.to_axis(p, boot[p].to_numpy(float))
            b = b[np.isfinite(b)]
            lo = min(float(np.quantile(b, q)), xe) if b.size else xe
            hi = max(float(np.quantile(b, 1 - q)), xe) if b.size else xe
            lo = max(lo - _half_step(grid, lo, -1), gmin)
            hi = min(hi + _half_step(grid, hi, +1), gmax)
        if np.isfinite(lo) and prof is not None and np.isfinite(prof).any() and grid.size == prof.size:
            # Profile set: every grid value whose profile score is within the sampling uncertainty of the best
            # score (z * its bootstrap standard deviation, at least flat_tol).  The bootstrap of the argmax alone
            # misses a flat or skewed profile (lam: 57-60% coverage at lam = -1 in benchmarks/calibration.py).
            tol = max(flat_tol, z * score_sd) if np.isfinite(score_sd) else flat_tol
            near = grid[np.isfinite(prof) & (prof >= np.nanmax(prof) - tol)]
            if near.size:
                lo_p = max(float(near.min()) - _half_step(grid, float(near.min()), -1), gmin)
                hi_p = min(float(near.max()) + _half_step(grid, float(near.max()), +1), gmax)
                lo, hi = min(lo, lo_p), max(hi, hi_p)
        if alt is not None and alt.get(p) is not None and np.isfinite(alt[p]):
            xa = space.to_axis(p, alt[p])
            outside = not (np.isfinite(lo) and lo <= xa <= hi)
            if outside:
                reasons.append(f"depends on the assumed start: init={other_init!r} gives {p} = {_fmt(alt[p])}")
            if start_mode == "widen" and np.isfinite(lo):
                lo, hi = min(lo, xa), max(hi, xa)
        if np.isfinite(lo) and span_range > 0 and (hi - lo) > SPREAD_FRACTION * span_range:
            reasons.append(f"bootstrap interval spans {100 * (hi - lo) / span_range:.0f}% of the searched range")
        lo_v = space.from_axis(p, lo) if np.isfinite(lo) else np.nan
        hi_v = space.from_axis(p, hi) if np.isfinite(hi) else np.nan
        if np.isfinite(lo_v):  # containment is exact, not up to rounding of the log/exp round trip
            lo_v, hi_v = min(lo_v, e), max(hi_v, e)
        rows.append(dict(parameter=p, estimate=e, low=lo_v, high=hi_v, level=ci, determined=not reasons,
                         reason="; ".join(reasons) if reasons else _ok_reason(p, boot, e)))
    return rows


def _ok_reason(p, boot, e):
    if p == "n_hidden" and boot is not None:
        return f"chosen in {float(np.mean(boot[p].to_numpy(float) == e)):.0%} of bootstrap samples"
    return "bootstrap interval within the searched range, away from its edges"


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
