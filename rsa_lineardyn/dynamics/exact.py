"""The exact learning dynamics of two-layer linear networks of any hidden width.

Under whitened inputs (A1, ``Sxx = I``) and lambda-balanced weights (A2,
``W2^T W2 - W1 W1^T = lam I``), ``P(t) = QQ^T(t)`` with ``Q = [W1^T; W2]``
obeys ``tau dP/dt = F P + P F - P^2`` with
``F = [[-lam/2 I, Syx^T], [Syx, lam/2 I]]``, whose solution is

    P(t) = e^{Ft} C M(t)^{-1} C^T e^{Ft},   M(t) = I + C^T G(t) C,
    G(t) = int_0^t e^{2Fs} ds,

with ``C C^T = Q0 Q0^T`` (``C = Q0`` unless the network is wider than
``n_in + n_out``, when a thin factor is used; the dynamics of ``P`` only
depend on ``Q0 Q0^T``).

How it is evaluated
-------------------
``F = O diag(d) O^T`` is built from the SVD of ``Syx`` (so tied eigenvalues,
e.g. ``+-lam/2`` of multiplicity ``|n_in - n_out|``, are exactly tied), and
``Z = O^T C``.  With ``g_i = int_0^t e^{2 d_i s} ds`` we have ``M = A^T A`` for
the stacked matrix ``A = [diag(sqrt(g)) Z; I_r]``.  Rows of ``A`` grow like
``e^{d_i t}``, so ``A`` is kept as unscaled rows plus a log-scale per row and
factored ``A = Q_A R`` (up to a column permutation).  While every row scale is
below ``e^300`` (and the independent rows of the modes to be learned are well
conditioned), LAPACK's Householder QR on the scaled rows sorted by their actual
norms (scale times unscaled norm: with tiny initial weights a growing row can
sit far below the identity rows) does it; otherwise (large ``t``, ``inf``) a
Householder QR with row pivoting on the true row norms and column pivoting
within the pivot row (Powell-Reid style), computed in log-scaled arithmetic.
Then ``K = E Z R^{-1}`` (``E = diag(e^{d t})``) gives ``P = O K K^T O^T``; the
factor ``X = O K`` (``P = X X^T``) is formed without overflow and with every
block of ``P`` accurate relative to its own size (:func:`_assemble`):

* growing modes (``d_i t > 1/2``): ``O_i K_i`` with ``K_i = Q_A[i] / sqrt(w_i)``
  and the bounded ``w_i = g_i e^{-2 d_i t}``;
* all other modes: ``e^{Ft}`` restricted to them, written in the input/output
  coordinates (per singular pair a 2 x 2 matrix whose entries are sums of
  positive terms or ``s sinh(rho t) / rho``), applied to ``C`` and then to
  ``R^{-1}``, which is read off the identity rows of ``Q_A`` (``||R^{-1}|| <= 1``).
  Going through ``O`` here would mix the input and output blocks and lose a
  tiny ``W1`` next to an ``O(1)`` ``W2`` (lam != 0, small weights, small t).

Measured against an mpmath reference, every block (``W1^T W1``, ``W2 W1``,
``W2 W2^T``, each against its own norm) is accurate to about 1e-14 for initial
weights down to scale 1e-12 (products of singular values 1e-24), every shape
and sign of lam, at every t including ``inf`` (``benchmarks/accuracy_scale.py``).

No step grows with ``t``: the cost of a time point is bounded independently
of ``t`` (the same within each of the two QR regimes), and ``t = inf`` is the
graded computation with infinitely separated row scales (the fixed point reached from these initial weights,
including ties, which the usual closed form gets wrong).

Many time points: only a few of them (anchors, one per window of ``1 / max|d|`` in ``t``) are
evaluated as above; the others are one exact step from their anchor (``e^{F delta} X_a L^{-T}`` with
``L L^T = I + X_a^T G(delta) X_a``, a well-conditioned ``r x r`` matrix), batched over the points
(:func:`_dense_factors`).  No error accumulates (each point is one step from an anchor) and each block keeps
its own relative accuracy, so a dense trajectory costs a few small products per point instead of a graded QR.
The factor has ``rank(Q0)`` columns (:func:`_reduce_rank`).

Before any of this, ``Z`` goes through the rounding-level rule for invariant
manifolds (``_manifold_rule``, documented in :func:`exact_dynamics`), so
both QR paths and all times see the same, exactly-zero, components.  Exact
zeros stay exact through the LAPACK path (Householder fill-in into them is
bounded, never rounding of a huge row), so weights on a manifold take the same
paths, at the same cost, as generic ones (``_split_dependent``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg

from .._validation import AssumptionError, check_memory, check_real, check_times
from .initialization import measure_balance
from .simulate import check_weights
from .trajectory import Trajectory

__all__ = ["exact_dynamics", "fixed_point", "DEFAULT_BALANCE_TOL", "DEFAULT_WHITE_TOL", "spectrum"]

#: Largest accepted ``Balance.relative_deviation`` of the initial weights.
DEFAULT_BALANCE_TOL = 1e-6
#: Largest accepted max-abs entry of ``Sxx - I``.
DEFAULT_WHITE_TOL = 1e-6

_GROW = 0.5  # modes with d t above this use the Q-row formula
_TAYLOR_TERMS = 20  # terms of the power series of e^{F delta} (max|d| delta < _STEP = 1: remainder < 1/21!)
_STEP = 1.0  # times within _STEP / max|d| after an anchor time are one exact step from it (_dense_factors)
_TIE_RTOL = 1e-13  # eigenvalues of F closer than this (relative) are treated as tied
_LOG_SPLIT = 1000.0  # log-scale gap that stands for "infinitely larger" at t = inf
_CHUNK_ELEMENTS = 4_000_000  # time points are processed in chunks of this many array elements
_FAST_LOG_MAX = 300.0  # row log-scales up to this use LAPACK's QR on sorted rows
#: Components of the initial weights on a growing mode of F smaller than this times ``||Q0||_2``
#: are treated as exactly zero (see :func:`exact_dynamics`, "Invariant manifolds").
_MANIFOLD_RTOL = 64 * np.finfo(float).eps
#: A dependence among the growing rows (unit vector) "involves" a set of rows when its part on them exceeds this.
_DEP_RTOL = 1e-8


def _pair_eigenvectors(s, a):
    """Eigenvalues ``+-rho`` and unit eigenvector coefficients (on ``v_k``, on ``u_k``) of each mode's 2 x 2 block.

    The block of ``F`` for singular value ``s_k`` is ``[[-a, s], [s, a]]`` (``a = lam / 2``); the coefficients are
    written without cancellation for either sign of ``a``.  Returns ``rho, p_v, p_u, m_v, m_u``.
    """
    rho = np.hypot(s, a)
    if a >= 0:
        p_v, p_u = s, rho + a
        m_v, m_u = -(rho + a), s
    else:
        p_v, p_u = rho - a, s
        m_v, m_u = -s, rho - a
    nrm = np.hypot(p_v, p_u)
    zero = nrm == 0  # s = 0 and lam = 0: any basis of the pair is an eigenbasis
    nrm = np.where(zero, 1.0, nrm)
    p_v, p_u = np.where(zero, 0.0, p_v / nrm), np.where(zero, 1.0, p_u / nrm)
    m_v, m_u = np.where(zero, 1.0, m_v / nrm), np.where(zero, 0.0, m_u / nrm)
    return rho, p_v, p_u, m_v, m_u


def spectrum(sigma_yx, lam, svd=None):
    """Eigen-decomposition ``F = O diag(d) O^T`` built from the SVD of ``sigma_yx``.

    Each singular triple ``(s, u, v)`` gives the pair ``+-rho``,
    ``rho = sqrt(s^2 + lam^2/4)``; the remaining input directions have
    eigenvalue ``-lam/2`` and the remaining output directions ``+lam/2``.
    Eigenvectors are formed without cancellation.  Eigenvalues within a
    relative ``1e-13`` of each other are made exactly equal (ties).
    ``svd`` may pass a precomputed full SVD ``(U, s, Vt)`` of ``sigma_yx``
    (e.g. ``task.svd()``, which is cached).

    Returns
    -------
    d : ndarray (n,)
    O : ndarray (n, n), orthogonal
    """
    syx = np.asarray(sigma_yx, dtype=float)
    n_out, n_in = syx.shape
    n = n_in + n_out
    U, s, Vt = np.linalg.svd(syx, full_matrices=True) if svd is None else svd
    V = Vt.T
    m = s.size
    a = lam / 2.0
    rho, p_v, p_u, m_v, m_u = _pair_eigenvectors(s, a)
    O = np.zeros((n, n))
    d = np.empty(n)
    O[:n_in, :m] = V[:, :m] * p_v
    O[n_in:, :m] = U[:, :m] * p_u
    d[:m] = rho
    O[:n_in, m : 2 * m] = V[:, :m] * m_v
    O[n_in:, m : 2 * m] = U[:, :m] * m_u
    d[m : 2 * m] = -rho
    k = 2 * m
    for j in range(m, n_in):
        O[:n_in, k] = V[:, j]
        d[k] = -a
        k += 1
    for j in range(m, n_out):
        O[n_in:, k] = U[:, j]
        d[k] = a
        k += 1
    d = _merge_ties(d)
    return d, O


def _merge_ties(d):
    """Make eigenvalues within a relative ``_TIE_RTOL`` exactly equal."""
    scale = np.max(np.abs(d)) if d.size else 0.0
    if scale == 0:
        return np.zeros_like(d)
    order = np.argsort(d)
    ds = d[order]
    out = ds.copy()
    start = 0
    for i in range(1, ds.size + 1):
        if i == ds.size or ds[i] - ds[i - 1] > _TIE_RTOL * scale:
            out[start:i] = np.mean(ds[start:i])
            start = i
    out[np.abs(out) <= _TIE_RTOL * scale] = 0.0
    res = np.empty_like(d)
    res[order] = out
    return res


def _row_scales(d, t):
    """Log row scales ``0.5 log g_i(t)`` and ``w_i = g_i e^{-2 d_i t}`` for times ``t`` (T,).

    Returns ``ell`` (T, n) and ``w`` (T, n) (``w`` only meaningful where d > 0).
    ``t = inf`` gets ranked stand-in scales: positive eigenvalue levels are
    ``_LOG_SPLIT`` apart (largest on top), zero eigenvalues below them, then
    the identity rows (scale 0) and decaying modes.
    """
    T = t.size
    dd = np.broadcast_to(d, (T, d.size))
    tt = t[:, None]
    finite = np.isfinite(tt)
    ell = np.empty((T, d.size))
    w = np.ones((T, d.size))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tf = np.where(finite, tt, 0.0)
        pos = dd > 0
        neg = dd < 0
        # d > 0: g = e^{2dt} w, w = -expm1(-2dt) / (2d)
        wpos = np.where(pos, -np.expm1(-2 * dd * tf) / (2 * np.where(pos, dd, 1.0)), 1.0)
        wpos = np.where(finite, wpos, 1.0 / (2 * np.where(pos, dd, 1.0)))
        w = np.where(pos, wpos, w)
        ell_pos = dd * tf + 0.5 * np.log(wpos)
        # d < 0: g = expm1(2dt) / (2d), bounded
        gneg = np.where(neg, np.expm1(2 * dd * tf) / (2 * np.where(neg, dd, 1.0)), 1.0)
        gneg = np.where(finite, gneg, 1.0 / (2 * np.abs(np.where(neg, dd, 1.0))))
        ell_neg = 0.5 * np.log(gneg)
        ell_zero = 0.5 * np.log(tf)
        ell = np.where(pos, ell_pos, np.where(neg, ell_neg, ell_zero))
    if not np.all(finite):
        levels = np.unique(d[d > 0])[::-1]  # descending
        stand_in = np.zeros(d.size)
        for k, lev in enumerate(levels):
            stand_in[d == lev] = _LOG_SPLIT * (levels.size - k + 1)
        stand_in[d == 0] = _LOG_SPLIT / 2
        inf_rows = ~finite[:, 0]
        ell[inf_rows] = np.where(d > 0, stand_in, np.where(d < 0, ell_neg[inf_rows], stand_in))
    return ell, w


def _graded_qr_q(ell, A):
    """Orthonormal basis of ``diag(e^ell) A`` by graded Householder QR, batched over time.

    Parameters
    ----------
    ell : (T, N) log row scales (may be -inf)
    A : (N, r) unscaled rows, shared by all time points, or (T, N, r), one per batch element

    Returns
    -------
    Q : (T, N, r) with ``diag(e^ell) A P = Q R`` for some permutation ``P`` and
        upper-triangular ``R`` (rows of ``Q`` are accurate in the row-wise sense).
    """
    T, N = ell.shape
    r = A.shape[-1]
    tiny = 8 * np.finfo(float).eps * (r + 1)
    B = np.broadcast_to(A, (T, N, r)).copy()
    nrm0 = np.linalg.norm(A, axis=-1)  # (N,) or (T, N)
    active = np.isfinite(ell) | (ell > 0)  # rows with g = 0 (ell = -inf) take no part
    active = np.broadcast_to(active, (T, N)).copy()
    free_col = np.ones((T, r), dtype=bool)
    us = np.zeros((r, T, N))
    pivots = np.zeros((r, T), dtype=np.int64)
    ar = np.arange(T)
    for j in range(r):
        # active non-pivot rows are zero in the used columns, so the full row norm is the free part
        rem = np.sqrt(np.einsum("tnr,tnr->tn", B, B))  # (T, N)
        exhausted = active & (rem <= tiny * nrm0)
        if np.any(exhausted):
            B[exhausted] = np.where(free_col[np.nonzero(exhausted)[0]], 0.0, B[exhausted])
            rem = np.where(exhausted, 0.0, rem)
        with np.errstate(divide="ignore"):
            key = np.where(active & (rem > 0), ell + np.log(rem), -np.inf)
        p = np.argmax(key, axis=1)  # pivot row per time
        degenerate = ~np.isfinite(key[ar, p])
        if np.any(degenerate):
            # nothing left (only possible through rounding): fall back to any active row
            p = np.where(degenerate, np.argmax(active, axis=1), p)
        prow = B[ar, p]  # (T, r)
        c = np.argmax(np.where(free_col, np.abs(prow), -1.0), axis=1)  # pivot column
        ell_p = ell[ar, p]
        with np.errstate(over="ignore", invalid="ignore"):
            s = np.exp(np.minimum(ell - ell_p[:, None], 700.0))
        s = np.where(active, s, 0.0)
        x = s * B[ar, :, c]  # (T, N) scaled pivot column (bounded: see the pivot choice)
        xp = x[ar, p]
        sigma = np.linalg.norm(x, axis=1)
        alpha = -np.where(xp >= 0, 1.0, -1.0) * sigma
        v = x.copy()
        v[ar, p] -= alpha
        vn = np.linalg.norm(v, axis=1)
        ok = vn > 0
        vn_safe = np.where(ok, vn, 1.0)
        u = v / vn_safe[:, None]
        u[~ok] = 0.0
        # apply H = I - 2 u u^T to the scaled free columns; update unscaled rows
        Y = s[:, :, None] * B  # (T, N, r); |s_i B_ik| <= the pivot row's norm for active rows
        coef = np.matmul(u[:, None, :], Y)[:, 0, :]  # u^T y per column
        coef = np.where(free_col, coef, 0.0)
        # non-pivot rows: B_ik -= 2 * B_ic / ||v|| * coef_k   (s_i cancels)
        fac = np.where(active, B[ar, :, c], 0.0) / vn_safe[:, None]
        fac[ar, p] = 0.0
        fac[~ok] = 0.0
        B -= 2.0 * fac[:, :, None] * coef[:, None, :]
        # pivot row (scale 1 in pivot units): y_p - 2 u_p coef
        B[ar, p] = prow - 2.0 * u[ar, p][:, None] * coef
        B[ar, p, c] = np.where(ok, alpha, prow[ar, c])
        nonpiv = active.copy()
        nonpiv[ar, p] = False
        B[:, :, :][nonpiv, c[np.nonzero(nonpiv)[0]]] = 0.0
        us[j] = u
        pivots[j] = p
        active[ar, p] = False
        free_col[ar, c] = False
    Q = np.zeros((T, N, r))
    for j in range(r):
        Q[ar, pivots[j], j] = 1.0
    for j in range(r - 1, -1, -1):
        u = us[j]
        Q -= 2.0 * u[:, :, None] * np.matmul(u[:, None, :], Q)
    return Q


def _sorted_qr_q(ell, A, rescaled=False):
    """Orthonormal basis of ``diag(e^ell) A`` by LAPACK Householder QR on rows sorted by scale.

    The fast path for moderate scales (``max ell <= _FAST_LOG_MAX``): row-sorted Householder QR is
    accurate row-wise for graded matrices whose leading rows are not (numerically) linearly
    dependent, except through exact zeros left by the rounding-level rule (checked up front by
    :func:`_fast_ok` / :func:`_split_dependent`).  Rows with ``ell`` below
    ``-_FAST_LOG_MAX`` are negligible next to the identity rows and are dropped (zero ``Q`` rows).
    """
    T, N = ell.shape
    r = A.shape[-1]
    if rescaled:
        # ``A`` holds rows divided by a power of two (see :func:`_factors`), ``ell`` the shift: rows far below
        # the identity rows are kept (they are all there is of a tiny start) and sorted by their log norms,
        # since the norms of the scaled rows themselves underflow
        with np.errstate(under="ignore", divide="ignore"):
            scale = np.exp(np.minimum(ell, _FAST_LOG_MAX))
            key = ell + np.log(np.linalg.norm(A, axis=-1))
        return _qr_rows_sorted(scale[:, :, None] * np.broadcast_to(A, (T, N, r)), key=key)
    with np.errstate(under="ignore"):
        scale = np.where(ell > -_FAST_LOG_MAX, np.exp(np.minimum(ell, _FAST_LOG_MAX)), 0.0)
    return _qr_rows_sorted(scale[:, :, None] * np.broadcast_to(A, (T, N, r)))


def _qr_rows_sorted(As, key=None):
    """``Q`` of the batched (T, N, r) matrix ``As`` by LAPACK's Householder QR on its rows sorted by norm.

    Sorting by the actual row norms (not the scales alone) matters: with tiny initial weights a growing row
    can be far below the identity rows, and a Householder QR is accurate row by row only when the rows come
    largest first.  ``key`` (T, N), if given, replaces the norms (e.g. log norms where the norms underflow).
    """
    key = np.linalg.norm(As, axis=-1) if key is None else key
    order = np.argsort(-key, axis=1, kind="stable")
    Qs, _ = np.linalg.qr(np.take_along_axis(As, order[:, :, None], axis=1), mode="reduced")
    Q = np.empty_like(Qs)
    np.put_along_axis(Q, order[:, :, None], Qs, axis=1)
    return Q


def _pair_data(svd, lam):
    """What :func:`_assemble` needs to write the non-growing modes in the input/output coordinates.

    ``svd`` is the full SVD ``(U, s, Vt)`` of ``Syx``; returns a dict with ``U`` (n_out, n_out), ``V`` (n_in, n_in),
    ``s`` (m,) and the eigenvector coefficients ``p_v, p_u, m_v, m_u`` (m,) of :func:`_pair_eigenvectors`, in the
    column order of :func:`spectrum`.
    """
    U, s, Vt = svd
    _, p_v, p_u, m_v, m_u = _pair_eigenvectors(s, lam / 2.0)
    m = s.size
    syx = (U[:, :m] * s) @ Vt[:m]  # the Syx of this SVD (used by the power series of e^{F delta})
    return {"U": U, "V": Vt.T, "s": s, "p_v": p_v, "p_u": p_u, "m_v": m_v, "m_u": m_u, "syx": syx, "a": lam / 2.0}


def _factors(d, O, Z, t, fast=True, basis=None):
    """Factor ``O K`` of ``P(t)`` for each time in ``t`` (T,); see module docstring.

    ``fast`` allows the LAPACK path for time points whose row scales stay below
    ``e^_FAST_LOG_MAX``; other time points (large ``t``, ``inf``) use the graded QR.
    ``basis = (pair_data, C)`` (from :func:`_pair_data`, and ``C`` with ``O^T C = Z`` in the input/output
    coordinates) writes the non-growing modes without passing through ``O`` (:func:`_assemble`), which keeps
    each block of ``P`` accurate relative to its own size; without it the factor is ``O K`` as computed in
    the eigenbasis (accurate relative to ``||P||``).
    """
    n, r = Z.shape
    T = t.size
    if r == 0:
        return np.zeros((T, n, 0))
    ell, w = _row_scales(d, t)
    Zq, log_c = _rescale_tiny(Z)
    if log_c:
        # rows of the graded matrix are sqrt(g) z = e^{ell + log c} (z / c): the power of two c moves into the
        # log scales (exactly), so no square of a tiny entry underflows in the QR.  At t = inf the growing and
        # zero modes stand infinitely above the identity rows whatever c is; only the decaying ones move.
        shift = np.where(np.isfinite(t)[:, None] | (d < 0)[None, :], log_c, 0.0)
        ell_q = ell + shift
    else:
        ell_q = ell
    ell_all = np.concatenate([ell_q, np.zeros((T, r))], axis=1)
    A = np.concatenate([Zq, np.eye(r)], axis=0)
    use_fast = np.isfinite(t) & (np.max(ell_all, axis=1) <= _FAST_LOG_MAX) if fast else np.zeros(T, bool)
    Q = np.empty((T, n + r, r))
    if np.any(use_fast):
        Q[use_fast] = _sorted_qr_q(ell_all[use_fast], A, rescaled=bool(log_c))
    if not np.all(use_fast):
        Q[~use_fast] = _graded_qr_q(ell_all[~use_fast], A)
    if basis is not None:
        return _assemble(d, O, t, Z, Q, w, *basis)
    return np.matmul(O, _factor_from_q(d, t, Z, Q, w))


#: Factors whose largest entry is below this are divided by a power of two before the QR (see :func:`_factors`):
#: the squares (row norms, Householder vectors) of smaller entries approach the float64 underflow (1e-308).
_TINY_Z = 2.0**-200


def _rescale_tiny(Z):
    """``(Z / c, log c)`` with ``c`` the power of two nearest ``max |Z|`` when that is below ``_TINY_Z``, else
    ``(Z, 0.0)``.  Dividing by a power of two is exact, so the rescaled rows carry every digit of ``Z``."""
    top = float(np.max(np.abs(Z))) if Z.size else 0.0
    if not 0.0 < top < _TINY_Z:
        return Z, 0.0
    e = int(np.frexp(top)[1])
    return np.ldexp(Z, -e), e * float(np.log(2.0))


def _assemble(d, O, t, Z, Q, w, pd, C):
    """``X = e^{Ft} C R^{-1}`` (``P = X X^T``) with every block accurate relative to its own size.

    Growing modes (``d t > _GROW``) enter as ``O_i K_i`` with ``K_i = Q_A[i] / sqrt(w_i)``, as in
    :func:`_factor_from_q`.  The others are written in the input/output coordinates: for a singular pair
    ``(s, u, v)`` whose ``+rho`` member does not grow, ``e^{Ft}`` restricted to the pair is the 2 x 2 matrix
    ``[[c11, c12], [c12, c22]]`` with ``c11 = p_v^2 e^{rho t} + m_v^2 e^{-rho t}``,
    ``c22 = p_u^2 e^{rho t} + m_u^2 e^{-rho t}`` (sums of positive terms) and ``c12 = s sinh(rho t) / rho``,
    applied to ``(v^T C_1, u^T C_2)``; no sum of eigenvectors of the opposite signs is formed, so a tiny
    ``W1`` next to an ``O(1)`` ``W2`` (lam > 0, small weights, small t) keeps its relative accuracy.  When the
    ``+rho`` member grows, the pair's decaying member enters as ``o_- e^{-rho t} z_- R^{-1}``; the extra input
    (output) directions are pure input (output) rows of ``O``.  ``R^{-1}`` is read off the identity rows of
    ``Q_A``.
    """
    n, r = Z.shape
    U, V, s = pd["U"], pd["V"], pd["s"]
    n_in, n_out, m = V.shape[0], U.shape[0], s.size
    with np.errstate(over="ignore", invalid="ignore"):
        dt = d * t[:, None]
        dt = np.where(np.isnan(dt), 0.0, dt)  # 0 * inf for d = 0
        grow = dt > _GROW
        e = np.exp(np.where(grow, 0.0, dt))  # e^{d t} of the non-growing modes (<= e^{1/2})
    cols = np.flatnonzero(np.any(grow, axis=0))  # modes growing at some time of the batch
    gc = grow[:, cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        K_grow = np.where(gc[:, :, None], Q[:, cols, :] / np.sqrt(np.where(gc, w[:, cols], 1.0))[:, :, None], 0.0)
    X = np.matmul(O[:, cols], K_grow) if cols.size else np.zeros((t.size, n, r))
    cv = V.T @ C[:n_in]  # (n_in, r)
    cu = U.T @ C[n_in:]  # (n_out, r)
    Y1 = np.zeros((t.size, n_in, r))
    Y2 = np.zeros((t.size, n_out, r))
    if m:
        rho = d[:m]
        still = ~grow[:, :m]  # (T, m): the pair's +rho member does not grow
        x = np.where(still, dt[:, :m], 0.0)  # rho t <= _GROW
        ep, em = np.exp(x), np.exp(-x)
        with np.errstate(divide="ignore", invalid="ignore"):
            shc = np.where(rho > 0, np.sinh(x) / np.where(rho > 0, rho, 1.0), np.where(np.isfinite(t), t, 0.0)[:, None])
        c11 = pd["p_v"] ** 2 * ep + pd["m_v"] ** 2 * em
        c22 = pd["p_u"] ** 2 * ep + pd["m_u"] ** 2 * em
        c12 = np.where(s > 0, s * shc, 0.0)
        zm = e[:, m : 2 * m, None] * Z[m : 2 * m]  # the decaying member, e^{-rho t} z_-
        st = still[:, :, None]
        Y1[:, :m] = np.where(st, c11[:, :, None] * cv[:m] + c12[:, :, None] * cu[:m], pd["m_v"][:, None] * zm)
        Y2[:, :m] = np.where(st, c12[:, :, None] * cv[:m] + c22[:, :, None] * cu[:m], pd["m_u"][:, None] * zm)
    ki, ko = slice(2 * m, m + n_in), slice(m + n_in, n)  # extra input / output directions in spectrum's order
    Y1[:, m:] = np.where(grow[:, ki, None], 0.0, e[:, ki, None] * cv[m:])
    Y2[:, m:] = np.where(grow[:, ko, None], 0.0, e[:, ko, None] * cu[m:])
    Rinv = Q[:, n:, :]
    X[:, :n_in] += np.matmul(np.matmul(V, Y1), Rinv)
    X[:, n_in:] += np.matmul(np.matmul(U, Y2), Rinv)
    return X


def _factor_from_q(d, t, Z, Q, w):
    """``K(t)`` (in F's eigenbasis) from the Q factor of the graded matrix: ``Q[..., :n, :] / sqrt(w)`` on the
    growing rows (where ``e^{d t}`` would overflow), ``e^{d t} Z Q[..., n:, :]`` on the others.

    ``t`` (T,), ``w`` (T, n) from :func:`_row_scales`; ``Z`` (n, r) or batched (D, n, r) with ``Q`` (T, n + r, r)
    or (D, T, n + r, r).
    """
    n = d.size
    with np.errstate(over="ignore", invalid="ignore"):
        dt = d * t[:, None]
        dt = np.where(np.isnan(dt), 0.0, dt)  # 0 * inf for d = 0
        grow = dt > _GROW
        e = np.exp(np.where(grow, 0.0, dt))  # only used where not growing
    K_small = e[:, :, None] * np.matmul(Z[..., None, :, :], Q[..., n:, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        K_grow = Q[..., :n, :] / np.sqrt(np.where(grow, w, 1.0))[:, :, None]
    return np.where(grow[:, :, None], K_grow, K_small)


def _anchor_plan(s, dmax, min_group=1):
    """Which time points are evaluated directly (anchors) and which are one short exact step from an anchor.

    Sorted finite times are cut into windows of width ``_STEP / dmax``; the first time of each window is its
    anchor and the later ones in it are reached by one step of length ``delta < _STEP / dmax`` (so
    ``|d_i| delta < _STEP`` for every eigenvalue).  Infinite times are anchors.  A window with fewer than
    ``min_group`` later times makes every one of its times an anchor (where a step costs more than the direct
    evaluation, see :func:`_dense_factors`).

    Returns ``anchor`` (A,) indices into ``s``, ``owner`` (T,) the position in ``anchor`` of each point's
    anchor, ``delta`` (T,) (0 for the anchors themselves) and ``order`` (T,), the points sorted by time
    (so by anchor).
    """
    T = s.size
    finite = np.isfinite(s)
    if not dmax > 0 or not np.any(finite):
        return np.arange(T), np.arange(T), np.zeros(T), np.arange(T)
    order = np.argsort(np.where(finite, s, np.inf), kind="stable")
    u = s[order]
    nf = int(np.sum(finite))
    window = np.floor(u[:nf] * (dmax / _STEP))
    first = np.ones(T, dtype=bool)
    first[1:nf] = window[1:] != window[:-1]  # the first time of each window, and every infinite time
    if min_group > 1:
        group = np.cumsum(first) - 1
        first |= (np.bincount(group) - 1 < min_group)[group]
    anchor_sorted = np.flatnonzero(first)
    owner_sorted = np.cumsum(first) - 1
    delta_sorted = np.zeros(T)
    delta_sorted[:nf] = u[:nf] - u[anchor_sorted[owner_sorted[:nf]]]
    owner = np.empty(T, dtype=np.int64)
    delta = np.empty(T)
    owner[order] = owner_sorted
    delta[order] = delta_sorted
    return order[anchor_sorted], owner, delta, order


def _dense_factors(d, O, Z, s, fast, basis):
    """Factors of ``P`` at every time in ``s`` (T,): a few anchors by :func:`_factors`, the rest one step from them.

    The anchors are the graded-QR evaluation (cost independent of ``t``); a time ``delta`` after an anchor
    (``max|d| delta < _STEP``) is the exact flow map applied once to the anchor's factor ``X_a``
    (:func:`_step_factors`): ``X = e^{F delta} X_a L^{-T}`` with ``L L^T = I + X_a^T G(delta) X_a``.  That
    matrix has condition number below ``1 + ||X_a||^2 max g_i(delta)``, bounded for a factor of ``P`` (a few
    units at ``_STEP = 1``), so the step is accurate to rounding, and no error is carried from one step to the
    next: every point is one step from an anchor.  Dense trajectories cost one anchor per window of
    ``_STEP / max|d|`` plus a few small batched products per point.
    """
    n, r = Z.shape
    T = s.size
    out = np.empty((T, n, r))
    if r == 0:
        out[:] = 0.0
        return out
    dmax = float(np.max(np.abs(d))) if d.size else 0.0
    # a step through the singular pairs costs about 3 n r^2 + (n_in^2 + n_out^2) r + r^3 flops, the direct
    # evaluation (n + r) r^2 + n^2 r; below r = 64 batching wins whatever the counts (LAPACK's QR per point has
    # a large fixed cost there).  The power series (windows of >= _TAYLOR_TERMS points) is cheaper than both.
    n_io = basis[0]["V"].shape[0] ** 2 + basis[0]["U"].shape[0] ** 2 if basis is not None else n * n
    costly = r > 64 and 3 * n * r * r + n_io * r + r**3 > (n + r) * r * r + n * n * r
    anchor, owner, delta, order = _anchor_plan(s, dmax, _TAYLOR_TERMS if costly else 1)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, (n + r) * max(r, 1)))
    Xa = np.empty((anchor.size, n, r))
    for start in range(0, anchor.size, chunk):
        Xa[start : start + chunk] = _factors(d, O, Z, s[anchor[start : start + chunk]], fast=fast, basis=basis)
    out[anchor] = Xa
    same = delta == 0
    same[anchor] = False
    out[same] = Xa[owner[same]]  # a time repeated within a window: its anchor's factor, no step
    steps = order[delta[order] > 0]  # sorted by time, so the points of one anchor are consecutive
    pd = basis[0] if basis is not None else None
    for start in range(0, steps.size, chunk):
        idx = steps[start : start + chunk]
        _step_factors(d, O, Xa, owner[idx], delta[idx], pd, dmax, out, idx)
    return out


def _step_factors(d, O, Xa, owner, delta, pd, dmax, out, pos):
    """``out[pos] = e^{F delta} X_a L^{-T}``, ``L L^T = I + X_a^T G(delta) X_a``, for the anchors ``Xa[owner]``.

    ``owner`` must be non-decreasing (the points of one anchor consecutive).  ``e^{F delta} X_a`` is formed so
    that every block keeps the relative accuracy of the anchor's (a tiny ``W1`` next to an ``O(1)`` ``W2``):

    * anchors with at least ``_TAYLOR_TERMS`` points: the power series in the input/output coordinates,
      ``sum_i delta^i F^i X_a / i!`` (:func:`_series_terms`), one product ``(points x terms) @ (terms x n r)``
      per anchor; ``max|d| delta < 1`` bounds the remainder by ``1 / 21!``.  The Gram matrix is the series of
      ``X_a^T G(delta) X_a`` from the same terms;
    * other points: through the singular pairs of ``Syx`` (:func:`_propagate_pairs`), and the Gram matrix in
      the eigenbasis, ``Z_a^T diag(g(delta)) Z_a``, one product per anchor;
    * without ``pd`` (a caller in the eigenbasis): ``O diag(e^{d delta}) Z_a``.

    The Gram matrix needs only normwise accuracy: it enters through the well-conditioned ``L``.
    """
    n, r = Xa.shape[1:]
    S = owner.size
    bounds = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1], True])
    size = np.diff(bounds)
    big = size >= _TAYLOR_TERMS if pd is not None else np.zeros(size.size, dtype=bool)
    gram = np.empty((S, r * r))
    x = dmax * delta
    if np.any(big):
        lo_b, hi_b = bounds[:-1][big], bounds[1:][big]
        terms, gterms = _series_terms(Xa[owner[lo_b]], pd, dmax)
        for k, (lo, hi) in enumerate(zip(lo_b, hi_b)):
            gram[lo:hi] = x[lo:hi, None] ** np.arange(1, gterms.shape[1] + 1) @ gterms[k]
    small = np.flatnonzero(np.repeat(~big, size))
    if small.size:
        dd = d[None, :] * delta[small, None]
        with np.errstate(over="ignore"):
            g = np.where(d != 0, np.expm1(2 * dd) / (2 * np.where(d != 0, d, 1.0)), delta[small, None])
        used, slot = np.unique(owner[small], return_inverse=True)  # the anchors of these points only
        Za = np.matmul(O.T, Xa[used])  # normwise accurate: only the Gram matrix uses it
        sb = np.flatnonzero(np.r_[True, owner[small][1:] != owner[small][:-1], True])
        for lo, hi in zip(sb[:-1], sb[1:]):
            z = Za[slot[lo]]
            if (hi - lo) * r > n and n * r * r <= _CHUNK_ELEMENTS:  # many points, small r: one product
                gram[small[lo:hi]] = g[lo:hi] @ (z[:, :, None] * z[:, None, :]).reshape(n, r * r)
            else:
                gram[small[lo:hi]] = np.matmul(z.T[None] * g[lo:hi, None, :], z).reshape(hi - lo, r * r)
    gram = gram.reshape(S, r, r)
    gram[:, np.arange(r), np.arange(r)] += 1.0
    Linv_t = np.ascontiguousarray(np.swapaxes(_chol_inv(gram), 1, 2))  # L^{-T}, cond(L) < ~3
    if np.any(big):
        powers = np.arange(_TAYLOR_TERMS + 1)
        step_on = np.r_[np.diff(pos) == 1, False]  # pos[i + 1] == pos[i] + 1
        for k, (lo, hi) in enumerate(zip(lo_b, hi_b)):
            Y = (x[lo:hi, None] ** powers @ terms[k]).reshape(hi - lo, n, r)
            p0 = pos[lo]
            if step_on[lo : hi - 1].all():  # consecutive positions (sorted times): write in place
                np.matmul(Y, Linv_t[lo:hi], out=out[p0 : p0 + hi - lo])
            else:
                out[pos[lo:hi]] = np.matmul(Y, Linv_t[lo:hi])
    if small.size:
        if pd is None:
            dd = d[None, :] * delta[small, None]
            out[pos[small]] = np.matmul(O, np.exp(dd)[:, :, None] * np.matmul(Za[slot], Linv_t[small]))
        else:
            tmp = np.empty((small.size, n, r))
            dd = d[None, :] * delta[small, None]
            _propagate_pairs(pd, Xa, owner[small], dd, delta[small], Linv_t[small], tmp)
            out[pos[small]] = tmp


def _series_terms(Xa, pd, dmax):
    """Power-series terms of one exact step from each anchor ``Xa`` (A, n, r), with ``x = dmax delta < 1``.

    Returns ``terms`` (A, p + 1, n r) with ``e^{F delta} X_a = sum_i x^i terms[:, i]`` (``terms_i = (F / dmax)^i
    X_a / i!``, ``p = _TAYLOR_TERMS``) and ``gterms`` (A, q, r r) with ``X_a^T G(delta) X_a = sum_j x^(j+1)
    gterms[:, j]`` (``G(delta) = sum_j (2F)^j delta^(j+1) / (j+1)!``; ``q = 2 p - 14`` terms, remainder below
    ``2^q / (q+1)!``).  Odd powers are ``F`` applied to the even ones, even powers ``F^2 = diag(a^2 + S^T S,
    a^2 + S S^T)`` to the previous even one: the cross terms ``-a S^T + S^T a`` of ``F^2`` cancel in exact
    arithmetic but not in rounding, and would put rounding of ``W2`` into a much smaller ``W1``.
    """
    S = pd["syx"] / dmax
    a = pd["a"] / dmax
    n_in = S.shape[1]
    F2_in = S.T @ S + a * a * np.eye(n_in)
    F2_out = S @ S.T + a * a * np.eye(S.shape[0])
    A, n, r = Xa.shape
    p = _TAYLOR_TERMS
    B = np.empty((p + 1, n, A, r))  # anchors side by side: one matrix product per block and power
    B[0] = np.moveaxis(Xa, 0, 1)
    for i in range(1, p + 1):
        src, dst = B[i - 1 - (i + 1) % 2].reshape(n, A * r), B[i].reshape(n, A * r)
        Y1, Y2 = src[:n_in], src[n_in:]
        if i % 2:  # B_i = F B_{i-1} / i
            dst[:n_in] = (S.T @ Y2 - a * Y1) / i
            dst[n_in:] = (S @ Y1 + a * Y2) / i
        else:  # B_i = F^2 B_{i-2} / (i (i - 1))
            dst[:n_in] = (F2_in @ Y1) / (i * (i - 1))
            dst[n_in:] = (F2_out @ Y2) / (i * (i - 1))
    terms = np.ascontiguousarray(np.moveaxis(B, 2, 0))  # (A, p + 1, n, r)
    q = 2 * p - 14
    gterms = np.empty((A, q, r, r))
    for j in range(q):  # X^T F~^j X = i1! i2! B_i1^T B_i2, i1 + i2 = j
        i1, i2 = j // 2, j - j // 2
        coef = 2.0**j * math.factorial(i1) * math.factorial(i2) / (math.factorial(j + 1) * dmax)
        K = np.matmul(np.swapaxes(terms[:, i1], 1, 2), terms[:, i2])
        gterms[:, j] = coef * 0.5 * (K + np.swapaxes(K, 1, 2))
    return terms.reshape(A, p + 1, n * r), gterms.reshape(A, q, r * r)


def _propagate_pairs(pd, Xa, owner, dd, delta, Linv_t, out):
    """``out = e^{F delta} Xa[owner] L^{-T}`` in the input/output coordinates, through the singular pairs."""
    U, V, sv = pd["U"], pd["V"], pd["s"]
    n_in, m = V.shape[0], sv.size
    Y1 = np.matmul(V.T, Xa[:, :n_in])[owner]  # (S, n_in, r): coordinates on the right singular vectors
    Y2 = np.matmul(U.T, Xa[:, n_in:])[owner]
    if m:
        x = dd[:, :m]  # rho * delta
        ep, em = np.exp(x), np.exp(-x)
        shc = np.where(x > 0, np.sinh(x) / np.where(x > 0, x, 1.0), 1.0) * delta[:, None]  # sinh(rho delta) / rho
        c11 = (pd["p_v"] ** 2 * ep + pd["m_v"] ** 2 * em)[:, :, None]
        c22 = (pd["p_u"] ** 2 * ep + pd["m_u"] ** 2 * em)[:, :, None]
        c12 = (sv * shc)[:, :, None]
        a, b = Y1[:, :m].copy(), Y2[:, :m]
        Y1[:, :m] = c11 * a + c12 * b
        Y2[:, :m] = c12 * a + c22 * b
    Y1[:, m:] *= np.exp(dd[:, 2 * m : m + n_in])[:, :, None]  # extra input directions, eigenvalue -lam/2
    Y2[:, m:] *= np.exp(dd[:, m + n_in :])[:, :, None]  # extra output directions, eigenvalue +lam/2
    out[:, :n_in] = np.matmul(V, np.matmul(Y1, Linv_t))
    out[:, n_in:] = np.matmul(U, np.matmul(Y2, Linv_t))


def _chol_inv(M):
    """``L^{-1}`` for the Cholesky factors ``L L^T = M`` of the SPD matrices ``M`` (S, k, k), batched.

    Row by row (Cholesky-Banachiewicz), vectorised over the batch: with ``W = L^{-1}`` known on the leading
    ``i x i`` block, row ``i`` of ``L`` is ``M[i, :i] W[:i, :i]^T`` and row ``i`` of ``W`` is
    ``-L[i, :i] W[:i, :i] / L[i, i]``.  For the well-conditioned step matrices (condition number below ~10)
    this is as accurate as LAPACK's ``potrf`` + ``trtri`` (which have no batched form in numpy).
    """
    S, k, _ = M.shape
    W = np.zeros_like(M)
    for i in range(k):
        row = np.einsum("sk,sjk->sj", M[:, i, :i], W[:, :i, :i]) if i else np.zeros((S, 0))
        lii = np.sqrt(M[:, i, i] - np.einsum("sj,sj->s", row, row))
        if i:
            W[:, i, :i] = -np.einsum("sj,sjk->sk", row, W[:, :i, :i]) / lii[:, None]
        W[:, i, i] = 1.0 / lii
    return W


def _reduce_rank(C, n_in, n_out):
    """``C W`` with the columns of ``C`` (n, r) reduced to its numerical rank (``W`` with orthonormal columns).

    ``Q0 Q0^T`` has rank ``rank(W1)`` at ``lam = 0`` (``Q0^T Q0 = 2 W1 W1^T``), at most ``min(n_in, n_out)``,
    while ``C`` carries ``min(n_hidden, n)`` columns: a wide network wastes up to half of every factor.
    Only the directions of ``C`` whose singular value is at most ``_MANIFOLD_RTOL * ||C||_2`` are dropped: the
    rounding-level rule already treats their growing components as zero, and every block of ``Q0 Q0^T`` changes
    by at most the square of that tolerance times ``||Q0||_2^2`` (balance: a dropped direction ``v`` has
    ``|W2 v|^2 - |W1^T v|^2 = lam``, so it cannot carry a block much smaller than ``||Q0||``).  Only tried when
    ``r > min(n_in, n_out)`` (otherwise generic weights have full column rank).
    """
    n, r = C.shape
    if r <= min(n_in, n_out) or r == 0:
        return C
    _, sv, Vt = np.linalg.svd(C, full_matrices=False)
    keep = int(np.sum(sv > _MANIFOLD_RTOL * sv[0])) if sv[0] > 0 else 0
    return C if keep == r else C @ Vt[:keep].T


def _thin_factor(Q0):
    """``C`` with ``C C^T = Q0 Q0^T`` and at most ``n`` columns."""
    n, h = Q0.shape
    if h <= n:
        return Q0
    _, R0 = np.linalg.qr(Q0.T, mode="reduced")  # Q0^T = U R0, R0 (n, n)
    return R0.T


def _check_assumptions(task, W1, W2, balance_tol, white_tol):
    err = task.whiteness_error()
    if err > white_tol:
        raise AssumptionError(
            f"`task` violates A1 (whitened input, Sxx = I): max |Sxx - I| = {err:.3g} > {white_tol:g}. "
            "Whiten it first with `rl.whiten(task)`, or use `rl.simulate` (which accepts any input)."
        )
    bal = measure_balance(W1, W2)
    if bal.relative_deviation > balance_tol:
        raise AssumptionError(
            "the initial weights violate A2 (lambda-balance, W2^T W2 - W1 W1^T = lam I): relative deviation "
            f"{bal.relative_deviation:.3g} > {balance_tol:g} (best lam = {bal.lam:.6g}). Use `rl.balanced_init` "
            "or `rl.task_aligned_init`, or `rl.simulate` for unbalanced weights."
        )
    return bal


def exact_dynamics(task, W1, W2, times, tau=1.0, *, balance_tol=DEFAULT_BALANCE_TOL, white_tol=DEFAULT_WHITE_TOL):
    """Exact gradient-flow trajectory of ``QQ^T`` for a two-layer linear network.

    Valid for every hidden width (bottleneck, square, wide) and every
    feasible balance ``lam`` (including ``lam = 0`` with ``n_in != n_out``).

    Parameters
    ----------
    task : Task
        Must have whitened inputs (A1); see :func:`rsa_lineardyn.whiten`.
    W1 : array_like (n_hidden, n_in)
    W2 : array_like (n_out, n_hidden)
        Initial weights; must be lambda-balanced (A2) to within
        ``balance_tol`` (relative deviation, see :func:`measure_balance`).
    times : array_like (T,)
        Non-negative times in any order; ``np.inf`` gives the fixed point
        reached by gradient flow from these weights.
    tau : float, default 1
        Time constant in ``tau dW/dt = -dL/dW``.
    balance_tol, white_tol : float
        Tolerances for the A2 and A1 checks (defaults 1e-6).

    Returns
    -------
    Trajectory
        ``method == "exact"``; ``factors`` hold ``K`` with ``QQ^T = K K^T``, with
        ``info["rank"]`` columns (the numerical rank of ``Q0``; smaller than
        ``min(n_hidden, n_in + n_out)`` e.g. for wide networks at ``lam = 0``);
        ``info["unlearned_modes"]`` is the number of top modes the rule below
        leaves unlearned (0 for generic weights).

    Notes
    -----
    Invariant manifolds (the rounding-level rule).  A growing mode of ``F`` (eigenvalue ``d > 0``) is learned only if ``Q0``
    has a component on it; without one, gradient flow stays on an invariant
    manifold and converges to a saddle (e.g. lam = 0, 1x1x1, ``W2 W1 < 0 <
    Syx``). Components far below the rounding of ``Z = O^T Q0`` cannot be told
    apart from zero, so one rule applies on every code path (LAPACK and graded
    QR), at every finite ``t`` and at ``t = inf``: **singular values of the
    growing block of ``Z = O^T Q0`` (its rows with ``d > 0``) at or below
    ``_MANIFOLD_RTOL * ||Q0||_2`` (``64 eps``, about 1.4e-14, relative) are set
    to zero; then, level by level (largest eigenvalue first, in the directions
    not already taken by a larger level), a level's components at or below
    that tolerance are set to exactly zero, and levels 1..l together keep at
    most as many directions as the numerical rank of their rows** (so a
    dependence among the growing rows is assigned to the last level it
    involves, whatever its geometry: e.g. lam = 0 square networks with
    ``det(W2 W1)`` of the other sign than ``det(Syx)`` have one singular value
    ~1e-16 relative spread over all levels).  The dynamics returned are the
    exact dynamics of weights within rounding of the input that lie exactly on
    the manifold. When
    this leaves some of the top ``min(n_hidden, #positive eigenvalues)`` modes
    without a component, a ``RuntimeWarning`` says how many, and the output
    indeed never learns them (not even at ``t = inf``). Components above the
    tolerance are kept and learned, however small (no warning).
    A floating-point simulation of such weights instead escapes the saddle
    through rounding noise after a long delay.  Both QR paths see the same
    exactly-zero components and agree to rounding; such weights cost about
    the same as generic ones (``benchmarks/manifold_cost.py``).  Before a
    zeroed mode would grow (``d t <= 1/2``) the output still carries its
    input component (at most ``e^{1/2}`` times the tolerance), so that a tiny
    block such as ``W1^T W1`` keeps its own relative accuracy at ``t = 0``.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2, 1]) * np.sqrt(3))
    >>> W1, W2 = rl.balanced_init(3, 2, 3, lam=0.0, scale=0.1, seed=0)
    >>> traj = rl.exact_dynamics(task, W1, W2, [0, 1, 10, np.inf])
    >>> np.round(np.linalg.svd(traj.w2w1[-1], compute_uv=False), 10)
    array([3., 2., 0.])
    """
    W1, W2 = check_weights(task, W1, W2)
    times = check_times(times)
    tau = check_real(tau, "tau", minimum=0, strict_min=True)
    balance_tol = check_real(balance_tol, "balance_tol", minimum=0)
    white_tol = check_real(white_tol, "white_tol", minimum=0)
    bal = _check_assumptions(task, W1, W2, balance_tol, white_tol)
    lam = bal.lam
    d, O, Z, missing, basis, fast_ok = _prepare(task, W1, W2, lam)
    n, r = Z.shape
    check_memory(times.size * n * r, f"the factors of QQ^T at {times.size} `times` (each {n} x {r}, r = rank(Q0) "
                 f"<= min(n_hidden, n_in + n_out))", "Ask for fewer `times` per call (e.g. in blocks).")
    k = min(W1.shape[0], d.size, int(np.sum(d > 0)))  # the top modes counted (the factor before rank reduction)
    if missing:
        warnings.warn(_manifold_message(d, k, missing), RuntimeWarning, stacklevel=2)
    s = times / tau
    # beyond this, every finite scale gap is astronomically large: same result as the limit
    dmax = float(np.max(np.abs(d))) if d.size else 0.0
    if dmax > 0:
        s = np.where(np.isfinite(s), np.minimum(s, 1e250 / dmax), s)
    out = _dense_factors(d, O, Z, s, fast_ok, basis)
    info = {"balance_deviation": bal.relative_deviation, "eigenvalues": d, "rank": r, "unlearned_modes": missing}
    return Trajectory(times, out, method="exact", task=task, n_hidden=W1.shape[0], lam=lam, tau=tau, info=info)


def _prepare(task, W1, W2, lam):
    """Spectrum, rule-cleaned factor and ``basis`` (for :func:`_factors`) of the initial weights.

    Returns ``d, O, Z, missing, basis, fast_ok``: ``Z = O^T C`` after :func:`_manifold_rule` (the
    rounding-level rule, applied once for every path and time; ``O`` with its columns rotated within tied
    levels by :func:`_split_dependent`), ``missing`` the rule's count of unlearned top modes,
    ``basis = (_pair_data(...), C)`` with ``C`` the factor rotated like ``Z``, in input/output coordinates,
    and ``fast_ok`` whether the LAPACK path is accurate.  ``C`` has ``rank(Q0)`` columns (:func:`_reduce_rank`);
    ``missing`` counts the top ``min(n_hidden, n, #positive)`` modes as without the reduction.
    """
    d, O = spectrum(task.sigma_yx, lam, svd=task.svd())
    C = _thin_factor(np.concatenate([W1.T, W2], axis=0))
    k = min(C.shape[1], int(np.sum(d > 0)))  # the top modes the rule counts, before any column is dropped
    C = _reduce_rank(C, task.n_in, task.n_out)
    Z, missing, change = _manifold_rule(d, O.T @ C, track=True, k=k)
    if change is None:  # the rule's early exit: the growing rows are well conditioned
        fast_ok = _fast_ok(d, Z)
    else:
        # the same rotation of the columns as Z; the zeroed rounding-level entries are not carried back into C:
        # O @ (those entries) would put rounding of ||Q0|| into a much smaller block (e.g. W1 ~ 1e-21 next to
        # W2 ~ 0.1).  They only matter once their mode grows, and there the rows of Z (zero) are used.
        C = C @ change
        O, Z, fast_ok = _split_dependent(d, O, Z)
    return d, O, Z, missing, (_pair_data(task.svd(), lam), C), fast_ok


def _split_dependent(d, O, Z):
    """Whether the LAPACK path is accurate on the output of :func:`_manifold_rule`'s level loop.

    The rule leaves, at each positive eigenvalue level (largest first), nonzero entries only in the
    directions claimed so far and in the level's own new ones; its entries in the directions no level
    above or at it has claimed are *exact* zeros.  A level with more rows than new directions is rotated
    within itself (``Z[rows] <- U^T Z[rows]``, ``O[:, rows] <- O[:, rows] U``: ``O Z`` and every row scale
    unchanged) so that its last rows have no new component (set exactly to zero): these rows are dependent
    on the rows of the levels above (an invariant manifold when directions remain).  Exact zeros stay at the
    size of Householder fill-in (bounded entries times small reflector components), never at rounding of a
    huge row, so dependent rows do not push a mode on the manifold into being learned and need no special
    path; the LAPACK path is accurate when the *independent* growing rows are well conditioned (``1e-12``,
    as :func:`_fast_ok` asks of all top rows for generic weights).  Weights on a manifold therefore cost
    the same as generic ones (issue 11: they used to take the graded QR at every t, 4-20x slower).

    Returns ``O, Z`` (rotated) and ``fast_ok``.
    """
    n, r = Z.shape
    O, Z = O.copy(), Z.copy()
    claimed = 0
    hrows = []
    for lev in np.unique(d[d > 0])[::-1]:
        if claimed == r:
            break
        rows = np.flatnonzero(d == lev)
        new = Z[np.ix_(rows, np.arange(claimed, r))]
        nk = int(np.sum(np.any(new != 0, axis=0)))  # the rule leaves exactly the claimed new columns nonzero
        if rows.size > nk:
            U, _, _ = np.linalg.svd(new[:, :nk], full_matrices=True)
            Z[rows] = U.T @ Z[rows]
            O[:, rows] = O[:, rows] @ U
            Z[np.ix_(rows[nk:], np.arange(claimed, r))] = 0.0
        hrows.extend(rows[:nk].tolist())
        claimed += nk
    if claimed == 0:
        return O, Z, True  # no growing component at all: nothing graded to resolve
    sv = np.linalg.svd(Z[np.array(hrows)][:, :claimed], compute_uv=False)
    return O, Z, bool(sv[0] > 0 and sv[-1] > 1e-12 * sv[0])


def _manifold_rule(d, Z, track=False, k=None):
    """Apply the rounding-level rule to ``Z = O^T C``; see :func:`exact_dynamics` ("Invariant manifolds").

    Processes the positive eigenvalue levels of ``F`` from the largest down.  At
    each level the rows of ``Z`` on that level, restricted to the columns no
    higher level has claimed, are rotated by their right singular vectors
    (``C -> C W`` with ``W`` orthogonal, which leaves ``C C^T`` unchanged);
    directions whose singular value exceeds ``_MANIFOLD_RTOL * ||Z||_2`` are
    claimed by this level, and the level's entries in the remaining directions
    (all at most the tolerance) are set to exactly zero.  The result ``Z'``
    differs from ``Z W`` by rounding-level entries only, and lies exactly on the
    invariant manifold it is within rounding of.

    Parameters
    ----------
    d : (n,) eigenvalues of F (ties exact)
    Z : (n, r) or (D, n, r) (batched over draws)
    k : int, optional
        How many top modes to count (default ``min(r, #positive)``); a factor reduced to its rank passes the
        count of the unreduced one, so the warning does not depend on the reduction.

    Returns
    -------
    Zr : same shape as ``Z``, the rotated and cleaned factor (``Zr Zr^T = Z Z^T`` up to the
        zeroed rounding-level parts)
    missing : int or (D,) int array, how many of the ``k = min(r, #positive)`` top modes
        (ties at the boundary included) have no component left, i.e. are never learned
    change : only with ``track=True``: ``None`` when ``Zr`` is ``Z`` itself, else the orthogonal ``W`` (r, r)
        (or (D, r, r)) with ``Zr = Z W`` up to the rounding-level entries set to zero, so that ``C W`` is the
        factor in the input/output coordinates without a round trip through ``O``
    """
    Z = np.asarray(Z, dtype=float)
    batched = Z.ndim == 3
    Zb = (Z if batched else Z[None]).copy()
    D, n, r = Zb.shape
    n_pos = int(np.sum(d > 0))
    k = min(r, n_pos) if k is None else min(int(k), n_pos)
    missing = np.zeros(D, dtype=np.int64)
    if k == 0 or D == 0:
        return _rule_out(Zb, missing, batched, track, None)
    if r == 0:  # no column at all (zero weights): none of the top k modes is ever learned
        missing[:] = k
        return _rule_out(Zb, missing, batched, track, np.zeros((D, 0, 0)) if track else None)
    boundary = np.sort(d)[::-1][k - 1]  # the k-th largest eigenvalue; levels >= it are "the top k"
    tol = _MANIFOLD_RTOL * np.linalg.norm(Zb, ord=2, axis=(1, 2))  # (D,)
    # Early exit (the common case).  Take the rows of all positive levels if they are at most r, else the
    # rows of the top k levels if they are exactly r (then those claim all r directions and the loop ends).
    # If that block is well conditioned, every level's restriction to the directions the higher levels left
    # has singular values >= the block's smallest (dist(y^T B, rowspace(A)) >= sigma_min([A; B]) |y|), so no
    # entry is rounding-level and the rule is the identity (up to a rotation of the columns, which leaves
    # Q Q^T unchanged).
    pos_rows = np.flatnonzero(d > 0)
    top_rows = np.flatnonzero(d >= boundary)
    rows = pos_rows if pos_rows.size <= r else (top_rows if top_rows.size == r else None)
    if rows is not None and k <= r:
        sv_min = np.linalg.svd(Zb[:, rows], compute_uv=False)[:, -1]
        if np.all(sv_min > 1e3 * tol):
            return _rule_out(Zb, missing, batched, track, None)
    W = np.broadcast_to(np.eye(r), (D, r, r)).copy() if track else None
    for b in range(D):
        Zr = np.asfortranarray(Zb[b])  # column slices stay contiguous: the reflectors are applied in place
        Wb = np.asfortranarray(W[b]) if track else None
        # Joint part of the rule: singular values of the growing block at or below the tolerance are removed
        # (a perturbation of at most the tolerance), and the dependences among its rows this leaves (the left
        # singular vectors ``Cdef``) cap what each prefix of levels can claim: levels 1..l together claim at
        # most their numerical rank, ``#rows - #(dependences supported on them)``.  So a near-dependence spread
        # over many levels (lam = 0 with det(W2 W1) of the other sign than det(Syx) gives one singular value
        # ~1e-16 relative, shared by hundreds of rows at n = 1000) is assigned to the last level it involves,
        # whatever the order and geometry of the rows, instead of surviving as per-level remainders ~1e-13.
        Ub, sv_all, Vt_all = np.linalg.svd(Zr[pos_rows], full_matrices=True)
        sv_full = np.zeros(pos_rows.size)
        sv_full[: sv_all.size] = sv_all
        small = (sv_all <= tol[b]) & (sv_all > 0)
        if np.any(small):
            Zr[pos_rows] -= (Zr[pos_rows] @ Vt_all[: sv_all.size][small].T) @ Vt_all[: sv_all.size][small]
        Cdef = Ub[:, sv_full <= tol[b]]  # (n_pos, n_def): dependences among the growing rows
        pos_index = {row: i for i, row in enumerate(pos_rows)}
        in_prefix = np.zeros(pos_rows.size, dtype=bool)
        claimed = 0
        claimed_top = 0
        for lev in np.unique(d[d > 0])[::-1]:
            if claimed == r:
                break
            rows = np.flatnonzero(d == lev)
            in_prefix[[pos_index[i] for i in rows]] = True
            sub = Zr[np.ix_(rows, np.arange(claimed, r))]
            _, sv, Vt = np.linalg.svd(sub, full_matrices=False)
            nk = int(np.sum(sv > tol[b]))
            if Cdef.shape[1]:
                out = Cdef[~in_prefix]
                out_rank = int(np.sum(np.linalg.svd(out, compute_uv=False) > _DEP_RTOL)) if out.size else 0
                nk = max(0, min(nk, int(np.sum(in_prefix)) - (Cdef.shape[1] - out_rank) - claimed))
            if nk:
                # rotate the free columns so that the first nk span the level's top right singular vectors:
                # nk Householder reflectors (LAPACK ormqr), O(n r nk) instead of a full (r x r) rotation
                refl = _reflectors(Vt[:nk].T)
                for M in (Zr, Wb) if track else (Zr,):
                    _apply_reflectors(refl, M[:, claimed:])
            Zr[np.ix_(rows, np.arange(claimed + nk, r))] = 0.0  # rounding-level: exactly zero
            claimed += nk
            if lev >= boundary:
                claimed_top = claimed
        missing[b] = k - min(k, claimed_top)
        Zb[b] = Zr
        if track:
            W[b] = Wb
    return _rule_out(Zb, missing, batched, track, W)


def _reflectors(X):
    """Householder reflectors (LAPACK ``geqrf`` raw form) of ``X`` (m, k): ``H_1 ... H_k`` has ``X``'s span first."""
    (qr, tau), _ = scipy.linalg.qr(X, mode="raw")
    return qr, tau


def _apply_reflectors(refl, M):
    """``M <- M @ (H_1 ... H_k)`` in place (``M`` a Fortran-contiguous float view) for the reflectors of
    :func:`_reflectors` (LAPACK ``ormqr``: no dense rotation is formed)."""
    qr, tau = refl
    if M.shape[0] == 0:
        return
    out, _, info = scipy.linalg.lapack.dormqr("R", "N", qr, tau, M, max(1, M.shape[0]) * 64, overwrite_c=1)
    if info != 0:  # pragma: no cover - LAPACK argument error, not reachable with these shapes
        raise RuntimeError(f"LAPACK dormqr failed (info={info})")
    if out is not M and not np.shares_memory(out, M):
        M[...] = out


def _rule_out(Zb, missing, batched, track, change):
    if batched:
        return (Zb, missing, change) if track else (Zb, missing)
    out = (Zb[0], int(missing[0]))
    if track:
        out += (None if change is None else change[0],)
    return out


def _fast_ok(d, Z):
    """Whether the LAPACK path is safe: the top modes' rows of ``Z`` are well conditioned (``1e-12``)."""
    k = min(Z.shape[1], int(np.sum(d > 0)))
    if k == 0:
        return True
    boundary = np.sort(d)[::-1][k - 1]
    sv = np.linalg.svd(Z[d >= boundary], compute_uv=False)
    return bool(sv.size >= k and sv[0] > 0 and sv[k - 1] > 1e-12 * sv[0])


def _manifold_message(d, k, missing):
    top = np.sort(d)[::-1][:k]
    return (
        f"the initial weights lie (to rounding) on an invariant manifold of gradient flow: {missing} of the "
        f"{k} growing modes it would otherwise learn (eigenvalues of F: "
        f"{', '.join(f'{x:.3g}' for x in np.sort(top)[:missing])}) "
        f"have no component in Q0 above the rounding tolerance ({_MANIFOLD_RTOL:.2g} * ||Q0||_2). Such components "
        "are treated as exactly zero, so the returned dynamics never learn these modes and converge to a saddle "
        "(also at t = inf). A floating-point simulation escapes only through rounding noise, after a long delay. "
        "This happens e.g. for lam = 0 square networks when det(W2 W1) and det(Syx) differ in sign; "
        "use another seed or `rl.task_aligned_init`."
    )


def _warn_invariant_manifold(d, Z, stacklevel=3):
    """Warn when ``Z`` lies on an invariant manifold under the rounding-level rule (see :func:`_manifold_rule`).

    Returns ``fast_ok`` (see :func:`_fast_ok`) for the factor after the rule:
    ``False`` whenever the warning fires, so those weights use the graded QR at
    every time point.  Callers that evaluate the dynamics must evaluate them on
    ``_manifold_rule(d, Z)[0]``, not on ``Z``, for the warning to describe the output.
    """
    Zr, missing = _manifold_rule(d, Z)
    k = min(Z.shape[-1], int(np.sum(d > 0)))
    if missing:
        warnings.warn(_manifold_message(d, k, missing), RuntimeWarning, stacklevel=stacklevel)
    return _fast_ok(d, Zr)


def fixed_point(task, W1, W2, tau=1.0, *, balance_tol=DEFAULT_BALANCE_TOL, white_tol=DEFAULT_WHITE_TOL):
    """The point ``QQ^T(inf)`` reached by gradient flow from ``(W1, W2)``.

    Shorthand for ``exact_dynamics(task, W1, W2, [np.inf], ...)`` (same keywords); returns a
    one-point :class:`Trajectory`.  For a bottleneck with a gap in the
    singular values of ``Syx`` at ``n_hidden``, the network function is the
    rank-``n_hidden`` truncation of ``Syx``.
    """
    return exact_dynamics(task, W1, W2, [np.inf], tau, balance_tol=balance_tol, white_tol=white_tol)
