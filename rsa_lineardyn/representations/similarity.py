"""Scores of predicted against measured dissimilarity vectors (rsatoolbox's comparison methods).

The fitters' inner loop: every prediction against every data RDM in one
matrix product for ``corr``, ``cosine`` and ``spearman`` (rsatoolbox's
formulas), and pair-weighted scores for a bootstrap over conditions.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import InputTypeError, InputValueError, check_comparison_method, check_not_complex, check_sigma_k

__all__ = ["score_matrix"]

_FAST = ("corr", "cosine")  # also weighted (condition bootstrap)
_DIRECT = ("corr", "cosine", "spearman")  # computed here with rsatoolbox's formulas
#: Methods that compare whole matrices (second moments): a missing pair cannot simply be left out.
_WHOLE_MATRIX = ("bures", "bures_metric", "neg_riem_dist")
#: Methods whose score does not change when a data (or predicted) RDM is multiplied by a positive number:
#: their inputs are rescaled to a largest absolute value of 1 before scoring, so data in any units (1e-300 or
#: 1e300) neither underflow nor overflow.  ``bures``, ``bures_metric`` and ``neg_riem_dist`` depend on the
#: scale and get the data unchanged.
SCALE_FREE = ("cosine", "spearman", "corr", "kendall", "tau-b", "tau-a", "rho-a", "corr_cov", "cosine_cov")


def _unit_scale(x, method, common=False):
    """``x`` rescaled to a largest finite absolute value in [0.5, 1) (per row, or one ``common`` factor).

    Only for scale-free methods (returns ``x`` itself for others).  The factor is a power of two, so the
    rescaling is exact: scores of data in ordinary units are bit-for-bit those without it.  Rows without a
    positive finite entry are left as they are.
    """
    if method not in SCALE_FREE or x.size == 0:
        return x
    axis = None if common else -1
    m = np.maximum(np.max(x, axis=axis, keepdims=not common), -np.min(x, axis=axis, keepdims=not common))
    if not np.all(np.isfinite(m)):  # NaN or inf somewhere: the largest finite absolute value, the slow way
        a = np.abs(x)
        a = np.where(np.isfinite(a), a, 0.0)
        m = a.max() if common else a.max(axis=-1, keepdims=True)
    _, e = np.frexp(np.where(m > 0, m, 1.0))  # m = f * 2**e with 0.5 <= f < 1
    return np.ldexp(x, -e)


def score_matrix(pred, data, method="corr", sigma_k=None):
    """rsatoolbox ``compare`` of every prediction with every data RDM, shape (T, n_rdm).

    NaNs are handled the rsatoolbox way: an entry that is NaN in any data RDM
    (or any prediction) is left out of every comparison.  ``"corr"``,
    ``"cosine"`` and ``"spearman"`` are computed here with rsatoolbox's formulas (a matrix
    product); every other method calls ``rsatoolbox.rdm.compare``.
    Undefined values (a constant vector) are NaN.

    Parameters
    ----------
    pred : ndarray (T, n_pairs)
    data : ndarray (n_rdm, n_pairs)
    method : str
        Any method of ``rsatoolbox.rdm.compare``.
    sigma_k : ndarray, optional
        For the ``*_cov`` methods.

    Returns
    -------
    ndarray (T, n_rdm)

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> rl.score_matrix(np.array([[1., 2, 3]]), np.array([[2., 4, 6], [3, 2, 1]])).round(6)
    array([[ 1., -1.]])
    """
    check_comparison_method(method)
    pred = _score_input(pred, "pred")
    data = _score_input(data, "data")
    if pred.shape[1] != data.shape[1]:
        raise InputValueError(
            f"`pred` and `data` must have the same number of condition pairs (columns): `pred` has "
            f"{pred.shape[1]}, `data` has {data.shape[1]}. Both are dissimilarity vectors in rsatoolbox's "
            "upper-triangle order over the same conditions (e.g. model.predict_times(...) and data.get_vectors())."
        )
    sigma_k = check_sigma_k(sigma_k, int(round((1 + np.sqrt(1 + 8 * pred.shape[1])) / 2)))  # n_cond from pairs
    return _score_matrix(pred, data, method, sigma_k)


def _score_input(value, name):
    """``pred`` / ``data`` of :func:`score_matrix` as a non-empty 2-D float array (a 1-D vector is one row)."""
    if isinstance(value, (str, bytes)) or value is None:
        raise InputTypeError(f"`{name}` must be a numeric array of dissimilarity vectors, got {type(value).__name__}.")
    check_not_complex(value, name)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputTypeError(f"`{name}` must be a numeric array of dissimilarity vectors.") from None
    arr = np.atleast_2d(arr)
    if arr.ndim != 2:
        raise InputValueError(f"`{name}` must be 1- or 2-dimensional (rows are RDM vectors), got shape {arr.shape}.")
    if arr.size == 0:
        raise InputValueError(
            f"`{name}` is empty (shape {arr.shape}); it needs at least one RDM vector with at least one pair."
        )
    return arr


def _score_matrix(pred, data, method, sigma_k):
    """:func:`score_matrix` without the input checks (2-D float arrays, known method): the fitters' inner loop."""
    pred = _unit_scale(pred, method)
    data = _unit_scale(data, method)
    keep = ~(np.isnan(data).any(axis=0) | np.isnan(pred).any(axis=0))
    if method in _DIRECT:
        v = pred[:, keep]
        d = data[:, keep]
        if method == "spearman":  # rsatoolbox: rankdata (average ties), then Pearson
            from scipy.stats import rankdata

            v, d = rankdata(v, axis=1), rankdata(d, axis=1)
        if method in ("corr", "spearman"):
            v = v - v.mean(axis=1, keepdims=True)
            d = d - d.mean(axis=1, keepdims=True)
        nv = np.linalg.norm(v, axis=1)
        nd = np.linalg.norm(d, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (v @ d.T) / np.outer(nv, nd)
        out[nv == 0] = np.nan
        out[:, nd == 0] = np.nan
        return out
    from rsatoolbox.rdm import compare

    if method in _WHOLE_MATRIX and not keep.all():
        _refuse_missing_whole_matrix(method, keep)
    p = pred.copy()
    d = data.copy()
    p[:, ~keep] = np.nan
    d[:, ~keep] = np.nan
    n_pairs = pred.shape[0] * data.shape[0]
    if method == "neg_riem_dist" and n_pairs >= 100 and not getattr(_score_matrix, "_riem_warned", False):
        _score_matrix._riem_warned = True  # once per session: fitters call this in loops
        warnings.warn(
            "method='neg_riem_dist' is slow: rsatoolbox runs a Nelder-Mead minimisation with an eigenvalue problem "
            "at every step for each prediction-RDM pair, measured ~0.04 s per pair at 8 conditions (more with more "
            f"conditions) against ~4e-6 s for 'corr'; this call scores {n_pairs} pairs (~{0.04 * n_pairs:.3g} s at "
            "that rate) and fits repeat such calls many times. Use 'corr' or 'cosine' for searches and fits, and "
            "neg_riem_dist only to score a few final predictions.", UserWarning, stacklevel=3)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = np.asarray(compare(p, d, method=method, sigma_k=sigma_k), dtype=float)
    except np.linalg.LinAlgError as exc:
        if method != "neg_riem_dist":
            raise InputValueError(f"`method` = {method!r} failed in rsatoolbox on these RDMs ({exc}); use another "
                                  "comparison method, e.g. 'corr' or 'cosine'.") from None
        # the data's second moment G_ij = (d_0i + d_0j - d_ij) / 2 (relative to condition 0) must be positive definite
        n = int(round((1 + np.sqrt(1 + 8 * d.shape[1])) / 2))
        iu = np.triu_indices(n, 1)
        bad = []
        for k, row in enumerate(np.nan_to_num(d)):
            D = np.zeros((n, n))
            D[iu] = row
            D = D + D.T
            G = 0.5 * (D[0, 1:, None] + D[0, None, 1:] - D[1:, 1:])
            ev = np.linalg.eigvalsh(G)
            if not ev[0] > 1e-12 * max(abs(ev[-1]), 1e-300):
                bad.append(k)
        which = (f"data RDM(s) {bad[:10]}{' ...' if len(bad) > 10 else ''} imply" if bad
                 else "the data RDMs (or the predictions) imply")
        raise InputValueError(
            f"`method` = 'neg_riem_dist' cannot compare these RDMs: {which} a second-moment matrix that is not positive "
            "definite, which this method inverts (rsatoolbox: 'not positive definite'). That happens when two "
            "conditions have dissimilarity 0 (identical patterns), when there are more conditions than pattern "
            "dimensions, or when the dissimilarities are not squared Euclidean distances. Use another method "
            "(e.g. 'corr' or 'cosine'), or add a small constant to every dissimilarity of the data (the same as "
            "independent noise on each condition's pattern)."
        ) from None
    return out.reshape(pred.shape[0], data.shape[0])


def _refuse_missing_whole_matrix(method, keep):
    """``method`` compares whole matrices: refuse missing pairs (``keep`` False) with what to do instead."""
    raise InputValueError(
        f"`method` = {method!r} compares whole dissimilarity matrices and cannot leave out missing dissimilarities "
        f"(NaN): {int((~keep).sum())} of {keep.size} condition pairs are missing in the data RDMs or the predictions. "
        "Use a method that scores the valid pairs ('corr', 'cosine', 'spearman', ...), or drop the RDMs (or "
        "conditions) with missing values.")


class _PreparedData:
    """Data RDMs prepared once for scoring many predictions against a subset of them (a fitter's inner loop).

    ``score(pred)`` equals ``_score_matrix(pred, data[r], method, sigma_k)`` for every row ``r`` of ``rows``
    (to rounding): each RDM is scored over its **own** valid pairs (a pair missing in one subject's RDM does not
    change another subject's score; rsatoolbox's ``compare`` of a set would leave it out of every RDM), and the
    kept rows are rescaled, centred and normalised here once instead of at every call.  Rows with different
    missing pairs are scored in groups of one pattern each.  Predictions with NaN in a kept pair, and methods
    other than ``corr``/``cosine``, take the general path.
    """

    def __init__(self, data, method, sigma_k=None, rows=None):
        data = np.asarray(data, dtype=float)
        rows = np.arange(data.shape[0]) if rows is None else np.asarray(rows)
        self.method, self.sigma_k = method, sigma_k
        sub = data[rows].copy()
        self.n_rows = sub.shape[0]
        self.groups = None
        missing = np.isnan(sub)
        if method in _WHOLE_MATRIX and missing.any():
            _refuse_missing_whole_matrix(method, ~missing.any(axis=0))
        patterns, which = (np.unique(missing, axis=0, return_inverse=True) if missing.any()
                           else (missing[:1], np.zeros(self.n_rows, dtype=int)))
        if patterns.shape[0] > 1:  # RDMs missing different pairs: one prepared group per pattern
            members = [np.flatnonzero(np.ravel(which) == g) for g in range(patterns.shape[0])]
            self.groups = [(idx, _PreparedData(sub[idx], method, sigma_k)) for idx in members]
            self.keep = ~missing.any(axis=0)
            self.all_kept, self.sub, self.fast = False, sub, False
            return
        self.keep = ~patterns[0] if patterns.shape[0] else np.ones(data.shape[1], dtype=bool)
        self.all_kept = bool(self.keep.all())
        self.sub = sub
        self.fast = method in _FAST
        if self.fast:
            d = _unit_scale(sub, method)[:, self.keep]
            if method == "corr":
                d = d - d.mean(axis=1, keepdims=True)
            self.d = d
            self.nd = np.linalg.norm(d, axis=1)

    def score(self, pred):
        """Scores (T, n_rows) of the predictions ``pred`` (T, n_pairs)."""
        if self.groups is not None:
            out = np.empty((np.shape(pred)[0], self.n_rows))
            for idx, part in self.groups:
                out[:, idx] = part.score(pred)
            return out
        kept = pred if self.all_kept else pred[:, self.keep]  # (no copy when no pair is missing)
        if not self.fast or np.isnan(np.sum(kept)) and np.isnan(kept).any():
            return _score_matrix(pred, self.sub, self.method, self.sigma_k)
        v = _unit_scale(kept, self.method)
        if self.method == "corr":
            v = v - v.mean(axis=1, keepdims=True)
        nv = np.linalg.norm(v, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (v @ self.d.T) / np.outer(nv, self.nd)
        out[nv == 0] = np.nan
        out[:, self.nd == 0] = np.nan
        return out


#: :class:`_RankOneScores` scores a row directly (explicit prediction) when its centred norm is at most this fraction
#: of the size of its terms: the rank-one path's rounding relative to the score is about eps / that fraction
#: (2e-10 at 1e-6), the direct path's is the same order; direct scoring reproduces rsatoolbox's own computation on
#: the explicit prediction where the prediction is nearly constant (1e-4 before 2026-12-07: 3x more rows direct,
#: most of the cost of a fit's grid at 1000 conditions).
_DIRECT_SPREAD = 1e-6


class _RankOneScores:
    """Scores of rank-one predictions ``v_t = w_t @ Bsq`` against prepared data, without forming ``v_t``.

    For a model whose squared-Euclidean dissimilarities are ``v_t = w_t @ Bsq`` (``Bsq`` (J, n_pairs), the
    rank-one form ``Gram_t = B^T diag(w_t) B`` of :class:`rsa_lineardyn.models.network._Selection`), the centred
    prediction is ``w_t @ Bc`` with ``Bc`` the row-centred ``Bsq`` (``corr``; uncentred for ``cosine``).  With
    the triangular factor of ``Bc^T = Qb Rb`` (once per basis), ``|v_c| = |Rb w_t|``, and ``v_c . d = w_t .
    (Bc d)`` (once per data): a (T, J) x (J, J) product replaces the (T, J) x (J, n_pairs) one and the
    (T, n_pairs) scoring pass.  Both ways are backward stable; they can differ by more than rounding only
    where ``|v_c|`` is far below the size of its terms ``sum_j |w_j| |Bc_j|`` (a nearly constant prediction):
    those rows (``|v_c| <=`` :data:`_DIRECT_SPREAD` of it), weights that are not finite or negative enough that a
    pair's prediction could be clipped at 0, and near-perfect scores
    (``|score| > 1 - 1e-9``: noiseless data, where many candidates tie at 1 and the ~1e-13 rounding of this
    path, which is not bounded by 1, would decide the tie) are scored directly.
    Equals ``prepared.score(max(w @ Bsq, 0))`` to rounding (the prediction must have no NaN pairs: no
    repeated conditions).
    """

    def __init__(self, Bsq, prepared, factor=None):
        self.Bsq = Bsq
        self.prepared = prepared
        if factor is None:
            factor = _rank_one_factor(Bsq, prepared.keep, prepared.method)
        self.RbT, self.rownorm, mean = factor
        d = prepared.d  # (n_rows, n_kept): rescaled (and centred for corr) data
        self.A = Bsq[:, prepared.keep] @ d.T - mean[:, None] * d.sum(axis=1)[None, :]  # (J, n_rows) = Bc d^T
        self._bounds = None  # per row of Bsq, its smallest and largest entry over the pairs (on first need)

    def score(self, w, predictions=None):
        """Scores (T, n_rows) of the predictions ``max(w @ Bsq, 0)`` for weights ``w`` (T, J).

        ``predictions(rows)``, if given, returns those predictions for the rows (boolean mask) scored directly
        (e.g. kept from an earlier call with the same ``w``); by default they are computed here.
        """
        y = w @ self.RbT  # (T, J): |y| = |centred prediction|
        nv = np.sqrt(np.einsum("tj,tj->t", y, y))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (w @ self.A) / np.outer(nv, self.prepared.nd)
        out[:, self.prepared.nd == 0] = np.nan
        finite = np.all(np.isfinite(w), axis=1)
        unclipped = finite & np.all(w >= 0, axis=1)
        if not unclipped.all():  # negative weights clip nothing when no pair's prediction can fall below 0
            if self._bounds is None:
                self._bounds = (self.Bsq.min(axis=1), self.Bsq.max(axis=1))
            bmin, bmax = self._bounds
            wf = np.where(np.isfinite(w), w, 0.0)
            unclipped |= finite & (np.minimum(wf, 0.0) @ bmax + np.maximum(wf, 0.0) @ bmin >= 0)
        direct = ~(nv > _DIRECT_SPREAD * (np.abs(w) @ self.rownorm)) | ~unclipped
        with np.errstate(invalid="ignore"):
            direct |= np.any(np.abs(out) > 1.0 - 1e-9, axis=1)  # near-perfect fits: ties decided as directly
        if np.any(direct):
            V = np.maximum(w[direct] @ self.Bsq, 0.0) if predictions is None else predictions(direct)
            out[direct] = self.prepared.score(V)
        return out


def _rank_one_factor(Bsq, keep, method):
    """``(Rb^T, row norms, row means)`` of the kept columns of ``Bsq``, centred for ``corr``: see :class:`_RankOneScores`.

    The factorisation of the first ``J'`` rows is the leading block (``Rb^T[:J', :J']``, ...).
    """
    Bk = Bsq[:, keep]
    mean = Bk.mean(axis=1) if method == "corr" else np.zeros(Bk.shape[0])
    if method == "corr":
        Bk = Bk - mean[:, None]
    Rb = np.linalg.qr(Bk.T, mode="r")
    return np.ascontiguousarray(Rb.T), np.linalg.norm(Bk, axis=1), mean


def _weighted_fast(pred, data, W, method):
    """Scores under pair weights ``W`` (B, n_pairs) (condition bootstrap), shape (B, T, n_rdm).

    A bootstrap sample of conditions with counts ``n_a`` holds the pair
    ``(a, b)`` exactly ``n_a n_b`` times (pairs of a condition with its own
    copy are NaN in rsatoolbox's ``subsample_pattern`` and dropped), so
    rsatoolbox's correlation/cosine on the resampled RDMs equals the
    weighted one computed here.
    """
    pred = _unit_scale(pred, method)
    data = _unit_scale(data, method)
    keep = ~(np.isnan(data).any(axis=0) | np.isnan(pred).any(axis=0))
    v = pred[:, keep]
    d = data[:, keep]
    W = W[:, keep]
    sw = W.sum(axis=1)[:, None]  # (B, 1)
    if method == "corr":
        v = v - v.mean(axis=1, keepdims=True)  # against cancellation
        d = d - d.mean(axis=1, keepdims=True)
    Wv = W @ v.T  # (B, T)
    Wd = W @ d.T  # (B, R)
    Wvv = W @ (v * v).T
    Wdd = W @ (d * d).T
    # sum_p W[b, p] v[t, p] d[r, p]: one BLAS product per data RDM (numpy's einsum does not use BLAS here; 25x)
    Wvd = np.empty((W.shape[0], v.shape[0], d.shape[0]))
    vT = np.ascontiguousarray(v.T)
    for r in range(d.shape[0]):
        np.matmul(W * d[r], vT, out=Wvd[:, :, r])
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "corr":
            mv, md = Wv / sw, Wd / sw
            cov = Wvd / sw[:, :, None] - mv[:, :, None] * md[:, None, :]
            vv = np.maximum(Wvv / sw - mv**2, 0.0)
            dd = np.maximum(Wdd / sw - md**2, 0.0)
        else:
            cov, vv, dd = Wvd, Wvv, Wdd
        out = cov / np.sqrt(vv[:, :, None] * dd[:, None, :])
    return np.where(np.isfinite(out), out, np.nan)
