"""The per-draw exact solution of the random-start engine: the eigenbasis path and the split path.

Parts of :class:`rsa_lineardyn.models.random_starts._RandomStartEngine`: :class:`_EigPath` (every draw's state per
``(lam, scale)`` and its factor at the requested times, one batched QR), :class:`_SplitSetup` and
:class:`_SplitSolve` (wide networks with ``lam < 0``: one large tied group of input-null modes solved in its
eigenbasis).  The numerical kernels are in :mod:`rsa_lineardyn.models.random_kernels`.
"""

from __future__ import annotations

import numpy as np

from .draws import _lru_get, _lru_put
from ..dynamics.initialization import balanced_factors
from .random_kernels import (
    _BATCH_ELEMENTS,
    _assemble_modes,
    _compress_tied_columns,
    _gram_rows,
    _manifold_rule_generic,
    _mode_spectrum,
    _right_singular,
    _sorted_qr_q,
    _to_modes,
)


def _left_apply(A, B):
    """``A @ B[i]`` for every matrix of the stack ``B`` (D, k, r) and a sparse ``A`` (p, k): one sparse product.

    The same sums as the dense product without its terms that are exact zeros (identical up to the order of
    the non-zero terms); returns a C-contiguous (D, p, r) array.
    """
    D, k, r = B.shape
    out = A @ np.ascontiguousarray(np.moveaxis(B, 0, 1)).reshape(k, D * r)
    return np.ascontiguousarray(np.moveaxis(np.asarray(out).reshape(A.shape[0], D, r), 1, 0))


class _EigPath:
    """Every draw's exact factor through the (compressed) eigenbasis of ``F`` (part of the random-start engine)."""

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
        OmT_sp, Om_sp = self._sparse_spectrum(key[0])
        C = self._thin_modes(*key)
        Zfull = _left_apply(OmT_sp, C)  # (D, n, r) = O^T C
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
            Os_all.append(_left_apply(Om_sp[:, idx], Qg))
            Zs_all.append(Rg)
        out = (dc, np.concatenate(Os_all, axis=2), np.concatenate(Zs_all, axis=1), fast_ok, C)
        _lru_put(self._cache, key, out, self._cache_size)
        return out

    def _spectrum(self, lam):
        """``(d, Om)``: :func:`rsa_lineardyn.dynamics.exact.spectrum` with the eigenvectors in mode coordinates.

        ``Om = blockdiag(V, U)^T O`` is written down directly (it is sparse: each paired eigenvector
        has one ``v_k`` and one ``u_k`` coefficient, the others are single null modes), with the same
        coefficients and the same tie merging as ``spectrum``.  LRU-cached per ``lam``.
        """
        hit = _lru_get(self._spectra, lam)
        if hit is None:
            hit = _lru_put(self._spectra, lam, _mode_spectrum(self.s, self.task.n_in, self.task.n_out, lam), self._cache_size)
        return hit

    def _sparse_spectrum(self, lam):
        """``(Om^T, Om)`` of :meth:`_spectrum` as scipy sparse matrices (CSR, CSC), LRU-cached per ``lam``.

        ``Om`` has at most two non-zeros per column (a singular pair's ``v_k`` and ``u_k`` coefficients, or one
        null mode), so products with it cost ``O(n)`` per column instead of ``O(n^2)``: at 1000 one-hot items
        the dense products were most of the cost of a new ``lam`` (the continuous refinement's steps).
        """
        from scipy.sparse import coo_matrix

        key = ("sparse", lam)
        hit = _lru_get(self._spectra, key)
        if hit is None:
            n = self.task.n_in + self.task.n_out
            rows, cols, vals = _mode_spectrum(self.s, self.task.n_in, self.task.n_out, lam, sparse=True)[1]
            Om = coo_matrix((vals, (rows, cols)), shape=(n, n))
            hit = _lru_put(self._spectra, key, (Om.T.tocsr(), Om.tocsc()), self._cache_size)
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
        from ..dynamics.exact import _FAST_LOG_MAX, _graded_qr_q, _row_scales

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
        from ..dynamics.exact import _GROW

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
        from ..dynamics.exact import _pair_eigenvectors

        key = ("pairs", lam)
        hit = _lru_get(self._coefs(), key)
        if hit is None:
            hit = _lru_put(self._coefs(), key, (self.s,) + tuple(_pair_eigenvectors(self.s, lam / 2.0)), self._cache_size)
        return hit



class _SplitSetup:
    """The split path's state: when it applies, and its reduced problem (part of the random-start engine)."""

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
        from ..dynamics.exact import _FAST_LOG_MAX, _row_scales

        s = np.asarray(s, dtype=float)
        if not np.all(np.isfinite(s)):
            return False
        ell, _ = _row_scales(np.asarray(d_o, dtype=float), s)
        return bool(np.all(ell <= _FAST_LOG_MAX))
    def _split_rows(self, Om_o, gmodes):
        """Input modes with a nonzero row in ``Om_o`` (the others hold exact zeros) and all output modes."""
        n_in = self.task.n_in
        rows_in = np.flatnonzero(np.any(Om_o[:n_in] != 0, axis=1))
        return rows_in, np.arange(n_in, Om_o.shape[0])


class _SplitSolve:
    """The split path's factors at the requested times (part of the random-start engine)."""

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
        from ..dynamics.exact import _GROW, _row_scales

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
        from ..dynamics.exact import _row_scales

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
        from ..dynamics.exact import _GROW, _row_scales

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
    def _split_factors_full(self, split, s):
        """Mode-coordinate factors of the non-group rows (D, T, n, k) and the group's trace of ``QQ^T`` (D, T)."""
        from ..dynamics.exact import _FAST_LOG_MAX, _GROW, _row_scales

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
