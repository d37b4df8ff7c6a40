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
from .design import _one_blas_thread, _run_jobs, _theta, score_tensor
from ..models.network import DegeneracyWarning
from ..representations.similarity import _unit_scale

__all__ = ["STAGE_SCALES", "resolve_stage_scale", "Rows", "DataStats", "StackedStats", "stacked_stats",
           "static_unit_scores"]

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


def static_unit_scores(pred, design, rows, test_units, method, pair_w=None):
    """Scores of one prediction per stage ``pred`` (K, n_pairs) -- or one static prediction (n_pairs,) -- for
    the units ``test_units``: stacked per unit, or per RDM as the rows are."""
    pred = np.asarray(pred, dtype=float)
    if pred.ndim == 1:
        pred = np.broadcast_to(pred, (design.K, pred.size))
    data = _data_stats(design, method) if pair_w is None else DataStats(design.data, method, pair_w, _groups(design))
    idx = design.stage_of[None, :]  # one "time parameter": stage k's prediction
    zy, m, z2 = stacked_stats(pred, idx, data)
    st = StackedStats(zy, m, z2, data)
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


def candidate_boot_scores(design, candidates, method, pair_ws, unit_of, n_units, *, n_jobs=1, backend=None,
                          progress=False, what="bootstrap"):
    """Stacked unit scores of every candidate under each row of pair weights ``pair_ws`` (B, n_pairs):
    (B, n_units, C, G) -- a bootstrap over conditions without rebuilding any prediction."""
    from joblib import delayed


    datas = [DataStats(design.data, method, w, _groups(design)) for w in pair_ws]
    jobs = [delayed(_group_boot_scores)(design, model, lams, lss, datas, unit_of, n_units)
            for model, lams, lss in candidates.groups]
    return np.concatenate(_run_jobs(jobs, n_jobs, backend, progress, what), axis=2)


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

    RDMs with missing values are scored each over its own valid pairs (for ``corr``/``cosine``); other methods
    follow rsatoolbox's rule for a set (a pair missing anywhere is left out everywhere).
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
