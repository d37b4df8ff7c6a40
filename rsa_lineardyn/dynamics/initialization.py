"""Lambda-balanced initial weights, random or task-aligned, and a balance meter.

A pair ``(W1, W2)`` is lambda-balanced when ``W2^T W2 - W1 W1^T = lam I``.
Writing ``W1 = R D1 V^T`` and ``W2 = U D2 R^T`` with diagonal ``D1, D2``, the
condition is ``s2_k^2 - s1_k^2 = lam`` for every hidden unit ``k`` (with
``s1_k = 0`` for ``k >= n_in`` and ``s2_k = 0`` for ``k >= n_out``), and the
network function ``W2 W1`` has singular values ``a_k = s1_k s2_k``.  Hence the
feasibility rules: ``lam > 0`` needs ``n_hidden <= n_out``, ``lam < 0`` needs
``n_hidden <= n_in``; ``lam = 0`` allows any width.

Memory: the hidden rotation enters only through its first
``max(min(n_hidden, n_in), min(n_hidden, n_out)) <= n_in + n_out`` columns,
so wide networks are built from ``n_hidden x r`` factors and never form an
``n_hidden x n_hidden`` matrix (:func:`balanced_init` at ``n_hidden = 50000``
needs megabytes, not 18.6 GiB); :func:`measure_balance` likewise works on
the ``n_hidden x (n_in + n_out)`` factor ``[W2^T, W1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import (
    InputTypeError,
    InputValueError,
    check_magnitude,
    check_matrix,
    check_memory,
    check_positive_int,
    check_rng,
)
from .task import Task

__all__ = ["balanced_init", "task_aligned_init", "measure_balance", "Balance", "check_feasible", "balanced_factors"]

#: Allowed nonzero range of ``scale`` (a weight magnitude): ``scale**4`` stays a normal float64.
SCALE_RANGE = (1e-75, 1e75)
#: Largest allowed ``|lam|`` (a squared weight magnitude): ``lam**2`` stays a finite float64.
MAX_ABS_LAM = 1e150
#: Elements per block of the Gaussian draws streamed while drawing a thin random rotation (1 MiB).
_DRAW_BLOCK = 1 << 17
#: Widest ``n_hidden`` whose hidden rotation still consumes the random numbers of a full
#: ``n_hidden x n_hidden`` Gaussian matrix (the draws of earlier versions, O(n_hidden^2) time).
#: Wider rotations draw only the ``n_hidden x r`` block they need (O(n_hidden r) time).
FULL_STREAM_MAX = 8192


def _check_scale(scale):
    """``scale`` as a float: 0, or within :data:`SCALE_RANGE`."""
    return check_magnitude(
        scale, "scale", min_abs=SCALE_RANGE[0], max_abs=SCALE_RANGE[1],
        why=("the weights are of order scale, W2 W1 of order scale**2 and the products of four weights in "
             "the learning dynamics (and in rl.measure_balance) of order scale**4, which must stay finite and "
             "normal in float64 (largest 1.8e308, smallest normal 2.2e-308)"),
        fix="Use a scale within this range (rescale the task's units if you need larger or smaller weights); "
            "scale=0 gives the smallest weights with this balance.",
    )


def _check_lam(lam):
    """``lam`` as a float with ``|lam| <= MAX_ABS_LAM``."""
    return check_magnitude(
        lam, "lam", max_abs=MAX_ABS_LAM, allow_negative=True,
        why=("lam is a squared weight (W2^T W2 - W1 W1^T = lam I), so the weights are of order sqrt(|lam|) and "
             "products of four weights of order lam**2, which must stay finite in float64 (largest 1.8e308)"),
        fix="Use a smaller |lam| (rescale the task's units if needed).",
    )


def check_feasible(n_in, n_hidden, n_out, lam):
    """Raise ``InputValueError`` if no lambda-balanced weights of this shape exist."""
    if lam > 0 and n_hidden > n_out:
        raise InputValueError(
            f"`lam` = {lam:g} > 0 needs n_hidden <= n_out, but n_hidden = {n_hidden} > n_out = {n_out}: "
            "W2^T W2 - W1 W1^T = lam I has rank n_hidden while W2^T W2 has rank <= n_out. "
            "Use lam <= 0, or n_hidden <= n_out."
        )
    if lam < 0 and n_hidden > n_in:
        raise InputValueError(
            f"`lam` = {lam:g} < 0 needs n_hidden <= n_in, but n_hidden = {n_hidden} > n_in = {n_in}: "
            "W1 W1^T - W2^T W2 = -lam I has rank n_hidden while W1 W1^T has rank <= n_in. "
            "Use lam >= 0, or n_hidden <= n_in."
        )


def balanced_factors(a, lam):
    """Per-mode weights ``(s1, s2)`` with ``s1 * s2 = a`` and ``s2**2 - s1**2 = lam``.

    Computed without cancellation: with ``r = hypot(lam, 2a)``, the larger of
    the two comes from an addition of like-signed numbers and the smaller from
    a division.
    """
    a = np.asarray(a, dtype=float)
    r = np.hypot(lam, 2.0 * a)
    if lam >= 0:
        s2 = np.sqrt((r + lam) / 2.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            s1 = np.where(s2 > 0, a / np.where(s2 > 0, s2, 1.0), 0.0)
    else:
        s1 = np.sqrt((r - lam) / 2.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            s2 = np.where(s1 > 0, a / np.where(s1 > 0, s1, 1.0), 0.0)
    return s1, s2


def _assemble(U, V, R, a, lam, n_in, n_hidden, n_out):
    """Build ``W1 = R D1 V^T`` and ``W2 = U D2 R^T`` from product singular values ``a``."""
    m = min(n_in, n_hidden, n_out)
    d1 = np.zeros(n_hidden)
    d2 = np.zeros(n_hidden)
    s1, s2 = balanced_factors(a[:m], lam)
    d1[:m], d2[:m] = s1, s2
    extra = np.arange(m, n_hidden)
    if extra.size:
        if lam > 0:  # units k >= n_in: only W2 carries them
            d2[extra] = np.sqrt(lam)
        elif lam < 0:  # units k >= n_out: only W1 carries them
            d1[extra] = np.sqrt(-lam)
    k1 = min(n_hidden, n_in)
    k2 = min(n_hidden, n_out)
    W1 = (R[:, :k1] * d1[:k1]) @ V[:, :k1].T
    W2 = (U[:, :k2] * d2[:k2]) @ R[:, :k2].T
    return W1, W2


def _random_orthogonal(n, rng, k=None):
    """The first ``k`` columns (default all ``n``) of a Haar-random orthogonal ``(n, n)`` matrix.

    ``k = n`` (the default): QR of ``rng.standard_normal((n, n))``, signs
    fixed so ``diag(R) > 0``.  ``k < n`` and ``n <=`` :data:`FULL_STREAM_MAX`:
    the same random numbers, streamed in blocks of :data:`_DRAW_BLOCK`
    elements of which only the first ``k`` columns are kept; the thin QR of
    that ``(n, k)`` block equals the first ``k`` columns of the full
    construction to rounding (so seeded draws are those of earlier versions),
    in ``O(n k)`` memory but ``O(n^2)`` time.  ``k < n`` and wider: the thin
    QR of a fresh ``(n, k)`` Gaussian block, ``O(n k)`` memory and time (the
    same Haar distribution; other numbers than the full construction, which
    needed ``8 n^2`` bytes and an ``O(n^3)`` QR).
    """
    k = n if k is None else min(int(k), n)
    if k == n:
        G = rng.standard_normal((n, n))
    elif n > FULL_STREAM_MAX:
        G = rng.standard_normal((n, k))
    else:
        G = np.empty((n, k))
        rows = max(1, _DRAW_BLOCK // n)
        buf = np.empty((rows, n))
        for i in range(0, n, rows):
            blk = buf[: min(rows, n - i)]
            rng.standard_normal(out=blk)
            G[i : i + blk.shape[0]] = blk[:, :k]
    q, r = np.linalg.qr(G)
    d = np.diag(r)
    return q * np.sign(np.where(d == 0, 1.0, d))


#: Memory budget (bytes) of the arrays one initialisation builds (the weights, the Gaussian draws and the SVD factors).
INIT_MEMORY = 8 * 2**30


def _check_init_memory(n_in, n_hidden, n_out, fix):
    """Refuse sizes whose weights and SVD factors do not fit in :data:`INIT_MEMORY` (numpy's raw MemoryError)."""
    check_memory(3 * n_hidden * (n_in + n_out) + n_in * n_in + n_out * n_out + n_in * n_out,
                 f"The weights W1 (n_hidden x n_in = {n_hidden:,} x {n_in:,}) and W2 (n_out x n_hidden = {n_out:,} x "
                 f"{n_hidden:,}) with their random draws and SVD factors", fix, budget=INIT_MEMORY)


def balanced_init(n_in, n_hidden, n_out, lam=0.0, scale=0.1, seed=None):
    """Random lambda-balanced initial weights.

    The network function ``W2 W1`` has the singular values and singular
    vectors of the product ``G2 G1`` of two Gaussian matrices with entries of
    standard deviation ``scale`` (what a standard random initialisation at
    that scale gives), the hidden units are rotated by a random orthogonal
    matrix, and the weights are split between the layers so that
    ``W2^T W2 - W1 W1^T = lam I`` holds to rounding error.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Layer sizes.
    lam : float, default 0
        Balance.  ``lam > 0`` needs ``n_hidden <= n_out``; ``lam < 0`` needs
        ``n_hidden <= n_in``; ``|lam| <= 1e150`` (a squared weight: products
        of four weights, of order ``lam**2``, must stay finite in float64).
    scale : float, default 0.1
        Standard deviation of the Gaussian weights whose product is matched;
        ``0`` gives the smallest weights with this balance.  Otherwise
        ``1e-75 <= scale <= 1e75``, so that ``scale**4`` (products of four
        weights) stays a normal float64.
    seed : None, int or numpy.random.Generator

    Notes
    -----
    Memory is ``O(n_hidden (n_in + n_out))``: only the first
    ``r = max(min(n_hidden, n_in), min(n_hidden, n_out))`` columns of the
    hidden rotation are formed (the other hidden directions carry no weight,
    and the rotation cancels from ``W2 W1``, ``W1^T W1`` and ``W2 W2^T``).
    Up to ``n_hidden = 8192`` the rotation uses the random numbers of a full
    ``n_hidden x n_hidden`` Gaussian matrix, so a seed gives the weights of
    earlier versions (to rounding), at ``O(n_hidden**2)`` time (under a
    second); wider, it draws only an ``n_hidden x r`` Gaussian block
    (``O(n_hidden r)`` time; same distribution, other numbers than earlier
    versions, which needed ``8 n_hidden**2`` bytes there).

    Returns
    -------
    W1 : ndarray (n_hidden, n_in)
    W2 : ndarray (n_out, n_hidden)

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> W1, W2 = rl.balanced_init(3, 2, 3, lam=1.0, scale=0.1, seed=0)
    >>> round(rl.measure_balance(W1, W2).lam, 12)
    1.0
    """
    n_in = check_positive_int(n_in, "n_in")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    n_out = check_positive_int(n_out, "n_out")
    lam = _check_lam(lam)
    scale = _check_scale(scale)
    check_feasible(n_in, n_hidden, n_out, lam)
    _check_init_memory(n_in, n_hidden, n_out, "Lower `n_hidden`, `n_in` or `n_out`.")
    rng = check_rng(seed)
    G1 = rng.standard_normal((n_hidden, n_in)) * scale
    G2 = rng.standard_normal((n_out, n_hidden)) * scale
    U, a, Vt = np.linalg.svd(G2 @ G1, full_matrices=True)
    R = _random_orthogonal(n_hidden, rng, max(min(n_hidden, n_in), min(n_hidden, n_out)))
    return _assemble(U, Vt.T, R, a, lam, n_in, n_hidden, n_out)


def task_aligned_init(task, n_hidden, lam=0.0, scale=0.1):
    """Deterministic lambda-balanced weights aligned with the task's modes.

    Hidden unit ``k`` connects input singular vector ``v_k`` to output
    singular vector ``u_k`` of ``sigma_yx`` (top modes first, so a bottleneck
    holds the strongest ones), with product strength ``scale**2`` on each of
    the first ``min(n_in, n_hidden, n_out)`` units.  No random draw enters,
    so trajectories from this start are a prediction of the theory alone.

    Parameters
    ----------
    task : Task
    n_hidden : int
    lam : float, default 0
        Balance, feasible as for :func:`balanced_init`; ``|lam| <= 1e150``.
    scale : float, default 0.1
        Each aligned mode starts with ``W2 W1`` singular value ``scale**2``;
        ``0``, or ``1e-75 <= scale <= 1e75`` (``scale**4`` must stay a normal
        float64).

    Returns
    -------
    W1 : ndarray (n_hidden, n_in)
    W2 : ndarray (n_out, n_hidden)

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(4) * 2, np.array([[2., 2, 0, 0], [0, 0, 2, 2]]))
    >>> W1, W2 = rl.task_aligned_init(task, n_hidden=1, lam=0.5, scale=0.1)
    >>> W1.shape, W2.shape
    ((1, 4), (2, 1))
    """
    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    lam = _check_lam(lam)
    scale = _check_scale(scale)
    n_in, n_out = task.n_in, task.n_out
    check_feasible(n_in, n_hidden, n_out, lam)
    _check_init_memory(n_in, n_hidden, n_out, "Lower `n_hidden`.")
    U, _, Vt = task.svd()
    m = min(n_in, n_hidden, n_out)
    a = np.full(m, scale**2)
    k = max(min(n_hidden, n_in), min(n_hidden, n_out))  # hidden unit j <-> mode j: the first k columns of I
    return _assemble(U, Vt.T, np.eye(n_hidden, k), a, lam, n_in, n_hidden, n_out)


@dataclass(frozen=True)
class Balance:
    """How lambda-balanced a pair of weights is.

    Attributes
    ----------
    lam : float
        The best-fitting balance, ``trace(W2^T W2 - W1 W1^T) / n_hidden``,
        rounded at the rounding level of that estimate (see
        :func:`measure_balance`), so that weights built with ``lam = 0`` give
        exactly ``0.0`` (not ``-1.7e-18``) and ``lam = 20`` exactly ``20.0``.
    deviation : float
        ``||W2^T W2 - W1 W1^T - lam I||_F``.
    relative_deviation : float
        ``deviation / (||W2^T W2||_F + ||W1 W1^T||_F)`` (0 when both are 0).
    """

    lam: float
    deviation: float
    relative_deviation: float

    @property
    def is_balanced(self):
        """True when ``relative_deviation <= 1e-8``."""
        return self.relative_deviation <= 1e-8


def measure_balance(W1, W2):
    """Measure how close ``(W1, W2)`` are to lambda-balanced.

    Parameters
    ----------
    W1 : array_like (n_hidden, n_in)
    W2 : array_like (n_out, n_hidden)

    Returns
    -------
    Balance

    Notes
    -----
    The estimate ``trace(W2^T W2 - W1 W1^T) / n_hidden`` carries a rounding
    error of about ``eps * m`` with ``m = (trace(W2^T W2) + trace(W1 W1^T)) /
    n_hidden`` (``eps`` the machine epsilon): the weights cannot tell ``lam``
    more precisely.  ``Balance.lam`` is the shortest decimal within
    ``4 eps m`` of the estimate (the estimate itself when none is): a change
    of at most a few rounding errors, so the exact solution built on it stays
    the solution for these weights, while weights built with a decimal ``lam``
    (0, 0.5, -0.25, 20, ...) give back exactly that value, and descriptors
    built from it can be selected by value (``rdms.subset("lam", [0.0])``).

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> rl.measure_balance(np.eye(2), 2 * np.eye(2)).lam
    3.0
    >>> W1, W2 = rl.balanced_init(3, 2, 3, lam=0.0, scale=0.1, seed=0)
    >>> rl.measure_balance(W1, W2).lam
    0.0
    """
    W1 = check_matrix(W1, "W1")
    W2 = check_matrix(W2, "W2")
    if W1.shape[0] != W2.shape[1]:
        raise InputValueError(
            f"`W1` has {W1.shape[0]} rows (hidden units) but `W2` has {W2.shape[1]} columns; "
            "W1 must be (n_hidden, n_in) and W2 (n_out, n_hidden)."
        )
    n_hidden, n_in = W1.shape
    n_out = W2.shape[0]
    top = max(float(np.max(np.abs(W1))), float(np.max(np.abs(W2))))
    if top == 0:
        return Balance(lam=0.0, deviation=0.0, relative_deviation=0.0)
    # Exact rescaling by a power of two, so the squares below neither overflow nor underflow.
    e = int(np.frexp(top)[1])
    w1 = np.ldexp(W1, -e)
    w2 = np.ldexp(W2, -e)
    lam = (np.sum(w2 * w2) - np.sum(w1 * w1)) / n_hidden  # trace(W2^T W2 - W1 W1^T) / n_hidden
    denom = float(np.linalg.norm(w2 @ w2.T) + np.linalg.norm(w1.T @ w1))  # = ||W2^T W2|| + ||W1 W1^T|| (scaled)
    r = n_in + n_out
    if r < n_hidden:
        # W2^T W2 - W1 W1^T = F S F^T with F = [W2^T, W1] = Q Rf (thin QR, Q of n_hidden x r) and
        # S = diag(I, -I), so D - lam I = Q (K - lam I_r) Q^T - lam (I - Q Q^T), K = Rf S Rf^T: two
        # orthogonal parts, hence ||D - lam I||_F^2 = ||K - lam I_r||_F^2 + lam^2 (n_hidden - r).
        Rf = np.linalg.qr(np.hstack([w2.T, w1]), mode="r")
        S = np.concatenate([np.ones(n_out), -np.ones(n_in)])
        K = (Rf * S) @ Rf.T
        dev = float(np.hypot(np.linalg.norm(K - lam * np.eye(r)), abs(lam) * np.sqrt(n_hidden - r)))
    else:
        D = w2.T @ w2 - w1 @ w1.T
        dev = float(np.linalg.norm(D - lam * np.eye(n_hidden)))
    rel = dev / denom if denom > 0 else 0.0
    with np.errstate(over="ignore"):
        lam_out = float(np.ldexp(lam, 2 * e))
        dev_out = float(np.ldexp(dev, 2 * e))
    if not (np.isfinite(lam_out) and np.isfinite(dev_out)):
        raise InputValueError(
            f"`W1` and `W2` have entries up to {top:.3g}, so W2^T W2 and W1 W1^T (entries up to about "
            f"{top:.3g}**2) overflow float64 and the balance cannot be stated. Rescale the weights (the "
            "relative deviation does not depend on their scale: measure_balance(W1 / c, W2 / c)); lam scales "
            "with c**2."
        )
    with np.errstate(over="ignore"):
        magnitude = float(np.ldexp((np.sum(w2 * w2) + np.sum(w1 * w1)) / n_hidden, 2 * e))
    return Balance(lam=_snap_lam(lam_out, magnitude, n_in + n_out), deviation=dev_out, relative_deviation=rel)


def _snap_lam(lam, magnitude, n=None):
    """The shortest decimal within ``4 eps magnitude`` of ``lam`` (see :func:`measure_balance`), else ``lam``."""
    tol = 4.0 * np.finfo(float).eps * float(magnitude)
    if not (np.isfinite(lam) and np.isfinite(tol)) or tol <= 0:
        return lam
    if abs(lam) <= tol:
        return 0.0
    snapped = lam
    top = int(np.floor(np.log10(abs(lam))))  # decimals: from the leading digit down to the tolerance
    with np.errstate(over="ignore", invalid="ignore"):
        for decimals in range(-top, -int(np.floor(np.log10(tol))) + 1):
            cand = float(np.round(lam, decimals))
            if np.isfinite(cand) and abs(cand - lam) <= tol:
                snapped = cand
                break
    return snapped + 0.0  # + 0.0: no negative zero
