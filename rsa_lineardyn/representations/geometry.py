"""Representations of a trajectory over learning, and Gram-to-RDM conversions.

Every function takes a :class:`~rsa_lineardyn.Trajectory` (exact or
simulated) and returns one array per time point, computed from the blocks of
``QQ^T`` only (``W1^T W1``, ``W2 W2^T``, ``W2 W1``), so the hidden-unit basis,
which the exact theory leaves undetermined, never enters.

=====================  =====================================================
representation         Gram matrix over the P items (per time)
=====================  =====================================================
``"hidden"``           ``RSM_I = X^T W1^T W1 X``                  (P, P)
``"output"``           ``RSM_O = Y^T (W2 W2^T)^+ Y``              (P, P)
``"ntk"``              ``I_No (x) RSM_I + W2 W2^T (x) X^T X``     (No P, No P)
``"prediction"``       ``(W2 W1 X)^T (W2 W1 X)``                  (P, P)
=====================  =====================================================

The NTK is indexed ``(output o, item i) -> o * P + i`` (output-major), which
is the order of ``J J^T`` for the Jacobian ``J`` of the stacked network
outputs ``f[o * P + i] = (W2 W1 x_i)_o`` with respect to all weights.

Memory.  The full NTK trajectory is ``T (n_out P)^2`` doubles (for the
92-image task, ``n_out P = 1012``: 8.2 MB per time point, 8.2 GB for 1000).
:func:`ntk_series` keeps only its Kronecker parts (``T (P^2 + n_out^2)``
doubles) and gives one time point at a time, or blocks of time points within
a budget; :func:`ntk`, :func:`representation_gram` and :func:`trajectory_rdms`
refuse to return an NTK-sized array larger than ``max_memory`` (default
:data:`MAX_MEMORY`, 2 GiB) with an error that states the size and the fix, and
:func:`trajectory_rdms` fills its result block by block, so its peak memory is
the result plus one block (at most ``WORK_MEMORY`` or one time point) rather
than several times the result.

Distances from a Gram matrix ``K`` (:func:`gram_to_rdm`):

* ``"euclidean"``: squared Euclidean ``d_ij = K_ii + K_jj - 2 K_ij``, clipped
  at 0 (rounding can make it slightly negative);
* ``"cosine"``: ``d_ij = 1 - K_ij / sqrt(K_ii K_jj)``, clipped to ``[0, 2]``.
  An item whose squared norm ``K_ii`` is at most ``zero_tol`` times the
  largest squared norm at that time (e.g. every item at ``t = 0`` from a
  zero initialisation, or items in the null space of a bottleneck) has no
  direction; its cosine similarity to every other item is *defined* as 0,
  so its distance to every other item is 1 (also between two such items),
  never NaN.  The diagonal is always 0.
* ``"correlation"``: Pearson correlation distance between the items' *unit
  activity patterns*.  It needs the activity of each hidden unit, which the
  exact theory does not define (only ``W1^T W1`` is fixed, not the hidden
  basis), so it is available only for simulated trajectories (real weights)
  and for the ``"prediction"`` representation (outputs are named features).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import (
    InputTypeError,
    InputValueError,
    check_fraction,
    check_not_complex,
    check_option,
    check_real,
)
from ..dynamics.trajectory import Trajectory

__all__ = [
    "REPRESENTATIONS",
    "MEASURES",
    "hidden_rsm",
    "output_rsm",
    "ntk",
    "ntk_series",
    "NTKSeries",
    "MAX_MEMORY",
    "network_output",
    "prediction_rsm",
    "representation_gram",
    "gram_to_rdm",
    "trajectory_rdms",
    "condition_labels",
]

REPRESENTATIONS = ("hidden", "output", "ntk", "prediction")
MEASURES = ("euclidean", "cosine", "correlation")

#: Default relative cut-off of the pseudo-inverse in :func:`output_rsm`.
DEFAULT_RCOND = 1e-10
#: Default relative squared-norm threshold below which an item has "zero norm" for cosine.
DEFAULT_ZERO_TOL = 1e-12
#: Default budget (bytes) for one NTK-sized array returned by :func:`ntk`,
#: :func:`representation_gram` or :func:`trajectory_rdms` (``max_memory=None`` reads it at call time).
MAX_MEMORY = 2 * 2**30
#: Working memory (bytes) per block of time points in :func:`trajectory_rdms` (at least one time point).
WORK_MEMORY = 64 * 2**20


def _budget(max_memory):
    """``max_memory`` in bytes: ``None`` -> :data:`MAX_MEMORY`, ``np.inf`` -> no limit."""
    if max_memory is None:
        return float(MAX_MEMORY)
    if isinstance(max_memory, (bool, np.bool_)):
        raise InputTypeError(f"`max_memory` must be a number of bytes (or None, or np.inf), got {max_memory!r}.")
    return check_real(max_memory, "max_memory", minimum=0, strict_min=True, allow_inf=True)


def _fmt_bytes(n):
    """Bytes as a short human-readable string (binary units)."""
    if not np.isfinite(n):
        return "no limit"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def _check_size(shape, max_memory, what, fix):
    """Raise :class:`InputValueError` if a float64 array of ``shape`` exceeds the budget."""
    budget = _budget(max_memory)
    need = 8.0 * float(np.prod([float(d) for d in shape]))
    if need > budget:
        dims = " x ".join(str(int(d)) for d in shape)
        raise InputValueError(
            f"{what} would be one float64 array of {dims} = {_fmt_bytes(need)}, above the memory budget "
            f"`max_memory` = {_fmt_bytes(budget)}. {fix} Or raise the budget: max_memory=<bytes> in rl.ntk, "
            "rl.representation_gram or rl.trajectory_rdms (np.inf for no limit), or for every call (e.g. through "
            "rl.to_rdms) set rsa_lineardyn.representations.geometry.MAX_MEMORY = <bytes>."
        )
    return budget


def _check_rcond(rcond):
    return check_fraction(rcond, "rcond", why="eigenvalues of W2 W2^T at or below rcond times the largest are dropped "
                                              "from the pseudo-inverse")


def _check_zero_tol(zero_tol):
    return check_fraction(zero_tol, "zero_tol", why="items whose squared norm is at or below zero_tol times the "
                                                    "largest count as zero vectors for the cosine")


def _check_traj(traj):
    if not isinstance(traj, Trajectory):
        raise InputTypeError(
            f"`traj` must be an rl.Trajectory (from rl.exact_dynamics or rl.simulate), got {type(traj).__name__}."
        )
    return traj


def hidden_rsm(traj):
    """Hidden-layer similarity ``X^T W1^T W1(t) X`` of the P items at every time.

    Parameters
    ----------
    traj : Trajectory

    Returns
    -------
    ndarray, shape (T, P, P)

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2, 1]) * np.sqrt(3))
    >>> W1, W2 = rl.task_aligned_init(task, n_hidden=2, scale=0.1)
    >>> traj = rl.simulate(task, W1, W2, [0.0, 5.0], method="flow")
    >>> rl.hidden_rsm(traj).shape
    (2, 3, 3)
    """
    _check_traj(traj)
    X = traj.task.X
    K1 = traj.factors[:, : traj.n_in, :]  # (T, n_in, r); W1^T W1 = K1 K1^T
    H = np.swapaxes(K1, 1, 2) @ X  # (T, r, P), a hidden representation up to rotation
    return np.swapaxes(H, 1, 2) @ H


def _pinv_psd(M, rcond):
    """Pseudo-inverse of symmetric PSD matrices (..., n, n) with a relative eigenvalue cut-off."""
    evals, evecs = np.linalg.eigh(M)
    top = np.max(evals, axis=-1, keepdims=True)
    keep = evals > rcond * top
    keep &= top > 0
    inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
    return (evecs * inv[..., None, :]) @ np.swapaxes(evecs, -1, -2)


def output_rsm(traj, rcond=DEFAULT_RCOND):
    """Output-side similarity ``Y^T (W2 W2^T(t))^+ Y`` at every time.

    ``W2 W2^T`` is rank-deficient for a bottleneck (``n_hidden < n_out``) and
    nearly so early in learning, so the pseudo-inverse needs a cut-off:
    eigenvalues of ``W2 W2^T`` at or below ``rcond`` times the largest
    eigenvalue (at that time) are treated as exactly zero, i.e. the
    corresponding output directions are dropped rather than amplified by
    ``1 / eigenvalue``.  When ``W2 = 0`` the result is the zero matrix.

    Parameters
    ----------
    traj : Trajectory
    rcond : float, default 1e-10
        Relative eigenvalue cut-off, ``0 <= rcond < 1``.

    Returns
    -------
    ndarray, shape (T, P, P)

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2, 1]) * np.sqrt(3))
    >>> W1, W2 = rl.task_aligned_init(task, n_hidden=2, scale=0.1)
    >>> traj = rl.simulate(task, W1, W2, [0.0, 5.0], method="flow")
    >>> rl.output_rsm(traj).shape
    (2, 3, 3)
    """
    _check_traj(traj)
    rcond = _check_rcond(rcond)
    Y = traj.task.Y
    pinv = _pinv_psd(traj.w2w2t, rcond)
    return Y.T @ pinv @ Y


def ntk(traj, max_memory=None):
    """Neural tangent kernel ``I_No (x) X^T W1^T W1 X + W2 W2^T (x) X^T X`` at every time.

    Equals ``J J^T`` for the Jacobian ``J`` of the stacked outputs
    ``f[o * P + i] = (W2 W1 x_i)_o`` with respect to all weights
    ``(W1, W2)``.

    Parameters
    ----------
    traj : Trajectory
    max_memory : float or None, default None
        Budget in bytes for the returned array (``T (n_out P)^2`` doubles);
        ``None`` uses :data:`MAX_MEMORY` (2 GiB), ``np.inf`` means no limit.
        Beyond it the call raises :class:`~rsa_lineardyn.InputValueError`
        stating the size; :func:`ntk_series` gives the same matrices one
        time point (or one block of time points) at a time.

    Returns
    -------
    ndarray, shape (T, n_out * P, n_out * P)
        Row/column ``o * P + i`` is output ``o`` of item ``i``.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2]) @ np.eye(2, 3) * np.sqrt(3))
    >>> W1, W2 = rl.task_aligned_init(task, n_hidden=2, scale=0.1)
    >>> traj = rl.simulate(task, W1, W2, [0.0, 5.0], method="flow")
    >>> rl.ntk(traj).shape
    (2, 6, 6)
    """
    return ntk_series(traj).to_array(max_memory=max_memory)


def ntk_series(traj):
    """The NTK of a trajectory as a lazy sequence over time (no ``T (n_out P)^2`` array).

    Stores only the Kronecker parts ``A_t = X^T W1^T W1(t) X`` (T, P, P),
    ``B_t = W2 W2^T(t)`` (T, n_out, n_out) and ``C = X^T X`` (P, P) and forms
    ``NTK_t = I (x) A_t + B_t (x) C`` when asked.

    Parameters
    ----------
    traj : Trajectory

    Returns
    -------
    NTKSeries
        ``series[k]`` is the (n_out P, n_out P) NTK at ``traj.times[k]``;
        iterating gives one matrix per time; ``series.chunks(max_memory)``
        gives blocks of time points within a budget; ``series[a:b]`` is a
        series over a subset of times; ``series.to_array(max_memory)`` the
        full array (what :func:`ntk` returns).

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2]) @ np.eye(2, 3) * np.sqrt(3))
    >>> W1, W2 = rl.task_aligned_init(task, n_hidden=2, scale=0.1)
    >>> traj = rl.simulate(task, W1, W2, [0.0, 1.0, 5.0], method="flow")
    >>> series = rl.ntk_series(traj)
    >>> len(series), series.shape, series[-1].shape
    (3, (3, 6, 6), (6, 6))
    >>> rdm_last = rl.gram_to_rdm(series[-1], "cosine")  # one time point, never the whole trajectory
    """
    _check_traj(traj)
    X = traj.task.X
    return NTKSeries(hidden_rsm(traj), traj.w2w2t, X.T @ X, traj.times)


class NTKSeries(Sequence):
    """The NTK at every time of a trajectory, formed one time point (or block) at a time.

    Built by :func:`ntk_series`.  Holds ``T (P^2 + n_out^2) + P^2`` doubles;
    each NTK matrix is ``(n_out P)^2`` doubles and exists only while used.

    Attributes
    ----------
    A : ndarray (T, P, P)
        ``X^T W1^T W1 X`` (the hidden Gram).
    B : ndarray (T, n_out, n_out)
        ``W2 W2^T``.
    C : ndarray (P, P)
        ``X^T X``.
    times : ndarray (T,)
    shape : tuple
        ``(T, n_out P, n_out P)``, the shape of the full array.
    nbytes : int
        Size in bytes of the full array (what :meth:`to_array` would allocate).
    """

    def __init__(self, A, B, C, times):
        self.A = np.asarray(A, dtype=float)
        self.B = np.asarray(B, dtype=float)
        self.C = np.asarray(C, dtype=float)
        self.times = np.asarray(times, dtype=float)
        T, P = self.A.shape[0], self.A.shape[1]
        self.n_out = self.B.shape[1]
        self.P = P
        n = self.n_out * P
        self.shape = (T, n, n)
        self.nbytes = 8 * T * n * n

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return NTKSeries(self.A[index], self.B[index], self.C, self.times[index])
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise InputTypeError(
                f"An NTKSeries is indexed by an int (one time point) or a slice, got {type(index).__name__}."
            )
        T = len(self)
        k = int(index)
        if not -T <= k < T:
            raise IndexError(f"time index {k} out of range for an NTKSeries of {T} time points.")
        k %= T
        return _ntk_dense(self.A[k : k + 1], self.B[k : k + 1], self.C)[0]

    def __iter__(self):
        for k in range(len(self)):
            yield _ntk_dense(self.A[k : k + 1], self.B[k : k + 1], self.C)[0]

    def chunks(self, max_memory=None):
        """Blocks of consecutive time points, each at most ``max_memory`` bytes (at least one time point).

        Parameters
        ----------
        max_memory : float or None
            Bytes per block; ``None`` uses :data:`MAX_MEMORY`, ``np.inf`` gives one block.

        Yields
        ------
        (slice, ndarray (t, n_out P, n_out P))
            The time indices of the block and the NTK at those times.
        """
        budget = _budget(max_memory)
        per_time = max(1, self.nbytes // max(1, len(self)))
        step = int(max(1, min(len(self), budget // per_time))) if np.isfinite(budget) else max(1, len(self))
        for t0 in range(0, len(self), step):
            sl = slice(t0, min(len(self), t0 + step))
            yield sl, _ntk_dense(self.A[sl], self.B[sl], self.C)

    def to_array(self, max_memory=None):
        """The full ``(T, n_out P, n_out P)`` array, if it fits in ``max_memory`` bytes (see :func:`ntk`)."""
        _check_size(self.shape, max_memory, "The full NTK of this trajectory",
                    "Use rl.ntk_series(traj) to get one time point at a time (series[k], or `for K in series`) "
                    "or blocks of time points (series.chunks()), or ask for fewer time points.")
        return _ntk_dense(self.A, self.B, self.C)

    def __repr__(self):
        T, n, _ = self.shape
        return (f"NTKSeries({T} time points, {n} x {n} conditions = {self.n_out} outputs x {self.P} items; "
                f"full array {_fmt_bytes(self.nbytes)})")


def _ntk_dense(A, B, C):
    """The full NTK ``I (x) A_t + B_t (x) C``, shape (T, n_out * P, n_out * P).

    ``A`` (T, P, P) is the hidden Gram ``X^T W1^T W1 X``, ``B`` (T, n_out,
    n_out) is ``W2 W2^T`` and ``C`` (P, P) is ``X^T X``.  Costs
    ``T (n_out P)^2`` memory; predictions use :class:`_NTKPairs` instead.
    """
    T, P = A.shape[0], A.shape[1]
    n_out = B.shape[1]
    out = B[:, :, None, :, None] * C[None, None, :, None, :]  # (T, o, i, o', j)
    idx = np.arange(n_out)
    out[:, idx, :, idx, :] += A[None]  # diagonal output blocks (advanced indices first: (n_out, T, P, P))
    return out.reshape(T, n_out * P, n_out * P)


class _NTKPairs:
    """Entries of the NTK ``I (x) A + B (x) C`` at chosen condition pairs, without forming the NTK.

    Condition ``c`` is output ``o = c // P`` of item ``i = c % P`` (the
    output-major order of :func:`ntk`).  For conditions ``(o, i)`` and
    ``(o', j)`` the NTK entry is ``[o == o'] A_ij + B_oo' C_ij``, so the
    squared norm of a condition is ``A_ii + B_oo C_ii`` and every pair needs
    one entry of ``B`` (times a fixed entry of ``C``) plus, for pairs within
    one output, one entry of ``A``.  Per time this costs O(n_pairs) instead
    of the O((n_out P)^2) of the full matrix (built and then indexed).

    Parameters
    ----------
    cond : ndarray of int (n,)
        Conditions (may repeat), as indices ``o * P + i`` into the full NTK.
    P, n_out : int
    C : ndarray (P, P)
        ``X^T X``.
    ia, ib : ndarray of int (n_pairs,)
        Pairs of positions in ``cond`` (e.g. ``np.triu_indices(n, 1)``).
    """

    def __init__(self, cond, P, n_out, C, ia, ib):
        o, i = np.divmod(np.asarray(cond, dtype=np.intp), P)
        self.o, self.i = o, i
        self.n_out, self.P = n_out, P
        oa, ob, ia_, ib_ = o[ia], o[ib], i[ia], i[ib]
        self.b_idx = oa * n_out + ob  # flat index into B (n_out, n_out)
        self.c_pair = C[ia_, ib_]
        same = np.flatnonzero(oa == ob)
        self.same = same
        self.a_idx = ia_[same] * P + ib_[same]  # flat index into A (P, P)
        self.c_diag = C[i, i]

    def entries(self, A, B):
        """``(Gp (T, n_pairs), Gd (T, n))``: NTK entries at the pairs, and squared norms of the conditions."""
        T = A.shape[0]
        Af = A.reshape(T, self.P * self.P)
        Bf = B.reshape(T, self.n_out * self.n_out)
        Gp = np.take(Bf, self.b_idx, axis=1)
        Gp *= self.c_pair
        Gp[:, self.same] += np.take(Af, self.a_idx, axis=1)
        Gd = A[:, self.i, self.i] + B[:, self.o, self.o] * self.c_diag
        return Gp, Gd


def network_output(traj):
    """The network's outputs ``W2 W1(t) X`` for every item, shape (T, n_out, P).

    The training loss at each time is ``traj.loss``.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2, 1]) * np.sqrt(3))
    >>> W1, W2 = rl.task_aligned_init(task, n_hidden=3, scale=0.1)
    >>> traj = rl.simulate(task, W1, W2, [0.0, 50.0], method="flow")
    >>> np.allclose(rl.network_output(traj)[-1], task.Y)
    True
    """
    _check_traj(traj)
    return traj.w2w1 @ traj.task.X


def prediction_rsm(traj):
    """Similarity of the network's outputs, ``(W2 W1 X)^T (W2 W1 X)``, shape (T, P, P)."""
    out = network_output(traj)
    return np.swapaxes(out, 1, 2) @ out


def representation_gram(traj, representation="hidden", rcond=DEFAULT_RCOND, max_memory=None):
    """Gram matrix of a named representation at every time (see the module table).

    Parameters
    ----------
    traj : Trajectory
    representation : {"hidden", "output", "ntk", "prediction"}
    rcond : float
        Pseudo-inverse cut-off, ``0 <= rcond < 1``, used by ``"output"`` only
        (checked for every representation).
    max_memory : float or None
        ``"ntk"`` only: budget in bytes for the returned array, see :func:`ntk`
        (checked for every representation).

    Returns
    -------
    ndarray, shape (T, N, N)
        ``N = P``, or ``n_out * P`` for the NTK.
    """
    _check_traj(traj)
    check_option(representation, "representation", REPRESENTATIONS)
    rcond = _check_rcond(rcond)  # checked whatever the representation: a typo is an error even where unused
    _budget(max_memory)
    if representation == "hidden":
        return hidden_rsm(traj)
    if representation == "output":
        return output_rsm(traj, rcond=rcond)
    if representation == "ntk":
        return ntk(traj, max_memory=max_memory)
    return prediction_rsm(traj)


def gram_to_rdm(gram, measure="euclidean", zero_tol=DEFAULT_ZERO_TOL):
    """Dissimilarity matrices from Gram (similarity) matrices.

    Parameters
    ----------
    gram : array_like, shape (N, N) or (T, N, N)
        Symmetric positive semi-definite matrices (checked: asymmetry above ``1e-8`` and eigenvalues
        below ``-1e-8``, both relative to the largest, raise :class:`InputValueError`; rounding passes).
    measure : {"euclidean", "cosine"}
        ``"euclidean"`` gives the *squared* Euclidean distance
        ``K_ii + K_jj - 2 K_ij`` (clipped at 0); ``"cosine"`` gives
        ``1 - K_ij / sqrt(K_ii K_jj)`` (clipped to [0, 2]).  Correlation
        distance cannot be computed from a Gram matrix (it needs unit
        activities); see :func:`trajectory_rdms`.
    zero_tol : float, default 1e-12
        Cosine only (checked for both measures): an item with
        ``K_ii <= zero_tol * max_j K_jj`` has zero norm; its distance to every
        other item is defined as 1 (similarity 0) instead of NaN.  The
        diagonal is always 0.  ``0 <= zero_tol < 1``.

    Returns
    -------
    ndarray, same shape as ``gram``

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> K = np.array([[1., 1, 0], [1, 1, 0], [0, 0, 0]])
    >>> rl.gram_to_rdm(K, "euclidean")
    array([[0., 0., 1.],
           [0., 0., 1.],
           [1., 1., 0.]])
    >>> rl.gram_to_rdm(K, "cosine")
    array([[0., 0., 1.],
           [0., 0., 1.],
           [1., 1., 0.]])
    """
    if isinstance(measure, str) and measure == "correlation":
        raise InputValueError(
            "`measure` = 'correlation' cannot be computed from a Gram matrix: correlation distance "
            "centres each item's pattern across units, which needs the unit activities themselves. "
            "Use rl.trajectory_rdms(traj, measure='correlation') on a simulated trajectory, or "
            "measure='euclidean' / 'cosine'."
        )
    check_option(measure, "measure", ("euclidean", "cosine"))
    zero_tol = _check_zero_tol(zero_tol)
    G = _as_gram(gram)
    if not np.all(np.isfinite(G)):
        bad = int(G.size - np.count_nonzero(np.isfinite(G)))
        raise InputValueError(
            f"`gram` contains {bad} non-finite value(s) (NaN or inf); a Gram matrix of finite activities is "
            "finite. Recompute it (e.g. rl.hidden_rsm / rl.ntk of a finite trajectory) or drop those items."
        )
    top = float(np.max(np.abs(G)))
    # huge or tiny Gram entries: work on G / c (c a power of two, so exact); cosine does not depend on c
    c = 2.0 ** np.round(np.log2(top)) if (top > 1e150 or 0 < top < 1e-150) else 1.0
    G = G / c if c != 1.0 else G
    _check_gram_psd(G)
    diag = np.diagonal(G, axis1=-2, axis2=-1)
    if measure == "euclidean":
        D = diag[..., :, None] + diag[..., None, :] - 2.0 * G
        D = np.maximum(D, 0.0)
        if c != 1.0:
            with np.errstate(over="ignore", under="ignore"):
                D = D * c
            if not np.all(np.isfinite(D)):
                raise InputValueError(
                    f"`gram` has entries up to {top:.3g}: their squared Euclidean distances (up to 4x that) overflow "
                    "double precision. Divide `gram` by a constant first (distances scale with it), or use "
                    "measure='cosine', which does not depend on the scale."
                )
    else:
        D = _cosine_from_parts(G, diag, zero_tol)
    idx = np.arange(G.shape[-1])
    D[..., idx, idx] = 0.0
    return D


#: Relative tolerances of :func:`gram_to_rdm`'s checks: ``max |G - G^T| <= GRAM_SYM_RTOL * max |G|`` and smallest
#: eigenvalue ``>= -GRAM_PSD_RTOL * max |eigenvalue|`` (rounding of Gram matrices the package builds is ~1e-16).
GRAM_SYM_RTOL = 1e-8
GRAM_PSD_RTOL = 1e-8


def _check_gram_psd(G):
    """Refuse an asymmetric or indefinite ``G`` (N, N) or (T, N, N) (entries of order 1: rescaled by the caller).

    Distances from an indefinite "Gram" matrix are not distances of any activity patterns (squared Euclidean
    ones can come out negative and are clipped to 0 without a word), and an asymmetric one uses the upper
    triangle only by accident.  Rounding-level asymmetry and negative eigenvalues pass.
    """
    top = float(np.max(np.abs(G)))
    if top == 0:
        return
    asym = float(np.max(np.abs(G - np.swapaxes(G, -1, -2))))
    if asym > GRAM_SYM_RTOL * top:
        raise InputValueError(
            f"`gram` must be symmetric (K_ij = K_ji, as for K = A^T A); its largest asymmetry |K_ij - K_ji| is "
            f"{asym / top:.3g} relative to max |K| (allowed {GRAM_SYM_RTOL:g}). Pass (K + K.T) / 2 if the asymmetry "
            "is noise, or check that this is a Gram (similarity) matrix and not, e.g., a cross-validated estimate."
        )
    ev = np.linalg.eigvalsh((G + np.swapaxes(G, -1, -2)) / 2)
    lo = ev[..., 0]
    hi = np.max(np.abs(ev), axis=-1)
    bad = lo < -GRAM_PSD_RTOL * hi
    if np.any(bad):
        k = int(np.argmax(np.where(bad, -lo / np.where(hi > 0, hi, 1.0), -np.inf))) if G.ndim == 3 else None
        which = f" (matrix {k} of the stack)" if k is not None else ""
        lo_k, hi_k = (lo[k], hi[k]) if k is not None else (float(lo), float(hi))
        raise InputValueError(
            f"`gram` must be positive semi-definite (a Gram matrix K = A^T A has no negative eigenvalues); its "
            f"smallest eigenvalue is {-abs(lo_k) / hi_k:.3g} relative to the largest{which} (allowed "
            f"-{GRAM_PSD_RTOL:g}), so its 'distances' are not distances of any activity patterns. Pass a Gram matrix "
            "(e.g. rl.hidden_rsm(traj)); for a dissimilarity matrix use rl.rdms_from_matrices directly; to force "
            "it, clip its negative eigenvalues (V @ np.diag(np.maximum(w, 0)) @ V.T from np.linalg.eigh)."
        )


def _as_gram(gram):
    """``gram`` as a finite float array of shape (N, N) or (T, N, N) with N >= 1, or a clear error."""
    if gram is None or isinstance(gram, (str, bytes)):
        raise InputTypeError(f"`gram` must be an array of shape (N, N) or (T, N, N), got {gram!r}.")
    check_not_complex(gram, "gram")
    try:
        raw = np.asarray(gram)
        is_bool = raw.dtype == bool
        G = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise InputTypeError(
            "`gram` must be a numeric array of shape (N, N) or (T, N, N) (equal-length rows of numbers)."
        ) from None
    if is_bool:
        raise InputTypeError("`gram` holds booleans; it must hold the numbers of a Gram (similarity) matrix.")
    if G.ndim not in (2, 3) or G.shape[-1] != G.shape[-2]:
        raise InputValueError(f"`gram` must have shape (N, N) or (T, N, N), got {G.shape}.")
    if G.shape[-1] == 0 or G.size == 0:
        raise InputValueError(f"`gram` is empty (shape {G.shape}); it needs at least one item.")
    return G


def _cosine_from_parts(G, diag, zero_tol):
    """Cosine distance from Gram entries and squared norms, with the zero-norm rule."""
    top = np.max(diag, axis=-1, keepdims=True) if diag.shape[-1] else diag
    ok = (diag > zero_tol * top) & (diag > 0)
    safe = np.where(ok, diag, 1.0)
    inv = np.where(ok, 1.0 / np.sqrt(safe), 0.0)
    sim = G * inv[..., :, None] * inv[..., None, :]
    return np.clip(1.0 - sim, 0.0, 2.0)


def _correlation_rdm(A):
    """Correlation distance between the columns of activities A (..., units, P)."""
    C = A - A.mean(axis=-2, keepdims=True)
    G = np.swapaxes(C, -1, -2) @ C
    diag = np.diagonal(G, axis1=-2, axis2=-1)
    D = _cosine_from_parts(G, diag, DEFAULT_ZERO_TOL)
    idx = np.arange(G.shape[-1])
    D[..., idx, idx] = 0.0
    return D


def trajectory_rdms(traj, representation="hidden", measure="euclidean", rcond=DEFAULT_RCOND,
                    zero_tol=DEFAULT_ZERO_TOL, max_memory=None):
    """Dissimilarity matrices of a representation at every time of a trajectory.

    Parameters
    ----------
    traj : Trajectory
    representation : {"hidden", "output", "ntk", "prediction"}
    measure : {"euclidean", "cosine", "correlation"}
        See :func:`gram_to_rdm`.  ``"correlation"`` is the Pearson correlation
        distance between unit activity patterns.  It is only defined where the
        units are: for ``"hidden"`` of a *simulated* trajectory (real weights,
        activities ``W1 X``) and for ``"prediction"`` (outputs ``W2 W1 X``).
        The exact solution determines ``W1^T W1`` but not ``W1`` (any rotation
        of the hidden units gives the same dynamics), so the theory does not
        predict unit-wise statistics; asking for them raises an error.
    rcond, zero_tol : float
        Relative tolerances, each ``0 <= value < 1``; see :func:`output_rsm`
        and :func:`gram_to_rdm`.  Both are checked for every representation
        and measure, also where they are not used.
    max_memory : float or None
        ``"ntk"`` only: budget in bytes for the returned ``(T, n_out P, n_out
        P)`` array; ``None`` uses :data:`MAX_MEMORY` (2 GiB), ``np.inf`` means
        no limit.  Beyond it the call raises an error stating the size; for
        one time point at a time use ``rl.gram_to_rdm(series[k], measure)``
        with ``series = rl.ntk_series(traj)``.

    Returns
    -------
    ndarray, shape (T, N, N)
        Filled block by block over time: peak memory is this array plus one
        block of at most :data:`WORK_MEMORY` (or one time point).

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2, 1]) * np.sqrt(3))
    >>> W1, W2 = rl.task_aligned_init(task, n_hidden=2, scale=0.1)
    >>> traj = rl.simulate(task, W1, W2, [0.0, 5.0], method="flow")
    >>> rl.trajectory_rdms(traj, "hidden", "correlation").shape
    (2, 3, 3)
    """
    _check_traj(traj)
    check_option(representation, "representation", REPRESENTATIONS)
    check_option(measure, "measure", MEASURES)
    rcond = _check_rcond(rcond)
    zero_tol = _check_zero_tol(zero_tol)
    _budget(max_memory)
    if measure == "correlation":
        if representation == "prediction":
            return _correlation_rdm(network_output(traj))
        if representation != "hidden":
            raise InputValueError(
                f"`measure` = 'correlation' is not defined for representation {representation!r}: it needs "
                "unit activity patterns, which exist only for 'hidden' (of a simulated network) and "
                "'prediction'. Use measure='euclidean' or 'cosine'."
            )
        if traj.weights is None:
            raise InputValueError(
                "`measure` = 'correlation' is not defined for an exact trajectory: the exact solution fixes "
                "the hidden representation only up to a rotation of the hidden units (it determines "
                "W1^T W1, not W1), and correlation distance centres each item's pattern across units, so "
                "its value depends on that arbitrary rotation. Use a rotation-invariant measure "
                "('euclidean' or 'cosine'), or a simulated trajectory (rl.simulate) whose real weights "
                "define the units."
            )
        W1s = traj.weights[0]
        return _correlation_rdm(W1s @ traj.task.X)
    if representation == "ntk":
        series = ntk_series(traj)
        T, N = series.shape[0], series.shape[1]
        _check_size(series.shape, max_memory, f"trajectory_rdms(traj, 'ntk') ({T} time points x {N} conditions)",
                    "For one time point at a time use `rl.gram_to_rdm(series[k], measure)` with "
                    "`series = rl.ntk_series(traj)`, or ask for fewer time points.")
        out = np.empty(series.shape)
        # gram_to_rdm needs about five arrays of the block's size (Gram, result, temporaries)
        for sl, G in series.chunks(max_memory=max(WORK_MEMORY / 5.0, 1.0)):
            out[sl] = gram_to_rdm(G, measure, zero_tol=zero_tol)
        return out
    T = traj.times.size
    step = max(1, int(WORK_MEMORY // (5 * 8 * max(1, traj.task.P) ** 2)))
    if step >= T:
        return gram_to_rdm(representation_gram(traj, representation, rcond=rcond), measure, zero_tol=zero_tol)
    out = np.empty((T, traj.task.P, traj.task.P))
    for t0 in range(0, T, step):
        idx = np.arange(t0, min(T, t0 + step))
        out[idx] = gram_to_rdm(representation_gram(traj.subset(idx), representation, rcond=rcond), measure,
                               zero_tol=zero_tol)
    return out


def condition_labels(task, representation="hidden"):
    """Labels of the conditions (rows) of a representation: item labels, or ``"feature:item"`` for the NTK."""
    from ..dynamics.task import Task

    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")
    check_option(representation, "representation", REPRESENTATIONS)
    if representation == "ntk":
        return [f"{f}:{i}" for f in task.feature_names for i in task.labels]
    return list(task.labels)
