"""Numerical prediction engines behind :class:`rsa_lineardyn.LinearNetworkModel`.

Each engine turns ``(lam, scale, times, tau)`` into the Gram matrices of one
representation (``"hidden"``, ``"output"``, ``"prediction"``, ``"ntk"``) of a
two-layer linear network on a whitened task.

* ``_AlignedEngine`` (``init="aligned"``): the task-aligned start, per-mode
  closed form (:func:`mode_strengths`); ``Gram_t = B^T diag(w_t) B``.
* ``_RandomStartEngine`` (``init="random"``, in
  :mod:`rsa_lineardyn.models.random_starts`): the expected geometry over random
  lambda-balanced starts, in the same rank-one form ``B^T diag(w_t) B`` over
  all input (or output) modes, with weights from the exact solution of
  seeded draws projected on the task's modes and symmetrised.
* ``_AverageEngine`` (``init="average"``): the plain mean of the full
  Gram matrices over the same draws (reference; P x P per draw).

The seeded draws of both random-start engines come from ``_base_draws`` in
:mod:`rsa_lineardyn.models.draws`.

All engines are pure numerical code: no rsatoolbox objects.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..dynamics.initialization import _assemble, balanced_factors
from .draws import _base_draws, _DrawEngine, _lru_get, _lru_put  # noqa: F401  (_base_draws: importable from here)

__all__ = ["mode_strengths"]


# ----------------------------------------------------------------------------
# closed-form per-mode dynamics
# ----------------------------------------------------------------------------
def mode_strengths(s, a0, lam, times, tau=1.0):
    """Closed-form strength ``a_k(t)`` of each task-aligned mode of a lambda-balanced network.

    Solves ``tau da/dt = sqrt(lam^2 + 4 a^2) (s - a)``, ``a(0) = a0 >= 0``,
    for every singular value ``s`` (whitened inputs, task-aligned start).
    With ``b = |lam| / 2``, ``g = sqrt(s^2 + b^2)`` and ``w = a + sqrt(a^2 + b^2)``:
    ``(w - (s + g)) / (w - (s - g)) = rho exp(-2 g t / tau)``, which is
    solved for ``w`` and mapped back with ``a = (w - b^2 / w) / 2``
    (``lam = 0`` reduces to the logistic ``s / (1 - (1 - s/a0) e^{-2 s t})``).
    The solution is evaluated as a ratio of sums of non-negative terms, so it
    keeps full relative precision over the whole accepted range (tiny ``a0``
    next to a large ``|lam|``, huge ``a0`` near ``t = 0``).

    Parameters
    ----------
    s : array_like (m,)
        Singular values of the task: finite, ``0 <= s <= 1e150`` (a task's
        statistics hold their squares); a scalar counts as one mode.
    a0 : float
        Initial strength, ``0 <= a0 <= 1e200`` (``scale**2`` for
        :func:`rsa_lineardyn.task_aligned_init`, whose scales lie in
        ``(1e-100, 1e100)``).  With ``lam = 0``, ``a0 = 0`` stays at the
        unstable fixed point 0 (with ``lam != 0`` the mode grows from 0).
    lam : float
        Balance ``W1 W1^T - W2^T W2 = lam I``; finite, ``|lam| < 1e100``.  Only
        ``|lam|`` enters the strength.
    times : array_like (T,)
        Non-negative (a scalar counts as one time); ``np.inf`` gives the
        fixed point ``a = s`` (``a = 0`` where ``a0 = lam = 0``).  NaN is
        refused.
    tau : float, default 1.0
        Time constant of learning (one over the learning rate): finite and
        ``> 0``.

    Returns
    -------
    ndarray, shape (T, m)

    Raises
    ------
    InputTypeError
        An argument is not real numbers (a string, None, a boolean, complex).
    InputValueError
        An argument is NaN, infinite (except ``times``), negative or out of
        the ranges above, or the result would not fit in memory.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> rl.mode_strengths([2.0, 1.0], 1e-4, 0.5, [0.0, np.inf]).round(6)
    array([[1.e-04, 1.e-04],
           [2.e+00, 1.e+00]])
    """
    from .._validation import (
        MAX_SQUARED,
        check_lam,
        check_magnitude,
        check_memory,
        check_nonneg_array,
        check_number,
        check_times,
    )

    s = check_nonneg_array(s, "s", max_abs=MAX_SQUARED,
                           why="a task's statistics hold the squares of its singular values", max_size=10**8)
    a0 = check_magnitude(a0, "a0", max_abs=1e200, why="a0 = scale**2 and usable init scales lie below 1e100",
                         fix="Rescale the task (divide Y by a constant) instead.")
    lam = check_lam(check_number(lam, "lam"), "lam")
    times = check_times(times, "times")
    tau = check_number(tau, "tau", minimum=0.0, strict_min=True)
    check_memory(8 * times.size * s.size, f"The working arrays of mode_strengths (about 8 of {times.size:,} times x "
                 f"{s.size:,} modes)",
                 "Pass fewer `times` or fewer singular values `s` per call.")
    s = s.reshape(1, -1)
    t = times.reshape(-1, 1) / tau
    b = abs(lam) / 2.0
    if a0 == 0.0 and b == 0.0:  # stuck at the unstable fixed point 0
        return np.zeros(np.broadcast_shapes(t.shape, s.shape))
    g = np.hypot(s, b)
    spg = s + g
    live = spg > 0
    # With m = g - s = b^2 / (s + g) >= 0, E = exp(-2 g t) and d0 = u0 - b, the solution for w is
    #   w - b = (2 b s (1 - E) + d0 (s + g - b + E (m + b))) / ((b + d0) (1 - E) + m + E (s + g)),
    # a ratio of sums of non-negative terms: no cancellation for any a0, lam or t (the direct form lost
    # a0 to rounding when a0 << |lam| and gave inf near t = 0 when a0 >> s).  Numerator and denominator are
    # divided by c = max(d0, 1) so that products of a large a0 with s or lam stay finite.
    m = (b * b) / np.where(live, spg, 1.0)
    d0 = a0 + a0 * (a0 / (np.hypot(a0, b) + b)) if a0 > 0 else 0.0  # w0 - b, without cancellation or overflow
    c = max(d0, 1.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        x = 2.0 * g * t
        E = np.exp(-x)
        F = -np.expm1(-x)  # 1 - E, accurate for small 2 g t
        spg_b = s + (s * s) / np.where(live, g + b, 1.0)  # s + g - b = s + s^2 / (g + b)
        wb = ((2.0 * b / c) * s * F + (d0 / c) * (spg_b + E * (m + b))) / (((b + d0) / c) * F + (m + E * spg) / c)
        w = b + wb
        a = wb * ((w + b) / (2.0 * w))  # (w - b^2 / w) / 2 = (w - b)(w + b) / (2 w)
        if not np.all(live):  # s = lam = 0: pure decay tau da/dt = -2 a^2, a = a0 / (1 + 2 a0 t) (overflow-free form)
            a = np.where(live, a, 1.0 / (1.0 / a0 + 2.0 * t))
    return np.maximum(a, 0.0)


class _AlignedEngine:
    """Per-mode closed form for the task-aligned start: Gram = sum_j w_j(t) b_j b_j^T."""

    def __init__(self, task, n_hidden, representation, rcond):
        self.task = task
        self.n_hidden = n_hidden
        self.representation = representation
        self.rcond = rcond
        U, s, Vt = task.svd()
        n_in, n_out = task.n_in, task.n_out
        self.m = min(n_in, n_hidden, n_out)
        self.k1 = min(n_hidden, n_in)
        self.k2 = min(n_hidden, n_out)
        svals = np.zeros(self.m)
        q = min(self.m, s.size)
        svals[:q] = s[:q]
        self.s = svals
        self.Z = Vt @ task.X  # (n_in, P): item coordinates along input modes
        self.Yu = U.T @ task.Y  # (n_out, P): item coordinates along output modes
        self.U = U

    def layer_weights(self, lam, scale, times, tau):
        """d1^2 (T, k1), d2^2 (T, k2), a (T, m)."""
        a = mode_strengths(self.s, scale**2, lam, times, tau)
        s1, s2 = balanced_factors(a, lam)
        T = a.shape[0]
        d1 = np.zeros((T, self.k1))
        d2 = np.zeros((T, self.k2))
        d1[:, : self.m] = s1**2
        d2[:, : self.m] = s2**2
        if lam > 0:
            d2[:, self.m :] = lam
        elif lam < 0:
            d1[:, self.m :] = -lam
        return d1, d2, a

    def basis(self):
        """The fixed rows ``B`` (J, P) of ``Gram_t = B^T diag(w_t) B``."""
        if self.representation == "output":
            return self.Yu[: self.k2]
        return self.Z[: self.m] if self.representation == "prediction" else self.Z[: self.k1]

    def rank_one(self, lam, scale, times, tau):
        """Weights (T, J) and basis (J, P) with Gram_t = B^T diag(w_t) B."""
        d1, d2, a = self.layer_weights(lam, scale, times, tau)
        if self.representation == "hidden":
            return d1, self.Z[: self.k1]
        if self.representation == "prediction":
            return a**2, self.Z[: self.m]
        # output: pseudo-inverse of W2 W2^T = U diag(d2, 0...) U^T with a relative cut-off
        top = np.max(d2, axis=1, keepdims=True)
        keep = (d2 > self.rcond * top) & (top > 0)
        w = np.where(keep, 1.0 / np.where(keep, d2, 1.0), 0.0)
        return w, self.Yu[: self.k2]

    def ntk_parts(self, lam, scale, times, tau):
        """Blocks of the NTK ``I (x) A + B (x) X^T X``: ``A`` (T, P, P) = X^T W1^T W1 X, ``B`` (T, n_out, n_out) = W2 W2^T."""
        d1, d2, _ = self.layer_weights(lam, scale, times, tau)
        Zk = self.Z[: self.k1]
        Uk = self.U[:, : self.k2]
        A = (Zk.T[None] * d1[:, None, :]) @ Zk
        B = (Uk[None] * d2[:, None, :]) @ Uk.T
        return A, B

    def full_gram(self, lam, scale, times, tau):
        """The full NTK over all conditions, shape (T, n_out P, n_out P) (reference; predictions use ``ntk_parts``)."""
        from ..representations.geometry import _ntk_dense

        A, B = self.ntk_parts(lam, scale, times, tau)
        return _ntk_dense(A, B, self.task.X.T @ self.task.X)


# ----------------------------------------------------------------------------
# the plain mean over seeded random starts (reference)
# ----------------------------------------------------------------------------
class _AverageEngine(_DrawEngine):
    """Mean Gram over seeded random lambda-balanced starts, each solved exactly; cached per (lam, scale).

    The ``n_draws`` draws are exactly those of ``n_draws`` successive calls
    ``rl.balanced_init(n_in, n_hidden, n_out, lam=lam, scale=scale, seed=rng)``
    with ``rng = np.random.default_rng(seed)`` (same random stream for every
    ``lam`` and ``scale``: common random numbers, so the fitter's objective is
    smooth in ``lam`` and ``scale``).

    How it is made fast (the result is the exact solution of every draw at
    the requested times -- no time grid, no interpolation):

    1. The random part of each draw (Gaussian product SVD and hidden rotation)
       does not depend on ``(lam, scale)``: it is computed once per engine at
       unit scale; a draw at ``(lam, scale)`` only rescales the singular values
       by ``scale**2`` and re-splits them between the layers.
    2. Per ``(lam, scale)`` (bounded LRU of ``cache_size`` entries) the engine
       keeps the spectrum ``F = O diag(d) O^T`` (once per ``lam``, not once per
       draw) and every draw's ``Z = O^T Q0``, with each group of exactly tied
       eigenvalues (``+-lam/2`` of multiplicity ``|n_in - n_out|``) compressed
       to ``rank`` rows by a QR factorisation.  Rows with the same eigenvalue
       have the same row scale at every time, so ``[Z_g] = Q_g R_g`` can be
       replaced by ``R_g`` (and ``O_g`` by ``O_g Q_g``) without changing ``QQ^T``;
       for P = 92 items and 20 outputs this shrinks the graded QR of
       :mod:`rsa_lineardyn.dynamics.exact` from 118 to 52 rows.
    3. A request ``(lam, scale, times)`` then runs only the time-dependent part
       (``rsa_lineardyn.dynamics.exact._factors``, vectorised over all requested times)
       per draw, and forms the representation's Gram matrix directly from the
       factors; the last ``result_cache_size`` results are kept as well.

    A log-time grid with interpolation was measured and rejected: the exact
    time step costs ~0.3-0.6 ms per draw and time point at P = 92, so a grid
    fine enough for 1e-6 relative interpolation error (hundreds of points
    over the fitter's time range) costs seconds per ``(lam, scale)``, and the
    fitter visits ~50 values of ``lam``.
    """

    def __init__(self, task, n_hidden, representation, rcond, n_draws, seed, cache_size=32, result_cache_size=16):
        super().__init__(task, n_hidden, representation, rcond, n_draws, seed, cache_size, result_cache_size)
        self._base = None
        self.stats = {"state_hits": 0, "state_misses": 0, "result_hits": 0, "result_misses": 0}

    # -- draws -----------------------------------------------------------------
    def _base_draws(self):
        """Scale- and lam-free part of each draw, from the same random stream as ``balanced_init``."""
        if self._base is None:
            self._base = _base_draws(self.task, self.n_hidden, self.n_draws, self.seed)
        return self._base

    def draws(self, lam, scale):
        """The ``n_draws`` initial weight pairs ``(W1, W2)`` at ``(lam, scale)``."""
        t = self.task
        return [_assemble(U, V, R, a * scale**2, lam, t.n_in, self.n_hidden, t.n_out)
                for U, a, V, R in self._base_draws()]

    def _spectrum(self, lam):
        from ..dynamics.exact import spectrum

        hit = _lru_get(self._spectra, lam)
        if hit is None:
            hit = _lru_put(self._spectra, lam, spectrum(self.task.sigma_yx, lam), self._cache_size)
        return hit

    def state(self, lam, scale):
        """``(d (n,), O (D, m, n), Z (D, n, r))``: every draw's ``Z = O^T Q0``, tied groups compressed.

        LRU-cached per ``(lam, scale)``.
        """
        from ..dynamics.exact import _manifold_message, _manifold_rule, _thin_factor

        key = (float(lam), float(scale))
        hit = _lru_get(self._cache, key, self.stats, "state")
        if hit is not None:
            return hit
        d, O = self._spectrum(key[0])
        levels, inverse, counts = np.unique(d, return_inverse=True, return_counts=True)
        draws = self.draws(*key)
        Zfull = np.stack([O.T @ _thin_factor(np.concatenate([W1.T, W2], axis=0)) for W1, W2 in draws])
        r = Zfull.shape[2]
        # exact_dynamics' rule for rounding-level components (one rule everywhere): zero them, warn once
        Zfull, missing = _manifold_rule(d, Zfull)
        if np.any(missing):
            bad = int(np.flatnonzero(missing)[0])
            warnings.warn(_manifold_message(d, min(r, int(np.sum(d > 0))), int(missing[bad])), RuntimeWarning,
                          stacklevel=4)
        groups = [np.flatnonzero(inverse == lev) for lev in np.flatnonzero(counts > r)]
        keep = np.ones(d.size, dtype=bool)
        for idx in groups:
            keep[idx] = False
        dc = np.concatenate([d[keep]] + [np.full(r, d[idx[0]]) for idx in groups])
        Os_all, Zs_all = [O[:, keep][None].repeat(len(draws), axis=0)], [Zfull[:, keep]]
        for idx in groups:  # tied rows share their row scale: Z_g = Q_g R_g -> rows R_g, columns O_g Q_g
            Qg, Rg = np.linalg.qr(Zfull[:, idx], mode="reduced")  # batched over draws
            Os_all.append(O[:, idx] @ Qg)
            Zs_all.append(Rg)
        # the compressed eigenvalues dc are the same for every draw (same levels, same rank)
        out = (dc, np.concatenate(Os_all, axis=2), np.concatenate(Zs_all, axis=1))
        _lru_put(self._cache, key, out, self._cache_size)
        return out

    def factors(self, lam, scale, times, tau):
        """Factors ``K`` of every draw's ``QQ^T`` at ``times``, shape (n_draws, T, n_in + n_out, r).

        The same computation as :func:`rsa_lineardyn.exact_dynamics` (graded QR
        of ``[diag(sqrt g) Z; I]``), batched over draws and times in one call.
        """
        from ..dynamics.exact import _factor_from_q, _CHUNK_ELEMENTS, _graded_qr_q, _row_scales

        d, O, Z = self.state(lam, scale)  # (n,), (D, m, n), (D, n, r)
        D, n, r = Z.shape
        s = np.asarray(times, dtype=float) / tau
        dmax = float(np.max(np.abs(d))) if d.size else 0.0
        if dmax > 0:  # as exact_dynamics: beyond this every finite scale gap is astronomically large
            s = np.where(np.isfinite(s), np.minimum(s, 1e250 / dmax), s)
        T = s.size
        out = np.empty((D, T, O.shape[1], r))
        if r == 0 or T == 0:
            out[...] = 0.0
            return out
        N = n + r
        A = np.concatenate([Z, np.broadcast_to(np.eye(r), (D, r, r))], axis=1)  # (D, N, r)
        chunk = max(1, _CHUNK_ELEMENTS // (D * N * r))
        for start in range(0, T, chunk):
            t = s[start : start + chunk]
            Tc = t.size
            ell, w = _row_scales(d, t)
            ell_all = np.concatenate([ell, np.zeros((Tc, r))], axis=1)
            Q = _graded_qr_q(np.broadcast_to(ell_all, (D, Tc, N)).reshape(D * Tc, N),
                             np.broadcast_to(A[:, None], (D, Tc, N, r)).reshape(D * Tc, N, r))
            Q = Q.reshape(D, Tc, N, r)
            out[:, start : start + Tc] = O[:, None] @ _factor_from_q(d, t, Z, Q, w)
        return out

    def ntk_parts(self, lam, scale, times, tau):
        """Mean NTK blocks over the draws: ``A`` (T, P, P) = X^T W1^T W1 X, ``B`` (T, n_out, n_out) = W2 W2^T."""
        return self._mean(lam, scale, times, tau)

    def full_gram(self, lam, scale, times, tau):
        """Mean Gram matrix over the draws, shape (T, N, N) (N = P, or n_out * P for the NTK)."""
        out = self._mean(lam, scale, times, tau)
        if self.representation == "ntk":
            from ..representations.geometry import _ntk_dense

            return _ntk_dense(out[0], out[1], self.task.X.T @ self.task.X)
        return out

    def _mean(self, lam, scale, times, tau):
        """Mean over the draws (LRU-cached): the Gram (T, N, N), or the NTK blocks ``(A, B)``."""
        from ..representations.geometry import _pinv_psd

        times = np.asarray(times, dtype=float)
        key = (float(lam), float(scale), float(tau), times.tobytes())
        hit = _lru_get(self._results, key, self.stats, "result")
        if hit is not None:
            return hit
        task = self.task
        X, Y, n_in = task.X, task.Y, task.n_in
        rep = self.representation
        Ks = self.factors(lam, scale, times, tau)  # (D, T, n, r)
        nd = self.n_draws
        if rep in ("hidden", "ntk"):  # linear in QQ^T: mean over draws = one factor with all draws' columns
            D, T, _, r = Ks.shape
            K1 = Ks[:, :, :n_in].transpose(2, 1, 0, 3).reshape(n_in, T * D * r)  # one BLAS call for all draws
            H = (X.T @ K1).reshape(task.P, T, D * r).transpose(1, 0, 2)  # (T, P, D r)
            mean = H @ np.swapaxes(H, 1, 2) / nd
            if rep == "ntk":
                K2 = Ks[:, :, n_in:].transpose(1, 2, 0, 3).reshape(T, task.n_out, D * r)
                w2w2t = K2 @ np.swapaxes(K2, 1, 2) / nd
                w2w2t.setflags(write=False)
                mean = (mean, w2w2t)
        else:
            mean = 0.0
            for K in Ks:
                K1, K2 = K[:, :n_in], K[:, n_in:]
                if rep == "output":
                    pinv = _pinv_psd(K2 @ np.swapaxes(K2, 1, 2), self.rcond)
                    G = Y.T @ pinv @ Y
                else:  # prediction: (W2 W1 X)^T (W2 W1 X)
                    L = K2 @ (np.swapaxes(K1, 1, 2) @ X)
                    G = np.swapaxes(L, 1, 2) @ L
                mean = mean + G
            mean = mean / nd
        (mean[0] if isinstance(mean, tuple) else mean).setflags(write=False)
        _lru_put(self._results, key, mean, self._result_cache_size)
        return mean
