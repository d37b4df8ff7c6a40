"""Crossvalidation over independent units on precomputed score tensors, and tests on its per-unit scores.

The numerical core of :mod:`rsa_lineardyn.hypotheses`, on plain arrays:

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

from .design import aggregate, stacked_scores
from .scoring import _score_matrix, _unit_scale

# ----------------------------------------------------------------------------
# statistics on per-unit scores
# ----------------------------------------------------------------------------
def t_summary(x, jack, ci, two_sided=True):
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


def jackknife(hyps, tensors, design, rows, n_units, folds, method, sigma_k):
    """Mean crossvalidated score of every hypothesis with each unit left out entirely: (n_units, n_hyp)."""
    out = np.full((n_units, len(hyps)), np.nan)
    for k in range(n_units):
        counts = np.ones(n_units, dtype=int)
        counts[k] = 0
        Sk = run_cv(hyps, tensors, design, rows, counts, folds, method, sigma_k, None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[k] = np.nanmean(np.delete(Sk, k, axis=0), axis=0)
    return out


# ----------------------------------------------------------------------------
# crossvalidation over units on precomputed score tensors
# ----------------------------------------------------------------------------
class Rows:
    """What the rows of the score tensors are: data RDMs (scored one by one) or units (whole trajectories)."""

    def __init__(self, design, unit_of, n_units, shared):
        self.shared = shared
        self.rdm_unit = unit_of
        self.unit = np.arange(n_units) if shared else unit_of
        self.stage = np.zeros(n_units, dtype=int) if shared else design.stage_of


def fold_network(R, w, design, rows, test_rows):
    """Fit on row weights ``w`` (aggregate over R), score the test rows: (values, choice (c, g_path) or None)."""
    score, gidx, _ = aggregate(R, w, rows.stage, design.K, design.free)
    if not np.any(np.isfinite(score)):
        return np.full(test_rows.size, np.nan), None
    c = int(np.nanargmax(np.where(np.isfinite(score), score, -np.inf)))
    g = gidx[c][rows.stage[test_rows]]
    return R[test_rows, c, g], (c, gidx[c])


def static_scores(pred, design, rows, test_rows, method, sigma_k):
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
    Dk = _unit_scale(D[:, keep][w > 0], method)  # exact power-of-two rescaling: data in any units (1e300)
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


def run_cv(hyps, tensors, design, rows, counts, folds, method, sigma_k, record):
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
                vals, choice = fold_network(tensors[j], w, design, rows, test_rows)
                if record is not None:
                    record.append((f, h, choice))
            elif h.kind == "fixed":
                vals = tensors[j][test_rows]
            else:
                coef = _nnls_weights(h.F, D, train_counts[rows.rdm_unit], method)
                vals = (static_scores(coef @ h.F, design, rows, test_rows, method, sigma_k) if np.any(coef > 0)
                        else np.full(test_rows.size, np.nan))
                if record is not None:
                    record.append((f, h, coef))
            for u in test_units:
                v = vals[rows.unit[test_rows] == u]
                v = v[np.isfinite(v)]
                S[u, j] = np.mean(v) if v.size else np.nan
    return S


def noise_ceiling(design, unit_of, n_units, method, sigma_k, shared=False):
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


def unit_folds(n_units, n_folds, rng):
    if n_folds is None or n_folds >= n_units:
        return [np.array([u]) for u in range(n_units)], "leave-one-unit-out"
    order = rng.permutation(n_units)
    return [np.sort(part) for part in np.array_split(order, n_folds)], f"{n_folds}-fold over units"


def percentile(x, ci):
    x = x[np.isfinite(x)]
    if x.size < 2:
        return np.nan, np.nan
    q = (1 - ci) / 2
    return float(np.quantile(x, q)), float(np.quantile(x, 1 - q))
