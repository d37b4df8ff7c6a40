"""Crossvalidation over independent units on precomputed score tensors, and tests on its per-unit scores.

The numerical core of :mod:`rsa_lineardyn.inference.hypotheses`, on plain arrays:

* :func:`run_cv` -- every hypothesis's free parameters fitted on the training
  units of each fold (an argmax over a score tensor for networks, NNLS for
  the feature baseline), the held-out units scored at that fit;
* :func:`jackknife` -- the same crossvalidation rerun without each unit, for
  a standard error that sees the dependence between crossvalidated scores;
* :func:`t_summary` -- t-test with ``n_units - 1`` degrees of freedom on
  that standard error, with exact fallbacks when the variance is zero;
* :func:`noise_ceiling` -- leave-one-unit-out lower and upper bounds.
"""

from __future__ import annotations

import warnings

import numpy as np

from .baselines import feature_weights
from .design import aggregate
from .scorer import STACKABLE, Rows, static_unit_scores  # noqa: F401  (Rows: crossval.Rows is the scorer's)
from ..representations.similarity import _PreparedData

#: Pairwise differences below this in every unit (in score units) are ties: p = 1, never a tiny p from a t-test
#: on rounding-level differences (e.g. two models both at the top of the time grid).
TIE_TOL = 1e-6

# ----------------------------------------------------------------------------
# statistics on per-unit scores
# ----------------------------------------------------------------------------
def t_summary(x, jack, ci, two_sided=True, tie_tol=None):
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
    if tie_tol is not None and np.all(np.abs(x[ok]) <= tie_tol):
        return dict(mean=mean, sem=0.0, ci_low=mean, ci_high=mean, p=1.0, n=n, dof=n - 1,
                    variance_method=f"tie (|difference| <= {tie_tol:g} in every unit)")
    jk = np.asarray(jack, dtype=float)[ok]
    var = (n - 1) / n * float(np.sum((jk - jk.mean()) ** 2))
    dof = n - 1
    scale_ = max(float(np.max(np.abs(x[ok]))), 1e-300)
    # no spread: the t statistic is undefined.  1e-9 relative: the jackknife reruns' own rounding (the same score
    # recomputed by other fold fits) reaches ~1e-11 of the difference, which a t-test would read as certainty
    if var <= (ZERO_SPREAD * scale_) ** 2:
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


def jackknife(hyps, tensors, ctx, n_units, folds, stage_tensors=None):
    """Mean crossvalidated score of every hypothesis with each unit left out entirely: (n_units, n_hyp).

    With ``stage_tensors`` (as in :func:`run_cv`) also the mean per-stage scores: ``(J, J_stage)``, ``J_stage``
    (n_units, n_hyp, K) -- the same reruns, so a per-stage difference gets its jackknife SE exactly as the
    whole-trajectory difference does.
    """
    out = np.full((n_units, len(hyps)), np.nan)
    by_stage = stage_tensors is not None
    out_k = np.full((n_units, len(hyps), ctx[0].K), np.nan) if by_stage else None
    for k in range(n_units):
        counts = np.ones(n_units, dtype=int)
        counts[k] = 0
        Sk = run_cv(hyps, tensors, ctx, counts, folds, None, stage_tensors)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if by_stage:
                Sk, SKk = Sk
                out_k[k] = np.nanmean(np.delete(SKk, k, axis=0), axis=0)
            out[k] = np.nanmean(np.delete(Sk, k, axis=0), axis=0)
    return (out, out_k) if by_stage else out


# ----------------------------------------------------------------------------
# crossvalidation over units on precomputed score tensors
# ----------------------------------------------------------------------------
def fold_network(R, w, design, rows, test_rows):
    """Fit on row weights ``w`` (aggregate over R), score the test rows: (values, choice (c, g_path) or None)."""
    score, gidx, _ = aggregate(R, w, rows.stage, design.K, design.free)
    if not np.any(np.isfinite(score)):
        return np.full(test_rows.size, np.nan), None
    c = int(np.nanargmax(np.where(np.isfinite(score), score, -np.inf)))
    g = gidx[c][rows.stage[test_rows]]
    return R[test_rows, c, g], (c, gidx[c])


def static_scores(pred, design, rows, test_units, method, sigma_k):
    """Scores of a prediction per stage ``pred`` (K, n_pairs), or one static prediction (n_pairs,), on the rows
    of the units ``test_units``: their stacked trajectories (one value per unit), or their RDMs one by one."""
    pred = np.asarray(pred, dtype=float)
    if pred.ndim == 1:
        pred = np.broadcast_to(pred, (design.K, pred.size))
    if rows.shared or method in STACKABLE:  # the scorer's statistics (each RDM over its own valid pairs)
        return static_unit_scores(pred, design, rows, test_units, method)
    test_rows = np.flatnonzero(np.isin(rows.unit, test_units))
    out = np.full(test_rows.size, np.nan)
    for k in np.unique(rows.stage[test_rows]):
        sel = rows.stage[test_rows] == k
        out[sel] = _PreparedData(design.data[test_rows[sel]], method, sigma_k).score(pred[k][None])[0]  # own pairs
    return out


def _stage_means(vals, rows, test_rows, test_units, K):
    """Per-unit mean of row values ``vals`` within each stage (rows scored one by one): (n_test_units, K)."""
    out = np.full((test_units.size, K), np.nan)
    unit, stage = rows.unit[test_rows], rows.stage[test_rows]
    for i, u in enumerate(test_units):
        for k in range(K):
            v = vals[(unit == u) & (stage == k)]
            v = v[np.isfinite(v)]
            if v.size:
                out[i, k] = np.mean(v)
    return out


def _network_stage_values(stage_tensor, choice, test_units, K):
    """A network's scores on each stage alone at a fold's fit ``choice`` (stacked rows): (n_test_units, K)."""
    if choice is None:
        return np.full((test_units.size, K), np.nan)
    c, g_path = choice
    return np.stack([stage_tensor[k, test_units, c, int(g_path[k])] for k in range(K)], axis=1)


def run_cv(hyps, tensors, ctx, counts, folds, record, stage_tensors=None):
    """Crossvalidated score of every sampled unit under every hypothesis: (n_units, n_hyp); NaN for unsampled units.

    ``ctx`` is ``(design, rows, unit-stage mean RDMs, method, sigma_k)``; ``counts`` (n_units,) are
    multiplicities (1 for the data; bootstrap counts otherwise); ``folds`` is a list of arrays of unit indices
    held out together.

    ``stage_tensors``: when not ``None`` (a list aligned with ``hyps``), also every unit's crossvalidated score on
    each stage alone, at the same fold fits (the fit never sees a stage on its own): returns ``(S, S_stage)``,
    ``S_stage`` (n_units, n_hyp, K).  For rows scored one by one (``stage_scale="separate"``) the per-stage score
    is the unit's mean over its RDMs of that stage and the entries are unused; for stacked rows an entry holds
    the hypothesis's scores on each stage alone (:func:`rsa_lineardyn.inference.scorer.stage_unit_scores`): a
    network's (K, n_units, C, G), a fixed model's (n_units, K); the feature baseline's come from the scorer per
    fold.
    """
    design, rows, means, method, sigma_k = ctx
    n_units = counts.size
    S = np.full((n_units, len(hyps)), np.nan)
    by_stage = stage_tensors is not None
    SK = np.full((n_units, len(hyps), design.K), np.nan) if by_stage else None
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
            svals = None
            if h.kind == "network":
                vals, choice = fold_network(tensors[j], w, design, rows, test_rows)
                if record is not None:
                    record.append((f, h, choice))
                if by_stage and rows.shared:
                    svals = _network_stage_values(stage_tensors[j], choice, test_units, design.K)
            elif h.kind == "fixed":
                vals = tensors[j][test_rows]
                if by_stage and rows.shared:
                    svals = stage_tensors[j][test_units]
            else:
                coef = feature_weights(h.F, means, train_counts, method, stacked=rows.shared,
                                       per_stage=h.per_stage)
                pred = coef @ h.F if np.any(coef > 0) else None
                vals = (static_scores(pred, design, rows, test_units, method, sigma_k) if pred is not None
                        else np.full(test_rows.size, np.nan))
                if by_stage and rows.shared:
                    svals = (static_unit_scores(pred, design, rows, test_units, method, by_stage=True)
                             if pred is not None else np.full((test_units.size, design.K), np.nan))
                if record is not None:
                    record.append((f, h, coef))
            for u in test_units:
                v = vals[rows.unit[test_rows] == u]
                v = v[np.isfinite(v)]
                S[u, j] = np.mean(v) if v.size else np.nan
            if by_stage:
                SK[test_units, j] = svals if svals is not None else _stage_means(vals, rows, test_rows, test_units,
                                                                                 design.K)
    return (S, SK) if by_stage else S


def noise_ceiling(means, design, rows, method, sigma_k):
    """Leave-one-unit-out lower and all-units upper noise ceiling, on the same footing as the model scores.

    The "model" of unit ``i`` is the mean over the other units (lower) or all units (upper) of their mean RDMs
    per stage, scored against unit ``i``'s own RDMs exactly as every hypothesis is (stacked trajectory, or RDM by
    RDM and averaged within the unit), then averaged over units.
    """
    n_units = means.shape[0]
    lows, highs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        grand = np.nanmean(means, axis=0)  # (K, p)
        for i in range(n_units):
            others = np.nanmean(np.delete(means, i, axis=0), axis=0)
            for pred, out in ((others, lows), (grand, highs)):
                if np.isnan(pred).all():
                    continue
                vals = static_scores(np.where(np.isfinite(pred), pred, np.nanmean(pred)), design, rows,
                                     np.array([i]), method, sigma_k)
                vals = vals[np.isfinite(vals)]
                if vals.size:
                    out.append(float(np.mean(vals)))
    lo = float(np.mean(lows)) if lows else np.nan
    hi = float(np.mean(highs)) if highs else np.nan
    return lo, hi


def unit_folds(n_units, n_folds, rng, names=None):
    """Folds over units: leave-one-unit-out, or ``n_folds`` random parts.  With ``names`` (the units' labels) the
    random parts are drawn over the units sorted by label, so the same data in another row order, with the same
    seed, get the same folds."""
    if n_folds is None or n_folds >= n_units:
        return [np.array([u]) for u in range(n_units)], "leave-one-unit-out"
    order = rng.permutation(n_units)
    if names is not None:
        order = by_label(names)[order]
    return [np.sort(part) for part in np.array_split(order, n_folds)], f"{n_folds}-fold over units"


def by_label(names):
    """The units' indices sorted by their labels: random draws over units index this, not the order in which the
    units first appear in the data (which a re-ordered file changes)."""
    return np.argsort(np.array([str(x) for x in names]), kind="stable")


def percentile(x, ci):
    x = x[np.isfinite(x)]
    if x.size < 2:
        return np.nan, np.nan
    q = (1 - ci) / 2
    return float(np.quantile(x, q)), float(np.quantile(x, 1 - q))


# ----------------------------------------------------------------------------
# Monte-Carlo error of the networks' expected geometry: blocks of draws
# ----------------------------------------------------------------------------
#: ``mc_replicates="auto"`` adds blocks of draws until the Monte-Carlo SE of every pairwise mean difference is at
#: most this fraction of its sampling SE (the Monte-Carlo part then adds at most 4% to the variance of a difference).
MC_TARGET = 0.2
#: ``mc_replicates="auto"``: blocks at first (a first Monte-Carlo SE with 3 degrees of freedom) and at most
#: (doubling in between).
MC_MIN, MC_MAX = 4, 16
#: One block of draws (``mc_replicates=1``): its Monte-Carlo SE from leaving out each of this many groups of its
#: antithetic pairs in turn (a delete-a-group jackknife over the one draw set; the solved draws are reused).
MC_GROUPS = 4


def cv_once(hyps, tensors, ctx, folds, boot_counts, record=None, stage_tensors=None):
    """One crossvalidation on one set of score tensors: per-unit scores ``S``, the jackknife ``J`` over units, the
    bootstrap means ``boot`` (``None`` without ``boot_counts``) and, with ``stage_tensors`` (as in :func:`run_cv`),
    the per-stage scores ``SK`` and their jackknife ``JK`` at the same fold fits (else ``None``)."""
    n_units = ctx[1].n_units
    S = run_cv(hyps, tensors, ctx, np.ones(n_units, dtype=int), folds, record, stage_tensors)
    J = jackknife(hyps, tensors, ctx, n_units, folds, stage_tensors)
    (S, SK), (J, JK) = (S, J) if stage_tensors is not None else ((S, None), (J, None))
    boot = None
    if boot_counts:
        boot = np.full((len(boot_counts), len(hyps)), np.nan)
        for b, counts in enumerate(boot_counts):
            Sb = run_cv(hyps, tensors, ctx, counts, folds, None)
            ok = counts > 0
            den = np.sum(np.isfinite(Sb[ok]) * counts[ok, None], axis=0)
            num = np.nansum(Sb[ok] * counts[ok, None], axis=0)
            boot[b] = np.where(den > 0, num / np.maximum(den, 1), np.nan)
    return dict(S=S, J=J, boot=boot, SK=SK, JK=JK)


class DrawBlocks:
    """Independent blocks of Monte-Carlo draws for the random-start networks of a comparison.

    Block 0 is each model's own draws (its ``seed``); block ``r`` has the same ``n_draws`` with the seed
    ``SeedSequence([seed, r])`` gives.  :meth:`hypotheses` returns the hypotheses with every random-start model
    replaced by a copy that predicts the mean over blocks ``0 .. R - 1`` (optionally without one of them); the
    blocks' engines, and so their solved draws, are made once and shared by all these copies.
    """

    def __init__(self, hyps):
        self.hyps = hyps
        self._engines = {}  # (id(model), r) -> engine

    @staticmethod
    def pooled(model):
        return model.init == "random"

    def _engine(self, model, r):
        from ..models.network import _ENGINES

        key = (id(model), r)
        if key not in self._engines:
            self._engines[key] = model._engine if r == 0 else _ENGINES[model.init](
                model.task, model.n_hidden, model.representation, model.rcond, model.n_draws,
                self.block_seed(model, r))
        return self._engines[key]

    @staticmethod
    def block_seed(model, r):
        return int(model.seed) if r == 0 else int(np.random.SeedSequence([int(model.seed), r]).generate_state(1)[0])

    def _model(self, model, R, leave_out):
        from ..models.random_starts import _PooledEngine

        out = _with_engine(model, _PooledEngine([self._engine(model, r) for r in range(R) if r != leave_out]))
        out.mc_blocks_ = [self.block_seed(model, r) for r in range(R) if r != leave_out]
        return out

    def split(self, groups, leave_out):
        """Copies of the network hypotheses whose random-start models estimate from their own draws without group
        ``leave_out`` of ``groups`` (antithetic pairs kept whole; the solved draws are shared with the model): the
        delete-a-group jackknife over one draw set (:data:`MC_GROUPS`)."""
        return self._replaced(lambda m: self._subset_model(m, groups, leave_out))

    @staticmethod
    def splittable(model, groups):
        """Whether ``model``'s draws split into ``groups`` groups of at least one antithetic pair (or draw) each."""
        D = int(model.n_draws)
        return (D - (D + 1) // 2 if model._engine.mc != "plain" else D) >= groups

    @staticmethod
    def group_keep(model, groups, leave_out):
        """:func:`split_keep` for ``model``'s own draws (antithetic unless its engine draws plainly)."""
        return split_keep(int(model.n_draws), model._engine.mc != "plain", groups, leave_out)

    def _subset_model(self, model, groups, leave_out):
        key = (id(model), "split", groups, leave_out)
        if key not in self._engines:
            self._engines[key] = model._engine.subset(self.group_keep(model, groups, leave_out))
        return _with_engine(model, self._engines[key])

    def hypotheses(self, R, leave_out=None):
        """Copies of the network hypotheses whose random-start models pool blocks ``0 .. R - 1`` (but
        ``leave_out``); other hypotheses as they are."""
        return self._replaced(lambda m: self._model(m, R, leave_out))

    def _replaced(self, make):
        """The hypotheses with every random-start model ``m`` replaced by ``make(m)`` (other hypotheses, and the
        other models of a hypothesis, are the same objects)."""
        out = []
        for h in self.hyps:
            if h.kind == "network" and any(self.pooled(m) for m in h.models):
                h = copy_network(h, [make(m) if self.pooled(m) else m for m in h.models])
            out.append(h)
        return out


def _with_engine(model, engine):
    """A copy of ``model`` (the user's stays as it is) predicting from ``engine``, sharing its pair basis."""
    import copy
    from collections import OrderedDict

    out = copy.copy(model)
    out._engine = engine
    out._pred_cache = OrderedDict()
    out._full = _shared_selection(model, out)
    return out


def _shared_selection(model, copy_):
    """The copy's selection of all conditions, sharing the original's pair basis (the group pair rows and their
    factorisation depend on the task's items, not on the draws: at 1000 items they are 124 MB and seconds to build)."""
    import copy

    from ..models.network import _Selection

    full = getattr(model, "_full", None)
    if full is None:
        return _Selection(copy_, np.arange(len(model.labels)))
    out = copy.copy(full)
    out.model = copy_
    _ = full.basis  # built once, on the original, and shared
    out._basis = full._basis
    return out


def split_keep(n_draws, antithetic, groups, leave_out):
    """Indices of the draws kept when group ``leave_out`` of ``groups`` is left out of ``n_draws`` draws.

    Antithetic draws (:func:`rsa_lineardyn.models.draws._base_draws`: bases ``0 .. p - 1``, partners ``p ..``
    of the first ``q = n_draws - p``) are split by pair, and the kept indices keep that layout (the kept pairs'
    bases, the unpaired base, then the kept partners), so the estimator pairs them as before.
    """
    if not antithetic:
        parts = np.array_split(np.arange(n_draws), groups)
        return np.concatenate([g for i, g in enumerate(parts) if i != leave_out])
    p = (n_draws + 1) // 2
    q = n_draws - p
    parts = np.array_split(np.arange(q), groups)
    kept = np.concatenate([g for i, g in enumerate(parts) if i != leave_out])
    return np.concatenate([kept, np.arange(q, p), kept + p])


def copy_network(h, models):
    """A copy of network hypothesis ``h`` with other models (its candidates are made again when scored)."""
    import copy

    out = copy.copy(h)
    out.models = models
    out.__dict__.pop("cands", None)
    return out


def _means_of(S_list, k):
    """Mean over units of column combination ``k`` ((i, None): a model; (i, j): a difference), per S in S_list."""
    i, j = k
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.array([np.nanmean(S[:, i] if j is None else S[:, i] - S[:, j]) for S in S_list])


def block_jackknife_se(S_loo, n_hyp):
    """Delete-a-block jackknife SE of every model mean and pairwise mean difference: (n_hyp,), (n_pairs,).

    ``S_loo`` holds the per-unit crossvalidated scores with each block of draws left out in turn (R of them);
    ``sqrt((R - 1) / R * sum_r (m_(r) - mean)^2)``.  NaN with fewer than 2 blocks.
    """
    R = len(S_loo)
    pairs = [(i, j) for i in range(n_hyp) for j in range(i + 1, n_hyp)]

    def se(k):
        if R < 2:
            return np.nan
        m = _means_of(S_loo, k)
        if np.all(m == m[0]):  # e.g. a model without draws: exactly 0 (the mean of 3 equal numbers can be 1 ulp off)
            return 0.0
        return float(np.sqrt((R - 1) / R * np.sum((m - m.mean()) ** 2)))

    return np.array([se((i, None)) for i in range(n_hyp)]), np.array([se(p) for p in pairs])


def mc_blocks(run, n_blocks, ci, target=MC_TARGET):
    """The crossvalidation on the networks' geometry pooled over blocks of draws, with its Monte-Carlo SE.

    ``run(R)`` returns a dict with the pooled run's ``S``, ``J`` (and the rest of :func:`cv_once`'s output) and
    ``loo``, the per-unit scores with each of the ``R`` blocks left out.  ``n_blocks`` an int: that many blocks;
    ``"auto"``: :data:`MC_MIN` blocks, doubled (up to :data:`MC_MAX`) while some pair's Monte-Carlo SE exceeds
    ``target`` times its sampling SE.  Returns ``run``'s dict of the last round, with ``blocks``,
    ``model_mc_se``, ``pair_mc_se`` and ``pair_sem``.
    """
    R = MC_MIN if n_blocks == "auto" else int(n_blocks)
    while True:
        out = run(R)
        S, J = out["S"], out["J"]
        n_hyp = S.shape[1]
        out["model_mc_se"], out["pair_mc_se"] = block_jackknife_se(out["loo"], n_hyp)
        out["pair_sem"] = np.array([t_summary(S[:, i] - S[:, j], J[:, i] - J[:, j], ci, tie_tol=TIE_TOL)["sem"]
                                    for i in range(n_hyp) for j in range(i + 1, n_hyp)])
        out["blocks"] = R
        with np.errstate(invalid="ignore"):
            over = out["pair_mc_se"] > target * out["pair_sem"]
        if n_blocks != "auto" or R >= MC_MAX or not np.any(over):
            return out
        R = min(MC_MAX, 2 * R)


#: Relative spread of per-unit differences below which they count as equal in every unit (sign test, no t-test).
ZERO_SPREAD = 1e-9


def with_mc_error(st, mc_se, ci, two_sided=True):
    """A :func:`t_summary` row with the Monte-Carlo SE added to the sampling SE (independent errors): ``sem``
    stays the sampling SE; ``ci_low``, ``ci_high`` and ``p`` use ``sqrt(sem^2 + mc_se^2)`` on the same degrees
    of freedom."""
    from scipy import stats

    if not (np.isfinite(mc_se) and mc_se > 0 and np.isfinite(st["sem"]) and st["dof"] >= 1):
        return st
    if str(st["variance_method"]).startswith(("tie", "identical")):
        return st
    se = float(np.hypot(st["sem"], mc_se))
    tq = stats.t.ppf(0.5 + ci / 2, st["dof"])
    tstat = st["mean"] / se
    p = 2 * stats.t.sf(abs(tstat), st["dof"]) if two_sided else stats.t.sf(tstat, st["dof"])
    if str(st["variance_method"]).startswith("sign test"):  # no sampling spread: the sign test's p is a floor
        p = max(float(p), float(st["p"]))  # (a t-test on the Monte-Carlo SE alone would claim near certainty)
    return dict(st, ci_low=st["mean"] - tq * se, ci_high=st["mean"] + tq * se, p=float(p),
                variance_method=f"{st['variance_method']} + Monte-Carlo SE")
