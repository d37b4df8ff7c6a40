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
   score tensor of :mod:`rsa_lineardyn.design`: candidate x time parameters).
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

The tables are pandas DataFrames; :attr:`HypothesisResult.result` is an
rsatoolbox ``Result`` carrying the same per-subject variances and degrees of
freedom, so ``rsatoolbox.vis.plot_model_comparison`` (:func:`plot_hypotheses`)
draws exactly these tests.  The calibration of these tests against simulated
learners (false-positive rate, power) is measured by
``benchmarks/calibration.py``.
"""

from __future__ import annotations

import numbers
import sys
import warnings

import numpy as np

from ._validation import InputTypeError, InputValueError, check_comparison_method, check_positive_int, check_real
from .design import Candidates, _as_rdms, _lam_values, aggregate, make_design, score_tensor, stacked_scores, unit_score_tensor
from .model import DegeneracyWarning, LinearNetworkModel
from .scoring import _score_matrix
from .task import Task

__all__ = ["width_models", "regime_models", "feature_rdms", "evaluate_hypotheses", "compare_widths",
           "compare_regimes", "HypothesisResult", "plot_hypotheses"]

_BASELINES = ("modes", "features", None)
#: Methods without a vectorised score here, with their measured cost relative to "corr".
_SLOW_METHODS = {"tau-a": "15x", "kendall": "15x", "tau-b": "15x"}


def _check_task(task):
    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")


def _s_max(task):
    s = task.singular_values
    return float(s[0]) if s.size and s[0] > 0 else 1.0


def _model_kw(init, **kw):
    """Model keywords; ``init=None`` leaves the model's default (the expected geometry over random starts)."""
    if init is not None:
        kw["init"] = init
    return kw


# ----------------------------------------------------------------------------
# hypotheses built here
# ----------------------------------------------------------------------------
def width_models(task, data_rdms, widths=(2, "wide"), *, representation="hidden", measure="euclidean", scale=0.1,
                 lam=None, init=None):
    """One model per hidden width (``lam`` and time free).

    Parameters
    ----------
    task : Task
    data_rdms : rsatoolbox.rdm.RDMs
        Fixes the condition order of the predictions.
    widths : sequence of int or "wide"
        ``"wide"`` is ``max(n_in, n_out)`` (wider than any bottleneck).
    representation, measure, scale, lam, init
        As in :class:`LinearNetworkModel` (``init=None``: its default).

    Returns
    -------
    list of LinearNetworkModel
        Named ``"N_h=2"``, ``"N_h=wide (103)"``, ...
    """
    _check_task(task)
    data_rdms = _as_rdms(data_rdms)
    if isinstance(widths, (str, bytes, numbers.Integral)):
        widths = [widths]
    try:
        widths = list(widths)
    except TypeError:
        raise InputTypeError(f"`widths` must be a sequence of ints or 'wide', got {widths!r}.") from None
    if not widths:
        raise InputValueError("`widths` is empty; give at least one hidden width (an int or 'wide'), e.g. (2, 'wide').")
    models = []
    for w in widths:
        if isinstance(w, str):
            if w != "wide":
                raise InputValueError(f"`widths` entries must be ints or 'wide', got {w!r}.")
            h = max(task.n_in, task.n_out)
            name = f"N_h=wide ({h})"
        else:
            h = check_positive_int(w, "widths")
            name = f"N_h={h}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegeneracyWarning)
            models.append(LinearNetworkModel(task, n_hidden=h, item_order=data_rdms, name=name,
                                             **_model_kw(init, representation=representation, measure=measure,
                                                         lam=lam, scale=scale)))
    if len({m.name for m in models}) != len(models):
        raise InputValueError(f"`widths` must be distinct, got {list(widths)}.")
    return models


def regime_models(task, data_rdms, n_hidden=None, *, rich_scale=None, lazy_lam=None, lazy_scale=None,
                  representation="hidden", measure="euclidean", init=None):
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
    h = max(task.rank(), 1) if n_hidden is None else check_positive_int(n_hidden, "n_hidden")
    s_max = _s_max(task)
    rich_scale = 1e-3 * np.sqrt(s_max) if rich_scale is None else check_real(rich_scale, "rich_scale", minimum=0,
                                                                              strict_min=True)
    lazy_lam = 4.0 * s_max if lazy_lam is None else abs(check_real(lazy_lam, "lazy_lam"))
    lazy_scale = np.sqrt(s_max) if lazy_scale is None else check_real(lazy_scale, "lazy_scale", minimum=0,
                                                                      strict_min=True)
    for name, v in (("rich_scale", rich_scale), ("lazy_lam", lazy_lam), ("lazy_scale", lazy_scale)):
        if not 1e-100 < v < 1e100:
            raise InputValueError(f"`{name}` = {v:g} is outside the usable range (1e-100, 1e100).")
    if h <= task.n_out:
        lam_l = lazy_lam
    elif h <= task.n_in:
        lam_l = -lazy_lam
    else:
        raise InputValueError(
            f"`n_hidden` = {h} exceeds both n_in = {task.n_in} and n_out = {task.n_out}: only lam = 0 is feasible, "
            "so there is no large-lam lazy regime. Use a smaller n_hidden."
        )
    kw = _model_kw(init, representation=representation, measure=measure, item_order=data_rdms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegeneracyWarning)
        return [
            LinearNetworkModel(task, h, lam=0.0, scale=rich_scale, name="rich", **kw),
            LinearNetworkModel(task, h, lam=lam_l, scale=0.1 * np.sqrt(s_max), name="lazy (large lam)", **kw),
            LinearNetworkModel(task, h, lam=0.0, scale=lazy_scale, name="lazy (large init)", **kw),
        ]


def feature_rdms(task, data_rdms, kind="modes"):
    """Dissimilarity vectors of the task's modes or features, in the data's condition order.

    ``kind="modes"``: one squared-Euclidean RDM per singular mode of ``Syx``
    (item coordinates ``v_k^T x``), plus one for the input directions outside
    the modes (when there are any).  A non-negative combination of these is
    the hidden-layer RDM of *any* linear network on the task whose hidden
    geometry is diagonal in the mode basis (aligned starts, and the expected
    geometry over random starts, at every time): the feature baseline is at
    least as flexible as every learning network, and a network can only beat
    it by being more constrained.  ``kind="features"``: one RDM per output
    feature (row of ``Y``; rows that give the same RDM are merged).

    Returns
    -------
    names : list of str
    vectors : ndarray (n_features, n_pairs)
    """
    _check_task(task)
    data_rdms = _as_rdms(data_rdms)
    if kind not in ("modes", "features"):
        raise InputValueError(f"`kind` must be 'modes' or 'features', got {kind!r}.")
    items = _item_index(task, data_rdms)
    ia, ib = np.triu_indices(len(items), k=1)
    if kind == "modes":
        _, s, Vt = task.svd()
        r = max(task.rank(), 0)
        Z = Vt @ task.X  # (n_in, P)
        coords = [Z[k] for k in range(r)]
        names = [f"mode {k + 1}" for k in range(r)]
        vecs = [(c[items][ia] - c[items][ib]) ** 2 for c in coords]
        if Z.shape[0] > r:
            rest = Z[r:][:, items]
            vecs.append(np.sum((rest[:, ia] - rest[:, ib]) ** 2, axis=0))
            names.append("outside the modes")
    else:
        vecs, names, seen = [], [], []
        for f in range(task.n_out):
            v = (task.Y[f, items][ia] - task.Y[f, items][ib]) ** 2
            if np.any(v > 0) and not any(np.array_equal(v, u) for u in seen):
                seen.append(v)
                vecs.append(v)
                names.append(f"feature {f}")
    keep = [i for i, v in enumerate(vecs) if np.any(v > 1e-12 * max(np.max(np.abs(u)) for u in vecs))]
    if not keep:
        raise InputValueError(f"the task has no non-constant {kind} RDM over the data's conditions.")
    return [names[i] for i in keep], np.array([vecs[i] for i in keep], dtype=float)


def _item_index(task, data_rdms):
    """Index of every data condition among the task's items, matched by label."""
    from .model import _LABEL_KEYS

    key = next((k for k in _LABEL_KEYS if k in data_rdms.pattern_descriptors), None)
    if key is None:
        if data_rdms.n_cond != task.P:
            raise InputValueError(
                f"`data_rdms` have {data_rdms.n_cond} conditions and no item-label pattern descriptor; the task has "
                f"{task.P} items. Add a pattern descriptor 'item' with the task's labels."
            )
        return np.arange(task.P)
    pos = {str(lab): i for i, lab in enumerate(task.labels)}
    labels = [str(x) for x in data_rdms.pattern_descriptors[key]]
    missing = [lab for lab in labels if lab not in pos]
    if missing:
        raise InputValueError(
            f"data conditions {missing[:3]} (pattern descriptor {key!r}) are not items of the task "
            f"(items {list(task.labels)[:3]}...)."
        )
    return np.array([pos[lab] for lab in labels], dtype=int)


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

    def candidates(self, n_lam):
        groups = []
        for m in self.models:
            lams = np.array([m.lam]) if m.lam is not None else self.lam_grid(m, n_lam)
            if m.fit_scale:
                lo, hi = m.bounds[m.param_names.index("log10_scale")]
                lss = np.linspace(lo, hi, 5)
            else:
                lss = np.array([np.log10(m.scale)])
            groups.append((m, lams, lss))
        return Candidates(groups)


class _Fixed:
    kind = "fixed"

    def __init__(self, name, vector):
        self.name = name
        self.vector = vector


class _Feature:
    kind = "feature"

    def __init__(self, name, F, feature_names):
        self.name = name
        self.F = F
        self.feature_names = feature_names


def _default_lam_grid(task):
    def grid(model, n_lam):
        return _lam_values(None, model.n_hidden, task, n_lam)
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
                m.selection(data_rdms)  # labels and order match the data, with a clear error
            if name is None:
                name = group[0].name
            out.append(_Network(str(name), group, grid))
        elif len(group) == 1 and isinstance(group[0], ModelFixed) or (len(group) == 1 and group[0].n_param == 0):
            m = group[0]
            out.append(_Fixed(str(name if name is not None else m.name), _fixed_vector(m, data_rdms)))
        else:
            raise InputTypeError(
                f"hypothesis {name!r}: only LinearNetworkModels (fitted here, inside each training fold) and "
                "fixed rsatoolbox models (ModelFixed) can be compared."
            )
    names = [h.name for h in out]
    if len(set(names)) != len(names):
        raise InputValueError(f"hypothesis names must be distinct, got {names}.")
    return out


def _fixed_vector(model, data_rdms):
    """A fixed model's prediction as a vector in the data's condition order (matched by label when possible)."""
    pred = model.predict_rdm()
    key = next((k for k in ("item", "conds", "label", "labels", "condition", "conditions", "stimulus")
                if k in data_rdms.pattern_descriptors and k in pred.pattern_descriptors), None)
    if pred.n_cond != data_rdms.n_cond:
        raise InputValueError(
            f"fixed model {model.name!r} predicts {pred.n_cond} conditions, the data have {data_rdms.n_cond}."
        )
    if key is not None:
        want = [str(x) for x in data_rdms.pattern_descriptors[key]]
        have = [str(x) for x in pred.pattern_descriptors[key]]
        if sorted(want) != sorted(have):
            raise InputValueError(f"fixed model {model.name!r}: its {key!r} labels differ from the data's.")
        order = [have.index(w) for w in want]
        pred = pred.subsample_pattern("index", order) if "index" in pred.pattern_descriptors else pred
        mats = pred.get_matrices()[0]
        if "index" not in pred.pattern_descriptors:
            mats = mats[np.ix_(order, order)]
        iu = np.triu_indices(data_rdms.n_cond, k=1)
        return np.asarray(mats[iu], dtype=float)
    return np.asarray(pred.get_vectors()[0], dtype=float)


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
        One row per ordered pair: ``model_a, model_b, mean_diff, sem, ci_low,
        ci_high, p, n_units, dof, variance_method`` (two-sided, H0: equal
        mean crossvalidated score).
    unit_scores : pandas.DataFrame
        The crossvalidated score of every unit (rows) under every hypothesis (columns).
    folds : pandas.DataFrame
        What each hypothesis chose in each training fold (width, ``lam``, time
        parameters; feature weights for the baseline).
    result : rsatoolbox.inference.Result
        The same evaluations, variances and ``dof`` as an rsatoolbox Result
        (for ``plot_model_comparison``, ``summary()``).
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
        for _, r in self.pairwise.iterrows():
            if r["mean_diff"] > 0:
                lines.append(f"  {r['model_a']} - {r['model_b']}: {r['mean_diff']:+.4f}, p = {r['p']:.3g} "
                             f"(dof {r['dof']}, {r['variance_method']})")
        lines.extend(f"  note: {m}" for m in self.messages)
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()


# ----------------------------------------------------------------------------
# statistics on per-unit scores
# ----------------------------------------------------------------------------
def _t_summary(x, jack, ci, two_sided=True):
    """Test of the mean crossvalidated score ``x`` (per unit) with a jackknife standard error over units.

    ``jack`` (n_units,) holds the statistic recomputed -- crossvalidation
    rerun -- without each unit.  The jackknife variance
    ``(n - 1) / n * sum (jack_k - mean(jack))^2`` captures the dependence
    between crossvalidated scores (every unit is in the others' training
    folds); for a model without fitted parameters it equals the usual
    ``s^2 / n``.  t distribution with ``n - 1`` degrees of freedom.  Units
    with an undefined score are dropped.
    """
    from scipy import stats

    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x) & np.isfinite(jack)
    n = int(ok.sum())
    mean = float(np.mean(x[ok])) if n else np.nan
    if n < 2:
        return dict(mean=mean, sem=np.nan, ci_low=np.nan, ci_high=np.nan, p=np.nan, n=n, dof=max(n - 1, 0),
                    variance_method="undefined (fewer than 2 units with a defined score)")
    jk = np.asarray(jack, dtype=float)[ok]
    var = (n - 1) / n * float(np.sum((jk - jk.mean()) ** 2))
    dof = n - 1
    scale_ = max(float(np.max(np.abs(x[ok]))), 1e-300)
    if var <= (1e-12 * scale_) ** 2:  # no spread: the t statistic is undefined
        if abs(mean) <= 1e-12 * scale_:
            return dict(mean=mean, sem=0.0, ci_low=mean, ci_high=mean, p=1.0, n=n, dof=dof,
                        variance_method="identical (zero difference in every unit)")
        same_sign = np.all(np.sign(x[ok]) == np.sign(mean))
        p = (2.0 if two_sided else 1.0) * 0.5**n if same_sign and (two_sided or mean > 0) else 1.0
        return dict(mean=mean, sem=0.0, ci_low=mean, ci_high=mean, p=float(min(p, 1.0)), n=n, dof=dof,
                    variance_method="sign test (zero variance over units)")
    sem = np.sqrt(var)
    tq = stats.t.ppf(0.5 + ci / 2, dof)
    tstat = mean / sem
    p = 2 * stats.t.sf(abs(tstat), dof) if two_sided else stats.t.sf(tstat, dof)
    return dict(mean=mean, sem=sem, ci_low=mean - tq * sem, ci_high=mean + tq * sem, p=float(p), n=n, dof=dof,
                variance_method="t-test, jackknife over units")


def _jackknife(hyps, tensors, design, rows, n_units, folds, method, sigma_k):
    """Mean crossvalidated score of every hypothesis with each unit left out entirely: (n_units, n_hyp)."""
    out = np.full((n_units, len(hyps)), np.nan)
    for k in range(n_units):
        counts = np.ones(n_units, dtype=int)
        counts[k] = 0
        Sk = _run_cv(hyps, tensors, design, rows, counts, folds, method, sigma_k, None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[k] = np.nanmean(np.delete(Sk, k, axis=0), axis=0)
    return out


# ----------------------------------------------------------------------------
# crossvalidation over units on precomputed score tensors
# ----------------------------------------------------------------------------
class _Rows:
    """What the rows of the score tensors are: data RDMs (scored one by one) or units (whole trajectories)."""

    def __init__(self, design, unit_of, n_units, shared):
        self.shared = shared
        self.rdm_unit = unit_of
        self.unit = np.arange(n_units) if shared else unit_of
        self.stage = np.zeros(n_units, dtype=int) if shared else design.stage_of


def _fold_network(R, w, design, rows, test_rows):
    """Fit on row weights ``w`` (aggregate over R), score the test rows: (values, choice (c, g_path) or None)."""
    score, gidx, _ = aggregate(R, w, rows.stage, design.K, design.free)
    if not np.any(np.isfinite(score)):
        return np.full(test_rows.size, np.nan), None
    c = int(np.nanargmax(np.where(np.isfinite(score), score, -np.inf)))
    g = gidx[c][rows.stage[test_rows]]
    return R[test_rows, c, g], (c, gidx[c])


def _static_scores(pred, design, rows, test_rows, method, sigma_k):
    """Scores of one static prediction (n_pairs,) on the test rows (RDMs, or units' stacked trajectories)."""
    if not rows.shared:
        return _score_matrix(pred[None], design.data[test_rows], method, sigma_k)[0]
    tiled = np.broadcast_to(pred, (design.K, pred.size))
    return np.array([stacked_scores(tiled, design, np.flatnonzero(rows.rdm_unit == u), method) for u in test_rows])


def _nnls_weights(F, D, w, method):
    """Non-negative weights of the feature RDMs maximising the mean ``method`` score on weighted data ``D``."""
    from scipy.optimize import nnls

    keep = ~np.isnan(D).any(axis=0)
    A = F[:, keep].T  # (n_pairs, n_feat)
    Dk = D[:, keep][w > 0]
    ww = w[w > 0]
    if method in ("cosine", "cosine_cov"):
        Ac, Dc = A, Dk
    else:  # correlation-type and rank methods: centred least squares maximises the correlation over the cone
        Ac = A - A.mean(axis=0)
        Dc = Dk - Dk.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(Dc, axis=1)
    ok = norms > 0
    if not np.any(ok):
        return np.zeros(F.shape[0])
    target = np.sum((Dc[ok] / norms[ok, None]) * ww[ok, None], axis=0) / ww[ok].sum()
    colnorm = np.linalg.norm(Ac, axis=0)
    colnorm[colnorm == 0] = 1.0
    # a tiny ridge picks the minimum-norm solution when the feature RDMs are linearly dependent (e.g. one-hot
    # inputs: all mode RDMs sum to a constant, which centring removes); it changes the fit by ~1e-4 relative
    n_feat = A.shape[1]
    An = np.concatenate([Ac / colnorm, 1e-4 * np.linalg.norm(target) * np.eye(n_feat)], axis=0)
    coef, _ = nnls(An, np.concatenate([target, np.zeros(n_feat)]))
    return coef / colnorm


def _run_cv(hyps, tensors, design, rows, counts, folds, method, sigma_k, record):
    """Crossvalidated score of every sampled unit under every hypothesis: (n_units, n_hyp); NaN for unsampled units.

    ``counts`` (n_units,) are multiplicities (1 for the data; bootstrap counts
    otherwise); ``folds`` is a list of arrays of unit indices held out together.
    """
    n_units = counts.size
    S = np.full((n_units, len(hyps)), np.nan)
    D = design.data
    for f, test_units in enumerate(folds):
        test_units = test_units[counts[test_units] > 0]
        if test_units.size == 0:
            continue
        train_counts = counts.astype(float).copy()
        train_counts[test_units] = 0.0
        if train_counts.sum() == 0:
            continue
        w = train_counts[rows.unit]
        test_rows = np.flatnonzero(np.isin(rows.unit, test_units))
        for j, h in enumerate(hyps):
            if h.kind == "network":
                vals, choice = _fold_network(tensors[j], w, design, rows, test_rows)
                if record is not None:
                    record.append((f, h, choice))
            elif h.kind == "fixed":
                vals = tensors[j][test_rows]
            else:
                coef = _nnls_weights(h.F, D, train_counts[rows.rdm_unit], method)
                vals = (_static_scores(coef @ h.F, design, rows, test_rows, method, sigma_k) if np.any(coef > 0)
                        else np.full(test_rows.size, np.nan))
                if record is not None:
                    record.append((f, h, coef))
            for u in test_units:
                v = vals[rows.unit[test_rows] == u]
                v = v[np.isfinite(v)]
                S[u, j] = np.mean(v) if v.size else np.nan
    return S


def _noise_ceiling(design, unit_of, n_units, method, sigma_k, shared=False):
    """Leave-one-unit-out lower and all-units upper noise ceiling, averaged over units.

    Per stage (then averaged over stages), or on the stacked trajectory
    (``shared``: each unit's mean RDM per stage, stacked) as the tests score.
    """
    D = design.data
    means = np.full((n_units, design.K, D.shape[1]), np.nan)
    for u in range(n_units):
        for k in range(design.K):
            sel = (design.stage_of == k) & (unit_of == u)
            if sel.any():
                means[u, k] = np.nanmean(D[sel], axis=0)
    lows, highs = [], []
    blocks = [means.reshape(n_units, 1, -1)] if shared else [means[:, k:k + 1] for k in range(design.K)]
    for block in blocks:
        M = block.reshape(n_units, -1)
        have = np.flatnonzero(~np.isnan(M).all(axis=1))
        if have.size < 2:
            continue
        M = M[have]
        grand = np.nanmean(M, axis=0)
        for i in range(M.shape[0]):
            others = np.nanmean(np.delete(M, i, axis=0), axis=0)
            lows.append(_score_matrix(others[None], M[i][None], method, sigma_k)[0, 0])
            highs.append(_score_matrix(grand[None], M[i][None], method, sigma_k)[0, 0])
    lo = float(np.nanmean(lows)) if lows and np.any(np.isfinite(lows)) else np.nan
    hi = float(np.nanmean(highs)) if highs and np.any(np.isfinite(highs)) else np.nan
    return lo, hi


def _folds(n_units, n_folds, rng):
    if n_folds is None or n_folds >= n_units:
        return [np.array([u]) for u in range(n_units)], "leave-one-unit-out"
    order = rng.permutation(n_units)
    return [np.sort(part) for part in np.array_split(order, n_folds)], f"{n_folds}-fold over units"


# ----------------------------------------------------------------------------
# the entry point
# ----------------------------------------------------------------------------
def evaluate_hypotheses(data_rdms, hypotheses, task, *, method="corr", baseline="modes", models=None,
                        subject_descriptor="auto", stage_descriptor="auto", time_map="linear", time_offset=False,
                        time_bounds=None, n_times=41, n_lam=8, stage_scale="separate", n_folds=None, n_boot=0,
                        ci=0.95, sigma_k=None, seed=0, n_jobs=1, backend=None, progress=None):
    """Crossvalidated comparison of hypotheses, tested over subjects (the unit of replication).

    Parameters
    ----------
    data_rdms : rsatoolbox.rdm.RDMs
        One RDM per subject (and per session/run and stage); conditions carry
        item labels matching ``task.labels``.
    hypotheses : dict or list
        ``name -> model``: a :class:`LinearNetworkModel` (its free parameters
        fitted in each training fold), a list of them (one hypothesis: the
        best of them is chosen in each training fold, e.g. all widths up to
        3), or a fixed rsatoolbox model (``ModelFixed``).  A list of models is
        named by ``model.name``.
    task : Task
        The task the subjects learned.
    method : str, default "corr"
        rsatoolbox comparison method.  ``"corr"``/``"cosine"``/``"spearman"`` are
        fast; other methods call ``rsatoolbox.rdm.compare`` for every
        prediction (rank methods ``"tau-a"``/``"rho-a"``: about 10-30x slower).
    baseline : {"modes", "features", None}, default "modes"
        Adds the flexible feature model (name starting ``"feature model"``):
        non-negative weights on the task's mode RDMs (or output-feature RDMs),
        fitted by NNLS in each training fold, one set of weights for all stages.
    models : list of rsatoolbox Model, optional
        Further fixed models (e.g. category models), added to the comparison.
    subject_descriptor : "auto", str or None
        rdm descriptor of the units (``"auto"``: ``subject``, ``participant``,
        ``subj``, ``sub``).  Without one, each RDM is a unit (only allowed for
        a single stage).
    stage_descriptor : "auto", str or None
        Stages of learning (``"auto"``: ``stage``, ``epoch``, ``time``; never
        ``session``); several stages are compared on the whole trajectory with
        the stage-time map fitted inside each training fold.
    time_map, time_offset, time_bounds, n_times, n_lam
        As in :func:`rsa_lineardyn.fit_rdms` (grids of the fold fits).
    stage_scale : {"separate", "shared"}, default "separate"
        Several stages: ``"separate"`` scores every stage's RDM on its own
        (scale-free per stage: only the geometry within a stage counts);
        ``"shared"`` stacks each subject's RDMs of all stages into one vector
        (scale-free overall), so that how much the geometry grows or changes
        between stages counts too -- what separates rich from lazy learning
        and a bottleneck from an earlier wide network.  ``"shared"`` needs the
        stages measured on one common scale (same voxels/channels and
        dissimilarity estimator, e.g. crossnobis), methods ``"corr"`` or
        ``"cosine"``, and a linear time map.
    n_folds : int, optional
        Folds over units (default: leave one unit out).
    n_boot : int, default 0
        If > 0, also a percentile interval from a bootstrap over units of the
        whole crossvalidation (``boot_ci_low``, ``boot_ci_high``).
    ci : float, default 0.95
    sigma_k : ndarray, optional
        For the ``*_cov`` methods.
    seed : int or None
        Fold assignment (``n_folds``) and bootstrap draws.
    n_jobs, backend
        joblib parallelism over models when scoring (as in ``fit_rdms``).
    progress : bool, optional
        Default: only when stderr is a terminal.

    Returns
    -------
    HypothesisResult
    """
    import pandas as pd

    from ._validation import check_rng

    data_rdms = _as_rdms(data_rdms)
    _check_task(task)
    check_comparison_method(method)
    if stage_scale not in ("separate", "shared"):
        raise InputValueError(f"`stage_scale` must be 'separate' or 'shared', got {stage_scale!r}.")
    if baseline not in _BASELINES:
        raise InputValueError(f"`baseline` must be one of 'modes', 'features', None; got {baseline!r}.")
    n_boot = check_positive_int(n_boot, "n_boot", minimum=0)
    ci = check_real(ci, "ci", minimum=0, maximum=1, strict_min=True)
    if ci >= 1:
        raise InputValueError(f"`ci` must be below 1, got {ci}.")
    n_lam = check_positive_int(n_lam, "n_lam")
    rng = check_rng(seed)
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if method in _SLOW_METHODS:
        warnings.warn(
            f"method {method!r} scores every prediction with rsatoolbox.rdm.compare (no vectorised form): about "
            f"{_SLOW_METHODS[method]} slower than 'corr' (measured on the 92-image data). 'rho-a' (rank-based, "
            "vectorised) is the fast alternative; n_jobs= spreads the work over cores.",
            UserWarning, stacklevel=2)
    hyps = _as_hypotheses(hypotheses, task, data_rdms)
    if models is not None:
        extra = _as_hypotheses(list(models) if isinstance(models, (list, tuple)) else [models], task, data_rdms)
        if any(h.kind != "fixed" for h in extra):
            raise InputTypeError("`models` must be fixed rsatoolbox models (ModelFixed); put networks in `hypotheses`.")
        hyps += extra
    if baseline is not None:
        names, F = feature_rdms(task, data_rdms, baseline)
        hyps.append(_Feature(f"feature model ({len(names)} {'mode' if baseline == 'modes' else 'feature'} "
                             "RDMs)", F, names))
    if len({h.name for h in hyps}) != len(hyps):
        raise InputValueError(f"hypothesis names must be distinct, got {[h.name for h in hyps]}.")

    nets = [h for h in hyps if h.kind == "network"]
    scales = [m.scale for h in nets for m in h.models]
    if any(m.fit_scale for h in nets for m in h.models):
        scales += [10.0 ** m.bounds[m.param_names.index("log10_scale")][0] for h in nets for m in h.models
                   if m.fit_scale]
    tau = nets[0].models[0].tau if nets else 1.0
    design = make_design(data_rdms, task, subject_descriptor=subject_descriptor, stage_descriptor=stage_descriptor,
                         time_map=time_map, time_offset=time_offset, time_bounds=time_bounds, n_times=n_times,
                         min_scale=min(scales) if scales else 0.1, tau=tau)
    messages = list(design.messages)
    if design.subjects is None:
        if not design.snapshot:
            raise InputValueError(
                "`data_rdms` hold several stages but no subject descriptor: the stages of one subject are not "
                "independent units. Add an rdm descriptor 'subject' (or pass subject_descriptor=)."
            )
        unit_of = np.arange(design.n_rdm)
        unit_names = [str(i) for i in range(design.n_rdm)]
        unit_key = "index"
        messages.append("no subject descriptor: every RDM is taken as an independent unit (subject)")
    else:
        unit_of = design.subject_of
        unit_names = design.subjects
        unit_key = design.subject_key
    n_units = len(unit_names)
    if n_units < 2:
        raise InputValueError(
            f"hypothesis tests need at least 2 independent units (subjects), got {n_units}. Sessions or runs of one "
            "subject are not independent; with one subject, report fit_rdms's profile and intervals instead."
        )
    if n_units < 5:
        messages.append(f"only {n_units} units: tests have {n_units - 1} degrees of freedom and little power")

    shared = stage_scale == "shared" and not design.snapshot
    rowdef = _Rows(design, unit_of, n_units, shared)

    # --- scores of every prediction against every RDM (or unit trajectory), computed once ---
    from threadpoolctl import threadpool_limits

    tensors = []
    with threadpool_limits(1):
        for h in hyps:
            if h.kind == "network":
                cands = h.candidates(n_lam)
                kw = dict(n_jobs=n_jobs, backend=backend, progress=progress, what=f"hypothesis {h.name}")
                R = (unit_score_tensor(design, cands, method, unit_of, n_units, **kw) if shared
                     else score_tensor(design, cands, method, sigma_k, **kw)[0])
                h.cands = cands
                tensors.append(R)
            elif h.kind == "fixed":
                tensors.append(_static_scores(h.vector, design, rowdef, np.arange(rowdef.unit.size), method, sigma_k))
            else:
                tensors.append(None)

        folds, cv_name = _folds(n_units, n_folds, rng)
        record = []
        ones = np.ones(n_units, dtype=int)
        S = _run_cv(hyps, tensors, design, rowdef, ones, folds, method, sigma_k, record)
        boot = None
        if n_boot:
            boot = np.full((n_boot, len(hyps)), np.nan)
            for b in range(n_boot):
                counts = np.bincount(rng.integers(0, n_units, n_units), minlength=n_units)
                Sb = _run_cv(hyps, tensors, design, rowdef, counts, folds, method, sigma_k, None)
                ok = counts > 0
                den = np.sum(np.isfinite(Sb[ok]) * counts[ok, None], axis=0)
                num = np.nansum(Sb[ok] * counts[ok, None], axis=0)
                boot[b] = np.where(den > 0, num / np.maximum(den, 1), np.nan)
        J = _jackknife(hyps, tensors, design, rowdef, n_units, folds, method, sigma_k)
        nc_lo, nc_hi = _noise_ceiling(design, unit_of, n_units, method, sigma_k, shared)

    names = [h.name for h in hyps]
    rows = []
    for j, h in enumerate(hyps):
        st = _t_summary(S[:, j], J[:, j], ci, two_sided=False)
        full = _t_summary(S[:, j], J[:, j], ci)  # two-sided interval
        row = dict(model=h.name, kind=h.kind, mean=st["mean"], sem=st["sem"], ci_low=full["ci_low"],
                   ci_high=full["ci_high"], p_zero=st["p"], noise_ceiling_lower=nc_lo, noise_ceiling_upper=nc_hi,
                   method=method, n_units=n_units, n_valid_units=st["n"], dof=st["dof"],
                   variance_method=st["variance_method"])
        if boot is not None:
            row["boot_ci_low"], row["boot_ci_high"] = _percentile(boot[:, j], ci)
        rows.append(row)
    table = pd.DataFrame(rows)
    prow = []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j:
                continue
            st = _t_summary(S[:, i] - S[:, j], J[:, i] - J[:, j], ci)
            row = dict(model_a=a, model_b=b, mean_diff=st["mean"], sem=st["sem"], ci_low=st["ci_low"],
                       ci_high=st["ci_high"], p=st["p"], n_units=st["n"], dof=st["dof"],
                       variance_method=st["variance_method"])
            if boot is not None:
                row["boot_ci_low"], row["boot_ci_high"] = _percentile(boot[:, i] - boot[:, j], ci)
            prow.append(row)
    pairwise = pd.DataFrame(prow, columns=["model_a", "model_b", "mean_diff", "sem", "ci_low", "ci_high", "p",
                                           "n_units", "dof", "variance_method"]
                            + (["boot_ci_low", "boot_ci_high"] if boot is not None else []))
    bad = [names[j] for j in range(len(hyps)) if np.sum(np.isfinite(S[:, j])) < 2]
    if bad:
        msg = (f"hypotheses {bad} have an undefined {method!r} score in most units (constant predictions or data "
               "on these conditions?): their rows are NaN")
        messages.append(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    unit_scores = pd.DataFrame(S, columns=names)
    unit_scores.insert(0, "unit", unit_names)
    settings = dict(method=method, n_units=n_units, unit_descriptor=unit_key, cv=cv_name, n_stages=design.K,
                    stages=design.stages, stage_descriptor=design.stage_key, time_map="snapshot" if design.snapshot
                    else time_map, n_times=n_times, n_lam=n_lam, n_boot=n_boot, ci=ci, baseline=baseline,
                    stage_scale="shared" if shared else "separate",
                    time_bounds=(design.t_lo, design.t_hi))
    folds_df = _folds_table(record, design, unit_names, folds)
    result = _rsatoolbox_result(hyps, S, J, method, nc_lo, nc_hi, data_rdms.n_cond)
    return HypothesisResult(table=table, pairwise=pairwise, unit_scores=unit_scores, folds=folds_df, result=result,
                            messages=messages, settings=settings, seed=seed if isinstance(seed, int) else None,
                            hypotheses=hyps)


def _percentile(x, ci):
    x = x[np.isfinite(x)]
    if x.size < 2:
        return np.nan, np.nan
    q = (1 - ci) / 2
    return float(np.quantile(x, q)), float(np.quantile(x, 1 - q))


def _folds_table(record, design, unit_names, folds):
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
                if design.snapshot:
                    row["time"] = float(design.times[int(g_path[0]), 0])
                elif design.free:
                    for k, st in enumerate(design.stages):
                        row[f"time[{st}]"] = float(design.times[int(g_path[k]), k])
                else:
                    row["rate"] = float(10.0 ** design.tparams[int(g_path[0]), 0])
        else:
            for name, wgt in zip(h.feature_names, choice):
                row[f"w[{name}]"] = float(wgt)
        rows.append(row)
    return pd.DataFrame(rows)


def _rsatoolbox_result(hyps, S, J, method, nc_lo, nc_hi, n_cond):
    """An rsatoolbox Result with our per-unit evaluations, the jackknife covariance of the means and dof."""
    from rsatoolbox.inference import Result
    from rsatoolbox.model import ModelFixed

    n_pairs = n_cond * (n_cond - 1) // 2
    stand_ins = [ModelFixed(h.name, np.zeros(n_pairs)) for h in hyps]
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
        return Result(stand_ins, ev, method, "crossvalidation over units", nc, variances=cov, dof=max(n - 1, 1),
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


def compare_widths(data_rdms, task, widths=(2, "wide"), *, method="corr", n_boot=0, seed=0, **kwargs):
    """Bottleneck or wide? :func:`evaluate_hypotheses` on :func:`width_models`, plus the feature baseline.

    ``widths`` entries are ints, ``"wide"``, or a list of widths forming one
    nested hypothesis (the width is chosen inside each training fold).
    Model keywords (``representation, measure, scale, lam, init``) go to
    :func:`width_models`; the rest to :func:`evaluate_hypotheses`.

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
    model_kw = {k: kwargs.pop(k) for k in ("representation", "measure", "scale", "lam", "init") if k in kwargs}
    _check_task(task)
    if isinstance(widths, (str, bytes, numbers.Integral)):
        widths = [widths]
    hyps = _nested(task, _as_rdms(data_rdms), list(widths), model_kw)
    return evaluate_hypotheses(data_rdms, hyps, task, method=method, n_boot=n_boot, seed=seed, **kwargs)


def compare_regimes(data_rdms, task, n_hidden=None, *, method="corr", n_boot=0, seed=0, **kwargs):
    """Rich or lazy? :func:`evaluate_hypotheses` on :func:`regime_models`, plus the feature baseline."""
    check_comparison_method(method)
    keys = ("rich_scale", "lazy_lam", "lazy_scale", "representation", "measure", "init")
    model_kw = {k: kwargs.pop(k) for k in keys if k in kwargs}
    models = regime_models(task, data_rdms, n_hidden, **model_kw)
    return evaluate_hypotheses(data_rdms, models, task, method=method, n_boot=n_boot, seed=seed, **kwargs)


def plot_hypotheses(result, **kwargs):
    """Bar plot of a :class:`HypothesisResult` with ``rsatoolbox.vis.plot_model_comparison``.

    The rsatoolbox Result carries this package's per-unit variances and
    degrees of freedom, so its pairwise tests are the ones in
    ``result.pairwise``.  Keyword arguments go to ``plot_model_comparison``.
    Returns its ``(fig, ax, ax2)``.
    """
    from rsatoolbox.vis import plot_model_comparison

    if not isinstance(result, HypothesisResult):
        raise InputTypeError(f"`result` must be a HypothesisResult, got {type(result).__name__}.")
    return plot_model_comparison(result.result, **kwargs)
