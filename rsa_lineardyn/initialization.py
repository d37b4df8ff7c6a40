"""Lambda-balanced initial weights, random or task-aligned, and a balance meter.

A pair ``(W1, W2)`` is lambda-balanced when ``W2^T W2 - W1 W1^T = lam I``.
Writing ``W1 = R D1 V^T`` and ``W2 = U D2 R^T`` with diagonal ``D1, D2``, the
condition is ``s2_k^2 - s1_k^2 = lam`` for every hidden unit ``k`` (with
``s1_k = 0`` for ``k >= n_in`` and ``s2_k = 0`` for ``k >= n_out``), and the
network function ``W2 W1`` has singular values ``a_k = s1_k s2_k``.  Hence the
feasibility rules: ``lam > 0`` needs ``n_hidden <= n_out``, ``lam < 0`` needs
``n_hidden <= n_in``; ``lam = 0`` allows any width.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import (
    InputTypeError,
    InputValueError,
    check_matrix,
    check_positive_int,
    check_real,
    check_rng,
)
from .task import Task

__all__ = ["balanced_init", "task_aligned_init", "measure_balance", "Balance", "check_feasible", "balanced_factors"]


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


def _random_orthogonal(n, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))


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
        ``n_hidden <= n_in``.
    scale : float, default 0.1
        Standard deviation of the Gaussian weights whose product is matched;
        ``0`` gives the smallest weights with this balance.
    seed : None, int or numpy.random.Generator

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
    lam = check_real(lam, "lam")
    scale = check_real(scale, "scale", minimum=0)
    check_feasible(n_in, n_hidden, n_out, lam)
    rng = check_rng(seed)
    G1 = rng.standard_normal((n_hidden, n_in)) * scale
    G2 = rng.standard_normal((n_out, n_hidden)) * scale
    U, a, Vt = np.linalg.svd(G2 @ G1, full_matrices=True)
    R = _random_orthogonal(n_hidden, rng)
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
    scale : float, default 0.1
        Each aligned mode starts with ``W2 W1`` singular value ``scale**2``.

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
    lam = check_real(lam, "lam")
    scale = check_real(scale, "scale", minimum=0)
    n_in, n_out = task.n_in, task.n_out
    check_feasible(n_in, n_hidden, n_out, lam)
    U, _, Vt = task.svd()
    m = min(n_in, n_hidden, n_out)
    a = np.full(m, scale**2)
    return _assemble(U, Vt.T, np.eye(n_hidden), a, lam, n_in, n_hidden, n_out)


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
    error of about ``eps * (n_in + n_out) * m`` with
    ``m = (trace(W2^T W2) + trace(W1 W1^T)) / n_hidden`` (``eps`` the machine
    epsilon).  ``Balance.lam`` is the estimate rounded to the decimal quantum
    ``q = 10**ceil(log10(8 eps (n_in + n_out) m))`` (above that error): a
    change of at most ``q / 2``, below what the weights can tell.  Weights
    built with a decimal ``lam`` coarser than ``q`` (0, 0.5, 20, ...) thus give
    back exactly that value, and descriptors built from it can be selected by
    value (``rdms.subset("lam", [0.0])``).

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
    A = W2.T @ W2
    B = W1 @ W1.T
    D = A - B
    n_hidden = D.shape[0]
    lam = float(np.trace(D) / n_hidden)
    dev = float(np.linalg.norm(D - lam * np.eye(n_hidden)))
    denom = float(np.linalg.norm(A) + np.linalg.norm(B))
    rel = dev / denom if denom > 0 else 0.0
    return Balance(lam=_snap_lam(lam, (np.trace(A) + np.trace(B)) / n_hidden, W1.shape[1] + W2.shape[0]),
                   deviation=dev, relative_deviation=rel)


def _snap_lam(lam, magnitude, n):
    """``lam`` rounded to the decimal quantum above its rounding error (see :func:`measure_balance`)."""
    err = 8.0 * np.finfo(float).eps * n * float(magnitude)
    if not (np.isfinite(lam) and np.isfinite(err)) or err <= 0:
        return lam
    decimals = -int(np.ceil(np.log10(err)))
    with np.errstate(over="ignore", invalid="ignore"):
        snapped = float(np.round(lam, decimals))
    if not np.isfinite(snapped) or abs(snapped - lam) > err:  # 10**decimals beyond the float range
        return lam
    return snapped + 0.0  # + 0.0: no negative zero
