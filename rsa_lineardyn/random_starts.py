"""The expected geometry over random lambda-balanced starts (``init="random"``).

``_RandomStartEngine`` turns ``(lam, scale, times, tau)`` into the expected
Gram matrices of one representation (``"hidden"``, ``"output"``,
``"prediction"``, ``"ntk"``) of a two-layer linear network on a whitened
task, over random lambda-balanced starts: the rank-one form
``Gram_t = B^T diag(w_t) B`` over all input (or output) modes, with weights
``w_t`` from the exact solution of seeded draws (the draws of
``rsa_lineardyn.engines._AverageEngine``) projected on the task's modes and
symmetrised.  The module also holds the engine's numerical kernels: batched
versions of the exact solver's steps (:mod:`rsa_lineardyn.exact`), the
mode-coordinate spectrum, and the grouping of tied singular values.

Pure numerical code: no rsatoolbox objects.  The aligned and averaged
engines are in :mod:`rsa_lineardyn.engines`.
"""

from __future__ import annotations

import numpy as np

from .engines import _base_draws, _DrawEngine, _lru_get, _lru_put
from .initialization import _assemble, balanced_factors


# ----------------------------------------------------------------------------
# the expected geometry over random lambda-balanced starts
# ----------------------------------------------------------------------------
#: Singular values of ``Syx`` within this relative distance (of the largest) form one tied group.
_GROUP_RTOL = 1e-10
#: Array elements per batch of (draw, time) QR problems (~32 MB of float64 temporaries).
_BATCH_ELEMENTS = 4_000_000
#: Monte Carlo estimators of ``_RandomStartEngine``: ``"cv"`` (default: antithetic pairs and control variates,
#: :meth:`_RandomStartEngine._estimate`), ``"antithetic"`` (plain mean over the antithetic draws), ``"plain"``
#: (plain mean over independent draws: the estimator before 2026-12, kept as a reference).
_MC_ESTIMATORS = ("cv", "antithetic", "plain")


def _weighted_beta(y, G, omega):
    """Per time, weighted least squares ``y ~ G beta`` pooled over units and modes: (U, T, n), (U, T, n, k) -> (T, k).

    Columns scaled to unit weighted norm, pseudo-inverse with a relative cut-off (a control that is zero, e.g. on
    a network wide enough to hold every direction, gets coefficient 0)."""
    wGt = np.swapaxes(G * omega[None, :, :, None], -1, -2)  # (U, T, k, n)
    return _beta_from_sums((wGt @ G).sum(axis=0), (wGt @ y[..., None])[..., 0].sum(axis=0))


def _beta_from_sums(GtG, Gty):
    """:func:`_weighted_beta`'s solve from its weighted sums ``GtG`` (..., k, k) and ``Gty`` (..., k)."""
    norm = np.sqrt(np.maximum(np.diagonal(GtG, axis1=-2, axis2=-1), 0.0))
    ok = norm > 1e-12 * np.max(norm, axis=-1, keepdims=True)
    inv = np.where(ok, 1.0 / np.where(ok, norm, 1.0), 0.0)
    A = GtG * inv[..., :, None] * inv[..., None, :]
    return (np.linalg.pinv(A, rcond=1e-8, hermitian=True) @ (Gty * inv)[..., None])[..., 0] * inv


def _loo_press(y, G, omega):
    """Leave-one-unit-out prediction error of the pooled regression ``y ~ G beta`` (per time): (T,).

    ``y`` (U, T, n) and ``G`` (U, T, n, k) are centred over the units.  Equals refitting :func:`_weighted_beta`
    on the other units (centred over them) and predicting the one left out, for every unit, from the weighted
    sums over all units minus each unit's own share (the rest's mean is ``-x_u / (U - 1)`` for centred data), in
    one batched solve instead of ``U`` fits.
    """
    U = y.shape[0]
    f = U / (U - 1.0)
    wGt = np.swapaxes(G * omega[None, :, :, None], -1, -2)  # (U, T, k, n)
    own_GG = wGt @ G  # batched BLAS products (numpy's einsum over four indices does not use BLAS)
    own_Gy = (wGt @ y[..., None])[..., 0]
    beta = _beta_from_sums(own_GG.sum(axis=0)[None] - f * own_GG, own_Gy.sum(axis=0)[None] - f * own_Gy)
    e = f * (y - (G @ beta[..., None])[..., 0])
    return np.einsum("tn,utn->t", omega, e * e)


def _pair_units(x):
    """Independent units (D', ...) of per-draw values ``x`` (D, ...) drawn by ``_base_draws(antithetic=True)``.

    Draw ``k`` and ``k + p`` (``p = ceil(D / 2)``) form a pair: their mean is one unit; the unpaired last draw of
    an odd ``D`` is a unit on its own.
    """
    D = x.shape[0]
    p = (D + 1) // 2
    q = D - p
    return np.concatenate([(x[:q] + x[p:]) / 2.0, x[q:p]], axis=0)


def _assemble_modes(d, pair, dc, Om, C, s, Q, w, n_in, cols, extra=None, P=None):
    """The factor ``X`` of ``QQ^T`` in mode coordinates, every block accurate relative to its own size, (D, T, rows, r).

    :func:`rsa_lineardyn.exact._assemble` for a batch of draws, in the task's mode coordinates (where ``V`` and
    ``U`` of ``_assemble`` are identities): the growing rows of the (compressed) eigenbasis (``d_c t > _GROW``)
    enter as ``Om_c K`` with ``K_i = Q[i] / sqrt(w_i)``; every other mode is written directly from ``C`` (the
    factor of ``Q0 Q0^T`` in mode coordinates, ``Om_c^T C = Z`` up to the rule's rounding-level zeros) times
    ``R^{-1}`` (the identity rows of ``Q``), with the pair's 2 x 2 block of ``e^{Ft}`` in its cancellation-free
    form (:func:`rsa_lineardyn.exact._pair_eigenvectors` coefficients), so that a tiny ``W1`` block next to an
    ``O(1)`` ``W2`` block, or a whole factor far below one in the plateau of a tiny start, keeps its own
    relative accuracy (the eigenbasis round trip ``Om K`` is only accurate relative to ``||Q0||``).

    ``d`` (n,) and ``pair = (sv, rho, p_v, p_u, m_v, m_u)`` are the uncompressed spectrum (:func:`_mode_spectrum`
    order: ``+rho``, ``-rho``, extra inputs, extra outputs); ``dc`` (nc,), ``Om`` (D, n, nc) the compressed
    eigenbasis of the QR; ``C`` (D, n, r); ``s`` (T,) times over ``tau``; ``w`` (T, nc) from
    :func:`rsa_lineardyn.exact._row_scales`; ``cols`` the compressed modes that grow at some time of ``s``; ``Q``
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
    from .exact import _GROW

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
    """:func:`rsa_lineardyn.exact._manifold_rule` for a batch ``Z`` (D, n, r), skipping draws it leaves unchanged.

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
    coordinates that matches ``Z'`` (as ``change`` of :func:`rsa_lineardyn.exact._manifold_rule`).
    """
    from .exact import _MANIFOLD_RTOL, _manifold_rule

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
    from .exact import _FAST_LOG_MAX, _row_scales

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
        return ((x @ self.member) / self.sizes)[..., self.labels]


def _merge_ties_fast(d, rtol):
    """Vectorised ``rsa_lineardyn.exact._merge_ties``: runs of sorted values closer than ``rtol * max|d|`` get their mean."""
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


def _mode_spectrum(s, n_in, n_out, lam):
    """``F = blockdiag(V, U) Om diag(d) Om^T blockdiag(V, U)^T``: :func:`rsa_lineardyn.exact.spectrum` in mode coordinates."""
    from .exact import _TIE_RTOL, _pair_eigenvectors

    n = n_in + n_out
    m = s.size
    a = lam / 2.0
    rho, p_v, p_u, m_v, m_u = _pair_eigenvectors(s, a)
    Om = np.zeros((n, n))
    d = np.empty(n)
    k = np.arange(m)
    Om[k, k], Om[n_in + k, k], d[:m] = p_v, p_u, rho
    Om[k, m + k], Om[n_in + k, m + k], d[m : 2 * m] = m_v, m_u, -rho
    ji = np.arange(m, n_in)
    Om[ji, 2 * m + (ji - m)], d[2 * m + (ji - m)] = 1.0, -a
    jo = np.arange(m, n_out)
    off = 2 * m + ji.size
    Om[n_in + jo, off + (jo - m)], d[off + (jo - m)] = 1.0, a
    return _merge_ties_fast(d, _TIE_RTOL), Om


class _RandomStartEngine(_DrawEngine):
    """Expected Gram over random lambda-balanced starts, exact per draw, in the task's mode basis.

    Why a rank-one form is exact: the law of ``rl.balanced_init`` is
    invariant under ``W1 -> W1 O1^T``, ``W2 -> O2 W2`` (orthogonal ``O1``,
    ``O2``), and gradient flow with ``Sxx = I`` is equivariant under the pairs
    with ``O2 Syx O1^T = Syx`` (``O1 = V D V^T``, ``O2 = U D U^T``: joint signs
    or rotations within tied singular values, anything on the null spaces).
    So ``E[W1^T W1]``, ``E[W2 W2^T]``, ``E[pinv(W2 W2^T)]`` and
    ``E[(W2 W1)^T (W2 W1)]`` are diagonal in the task's mode bases (``V`` for
    inputs, ``U`` for outputs) and constant within each tied group, and every
    expected Gram is ``B^T diag(w_t) B`` with ``B = V^T X`` (hidden,
    prediction; ``n_in`` rows) or ``B = U^T Y`` (output; ``n_out`` rows).

    The weights ``w_t`` are the mean over ``n_draws`` seeded draws (the draws of
    :class:`_AverageEngine`: common random numbers across ``lam`` and
    ``scale``) of each draw's exact solution projected on the mode diagonal,
    then averaged within the tied groups (exact in expectation; it removes
    most of the Monte Carlo noise).  Never forms a P x P matrix per draw.

    Draws on an invariant manifold of gradient flow (e.g. about half of the
    ``lam = 0`` draws of a square network, where ``det(W2 W1)`` and
    ``det(Syx)`` differ in sign) are included with their exact solution (they
    converge to a saddle, as gradient flow from them does), without the
    per-draw warning of :func:`rsa_lineardyn.exact_dynamics`.

    Accuracy: every time's weights are accurate relative to that time's own
    geometry (``tests/test_random_small_scale.py``: 1e-9 asked, ~2e-15
    measured at start scales down to 1e-10), as ``exact_dynamics`` is: the
    non-growing modes are assembled in mode coordinates (which are the
    input/output singular coordinates of ``exact._assemble``), not through
    the eigenbasis of ``F`` (:func:`_assemble_modes`), and the fast QR sorts
    its rows by their norms, not by their scales alone.  ``output`` inverts
    ``W2 W2^T`` with a relative cut-off and is not held to that.

    How it is made fast:

    1. The random part of a draw (``U0, a, V0``) does not depend on
       ``(lam, scale)``; it is kept in the task's mode coordinates
       (``V^T V0``, ``U^T U0``).  The hidden rotation drops out of ``QQ^T``, so
       the thin factor ``C`` (``CC^T = Q0 Q0^T``) is built without it, with
       ``r = min(n_in, n_hidden, n_out)`` columns for ``lam = 0`` (wide
       networks too) and ``n_hidden`` otherwise.
    2. Per ``(lam, scale)`` (LRU-cached) every draw's ``Z = O^T C`` with tied
       eigenvalue groups compressed (as in :class:`_AverageEngine`).
    3. Per request, one batched QR over all draws and times: LAPACK on
       scale-sorted rows while row scales stay below ``e^300`` (the fast path
       of :func:`rsa_lineardyn.exact._factors`), the graded QR otherwise
       (``t = inf``, very large ``t``, draws near an invariant manifold);
       only the rows of its Q factor the assembly uses are gathered.
    4. ``hidden``: only the input rows are assembled, and the extra input
       modes (one eigenvalue, one group) through the R factor of their rows
       (:meth:`_input_rows`).
    5. Wide networks with ``lam < 0`` (the split path): tied columns of the
       reduced problem are compressed to their R factor (found on a
       ``lam``-free subspace for ``n_hidden = n_in``,
       :meth:`_structured_tie`), and the group's trace follows from the
       conserved balance ``W2^T W2 - W1 W1^T = lam I``.  ``ntk`` also needs
       ``W2 W2^T`` to its own accuracy: :meth:`_split_outputs` (uncompressed,
       about 3-4x the cost of the compressed path for such networks).
    6. The rounding-level rule of :func:`rsa_lineardyn.exact_dynamics` is
       skipped for draws it provably leaves unchanged, also with a tie at the
       boundary (:func:`_manifold_rule_generic`).

    On the 92-image task (16 draws, 61 times) 1-5 take the default
    ``fit_rdms`` grid engine from ~2.1 s to ~1.0 s of CPU (``benchmarks/engine_speed.py``);
    every step is exact (equal to the plain computation to ~1e-14 relative).
    """

    def __init__(self, task, n_hidden, representation, rcond, n_draws, seed, cache_size=32, result_cache_size=64,
                 mc="cv"):
        super().__init__(task, n_hidden, representation, rcond, n_draws, seed, cache_size, result_cache_size)
        if mc not in _MC_ESTIMATORS:
            raise ValueError(f"mc must be one of {_MC_ESTIMATORS}, got {mc!r}")
        self.mc = mc
        U, s, Vt = task.svd()
        self.U = np.asarray(U)
        self.V = np.asarray(Vt).T
        self.s = np.asarray(s)
        n_in, n_out = task.n_in, task.n_out
        self.in_groups = _group_labels(self.s, n_in)
        self.out_groups = _group_labels(self.s, n_out)
        self._mean_in, self._mean_out = _GroupMeans(self.in_groups), _GroupMeans(self.out_groups)
        self._group_sizes = np.bincount(self.in_groups)[self.in_groups]  # (n_in,): size of each mode's group
        self.Z_items = np.asarray(Vt) @ task.X  # (n_in, P)
        self.Yu = self.U.T @ task.Y  # (n_out, P)
        self._base = None
        self.stats = {"state_hits": 0, "state_misses": 0, "result_hits": 0, "result_misses": 0}

    # -- draws ---------------------------------------------------------------------
    def _raw_draws(self):
        return _base_draws(self.task, self.n_hidden, self.n_draws, self.seed, antithetic=self.mc != "plain")

    def _base_draws(self):
        """Per draw: ``(V^T V0 (n_in, k1), U^T U0 (n_out, n_out), a, None)``, ``k1 = min(n_hidden, n_in)``.

        Only the first ``k1`` columns of ``V0`` enter ``W1 = R D1 V0^T``: the others are not kept (``n_draws``
        full ``n_in x n_in`` rotations are 256 MB at 1000 one-hot items); :meth:`draws` redraws the raw starts.
        """
        if self._base is None:
            raw = self._raw_draws()
            k1 = min(self.n_hidden, self.task.n_in)
            Vm = np.stack([self.V.T @ V0[:, :k1] for _, _, V0, _ in raw])
            Um = np.stack([self.U.T @ U0 for U0, _, _, _ in raw])
            A = np.stack([a for _, a, _, _ in raw])
            self._base = (Vm, Um, A, None)
        return self._base

    def draws(self, lam, scale):
        """The ``n_draws`` initial weight pairs ``(W1, W2)`` at ``(lam, scale)`` (those of ``init='average'``)."""
        t = self.task
        return [_assemble(U, V, R, a * scale**2, lam, t.n_in, self.n_hidden, t.n_out)
                for U, a, V, R in self._raw_draws()]

    def basis(self):
        """The fixed rows ``B`` (J, P) of ``Gram_t = B^T diag(w_t) B``."""
        return self.Yu if self.representation == "output" else self.Z_items

    def basis_groups(self):
        """Group of every row of :meth:`basis` (J,): the weights ``w_t`` are equal within a group (tied modes)."""
        return self.out_groups if self.representation == "output" else self.in_groups

    def _thin_modes(self, lam, scale):
        """Every draw's thin factor of ``Q0 Q0^T`` in mode coordinates ``[V^T W1^T; U^T W2] R``, (D, n, r)."""
        Vm, Um, A, _ = self._base_draws()
        n_in, n_out, h = self.task.n_in, self.task.n_out, self.n_hidden
        m = min(n_in, h, n_out)
        r = m if lam == 0 else h
        D = A.shape[0]
        s1, s2 = balanced_factors(A[:, :m] * scale**2, lam)  # (D, m)
        d1 = np.zeros((D, r))
        d2 = np.zeros((D, r))
        d1[:, :m], d2[:, :m] = s1, s2
        if lam > 0:
            d2[:, m:] = np.sqrt(lam)
        elif lam < 0:
            d1[:, m:] = np.sqrt(-lam)
        k1, k2 = min(r, n_in), min(r, n_out)
        C = np.zeros((D, n_in + n_out, r))
        C[:, :n_in, :k1] = Vm[:, :, :k1] * d1[:, None, :k1]
        C[:, n_in:, :k2] = Um[:, :, :k2] * d2[:, None, :k2]
        return C

    def state(self, lam, scale):
        """``(d (nc,), Om (D, n, nc), Z (D, nc, r), fast_ok (D,), C (D, n, r))`` per ``(lam, scale)``, LRU-cached.

        ``Om`` maps the (compressed) eigenbasis of ``F`` to mode coordinates; ``C`` is the thin factor of
        ``Q0 Q0^T`` in mode coordinates with the columns of ``Z`` (``Om^T C = Z`` up to the rounding-level
        entries the rule sets to zero), for :func:`_assemble_modes`.
        """
        key = (float(lam), float(scale))
        hit = _lru_get(self._cache, key, self.stats, "state")
        if hit is not None:
            return hit
        d, Om = self._spectrum(key[0])  # eigenvectors in mode coordinates
        C = self._thin_modes(*key)
        Zfull = np.swapaxes(Om, 0, 1) @ C  # (D, n, r) = O^T C
        # exact_dynamics' rounding-level rule; no warning: part of the expectation.  Its column rotation is
        # applied to C; its zeroed rounding-level entries are not (as exact._prepare)
        Zfull, W = _manifold_rule_generic(d, Zfull, track=True)
        if W is not None:
            C = C @ W
        D, n, r = Zfull.shape
        fast_ok = self._fast_ok(d, Zfull)  # no warning: such draws are part of the expectation
        levels, inverse, counts = np.unique(d, return_inverse=True, return_counts=True)
        groups = [np.flatnonzero(inverse == lev) for lev in np.flatnonzero(counts > r)]
        keep = np.ones(d.size, dtype=bool)
        for idx in groups:
            keep[idx] = False
        dc = np.concatenate([d[keep]] + [np.full(r, d[idx[0]]) for idx in groups])
        Os_all, Zs_all = [np.broadcast_to(Om[:, keep], (D,) + Om[:, keep].shape)], [Zfull[:, keep]]
        for idx in groups:  # tied rows share their row scale: Z_g = Q_g R_g -> rows R_g, columns O_g Q_g
            Qg, Rg = np.linalg.qr(Zfull[:, idx], mode="reduced")
            Os_all.append(Om[:, idx] @ Qg)
            Zs_all.append(Rg)
        out = (dc, np.concatenate(Os_all, axis=2), np.concatenate(Zs_all, axis=1), fast_ok, C)
        _lru_put(self._cache, key, out, self._cache_size)
        return out

    def _spectrum(self, lam):
        """``(d, Om)``: :func:`rsa_lineardyn.exact.spectrum` with the eigenvectors in mode coordinates.

        ``Om = blockdiag(V, U)^T O`` is written down directly (it is sparse: each paired eigenvector
        has one ``v_k`` and one ``u_k`` coefficient, the others are single null modes), with the same
        coefficients and the same tie merging as ``spectrum``.  LRU-cached per ``lam``.
        """
        hit = _lru_get(self._spectra, lam)
        if hit is None:
            hit = _lru_put(self._spectra, lam, _mode_spectrum(self.s, self.task.n_in, self.task.n_out, lam), self._cache_size)
        return hit

    @staticmethod
    def _fast_ok(d, Z):
        """Per draw: the rows of the modes to be learned are well conditioned (as ``exact._warn_invariant_manifold``)."""
        D, n, r = Z.shape
        n_pos = int(np.sum(d > 0))
        k = min(r, n_pos)
        if k == 0 or D == 0:
            return np.ones(D, dtype=bool)
        order = np.argsort(-d, kind="stable")
        rows = d >= d[order[k - 1]]
        sv = np.linalg.svd(Z[:, rows], compute_uv=False)
        if sv.shape[1] < k:
            return np.zeros(D, dtype=bool)
        return sv[:, k - 1] > 1e-12 * sv[:, 0]

    def mode_factors(self, lam, scale, times, tau):
        """Every draw's factor of ``QQ^T`` in mode coordinates at ``times``, shape (D, T, n_in + n_out, r).

        ``[V^T W1^T W1 V, ...; ..., U^T W2 W2^T U] = K K^T`` for each draw and time; the same solution as
        :func:`rsa_lineardyn.exact_dynamics` (graded QR of ``[diag(sqrt g) Z; I]``, non-growing modes
        assembled in mode coordinates), each block accurate relative to its own size.
        """
        X = self._eig_factors(lam, scale, times, tau)
        if X is None:
            D, n, r = self.state(lam, scale)[4].shape
            return np.zeros((D, np.size(times), n, r))
        return X

    def _hidden_group_sums(self, lam, scale, times, tau):
        """Per draw, input-mode group ``G`` of the task and time: ``sum_{i in G} (K K^T)_ii``.

        The hidden representation only needs these sums (its weights are averaged within the groups), so only
        the input rows of the factor are assembled.  Returns (D, T, n_groups), or ``None`` for an empty factor.
        """
        X = self._eig_factors(lam, scale, times, tau, inputs_only=True)
        if X is None:
            return None
        m = min(self.task.n_in, self.task.n_out)
        members = np.zeros((X.shape[2], int(np.max(self.in_groups)) + 1 if self.in_groups.size else 0))
        members[np.arange(m), self.in_groups[:m]] = 1.0
        members[m:, self.in_groups[-1]] = 1.0  # the compressed extra input rows (one group: singular value 0)
        sq = np.einsum("dtir,dtir->dti", X, X)  # (D, T, rows)
        return sq @ members  # (D, T, n_groups)

    def _input_rows(self, lam, scale, coupled=True):
        """``(Lp, Lg)`` of :func:`_assemble_modes` for the input rows of the factor, LRU-cached per ``(lam, scale)``.

        The extra input modes ``x = m..n_in-1`` enter through the R factor of ``[Om_c[x], C[x]] = Q [R_om, R_c]``
        per draw (their rows themselves when they are no more than the columns): the sum of squares of the extra
        input rows of the factor is that of ``R_om K + e^{-lam t/2} R_c R^{-1}``.  ``coupled=False`` (no growing
        mode touches the extra rows at the times asked for): the R factor of ``C[x]`` alone (fewer rows).
        """
        key = ("inputs", float(lam), float(scale), bool(coupled))
        hit = _lru_get(self._cache, key)
        if hit is not None:
            return hit
        _, Om, _, _, C = self.state(lam, scale)
        n_in = self.task.n_in
        m = min(n_in, self.task.n_out)
        nc = Om.shape[2]
        Ox = Om[:, m:n_in]
        cols = np.flatnonzero(np.any(Ox != 0, axis=(0, 1)))  # compressed modes with a part on the extra rows
        if not coupled:
            cols = cols[:0]
        H = np.concatenate([Ox[:, :, cols], C[:, m:n_in]], axis=2)
        if H.shape[1] > H.shape[2]:
            H = np.linalg.qr(H, mode="r")
        R_om = np.zeros((H.shape[0], H.shape[1], nc))
        R_om[:, :, cols] = H[:, :, : cols.size]
        Lp = np.ascontiguousarray(np.concatenate([C[:, :m], C[:, n_in : n_in + m], H[:, :, cols.size :]], axis=1))
        Lg = np.concatenate([Om[:, :m], R_om], axis=1)
        return _lru_put(self._cache, key, (Lp, Lg), self._cache_size)

    def _eig_factors(self, lam, scale, times, tau, inputs_only=False):
        """The factor in mode coordinates (D, T, rows, r) by :func:`_assemble_modes`, or ``None`` if empty.

        One batched QR of ``[diag(sqrt g) Z; I]`` over all draws and times (LAPACK on scale-sorted rows, the
        graded QR where that is not accurate), then the assembly in mode coordinates.
        """
        from .exact import _FAST_LOG_MAX, _graded_qr_q, _row_scales

        d, Om, Z, fast_ok, C = self.state(lam, scale)
        D, nc, r = Z.shape
        s = np.asarray(times, dtype=float) / tau
        dmax = float(np.max(np.abs(d))) if d.size else 0.0
        if dmax > 0:
            s = np.where(np.isfinite(s), np.minimum(s, 1e250 / dmax), s)
        T = s.size
        if r == 0 or T == 0 or D == 0:
            return None
        N = nc + r
        A = np.concatenate([Z, np.broadcast_to(np.eye(r), (D, r, r))], axis=1)  # (D, N, r)
        ell, w = _row_scales(d, s)
        ell_all = np.concatenate([ell, np.zeros((T, r))], axis=1)  # (T, N)
        fast_t = np.isfinite(s) & (np.max(ell_all, axis=1) <= _FAST_LOG_MAX)
        from .exact import _GROW

        with np.errstate(over="ignore", invalid="ignore"):
            dt = d * s[:, None]
            cols = np.flatnonzero(np.any(np.where(np.isnan(dt), 0.0, dt) > _GROW, axis=0))  # growing at some time
        need = np.concatenate([cols, np.arange(nc, N)])  # the rows of Q the assembly uses
        Q = np.empty((D, T, need.size, r))
        fd, ft = np.flatnonzero(fast_ok), np.flatnonzero(fast_t)
        if fd.size and ft.size:
            ef = ell_all[ft]
            with np.errstate(under="ignore"):
                sc = np.where(ef > -_FAST_LOG_MAX, np.exp(np.minimum(ef, _FAST_LOG_MAX)), 0.0)
            # rows sorted by their norms, largest first (as exact._qr_rows_sorted): with a tiny start a growing row
            # can sit far below the identity rows, where the scales alone would misplace it.  One order for all
            # draws (their row norms differ by O(1) factors, not by the orders of magnitude that matter here)
            Af = A if fd.size == D else A[fd]
            with np.errstate(divide="ignore"):
                key = ef + np.log(np.mean(np.linalg.norm(Af, axis=2), axis=0))  # (Tf, N)
            order = np.argsort(-key, axis=1, kind="stable")  # (Tf, N)
            inv = np.argsort(order, axis=1)
            tix = np.arange(ft.size)[:, None]
            As = Af[:, order]  # (Df, Tf, N, r), sorted rows (one gather over two axes)
            As *= sc[tix, order][None, :, :, None]
            step = max(1, _BATCH_ELEMENTS // (As.shape[1] * N * r))
            if step >= fd.size:  # one batch (the common case): no copy into a preallocated array
                Qs = np.linalg.qr(As, mode="reduced")[0]
            else:
                Qs = np.empty_like(As)
                for i in range(0, fd.size, step):
                    Qs[i : i + step] = np.linalg.qr(As[i : i + step], mode="reduced")[0]
            Qs = Qs[:, tix, inv[:, need]]  # the rows the assembly uses, in their original order
            if fd.size == D and ft.size == T:
                Q = Qs
            else:
                Q[np.ix_(fd, ft)] = Qs
        slow = ~(fast_ok[:, None] & fast_t[None, :])
        if np.any(slow):
            di, ti = np.nonzero(slow)
            step = max(1, _BATCH_ELEMENTS // (N * r))
            for i in range(0, di.size, step):
                a, b = di[i : i + step], ti[i : i + step]
                Q[a, b] = _graded_qr_q(ell_all[b], A[a])[:, need]
        d_full, _ = self._spectrum(float(lam))
        extra = None
        if inputs_only:
            m = min(self.task.n_in, self.task.n_out)
            extra = self._input_rows(lam, scale, coupled=bool(np.any(Om[:, m : self.task.n_in][:, :, cols] != 0)))
        return _assemble_modes(d_full, self._pairs(float(lam)), d, Om, C, s, Q, w, self.task.n_in, cols, extra)

    def _coefs(self):
        """LRU cache of the pairs' eigenvector coefficients per ``lam`` (created on first use)."""
        from collections import OrderedDict

        return self.__dict__.setdefault("_coef_cache", OrderedDict())

    def _pairs(self, lam):
        """``(sv, rho, p_v, p_u, m_v, m_u)``: the task's singular values and their pairs' eigenvector coefficients."""
        from .exact import _pair_eigenvectors

        key = ("pairs", lam)
        hit = _lru_get(self._coefs(), key)
        if hit is None:
            hit = _lru_put(self._coefs(), key, (self.s,) + tuple(_pair_eigenvectors(self.s, lam / 2.0)), self._cache_size)
        return hit

    # -- split path: one large tied group of input-null modes, solved in its eigenbasis ----------------
    def _split_state(self, lam, scale):
        """State of the split path, or None when it does not apply.

        Applies for ``lam < 0`` when the tied eigenvalue ``-lam/2`` of ``F`` (the input null space, pure
        input directions) has more members ``c`` than the other eigenvalues (``n - c``) and ``r > n - c``
        (wide networks).  Then ``M = I + Z^T G Z`` is ``W diag(1 + g_g sigma^2) W^T`` (the group and the
        identity rows, with ``Z_g = Y diag(sigma) W^T``) plus the ``n - c`` other rows, and the problem
        reduces to an ``(n - c)``-row exact step (Woodbury, in factored form) per draw and time.
        """
        if lam >= 0:
            return None
        task = self.task
        n_null = task.n_in - int(np.sum(self.s[: min(task.n_in, task.n_out)] > 0))  # size of the -lam/2 group
        n_other = task.n_in + task.n_out - n_null
        if not (n_null > n_other and self.n_hidden > n_other) or self.representation == "prediction":
            return None
        key = ("split", float(lam), float(scale))
        hit = _lru_get(self._cache, key)
        if hit is not None:
            return hit if hit != "none" else None
        n_in = task.n_in
        d, Om = self._spectrum(float(lam))
        near = np.flatnonzero(np.abs(d + lam / 2.0) <= 1e-12 * np.max(np.abs(d)))
        if near.size == 0:
            return None
        dg = d[near[0]]  # exactly tied after spectrum's merge
        gidx = np.flatnonzero(d == dg)
        oidx = np.flatnonzero(d != dg)
        C = self._thin_modes(float(lam), float(scale))
        r = C.shape[2]
        gmodes = np.flatnonzero(np.any(np.abs(Om[:, gidx]) > 1e-12, axis=1))
        pure = gmodes.size == gidx.size and np.all(gmodes < n_in)
        out = "none"
        if pure and gidx.size > oidx.size and r > oidx.size and oidx.size > 0:
            Z = np.swapaxes(Om, 0, 1) @ C  # (D, n, r)
            # the LAPACK (sorted-row) QR runs on the reduced problem, whose growing rows come from the other
            # rows: check those (the group is diagonalised exactly by its SVD)
            if np.all(self._fast_ok(d[oidx], Z[:, oidx])):
                Zg, Zo = Z[:, gidx], Z[:, oidx]
                m = min(n_in, task.n_out)
                Cs = np.concatenate([C[:, :m], C[:, n_in:]], axis=1) if self.representation == "ntk" else None
                comp = self._structured_tie(Zg, Zo, lam, gidx, Om, Cs=Cs)
                B = sigma = None  # the uncompressed form: only if the full path is needed (_split_full_form)
                if comp is None:
                    sigma, W = _right_singular(Zg)  # Z_g = Y diag(sigma) W^T, sigma (D, r) zero-padded
                    B = Zo @ W  # (D, n_o, r) = Z_o W
                    comp = _compress_tied_columns(B, sigma, W=None if Cs is None else W, Cs=Cs)
                outs = None
                if comp is not None and Cs is not None:
                    comp, outs = comp[:2], comp[2]
                # last: C (mode coordinates), lam, scale and the compressed form's output data, for the output
                # rows of ntk (_split_outputs, _split_outputs_compressed)
                out = (dg, d[oidx], Om[:, oidx], B, sigma, gmodes, comp, (Zg, Zo), (C, float(lam), float(scale), outs))
        _lru_put(self._cache, key, out, self._cache_size)
        return out if out != "none" else None

    def _structured_tie(self, Zg, Zo, lam, gidx, Om, Cs=None):
        """The compressed columns of the split path from a 17-dimensional eigenproblem, or ``None``.

        For ``n_hidden = n_in`` the group rows are ``Z_g = P diag(d1)`` with ``P = O_g^T V0`` (orthonormal rows,
        independent of ``lam``) and ``d1 = (s1 (m entries), sqrt(-lam) (the rest))``, so ``Z_g^T Z_g = -lam``
        on the ``lam``-free subspace ``{x: x_{<m} = 0, N^T x = 0}`` (``N`` the null space of ``P``).  Its
        complement ``Y`` (``m + rank(N_{>=m})`` columns) is computed once per engine; per ``lam`` only
        ``Z_g Y`` is decomposed (an SVD of c x 17 instead of an eigen-decomposition of r x r), and the tied
        columns ``Z_o W_T`` are compressed to the R factor of ``(I - Y Y^T) Z_o^T``.  Returns
        ``(Bc, sigc)`` as :func:`_compress_tied_columns`, after checking on the actual ``Z_g`` that ``Y`` is
        invariant and the complement's eigenvalues are all equal (to 1e-13); ``None`` when it does not apply.
        With ``Cs`` also the output data of :func:`_compress_tied_columns` (``Wc = [Y V_s, Q_x]``, the run's
        left-out part ``Cs (I - Y Y^T - Q_x Q_x^T)``).
        """
        D, c, r = Zg.shape
        n_o = Zo.shape[1]
        n_in = self.task.n_in
        m = min(n_in, self.n_hidden, self.task.n_out)
        if r != n_in or c >= r or D == 0:
            return None
        key = ("tieY", tuple(gidx.tolist()))
        Y = _lru_get(self._cache, key)
        if Y is None:
            Vm = self._base_draws()[0]  # (D, n_in, n_in): V^T V0 (k1 = n_in columns: r = n_hidden = n_in here)
            P = np.swapaxes(Om[:n_in, gidx], 0, 1)[None] @ Vm  # (D, c, n_in)
            N = np.linalg.qr(np.swapaxes(P, 1, 2), mode="complete")[0][:, :, c:]  # (D, n_in, n_in - c)
            Nb = np.linalg.qr(N[:, m:], mode="reduced")[0]  # orthonormal basis of N's rows >= m
            Y = np.zeros((D, r, m + Nb.shape[2]))
            Y[:, np.arange(m), np.arange(m)] = 1.0
            Y[:, m:, m:] = Nb
            Y = _lru_put(self._cache, key, Y, self._cache_size)
        p = Y.shape[2]
        n_t = r - p
        if n_t <= n_o:
            return None
        G = np.swapaxes(Zg, 1, 2) @ Zg  # (D, r, r)
        GY = G @ Y
        S = np.swapaxes(Y, 1, 2) @ GY  # (D, p, p)
        gnorm = np.linalg.norm(G, axis=(1, 2))
        if not np.all(np.linalg.norm(GY - Y @ S, axis=(1, 2)) <= 1e-13 * gnorm):
            return None
        s1 = np.trace(G, axis1=1, axis2=2) - np.trace(S, axis1=1, axis2=2)  # sum of the complement's eigenvalues
        s2 = gnorm**2 - np.linalg.norm(S, axis=(1, 2)) ** 2  # sum of their squares (Y invariant)
        mu = s1 / n_t
        if not (np.all(mu > 0) and np.all(np.abs(s2 / n_t - mu**2) <= 1e-13 * gnorm**2 / n_t)):
            return None
        _, sv, Vt = np.linalg.svd(Zg @ Y, full_matrices=False)  # (D, min(c, p)), (D, p, p)
        sig = np.zeros((D, p))
        sig[:, : sv.shape[1]] = sv
        n_zero = r - c  # Z_g has c rows: its null space (in Y) has exactly zero singular values
        if n_zero and not np.all(sig[:, p - n_zero :] <= 1e-10 * sig[:, :1]):
            return None
        if n_zero:
            sig[:, p - n_zero :] = 0.0
        B_s = Zo @ (Y @ np.swapaxes(Vt, 1, 2))  # (D, n_o, p)
        X = np.swapaxes(Zo, 1, 2)  # (D, r, n_o)
        X = X - Y @ (np.swapaxes(Y, 1, 2) @ X)
        X = X - Y @ (np.swapaxes(Y, 1, 2) @ X)  # twice: orthogonal to Y to rounding
        if Cs is None:
            R_t = np.linalg.qr(X, mode="r")  # (D, n_o, n_o)
        else:
            Qx, R_t = np.linalg.qr(X, mode="reduced")  # R_t^T = Z_o Q_x (Q_x orthogonal to Y)
        Bc = np.concatenate([B_s, np.swapaxes(R_t, 1, 2)], axis=2)
        sigc = np.concatenate([sig, np.repeat(np.sqrt(mu)[:, None], n_o, axis=1)], axis=1)
        if Cs is None:
            return Bc, sigc
        CsY, CsQ = Cs @ Y, Cs @ Qx
        E = Cs - CsY @ np.swapaxes(Y, 1, 2) - CsQ @ np.swapaxes(Qx, 1, 2)
        return Bc, sigc, (np.concatenate([CsY @ np.swapaxes(Vt, 1, 2), CsQ], axis=2), [(_gram_rows(E), mu)])

    @staticmethod
    def _all_fast(d_o, s):
        from .exact import _FAST_LOG_MAX, _row_scales

        s = np.asarray(s, dtype=float)
        if not np.all(np.isfinite(s)):
            return False
        ell, _ = _row_scales(np.asarray(d_o, dtype=float), s)
        return bool(np.all(ell <= _FAST_LOG_MAX))

    def _split_factors(self, split, s):
        """:meth:`_split_factors_full` on the compressed columns, with the group's trace from the balance.

        Columns of ``B`` whose ``sigma`` are tied (75 of the 92 of the wide network on the 92-image task:
        ``Z_g Z_g^T = -lam I + a rank-11 term``) share their row scale in ``(B D^-1/2)^T`` at every time, so
        they are replaced by the ``n_o`` rows of their R factor (:func:`_compress_tied_columns`): the same
        ``L L^T = B D^-1 B^T``.  The group's trace of ``W1^T W1`` then follows from the conserved balance
        ``W2^T W2 - W1 W1^T = lam I_r`` (``r = n_hidden``, ``lam < 0``): ``tr(W1^T W1) = ||K2||^2 - lam r``,
        minus the other input rows.  Returns ``None`` (use :meth:`_split_factors_full`) when there are no
        tied columns to compress or that difference loses more than three digits.

        Returns ``(K1 (D, T, len(in_rows), k), in_rows, K2 (D, T, n_out, k), group trace (D, T))``.
        """
        from .exact import _GROW, _row_scales

        dg, d_o, Om_o, _, _, gmodes, comp, (Zg, _) = split[:8]
        if comp is None:
            return None
        Bc, sigc = comp
        D, n_o, rc = Bc.shape
        r = Zg.shape[2]
        n_in = self.task.n_in
        s = np.asarray(s, dtype=float)
        ell_g, _ = _row_scales(np.array([dg]), s)  # (T, 1)
        gg = np.exp(2 * ell_g[:, 0])  # g_g(t); finite on this path (ell <= 300)
        Dv = 1.0 + gg[None, :, None] * sigc[:, None, :] ** 2  # (D, T, rc)
        Ft = np.swapaxes(Bc, 1, 2)[:, None] / np.sqrt(Dv)[..., None]  # (D, T, rc, n_o), rc >= n_o
        outputs = split[8][3] is not None  # ntk: W2 W2^T to its own accuracy (_split_outputs_compressed)
        if outputs:
            Qf, Rf = np.linalg.qr(Ft, mode="reduced")
            L = np.ascontiguousarray(np.swapaxes(Rf, -1, -2))
        else:
            L = np.ascontiguousarray(np.swapaxes(np.linalg.qr(Ft, mode="r"), -1, -2))  # (D, T, n_o, k): L L^T = B D^-1 B^T
        Q = _sorted_qr_q(L, d_o, s)
        Q_id = Q[:, :, n_o:]
        with np.errstate(over="ignore", invalid="ignore"):
            dt = d_o * s[:, None]
            grow = dt > _GROW
            e = np.exp(np.where(grow, 0.0, dt))
        w = _row_scales(d_o, s)[1]
        K = e[None, :, :, None] * (L @ Q_id)
        if np.any(grow):
            ti, ii = np.nonzero(grow)
            K[:, ti, ii] = Q[:, ti, ii] / np.sqrt(w[ti, ii])[None, :, None]
        rows_in, rows_out = self._split_rows(Om_o, gmodes)
        K1 = _to_modes(np.broadcast_to(Om_o[rows_in], (D,) + Om_o[rows_in].shape), K)
        if outputs:
            K2 = self._split_outputs_compressed(split, s, Q, Qf, Dv, gg)
        else:
            K2 = _to_modes(np.broadcast_to(Om_o[n_in:], (D,) + Om_o[n_in:].shape), K)
        out2 = np.einsum("dtor,dtor->dt", K2, K2)
        ng = ~np.isin(rows_in, gmodes)
        in_ng = np.einsum("dtir,dtir->dt", K1[:, :, ng], K1[:, :, ng])
        lam_r = 2.0 * dg * r  # -lam r (dg = -lam / 2 > 0 on this path)
        gtrace = out2 + lam_r - in_ng
        if not np.all(gtrace > 1e-3 * (out2 + lam_r + in_ng)):  # cancellation: the full path instead
            return None
        return K1, rows_in, K2, gtrace

    def _split_outputs(self, split, s):
        """Output rows (D, T, n_out, k + r) of a factor of ``QQ^T`` on the split path, accurate relative to ``W2 W2^T``.

        ``M^{-1} = W D^{-1/2} (I + F_t G_o F_t^T)^{-1} D^{-1/2} W^T`` (``Z_g = Y diag(sigma) W^T``, ``D = I + g_g
        diag(sigma^2)``, ``F_t = (Z_o W D^{-1/2})^T = [Q_f, Q_perp] [R_f; 0]``) is ``S S^T`` with
        ``S = W D^{-1/2} [Q_f R_1^{-1}, Q_perp]``, ``R_1`` the R factor of the reduced exact step (``L = R_f^T``),
        ``R_1^{-1}`` the identity rows of its Q.  In mode coordinates the factor is then :func:`_assemble_modes`
        with ``C`` and ``S`` in place of ``R^{-1}`` (the growing rows of the reduced problem have no ``Q_perp``
        part).  The reduced factor ``Om_o L`` alone loses ``W2`` below the rounding of ``W1`` twice: the pairs'
        ``+-rho`` members cancel in the output rows, and ``C``'s output rows are in the span of ``Q_f`` only to
        the absolute rounding of ``Z_o`` (the ``Q_perp`` columns, zero in exact arithmetic, carry that part).
        Only the rows of ``C S`` the output rows use are formed, and ``Y Q_perp`` is replaced by
        ``Y (I - Q_f Q_f^T)`` (the same Gram; no complete QR): ``r + k`` columns.
        """
        from .exact import _row_scales

        dg, d_o, _, _, _, _, _, (Zg, Zo), (C, lam, scale, _) = split
        key = ("splitW", lam, scale)
        W = _lru_get(self._cache, key)
        if W is None:
            sigma, W = _right_singular(Zg)
            W = _lru_put(self._cache, key, (sigma, W), self._cache_size)
        sigma, W = W
        B = Zo @ W
        D, n_o, r = B.shape
        s = np.asarray(s, dtype=float)
        n_in = self.task.n_in
        m = min(n_in, self.task.n_out)
        ell_g, _ = _row_scales(np.array([dg]), s)
        Dv = 1.0 + np.exp(2 * ell_g[:, 0])[None, :, None] * sigma[:, None, :] ** 2  # (D, T, r)
        Ft = np.swapaxes(B, 1, 2)[:, None] / np.sqrt(Dv)[..., None]  # (D, T, r, n_o)
        Qf, Rf = np.linalg.qr(Ft, mode="reduced")  # (D, T, r, k), (D, T, k, n_o)
        L = np.ascontiguousarray(np.swapaxes(Rf, -1, -2))  # (D, T, n_o, k)
        Q = _sorted_qr_q(L, d_o, s)  # (D, T, n_o + k, k)
        # rows of C used by the output rows (the pairs' inputs, all outputs) times W D^{-1/2}: Y (D, T, c, r)
        CW = np.concatenate([C[:, :m], C[:, n_in:]], axis=1) @ W
        Y = CW[:, None] / np.sqrt(Dv)[:, :, None, :]
        YQ = Y @ Qf  # (D, T, c, k)
        Yp = Y - YQ @ np.swapaxes(Qf, -1, -2)  # Y Q_perp Q_perp^T: the same Gram as Y Q_perp
        return self._split_assemble(split, s, Q, np.concatenate([YQ @ Q[:, :, n_o:], Yp], axis=3))

    def _split_assemble(self, split, s, Q, P):
        """Output rows from ``P`` (D, T, c, cols) (``C R^{-1}`` on the pairs' input rows and the output rows, the
        first ``k`` columns those of the reduced step) and the reduced step's ``Q`` (D, T, n_o + k, k)."""
        from .exact import _GROW, _row_scales

        d_o, Om_o = split[1:3]
        lam = split[8][1]
        D, T, _, k = Q.shape
        with np.errstate(over="ignore", invalid="ignore"):
            dt = d_o * s[:, None]
            cols = np.flatnonzero(np.any(np.where(np.isnan(dt), 0.0, dt) > _GROW, axis=0))
        Qg = np.zeros((D, T, cols.size, P.shape[3]))
        Qg[..., :k] = Q[:, :, cols]
        w = _row_scales(d_o, s)[1]
        d_full, _ = self._spectrum(lam)
        Om_b = np.broadcast_to(Om_o, (D,) + Om_o.shape)
        return _assemble_modes(d_full, self._pairs(lam), d_o, Om_b, None, s, Qg, w, self.task.n_in, cols, P=P)

    def _split_outputs_compressed(self, split, s, Q, Qf, Dv, gg):
        """:meth:`_split_outputs` on the compressed columns (``Bc = Z_o Wc``), with the run directions they leave
        out added back: ``M^{-1} = Wc Dc^{-1/2} [Q_f R_1^{-1}, Q_perp][...]^T Dc^{-1/2} Wc^T + sum over runs of
        (P_run - Wc_run Wc_run^T) / (1 + g_g sigma_run^2)`` (Woodbury on ``M = M_0 + Z_o^T G_o Z_o``; ``Z_o``
        annihilates the left-out directions).  ``Q`` (D, T, n_o + k, k) and ``Qf`` (D, T, rc, k) from the
        compressed reduced step, ``Dv`` (D, T, rc), ``gg`` (T,) = ``g_g(t)``."""
        CsWc, runs = split[8][3]
        n_o = split[1].size
        Yc = CsWc[:, None] / np.sqrt(Dv)[:, :, None, :]  # (D, T, c, rc)
        YQ = Yc @ Qf
        parts = [YQ @ Q[:, :, n_o:], Yc - YQ @ np.swapaxes(Qf, -1, -2)]
        for E, s2 in runs:
            parts.append(E[:, None] / np.sqrt(1.0 + gg[None, :, None, None] * np.asarray(s2)[:, None, None, None]))
        return self._split_assemble(split, s, Q, np.concatenate(parts, axis=3))

    def _split_rows(self, Om_o, gmodes):
        """Input modes with a nonzero row in ``Om_o`` (the others hold exact zeros) and all output modes."""
        n_in = self.task.n_in
        rows_in = np.flatnonzero(np.any(Om_o[:n_in] != 0, axis=1))
        return rows_in, np.arange(n_in, Om_o.shape[0])

    def _split_factors_full(self, split, s):
        """Mode-coordinate factors of the non-group rows (D, T, n, k) and the group's trace of ``QQ^T`` (D, T)."""
        from .exact import _FAST_LOG_MAX, _GROW, _row_scales

        dg, d_o, Om_o, B, sigma, gmodes, _, (Zg, Zo) = split[:8]
        if B is None:
            sigma, W = _right_singular(Zg)
            B = Zo @ W
        D, n_o, r = B.shape
        s = np.asarray(s, dtype=float)
        T = s.size
        k = min(r, n_o)
        ell_g, w_g = _row_scales(np.array([dg]), s)  # (T, 1)
        gg = np.exp(2 * ell_g[:, 0])  # g_g(t); finite on this path (ell <= 300)
        Dv = 1.0 + gg[None, :, None] * sigma[:, None, :] ** 2  # (D, T, r)
        Ft = np.swapaxes(B, 1, 2)[:, None] / np.sqrt(Dv)[..., None]  # (D, T, r, n_o) = (B D^-1/2)^T
        Qf, Rf = np.linalg.qr(Ft, mode="reduced")  # Ft = Qf Rf, Qf (r, k)
        L = np.swapaxes(Rf, -1, -2)  # (D, T, n_o, k): L L^T = B D^-1 B^T
        ell, w = _row_scales(d_o, s)  # (T, n_o)
        ell_all = np.concatenate([ell, np.zeros((T, k))], axis=1)
        with np.errstate(under="ignore"):
            sc = np.where(ell_all > -_FAST_LOG_MAX, np.exp(np.minimum(ell_all, _FAST_LOG_MAX)), 0.0)
        A = np.concatenate([L, np.broadcast_to(np.eye(k), (D, T, k, k))], axis=2) * sc[None, :, :, None]
        order = np.argsort(-ell_all, axis=1, kind="stable")
        inv = np.argsort(order, axis=1)
        Qs = np.linalg.qr(np.take_along_axis(A, order[None, :, :, None], axis=2), mode="reduced")[0]
        Q = np.take_along_axis(Qs, inv[None, :, :, None], axis=2)  # (D, T, n_o + k, k)
        Q_id = Q[:, :, n_o:]
        with np.errstate(over="ignore", invalid="ignore"):
            dt = d_o * s[:, None]
            grow = dt > _GROW
            e = np.exp(np.where(grow, 0.0, dt))
        K_small = e[None, :, :, None] * (L @ Q_id)
        with np.errstate(divide="ignore", invalid="ignore"):
            K_grow = Q[:, :, :n_o] / np.sqrt(np.where(grow, w, 1.0))[None, :, :, None]
        K = np.where(grow[None, :, :, None], K_grow, K_small)
        # group trace: e^{2 dg t} [ ||S Qperp||^2 + ||S Qf Q_id||^2 ],  S^2 = sigma^2 / (1 + g_g sigma^2)
        if dg * 1.0 > 0:
            big = (dg * s) > _GROW
            e2 = np.where(big, 0.0, np.exp(2 * dg * np.where(big, 0.0, s)))
            sig2 = sigma[:, None, :] ** 2
            e2S = np.where(big[None, :, None], sig2 / (np.exp(-2 * dg * s)[None, :, None] + w_g[None, :, :] * sig2),
                           e2[None, :, None] * sig2 / Dv)
        else:
            e2S = np.exp(2 * dg * s)[None, :, None] * sigma[:, None, :] ** 2 / Dv
        # ||S Qperp||^2 with Qperp Qperp^T = I - Qf Qf^T (each row's share; absolute error <= eps S_i^2)
        t1 = np.einsum("dtr,dtr->dt", e2S, np.maximum(1.0 - np.einsum("dtrj,dtrj->dtr", Qf, Qf), 0.0))
        t2 = np.einsum("dtr,dtrj->dt", e2S, (Qf @ Q_id) ** 2)
        return Om_o[None, None] @ K, t1 + t2, gmodes

    def _diagonals(self, lam, scale, times, tau):
        """Mode-diagonal means over the draws, symmetrised, LRU-cached.

        Returns ``(w_in (T, n_in), w_out (T, n_out))``: for ``hidden``/``ntk`` the diagonals of
        ``V^T E[W1^T W1] V`` and ``U^T E[W2 W2^T] U``; for ``prediction`` ``w_in`` is that of
        ``V^T E[(W2 W1)^T W2 W1] V``; for ``output`` ``w_out`` is that of ``U^T E[pinv(W2 W2^T)] U``.
        """
        times = np.asarray(times, dtype=float)
        key = (float(lam), float(scale), float(tau), times.tobytes())
        hit = _lru_get(self._results, key, self.stats, "result")
        if hit is not None:
            return hit
        n_in = self.task.n_in
        rep = self.representation
        split = self._split_state(lam, scale) if rep != "prediction" else None
        extra = 0.0
        rows_in = slice(None)
        fast = split is not None and self._all_fast(split[0], times / tau)
        res = self._split_factors(split, times / tau) if fast else None
        if res is not None:
            K1, rows_in, K2, gtrace = res  # ntk: K2 from _split_outputs_compressed
            gmodes = split[5]
        elif fast:
            K, gtrace, gmodes = self._split_factors_full(split, times / tau)
            K1, K2 = K[:, :, :n_in], K[:, :, n_in:]
            if rep == "ntk":  # W2 W2^T to its own accuracy
                K2 = self._split_outputs(split, times / tau)
        elif rep == "hidden":  # only the group sums of the input rows are needed
            sums = self._hidden_group_sums(lam, scale, times, tau)  # (D, T, n_groups)
            D = self.n_draws
            w_in = np.zeros((D, times.size, n_in)) if sums is None else sums[:, :, self.in_groups] / self._group_sizes
            w_in = self._estimate(w_in, "in", lam, scale, times / tau)  # already averaged within the groups
            w_in.setflags(write=False)
            out = (w_in, None)
            _lru_put(self._results, key, out, self._result_cache_size)
            return out
        else:
            K = self.mode_factors(lam, scale, times, tau)  # (D, T, n, r)
            K1, K2 = K[:, :, :n_in], K[:, :, n_in:]
        D = self.n_draws
        if fast:
            extra = np.zeros((D, times.size, n_in))
            extra[:, :, gmodes] = (gtrace / gmodes.size)[:, :, None]
        w_in = w_out = None
        if rep in ("hidden", "ntk"):  # per draw (D, T, modes); the estimator over the draws below
            w_in = np.zeros((D, times.size, n_in))
            w_in[:, :, rows_in] = np.einsum("dtir,dtir->dti", K1, K1)
            w_in += extra
            if rep == "ntk":
                w_out = np.einsum("dtor,dtor->dto", K2, K2)
        elif rep == "prediction":  # diag of (K2 K1^T)^T (K2 K1^T) = rows of K1 (K2^T K2) K1^T
            G = np.swapaxes(K2, -1, -2) @ K2
            w_in = np.einsum("dtir,dtir->dti", K1 @ G, K1)
        else:  # output: diag of pinv(K2 K2^T) with pinv's relative eigenvalue cut-off
            u, sv, _ = np.linalg.svd(K2, full_matrices=False)
            ev = sv**2
            top = np.max(ev, axis=-1, keepdims=True)
            keep = (ev > self.rcond * top) & (top > 0)
            inv = np.where(keep, 1.0 / np.where(keep, ev, 1.0), 0.0)
            w_out = np.einsum("dtok,dtk->dto", u**2, inv)
        out = (None if w_in is None else self._estimate(self._mean_in(w_in), "in", lam, scale, times / tau),
               None if w_out is None else self._estimate(self._mean_out(w_out), "out", lam, scale, times / tau))
        for a in out:
            if a is not None:
                a.setflags(write=False)
        _lru_put(self._results, key, out, self._result_cache_size)
        return out

    # -- the Monte Carlo estimator over the draws ------------------------------------
    def _estimate(self, w, side, lam, scale, s):
        """The expected mode weights (T, n) from every draw's exact ones ``w`` (D, T, n), averaged within groups.

        ``mc="plain"`` / ``"antithetic"``: the mean over the draws.  ``mc="cv"`` (the default): the mean of
        ``w - c`` over the draws (antithetic pairs), where ``c`` (:meth:`_controls`) is each draw's solution of
        the same representation *without the task* (``Syx = 0``, closed form per draw) minus its isotropic part,
        corrected by a regression on controls of zero mean:

            ``mean_d(w - c) - sum_j beta_j(t) mean_d(g_j)``,  ``g = (c, s^2 c_in, s^2 c_out)``.

        Every control has expectation exactly zero: without the task, gradient flow is equivariant under all
        rotations of the input and output spaces, and the start law is invariant under them, so the expected
        signal-free Gram is isotropic and equals the mean of its own trace per mode.  So the estimator is
        unbiased for any fixed ``beta``; ``beta`` is fitted per time (least squares over the antithetic pairs and
        the modes, mode-centred), which leaves an ``O(1 / n_draws^2)`` bias.  What it removes: the start's
        draw-to-draw noise (``c``, exactly, at every time), the first-order coupling
        ``W1^T W2^T Syx + transpose`` and every odd order in ``W2`` (the antithetic pairs, exactly), and the
        second-order noise ``s_i^2 (W1^T W1 + U^T W2 W2^T U)_ii`` (the regression).
        """
        D = w.shape[0]
        if self.mc != "cv" or D < 2:
            return w.mean(axis=0)
        c, g_in, g_out = self._controls(lam, scale, s, side)
        r = w - c
        ctrls = [c, g_in, g_out]
        units = [_pair_units(x) for x in [w, r] + ctrls]
        n_u = units[0].shape[0]
        # mode-centred deviations from the unit means: the uniform part of w is not a control's business
        dev = [u - u.mean(axis=0) for u in units]
        dev = [x - x.mean(axis=2, keepdims=True) for x in dev]
        cands = [w.mean(axis=0), r.mean(axis=0)]
        if n_u < len(ctrls) + 3:
            return cands[1]
        # per-mode weights (1 / the mode's spread of w - c over the units): every mode counts in the fit and in
        # the choice below relative to its own noise, not only the largest ones
        spread = np.einsum("utn,utn->tn", dev[1], dev[1])
        omega = 1.0 / np.maximum(spread, 1e-300 + 1e-12 * np.max(spread, axis=1, keepdims=True))  # (T, n)
        Gd = np.stack(dev[2:], axis=-1)  # (U, T, n, k)
        beta = _weighted_beta(dev[1], Gd, omega)
        cands.append(cands[1] - sum(beta[:, j : j + 1] * x.mean(axis=0) for j, x in enumerate(ctrls)))
        # leave-one-pair-out prediction error of each candidate (mean of w, of w - c, regression), per time; the
        # smallest wins.  The regression's fit is pooled over the modes: where the controls do not explain the
        # noise (mid and late times of narrow networks: which modes a draw learns first) it is not used
        f = n_u / (n_u - 1.0)  # a unit's deviation from the rest's mean, for data centred over all units
        press = np.stack([np.einsum("tn,utn->t", omega, (f * dev[0]) ** 2),
                          np.einsum("tn,utn->t", omega, (f * dev[1]) ** 2),
                          _loo_press(dev[1], Gd, omega)])
        # weights ~ press^-4 instead of the argmin: close to picking the best candidate, but continuous in time
        # and lam, so the expected geometry stays a smooth function for the fits' continuous refinement (an argmin
        # switches candidate at crossings: jumps of ~1e-6 in the score that moved refined optima)
        rel = press / np.maximum(np.min(press, axis=0, keepdims=True), 1e-300)
        wts = 1.0 / np.clip(rel, 1.0, 1e60) ** 4
        wts /= wts.sum(axis=0, keepdims=True)  # (3, T)
        return np.einsum("ct,ctn->tn", wts, np.stack(cands))

    def _controls(self, lam, scale, s, side):
        """Per draw (D, T, n) controls of zero expectation on ``side`` (``"in"``: n_in modes, ``"out"``: n_out).

        ``c``: the draw's mode-diagonal of this representation under gradient flow *without the task*
        (``Syx = 0``), minus its mean over the modes (the isotropic part), averaged within the task's groups.
        Without the task each hidden unit's product strength ``a_k`` of the balanced start
        ``W1 = R D1 V0^T``, ``W2 = U0 D2 R^T`` evolves alone (``da/dt = -2 a sqrt(a^2 + lam^2/4)``, the
        ``s = 0`` case of :func:`rsa_lineardyn.engines.mode_strengths`):
        ``a(t) = b / sinh(asinh(b / a0) + 2 b t)``, ``b = |lam| / 2`` (``a0 / (1 + 2 a0 t)`` at ``lam = 0``),
        split between the layers as at the start (:func:`rsa_lineardyn.balanced_factors`); so
        ``V^T W1^T W1 V = Vm diag(d1^2) Vm^T`` with ``Vm = V^T V0`` and so on, in closed form per draw.
        ``g_in``, ``g_out``: ``s_i^2`` times the input-side ``W1^T W1`` and output-side ``W2 W2^T`` controls on
        the paired modes ``i < min(n_in, n_out)`` (0 elsewhere), mapped to ``side``.
        """
        key = ("controls", float(lam), float(scale), self.representation, side, np.asarray(s).tobytes())
        hit = _lru_get(self._cache, key)
        if hit is not None:
            return hit
        Vm, Um, A, _ = self._base_draws()
        n_in, n_out, h = self.task.n_in, self.task.n_out, self.n_hidden
        m = min(n_in, h, n_out)
        k1, k2 = min(h, n_in), min(h, n_out)
        D = A.shape[0]
        s = np.asarray(s, dtype=float)
        a0 = A[:, None, :m] * scale**2  # (D, 1, m)
        b = abs(lam) / 2.0
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            if b > 0:
                x = np.arcsinh(b / a0) + 2.0 * b * np.where(np.isfinite(s), s, np.inf)[None, :, None]
                at = np.where(np.isfinite(x), b / np.sinh(np.minimum(x, 800.0)), 0.0)
            else:
                at = np.where(a0 > 0, 1.0 / (1.0 / a0 + 2.0 * s[None, :, None]), 0.0)
            at = np.nan_to_num(at, nan=0.0, posinf=0.0)
        T = s.size
        s1, s2 = balanced_factors(at, lam)  # (D, T, m)
        d1 = np.zeros((D, T, k1))
        d2 = np.zeros((D, T, k2))
        d1[..., :m], d2[..., :m] = s1**2, s2**2
        if lam > 0:
            d2[..., m:] = lam
        elif lam < 0:
            d1[..., m:] = -lam
        P_in, P_out = Vm[:, :, :k1] ** 2, Um[:, :, :k2] ** 2  # (D, n_in, k1), (D, n_out, k2)

        def iso_free(c, means):
            return means(c - c.mean(axis=2, keepdims=True))

        cin = iso_free(d1 @ np.swapaxes(P_in, 1, 2), self._mean_in)  # V^T W1^T W1 V
        cout = iso_free(d2 @ np.swapaxes(P_out, 1, 2), self._mean_out)  # U^T W2 W2^T U
        rep = self.representation
        if side == "in":
            if rep == "prediction":  # (W2 W1)^T W2 W1 = V0 diag(a^2) V0^T
                c = iso_free(at**2 @ np.swapaxes(Vm[:, :, :m] ** 2, 1, 2), self._mean_in)
            else:
                c = cin
            n = n_in
        else:
            if rep == "output":  # pinv(W2 W2^T) with the relative cut-off
                top = np.max(d2, axis=2, keepdims=True)
                keep = (d2 > self.rcond * top) & (top > 0)
                c = iso_free(np.where(keep, 1.0 / np.where(keep, d2, 1.0), 0.0) @ np.swapaxes(P_out, 1, 2),
                             self._mean_out)
            else:
                c = cout
            n = n_out
        p = min(n_in, n_out)
        s2w = np.zeros(n)
        s2w[:p] = self.s[:p] ** 2
        g_in, g_out = np.zeros((D, T, n)), np.zeros((D, T, n))
        g_in[..., :p] = s2w[:p] * cin[..., :p]
        g_out[..., :p] = s2w[:p] * cout[..., :p]
        return _lru_put(self._cache, key, (c, g_in, g_out), self._cache_size)

    def rank_one(self, lam, scale, times, tau):
        """Weights (T, J) and basis (J, P) with the expected ``Gram_t = B^T diag(w_t) B``."""
        w_in, w_out = self._diagonals(lam, scale, times, tau)
        if self.representation == "output":
            return w_out, self.Yu
        return w_in, self.Z_items

    def ntk_parts(self, lam, scale, times, tau):
        """Expected NTK blocks: ``A`` (T, P, P) = X^T E[W1^T W1] X, ``B`` (T, n_out, n_out) = E[W2 W2^T]."""
        w_in, w_out = self._diagonals(lam, scale, times, tau)
        Zi = self.Z_items
        A = (Zi.T[None] * w_in[:, None, :]) @ Zi
        B = (self.U[None] * w_out[:, None, :]) @ self.U.T
        return A, B

    def full_gram(self, lam, scale, times, tau):
        """Expected Gram over all conditions, shape (T, N, N) (reference; predictions use the rank-one form)."""
        if self.representation == "ntk":
            from .representations import _ntk_dense

            A, B = self.ntk_parts(lam, scale, times, tau)
            return _ntk_dense(A, B, self.task.X.T @ self.task.X)
        w, Bm = self.rank_one(lam, scale, times, tau)
        return (Bm.T[None] * w[:, None, :]) @ Bm
