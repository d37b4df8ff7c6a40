"""Numerical kernels of the random-start engine (:mod:`rsa_lineardyn.models.random_starts`).

Batched versions of the exact solver's steps (:mod:`rsa_lineardyn.dynamics.exact`) over draws and times, in the task's
mode coordinates: the assembly of the factor (:func:`_assemble_modes`), the rounding-level rule, the split
path's reduced factors, the mode-coordinate spectrum, and the grouping of tied singular values.  Pure numerical
code: functions of arrays, no engine state.
"""

from __future__ import annotations

import numpy as np

#: Singular values of ``Syx`` within this relative distance (of the largest) form one tied group.
_GROUP_RTOL = 1e-10
#: Array elements per batch of (draw, time) QR problems (~32 MB of float64 temporaries).
_BATCH_ELEMENTS = 4_000_000


def _assemble_modes(d, pair, dc, Om, C, s, Q, w, n_in, cols, extra=None, P=None):
    """The factor ``X`` of ``QQ^T`` in mode coordinates, every block accurate relative to its own size, (D, T, rows, r).

    :func:`rsa_lineardyn.dynamics.exact._assemble` for a batch of draws, in the task's mode coordinates (where ``V`` and
    ``U`` of ``_assemble`` are identities): the growing rows of the (compressed) eigenbasis (``d_c t > _GROW``)
    enter as ``Om_c K`` with ``K_i = Q[i] / sqrt(w_i)``; every other mode is written directly from ``C`` (the
    factor of ``Q0 Q0^T`` in mode coordinates, ``Om_c^T C = Z`` up to the rule's rounding-level zeros) times
    ``R^{-1}`` (the identity rows of ``Q``), with the pair's 2 x 2 block of ``e^{Ft}`` in its cancellation-free
    form (:func:`rsa_lineardyn.dynamics.exact._pair_eigenvectors` coefficients), so that a tiny ``W1`` block next to an
    ``O(1)`` ``W2`` block, or a whole factor far below one in the plateau of a tiny start, keeps its own
    relative accuracy (the eigenbasis round trip ``Om K`` is only accurate relative to ``||Q0||``).

    ``d`` (n,) and ``pair = (sv, rho, p_v, p_u, m_v, m_u)`` are the uncompressed spectrum (:func:`_mode_spectrum`
    order: ``+rho``, ``-rho``, extra inputs, extra outputs); ``dc`` (nc,), ``Om`` (D, n, nc) the compressed
    eigenbasis of the QR; ``C`` (D, n, r); ``s`` (T,) times over ``tau``; ``w`` (T, nc) from
    :func:`rsa_lineardyn.dynamics.exact._row_scales`; ``cols`` the compressed modes that grow at some time of ``s``; ``Q``
    (D, T, cols.size + r, r) the rows ``cols`` and then the identity rows (``R^{-1}``) of the QR's Q factor.

    ``extra = (Lp, Lg)`` (:meth:`_RandomStartEngine._input_rows`) asks for the input rows only, for sums of
    squares: the ``m`` pair rows, then the extra input modes (``m..n_in-1``, one eigenvalue ``-lam/2``, one
    coefficient ``e^{-lam t / 2}``) through the R factor ``[R_om, R_c]`` of their ``[Om_c[x], C[x]]``, which
    keeps their total sum of squares (Householder QR is backward stable column by column, so a tiny ``C[x]``
    next to ``O(1)`` eigenvector entries keeps its own accuracy).  ``Lp = [C_pairs_in; C_pairs_out; R_c]``,
    ``Lg = [Om_c[pairs_in]; R_om]`` (two matrix products per draw).  Returns (D, T, m + rows of ``R``, r).

    ``P`` (D, T, m + n_out, c) asks for the output rows only (D, T, n_out, c), with ``C R^{-1}`` given on the
    pairs' input rows and the output rows (``C`` is then not used, ``Q`` holds the rows ``cols`` only).
    """
    n, m, nc = d.size, pair[0].size, cols.size
    D, T, _, r = Q.shape
    inputs_only = extra is not None
    a11, a12, a22, e_ki, e_ko, ex, fac = _assembly_coefficients(d, pair, dc, s, w, cols, n_in)
    Rinv = Q[:, :, nc:, :]
    outputs_only = P is not None
    if outputs_only:
        ou = m
    elif inputs_only:  # P rows: the pairs' input and output modes, then the extra input rows' R_c
        Lp, Lg = extra
        P = _to_modes(Lp, Rinv)
        ou = m
    else:  # the pairs' rows of C R^{-1}; the extra modes (one eigenvalue per side) below, scaled in R^{-1}
        P = _to_modes(np.ascontiguousarray(np.concatenate([C[:, :m], C[:, n_in : n_in + m]], axis=1)), Rinv)
        ou = m
    X = np.empty((D, T, Lg.shape[1] if inputs_only else n - n_in if outputs_only else n, r))
    xo = 0 if outputs_only else n_in  # first output row of X
    if m:
        Pv, Pu = P[:, :, :m], P[:, :, ou : ou + m]
        if not outputs_only:
            np.multiply(a11, Pv, out=X[:, :, :m])  # the pairs' input rows
            X[:, :, :m] += a12 * Pu
        if not inputs_only:
            np.multiply(a12, Pv, out=X[:, :, xo : xo + m])
            X[:, :, xo : xo + m] += a22 * Pu
    if outputs_only:
        X[:, :, xo + m :] = e_ko * P[:, :, ou + m :]
    elif not inputs_only:
        for lo, hi, ee in ((m, n_in, e_ki), (n_in + m, n, e_ko)):
            if hi > lo:  # e^{d t} of the side's extra modes (all one eigenvalue) applied to R^{-1}
                X[:, :, lo:hi] = _to_modes(np.ascontiguousarray(C[:, lo:hi]), Rinv * ee[:, :, :1])
    elif n_in > m:
        np.multiply(ex, P[:, :, 2 * m :], out=X[:, :, m:])
    if nc:  # K = Q[i] / sqrt(w_i) on the growing modes (0 at the times they do not grow)
        Og = Lg[:, :, cols] if inputs_only else Om[:, n_in if outputs_only else 0 :][:, : X.shape[2]][:, :, cols]
        rows = np.flatnonzero(np.any(Og != 0, axis=(0, 2)))  # the modes the growing ones touch (often few)
        if rows.size == X.shape[2]:
            X += _to_modes(np.ascontiguousarray(Og), Q[:, :, :nc] * fac)
        elif rows.size:
            X[:, :, rows] += _to_modes(np.ascontiguousarray(Og[:, rows]), Q[:, :, :nc] * fac)
    return X


def _assembly_coefficients(d, pair, dc, s, w, cols, n_in):
    """The time-dependent coefficients of :func:`_assemble_modes` (they depend on ``lam`` and the times only).

    Returns ``(a11, a12, a22, e_in, e_out, ex, fac)`` shaped to broadcast against (D, T, rows, r): the pairs'
    2 x 2 blocks of ``e^{Ft}`` (``[[a11, a12], [a12, a22]]``; once the ``+rho`` member grows, the decaying
    member's ``m m^T e^{-rho t}``), ``e^{d t}`` of the extra input and output modes and of the first extra input
    mode (0 where they grow), and ``1 / sqrt(w)`` on the growing compressed modes ``cols`` (0 elsewhere).
    """
    from ..dynamics.exact import _GROW

    sv, rho, p_v, p_u, m_v, m_u = pair
    n, m = d.size, sv.size
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        dtc = dc[cols] * s[:, None]
        growc = np.where(np.isnan(dtc), 0.0, dtc) > _GROW  # (T, cols.size)
        dt = d * s[:, None]
        dt = np.where(np.isnan(dt), 0.0, dt)  # 0 * inf for d = 0
        grow = dt > _GROW
        e = np.exp(np.where(grow, 0.0, dt))  # e^{d t} of the non-growing modes (<= e^{1/2})
        still = ~grow[:, :m]  # (T, m): the pair's +rho member does not grow
        x = np.where(still, dt[:, :m], 0.0)
        ep, em = np.exp(x), np.exp(-x)
        shc = np.where(rho > 0, np.sinh(x) / np.where(rho > 0, rho, 1.0), np.where(np.isfinite(s), s, 0.0)[:, None])
        e_m = e[:, m : 2 * m]  # e^{-rho t}: the decaying member alone once the +rho member grows
        a11 = np.where(still, p_v**2 * ep + m_v**2 * em, m_v**2 * e_m)[None, :, :, None]
        a12 = np.where(still, np.where(sv > 0, sv * shc, 0.0), m_v * m_u * e_m)[None, :, :, None]
        a22 = np.where(still, p_u**2 * ep + m_u**2 * em, m_u**2 * e_m)[None, :, :, None]
        fac = np.where(growc, 1.0 / np.sqrt(np.where(growc, w[:, cols], 1.0)), 0.0)[None, :, :, None]
    ee = np.where(grow, 0.0, e)
    ki, ko = slice(2 * m, m + n_in), slice(m + n_in, n)  # extra input / output modes in the spectrum's order
    ex = ee[:, 2 * m][None, :, None, None] if n_in > m else None  # the extra input modes share one eigenvalue
    return a11, a12, a22, ee[:, ki][None, :, :, None], ee[:, ko][None, :, :, None], ex, fac


def _manifold_rule_generic(d, Z, track=False):
    """:func:`rsa_lineardyn.dynamics.exact._manifold_rule` for a batch ``Z`` (D, n, r), skipping draws it leaves unchanged.

    The rule's own early exit covers a block of top rows with at most ``r`` rows.  With a tie at the boundary
    (the ``k``-th largest eigenvalue of ``F`` shared by more rows than directions are left, e.g. the tied
    singular values 5 and 6 of the 92-image task at ``n_hidden = 5``) it runs a per-draw loop of SVDs.  For a
    draw whose rows above the boundary (``a < r`` of them) and whose top rows (``>= r``) both have their
    ``min(a, r)`` / ``r`` singular values above ``max(1e3 tol, 1e-6 ||Z||_2)``, that loop is the identity up to
    a rotation of the columns and rounding-level entries: every level above claims all its rows (each row's
    distance to the span of the rows above is at least the block's smallest singular value), the boundary
    level claims the ``r - a`` directions left (``||B x|| >= sigma_r([A; B])`` for ``x`` orthogonal to the rows
    ``A``), nothing is zeroed, and the dependences among the growing rows are resolved the same way (their
    restriction outside each prefix has singular values ``>= sigma / ||Z||_2 > 1e-6``, above the rule's rank
    cut-off ``1e-8``).  Such draws keep ``Z`` itself (``Z Z^T``, hence ``QQ^T``, is the same); the others go
    through the rule.

    With ``track=True`` returns ``(Z', W)``: ``W`` is ``None`` when ``Z'`` is ``Z``, else the (D, r, r) orthogonal
    column rotations of the rule (the identity for the draws it skips), so that ``C W`` is the factor in mode
    coordinates that matches ``Z'`` (as ``change`` of :func:`rsa_lineardyn.dynamics.exact._manifold_rule`).
    """
    from ..dynamics.exact import _MANIFOLD_RTOL, _manifold_rule

    def rule(Zs):
        out = _manifold_rule(d, Zs, track=track)
        return (out[0], out[2]) if track else out[0]

    D, n, r = Z.shape
    k = min(r, int(np.sum(d > 0)))
    if k == 0 or D == 0:
        return rule(Z)
    boundary = np.sort(d)[::-1][k - 1]
    above, top = np.flatnonzero(d > boundary), np.flatnonzero(d >= boundary)
    if top.size <= r or np.sum(d > 0) <= r:  # the rule's own early exit applies
        return rule(Z)
    norm = np.linalg.norm(Z, ord=2, axis=(1, 2))
    thr = np.maximum(1e3 * _MANIFOLD_RTOL * norm, 1e-6 * norm)
    ok = np.linalg.svd(Z[:, top], compute_uv=False)[:, r - 1] > thr
    if above.size:
        ok &= np.linalg.svd(Z[:, above], compute_uv=False)[:, -1] > thr
    if np.all(ok):
        return (Z, None) if track else Z
    out = Z.copy()
    if not track:
        out[~ok] = rule(Z[~ok])
        return out
    out[~ok], Wb = rule(Z[~ok])
    W = np.broadcast_to(np.eye(r), (D, r, r)).copy()
    if Wb is not None:
        W[~ok] = Wb
    return out, W


def _right_singular(Zg, rtol=1e-2):
    """Singular values (zero-padded to ``r``) and right singular vectors (D, r, r) of every draw's ``Zg`` (D, c, r).

    From ``eigh(Zg^T Zg)`` (about 1.6x faster than a full SVD at c = 86, r = 92, which also forms the unused
    left vectors) when that is as accurate: ``c < r`` rows, so the ``r - c`` smallest eigenvalues are exactly
    zero (set so), and every other one at least ``rtol`` of the largest, so that each ``sigma^2`` carries a
    relative error of at most ~``eps / rtol``.  Otherwise (and for ``c >= r``) the SVD.
    """
    D, c, r = Zg.shape
    if 0 < c < r and D:
        lam_, W = np.linalg.eigh(np.swapaxes(Zg, 1, 2) @ Zg)  # ascending
        lam_, W = lam_[:, ::-1], W[:, :, ::-1]
        top = lam_[:, :1]
        if np.all(lam_[:, c - 1 : c] >= rtol * top) and np.all(np.abs(lam_[:, c:]) <= 1e-10 * top):
            sigma = np.zeros((D, r))
            sigma[:, :c] = np.sqrt(lam_[:, :c])
            return sigma, W
    _, sig, Wt = np.linalg.svd(Zg, full_matrices=True)
    sigma = np.zeros((D, r))
    sigma[:, : sig.shape[1]] = sig
    return sigma, np.swapaxes(Wt, 1, 2)


def _compress_tied_columns(B, sigma, rtol=1e-13, W=None, Cs=None):
    """Tied columns of the split path's ``B`` (D, n_o, r) replaced by the rows of their R factor.

    ``sigma`` (D, r) is non-increasing per draw (SVD order, zero padding last).  A run of more than ``n_o``
    values within ``rtol * max(sigma)^2`` of each other in ``sigma^2`` has one row scale in
    ``(B D^-1/2)^T`` at every time, so its columns ``B_run`` can be replaced by ``R^T`` with
    ``B_run^T = Q R`` (``n_o`` columns, ``sigma^2`` their mean): ``B D^-1 B^T`` is unchanged.  Returns
    ``(Bc (D, n_o, rc), sigc (D, rc))``, or ``None`` when there is no such run or the draws differ in
    their run lengths.

    With ``W`` (D, r, r) (``B = Z_o W``) and ``Cs`` (D, c, r) also ``(Cs Wc, runs)`` for the output rows of ntk
    (:meth:`_RandomStartEngine._split_outputs_compressed`): ``Bc = Z_o Wc``, and per run the R factor ``E``
    (D, c, <= c) of ``Cs W_run (I - Q_r Q_r^T)`` (the run's directions the compression leaves out; zero for the
    rows of ``Z_o`` in exact arithmetic) with its ``sigma^2`` (D,).
    """
    D, n_o, r = B.shape
    if D == 0:
        return None
    s2 = sigma**2
    keeps, runs = [], []
    for b in range(D):
        tol = rtol * s2[b, 0]
        ids = np.concatenate([[0], np.cumsum(s2[b, :-1] - s2[b, 1:] > tol)])
        counts = np.bincount(ids)
        long = np.flatnonzero(counts > n_o)
        keeps.append(np.flatnonzero(~np.isin(ids, long)))
        runs.append([np.flatnonzero(ids == g) for g in long])
    lengths = [[x.size for x in rb] for rb in runs]
    if not lengths[0] or any(ln != lengths[0] for ln in lengths) or any(x.size != keeps[0].size for x in keeps):
        return None
    keep = np.stack(keeps)
    cols = [np.take_along_axis(B, keep[:, None, :], axis=2)]
    if W is not None:
        cw = [Cs @ np.take_along_axis(W, keep[:, None, :], axis=2)]
        outs = []
    sig = [np.take_along_axis(sigma, keep, axis=1)]
    for j in range(len(lengths[0])):
        idx = np.stack([rb[j] for rb in runs])  # (D, len)
        Bt = np.take_along_axis(B, idx[:, None, :], axis=2)  # (D, n_o, len), len > n_o
        if W is None:
            R = np.linalg.qr(np.swapaxes(Bt, 1, 2), mode="r")  # (D, n_o, n_o)
        else:  # R^T = B_run Q_r = Z_o (W_run Q_r)
            Qr, R = np.linalg.qr(np.swapaxes(Bt, 1, 2), mode="reduced")  # (D, len, n_o)
            CsW = Cs @ np.take_along_axis(W, idx[:, None, :], axis=2)  # (D, c, len)
            CsWQ = CsW @ Qr
            cw.append(CsWQ)
            E = CsW - CsWQ @ np.swapaxes(Qr, 1, 2)
            outs.append(E)
        cols.append(np.swapaxes(R, 1, 2))
        s_run = np.sqrt(np.mean(np.take_along_axis(s2, idx, axis=1), axis=1))  # (D,)
        sig.append(np.repeat(s_run[:, None], n_o, axis=1))
    if W is not None:
        runs = [(_gram_rows(E), sg[:, 0] ** 2) for E, sg in zip(outs, sig[1:])]
        return np.concatenate(cols, axis=2), np.concatenate(sig, axis=1), (np.concatenate(cw, axis=2), runs)
    return np.concatenate(cols, axis=2), np.concatenate(sig, axis=1)


def _gram_rows(E):
    """``F`` (D, c, <= c) with ``F F^T = E E^T`` for ``E`` (D, c, p): ``R^T`` of ``E^T = Q R`` when ``p > c``.

    Householder QR is backward stable column by column, so each row of ``E`` keeps its own relative accuracy.
    """
    if E.shape[2] <= E.shape[1]:
        return np.ascontiguousarray(E)
    return np.ascontiguousarray(np.swapaxes(np.linalg.qr(np.swapaxes(E, 1, 2), mode="r"), 1, 2))


def _sorted_qr_q(L, d_o, s):
    """``Q`` of the QR of ``[diag(e^{ell}) L; I]`` on scale-sorted rows, back in the original row order.

    ``L`` (D, T, n_o, k), row log-scales from ``d_o`` (n_o,) at times ``s`` (T,) (identity rows: scale 1):
    the reduced exact step of the split path (LAPACK's Householder QR is accurate on rows sorted by
    scale, largest first).  Returns (D, T, n_o + k, k).
    """
    from ..dynamics.exact import _FAST_LOG_MAX, _row_scales

    D, T, n_o, k = L.shape
    ell, _ = _row_scales(d_o, s)  # (T, n_o)
    ell_all = np.concatenate([ell, np.zeros((T, k))], axis=1)
    with np.errstate(under="ignore"):
        sc = np.where(ell_all > -_FAST_LOG_MAX, np.exp(np.minimum(ell_all, _FAST_LOG_MAX)), 0.0)
    A = np.concatenate([L, np.broadcast_to(np.eye(k), (D, T, k, k))], axis=2) * sc[None, :, :, None]
    N = n_o + k
    order = np.argsort(-ell_all, axis=1, kind="stable")
    inv = np.argsort(order, axis=1)
    base = N * np.arange(T)[:, None]  # rows gathered as one flat index over (time, row): np.take is fast
    As = np.take(A.reshape(D, T * N, k), (base + order).ravel(), axis=1).reshape(D, T, N, k)
    Qs = np.linalg.qr(As, mode="reduced")[0]
    return np.take(Qs.reshape(D, T * N, k), (base + inv).ravel(), axis=1).reshape(D, T, N, k)


def _to_modes(Om, K):
    """``Om[:, None] @ K`` for ``Om`` (D, n, nc), ``K`` (D, T, nc, r): one matrix product per draw, (D, T, n, r)."""
    D, T, nc, r = K.shape
    Kt = np.ascontiguousarray(K.transpose(0, 2, 1, 3)).reshape(D, nc, T * r)
    return (Om @ Kt).reshape(D, Om.shape[1], T, r).transpose(0, 2, 1, 3)


def _group_labels(values, n):
    """Group id per mode: modes ``k < values.size`` by (tied) value, the rest with the value 0."""
    v = np.zeros(n)
    q = min(n, values.size)
    v[:q] = values[:q]
    top = float(np.max(np.abs(v))) if n else 0.0
    tol = _GROUP_RTOL * top if top > 0 else 0.0
    order = np.argsort(-v, kind="stable")
    labels = np.empty(n, dtype=int)
    g = -1
    prev = None
    for i in order:
        if prev is None or prev - v[i] > tol:
            g += 1
            prev = v[i]
        labels[i] = g
    return labels


def _group_mean_matrix(labels):
    """Matrix ``S`` (n, n) with ``w @ S`` = ``w`` averaged within each group."""
    n = labels.size
    S = np.zeros((n, n))
    for g in np.unique(labels):
        idx = np.flatnonzero(labels == g)
        S[np.ix_(idx, idx)] = 1.0 / idx.size
    return S


class _GroupMeans:
    """``x @ S`` for the group-mean matrix ``S`` of ``labels`` (:func:`_group_mean_matrix`) without forming it.

    Sums over each group through a membership matrix (n, n_groups), divided by the group sizes and spread back:
    ``O(n x n_groups)`` per row instead of ``O(n^2)`` (one group of 970 null modes at 1000 one-hot items).
    """

    def __init__(self, labels):
        self.labels = np.asarray(labels)
        self.sizes = np.bincount(self.labels) if self.labels.size else np.zeros(0, dtype=int)
        self.member = np.zeros((self.labels.size, self.sizes.size))
        self.member[np.arange(self.labels.size), self.labels] = 1.0

    def __call__(self, x):
        """Means of ``x`` (..., n) within the groups along the last axis, shape (..., n)."""
        return self.compressed(x)[..., self.labels]

    def compressed(self, x):
        """Means of ``x`` (..., n) within the groups, one per group: (..., n_groups)."""
        return (x @ self.member) / self.sizes


def _merge_ties_fast(d, rtol):
    """Vectorised ``rsa_lineardyn.dynamics.exact._merge_ties``: runs of sorted values closer than ``rtol * max|d|`` get their mean."""
    scale = np.max(np.abs(d)) if d.size else 0.0
    if scale == 0:
        return np.zeros_like(d)
    order = np.argsort(d)
    ds = d[order]
    gid = np.concatenate([[0], np.cumsum(np.diff(ds) > rtol * scale)])
    means = np.bincount(gid, weights=ds) / np.bincount(gid)
    out = means[gid]
    out[np.abs(out) <= rtol * scale] = 0.0
    res = np.empty_like(d)
    res[order] = out
    return res


def _mode_spectrum(s, n_in, n_out, lam, sparse=False):
    """``F = blockdiag(V, U) Om diag(d) Om^T blockdiag(V, U)^T``: :func:`rsa_lineardyn.dynamics.exact.spectrum` in mode coordinates.

    ``sparse=True``: ``(d, (rows, cols, values))``, the ``4 m + (n_in - m) + (n_out - m)`` non-zeros
    of ``Om`` (two per singular pair's eigenvector, one per null mode) instead of the dense matrix.
    """
    from ..dynamics.exact import _TIE_RTOL, _pair_eigenvectors

    n = n_in + n_out
    m = s.size
    a = lam / 2.0
    rho, p_v, p_u, m_v, m_u = _pair_eigenvectors(s, a)
    d = np.empty(n)
    k = np.arange(m)
    d[:m], d[m : 2 * m] = rho, -rho
    ji = np.arange(m, n_in)
    d[2 * m + (ji - m)] = -a
    jo = np.arange(m, n_out)
    off = 2 * m + ji.size
    d[off + (jo - m)] = a
    rows = np.concatenate([k, n_in + k, k, n_in + k, ji, n_in + jo])
    cols = np.concatenate([k, k, m + k, m + k, 2 * m + (ji - m), off + (jo - m)])
    vals = np.concatenate([p_v, p_u, m_v, m_u, np.ones(ji.size), np.ones(jo.size)])
    d = _merge_ties_fast(d, _TIE_RTOL)
    if sparse:
        return d, (rows, cols, vals)
    Om = np.zeros((n, n))
    Om[rows, cols] = vals
    return d, Om
