"""The expected geometry over random lambda-balanced starts (``init="random"``).

``_RandomStartEngine`` turns ``(lam, scale, times, tau)`` into the expected
Gram matrices of one representation (``"hidden"``, ``"output"``,
``"prediction"``, ``"ntk"``) of a two-layer linear network on a whitened
task, over random lambda-balanced starts: the rank-one form
``Gram_t = B^T diag(w_t) B`` over all input (or output) modes, with weights
``w_t`` from the exact solution of seeded draws (the draws of
``rsa_lineardyn.models.engines._AverageEngine``) projected on the task's modes and
symmetrised.  Its parts: :mod:`rsa_lineardyn.models.random_paths` (every draw's
exact solution), :mod:`rsa_lineardyn.models.random_estimator` (the Monte Carlo
estimator over the draws), :mod:`rsa_lineardyn.models.random_kernels` (numerical
kernels); the seeded draws and the caches are in :mod:`rsa_lineardyn.models.draws`.

Pure numerical code: no rsatoolbox objects.  The aligned and averaged
engines are in :mod:`rsa_lineardyn.models.engines`.
"""

from __future__ import annotations

import numpy as np

from .draws import _base_draws, _DrawEngine, _lru_get, _lru_put
from ..dynamics.initialization import _assemble
from .random_estimator import _MC_ESTIMATORS, _MonteCarlo
from .random_kernels import (  # noqa: F401  (kernels importable from here, as before the split)
    _GROUP_RTOL,
    _GroupMeans,
    _assemble_modes,
    _compress_tied_columns,
    _group_labels,
    _group_mean_matrix,
    _manifold_rule_generic,
    _mode_spectrum,
    _right_singular,
)
from .random_paths import _EigPath, _SplitSetup, _SplitSolve


class _RandomStartEngine(_EigPath, _SplitSetup, _SplitSolve, _MonteCarlo, _DrawEngine):
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
       of :func:`rsa_lineardyn.dynamics.exact._factors`), the graded QR otherwise
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
        self.Z_items = np.asarray(Vt) @ task.X  # (n_in, P)
        self.Yu = self.U.T @ task.Y  # (n_out, P)
        self._base = None
        self.stats = {"state_hits": 0, "state_misses": 0, "result_hits": 0, "result_misses": 0}
        self._keep, self._keep_key = None, None  # all draws (see subset)
        self._eager = None  # subsets estimated beside every full estimate (set_subsets)
        self._subset_estimates = {}  # (lam, scale, tau, times, subset) -> their estimates

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

    def _diagonals(self, lam, scale, times, tau):
        """Mode-diagonal means over the draws, symmetrised, LRU-cached.

        Returns ``(w_in (T, n_in), w_out (T, n_out))``: for ``hidden``/``ntk`` the diagonals of
        ``V^T E[W1^T W1] V`` and ``U^T E[W2 W2^T] U``; for ``prediction`` ``w_in`` is that of
        ``V^T E[(W2 W1)^T W2 W1] V``; for ``output`` ``w_out`` is that of ``U^T E[pinv(W2 W2^T)] U``.
        """
        times = np.asarray(times, dtype=float)
        key = (float(lam), float(scale), float(tau), times.tobytes())
        ekey = key + (self._keep_key,)
        hit = _lru_get(self._results, ekey, self.stats, "result")
        if hit is None and self._keep_key is not None and ekey in self._subset_estimates:  # see set_subsets
            hit = self._expand(self._subset_estimates[ekey])
        if hit is not None:
            return hit
        per = self._per_draw(lam, scale, times, tau, key)

        def estimate(keep):  # per side: the group weights (T, G) and the group of every mode
            return tuple(None if x is None else (self._estimate(x, side, lam, scale, times / tau, keep), labels)
                         for x, side, labels in per)

        out = self._expand(estimate(self._keep))
        if self._keep is None and self._eager:  # the subsets' estimates now, from the draws already solved
            for keep, keep_key in self._eager:
                self._subset_estimates[key + (keep_key,)] = estimate(keep)  # per group: small
        _lru_put(self._results, ekey, out, self._result_cache_size)
        return out

    @staticmethod
    def _expand(groups):
        """Per side, the group weights expanded to every mode (read-only), or ``None``."""
        out = tuple(None if g is None else g[0][:, g[1]] for g in groups)
        for a in out:
            if a is not None:
                a.setflags(write=False)
        return out

    def set_subsets(self, keeps):
        """Estimate also on these subsets of the draws (index arrays, see :meth:`subset`) whenever the full estimate
        is computed, so that the subsets' views need no second solve of the draws (the within-set Monte-Carlo SE of
        :func:`rsa_lineardyn.inference.hypotheses.evaluate_hypotheses`); ``None`` stops it and drops them."""
        self._eager = None if keeps is None else [(np.asarray(k, dtype=int), tuple(np.asarray(k, dtype=int).tolist()))
                                                  for k in keeps]
        self._subset_estimates.clear()

    def _per_draw(self, lam, scale, times, tau, key):
        """Every draw's group weights before the estimator: ``[(x (D, T, G) or None, side, group of every mode)]`` for
        the input and the output side."""
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
            sizes = self._mean_in.sizes
            w_in = np.zeros((D, times.size, sizes.size)) if sums is None else sums / sizes  # group means
            return [(w_in, "in", self.in_groups), (None, "out", None)]
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
        out = [(None if x is None else means.compressed(x), side, means.labels)
               for x, side, means in ((w_in, "in", self._mean_in), (w_out, "out", self._mean_out))]
        return out

    def subset(self, keep):
        """This engine estimating from the draws ``keep`` only (indices into the draws; antithetic pairs must be
        kept whole, partners after their bases in the order of :func:`_base_draws`): a shallow copy that shares
        the solved draws and the caches (the estimates are cached per subset).  For the within-set Monte-Carlo
        SE (:meth:`rsa_lineardyn.inference.crossval.DrawBlocks.split`)."""
        import copy

        view = copy.copy(self)
        view._keep = np.asarray(keep, dtype=int)
        view._keep_key = tuple(view._keep.tolist())
        return view


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
            from ..representations.geometry import _ntk_dense

            A, B = self.ntk_parts(lam, scale, times, tau)
            return _ntk_dense(A, B, self.task.X.T @ self.task.X)
        w, Bm = self.rank_one(lam, scale, times, tau)
        return (Bm.T[None] * w[:, None, :]) @ Bm


class _PooledEngine:
    """The expected geometry pooled over independent blocks of draws: the mean of the blocks' engines.

    Each block is an engine over ``n_draws`` draws of its own seed (``_RandomStartEngine`` or ``_AverageEngine``);
    the pooled weights are the mean of the blocks' weights (every expected Gram below is linear in them), i.e. an
    estimate over all the blocks' draws.  Leaving one block out gives the pooled estimate without it (the
    delete-a-block jackknife of :func:`rsa_lineardyn.inference.crossval.mc_blocks`).  Everything else (basis,
    groups, task) is the first block's: it does not depend on the draws.
    """

    def __init__(self, engines):
        self.engines = list(engines)

    def __getattr__(self, name):
        if name == "engines":  # unpickling: not set yet
            raise AttributeError(name)
        return getattr(self.engines[0], name)

    def rank_one(self, lam, scale, times, tau):
        outs = [e.rank_one(lam, scale, times, tau) for e in self.engines]
        w = np.mean([o[0] for o in outs], axis=0)
        w.setflags(write=False)
        return w, outs[0][1]

    def ntk_parts(self, lam, scale, times, tau):
        outs = [e.ntk_parts(lam, scale, times, tau) for e in self.engines]
        return np.mean([o[0] for o in outs], axis=0), np.mean([o[1] for o in outs], axis=0)

    def full_gram(self, lam, scale, times, tau):
        return np.mean([e.full_gram(lam, scale, times, tau) for e in self.engines], axis=0)
