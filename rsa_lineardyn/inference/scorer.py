"""The one scorer: data RDMs x predicted RDM trajectories -> a score per unit of replication.

Every layer that scores predictions against data -- :func:`rsa_lineardyn.fit_rdms` (group, per-subject and
bootstrap fits, the continuous refinement), :func:`rsa_lineardyn.evaluate_hypotheses` and the ``compare_*``
tests (networks, fixed models, the feature baseline, the noise ceiling) and the CLI -- scores through here, so
a fit and a test of the same model on the same data agree.

How stages are scored (``stage_scale``):

* ``"shared"`` (the default for several stages with ``corr``/``cosine`` and a linear time map): all RDMs of a
  unit (its stages, and sessions within stages) are stacked into one vector and compared with the prediction
  stacked the same way.  The score is scale-free overall, not per stage, so how much the geometry grows and
  changes between stages counts: that is where ``lam`` and the time course are written (scored stage by stage,
  every ``lam`` fits each stage about equally well once its time is free).  Needs the stages measured on one
  common scale (same channels and dissimilarity estimator, e.g. crossnobis).
* ``"separate"``: every RDM is scored on its own (scale-free per stage) and a unit's score is the mean over its
  RDMs.  Other comparison methods, and the free time map (whose dynamic programme needs per-stage scores), use
  this.

Missing values are handled the rsatoolbox way in stacked scores: a NaN dissimilarity is left out of its own
RDM's comparison only, so subjects with different condition sets, or a missing run, keep the rest of their data.

Stacked scores come from per-RDM sufficient statistics (:class:`StackedStats`): for a prediction ``v`` and a data
RDM ``d`` over its valid pairs, ``m`` the mean of ``v``, ``z = v - m``, ``e`` the mean of ``d``, ``y = d - e``:
``zy = z.y``, ``z2 = |z|^2``, ``y2 = |y|^2``, ``s`` the number (or bootstrap weight) of pairs.  A unit's stacked
correlation under any weights over its RDMs follows exactly from these (the between-RDM parts of the means enter
through ``m``, ``e`` and ``s``), computed without the cancellation of raw sums; ``cosine`` is the same with
``m = e = 0``.  The same statistics give the per-RDM (separate) correlation ``zy / sqrt(z2 y2)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import InputValueError, check_memory
from .design import _one_blas_thread, _run_jobs, _score_group, _theta, score_tensor
from ..models.network import DegeneracyWarning
from ..representations.similarity import _unit_scale

__all__ = ["STAGE_SCALES", "resolve_stage_scale", "Rows", "DataStats", "StackedStats", "stacked_stats",
           "static_unit_scores", "stage_unit_scores", "BootMoments", "boot_pair_weights", "condition_boot_tensor"]

STAGE_SCALES = ("auto", "shared", "separate")
STACKABLE = ("corr", "cosine")


def _groups(design):
    """The unit of every data RDM, for per-unit rescaling: its subject; without subjects every RDM of a snapshot is
    its own unit, and several stages of one unit are one group."""
    if getattr(design, "subjects", None) is not None:
        return design.subject_of
    return np.arange(design.n_rdm) if design.snapshot else None


def resolve_stage_scale(stage_scale, method, design):
    """``"shared"`` or ``"separate"`` for this design, and a note when ``"auto"`` could not take ``"shared"``.

    A snapshot (one stage) is scored per RDM either way: with one stage there is nothing to stack.
    """
    if design.snapshot:
        return "separate", None
    can = method in STACKABLE and not design.free
    if stage_scale == "auto":
        if can:
            return "shared", None
        why = (f"method {method!r}" if method not in STACKABLE else "time_map='free'")
        return "separate", (f"stages scored separately (stage_scale='separate'): joint scoring of the trajectory "
                            f"needs method 'corr' or 'cosine' and time_map='linear', not {why}; lam and the time "
                            "course are then weakly determined")
    if stage_scale == "shared" and not can:
        raise InputValueError(
            "stage_scale='shared' (stages stacked and scored jointly as one trajectory) needs method 'corr' or 'cosine' and "
            f"time_map='linear'; got method {method!r}, time_map {'free' if design.free else 'linear'!r}. Use "
            "stage_scale='separate' or change the method / time map.")
    return stage_scale, None


class Rows:
    """What the rows of a score tensor are: data RDMs (scored one by one) or units (stacked trajectories).

    ``unit`` (n_rows,) is the unit of every row, ``stage`` its stage (0 for stacked rows), ``rdm_unit`` the unit
    of every data RDM.
    """

    def __init__(self, design, unit_of, n_units, shared):
        self.shared = shared
        self.rdm_unit = np.asarray(unit_of)
        self.n_units = n_units
        self.unit = np.arange(n_units) if shared else self.rdm_unit
        self.stage = np.zeros(n_units, dtype=int) if shared else design.stage_of


# ----------------------------------------------------------------------------
# sufficient statistics
# ----------------------------------------------------------------------------
class DataStats:
    """Per-RDM statistics of the data (rescaled by one common power of two), for one pair weighting.

    Attributes: ``mask`` (n_rdm, n_pairs) valid pairs, ``classes`` the distinct masks and ``cls`` (n_rdm,) each
    RDM's class, ``Y`` (n_rdm, n_pairs) the centred (``corr``) data, zero at invalid pairs and weighted by
    ``pair_w``, ``e`` means, ``y2`` centred sums of squares, ``s`` (n_rdm,) pair counts (weights).
    """

    def __init__(self, D, method, pair_w=None, groups=None):
        D = np.asarray(D, dtype=float)
        self.method = method
        self.centre = method == "corr"
        mask = np.isfinite(D)
        Dz = np.where(mask, D, 0.0)
        # one exact power-of-two factor per unit (``groups``): a unit's stacked RDMs keep their relative sizes, and
        # units in very different units (1e-300 next to 1e300) neither underflow nor overflow
        groups = np.zeros(len(D), dtype=int) if groups is None else np.asarray(groups)
        for g in np.unique(groups):
            rows = groups == g
            Dz[rows] = _unit_scale(Dz[rows], method, common=True)
        Dz = np.where(mask, Dz, 0.0)
        W = np.ones(D.shape[1]) if pair_w is None else np.asarray(pair_w, dtype=float)
        Wm = mask * W  # (n_rdm, p)
        s = Wm.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            e = np.where(s > 0, (Wm * Dz).sum(axis=1) / np.where(s > 0, s, 1.0), 0.0) if self.centre else np.zeros(len(D))
        Yc = np.where(mask, Dz - e[:, None], 0.0)
        self.y2 = (Wm * Yc * Yc).sum(axis=1)
        self.Yw = Wm * Yc  # weighted centred data: zy = z @ Yw^T
        self.e, self.s, self.W = e, s, W
        if mask.all():  # the usual case: one class, no sort of the whole mask
            self.classes, self.cls = np.ones((1, mask.shape[1]), dtype=bool), np.zeros(len(mask), dtype=int)
        else:  # distinct masks, compared as packed bytes
            packed = np.ascontiguousarray(np.packbits(mask, axis=1))
            keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
            _, first, cls = np.unique(keys, return_index=True, return_inverse=True)
            self.classes, self.cls = mask[first], np.asarray(cls).ravel()


def _prediction_stats(V, data):
    """Per mask class: mean ``m`` (Q, U) and centred sum of squares ``z2`` (Q, U) of the predictions V (U, p)."""
    Q = data.classes.shape[0]
    m = np.zeros((Q, V.shape[0]))
    z2 = np.zeros((Q, V.shape[0]))
    for q in range(Q):
        wq = data.classes[q] * data.W
        sw = wq.sum()
        if sw <= 0:
            continue
        if data.centre:
            m[q] = (V * wq).sum(axis=1) / sw
        z2[q] = (wq * (V - m[q][:, None]) ** 2).sum(axis=1)
    return m, z2


class StackedStats:
    """Sufficient statistics of every candidate at every time parameter against every data RDM.

    ``zy``, ``m``, ``z2``: (n_rdm, C, G) (``m``/``z2`` are the prediction's mean and centred sum of squares over
    the RDM's own valid pairs, at the time of the RDM's stage); ``e``, ``y2``, ``s``: (n_rdm,) from
    :class:`DataStats`.
    """

    def __init__(self, zy, m, z2, data):
        self.zy, self.m, self.z2 = zy, m, z2
        self.e, self.y2, self.s = data.e, data.y2, data.s

    def rdm_scores(self):
        """Every RDM scored on its own: (n_rdm, C, G) (rsatoolbox's corr/cosine over the RDM's valid pairs)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            den = np.sqrt(self.z2 * self.y2[:, None, None])
            return np.where(den > 0, self.zy / np.where(den > 0, den, 1.0), np.nan)

    def unit_scores(self, w, unit_of, n_units, units=None):
        """Stacked score of every unit: (n_units, C, G), RDM ``r`` counted ``w[r]`` times (0: left out).

        ``units``: compute only these (the others stay NaN).
        """
        out = np.full((n_units,) + self.zy.shape[1:], np.nan)
        for u in (range(n_units) if units is None else units):
            r = np.flatnonzero((unit_of == u) & (w > 0) & (self.s > 0))
            if r.size:
                out[u] = self._stacked(r, np.asarray(w, float)[r])
        return out

    def _stacked(self, r, wr):
        ws = wr * self.s[r]
        tot = ws.sum()
        m, e = self.m[r], self.e[r]
        mbar = np.tensordot(ws, m, axes=1) / tot  # (C, G)
        ebar = float(ws @ e) / tot
        dm = m - mbar[None]
        de = e - ebar
        vv = np.tensordot(wr, self.z2[r], axes=1) + np.tensordot(ws, dm * dm, axes=1)
        dd = float(wr @ self.y2[r] + ws @ (de * de))
        cov = np.tensordot(wr, self.zy[r], axes=1) + np.tensordot(ws * de, dm, axes=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            den = np.sqrt(np.maximum(vv, 0.0) * max(dd, 0.0))
            return np.where(den > 0, cov / np.where(den > 0, den, 1.0), np.nan)


def stacked_stats(V, idx, data, common_scale=True):
    """:class:`StackedStats` of one candidate from its predictions ``V`` (U, p) at the unique times.

    ``idx`` (G, n_rdm): the unique time at which RDM ``r`` is predicted at time parameter ``g``.  Returns arrays
    of shape (n_rdm, 1, G) (one candidate).
    """
    V = np.asarray(V, dtype=float)
    if not np.all(np.isfinite(V)):
        raise InputValueError("a prediction has non-finite dissimilarities; it cannot be scored.")
    if common_scale:
        V = _unit_scale(V, data.method, common=True)
    m_q, z2_q = _prediction_stats(V, data)  # (Q, U)
    ZY = V @ data.Yw.T  # (U, n_rdm); the mean term drops out: sum_p Yw = 0 for centred data (and m = 0 for cosine)
    cols = np.arange(idx.shape[1])
    zy = ZY[idx, cols[None, :]].T  # (n_rdm, G)
    m = m_q[data.cls[None, :], idx].T
    z2 = z2_q[data.cls[None, :], idx].T
    return zy[:, None, :], m[:, None, :], z2[:, None, :]


def _data_stats(design, method):
    """The design's :class:`DataStats` for ``method`` (unweighted pairs), built once per design and method."""
    cache = design.__dict__.setdefault("_data_stats", {})
    groups = _groups(design)
    key = (method, design.data.shape, None if groups is None else np.asarray(groups).tobytes())
    if key not in cache:
        cache[key] = DataStats(design.data, method, None, groups)
    return cache[key]


def stage_unit_scores(st, stage_of, K, unit_of, n_units, units=None):
    """Every unit's score on each stage alone, from the statistics of its whole stacked trajectory: (K, n_units,
    C, G).  Stage ``k``'s score is :meth:`StackedStats.unit_scores` with only the unit's RDMs of stage ``k``
    counted (its sessions at that stage stacked; one RDM: its own ``corr``/``cosine``), so it is computed by the
    same arithmetic, on the same statistics, as the stacked score it resolves."""
    stage_of = np.asarray(stage_of)
    return np.stack([st.unit_scores((stage_of == k).astype(float), unit_of, n_units, units) for k in range(K)])


def static_unit_scores(pred, design, rows, test_units, method, pair_w=None, by_stage=False):
    """Scores of one prediction per stage ``pred`` (K, n_pairs) -- or one static prediction (n_pairs,) -- for
    the units ``test_units``: stacked per unit, or per RDM as the rows are.  ``by_stage`` (stacked rows only):
    each unit's score on each stage alone instead (:func:`stage_unit_scores`), (n_test_units, K)."""
    pred = np.asarray(pred, dtype=float)
    if pred.ndim == 1:
        pred = np.broadcast_to(pred, (design.K, pred.size))
    data = _data_stats(design, method) if pair_w is None else DataStats(design.data, method, pair_w, _groups(design))
    idx = design.stage_of[None, :]  # one "time parameter": stage k's prediction
    zy, m, z2 = stacked_stats(pred, idx, data)
    st = StackedStats(zy, m, z2, data)
    if rows.shared and by_stage:
        return stage_unit_scores(st, design.stage_of, design.K, rows.rdm_unit, rows.n_units,
                                 test_units)[:, test_units, 0, 0].T
    if rows.shared:
        w = np.isin(rows.rdm_unit, test_units).astype(float)
        return st.unit_scores(w, rows.rdm_unit, rows.n_units)[test_units, 0, 0]
    sel = np.flatnonzero(np.isin(rows.unit, test_units))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return st.rdm_scores()[sel, 0, 0]


# ----------------------------------------------------------------------------
# every candidate of a fit
# ----------------------------------------------------------------------------
def _group_stats(design, model, lams, log10_scales, data):
    """Stacked statistics of one group (one model, its lam x scale grid): arrays (n_rdm, n_lam * n_scale, G)."""

    idx = design.inv[:, design.stage_of]  # (G, n_rdm)
    parts = []
    with _one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DegeneracyWarning)
        for lam in lams:
            for ls in log10_scales:
                V = model.predict_times(design.uniq, _theta(model, lam, ls))  # (U, n_pairs)
                parts.append(stacked_stats(V, idx, data))
    return tuple(np.concatenate([p[i] for p in parts], axis=1) for i in range(3))


def candidate_stats(design, candidates, method, *, pair_w=None, n_jobs=1, backend=None, progress=False,
                    what="fit"):
    """:class:`StackedStats` of every candidate (C) at every time parameter (G) against every data RDM."""
    from joblib import delayed


    data = DataStats(design.data, method, pair_w, _groups(design))
    jobs = [delayed(_group_stats)(design, model, lams, lss, data) for model, lams, lss in candidates.groups]
    parts = _run_jobs(jobs, n_jobs, backend, progress, what)
    return StackedStats(*(np.concatenate([p[i] for p in parts], axis=1) for i in range(3)), data)


def unit_matrix_check(design, unit_of, n_units):
    """Refuse units without any valid dissimilarity (every RDM of the unit all-NaN), naming them."""
    data_ok = np.isfinite(design.data).any(axis=1)
    have = np.bincount(np.asarray(unit_of)[data_ok], minlength=n_units)
    return np.flatnonzero(have == 0)


def _group_boot_scores(design, model, lams, log10_scales, datas, unit_of, n_units):
    """Unit scores of one group under each pair weighting in ``datas``: (B, n_units, n_lam * n_scale, G)."""

    idx = design.inv[:, design.stage_of]
    ones = np.ones(design.n_rdm)
    out = np.empty((len(datas), n_units, len(lams) * len(log10_scales), idx.shape[0]))
    c = 0
    with _one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DegeneracyWarning)
        for lam in lams:
            for ls in log10_scales:
                V = model.predict_times(design.uniq, _theta(model, lam, ls))
                for b, data in enumerate(datas):
                    st = StackedStats(*stacked_stats(V, idx, data), data)
                    out[b, :, c:c + 1] = st.unit_scores(ones, unit_of, n_units)
                c += 1
    return out


def candidate_boot_scores(design, candidates, method, counts, unit_of, n_units, *, n_jobs=1, backend=None,
                          progress=False, what="bootstrap"):
    """Stacked unit scores of every candidate under each condition-bootstrap sample (counts (B, n_cond)):
    (B, n_units, C, G) -- a bootstrap over conditions without rebuilding any prediction.

    Rank-one models are scored from :class:`BootMoments` of their group pair rows (:func:`_stacked_boot_group`);
    others from :class:`DataStats` per sample on the explicit pair weights (sized first).
    """
    from joblib import delayed

    jobs, moments, datas = [], [], None
    groups = _groups(design)
    for model, lams, lss in candidates.groups:
        rows = _rank_one_rows(model, design, method, len(counts))
        if rows is None:
            if datas is None:
                _check_pair_weights(counts, model, what)
                datas = [DataStats(design.data, method, w, groups) for w in boot_pair_weights(np.asarray(counts))]
            jobs.append(delayed(_group_boot_scores)(design, model, lams, lss, datas, unit_of, n_units))
            continue
        mom = _shared_moments(moments, rows, counts, design, method, groups)
        jobs.append(delayed(_stacked_boot_group)(design, model, lams, lss, mom, unit_of, n_units))
    return np.concatenate(_run_jobs(jobs, n_jobs, backend, progress, what), axis=2)


def _stacked_boot_group(design, model, lams, log10_scales, mom, unit_of, n_units):
    """Stacked unit scores of one rank-one group under every sample, from its :class:`BootMoments`.

    Per sample the per-RDM statistics of :class:`StackedStats` follow from the moments' weighted sums: ``zy =
    Wvd - Wv Wd / s``, ``z2 = Wvv - Wv^2 / s``, the weighted means ``m``, ``e`` from the unweighted ones plus
    ``Wv / s``, ``Wd / s`` (``corr``; zero for ``cosine``, whose sums are uncentred).  (B, n_units, C, G).
    """
    from types import SimpleNamespace

    idx = design.inv[:, design.stage_of]  # (G, n_rdm)
    cols = np.arange(design.n_rdm)
    ones = np.ones(design.n_rdm)
    B, C = mom.counts.shape[0], len(lams) * len(log10_scales)
    out = np.empty((B, n_units, C, idx.shape[0]))
    c = 0
    with _one_blas_thread(), warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", DegeneracyWarning)
        for lam in lams:
            for ls in log10_scales:
                lam_, scale_, _ = model._unpack(_theta(model, lam, ls))
                w = model._engine.rank_one(lam_, scale_, design.uniq, model.tau)[0]
                (Wv, Wvv, Wvd), mean = mom.sums(model._full.group_weights(w))
                for b in range(B):
                    s = mom.sw[b]
                    zy = Wvd[b] - Wv[b][:, None] * mom.Wd[b][None, :] / s if mom.centre else Wvd[b]
                    z2 = Wvv[b] - Wv[b] ** 2 / s if mom.centre else Wvv[b]
                    m = mean + Wv[b] / s if mom.centre else np.zeros_like(mean)
                    data = SimpleNamespace(e=(mom.dmean + mom.Wd[b] / s) if mom.centre else np.zeros(design.n_rdm),
                                           y2=mom.Wdd[b] - mom.Wd[b] ** 2 / s if mom.centre else mom.Wdd[b],
                                           s=np.full(design.n_rdm, s))
                    st = StackedStats(zy[idx, cols].T[:, None], m[idx].T[:, None], z2[idx].T[:, None], data)
                    out[b, :, c] = st.unit_scores(ones, unit_of, n_units)[:, 0]
                c += 1
    return out


def check_score_memory(design, n_candidates, shared, *, n_boot_maps=0, what="fit_rdms"):
    """Refuse, before anything is allocated, score arrays beyond the memory limit, with the estimate and the fix.

    Stacked scores keep three statistics per data RDM, candidate and time parameter; a condition bootstrap keeps
    one score tensor per sample (``n_boot_maps``).  The predictions themselves are one (unique times x pairs)
    array per candidate at a time.
    """

    G = design.tparams.shape[0]
    rows = design.n_rdm
    per = rows * n_candidates * G
    n = (3 * per if shared else per) + design.uniq.size * design.data.shape[1] + n_boot_maps * per
    return check_memory(
        n, f"{what}'s score arrays ({rows} data RDMs x {n_candidates} candidates (widths x lam x scale) x {G} time "
           f"parameters{', x 3 statistics' if shared else ''}{f', plus {n_boot_maps} bootstrap maps' if n_boot_maps else ''})",
        "Lower n_times / n_lam, search fewer widths (n_hidden=), fewer bootstrap samples (n_boot=), or fit subsets "
        "of the data (regions / subjects) one at a time.")


def score_rows(design, candidates, method, sigma_k, unit_of, n_units, shared, **kw):
    """``(R, stats)``: every candidate's scores on the rows -- units' stacked trajectories (``shared``; ``stats``
    the :class:`StackedStats` behind them) or RDMs one by one (``stats`` ``None``).

    RDMs with missing values are scored each over its own valid pairs, whatever the method (rsatoolbox's rule for
    a set -- a pair missing anywhere is left out everywhere -- would let one subject's holes change every other
    subject's score); methods that compare whole matrices (``bures``, ``neg_riem_dist``) refuse missing pairs.
    """

    if shared:
        stats = candidate_stats(design, candidates, method, **kw)
        return stats.unit_scores(np.ones(design.n_rdm), unit_of, n_units), stats
    if method in STACKABLE and np.isnan(design.data).any():
        return candidate_stats(design, candidates, method, **kw).rdm_scores(), None
    return score_tensor(design, candidates, method, sigma_k, **kw)[0], None


def missing_note(design, unit_of, n_units):
    """A note on missing dissimilarities (how many RDMs have some; condition pairs per unit), or ``None``."""
    valid = np.isfinite(design.data)
    if valid.all():
        return None
    per_unit = [int(valid[np.asarray(unit_of) == u].sum(axis=0).astype(bool).sum()) for u in range(n_units)]
    return (f"missing dissimilarities (NaN) are left out of their own RDM's score: {int((~valid).any(axis=1).sum())} "
            f"of {design.n_rdm} RDMs have some; condition pairs per unit {min(per_unit)}-{max(per_unit)} of "
            f"{design.data.shape[1]} ({n_units} units)")


# ----------------------------------------------------------------------------
# the condition bootstrap: moments of the rank-one pair rows under every sample
# ----------------------------------------------------------------------------
#: Array elements per chunk of condition pairs in the bootstrap's weighted sums (~32 MB of temporaries).
_BOOT_CHUNK_ELEMENTS = 1 << 22
#: Bytes of :class:`BootMoments` arrays above which a model's bootstrap takes the explicit path.
_BOOT_MOMENT_BYTES = 512 * 2**20
#: Predictions with a centred norm at most this fraction of the size of their terms are bootstrapped directly.
_BOOT_DIRECT = 1e-2


def boot_pair_weights(counts):
    """Pair weights (B, n_pairs) of condition-bootstrap samples with condition counts ``counts`` (B, n): the pair
    ``(a, b)`` is held ``n_a n_b`` times by a resampled RDM (pairs of a condition with its own copy are dropped)."""
    ia, ib = np.triu_indices(counts.shape[1], k=1)
    return counts[:, ia] * counts[:, ib]


class BootMoments:
    """Weighted sums over the condition pairs under every bootstrap sample, for rank-one predictions.

    A bootstrap sample of conditions with counts ``n_a`` weighs the pair ``(a, b)`` by ``W_p = n_a n_b``, and a
    sample's ``corr``/``cosine`` scores need ``sum_p W_p v_p``, ``sum_p W_p v_p^2`` and ``sum_p W_p v_p d_p`` for
    every prediction ``v`` and data RDM ``d``.  For a rank-one model the predictions are ``v = w @ Rows`` (the
    selection's group pair rows ``Rows`` (G, n_pairs), :class:`rsa_lineardyn.models.network._PairBasis`, here with their
    total as an extra first row, see ``_coefficients``), so these sums
    are ``w @ A1_b``, ``w M_b w^T`` and ``w @ A3_b`` with ``A1 = W Rows^T`` (B, G), ``M_b = Rows diag(W_b)
    Rows^T`` (B, G, G) and ``A3`` (B, R, G): computed once per basis, in chunks of pairs (no (B, n_pairs) array),
    then every candidate costs (B x G^2) instead of (B x n_pairs x R).  As in
    :func:`rsa_lineardyn.representations.similarity._weighted_fast` the rows and the data are centred by their unweighted means first
    (``corr``), against cancellation in the weighted variances.
    """

    def __init__(self, counts, data, method, rows=None, groups=None):
        counts = np.asarray(counts, dtype=float)
        d = np.asarray(data, dtype=float)
        if groups is None:  # every RDM on its own scale (scored one by one)
            d = _unit_scale(d, method)
        else:  # one power of two per unit, as DataStats (stacked scores compare a unit's RDMs with each other)
            d = d.copy()
            for g in np.unique(groups):
                d[groups == g] = _unit_scale(d[groups == g], method, common=True)
        self.centre = method == "corr"
        self.dmean = d.mean(axis=1) if self.centre else np.zeros(d.shape[0])
        self.d = d - self.dmean[:, None]
        self.counts = counts
        self.ia, self.ib = np.triu_indices(counts.shape[1], k=1)
        B, R = counts.shape[0], self.d.shape[0]
        self.sw, self.Wd, self.Wdd = np.zeros(B), np.zeros((B, R)), np.zeros((B, R))
        self.rows = None
        if rows is not None:  # the total row first: near-isotropic weights are written w_ref * total + small parts
            rows = np.concatenate([rows.sum(axis=0, keepdims=True), rows], axis=0)
            self.mean = rows.mean(axis=1) if self.centre else np.zeros(rows.shape[0])
            self.rows = rows
            G = rows.shape[0]
            self.A1, self.A3 = np.zeros((B, G)), np.zeros((B, R, G))
            iu, ju = np.triu_indices(G)  # M is symmetric: its upper triangle as one product with every sample
            Mu = np.zeros((B, iu.size))
            self.RR = np.zeros((G, G))
        k = 1 if rows is None else -(-rows.shape[0] * (rows.shape[0] + 1) // (2 * B))  # temporaries: B x chunk, G^2/2 x chunk
        for lo, hi, Wc in self._chunks(max(k, 1)):
            dc = self.d[:, lo:hi]
            self.sw += Wc.sum(axis=1)
            self.Wd += Wc @ dc.T
            self.Wdd += Wc @ (dc * dc).T
            if rows is not None:
                Rc = self._centred(lo, hi)
                self.A1 += Wc @ Rc.T
                Mu += Wc @ (Rc[iu] * Rc[ju]).T  # one GEMM (B x G(G+1)/2), not B batched (G x G) products
                self.RR += Rc @ Rc.T
                for r in range(R):
                    self.A3[:, r] += (Wc * dc[r]) @ Rc.T
        if rows is not None:
            self.M = np.zeros((B, G, G))
            self.M[:, iu, ju] = Mu
            self.M[:, ju, iu] = Mu
            self.rownorm = np.sqrt(np.maximum(np.diagonal(self.RR), 0.0))
            self.range = (rows[1:].min(axis=1), rows[1:].max(axis=1))

    def _centred(self, lo, hi):
        return self.rows[:, lo:hi] - self.mean[:, None]

    def _chunks(self, k):
        """``(lo, hi, W[:, lo:hi])`` over chunks of pairs, with temporaries of about ``B x k x chunk`` elements."""
        B, n_pairs = self.counts.shape[0], self.ia.size
        step = max(1, _BOOT_CHUNK_ELEMENTS // max(B * max(k, 1), 1))
        for lo in range(0, n_pairs, step):
            hi = min(lo + step, n_pairs)
            yield lo, hi, self.counts[:, self.ia[lo:hi]] * self.counts[:, self.ib[lo:hi]]

    def _direct_sums(self, V):
        """``(Wv, Wvv, Wvd)`` of explicit predictions ``V`` (U, n_pairs), in chunks of pairs."""
        if self.centre:
            V = V - V.mean(axis=1, keepdims=True)
        B, U, R = self.counts.shape[0], V.shape[0], self.d.shape[0]
        Wv, Wvv, Wvd = np.zeros((B, U)), np.zeros((B, U)), np.zeros((B, U, R))
        for lo, hi, Wc in self._chunks(R):
            v = V[:, lo:hi]
            Wv += Wc @ v.T
            Wvv += Wc @ (v * v).T
            vT = np.ascontiguousarray(v.T)
            for r in range(R):
                Wvd[:, :, r] += (Wc * self.d[r, lo:hi]) @ vT
        return Wv, Wvv, Wvd

    def _scores(self, Wv, Wvv, Wvd):
        """Scores (B, U, R) from the weighted sums (as :func:`rsa_lineardyn.representations.similarity._weighted_fast`)."""
        sw = self.sw[:, None]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if self.centre:
                mv, md = Wv / sw, self.Wd / sw
                cov = Wvd / sw[:, :, None] - mv[:, :, None] * md[:, None, :]
                vv = np.maximum(Wvv / sw - mv**2, 0.0)
                dd = np.maximum(self.Wdd / sw - md**2, 0.0)
            else:
                cov, vv, dd = Wvd, Wvv, self.Wdd
            out = cov / np.sqrt(vv[:, :, None] * dd[:, None, :])
        return np.where(np.isfinite(out), out, np.nan)

    def scores(self, wg):
        """Scores (B, U, R) of the predictions ``max(wg @ rows, 0)`` for group weights ``wg`` (U, G).

        The weighted sums of squares are quadratic forms in ``wg``: their rounding is ``eps (sum_g |w_g| |Rc_g|)^2``,
        so a prediction whose centred norm is far below that size (``|v_c| <= 1e-2 sum_g |w_g| |Rc_g|``: nearly
        constant, e.g. near the isotropic start) is scored from the explicit prediction instead (relative
        rounding then at most ~1e4 eps, below that of the explicit scores of such predictions, which lose
        ``eps |v| / |v_c|`` in the centring); so are predictions with a negative pair (clipped at 0), weights that
        are not finite, and near-perfect scores (the rules of :class:`rsa_lineardyn.representations.similarity._RankOneScores`).
        """
        return self._scores(*self.sums(wg)[0])

    def sums(self, wg):
        """``((Wv, Wvv, Wvd), mean)`` of the predictions ``max(wg @ rows, 0)``: weighted sums (B, U), (B, U),
        (B, U, R) of the predictions centred by their unweighted means (``corr``; uncentred for ``cosine``), and
        those means (U,).  Predictions that :meth:`scores` would score explicitly get explicit sums."""
        wg = np.asarray(wg, dtype=float)
        a = self._coefficients(wg)
        with np.errstate(invalid="ignore", over="ignore"):
            MW = self.M @ a.T  # (B, G + 1, U)
            sums = [self.A1 @ a.T, np.einsum("bgu,ug->bu", MW, a), np.swapaxes(self.A3 @ a.T, 1, 2)]
            out = self._scores(*sums)
            nv = np.sqrt(np.maximum(np.einsum("ug,gh,uh->u", a, self.RR, a), 0.0))
            direct = ~(nv > _BOOT_DIRECT * (np.abs(a) @ self.rownorm)) | ~np.all(np.isfinite(wg), axis=1)
            direct |= np.any(np.abs(out) > 1.0 - 1e-9, axis=(0, 2)) | self._clipped(wg)
        mean = a @ self.mean
        if np.any(direct):
            V = np.maximum(wg[direct] @ self.rows[1:], 0.0)
            for x, y in zip(sums, self._direct_sums(V)):
                x[:, direct] = y
            mean[direct] = V.mean(axis=1) if self.centre else 0.0
        return sums, mean

    def _clipped(self, wg):
        """Per prediction (U,): some pair of ``wg @ rows`` is negative (the prediction clips it at 0).

        Negative weights (the Monte Carlo estimate of a mode that is not learned) need not make a negative
        dissimilarity: a bound from the rows' ranges first, the prediction itself only where the bound fails."""
        lo, hi = self.range
        bound = np.where(wg < 0, wg * hi, wg * lo).sum(axis=1)
        out = ~(bound >= 0)
        for u in np.flatnonzero(out & np.all(np.isfinite(wg), axis=1)):
            out[u] = np.min(wg[u] @ self.rows[1:]) < 0
        return out

    def _coefficients(self, wg):
        """Coefficients (U, G + 1) of the rows ``[total; rows]`` for group weights ``wg``: ``w_ref`` on the total
        row and ``wg - w_ref`` on the groups, with ``w_ref`` the median of ``wg`` weighted by the centred rows'
        norms (for a near-isotropic ``wg`` the group terms are then small instead of cancelling each other: one-hot
        items, whose total row is constant)."""
        norms = self.rownorm[1:]
        order = np.argsort(wg, axis=1)
        cum = np.cumsum(norms[order], axis=1)
        k = np.argmax(cum >= 0.5 * cum[:, -1:], axis=1)
        ref = np.take_along_axis(wg, np.take_along_axis(order, k[:, None], axis=1), axis=1)  # (U, 1)
        return np.concatenate([ref, wg - ref], axis=1)


def _boot_group(design, model, lams, log10_scales, moments):
    """Bootstrap score tensor of one rank-one group from its :class:`BootMoments`: (B, n_rdm, n_lam * n_scale, G)."""
    idx = design.inv[:, design.stage_of]
    out = np.empty((moments.counts.shape[0], design.n_rdm, len(lams) * len(log10_scales), idx.shape[0]))
    c = 0
    with _one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DegeneracyWarning)
        for lam in lams:
            for ls in log10_scales:
                lam_, scale_, _ = model._unpack(_theta(model, lam, ls))
                w = model._engine.rank_one(lam_, scale_, design.uniq, model.tau)[0]
                S = moments.scores(model._full.group_weights(w))  # (B, U, R)
                out[:, :, c, :] = np.take_along_axis(S, idx[None], axis=1).transpose(0, 2, 1)
                c += 1
    return out


def _rank_one_rows(model, design, method, n_boot):
    """The group pair rows of ``model``'s predictions when the bootstrap can use them, else ``None``.

    Not when their :class:`BootMoments` (about ``n_boot x G^2`` numbers, and a copy of the rows) would exceed
    :data:`_BOOT_MOMENT_BYTES` (tasks with hundreds of distinct singular values): the explicit path then."""
    sel = getattr(model, "_full", None)
    if (method not in STACKABLE or sel is None or not sel.fast or model.measure != "euclidean"
            or sel.duplicate.any() or np.isnan(design.data).any()):
        return None
    rows = sel.Bsq
    if rows is not None:
        G = rows.shape[0] + 1
        if 8.0 * (n_boot * G * (G + design.n_rdm + 1) + G * rows.shape[1]) > _BOOT_MOMENT_BYTES:
            return None
    return rows


def condition_boot_tensor(design, candidates, method, sigma_k, counts, *, n_jobs=1, backend=None, progress=False,
                          what="bootstrap"):
    """Scores of every candidate under each condition-bootstrap sample (counts (B, n_cond)): (B, n_rdm, C, G).

    Rank-one models (every representation but the NTK, squared-Euclidean predictions, ``corr``/``cosine``, no
    missing data) are scored from :class:`BootMoments` of their group pair rows, shared by the models with the
    same rows (all widths of ``init="random"``); others through
    :func:`rsa_lineardyn.inference.design.score_tensor` on the explicit pair weights.
    """
    from joblib import delayed

    moments, jobs, pair_ws = [], [], None
    for model, lams, lss in candidates.groups:
        rows = _rank_one_rows(model, design, method, len(counts))
        if rows is None:
            if pair_ws is None:
                _check_pair_weights(counts, model, what)
                pair_ws = boot_pair_weights(np.asarray(counts, dtype=float))
            jobs.append(delayed(_score_group)(design, model, lams, lss, method, sigma_k, pair_ws))
            continue
        jobs.append(delayed(_boot_group)(design, model, lams, lss, _shared_moments(moments, rows, counts, design,
                                                                                   method)))
    return np.concatenate(_run_jobs(jobs, n_jobs, backend, progress, what), axis=2)


def _shared_moments(moments, rows, counts, design, method, groups=None):
    """The :class:`BootMoments` of ``rows`` from ``moments`` (a list of ``(rows, moments)``), made once."""
    mom = next((m for r, m in moments if r.shape == rows.shape and np.array_equal(r, rows)), None)
    if mom is None:
        with _one_blas_thread():
            mom = BootMoments(counts, design.data, method, rows, groups)
        moments.append((rows, mom))
    return mom


def _check_pair_weights(counts, model, what):
    """Refuse explicit bootstrap pair weights (samples x condition pairs) beyond the memory limit."""
    B, n = np.shape(counts)
    check_memory(4.0 * B * n * (n - 1) / 2,
                 f"{what}'s pair weights for model {model.name!r} ({B:,} samples x {n * (n - 1) // 2:,} condition "
                 "pairs, with the weighted scores' temporaries; models with squared-Euclidean rank-one predictions "
                 "need none)", "Lower n_boot, use measure='euclidean' (not the NTK), or fewer conditions.")
