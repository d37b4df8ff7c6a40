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

from dataclasses import dataclass

import numpy as np

from .._validation import (
    InputTypeError,
    InputValueError,
    check_choice,
    check_comparison_method,
    check_bool,
    check_bounds,
    check_grid_size,
    check_lam,
    check_number_or_grid,
    check_positive_int,
    check_real,
    MAX_GRID,
    UNSET,
    check_scale,
    check_sigma_k,
    check_times,
    SCALE_RANGE,
)
from ..representations.descriptors import with_condition_labels
from .design import (
    STAGE_KEYS,
    SUBJECT_KEYS,
    _as_rdms,
    _rank_one_scores,
    _theta,
    _widths,
    aggregate,
    check_labelled,
    make_candidates,
    make_design,
)
from .settings import DataReading, Execution, Resampling, TimeGrid
from .scorer import (STAGE_SCALES, DataStats, StackedStats, candidate_boot_scores, check_score_memory,
                     condition_boot_tensor, missing_note, resolve_stage_scale, score_rows, stacked_stats)
from .intervals import FLAT_TOL, _IV_COLS, _intervals_table, _Space, format_interval
from .width_test import MIN_UNITS, format_width_test, width_tests
from .crossval import by_label
from .intervals import MAJORITY, SPREAD_FRACTION  # noqa: F401  (rl.fitting.*: fit_rdms's docstring names them)
from ..representations.similarity import _FAST, _PreparedData, score_matrix
from ..dynamics.task import Task

__all__ = ["fit_rdms", "FitResult", "FLAT_TOL", "format_interval", "STAGE_KEYS", "SUBJECT_KEYS", "score_matrix"]

_START_CHECKS = ("widen", "flag")
_CHECK_DRAWS = 8
#: Default Monte-Carlo draws of the expected geometry in a fit (the models' own default is 32).  With 32, one draw
#: set pulled lam estimates towards 0 (the prediction at lam = 0 carries no start noise, the others do): on the same
#: 20 simulated studies per lam (benchmarks/lam_interval_rules.py, 8 subjects) the sign of lam was right in
#: 0.70 / 0.50 / 0.75 of studies at lam = -2 / -1 / 2 with 32 draws and 0.85 / 0.85 / 0.95 with 128, at about 2-3x
#: the cost of a fit.
FIT_N_DRAWS = 128  # also the literal default of fit_rdms(n_draws=...): the CLI reads signatures from the source


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
        assumed start, uncertainty not measured).  With several widths,
        ``n_hidden`` is determined only when its interval is the estimate
        alone: every other width predicts held-out subjects significantly
        worse (``width_tests``) and the bootstrap agrees.
    width_tests : pandas.DataFrame or None
        With several widths and at least 3 subjects: the chosen width
        (``n_hidden_a``) against every other one (``n_hidden_b``),
        crossvalidated over subjects (leave-one-subject-out fits of each
        width on the same score tensor, the held-out subject scored; the
        jackknife t-test of :func:`rsa_lineardyn.evaluate_hypotheses`):
        ``score_a, score_b, mean_diff, sem, ci_low, ci_high, p,
        p_corrected`` (Holm over the other widths), ``correction``,
        ``significant``.  An in-sample choice can overfit (with 3
        conditions and widths [1, 2] the former bootstrap-majority rule
        called the wrong width determined in 8 of 16 simulated studies,
        this test in 0 of 128 over 8 designs;
        ``benchmarks/results/calibration_width_verdict.md``).  ``None`` otherwise.
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
        if getattr(self, "width_tests", None) is not None:
            lines.extend("  " + format_width_test(r) for r in self.width_tests.itertuples())
        if self.subject_intervals is not None:
            n_sub = self.subject_intervals["subject"].nunique()
            for p, grp in self.subject_intervals.groupby("parameter", sort=False):
                n_und = int((~grp["determined"].astype(bool)).sum())
                lines.append(f"  per subject, {p}: determined for {n_sub - n_und} of {n_sub} subjects")
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()

# ----------------------------------------------------------------------------
# main entry point
# ----------------------------------------------------------------------------
def fit_rdms(data_rdms, task, n_hidden=None, lam=None, *, method="corr", scale=0.1, fit_scale=False,
             representation="hidden", measure="euclidean", init="random", tau=1.0,
             subject_descriptor="auto", stage_descriptor="auto", condition_descriptor="auto", stage_order=None,
             stage_scale="auto", time_map="linear", time_offset=False,
             time_bounds=None, n_times=61, n_lam=12, n_scale=5, scale_bounds=None, refine=True,
             n_boot=100, ci=0.95, flat_tol=FLAT_TOL, start_check="widen", subject_boot=True, sigma_k=None,
             random_state=0, n_draws=128, n_jobs=1, backend=None, progress=None, seed=UNSET):
    """Fit ``n_hidden``, ``lam``, training time(s) and optionally the init scale to data RDMs.

    Parameters
    ----------
    data_rdms : rsatoolbox.rdm.RDMs
        Measured RDMs whose conditions carry item labels (a pattern
        descriptor such as ``item``) matching ``task.labels``; any order and
        any subset of the task's items.
    task : Task
        The task the subjects learned (whitened inputs).
    n_hidden : int, "wide" or sequence of them, optional
        Widths to search (``"wide"`` is ``max(n_in, n_out)``, as in
        :func:`compare_widths`).  Default: 1 up to the rank of ``Syx``, plus a
        wide network.
    lam : None, float or sequence of float
        ``None`` (default): a grid of about ``2 * n_lam`` values, dense near 0,
        over the feasible range (``|lam| <= 4 s_max``; ``lam > 0`` needs
        ``n_hidden <= n_out``, ``lam < 0`` needs ``n_hidden <= n_in``), then
        refined continuously.  A number fixes it; a sequence is the grid.
    method : str, default "corr"
        Any rsatoolbox comparison method (``"cosine"``, ``"corr"``,
        ``"spearman"``, ``"tau-a"``, ``"corr_cov"``, ``"cosine_cov"``, ...).
    scale : float, default 0.1
        Init scale (each aligned mode starts at ``scale**2``), strictly
        inside ``(1e-100, 1e100)`` (beyond, ``scale**2`` overflows or
        underflows).  With ``fit_scale=True`` it is free on a log grid of
        ``n_scale`` values in ``scale_bounds`` (default ``scale * [1e-2, 10]``,
        kept inside that range).
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
        snapshot).  Numeric values are positions on the stage axis; text
        labels need ``stage_order`` (never sorted alphabetically) and are
        placed at 1, 2, ...
    condition_descriptor : "auto" or str
        Pattern descriptor with the condition (item) labels (``"auto"``:
        ``item``, ``conds``, ``label``, ...; an error when several differ).
        Conditions are matched to the task's items by label.
    stage_order : list or comma-separated str, optional
        The stages in learning order (required for text labels; checked
        against numeric ones).
    stage_scale : {"auto", "shared", "separate"}, default "auto"
        How several stages are scored (:mod:`rsa_lineardyn.inference.scorer`, the same
        scorer as the hypothesis tests): ``"shared"`` stacks each subject's
        stage RDMs into one trajectory (scale-free overall), so how much the
        geometry grows between stages informs ``lam`` and the time course;
        ``"separate"`` scores every RDM on its own.  ``"auto"``: ``"shared"``
        for ``corr``/``cosine`` with the linear time map.
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
        not determined, "uncertainty not measured"; 1 is refused; with
        fewer than 20 no parameter is called determined).  The group bootstrap
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
        ignore the start).  With several subjects, a start that fits worse
        than the assumed one in at least ``(1 + ci) / 2`` of the bootstrap
        samples over subjects is rejected by the data and ignored (``start``
        and ``messages`` record it).
    sigma_k : ndarray, optional
        For the ``*_cov`` methods.
    random_state : None, int or Generator, default 0
        The one seed: the bootstrap draws and the Monte-Carlo draws of the
        expected geometry over random starts (``n_draws``); both are
        recorded in ``settings``.  The result is deterministic given it.
    n_draws : int, default ``FIT_N_DRAWS`` (128)
        Monte-Carlo draws of the expected geometry over random starts (in
        antithetic pairs; ``None`` is the same).  More than the models' 32:
        with 32 the draw set pulled ``lam`` estimates towards 0 (sign right in
        0.50-0.75 of 20 simulated studies at lam = -2, -1, 2 vs 0.85-0.95 with
        128 on the same studies, ``benchmarks/results/lam_interval_rules_8*``;
        0.80 / 0.70 and 0.95 / 0.90 at lam = -2 and 2 on two further sets of
        20 studies, ``benchmarks/results/calibration_inference_lam128*.md``).
    n_jobs : int, default 1
        joblib parallelism over hidden widths.  For many regions (ROIs,
        searchlights) use :func:`rsa_lineardyn.fit_rois`, which shares the
        predictions and runs the regions in parallel.
    backend : str, optional
        joblib backend (default: joblib's current one), or ``"dask"``: the
        widths are submitted to the running ``dask.distributed.Client``.
    progress : bool, optional
        tqdm progress bars; default on only when stderr is a terminal.
    seed
        Deprecated name of ``random_state``.

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
    other start; and for ``n_hidden`` also a held-out width test that does
    not show every other width significantly worse (``width_tests``).

    Measured coverage (95% intervals; truth: N_h = 3 networks trained by
    gradient descent, every subject from its own random lambda-balanced
    start, 8 subjects, 100 noisy voxels, crossnobis, 3 stages at t = 3, 6,
    12, lam in {-2, 0, 2}, 20 studies each, the defaults):
    ``benchmarks/results/calibration_inference_lam128.md`` (lam covered in
    all, median width 19.3 / 0.85 / 9.84 of a range of 19.3: the magnitude
    of ``lam`` trades against the time map, ``lam_identifiability.md``).
    An older study with ``init="aligned"`` fitted to such data covered lam in
    53% without the start check and 73% with ``"widen"``
    (``benchmarks/calibration.py``).

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> task = rl.hierarchical_task(depth=2)
    >>> truth = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned")
    >>> data = truth.predict_rdm([0.4])
    >>> # the truth started task-aligned, so assume that start (the default is init="random")
    >>> res = rl.fit_rdms(data, task, n_hidden=[1, 2, 4], method="corr", init="aligned", random_state=0, n_boot=0)
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
        data_rdms, settings = _settings(
            data_rdms, task, n_hidden=n_hidden, lam=lam, method=method, scale=scale, fit_scale=fit_scale,
            representation=representation, measure=measure, init=init, tau=tau,
            subject_descriptor=subject_descriptor, stage_descriptor=stage_descriptor,
            condition_descriptor=condition_descriptor, stage_order=stage_order, stage_scale=stage_scale,
            time_map=time_map, time_offset=time_offset, time_bounds=time_bounds, n_times=n_times, n_lam=n_lam,
            n_scale=n_scale, scale_bounds=scale_bounds, refine=refine, n_boot=n_boot, ci=ci, flat_tol=flat_tol,
            start_check=start_check, subject_boot=subject_boot, sigma_k=sigma_k, random_state=random_state,
            seed=seed, n_draws=n_draws, n_jobs=n_jobs, backend=backend, progress=progress)
        return _fit_rdms(data_rdms, task, settings)


# ----------------------------------------------------------------------------
# the fit, step by step
# ----------------------------------------------------------------------------
def _fit_rdms(data_rdms, task, s, shared=None, subjects=True):
    """:func:`_fit_whole` without numpy's warnings about an RDM with no valid dissimilarity (every value NaN): its
    score is undefined, which ``messages`` reports by subject; numpy's "Mean of empty slice" from deep inside the
    scorer would only repeat it."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "invalid value encountered in (divide|scalar divide)", RuntimeWarning,
                                r"numpy\.(_core|core)\._methods")
        return _fit_whole(data_rdms, task, s, shared, subjects)


def _fit_whole(data_rdms, task, s, shared=None, subjects=True):
    """Score every candidate once, then fit the group, each subject, the bootstrap samples and the intervals.

    ``shared``: the candidates of several fits of the same task and settings (:func:`_candidates`; the models of
    :func:`rsa_lineardyn.fit_rois`, which keep their predictions), ``(cands, start-check cands or None)``.
    ``subjects=False`` skips the per-subject fits and intervals (the group's results do not depend on them).
    """
    import pandas as pd

    messages = []
    search = _setup(data_rdms, task, s, messages, None if shared is None else shared[0])
    table, widths_df, best = _group_fit(search)
    other = _start_check(search, None if shared is None else shared[1])
    subjects_df, subject_fits = _subject_fits(search, best) if subjects else (None, [])
    if subjects_df is not None and subjects_df["score"].isna().any():
        lost = subjects_df.loc[subjects_df["score"].isna(), "subject"].tolist()
        messages.append(f"subject(s) {lost}: the {s.method!r} score is undefined for every candidate (constant or "
                        "empty RDMs?): no estimates of their own (NaN in `subjects`); the group fit uses the others")
    boot = _bootstrap(search, messages, int(best["n_hidden"]), other)
    width_test = _width_test(search, int(best["n_hidden"]))
    intervals = pd.DataFrame(_interval_rows(search, best, search.w_all, boot.samples, boot.why_not, other,
                                            boot.profiles, width_test),
                             columns=_IV_COLS)
    subject_iv = _subject_intervals(search, subject_fits, boot.why_not, other) if subjects else None
    return _assemble(search, messages, best=best, table=table, widths_df=widths_df, subjects_df=subjects_df,
                     boot=boot, intervals=intervals, subject_iv=subject_iv, other=other,
                     width_test=width_test[0] if width_test is not None else None)


def _width_test(search, best_h):
    """``(table or None, why none)`` of the crossvalidated width test of the group fit; ``None`` for one width."""
    s, d = search.s, search.rdm_design
    if len(s.widths) < 2:
        return None
    if d.subjects is None:
        have = ("the data are one RDM" if d.n_rdm == 1 else
                f"without a subject descriptor the {d.n_rdm} RDMs are fitted as one unit (name the subjects with "
                "subject_descriptor=)")
        return None, (f"no crossvalidated test of the width: it needs at least {MIN_UNITS} subjects, and {have}; an "
                      "in-sample choice of width can overfit")
    n_units = len(d.subjects)
    if n_units < MIN_UNITS:
        return None, (f"no crossvalidated test of the width: it needs at least {MIN_UNITS} subjects, the data have "
                      f"{n_units} (an in-sample choice of width can overfit)")
    unit_of = _unit_of(d)
    table = width_tests(search.R, search.design, unit_of, n_units, search.stats is not None, search.cands.n_hidden,
                        s.widths, best_h, s.resampling.ci)
    return table, ""


@dataclass
class _FitSettings:
    """The validated arguments of one :func:`fit_rdms` call, with the grids they imply."""

    widths: list  # the n_hidden searched
    lam: object  # as given: None (grid), a number (fixed) or a sequence (the grid)
    log10_scales: np.ndarray  # the init scale grid (one value unless fit_scale)
    method: str
    scale: float
    fit_scale: bool
    representation: str
    measure: str
    init: str
    tau: float
    reading: DataReading  # subject / stage / condition descriptors and the stage order
    grid: TimeGrid  # time map, time offset and bounds, n_times, n_lam
    resampling: Resampling  # n_boot, ci, the recorded random_state, draw_seed, rng (the bootstrap draws)
    run: Execution  # n_jobs, backend, progress
    stage_scale: str  # "auto", "shared" or "separate" as given; resolved against the design in _setup
    n_scale: int
    refine: bool
    flat_tol: float
    start_check: object
    subject_boot: bool
    sigma_k: object
    n_draws: int  # Monte-Carlo draws of the expected geometry (FIT_N_DRAWS unless given)

    @property
    def lam_free(self):
        return self.lam is None or np.size(self.lam) > 1

    @property
    def model_kw(self):
        kw = dict(representation=self.representation, measure=self.measure, scale=self.scale,
                  fit_scale=self.fit_scale, init=self.init, tau=self.tau, seed=self.resampling.draw_seed,
                  n_draws=self.n_draws)
        return kw


def _settings(data_rdms, task, *, n_hidden, lam, method, scale, fit_scale, representation, measure, init, tau,
              subject_descriptor, stage_descriptor, condition_descriptor, stage_order, stage_scale, time_map,
              time_offset, time_bounds, n_times, n_lam, n_scale, scale_bounds, refine, n_boot, ci, flat_tol,
              start_check, subject_boot, sigma_k, random_state, seed, n_draws, n_jobs, backend, progress):
    """Check the arguments of :func:`fit_rdms`: ``(data as RDMs, _FitSettings)``."""
    data_rdms = with_condition_labels(_as_rdms(data_rdms), condition_descriptor)
    check_choice(stage_scale, "stage_scale", STAGE_SCALES)
    reading = DataReading.checked(subject_descriptor, stage_descriptor, condition_descriptor, stage_order)
    grid = TimeGrid.checked(time_map, time_offset, time_bounds, n_times, n_lam)
    resampling = Resampling.checked(n_boot, ci, random_state, seed, "fit_rdms")
    run = Execution.checked(n_jobs, backend, progress, subject_descriptor, stage_descriptor)
    n_draws = check_positive_int(FIT_N_DRAWS if n_draws is None else n_draws, "n_draws", maximum=MAX_GRID,
                                 why="each draw is one exact solve")
    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")
    check_comparison_method(method)
    n_scale = check_grid_size(n_scale, "n_scale")
    flat_tol = check_real(flat_tol, "flat_tol", minimum=0)
    if start_check is not None:
        check_choice(start_check, "start_check", _START_CHECKS)
    scale = check_scale(scale, "scale")
    tau = check_real(tau, "tau", minimum=0, strict_min=True)
    lam = check_number_or_grid(lam, "lam")
    for v in np.atleast_1d(lam if lam is not None else []):
        check_lam(v, "lam")
    fit_scale = check_bool(fit_scale, "fit_scale")
    refine = check_bool(refine, "refine")
    subject_boot = check_bool(subject_boot, "subject_boot")
    sigma_k = check_sigma_k(sigma_k, data_rdms.n_cond)
    check_labelled(data_rdms, task)
    widths = _widths(task, n_hidden)
    if scale_bounds is not None:  # checked even when unused (fit_scale=False), so a typo is not silently ignored
        sb = check_bounds(scale_bounds, "scale_bounds", minimum=0, strict_min=True)
        check_scale(sb[0], "scale_bounds[0]"), check_scale(sb[1], "scale_bounds[1]")
    if fit_scale:
        if scale_bounds is None:  # the default box, kept inside the usable range of scales
            lo_s, hi_s = max(scale * 1e-2, 2.0 * SCALE_RANGE[0]), min(scale * 10.0, 0.5 * SCALE_RANGE[1])
        else:
            lo_s, hi_s = check_bounds(scale_bounds, "scale_bounds", minimum=0, strict_min=True)
            lo_s, hi_s = check_scale(lo_s, "scale_bounds[0]"), check_scale(hi_s, "scale_bounds[1]")
        log10_scales = np.linspace(np.log10(lo_s), np.log10(hi_s), n_scale)
    else:
        log10_scales = np.array([np.log10(scale)])
    return data_rdms, _FitSettings(
        widths=widths, lam=lam, log10_scales=log10_scales, method=method, scale=scale, fit_scale=fit_scale,
        representation=representation, measure=measure, init=init, tau=tau, reading=reading, grid=grid,
        resampling=resampling, run=run, stage_scale=stage_scale, n_scale=n_scale, refine=refine, flat_tol=flat_tol,
        start_check=start_check, subject_boot=subject_boot, sigma_k=sigma_k, n_draws=n_draws)


class _Search:
    """The state every step reads: the design, the candidates, their score tensor ``R`` and its parameter space."""

    def __init__(self, data_rdms, task, s, rdm_design, cands, R, stats=None):
        self.data_rdms, self.task, self.s = data_rdms, task, s
        self.rdm_design = rdm_design  # the data RDMs' design
        # rows of R: the data RDMs (stages scored separately), or the units (stacked trajectories, `stats` given)
        self.stats = stats
        self.stage_scale = "separate" if stats is None else "shared"
        self.design = rdm_design if stats is None else _unit_rows(rdm_design)
        design = self.design
        self.cands, self.R = cands, R  # R: (n_rows, C, G)
        self.models = {model.n_hidden: model for model, _, _ in cands.groups}
        self.lam_vals = {model.n_hidden: lv for model, lv, _ in cands.groups}
        self.w_all = np.ones(design.n_rdm)
        self.multi = design.subjects is not None and len(design.subjects) > 1
        self.space = _Space(design, cands.n_hidden, cands.lam, cands.log10_scale, self.lam_vals, s.lam_free,
                            s.log10_scales, s.fit_scale)
        self.refiner = _Refiner(self.models, rdm_design.data, rdm_design.stage_of, design.xs, design.stages,
                                s.method, s.sigma_k, design.snapshot, design.free, s.grid.time_offset, s.lam_free,
                                s.fit_scale, design.lt, design.tparams, s.log10_scales, self.lam_vals,
                                _unit_of(rdm_design) if stats is not None else None)

    def aggregate(self, w, R=None):
        """``(score per candidate, best time path, time profile)`` of the scores weighted by ``w`` over RDMs."""
        d = self.design
        return aggregate(self.R if R is None else R, w, d.stage_of, d.K, d.free)

    def describe(self, c, g_path, sc):
        """Row of candidate ``c`` at time path ``g_path`` with score ``sc``."""
        d, cands = self.design, self.cands
        row = {"n_hidden": int(cands.n_hidden[c]), "lam": float(cands.lam[c]),
               "scale": float(10.0 ** cands.log10_scale[c])}
        row.update(_time_fields(d.tparams, d.tnames, g_path, d.times, d.stages, d.snapshot, d.free))
        row["score"] = float(sc)
        return row

    def refine(self, row, c, g_path, w):
        cands = self.cands
        return self.refiner.refine(row, c, g_path, cands.n_hidden, cands.lam, cands.log10_scale, w)

    def boot_row(self, sc, gi, prof):
        """Row of one bootstrap sample: the grid optimum, continuous parameters interpolated."""
        pt, c = self.space.point(sc, gi, prof)
        row = self.describe(c, gi[c], sc[c])
        row.update({k: v for k, v in pt.items() if k != "n_hidden"})
        if "rate" in pt:
            row["times"] = {st: row.get("offset", 0.0) + pt["rate"] * x
                            for st, x in zip(self.design.stages, self.design.xs)}
            for st, t in row["times"].items():
                row[f"time[{st}]"] = t
        row.pop("times", None)
        return row

    def estimates(self, row):
        """The reported parameters of a fitted row, named as in the intervals table."""
        d = self.design
        e = {"n_hidden": float(row["n_hidden"]), "lam": float(row["lam"]), "scale": float(row["scale"])}
        if d.snapshot:
            e["time"] = float(row["time"])
        elif d.free:
            for st in d.stages:
                e[f"time[{st}]"] = float(row[f"time[{st}]"])
        else:
            e["rate"] = float(row["rate"])
            e["offset"] = float(row.get("offset", 0.0))
        return e


def _candidates(task, data_rdms, s, other=False):
    """The candidates (one model per width) of a fit, or of its start check (``other``: the other assumed start,
    a coarser ``lam`` grid); ``None`` for the start check with ``start_check=None``."""
    if not other:
        return make_candidates(task, data_rdms, s.widths, s.lam, s.grid.n_lam, s.log10_scales, s.model_kw)
    if s.start_check is None:
        return None
    other_init = _other_init(s.init)
    kw = dict(s.model_kw, init=other_init)
    if other_init != "aligned":
        kw["n_draws"] = _CHECK_DRAWS  # an expectation over starts: fewer draws for a check (x4 faster than 32)
    return make_candidates(task, data_rdms, s.widths, s.lam, max((s.grid.n_lam + 1) // 2, 2), s.log10_scales, kw)


def _setup(data_rdms, task, s, messages, cands=None):
    """Design (stages, subjects, time grid), candidates (widths x lam x scale; built here unless given) and the
    score tensor."""
    design = make_design(data_rdms, task, subject_descriptor=s.reading.subject_descriptor,
                         stage_descriptor=s.reading.stage_descriptor, stage_order=s.reading.stage_order, time_map=s.grid.time_map,
                         time_offset=s.grid.time_offset,
                         time_bounds=s.grid.time_bounds, n_times=s.grid.n_times, min_scale=10.0 ** s.log10_scales.min(),
                         tau=s.tau)
    messages.extend(design.messages)
    if cands is None:
        cands = _candidates(task, data_rdms, s)
    stage_scale, note = resolve_stage_scale(s.stage_scale, s.method, design)
    unit_of = _unit_of(design)
    for note in (note, missing_note(design, unit_of, int(unit_of.max()) + 1)):
        if note:
            messages.append(note)
    single = design.subjects is None or len(design.subjects) < 2
    check_score_memory(design, len(cands), stage_scale == "shared",
                       n_boot_maps=s.resampling.n_boot if (single or s.subject_boot) and s.method in _FAST else 0)
    R, stats = _score(design, cands, s, stage_scale, "fit_rdms fit")
    if not np.any(np.isfinite(R)):
        raise InputValueError(
            f"every prediction has an undefined {s.method!r} score against the data (constant RDMs?); "
            "check the data RDMs and the representation."
        )
    return _Search(data_rdms, task, s, design, cands, R, stats)


def _score(design, cands, s, stage_scale, what):
    """``(R, stats)``: scores of every candidate (rows: RDMs, or units with ``stage_scale="shared"``)."""
    unit_of = _unit_of(design)
    return score_rows(design, cands, s.method, s.sigma_k, unit_of, int(unit_of.max()) + 1, stage_scale == "shared",
                      n_jobs=s.run.n_jobs, backend=s.run.backend, progress=s.run.progress, what=what)


def _unit_of(design):
    """Unit (subject) of every data RDM; one unit when there are no subjects."""
    return design.subject_of if design.subjects is not None else np.zeros(design.n_rdm, dtype=int)


def _unit_rows(design):
    """The design seen with one row per unit (stacked trajectories): rows are subjects, no per-row stage."""
    import copy

    d = copy.copy(design)
    n_units = len(design.subjects) if design.subjects is not None else 1
    d.n_rdm = n_units
    d.stage_of = np.zeros(n_units, dtype=int)
    d.subject_of = np.arange(n_units) if design.subjects is not None else None
    return d


def _group_fit(search):
    """The candidate table, the best score per width and the (refined) overall best."""
    import pandas as pd

    s = search.s
    score, gidx, _ = search.aggregate(search.w_all)
    n_cand = len(search.cands)
    table = pd.DataFrame([search.describe(c, gidx[c], score[c]) for c in range(n_cand)])
    table["score"] = table["score"].where(np.isfinite(table["score"]))  # undefined (constant RDM) -> NaN
    ib = int(np.argmax(score))
    table["is_best"] = np.arange(n_cand) == ib
    widths_df = (table.groupby("n_hidden", as_index=False)["score"].max())
    best = search.describe(ib, gidx[ib], score[ib])
    best.update(method=s.method, time_map="snapshot" if search.design.snapshot else s.grid.time_map, refined=False)
    best["n_hidden_equivalent"] = [int(h) for h, sc in zip(widths_df["n_hidden"], widths_df["score"])
                                   if sc >= score[ib] - s.flat_tol]
    if s.refine:
        best = search.refine(best, ib, gidx[ib], search.w_all)
    return table, widths_df, best


class _OtherStart:
    """The same fit under the other assumed start (the unknown starting weights): its space and score tensor."""

    def __init__(self, init, space, R):
        self.init, self.space, self.R = init, space, R
        self.rejected = False  # the data reject this start (it fits worse in nearly every bootstrap sample)
        self.worse_fraction = None

    def best_score(self, w):
        """Its best score under RDM (row) weights ``w``."""
        d = self.space.d
        sc = aggregate(self.R, w, d.stage_of, d.K, d.free)[0]
        return float(np.max(sc)) if np.isfinite(sc).any() else -np.inf

    def point(self, w):
        """Its estimate (interpolated grid optimum) for RDM weights ``w``; ``None`` if no score is defined."""
        d = self.space.d
        sc, gi, prof = aggregate(self.R, w, d.stage_of, d.K, d.free)
        if not np.isfinite(sc).any():
            return None
        return self.space.point(sc, gi, prof)[0]


def _start_check(search, cands=None):
    """:class:`_OtherStart` on a coarser grid (a check, not a fit), or ``None`` with ``start_check=None``."""
    s, d = search.s, search.design
    if s.start_check is None:
        return None
    other_init = _other_init(s.init)
    d = search.rdm_design
    design = make_design(search.data_rdms, search.task, subject_descriptor=d.subject_key,
                         stage_descriptor=d.stage_key, stage_order=s.reading.stage_order, time_map=s.grid.time_map,
                         time_offset=s.grid.time_offset,
                         time_bounds=(d.t_lo, d.t_hi), n_times=max(s.grid.n_times // 2 + 1, 3),
                         min_scale=10.0 ** s.log10_scales.min(), tau=s.tau)
    if cands is None:
        cands = _candidates(search.task, search.data_rdms, s, other=True)
    R, _ = _score(design, cands, s, search.stage_scale, f"fit_rdms start check (init={other_init!r})")
    if search.stats is not None:
        design = _unit_rows(design)
    lam_vals = {model.n_hidden: lv for model, lv, _ in cands.groups}
    space = _Space(design, cands.n_hidden, cands.lam, cands.log10_scale, lam_vals, s.lam_free,
                   np.asarray(s.log10_scales, float), s.fit_scale)
    return _OtherStart(other_init, space, R)


def _subject_fits(search, best):
    """Each subject's own (refined) best: ``(table or None, [(row, RDM weights) per subject])``."""
    import pandas as pd

    if not search.multi:
        return None, []
    s, d = search.s, search.design
    rows, fits = [], []
    for j, name in enumerate(d.subjects):
        w = (d.subject_of == j).astype(float)
        sc, gi, _ = search.aggregate(w)
        c = int(np.argmax(sc))
        row = search.describe(c, gi[c], sc[c])
        row.update(method=s.method, time_map=best["time_map"], refined=False)
        shown = row
        if not np.isfinite(sc).any():  # e.g. constant RDMs: the table shows no estimate (not the grid's first
            # candidate); its interval rows say the score is undefined
            shown = {k: (np.nan if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else v)
                     for k, v in row.items()}
        elif s.refine:
            row = shown = search.refine(row, c, gi[c], w)
        fits.append((row, w))
        rows.append({"subject": name, **{k: v for k, v in shown.items() if k not in ("method", "time_map", "times")}})
    return pd.DataFrame(rows), fits


@dataclass
class _Boot:
    """The group bootstrap: one row per sample (or ``None``) and why there is none."""

    samples: object = None  # DataFrame
    n_hidden_distribution: object = None  # Series
    over: object = None  # "subjects", "conditions" or None
    why_not: str = "uncertainty not measured (n_boot = 0)"
    profiles: object = None  # list of per-sample profiles within the group's best width (bootstrap over subjects)


def _bootstrap(search, messages, h_best, other=None):
    """Group bootstrap over independent units: subjects when there are several, else conditions.

    With a start check (``other``), every sample also compares the best score under the other assumed start
    with this one's: when the other start fits worse in at least ``(1 + ci) / 2`` of the samples, the data reject
    it and its estimates do not widen or flag the intervals (a start the data rule out says nothing about the
    parameters).
    """
    import pandas as pd

    s, d = search.s, search.design
    boot = _Boot()
    if s.resampling.n_boot == 0:
        return boot
    rows = []
    if search.multi:
        boot.over = "subjects"
        n_sub = len(d.subjects)
        # over the subjects sorted by label: the same samples for the same data in another row order
        draws = by_label(d.subjects)[s.resampling.rng.integers(0, n_sub, size=(s.resampling.n_boot, n_sub))]
        boot.profiles = []
        worse = []
        for b in range(s.resampling.n_boot):
            counts = np.bincount(draws[b], minlength=n_sub).astype(float)
            agg = search.aggregate(counts[d.subject_of])
            rows.append(search.boot_row(*agg))
            boot.profiles.append(search.space.profiles(search.R, counts[d.subject_of], h_best))
            if other is not None:
                worse.append(other.best_score(counts[other.space.d.subject_of]) < float(np.max(agg[0])))
        if other is not None:
            other.worse_fraction = float(np.mean(worse))
            other.rejected = other.worse_fraction >= (1 + s.resampling.ci) / 2
            verdict = ("rejected by the data: its estimates do not widen the intervals" if other.rejected else
                       "not rejected by the data: its estimates widen (or flag) the intervals")
            messages.append(f"start check: init={other.init!r} fits worse than init={s.init!r} in "
                            f"{other.worse_fraction:.0%} of bootstrap samples over subjects; {verdict}")
    else:
        boot.over = "conditions"
        if s.method not in _FAST:
            boot.why_not = f"no bootstrap for method {s.method!r} with a single unit (conditions: corr/cosine only)"
            messages.append("condition bootstrap skipped: it is implemented for 'corr' and 'cosine' only, "
                            f"not {s.method!r}")
        else:
            Rb = _condition_boot_tensor(search)
            rows = [search.boot_row(*search.aggregate(search.w_all, Rb[b])) for b in range(s.resampling.n_boot)]
    if rows:
        boot.samples = pd.DataFrame(rows)
        boot.samples.insert(0, "sample", np.arange(len(boot.samples)))
        boot.n_hidden_distribution = boot.samples["n_hidden"].value_counts(normalize=True).sort_index()
        boot.n_hidden_distribution.name = "fraction"
    return boot


def _subject_bootstrap(search, j, w, why_not, cache):
    """Bootstrap within subject ``j``: over its repeated RDMs per stage, else over conditions (corr/cosine).

    ``(samples or None, why there are none)``; ``cache`` keeps the condition-bootstrap tensor shared by subjects.
    """
    import pandas as pd

    s, d = search.s, search.rdm_design
    mine = np.flatnonzero(d.subject_of == j)
    per_stage = np.bincount(d.stage_of[mine], minlength=d.K)
    if not s.subject_boot:
        return None, "uncertainty not measured (subject_boot=False)"
    if s.resampling.n_boot > 0 and per_stage[per_stage > 0].min() >= 2:
        rows = []
        n_units = len(d.subjects)
        for b in range(s.resampling.n_boot):
            wb = np.zeros(d.n_rdm)
            for k in np.flatnonzero(per_stage):
                idx = mine[d.stage_of[mine] == k]
                np.add.at(wb, s.resampling.rng.choice(idx, size=idx.size, replace=True), 1.0)
            if search.stats is None:
                rows.append(search.boot_row(*search.aggregate(wb)))
            else:  # the subject's trajectory restacked from its resampled RDMs
                Rb = search.stats.unit_scores(wb, d.subject_of, n_units, units=[j])
                rows.append(search.boot_row(*search.aggregate(w, Rb)))
        return pd.DataFrame(rows), why_not
    if s.resampling.n_boot > 0 and s.method in _FAST:  # the costly case: a score tensor per bootstrap sample
        if "Rb" not in cache:
            cache["Rb"] = _condition_boot_tensor(search)
        Rb = cache["Rb"]
        return pd.DataFrame([search.boot_row(*search.aggregate(w, Rb[b])) for b in range(s.resampling.n_boot)]), why_not
    if s.resampling.n_boot > 0:
        return None, (f"no within-subject interval for method {s.method!r}: one RDM per stage, and the condition "
                      "bootstrap is implemented for 'corr' and 'cosine' only")
    return None, why_not


def _interval_rows(search, row, w, boot, why_not, other, boot_profiles=None, width_test=None):
    """Interval rows of one fit (the group: ``w`` all ones; a subject: its RDMs) from its bootstrap samples."""
    s = search.s
    h = int(row["n_hidden"])
    sc_w = search.aggregate(w)[0]
    wbest = {hh: float(np.max(sc_w[search.cands.n_hidden == hh])) for hh in s.widths}
    top = max(wbest.values())
    equiv = [hh for hh in s.widths if wbest[hh] >= top - s.flat_tol]
    alt = other.point(w) if other is not None and not other.rejected else None
    other_init = other.init if other is not None else None
    return _intervals_table(search.space, search.estimates(row), boot, alt, search.space.profiles(search.R, w, h), h,
                            s.resampling.ci, s.flat_tol, s.widths, s.start_check, other_init, why_not, equiv, boot_profiles,
                            width_test)


def _subject_intervals(search, subject_fits, why_not, other):
    """Per-subject interval rows (leading ``subject`` column), each from a bootstrap within the subject."""
    import pandas as pd

    if not search.multi:
        return None
    cache, rows = {}, []
    for j, (name, (row, w)) in enumerate(zip(search.design.subjects, subject_fits)):
        if not np.isfinite(search.aggregate(w)[0]).any():  # e.g. constant RDMs: nothing to estimate
            rows.extend({"subject": name, "parameter": p, "estimate": np.nan, "low": np.nan, "high": np.nan,
                         "level": search.s.resampling.ci, "determined": False,
                         "reason": f"the {search.s.method!r} score of this subject is undefined for every candidate "
                                   "(constant or empty RDMs?): no estimate"}
                        for p in _subject_parameters(search))
            continue
        boot_j, why = _subject_bootstrap(search, j, w, why_not, cache)
        rows.extend({"subject": name, **r} for r in _interval_rows(search, row, w, boot_j, why, other))
    return pd.DataFrame(rows, columns=["subject"] + _IV_COLS)


def _subject_parameters(search):
    """The parameters of a subject's interval rows: those of the first subject with a defined score."""
    d = search.design
    for j in range(len(d.subjects)):
        w = (d.subject_of == j).astype(float)
        sc, gi, _ = search.aggregate(w)
        if np.isfinite(sc).any():
            c = int(np.argmax(sc))
            return [r["parameter"] for r in _interval_rows(search, search.describe(c, gi[c], sc[c]), w, None, "", None)]
    return ["n_hidden"]


def _assemble(search, messages, *, best, table, widths_df, subjects_df, boot, intervals, subject_iv, other,
              width_test=None):
    """The :class:`FitResult`: verdicts per parameter, plain-language messages, the settings used."""
    s, d = search.s, search.design
    identifiable = {r.parameter: (bool(r.determined), str(r.reason)) for r in intervals.itertuples()}
    if not search.space.lam_free:
        identifiable["lam"] = (True, "fixed by the user")
    lam_ci = None
    if search.space.lam_free and boot.samples is not None:
        r = intervals.set_index("parameter").loc["lam"]
        lam_ci = (float(r["low"]), float(r["high"]))
    for p, (ok, why) in identifiable.items():
        if not ok:
            messages.append(f"{p} is not identifiable from these data: {why}")
    other_init = other.init if other is not None else None
    settings = dict(widths=s.widths, n_times=s.grid.n_times, n_lam=s.grid.n_lam, n_scale=s.n_scale,
                    time_bounds=(d.t_lo, d.t_hi), n_boot=s.resampling.n_boot, ci=s.resampling.ci, flat_tol=s.flat_tol,
                    fit_scale=s.fit_scale, representation=s.representation, measure=s.measure, init=s.init,
                    tau=s.tau, n_rdm=search.rdm_design.n_rdm, subject_descriptor=d.subject_key, stage_descriptor=d.stage_key,
                    stages=d.stages, stage_positions=d.xs.tolist(), bootstrap_over=boot.over,
                    time_offset=s.grid.time_offset, start_check=s.start_check, other_init=other_init,
                    random_state=s.resampling.random_state, draw_seed=s.resampling.draw_seed,
                    n_draws=int(next(iter(search.models.values())).n_draws), stage_order=list(map(str, d.stages)),
                    stage_scale=search.stage_scale)
    start = None
    if other is not None:
        start = {"init": other_init, "estimate": other.point(search.w_all), "rejected": other.rejected,
                 "worse_fraction": other.worse_fraction}
    return FitResult(best=best, table=table, widths=widths_df, subjects=subjects_df, bootstrap=boot.samples,
                     lam_ci=lam_ci, n_hidden_distribution=boot.n_hidden_distribution, identifiable=identifiable,
                     messages=messages, intervals=intervals, subject_intervals=subject_iv, start=start,
                     seed=s.resampling.random_state, random_state=s.resampling.random_state, settings=settings,
                     scores_=search.R, width_tests=width_test)


def _condition_boot_tensor(search):
    """Score tensor under ``n_boot`` bootstrap samples of conditions (pair weights): (B, n_rdm, C, G)."""
    s, n_cond = search.s, search.data_rdms.n_cond
    draws = s.resampling.rng.integers(0, n_cond, size=(s.resampling.n_boot, n_cond))
    counts = np.stack([np.bincount(d, minlength=n_cond) for d in draws]).astype(float)
    kw = dict(n_jobs=s.run.n_jobs, backend=s.run.backend, progress=s.run.progress, what="fit_rdms bootstrap")
    if search.stats is not None:
        unit_of = _unit_of(search.rdm_design)
        return candidate_boot_scores(search.rdm_design, search.cands, s.method, counts, unit_of,
                                     int(unit_of.max()) + 1, **kw)
    # rank-one models: moments of their pair rows under every sample, then each candidate from those
    return condition_boot_tensor(search.design, search.cands, s.method, s.sigma_k, counts, **kw)


def _other_init(init):
    from ..models.network import _INITS

    if init != "aligned":
        return "aligned"
    return "random" if "random" in _INITS else "average"


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


#: Optimiser settings of the continuous refinement, in grid-step units (see _Refiner.refine): finite-difference
#: step 1e-6 of a grid step for L-BFGS-B; Powell (the fallback) to 1e-3 of a step
_LBFGS_OPTIONS = {"eps": 1e-6, "ftol": 1e-12, "gtol": 1e-8, "maxiter": 200}
_POWELL_OPTIONS = {"xtol": 1e-3, "ftol": 1e-10}


class _Refiner:
    """Bounded continuous search around a grid optimum (kept only if it improves the score)."""

    def __init__(self, models, D, stage_of, xs, stages, method, sigma_k, snapshot, free, offset, free_lam,
                 fit_scale, lt, tparams, log10_scales, lam_vals, unit_of=None):
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
        # Powell works in grid-step units (u = 0 at the grid optimum, +-1 about one grid step away), so one
        # tolerance means the same precision for lam, scale and time
        lo, hi = np.array(box, dtype=float).T
        unit = np.maximum(np.maximum(x0 - lo, hi - x0), 1e-300)
        ubox = list(zip((lo - x0) / unit, (hi - x0) / unit))

        def unpack(u):
            x = x0 + unit * np.asarray(u, dtype=float)
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

        if self.unit_of is not None:  # rows are units: their stacked trajectories
            objective = self._stacked_objective(model, unpack, w)
        else:
            objective = self._rdm_objective(model, unpack, w)
        base = objective(np.zeros_like(x0))
        # L-BFGS-B on the smooth objective (the random start's draws are fixed, so the expected geometry is a
        # smooth function of lam and time): ~6x fewer evaluations than Powell at equal or better optima on the
        # bundled data; Powell, which needs no gradient, where L-BFGS-B does not improve on the grid point
        # (e.g. at the penalty wall of a non-monotone free time map)
        res = minimize(objective, np.zeros_like(x0), method="L-BFGS-B", bounds=ubox, options=_LBFGS_OPTIONS)
        if not (np.all(np.isfinite(res.x)) and res.fun < base - 1e-12):
            res = minimize(objective, np.zeros_like(x0), method="Powell", bounds=ubox, options=_POWELL_OPTIONS)
        return self._refined_row(row, res, base, unpack, names, x0, unit, objective)

    def _stacked_objective(self, model, unpack, w):
        """Minus the weighted mean stacked score of the units with ``w > 0`` (``w`` over units)."""
        units = np.flatnonzero(w > 0)
        data = DataStats(self.D, self.method, groups=self.unit_of)
        n_units = int(self.unit_of.max()) + 1
        w_rdm = (w[self.unit_of] > 0).astype(float)
        idx = self.stage_of[None, :]

        def objective(x, direct=False):
            lam, ls, t = unpack(x)
            try:
                V = model.predict_times(t, _theta(model, lam, ls))  # (K, n_pairs)
                st = StackedStats(*stacked_stats(V, idx, data), data)
            except ValueError:
                return 1e3
            vals = st.unit_scores(w_rdm, self.unit_of, n_units, units=units)[units, 0, 0]
            ok = np.isfinite(vals)
            if not ok.any():
                return 1e3
            return -float(np.sum(vals[ok] * w[units][ok]) / np.sum(w[units][ok]))

        return objective

    def _rdm_objective(self, model, unpack, w):
        """Minus the weighted mean score of the RDMs with ``w > 0``, each at its stage's time."""
        rows = np.flatnonzero(w > 0)  # only the RDMs that count (one subject's, in per-subject fits)
        prepared = _PreparedData(self.D, self.method, self.sigma_k, rows)
        rank_one = _rank_one_scores(model, prepared)  # scores straight from the rank-one weights, if applicable
        stage_rows, w_rows = self.stage_of[rows], w[rows]

        def objective(x, direct=False):
            lam, ls, t = unpack(x)
            if self.free and np.any(np.diff(t) < 0):
                return 1e3
            try:
                if rank_one is None or direct:
                    S = prepared.score(model.predict_times(t, _theta(model, lam, ls)))  # (K, n_rows)
                else:
                    lam_, scale_, _ = model._unpack(_theta(model, lam, ls))
                    S = rank_one.score(model._engine.rank_one(lam_, scale_, check_times(t, "times"), model.tau)[0])
            except ValueError:
                return 1e3
            vals = S[stage_rows, np.arange(rows.size)]
            ok = np.isfinite(vals)
            if not ok.any():
                return 1e3
            return -float(np.sum(vals[ok] * w_rows[ok]) / np.sum(w_rows[ok]))

        return objective

    def _refined_row(self, row, res, base, unpack, names, x0, unit, objective):
        """``row`` moved to the optimiser's point when it improved on the grid point."""
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
                    p = dict(zip(names, x0 + unit * res.x))
                    row["rate"] = float(10.0 ** p["lrate"])
                    row["offset"] = float(p.get("offset", 0.0))
            row["score"] = -float(objective(res.x, direct=True))  # the score of model.predict at these parameters
            row["refined"] = True
        return row
