"""Hypothesis tests on linear-network models, crossvalidated over independent units (subjects).

A *hypothesis* is a set of predictions with free parameters: one
:class:`~rsa_lineardyn.LinearNetworkModel` (``lam``, time and optionally
scale free), several of them (e.g. "a bottleneck of any width up to 3": the
width is chosen inside each training fold, never on all data), a fixed
rsatoolbox model, or the flexible *feature baseline* (non-negative weights on
the task's mode RDMs, fitted by NNLS).

How a comparison is computed (:func:`evaluate_hypotheses`):

1. Units of replication are subjects (rdm descriptor ``subject``, ...).  All
   RDMs of a subject -- sessions, runs, stages -- stay together.
2. Every hypothesis's predictions are scored against every data RDM once (the
   score tensor of :mod:`rsa_lineardyn.inference.design`: candidate x time parameters).
   Several stages of learning share one time map (``t = rate * stage``, or
   free non-decreasing times), as in :func:`rsa_lineardyn.fit_rdms`.
3. Crossvalidation over units (leave one subject out by default): in each
   fold every hypothesis's free parameters -- width, ``lam``, the stage-time
   map, feature weights -- are fitted to the training subjects and the
   held-out subjects are scored at that fit.  This gives one crossvalidated
   score per subject and hypothesis.
4. Tests use those per-subject scores, with ``n_units - 1`` degrees of
   freedom: a paired t-test for every pair of hypotheses and a one-sided
   t-test against 0.  When the differences have zero variance the t-test is
   undefined; then identical predictions give ``p = 1`` and a constant
   non-zero difference falls back to the exact sign test
   (``variance_method`` names what was used in every row).  Nothing is
   clamped: a p-value is never 0.

The crossvalidation and the tests are plain functions on arrays in
:mod:`rsa_lineardyn.inference.crossval`; the feature baseline's RDMs come from
:func:`rsa_lineardyn.feature_rdms` (:mod:`rsa_lineardyn.inference.baselines`).
The tables are pandas DataFrames; :attr:`HypothesisResult.result` is an
rsatoolbox ``Result`` carrying the same per-subject variances and degrees of
freedom, so ``rsatoolbox.vis.plot_model_comparison`` can draw exactly these
tests (:func:`rsa_lineardyn.plot_hypotheses` draws them from the tables).  The
calibration of these tests against simulated learners (false-positive rate, power) is measured by
``benchmarks/calibration.py``.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._validation import (
    InputTypeError,
    InputValueError,
    check_bounds,
    check_choice,
    check_comparison_method,
    check_distinct,
    MAX_GRID,
    check_kwargs,
    check_lam,
    check_positive_int,
    check_real,
    check_scale,
    check_sigma_k,
    resolve_random_state,
    UNSET,
)
from .baselines import feature_rdms, feature_weights, unit_stage_means
from .crossval import (MC_GROUPS, MC_TARGET, TIE_TOL, DrawBlocks, by_label, cv_once, fold_network, mc_blocks,
                       noise_ceiling, percentile,
                       run_cv, static_scores, t_summary, unit_folds, with_mc_error)
from ..representations.descriptors import condition_key, with_condition_labels
from .multiplicity import CORRECTIONS, correct_pvalues
from .design import (Candidates, _as_rdms, _lam_values, _theta, check_labelled, check_n_widths, make_design,
                     wide_width)
from .settings import DataReading, Execution, Resampling, TimeGrid
from .scorer import (STAGE_SCALES, Rows, check_score_memory, missing_note, resolve_stage_scale, score_rows,
                     stage_unit_scores, static_unit_scores, unit_matrix_check)
from ..models.network import DegeneracyWarning, LinearNetworkModel
from ..dynamics.task import Task

__all__ = ["width_models", "regime_models", "feature_rdms", "evaluate_hypotheses", "compare_widths",
           "compare_regimes", "HypothesisResult"]

_BASELINES = ("modes", "features", None)
_CORRECTIONS = CORRECTIONS
#: Most Monte-Carlo replicates one call may ask for (each reruns the scoring of every network).
MC_MAX_ASKED = 256
#: Methods without a vectorised score here, with their measured cost relative to "corr".
_SLOW_METHODS = {"tau-a": "18x", "kendall": "18x", "tau-b": "18x"}  # benchmarks/hypothesis_speed.py, 2026-12-01


def _check_task(task):
    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")


def _s_max(task):
    s = task.singular_values
    return float(s[0]) if s.size and s[0] > 0 else 1.0


def _model_kw(init, **kw):
    """Model keywords; ``init=None`` / ``n_draws=None`` leave the model's defaults."""
    if init is not None:
        kw["init"] = init
    if kw.get("n_draws", 0) is None:
        del kw["n_draws"]
    return kw


# ----------------------------------------------------------------------------
# hypotheses built here
# ----------------------------------------------------------------------------
def _width_list(widths, what):
    """``widths`` as a non-empty list (one int or 'wide' alone is a list of one); ``what`` names an entry."""
    if isinstance(widths, (str, bytes, numbers.Integral)):
        widths = [widths]
    try:
        widths = list(widths)
    except TypeError:
        raise InputTypeError(f"`widths` must be a sequence of hidden widths ({what} each), got {widths!r}.") from None
    if not widths:
        raise InputValueError(f"`widths` is empty; give at least one hidden width ({what}), e.g. (2, 'wide').")
    return widths


def width_models(task, data_rdms, widths=(2, "wide"), *, representation="hidden", measure="euclidean", scale=0.1,
                 lam=None, init=None, n_draws=None, seed=0):
    """One model per hidden width (``lam`` and time free).

    Parameters
    ----------
    task : Task
    data_rdms : rsatoolbox.rdm.RDMs
        Fixes the condition order of the predictions.
    widths : sequence of int or "wide"
        ``"wide"`` is ``max(n_in, n_out)`` (wider than any bottleneck).
    representation, measure, scale, lam, init, n_draws, seed
        As in :class:`LinearNetworkModel` (``init=None``, ``n_draws=None``:
        its defaults; ``seed``: the Monte-Carlo draws of the expected geometry).

    Returns
    -------
    list of LinearNetworkModel
        Named ``"N_h=2"``, ``"N_h=wide (103)"``, ...
    """
    _check_task(task)
    data_rdms = _as_rdms(data_rdms)
    check_labelled(data_rdms, task)
    widths = _width_list(widths, "an int or 'wide'")
    check_n_widths(len(widths), task, "widths")
    models = []
    for w in widths:
        if isinstance(w, str):
            if w != "wide":
                raise InputValueError(f"`widths` entries must be ints or 'wide', got {w!r}.")
            h = wide_width(task)
            name = f"N_h=wide ({h})"
        else:
            h = check_positive_int(w, "widths")
            name = f"N_h={h}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegeneracyWarning)
            models.append(LinearNetworkModel(task, n_hidden=h, item_order=data_rdms, name=name,
                                             **_model_kw(init, representation=representation, measure=measure,
                                                         lam=lam, scale=scale, n_draws=n_draws, seed=seed)))
    if len({m.name for m in models}) != len(models):
        raise InputValueError(f"`widths` must be distinct, got {list(widths)}.")
    _check_same_networks(task, widths)
    return models


def regime_models(task, data_rdms, n_hidden=None, *, rich_scale=None, lazy_lam=None, lazy_scale=None,
                  representation="hidden", measure="euclidean", init=None, n_draws=None, seed=0):
    """Rich versus lazy learning, as three models with time free.

    Parameters
    ----------
    task : Task
    data_rdms : rsatoolbox.rdm.RDMs
    n_hidden : int, optional
        Width of all three (default: the rank of ``Syx``).
    rich_scale : float, optional
        Init scale of the rich model (``lam = 0``); default
        ``1e-3 * sqrt(s_max)`` (modes start ~1e-6 of their targets).
    lazy_lam : float, optional
        ``|lam|`` of the lazy-lam model; default ``4 s_max``.  Positive when
        ``n_hidden <= n_out``, else negative.
    lazy_scale : float, optional
        Init scale of the lazy-scale model (``lam = 0``); default
        ``sqrt(s_max)`` (modes start at the strength of the largest target).
        With ``lam = 0`` such a start still converges to the rich solution
        wherever the task leaves no input direction alone (full rank, or a
        width that fits within the task's modes), so it differs from
        ``"rich"`` mostly early in learning (calibration part f: told apart in
        0.42-0.65 of trials at t = 3, 6, 9, in 0.07-0.20 at t = 6, 9, 12).
        The large-``lam`` model is the lazy regime of the lambda-balanced
        theory: one layer stays near its start throughout.
    init : str, optional
        As in :class:`LinearNetworkModel`; the default (expected geometry over
        random starts) is what a lazy learner looks like: an aligned start
        already holds the task's modes at ``t = 0``.

    Returns
    -------
    list of LinearNetworkModel
        ``"rich"``, ``"lazy (large lam)"``, ``"lazy (large init)"``.
    """
    _check_task(task)
    data_rdms = _as_rdms(data_rdms)
    check_labelled(data_rdms, task)
    h = max(task.rank(), 1) if n_hidden is None else check_positive_int(n_hidden, "n_hidden")
    s_max = _s_max(task)
    rich_scale = 1e-3 * np.sqrt(s_max) if rich_scale is None else check_scale(rich_scale, "rich_scale")
    lazy_lam = 4.0 * s_max if lazy_lam is None else abs(check_real(lazy_lam, "lazy_lam"))
    lazy_scale = np.sqrt(s_max) if lazy_scale is None else check_scale(lazy_scale, "lazy_scale")
    if not lazy_scale > rich_scale:  # "lazy (large init)" must start larger than "rich", or the names lie
        raise InputValueError(
            f"`lazy_scale` = {lazy_scale:g} must be larger than `rich_scale` = {rich_scale:g}: the lazy (large init) "
            "model starts from large weights, the rich one from small ones (defaults: sqrt(s_max) = "
            f"{np.sqrt(s_max):g} and 1e-3 sqrt(s_max) = {1e-3 * np.sqrt(s_max):g}).")
    if not 1e-100 < lazy_lam < 1e100:
        raise InputValueError(
            f"`lazy_lam` = {lazy_lam:g} is outside the usable range (1e-100, 1e+100) of |lam|; the default is "
            f"4 * s_max = {4.0 * s_max:g} (s_max: the task's largest singular value)."
        )
    if h <= task.n_out:
        lam_l = lazy_lam
    elif h <= task.n_in:
        lam_l = -lazy_lam
    else:
        raise InputValueError(
            f"`n_hidden` = {h} exceeds both n_in = {task.n_in} and n_out = {task.n_out}: only lam = 0 is feasible, "
            "so there is no large-lam lazy regime. Use a smaller n_hidden."
        )
    kw = _model_kw(init, representation=representation, measure=measure, item_order=data_rdms, n_draws=n_draws,
                   seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegeneracyWarning)
        return [
            LinearNetworkModel(task, h, lam=0.0, scale=rich_scale, name="rich", **kw),
            LinearNetworkModel(task, h, lam=lam_l, scale=0.1 * np.sqrt(s_max), name="lazy (large lam)", **kw),
            LinearNetworkModel(task, h, lam=0.0, scale=lazy_scale, name="lazy (large init)", **kw),
        ]


# ----------------------------------------------------------------------------
# internal hypothesis kinds
# ----------------------------------------------------------------------------
class _Network:
    """A hypothesis made of one or more LinearNetworkModels; parameters and width chosen per training fold."""

    kind = "network"

    def __init__(self, name, models, lam_grid):
        self.name = name
        self.models = models
        self.lam_grid = lam_grid

    def candidates(self, n_lam, lam_bounds=None):
        groups = []
        for m in self.models:
            lams = np.array([m.lam]) if m.lam is not None else self.lam_grid(m, n_lam, lam_bounds)
            if m.fit_scale:
                lo, hi = m.bounds[m.param_names.index("log10_scale")]
                lss = np.linspace(lo, hi, 5)
            else:
                lss = np.array([np.log10(m.scale)])
            groups.append((m, lams, lss))
        return Candidates(groups)


class _Fixed:
    kind = "fixed"

    def __init__(self, name, vector, model=None):
        self.name = name
        self.vector = vector
        self.model = model  # the user's rsatoolbox model itself


class _Feature:
    kind = "feature"

    def __init__(self, name, F, feature_names, per_stage=True):
        self.name = name
        self.F = F
        self.feature_names = feature_names
        self.per_stage = per_stage  # weights free per stage of learning (else one set for all stages)


def _default_lam_grid(task):
    def grid(model, n_lam, bounds=None):
        return _lam_values(None, model.n_hidden, task, n_lam, bounds)
    return grid


def _as_hypotheses(hypotheses, task, data_rdms):
    """Normalise the user's hypotheses into a list of _Network / _Fixed objects."""
    from rsatoolbox.model import Model, ModelFixed

    if isinstance(hypotheses, (Model,)):
        hypotheses = [hypotheses]
    if isinstance(hypotheses, dict):
        items = list(hypotheses.items())
    else:
        try:
            items = [(getattr(h, "name", None), h) for h in hypotheses]
        except TypeError:
            raise InputTypeError(
                "`hypotheses` must be a dict name -> model(s) or a list of rsatoolbox models "
                f"(e.g. from rl.width_models), got {type(hypotheses).__name__}."
            ) from None
    if not items:
        raise InputTypeError("`hypotheses` must be a non-empty list or dict of models (e.g. from rl.width_models).")
    out = []
    grid = _default_lam_grid(task)
    for name, h in items:
        group = list(h) if isinstance(h, (list, tuple)) else [h]
        if not group or not all(isinstance(m, Model) for m in group):
            raise InputTypeError(
                f"hypothesis {name!r} must be an rsatoolbox model or a list of LinearNetworkModels, got {h!r}."
            )
        if all(isinstance(m, LinearNetworkModel) for m in group):
            for m in group:
                if m.task is not task and not (m.task.P == task.P and np.array_equal(m.task.Y, task.Y)
                                               and np.array_equal(m.task.X, task.X)):
                    raise InputValueError(f"model {m.name!r} of hypothesis {name!r} was built on another task.")
            group = [_matched(m, data_rdms) for m in group]
            if name is None:
                name = group[0].name
            out.append(_Network(str(name), group, grid))
        elif len(group) == 1 and isinstance(group[0], ModelFixed) or (len(group) == 1 and group[0].n_param == 0):
            m = group[0]
            out.append(_Fixed(str(name if name is not None else m.name), _fixed_vector(m, data_rdms), m))
        else:
            raise InputTypeError(
                f"hypothesis {name!r}: only LinearNetworkModels (fitted here, inside each training fold) and "
                "fixed rsatoolbox models (ModelFixed) can be compared."
            )
    names = [h.name for h in out]
    if len(set(names)) != len(names):
        raise InputValueError(f"hypothesis names must be distinct, got {names}.")
    return out


def _matched(model, data_rdms):
    """``model`` predicting the data's conditions by label: itself when they match, else (a model built without
    ``item_order``, in the task's order) a copy over the data's items in the data's order, sharing the prediction
    engine.  A model built with ``item_order`` is checked, never reordered (a clear error when it differs)."""
    import copy
    from collections import OrderedDict

    from ..models.network import _Selection

    if model.item_order_given:
        model.selection(data_rdms)  # labels and order match the data, with a clear error
        return model
    try:
        model.selection(data_rdms)
        return model
    except InputValueError:
        pass
    out = copy.copy(model)
    out._setup_items(data_rdms, "auto")  # refuses data conditions that are not items of the task
    out._pred_cache = OrderedDict()
    out._full = _Selection(out, np.arange(len(out.labels)))
    out.selection(data_rdms)
    return out


def _fixed_vector(model, data_rdms):
    """A fixed model's prediction as a vector in the data's condition order, matched by label (never by position).

    The model's RDM must carry condition labels (a pattern descriptor among ``item, conds, label, ...``) that
    cover the data's conditions; anything else is refused with the labels that are missing.
    """
    pred = model.predict_rdm()
    name = f"fixed model {model.name!r}"
    if pred.n_rdm != 1:
        raise InputValueError(f"{name} predicts {pred.n_rdm} RDMs; a fixed model for this comparison predicts one.")
    key = condition_key(pred, "auto", name)
    if key is None:
        raise InputValueError(
            f"{name} has no condition labels (its RDM's pattern descriptors are {sorted(pred.pattern_descriptors)}), "
            "so its conditions cannot be matched to the data's by label, and position is never trusted. Build it "
            "from labelled RDMs, e.g. ModelFixed(name, rl.rdms_from_matrices(matrix, labels=items)) or "
            "RDMs(vector, pattern_descriptors={'item': labels}).")
    have = [str(x) for x in np.asarray(pred.pattern_descriptors[key]).tolist()]
    want = [str(x) for x in np.asarray(data_rdms.pattern_descriptors["item"]).tolist()]
    if len(set(have)) != len(have):
        raise InputValueError(f"{name} names a condition more than once in its pattern descriptor {key!r}.")
    pos = {lab: i for i, lab in enumerate(have)}
    missing = [lab for lab in want if lab not in pos]
    if missing:
        raise InputValueError(
            f"{name} does not predict the data's condition(s) {missing[:5]}{' ...' if len(missing) > 5 else ''} "
            f"(its labels, pattern descriptor {key!r}: {have[:5]}{' ...' if len(have) > 5 else ''}). Give it an "
            "RDM over the data's conditions, labelled as they are.")
    order = np.array([pos[lab] for lab in want])
    mat = pred.get_matrices()[0][np.ix_(order, order)]
    vec = np.asarray(mat[np.triu_indices(len(want), k=1)], dtype=float)
    bad = np.flatnonzero(~np.isfinite(vec))
    if bad.size:  # a model predicts every pair: a hole in it is an error in the model, not a missing measurement
        i, j = np.triu_indices(len(want), k=1)
        pairs = [f"({want[i[b]]}, {want[j[b]]})" for b in bad[:3]]
        raise InputValueError(
            f"{name} has {bad.size} non-finite dissimilarit{'y' if bad.size == 1 else 'ies'} (NaN or inf) among the "
            f"data's conditions, e.g. {', '.join(pairs)}; a model must predict every pair. Fill them in, or leave "
            "those conditions out of the data and the model.")
    return vec


# ----------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------
class HypothesisResult:
    """Crossvalidated comparison of hypotheses, tested over independent units.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per hypothesis: ``model, mean, sem, ci_low, ci_high, p_zero,
        noise_ceiling_lower, noise_ceiling_upper, method, n_units, dof,
        variance_method, n_valid_units`` (and ``boot_ci_low, boot_ci_high``
        when ``n_boot > 0``).  ``mean`` is the mean crossvalidated score over
        units; ``ci_*`` its t interval (level ``ci``); ``p_zero`` one-sided
        (score > 0).
    pairwise : pandas.DataFrame
        One row per pair (each pair once): ``model_a, model_b, mean_diff, sem, mc_se, ci_low,
        ci_high, p, p_corrected, correction, significant, n_units, dof, variance_method``
        (two-sided, H0: equal mean crossvalidated score; ``significant`` at the
        corrected p).
    stages : pandas.DataFrame or None
        The stage-resolved tests (several stages; ``None`` for one): one row per pair and stage, columns
        ``model_a, model_b, stage, score_a, score_b, mean_diff, sem, ci_low, ci_high, p, p_corrected,
        correction, significant, n_units, dof, variance_method``.  ``score_*`` is a hypothesis's mean
        crossvalidated score on that stage alone -- at the fits of the same training folds as ``pairwise``
        (a network's time map and ``lam`` fitted to the whole trajectory), scored by the same statistics
        (stacked scoring: the stage's RDMs alone) -- and ``sem`` the leave-one-unit-out jackknife of the
        difference, as in ``pairwise``.  ``p_corrected`` corrects over the whole family (pairs x stages).  A
        network significantly below the feature baseline at some stage has failed there: the data at that
        stage are not what it predicts once its time course is fitted to all stages (a note says so).  The
        whole-trajectory test can miss such a failure when the other stages fit well (one misfit stage is
        diluted in the stacked score, where early, small RDMs weigh little).  ``correction="shaffer"`` is
        applied here as Holm (Shaffer's logical counts hold for one family of all pairs, not for pairs x
        stages; the ``correction`` column names what was used).  Calibration
        (``benchmarks/results/calibration_inference_stages*.md``, 16 subjects, 3 stages, 20 trials per cell):
        true networks fail a stage in 0.00-0.10 of trials at the default grid (``n_lam=24, n_times=81``;
        0.25-0.30 at the coarser 8 and 41 when the stages sit early in learning: that grid leaves the fits off
        the true time course); networks whose modes were learned in the wrong order fail in 0.10-0.40, far from
        always: when the order shows in one early stage only, that stage's signal is small.  With 32 subjects
        (t = 3, 6, 12) they fail in 0.75-0.80 (the whole-trajectory test: 0.45-0.50), true networks in 0.05.
    unit_scores : pandas.DataFrame
        The crossvalidated score of every unit (rows) under every hypothesis (columns).
    folds : pandas.DataFrame
        What each hypothesis chose in each training fold (width, ``lam``, time
        parameters; feature weights for the baseline).
    result : rsatoolbox.inference.Result
        The same evaluations, variances and ``dof`` as an rsatoolbox Result
        (for ``plot_model_comparison``, ``summary()``).  Its models are the real
        ones, fitted on all units (for several stages: at the last stage; every
        stage is in ``fits``).
    fits : pandas.DataFrame
        Every hypothesis fitted on all units, one row per stage: ``model,
        stage, theta, object``.  ``object`` is a fitted copy of the
        :class:`~rsa_lineardyn.LinearNetworkModel` (``theta_`` set:
        ``object.predict_rdm()`` is the fitted RDM), the feature baseline as an
        rsatoolbox ``ModelWeighted`` with its weights in ``theta``, or the
        user's fixed model.  The crossvalidated scores come from fits inside
        each training fold (``folds``), never from these.
    messages : list of str
    settings : dict
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    @property
    def models(self):
        return [h for h in self.table["model"]]

    def to_dataframe(self):
        return self.table.copy()

    def summary(self):
        s = self.settings
        lines = [f"crossvalidated comparison ({s['method']}, {s['n_units']} units = {s['unit_descriptor']!r}, "
                 f"{s['cv']}; {s['n_stages']} stage(s)):"]
        for _, r in self.table.iterrows():
            lines.append(f"  {r['model']}: {r['mean']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]")
        for _, r in self.pairwise.iterrows():  # every pair once, the better-scoring model first
            a, b, d = ((r["model_a"], r["model_b"], r["mean_diff"]) if not r["mean_diff"] < 0
                       else (r["model_b"], r["model_a"], -r["mean_diff"]))
            corr = (f", {r['correction']} p = {r['p_corrected']:.3g}{' *' if r.get('significant') else ''}"
                    if "p_corrected" in r else "")
            lines.append(f"  {a} - {b}: {d:+.4f}, p = {r['p']:.3g}{corr} (dof {r['dof']}, {r['variance_method']})")
        lines.extend(f"  note: {m}" for m in self.messages)
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()


# ----------------------------------------------------------------------------
# the entry point
# ----------------------------------------------------------------------------
def evaluate_hypotheses(data_rdms, hypotheses, task, *, method="corr", baseline="modes", baseline_weights="per_stage",
                        models=None, subject_descriptor="auto", stage_descriptor="auto", condition_descriptor="auto",
                        stage_order=None, time_map="linear", time_offset=False, time_bounds=None, n_times=81, n_lam=24,
                        lam_bounds=None, stage_scale="auto", n_folds=None, n_boot=0, ci=0.95, correction="holm", sigma_k=None,
                        random_state=0, mc_replicates=1, n_jobs=1, backend=None, progress=None, seed=UNSET):
    """Crossvalidated comparison of hypotheses, tested over subjects (the unit of replication).

    Parameters
    ----------
    data_rdms : rsatoolbox.rdm.RDMs
        One RDM per subject (and per session/run and stage); conditions carry
        item labels matching ``task.labels`` (any order: matched by label).
    hypotheses : dict or list
        ``name -> model``: a :class:`LinearNetworkModel` (its free parameters
        fitted in each training fold), a list of them (one hypothesis: the
        best of them is chosen in each training fold, e.g. all widths up to
        3), or a fixed rsatoolbox model (``ModelFixed``, matched to the data's
        conditions by its item labels).  Every model is matched to the data's
        conditions by label: one built without ``item_order`` is used over the
        data's items in the data's order; one built with ``item_order`` must
        match it (an error otherwise).  A list of models is named by
        ``model.name``; the fitted models in ``result`` and ``fits`` carry the
        hypothesis names.
    task : Task
        The task the subjects learned.
    method : str, default "corr"
        rsatoolbox comparison method.  ``"corr"``/``"cosine"``/``"spearman"`` are
        fast, ``"rho-a"`` is vectorised (about 2.5x ``corr``); other methods
        call ``rsatoolbox.rdm.compare`` for every prediction (``"tau-a"``:
        about 18x ``corr``, with a warning).
    baseline : {"modes", "features", None}, default "modes"
        Adds the flexible feature model (name starting ``"feature model"``):
        non-negative weights on the task's mode RDMs (or output-feature RDMs),
        fitted in each training fold and scored on the held-out subjects
        exactly as the networks are.
    baseline_weights : {"per_stage", "shared"}, default "per_stage"
        ``"per_stage"``: the feature weights are free per stage of learning,
        so the baseline can change over learning as a network does -- the fair
        rival: a network beats it only through the order and timing its
        dynamics impose.  ``"shared"``: one set of weights for all stages (a
        static feature model: it cannot express learning at all, so any
        network that learns "wins" against it; named so in the table).
    models : list of rsatoolbox Model, optional
        Further fixed models (e.g. category models), added to the comparison.
    subject_descriptor : "auto", str or None
        rdm descriptor of the units (``"auto"``: ``subject``, ``participant``,
        ``subj``, ``sub``; when none is present but another descriptor groups
        the RDMs, an error asks which it is).  ``None``: each RDM is a unit
        (only allowed for a single stage).
    stage_descriptor : "auto", str or None
        Stages of learning (``"auto"``: ``stage``, ``epoch``, ``time``; never
        ``session``); several stages are compared on the whole trajectory with
        the stage-time map fitted inside each training fold.
    condition_descriptor : "auto" or str
        Pattern descriptor with the condition (item) labels (``"auto"``:
        ``item``, ``conds``, ``label``, ...; an error when several differ).
    stage_order : list, optional
        The stages in learning order; required for text stage labels (never
        sorted alphabetically), checked against numeric ones.
    time_map, time_offset, time_bounds
        As in :func:`rsa_lineardyn.fit_rdms`.
    n_times, n_lam : int, default 81 and 24
        Grids of the fold fits (times or stage-time maps, and ``lam``).  The
        defaults were 41 and 8 before 2026-12-07: that grid left the fold
        fits of a true network off its time course, which cost power (truth
        N_h = 2 vs wide, Holm: 0.72 at 41 x 8, 0.88 at 81 x 24, 25 trials
        each) and made the stage-resolved test reject true networks early in
        learning (0.25-0.30 vs 0.00-0.10); false positives under pure noise
        stayed 0/40 at both (``benchmarks/results/calibration_inference_finegrid.md``).
        The finer grid costs about 3-4x (a 92-image comparison of three
        widths: 3-5 s -> 13-15 s).
    lam_bounds : (low, high) or None, default None
        The ``lam`` range the fold fits of networks with a free ``lam``
        search (``2 n_lam - 1`` values, dense near 0, both ends included,
        each width keeping the signs it allows).  ``None``: 4 x the task's
        largest singular value on each side.  Fold fits at an end are
        flagged (``folds["edge"]``, ``messages``).
    stage_scale : {"auto", "shared", "separate"}, default "auto"
        How several stages are scored (:mod:`rsa_lineardyn.inference.scorer`, the one
        scorer shared with :func:`rsa_lineardyn.fit_rdms`): ``"shared"``
        stacks each subject's RDMs of all stages into one vector (scale-free
        overall), so how much the geometry grows or changes between stages
        counts; ``"separate"`` scores every RDM on its own.  ``"auto"``:
        ``"shared"`` for ``corr``/``cosine`` with a linear time map.
        ``"shared"`` needs the stages measured on one common scale (same
        voxels/channels and dissimilarity estimator, e.g. crossnobis).
    n_folds : int, optional
        Folds over units (default: leave one unit out).
    n_boot : int, default 0
        If > 0 (at least 2), also a percentile interval from a bootstrap over
        units of the whole crossvalidation (``boot_ci_low``, ``boot_ci_high``).
    ci : float, default 0.95
        Level of intervals; ``1 - ci`` is the significance level of the
        ``significant`` column.
    correction : {"holm", "shaffer", "bonferroni", "none"}, default "holm"
        Family-wise correction of the pairwise p-values (every pair listed
        once): ``p_corrected`` and ``significant`` use it; the method is in
        ``settings`` and in every row.  ``"shaffer"`` is Holm's step-down
        with the logical constraints of pairwise equalities (with three
        models, once one pair differs at most one other can be equal): the
        same family-wise guarantee, never fewer rejections
        (``rsa_lineardyn.inference.multiplicity.correct_pvalues``).
    sigma_k : ndarray, optional
        For the ``*_cov`` methods.
    random_state : None, int or Generator, default 0
        Fold assignment (``n_folds``) and bootstrap draws, both over the units
        sorted by label (the same data in another row order give the same
        result).  (The Monte-Carlo
        draws of the networks' expected geometry are the models' own
        ``seed``/``n_draws``, recorded per hypothesis in ``settings["draws"]``;
        :func:`compare_widths` and :func:`compare_regimes` set them from
        their ``random_state`` and ``n_draws``.)
    mc_replicates : "auto" or int, default 1
        Blocks of Monte-Carlo draws behind the networks' expected geometry
        over random starts (``init="random"``).  Block 0 is each model's own
        ``n_draws`` draws (its ``seed``); block ``r`` has as many draws with a
        seed derived from that seed and ``r``.  The networks predict the mean
        over the blocks (``blocks x n_draws`` draws) and the whole
        crossvalidation runs on it; the crossvalidation rerun with each block
        left out gives a delete-a-block jackknife Monte-Carlo SE of every
        reported mean (``mc_se``, beside the sampling ``sem`` in ``table`` and
        ``pairwise``).  The pairwise p-values and intervals use
        ``sqrt(sem^2 + mc_se^2)`` (``variance_method`` says so).  Why blocks:
        the fold fits pick their parameters on flat training profiles, so a
        draw set moves both the prediction and which parameters a fold picks,
        and the fits follow draw noise that happens to match the data
        (``benchmarks/results/seed_spread_diagnosis.md``).  ``"auto"``: 4
        blocks, doubled (up to 16) while some pair has ``mc_se > 0.2 sem``; a
        note says when 16 do not suffice.  ``1`` (the default): the models'
        own draws only; their Monte-Carlo SE comes from the same jackknife
        over 4 groups of those draws (antithetic pairs kept whole; the
        crossvalidation rerun with each group left out, on the draws already
        solved: 1.2-1.5x the cost of a call on the 92 images), and the p-values count it.
        With 4 groups that SE has 3 degrees of freedom, and it measures the
        error of one draw set, which the pooled blocks shrink.  Too few draws
        to split (fewer than 4 antithetic pairs): no Monte-Carlo SE, and a
        note says the p-values leave it out.  Use ``"auto"`` for the
        analysis you report: on the bundled 92-image data it cut the spread
        of a mean difference across draw seeds from up to 0.96 of its
        sampling SE to 0.43 and made 11 of 12 raw verdicts agree across seeds
        (10 with one draw set), at 13-18x the cost of a call before one draw
        set computed its own Monte-Carlo SE, 9-12x since (59 s CPU against
        4.8-6.4 s for three widths on the 92 images;
        ``benchmarks/results/seed_spread_cost_grid81.md``).  Cost: about one scoring of the
        networks per block.  Recorded in ``settings``
        (``mc_replicates``, ``mc_replicates_used``, ``mc_groups``; the
        blocks' seeds in ``draws``).
    n_jobs, backend
        joblib parallelism over models when scoring (as in ``fit_rdms``).
    progress : bool, optional
        Default: only when stderr is a terminal.
    seed
        Deprecated name of ``random_state``.

    Returns
    -------
    HypothesisResult
    """
    from threadpoolctl import threadpool_limits

    a = _Args(data_rdms, hypotheses, task, locals())
    with threadpool_limits(1):
        hyps = _build_hypotheses(a, hypotheses, models)
        design, rows = _design(a, hyps)
        free = [m.name for h in hyps if h.kind == "network" for m in h.models if m.lam is None]
        if a.lam_bounds is not None and not free:
            a.messages.append(f"lam_bounds = {a.lam_bounds} has no effect: every network model has a fixed lam")
        engines = _plan_subsets(a, hyps)
        try:
            tensors, stage_tensors = _score_hypotheses(a, hyps, design, rows)
            cv = _crossvalidate(a, hyps, tensors, design, rows, stage_tensors)
        finally:
            for eng in engines:  # the user's models: no subsets beyond this call
                eng.set_subsets(None)
    return _result(a, cv["hyps"], design, rows, cv["tensors"], cv)


def _split(a, hyps):
    """The random-start models whose one draw set gets the within-set Monte-Carlo SE (:data:`MC_GROUPS` groups),
    or ``[]`` (other ``mc_replicates``, no such models, or too few draws to split)."""
    pooled = [m for h in hyps if h.kind == "network" for m in h.models if DrawBlocks.pooled(m)]
    ok = pooled and a.mc_replicates == 1 and all(DrawBlocks.splittable(m, MC_GROUPS) for m in pooled)
    return pooled if ok else []


def _plan_subsets(a, hyps):
    """Tell the split models' engines to estimate on the groups' subsets beside every full estimate (one solve of
    the draws serves all); returns those engines."""
    engines = []
    for m in _split(a, hyps):
        eng = m._engine
        if hasattr(eng, "set_subsets") and eng not in engines:
            eng.set_subsets([DrawBlocks.group_keep(m, MC_GROUPS, g) for g in range(MC_GROUPS)])
            engines.append(eng)
    return engines


class _Args:
    """The checked arguments of one :func:`evaluate_hypotheses` call."""

    def __init__(self, data_rdms, hypotheses, task, kw):
        data_rdms = with_condition_labels(_as_rdms(data_rdms), kw["condition_descriptor"])
        _check_task(task)
        check_labelled(data_rdms, task)  # conditions are matched to items by label, never by position
        self.data_rdms, self.task = data_rdms, task
        self.method = check_comparison_method(kw["method"])
        check_choice(kw["stage_scale"], "stage_scale", STAGE_SCALES)
        if kw["baseline"] not in _BASELINES:
            raise InputValueError(f"`baseline` must be one of 'modes', 'features', None; got {kw['baseline']!r}.")
        check_choice(kw["baseline_weights"], "baseline_weights", ("per_stage", "shared"))
        check_choice(kw["correction"], "correction", _CORRECTIONS)
        self.reading = DataReading.checked(kw["subject_descriptor"], kw["stage_descriptor"], kw["condition_descriptor"],
                                           kw["stage_order"])
        self.grid = TimeGrid.checked(kw["time_map"], kw["time_offset"], kw["time_bounds"], kw["n_times"], kw["n_lam"])
        self.lam_bounds = None
        if kw["lam_bounds"] is not None:
            self.lam_bounds = check_bounds(kw["lam_bounds"], "lam_bounds", strict_order=True)
            for v in self.lam_bounds:
                check_lam(v, "lam_bounds")
        self.resampling = Resampling.checked(kw["n_boot"], kw["ci"], kw["random_state"], kw["seed"],
                                             "evaluate_hypotheses")
        self.run = Execution.checked(kw["n_jobs"], kw["backend"], kw["progress"], kw["subject_descriptor"],
                                     kw["stage_descriptor"])
        self.mc_replicates = _check_mc_replicates(kw["mc_replicates"])
        self.n_folds = None if kw["n_folds"] is None else check_positive_int(kw["n_folds"], "n_folds", minimum=2)
        self.sigma_k = check_sigma_k(kw["sigma_k"], data_rdms.n_cond)
        for k in ("baseline", "baseline_weights", "stage_scale", "correction"):
            setattr(self, k, kw[k])
        if self.method in _SLOW_METHODS:
            warnings.warn(
                f"method {self.method!r} scores every prediction with rsatoolbox.rdm.compare (no vectorised form): "
                f"about {_SLOW_METHODS[self.method]} slower than 'corr' (measured on the 92-image data). 'rho-a' "
                "(rank-based, vectorised) is the fast alternative; n_jobs= spreads the work over cores.",
                UserWarning, stacklevel=3)


def _build_hypotheses(a, hypotheses, models):
    """The user's hypotheses, further fixed models and the feature baseline, as internal hypothesis objects."""
    from rsatoolbox.model import Model

    hyps = _as_hypotheses(hypotheses, a.task, a.data_rdms)
    if models is not None:
        models = list(models) if isinstance(models, (list, tuple)) else [models]
        bad = [m for m in models if not isinstance(m, Model)]
        if bad:
            raise InputTypeError(f"`models` must be a list of fixed rsatoolbox models (ModelFixed), got {bad[0]!r} "
                                 f"({type(bad[0]).__name__}); pass models=None (or []) for none.")
        extra = _as_hypotheses(models, a.task, a.data_rdms) if models else []
        if any(h.kind != "fixed" for h in extra):
            raise InputTypeError("`models` must be fixed rsatoolbox models (ModelFixed); put networks in `hypotheses`.")
        hyps += extra
    if a.baseline is not None:
        names, F = feature_rdms(a.task, a.data_rdms, a.baseline)
        what = "mode" if a.baseline == "modes" else "feature"
        hyps.append(_Feature(f"feature model ({len(names)} {what} RDMs)", F, names, a.baseline_weights == "per_stage"))
    if len({h.name for h in hyps}) != len(hyps):
        raise InputValueError(f"hypothesis names must be distinct, got {[h.name for h in hyps]}.")
    return hyps


def _design(a, hyps):
    """Units, stages and the time grid; the rows of the score tensors (RDMs, or units' stacked trajectories)."""
    nets = [h for h in hyps if h.kind == "network"]
    scales = [m.scale for h in nets for m in h.models]
    scales += [10.0 ** m.bounds[m.param_names.index("log10_scale")][0] for h in nets for m in h.models
               if m.fit_scale]
    tau = nets[0].models[0].tau if nets else 1.0
    design = make_design(a.data_rdms, a.task, subject_descriptor=a.reading.subject_descriptor,
                         stage_descriptor=a.reading.stage_descriptor, stage_order=a.reading.stage_order, time_map=a.grid.time_map,
                         time_offset=a.grid.time_offset, time_bounds=a.grid.time_bounds, n_times=a.grid.n_times,
                         min_scale=min(scales) if scales else 0.1, tau=tau)
    a.messages = list(design.messages)
    for h in hyps:  # with several stages, the baseline's name says whether its weights may change over learning
        if h.kind == "feature" and not design.snapshot:
            h.name = h.name[:-1] + (", weights per stage)" if h.per_stage else ", one set of weights for all stages)")
    if design.subjects is None:
        if not design.snapshot:
            raise InputValueError(
                "`data_rdms` hold several stages but no subject descriptor: the stages of one subject are not "
                "independent units. Add an rdm descriptor 'subject' (or pass subject_descriptor=)."
            )
        unit_of, a.unit_names, a.unit_key = np.arange(design.n_rdm), [str(i) for i in range(design.n_rdm)], "index"
        a.messages.append("no subject descriptor: every RDM is taken as an independent unit (subject)")
    else:
        unit_of, a.unit_names, a.unit_key = design.subject_of, design.subjects, design.subject_key
    n_units = len(a.unit_names)
    empty = unit_matrix_check(design, unit_of, n_units)
    if empty.size:
        raise InputValueError(
            f"unit(s) {[a.unit_names[u] for u in empty[:5]]} have no valid dissimilarity (every value NaN, or fewer "
            "than 3 valid in each of their RDMs); drop them from `data_rdms`.")
    if n_units < 3:
        raise InputValueError(
            f"hypothesis tests need at least 3 independent units (subjects), got {n_units}: with 2, the "
            "leave-one-out jackknife has 1 degree of freedom and no usable variance. Sessions or runs of one "
            "subject are not independent; report fit_rdms's profile and intervals instead.")
    if n_units < 5:
        a.messages.append(f"only {n_units} units: tests have {n_units - 1} degrees of freedom and little power")
    stage_scale, note = resolve_stage_scale(a.stage_scale, a.method, design)
    if note:
        a.messages.append(note)
    a.stage_scale_used = stage_scale
    rows = Rows(design, unit_of, n_units, stage_scale == "shared")
    _report_missing(a, design, unit_of, n_units)
    return design, rows


def _report_missing(a, design, unit_of, n_units):
    """A note on missing dissimilarities: how many units and pairs per unit the scores use."""
    note = missing_note(design, unit_of, n_units)
    if note:
        a.messages.append(note)


def _score_hypotheses(a, hyps, design, rows):
    """Score tensor of every network hypothesis (rows x candidates x time parameters); fixed models' row scores.

    Also, for several stages scored jointly, every hypothesis's scores on each stage alone from the same
    statistics (the stage-resolved test's input; ``None`` entries where the rows already are RDMs, the whole list
    ``None`` for one stage)."""
    tensors, stages = [], []
    unit_of = rows.rdm_unit
    for h in hyps:
        if h.kind == "network":
            cands = h.candidates(a.grid.n_lam, a.lam_bounds)
            check_score_memory(design, len(cands), rows.shared, what=f"hypothesis {h.name!r}")
            kw = dict(n_jobs=a.run.n_jobs, backend=a.run.backend, progress=a.run.progress, what=f"hypothesis {h.name}")
            R, stats = score_rows(design, cands, a.method, a.sigma_k, unit_of, rows.n_units, rows.shared, **kw)
            h.cands = cands
            tensors.append(R)
            stages.append(stage_unit_scores(stats, design.stage_of, design.K, unit_of, rows.n_units)
                          if rows.shared else None)
        elif h.kind == "fixed":
            units = np.arange(rows.n_units)
            tensors.append(static_scores(h.vector, design, rows, units, a.method, a.sigma_k))
            stages.append(static_unit_scores(np.broadcast_to(h.vector, (design.K, h.vector.size)), design, rows,
                                             units, a.method, by_stage=True) if rows.shared else None)
        else:
            tensors.append(None)
            stages.append(None)
    return tensors, (None if design.snapshot else stages)


def _crossvalidate(a, hyps, tensors, design, rows, stage_tensors=None):
    """Crossvalidated per-unit scores, their jackknife, the bootstrap, the noise ceiling (one dict); with
    ``stage_tensors`` also the per-stage scores and their jackknife (``SK``, ``JK``) at the same fold fits; with
    random-start networks, all on their geometry pooled over blocks of draws, with its Monte-Carlo SE
    (:func:`~.crossval.mc_blocks`)."""
    folds, cv_name = unit_folds(rows.n_units, a.n_folds, a.resampling.rng, names=a.unit_names)
    means = unit_stage_means(design.data, design.stage_of, rows.rdm_unit, rows.n_units, design.K)
    ctx = (design, rows, means, a.method, a.sigma_k)
    canon = by_label(a.unit_names)  # draws over units sorted by label: the same for the data in another row order
    boot_counts = [np.bincount(canon[a.resampling.rng.integers(0, rows.n_units, rows.n_units)],
                               minlength=rows.n_units) for _ in range(a.resampling.n_boot)]
    pooled = [m for h in hyps if h.kind == "network" for m in h.models if DrawBlocks.pooled(m)]
    random = bool(pooled)
    split = bool(_split(a, hyps))
    blocks = DrawBlocks(hyps)
    ones = np.ones(rows.n_units, dtype=int)

    def run(R):
        hr, (T, ST) = (hyps, (tensors, stage_tensors)) if R == 1 else (blocks.hypotheses(R), (None, None))
        if T is None:
            T, ST = _score_hypotheses(a, hr, design, rows)
        record = []
        out = cv_once(hr, T, ctx, folds, boot_counts, record, ST)
        variants = ([blocks.hypotheses(R, r) for r in range(R)] if R > 1
                    else [blocks.split(MC_GROUPS, g) for g in range(MC_GROUPS)] if split else [])
        loo = [run_cv(hr, _rescored(a, v, hyps, tensors, design, rows), ctx, ones, folds, None) for v in variants]
        return dict(out, record=record, hyps=hr, tensors=T, loo=loo)

    mc = mc_blocks(run, a.mc_replicates if random else 1, a.resampling.ci)
    mc["asked"] = a.mc_replicates if random else 1
    mc["groups"] = MC_GROUPS if split and mc["blocks"] == 1 else None
    if random and mc["blocks"] == 1:
        n_draws = sorted({int(m.n_draws) for m in pooled})
        a.messages.append(
            f"the networks' expected geometry over random starts is one Monte-Carlo draw set ({n_draws[0] if len(n_draws) == 1 else n_draws} "
            "draws, mc_replicates=1)"
            + (f": its Monte-Carlo SE (mc_se) comes from leaving out each of {MC_GROUPS} groups of those draws in turn "
               f"and the p-values count it, but with {MC_GROUPS} groups that SE is itself rough ({MC_GROUPS - 1} "
               "degrees of freedom) and the fold fits can follow draw noise on flat profiles"
               if split else ": the p-values leave its error out (too few draws to split into groups), and the fold "
               "fits can follow draw noise on flat profiles")
            + ", so a verdict near the threshold can move with random_state. For the analysis you report use "
            "mc_replicates='auto' (pooled blocks of draws; about 9-12x the cost of this call).")
    nc_lo, nc_hi = noise_ceiling(means, design, rows, a.method, a.sigma_k)
    return dict(mc, folds=folds, cv_name=cv_name, nc=(nc_lo, nc_hi), means=means, mc=mc)


def _rescored(a, variant, hyps, tensors, design, rows):
    """Score tensors of ``variant`` (hypotheses with other draws): only the hypotheses it replaced are scored again;
    the others (the feature baseline, fixed models, networks without random starts) keep their tensors."""
    out = list(tensors)
    redo = [j for j, (h, h0) in enumerate(zip(variant, hyps)) if h is not h0]
    for j, T in zip(redo, _score_hypotheses(a, [variant[j] for j in redo], design, rows)[0]):
        out[j] = T
    return out


def _check_mc_replicates(value):
    if isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, str):
        raise InputValueError(f"`mc_replicates` must be 'auto' or a positive int, got {value!r}.")
    return check_positive_int(value, "mc_replicates", maximum=MC_MAX_ASKED,
                              why="each replicate reruns the scoring of every network on a new draw set")


def _result(a, hyps, design, rows, tensors, cv):
    """Tables, notes and the rsatoolbox Result of a crossvalidated comparison."""
    S, J, boot = cv["S"], cv["J"], cv["boot"]
    nc_lo, nc_hi = cv["nc"]
    names = [h.name for h in hyps]
    folds_df = _folds_table(cv["record"], design, a.unit_names, cv["folds"], hyps)
    table = _model_table(a, hyps, S, J, boot, nc_lo, nc_hi, rows.n_units, folds_df)
    pairwise = _pairwise_table(a, names, S, J, boot)
    _mc_columns(a, cv["mc"], table, pairwise)
    stages = _stage_table(a, names, cv["SK"], cv["JK"], design.stages)
    _notes(a, hyps, S, pairwise, table, tensors, folds_df, design)
    _stage_verdicts(a, hyps, stages)
    unit_scores = pd_frame(S, names, a.unit_names)
    # keyed by hypothesis (two hypotheses' models may share a name such as 'linear h=2'); a width range per width
    draws = {(h.name if len(h.models) == 1 else f"{h.name} ({m.name})"): _draw_record(m)
             for h in hyps if h.kind == "network" for m in h.models}
    settings = dict(method=a.method, n_units=rows.n_units, unit_descriptor=a.unit_key, cv=cv["cv_name"],
                    n_stages=design.K, stages=design.stages, stage_descriptor=design.stage_key,
                    stage_order=[str(s_) for s_ in design.stages],
                    time_map="snapshot" if design.snapshot else a.grid.time_map, n_times=a.grid.n_times, n_lam=a.grid.n_lam,
                    lam_bounds=a.lam_bounds,
                    n_boot=a.resampling.n_boot, ci=a.resampling.ci, baseline=a.baseline, baseline_weights=a.baseline_weights,
                    stage_scale=a.stage_scale_used, correction=a.correction, random_state=a.resampling.random_state,
                    draws=draws, time_bounds=(design.t_lo, design.t_hi), mc_replicates=cv["mc"]["asked"],
                    mc_replicates_used=cv["mc"]["blocks"], mc_groups=cv["mc"]["groups"], mc_target=MC_TARGET)
    fitted = _fitted_models(a, hyps, design, rows, tensors, cv["means"])
    result = _rsatoolbox_result(hyps, S, J, a.method, nc_lo, nc_hi, [f[-1]["object"] for f in fitted])
    fits = pd_records([r for f in fitted for r in f])
    return HypothesisResult(table=table, pairwise=pairwise, stages=stages, unit_scores=unit_scores, folds=folds_df,
                            result=result,
                            fits=fits, messages=a.messages, settings=settings, seed=a.resampling.random_state,
                            random_state=a.resampling.random_state, hypotheses=hyps)


def _draw_record(m):
    """What settings["draws"] records of a network model: draws per block, blocks and their seeds, init."""
    seeds = getattr(m, "mc_blocks_", [int(m.seed)])
    return {"n_draws": int(m.n_draws), "seed": int(seeds[0]), "init": m.init, "blocks": len(seeds),
            "block_seeds": [int(x) for x in seeds], "total_draws": int(m.n_draws) * len(seeds)}


def _mc_columns(a, mc, table, pairwise):
    """``mc_se`` beside ``sem`` in both tables; the pairwise p-values and intervals count it (the Monte-Carlo error
    of the pooled geometry and the sampling error are independent); a note when it is not small."""
    table.insert(table.columns.get_loc("sem") + 1, "mc_se", mc["model_mc_se"])
    pairwise.insert(pairwise.columns.get_loc("sem") + 1, "mc_se", mc["pair_mc_se"])
    ci = a.resampling.ci
    for i in range(len(pairwise)):
        row = pairwise.iloc[i]
        st = with_mc_error(dict(mean=row["mean_diff"], sem=row["sem"], ci_low=row["ci_low"], ci_high=row["ci_high"],
                                p=row["p"], dof=row["dof"], variance_method=row["variance_method"]), row["mc_se"], ci)
        for k in ("ci_low", "ci_high", "p", "variance_method"):
            pairwise.iloc[i, pairwise.columns.get_loc(k)] = st[k]
    pairwise["p_corrected"] = correct_pvalues(pairwise["p"].to_numpy(dtype=float), a.correction, n_models=len(table))
    pairwise["significant"] = pairwise["p_corrected"] < 1 - ci
    R = mc["blocks"]
    with np.errstate(invalid="ignore", divide="ignore"):
        big = pairwise[pairwise["mc_se"] > MC_TARGET * pairwise["sem"]]
    if R > 1 and len(big):
        worst = big.iloc[int(np.argmax((big["mc_se"] / big["sem"]).to_numpy()))]
        a.messages.append(
            f"Monte-Carlo error not negligible with {R} blocks of draws: {len(big)} pair(s) have mc_se > "
            f"{MC_TARGET:g} x sem (largest: {worst['model_a']} vs {worst['model_b']}, mc_se {worst['mc_se']:.2g}, "
            f"sem {worst['sem']:.2g}); their p-values count it, but their means may move with random_state. Raise "
            "mc_replicates or n_draws.")


def pd_records(records):
    import pandas as pd

    return pd.DataFrame(records, columns=["model", "stage", "theta", "object"])


def _fitted_models(a, hyps, design, rows, tensors, means):
    """Every hypothesis fitted on all units, one record per stage: ``model, stage, theta, object``.

    A network hypothesis: its best candidate on all units (width, ``lam``, scale) with the time of each stage, as a
    copy of the :class:`LinearNetworkModel` whose ``theta_`` is set (so ``predict_rdm()`` gives the fitted RDM).
    The feature baseline: an rsatoolbox ``ModelWeighted`` over the feature RDMs, ``theta`` its non-negative weights
    (per stage when they are free per stage).  A fixed model: the user's own object.
    """
    ones = np.ones(rows.unit.size)
    all_units = np.ones(rows.n_units)
    out = []
    for j, h in enumerate(hyps):
        if h.kind == "network":
            recs = _fitted_network(h, tensors[j], ones, design, rows)
        elif h.kind == "fixed":
            recs = [dict(model=h.name, stage=st, theta=None, object=_named(h.model, h.name)) for st in design.stages]
        else:
            coef = np.atleast_2d(feature_weights(h.F, means, all_units, a.method, stacked=rows.shared,
                                                 per_stage=h.per_stage))
            model = _feature_model(h, a.data_rdms)
            recs = [dict(model=h.name, stage=st, theta=coef[min(k, coef.shape[0] - 1)].copy(), object=model)
                    for k, st in enumerate(design.stages)]
        out.append(recs)
    return out


def _fitted_network(h, R, w, design, rows):
    _, choice = fold_network(R, w, design, rows, np.empty(0, dtype=int))
    recs = []
    for k, st in enumerate(design.stages):
        if choice is None:  # no finite score: the template, unfitted
            recs.append(dict(model=h.name, stage=st, theta=None, object=_named(h.models[0], h.name)))
            continue
        c, g_path = choice
        model = h.cands.model_of(c)
        time = float(design.times[int(g_path[k]), k])
        theta = _theta(model, float(h.cands.lam[c]), float(h.cands.log10_scale[c]),
                       np.log10(time) if time > 0 else float(design.lt[0]))
        fitted = _named(model, h.name, always_copy=True)  # shares the prediction engine; only theta_ (and the name) differ
        fitted.theta_ = theta
        recs.append(dict(model=h.name, stage=st, theta=theta, object=fitted))
    return recs


def _named(model, name, always_copy=False):
    """``model`` itself when it has the hypothesis' name (and ``always_copy`` is false), else a shallow copy so
    named (the user's object is left alone): the rsatoolbox Result names its models as the table does."""
    import copy

    if getattr(model, "name", None) == name and not always_copy:
        return model
    out = copy.copy(model)
    out.name = name
    return out


def _feature_model(h, data_rdms):
    """The feature baseline as an rsatoolbox ``ModelWeighted`` over its RDMs (in the data's condition order)."""
    from rsatoolbox.model import ModelWeighted
    from rsatoolbox.rdm import RDMs

    rdms = RDMs(np.asarray(h.F, dtype=float), dissimilarity_measure="squared euclidean",
                rdm_descriptors={"feature": list(h.feature_names)},
                pattern_descriptors={k: list(v) for k, v in data_rdms.pattern_descriptors.items()})
    return ModelWeighted(h.name, rdms)


def pd_frame(S, names, unit_names):
    import pandas as pd

    out = pd.DataFrame(S, columns=names)
    out.insert(0, "unit", unit_names)
    return out


def _model_table(a, hyps, S, J, boot, nc_lo, nc_hi, n_units, folds_df):
    import pandas as pd

    rows = []
    for j, h in enumerate(hyps):
        st = t_summary(S[:, j], J[:, j], a.resampling.ci, two_sided=False)
        full = t_summary(S[:, j], J[:, j], a.resampling.ci)  # two-sided interval
        row = dict(model=h.name, kind=h.kind, mean=st["mean"], sem=st["sem"], ci_low=full["ci_low"],
                   ci_high=full["ci_high"], p_zero=st["p"], noise_ceiling_lower=nc_lo, noise_ceiling_upper=nc_hi,
                   method=a.method, n_units=n_units, n_valid_units=st["n"], dof=st["dof"],
                   variance_method=st["variance_method"], edge_fraction=_edge_fraction(folds_df, h))
        if boot is not None:
            row["boot_ci_low"], row["boot_ci_high"] = percentile(boot[:, j], a.resampling.ci)
        rows.append(row)
    return pd.DataFrame(rows)


def _edge_fraction(folds_df, h):
    """Fraction of the folds whose fit of hypothesis ``h`` sits at an edge of the searched grid (NaN: no fit)."""
    if h.kind != "network" or folds_df.empty or "at_edge" not in folds_df:
        return np.nan
    sel = folds_df.loc[folds_df["model"] == h.name, "at_edge"]
    return float(sel.astype(float).mean()) if len(sel) else np.nan


def _pairwise_table(a, names, S, J, boot):
    """Every pair once (in the listed order): raw p, family-wise corrected p, significance at ``1 - ci``."""
    import pandas as pd

    prow = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            st = t_summary(S[:, i] - S[:, j], J[:, i] - J[:, j], a.resampling.ci, tie_tol=TIE_TOL)
            row = dict(model_a=names[i], model_b=names[j], mean_diff=st["mean"], sem=st["sem"], ci_low=st["ci_low"],
                       ci_high=st["ci_high"], p=st["p"], n_units=st["n"], dof=st["dof"],
                       variance_method=st["variance_method"])
            if boot is not None:
                row["boot_ci_low"], row["boot_ci_high"] = percentile(boot[:, i] - boot[:, j], a.resampling.ci)
            prow.append(row)
    cols = ["model_a", "model_b", "mean_diff", "sem", "ci_low", "ci_high", "p", "p_corrected", "correction",
            "significant", "n_units", "dof", "variance_method"] + (["boot_ci_low", "boot_ci_high"] if boot is not None
                                                                   else [])
    df = pd.DataFrame(prow, columns=[c for c in cols if c not in ("p_corrected", "correction", "significant")])
    df["p_corrected"] = correct_pvalues(df["p"].to_numpy(dtype=float), a.correction, n_models=len(names))
    df["correction"] = a.correction
    df["significant"] = df["p_corrected"] < 1 - a.resampling.ci
    return df[cols]


#: The fit grid at which the stage-resolved verdicts were calibrated without false failures of a true network.
_FINE_GRID = {"n_lam": 24, "n_times": 81}

#: Columns of :attr:`HypothesisResult.stages`, the stage-resolved pairwise tests.
STAGE_COLUMNS = ["model_a", "model_b", "stage", "score_a", "score_b", "mean_diff", "sem", "ci_low", "ci_high", "p",
                 "p_corrected", "correction", "significant", "n_units", "dof", "variance_method"]


def _stage_table(a, names, SK, JK, stages):
    """Every pair at every stage: the crossvalidated scores on that stage alone (same folds and fits as the
    whole-trajectory test), the jackknife t-test of their difference, and one family-wise correction over the
    whole pairs x stages family.  ``None`` for one stage."""
    import pandas as pd

    if SK is None:
        return None
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                for k, stage in enumerate(stages):
                    st = t_summary(SK[:, i, k] - SK[:, j, k], JK[:, i, k] - JK[:, j, k], a.resampling.ci,
                                   tie_tol=TIE_TOL)
                    rows.append(dict(model_a=names[i], model_b=names[j], stage=stage, score_a=np.nanmean(SK[:, i, k]),
                                     score_b=np.nanmean(SK[:, j, k]), mean_diff=st["mean"], sem=st["sem"],
                                     ci_low=st["ci_low"], ci_high=st["ci_high"], p=st["p"], n_units=st["n"],
                                     dof=st["dof"], variance_method=st["variance_method"]))
    df = pd.DataFrame(rows)
    # Shaffer's logical counts are those of ONE family of all pairs; pairs x stages is not one: Holm, named so
    method = "holm" if a.correction == "shaffer" else a.correction
    df["p_corrected"] = correct_pvalues(df["p"].to_numpy(dtype=float), method)
    df["correction"] = method
    df["significant"] = df["p_corrected"] < 1 - a.resampling.ci
    return df[STAGE_COLUMNS]


def _stage_verdicts(a, hyps, stages):
    """A note for every network hypothesis that loses to the feature baseline at some stage (the falsification)."""
    if stages is None:
        return
    base = [h.name for h in hyps if h.kind == "feature"]
    for h in hyps:
        if h.kind != "network" or not base:
            continue
        sel = stages[(stages.model_a == h.name) & (stages.model_b == base[0]) & stages.significant
                     & (stages.mean_diff < 0)]
        if len(sel):
            where = "; ".join(f"stage {r.stage}: {r.score_a:.3g} vs {r.score_b:.3g}, difference {r.mean_diff:+.3g} "
                              f"(SE {r.sem:.2g}, {r.correction} p = {r.p_corrected:.2g})" for r in sel.itertuples())
            coarse = a.grid.n_lam < _FINE_GRID["n_lam"] or a.grid.n_times < _FINE_GRID["n_times"]
            a.messages.append(
                f"{h.name} fails at stage(s) {', '.join(str(x) for x in sel.stage)}: fitted to the whole trajectory, "
                f"its crossvalidated score on that stage alone is significantly below the feature baseline's ({where}; "
                f"family of {len(stages)} pair x stage tests, see `stages`). The geometry there is not one this "
                "network passes through at the time course that fits the rest of learning."
                + (f" Check it at a finer fit grid (n_lam={_FINE_GRID['n_lam']}, n_times={_FINE_GRID['n_times']}; "
                   f"here {a.grid.n_lam}, {a.grid.n_times}): in calibration a coarse grid left the fold fits of a true "
                   "network away from its time course, and 0.25-0.30 of such networks 'failed' a middle stage "
                   "(0.00-0.10 at the finer grid; benchmarks/results/calibration_inference_stages*.md)."
                   if coarse else ""))


def _notes(a, hyps, S, pairwise, table, tensors, folds_df, design):
    """Plain-language notes: undefined scores, undecided networks, ties, fits at a grid edge, equivalent models."""
    names = [h.name for h in hyps]
    lost = [a.unit_names[u] for u in range(S.shape[0]) if not np.isfinite(S[u]).any()]
    if lost:
        a.messages.append(
            f"unit(s) {lost} have an undefined {a.method!r} score for every hypothesis (constant or empty RDMs on "
            f"these conditions?): they are left out of every test, which runs on {S.shape[0] - len(lost)} units")
    bad = [names[j] for j in range(len(hyps)) if np.sum(np.isfinite(S[:, j])) < 2]
    if bad:
        msg = (f"hypotheses {bad} have an undefined {a.method!r} score in most units (constant predictions or data "
               "on these conditions?): their rows are NaN")
        a.messages.append(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
    nets = [h.name for h in hyps if h.kind == "network"]
    among = pairwise[pairwise.model_a.isin(nets) & pairwise.model_b.isin(nets)]
    if len(nets) > 1 and len(among) and not among["significant"].any():
        a.messages.append(
            f"the data cannot decide between {nets}: no pair differs at alpha = {1 - a.resampling.ci:.2g} after {a.correction} "
            f"correction (largest |mean difference| {among['mean_diff'].abs().max():.3g}, smallest corrected p = "
            f"{among['p_corrected'].min():.3g}). Report that the hypotheses are not distinguished, not the ranking "
            "of their means.")
    for r in pairwise.itertuples():
        if str(r.variance_method).startswith("tie"):
            a.messages.append(f"{r.model_a} and {r.model_b} tie: their crossvalidated scores differ by less than "
                              f"{TIE_TOL:g} in every unit (p = 1); the data cannot separate them")
    for r in table.itertuples():
        if np.isfinite(r.edge_fraction) and r.edge_fraction > 0.5:
            a.messages.append(_edge_note(r.model, r.edge_fraction, folds_df, design))
    _equivalent_networks(a, hyps, tensors)


def _equivalent_networks(a, hyps, tensors):
    """Name network hypotheses whose scores agree everywhere (to 1e-6): the data cannot tell them apart at all."""
    idx = [j for j, h in enumerate(hyps) if h.kind == "network"]
    for x in range(len(idx)):
        for y in range(x + 1, len(idx)):
            A, B = tensors[idx[x]], tensors[idx[y]]
            if A.shape == B.shape and np.allclose(A, B, rtol=0, atol=1e-6, equal_nan=True):
                a.messages.append(
                    f"{hyps[idx[x]].name} and {hyps[idx[y]].name} are equivalent on these data (their predictions "
                    "score the same to 1e-6 at every parameter value): a width beyond the task's rank, or one "
                    "that cuts tied singular values, adds nothing the data can see")


def _folds_table(record, design, unit_names, folds, hyps=None):
    """What every hypothesis chose in every training fold; ``at_edge``: a network fit at an edge of its grid."""
    import pandas as pd

    rows = []
    for f, h, choice in record:
        row = {"fold": f, "held_out": ",".join(unit_names[u] for u in folds[f]), "model": h.name}
        if h.kind == "network":
            if choice is None:
                row["n_hidden"] = np.nan
            else:
                c, g_path = choice
                row.update(n_hidden=int(h.cands.n_hidden[c]), lam=float(h.cands.lam[c]),
                           scale=float(10.0 ** h.cands.log10_scale[c]))
                row["edge"] = _at_edge(h, c, g_path, design)
                row["at_edge"] = bool(row["edge"])
                if design.snapshot:
                    row["time"] = float(design.times[int(g_path[0]), 0])
                elif design.free:
                    for k, st in enumerate(design.stages):
                        row[f"time[{st}]"] = float(design.times[int(g_path[k]), k])
                else:
                    row["rate"] = float(10.0 ** design.tparams[int(g_path[0]), 0])
        else:
            weights = np.atleast_2d(choice)
            if weights.shape[0] > 1 and not h.per_stage:
                weights = weights[:1]
            for k, wk in enumerate(weights):
                tag = f"[{design.stages[k]}]" if weights.shape[0] > 1 else ""
                for name, wgt in zip(h.feature_names, wk):
                    row[f"w[{name}]{tag}"] = float(wgt)
        rows.append(row)
    return pd.DataFrame(rows)


def _at_edge(h, c, g_path, design):
    """Which edges of the searched grid a fold's fit sits at: ``""`` (none), or ``"time (low)"``, ``"time (high)"``
    (the time / rate axis), ``"lam (low)"``, ``"lam (high)"`` (lam's searched range), joined by ``" + "``."""
    t_axis = np.unique(design.tparams[:, 0])
    t_val = design.tparams[np.asarray(g_path, dtype=int), 0]
    edges = []
    if np.any(t_val <= t_axis[0]):
        edges.append("time (low)")
    if np.any(t_val >= t_axis[-1]):
        edges.append("time (high)")
    lams = h.cands.lam[h.cands.group == h.cands.group[c]]
    lam = h.cands.lam[c]
    if lams.size > 1 and lam != 0 and lam in (lams.min(), lams.max()):
        edges.append("lam (low)" if lam == lams.min() else "lam (high)")
    return " + ".join(edges)


def _edge_note(model, fraction, folds_df, design):
    """The message for a network whose fold fits mostly sit at an edge: which edges, the searched ranges, the fix."""
    rows = folds_df.loc[folds_df["model"] == model]
    labels = [e for v in rows["edge"] for e in str(v).split(" + ") if e]
    count = {e: labels.count(e) for e in ("time (low)", "time (high)", "lam (low)", "lam (high)") if e in labels}
    which = ", ".join(f"{e} in {k} of {len(rows)} folds" for e, k in count.items())
    fixes = []
    if any(e.startswith("time") for e in count):
        fixes.append(f"the searched times run from {design.t_lo:.3g} to {design.t_hi:.3g}; by default the upper end is "
                     "where the task's slowest mode has converged at lam = 0, so a fit there means 'learning has "
                     "finished' (a lower bound on the time); widen them with time_bounds=(low, high) (CLI: "
                     "--time-bounds LOW,HIGH) if the edge is not a physical limit")
    if any(e.startswith("lam") for e in count):
        at = rows.loc[rows["edge"].astype(str).str.contains("lam"), "lam"].to_numpy(dtype=float)
        reach = float(3 * np.max(np.abs(at)))
        fixes.append(
            f"the fitted lam ({', '.join(sorted({f'{v:.3g}' for v in at}))}) is an end of the searched lam range "
            f"(by default 4 x the task's largest singular value): search further with lam_bounds=({-reach:.2g}, "
            f"{reach:.2g}) (CLI: --lam-bounds={-reach:.2g},{reach:.2g}). Beyond a few "
            "times the largest singular value the prediction changes little with |lam| (the lazy limit), so such a "
            "fit says '|lam| at least this large', not where |lam| is")
    return (f"{model}: {fraction:.0%} of the fold fits sit at an edge of the searched grid ({which}; see "
            f"folds['edge']): they are bounds, not estimates; " + "; ".join(fixes) + ".")


def _rsatoolbox_result(hyps, S, J, method, nc_lo, nc_hi, models):
    """An rsatoolbox Result with the real (fitted) models, our per-unit evaluations, the jackknife covariance of
    the means and dof."""
    from rsatoolbox.inference import Result

    ok = np.all(np.isfinite(S), axis=1) & np.all(np.isfinite(J), axis=1)
    n = int(ok.sum())
    if n >= 2:
        dev = J[ok] - J[ok].mean(axis=0)
        cov = (n - 1) / n * dev.T @ dev
    else:
        cov = np.full((len(hyps), len(hyps)), np.nan)
    ev = S.T[None]  # (1, n_models, n_units): "crossvalidation" means average over the last axis
    nc = np.array([[nc_lo], [nc_hi]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return Result(list(models), ev, method, "crossvalidation over units", nc, variances=cov, dof=max(n - 1, 1),
                      n_rdm=None, n_pattern=None)


def _nested(task, data_rdms, widths, model_kw):
    """Widths -> hypotheses: ints and "wide" are single models; a list/range of widths is one nested hypothesis."""
    hyps = {}
    for w in widths:
        if isinstance(w, (list, tuple, range)):
            group = width_models(task, data_rdms, list(w), **model_kw)
            hyps["N_h in {" + ", ".join(m.name.split("=", 1)[1] for m in group) + "}"] = group
        else:
            m = width_models(task, data_rdms, [w], **model_kw)[0]
            hyps[m.name] = m
    return hyps


#: Keywords that compare_widths / compare_regimes pass on to :func:`evaluate_hypotheses`.
_EVALUATE_KW = ("baseline", "baseline_weights", "models", "subject_descriptor", "stage_descriptor", "stage_order",
                "time_map", "time_offset", "time_bounds", "n_times", "n_lam", "lam_bounds", "stage_scale", "n_folds", "ci",
                "correction", "sigma_k", "mc_replicates", "n_jobs", "backend", "progress")
_WIDTH_MODEL_KW = ("representation", "measure", "scale", "lam", "init")


def _draw_kw(random_state, seed, n_draws, where):
    """``(random_state for the tests, model keywords seed/n_draws)``: one seed drives the Monte-Carlo draws of the
    expected geometry and the folds/bootstrap, both recorded in the result."""
    _, draw_seed, recorded = resolve_random_state(random_state, seed, where)
    kw = {"seed": draw_seed}
    if n_draws is not None:
        kw["n_draws"] = check_positive_int(n_draws, "n_draws", maximum=MAX_GRID, why="each draw is one exact solve")
    return (recorded if recorded is not None else draw_seed), kw


def compare_widths(data_rdms, task, widths=(2, "wide"), *, method="corr", n_boot=0, random_state=0, n_draws=None,
                   condition_descriptor="auto", seed=UNSET, **kwargs):
    """Bottleneck or wide? :func:`evaluate_hypotheses` on :func:`width_models`, plus the feature baseline.

    ``widths`` entries are ints, ``"wide"``, or a list of widths forming one
    nested hypothesis (the width is chosen inside each training fold).
    Model keywords (``representation, measure, scale, lam, init``) go to
    :func:`width_models`; the rest to :func:`evaluate_hypotheses`.
    ``random_state`` seeds both the Monte-Carlo draws of the expected
    geometry over random starts (``n_draws`` of them per block; ``None``: the
    model's default) and the folds/bootstrap; both are recorded in
    ``settings``.  ``mc_replicates`` (default 1; ``"auto"`` for a final analysis; see
    :func:`evaluate_hypotheses`) pools blocks of draws and reports their
    Monte-Carlo SE (``mc_se``) beside the sampling SE.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> from rsatoolbox.rdm import RDMs
    >>> task = rl.hierarchical_task(depth=3, include_root=False)
    >>> v = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_times([2.5], [0.0])[0]
    >>> rng = np.random.default_rng(0)
    >>> data = RDMs(v + 0.1 * v.std() * rng.standard_normal((6, v.size)),
    ...             rdm_descriptors={"subject": np.arange(6)}, pattern_descriptors={"item": np.array(task.labels)})
    >>> res = rl.compare_widths(data, task, widths=[2, "wide"])
    >>> list(res.table["model"])
    ['N_h=2', 'N_h=wide (14)', 'feature model (8 mode RDMs)']
    >>> int(res.table["dof"][0])
    5
    """
    check_comparison_method(method)
    check_kwargs(kwargs, _WIDTH_MODEL_KW + _EVALUATE_KW, "compare_widths")
    model_kw = {k: kwargs.pop(k) for k in _WIDTH_MODEL_KW if k in kwargs}
    _check_task(task)
    widths = _width_list(widths, "an int, 'wide' or a list of ints")
    check_distinct([tuple(w) if isinstance(w, (list, tuple, range)) else w for w in widths], "widths")
    _check_same_networks(task, widths)
    random_state, draw_kw = _draw_kw(random_state, seed, n_draws, "compare_widths")
    data_rdms = with_condition_labels(_as_rdms(data_rdms), condition_descriptor)
    hyps = _nested(task, data_rdms, widths, dict(model_kw, **draw_kw))
    res = evaluate_hypotheses(data_rdms, hyps, task, method=method, n_boot=n_boot, random_state=random_state,
                              **kwargs)
    notes = [m for w in widths if isinstance(w, numbers.Integral) for m in [_split_group(task, int(w))] if m]
    r = task.rank()
    full = [m.name for h in res.hypotheses if h.kind == "network" for m in h.models if m.n_hidden >= r]
    if len(full) > 1:
        notes.append(
            f"{full} are all at least as wide as the task's rank ({r}): they learn the same {r} modes and differ only "
            "through what their starts leave in directions the task does not drive and, with lam != 0, the weight "
            "the balance puts on the extra hidden units; the data may not tell them apart (a width beyond the rank "
            "adds nothing to learn)")
    res.messages.extend(notes)
    return res


def _check_same_networks(task, widths):
    """Refuse two ``widths`` entries that are the same network once ``"wide"`` is read as ``max(n_in, n_out)`` and a
    list of one width as that width (``[7, "wide"]``, ``[2, [2]]``): a test of a network against itself."""
    wide = wide_width(task)

    def one(v):  # 'wide' as its width, 2.0 as 2 (widths are validated as whole numbers later)
        if isinstance(v, str):
            return wide if v == "wide" else v
        return int(v) if isinstance(v, numbers.Real) and float(v).is_integer() else v

    def key(w):
        if isinstance(w, (list, tuple, range)):
            ws = tuple(sorted({one(v) for v in w}, key=str))
            return ws[0] if len(ws) == 1 else ws
        return one(w)

    def has_wide(w):
        return w == "wide" if isinstance(w, str) else isinstance(w, (list, tuple)) and "wide" in w

    seen = {}
    for w in widths:
        k = key(w)
        if k in seen:
            a = seen[k]
            if has_wide(w) or has_wide(a):
                why = f"'wide' stands for width {wide} with this task (max(n_in, n_out) = max({task.n_in}, {task.n_out}))"
                fix = f"Drop one of them (e.g. drop 'wide' or {wide})"
            elif isinstance(w, (list, tuple, range)) and isinstance(a, (list, tuple, range)):
                why, fix = "the same set of widths (the order within a list does not matter)", "Drop one of the lists"
            elif isinstance(w, (list, tuple, range)) or isinstance(a, (list, tuple, range)):
                why, fix = "a list of one width is that width", "Drop the list or the single width"
            else:
                why, fix = "the same width (2 and 2.0 are one width)", "List each width once"
            raise InputValueError(
                f"`widths` entries {a!r} and {w!r} are the same network ({why}): a test of a network against "
                f"itself. {fix}.")
        seen[k] = w


def compare_regimes(data_rdms, task, n_hidden=None, *, method="corr", n_boot=0, random_state=0, n_draws=None,
                    condition_descriptor="auto", seed=UNSET, **kwargs):
    """Rich or lazy? :func:`evaluate_hypotheses` on :func:`regime_models`, plus the feature baseline.

    Calibrated (``benchmarks/calibration.py`` parts a, d-g) with ``method="corr"`` and stages that span
    learning.  ``messages`` notes when ``n_hidden`` cuts a group of equal singular values of the task (each
    subject's start then picks its own modes within the group, and power drops).  ``"cosine"`` warns: it
    reads item-specific signal the network does not explain as geometry and then prefers lazy over a true
    rich learner.
    """
    check_comparison_method(method)
    keys = ("rich_scale", "lazy_lam", "lazy_scale", "representation", "measure", "init")
    check_kwargs(kwargs, keys + _EVALUATE_KW, "compare_regimes")
    model_kw = {k: kwargs.pop(k) for k in keys if k in kwargs}
    random_state, draw_kw = _draw_kw(random_state, seed, n_draws, "compare_regimes")
    data_rdms = with_condition_labels(_as_rdms(data_rdms), condition_descriptor)
    models = regime_models(task, data_rdms, n_hidden, **model_kw, **draw_kw)
    notes = []
    if method in ("cosine", "cosine_cov"):
        notes.append(
            f"method {method!r} reads signal the network does not explain (item-specific patterns add about the same "
            "amount to every distance) as geometry: in calibration with such signal as strong as the network's, "
            "cosine preferred lazy (large lam) over a true rich learner in 0.93-1.00 of trials (corr: 0.00; "
            "benchmarks/calibration.py part g). Use 'corr' for regime tests.")
        warnings.warn(notes[-1], UserWarning, stacklevel=2)
    split = _split_group(task, models[0].n_hidden)
    if split:
        notes.append(split)
    res = evaluate_hypotheses(data_rdms, models, task, method=method, n_boot=n_boot, random_state=random_state,
                              **kwargs)
    res.messages.extend(notes)
    return res


def _split_group(task, h, rtol=1e-6):
    """Message when width ``h`` cuts a group of equal singular values of the task (else ``""``)."""
    s = task.singular_values
    s = s[s > rtol * (s[0] if s.size else 1.0)]
    if not 0 < h < s.size or abs(s[h - 1] - s[h]) > rtol * s[0]:
        return ""
    lo = int(np.flatnonzero(np.abs(s - s[h]) <= rtol * s[0])[0])
    hi = int(np.flatnonzero(np.abs(s - s[h]) <= rtol * s[0])[-1])
    fix = " or ".join(f"n_hidden = {w}" for w in (lo, hi + 1) if w > 0)
    return (f"n_hidden = {h} cuts the group of equal singular values {s[h]:.3g} (modes {lo + 1}-{hi + 1}): each "
            "subject's own start picks which of them its network learns, and the expected geometry over starts "
            "averages that choice, so subjects scatter around every prediction and power drops (calibration, "
            "benchmarks/calibration.py parts d and f, stages t = 3, 6, 9: power of rich vs lazy (large lam) 0.72 / "
            f"0.75 with 8 / 16 subjects at N_h = 3, which cuts such a group, 0.78 / 0.95 at N_h = 4). {fix} does "
            "not cut it.")
