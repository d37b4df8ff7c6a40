"""The Monte Carlo estimator of the random-start engine: antithetic pairs, control variates, regression.

:class:`_MonteCarlo` is a part of :class:`rsa_lineardyn.models.random_starts._RandomStartEngine` (its ``_estimate`` and
``_controls``); the module-level functions are its regression kernels.
"""

from __future__ import annotations

import numpy as np

from .draws import _lru_get, _lru_put
from ..dynamics.initialization import balanced_factors

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


class _MonteCarlo:
    """The estimator over the draws (a part of :class:`rsa_lineardyn.models.random_starts._RandomStartEngine`)."""

    # -- the Monte Carlo estimator over the draws ------------------------------------
    def _estimate(self, w, side, lam, scale, s, keep=None):
        """The expected group weights (T, G) from every draw's exact ones ``w`` (D, T, G), one per group of modes.

        The weights are equal within each tied group of modes, so the estimator runs on one column per group (the
        sums over the modes count each group as many times as it has modes): ``O(D T G)`` instead of ``O(D T n)``
        (31 groups instead of 1000 modes for 1000 one-hot items and 30 outputs).

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
        if keep is not None:  # a subset of the draws (antithetic pairs whole): the within-set Monte-Carlo SE
            w = w[keep]
        D = w.shape[0]
        if self.mc != "cv" or D < 2:
            return w.mean(axis=0)
        c, g_in, g_out = self._controls(lam, scale, s, side)
        if keep is not None:
            c, g_in, g_out = c[keep], g_in[keep], g_out[keep]
        mult = (self._mean_in if side == "in" else self._mean_out).sizes  # modes per group
        r = w - c
        ctrls = [c, g_in, g_out]
        units = [_pair_units(x) for x in [w, r] + ctrls]
        n_u = units[0].shape[0]
        # mode-centred deviations from the unit means: the uniform part of w is not a control's business
        dev = [u - u.mean(axis=0) for u in units]
        dev = [x - ((x @ mult) / mult.sum())[..., None] for x in dev]
        cands = [w.mean(axis=0), r.mean(axis=0)]
        if n_u < len(ctrls) + 3:
            return cands[1]
        # per-mode weights (1 / the mode's spread of w - c over the units): every mode counts in the fit and in
        # the choice below relative to its own noise, not only the largest ones
        spread = np.einsum("utn,utn->tn", dev[1], dev[1])
        omega = 1.0 / np.maximum(spread, 1e-300 + 1e-12 * np.max(spread, axis=1, keepdims=True))  # (T, n)
        omega = omega * mult  # sums over the modes: each group counts once per mode
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
        """Per draw (D, T, G) controls of zero expectation on ``side`` (``"in"``: n_in modes, ``"out"``: n_out),
        one column per group of modes (they are equal within the groups).

        ``c``: the draw's mode-diagonal of this representation under gradient flow *without the task*
        (``Syx = 0``), minus its mean over the modes (the isotropic part), averaged within the task's groups.
        Without the task each hidden unit's product strength ``a_k`` of the balanced start
        ``W1 = R D1 V0^T``, ``W2 = U0 D2 R^T`` evolves alone (``da/dt = -2 a sqrt(a^2 + lam^2/4)``, the
        ``s = 0`` case of :func:`rsa_lineardyn.models.engines.mode_strengths`):
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
        means = self._mean_in if side == "in" else self._mean_out  # all three equal within the groups
        out = tuple(means.compressed(x) for x in (c, g_in, g_out))
        return _lru_put(self._cache, key, out, self._cache_size)
