"""Independent high-precision reference for QQ^T(t) (mpmath), used by tests and benchmarks.

Evaluates the closed form ``e^{Ft} Q0 (I + Q0^T G(t) Q0)^{-1} Q0^T e^{Ft}`` directly, in
arithmetic with enough digits that the cancellation inside it is exact:
``dps = 2 * max|eig F| * t / ln(10) + 40``, plus the orders of magnitude between ``||W1||^2`` and
``||W2||^2`` (so that the smaller block of ``QQ^T`` keeps its own relative accuracy when the weights are
very unequal, e.g. lam = 1 at init scale 1e-12: ``W1 ~ 1e-24`` next to ``W2 ~ 1``).  It shares no code with
the package.
"""

import math

import mpmath as mp
import numpy as np


def reference_qqt(syx, W1, W2, lam, t, extra_digits=40):
    n1, n2 = np.linalg.norm(np.asarray(W1, float)), np.linalg.norm(np.asarray(W2, float))
    if n1 > 0 and n2 > 0:
        extra_digits += int(math.ceil(2 * abs(math.log10(n1 / n2))))
    syx = np.asarray(syx, dtype=float)
    n_out, n_in = syx.shape
    n = n_in + n_out
    Q0 = np.concatenate([np.asarray(W1, float).T, np.asarray(W2, float)], axis=0)
    h = Q0.shape[1]
    dmax = float(np.max(np.abs(np.linalg.eigvalsh(f_matrix(syx, lam)))))
    dps = int(2 * dmax * t / math.log(10)) + extra_digits
    with mp.workdps(dps):
        F = mp.matrix(n, n)
        for i in range(n_in):
            F[i, i] = mp.mpf(-lam) / 2
        for i in range(n_out):
            F[n_in + i, n_in + i] = mp.mpf(lam) / 2
        for i in range(n_out):
            for j in range(n_in):
                F[n_in + i, j] = mp.mpf(syx[i, j])
                F[j, n_in + i] = mp.mpf(syx[i, j])
        E, O = mp.eigsy(F)
        tt = mp.mpf(t)
        Q = mp.matrix(n, h)
        for i in range(n):
            for j in range(h):
                Q[i, j] = mp.mpf(Q0[i, j])
        Z = O.T * Q
        ex = [mp.exp(E[i] * tt) for i in range(n)]
        g = [(mp.expm1(2 * E[i] * tt) / (2 * E[i])) if E[i] != 0 else tt for i in range(n)]
        M = mp.eye(h)
        for a in range(h):
            for b in range(h):
                M[a, b] += mp.fsum(Z[i, a] * g[i] * Z[i, b] for i in range(n))
        EZ = mp.matrix(n, h)
        for i in range(n):
            for j in range(h):
                EZ[i, j] = ex[i] * Z[i, j]
        P = EZ * mp.inverse(M) * EZ.T
        R = O * P * O.T
        return np.array([[float(R[i, j]) for j in range(n)] for i in range(n)])


def f_matrix(syx, lam):
    """F = [[-lam/2 I, Syx^T], [Syx, lam/2 I]] in float64."""
    syx = np.asarray(syx, float)
    n_out, n_in = syx.shape
    F = np.zeros((n_in + n_out, n_in + n_out))
    F[:n_in, :n_in] = -lam / 2 * np.eye(n_in)
    F[n_in:, n_in:] = lam / 2 * np.eye(n_out)
    F[n_in:, :n_in] = syx
    F[:n_in, n_in:] = syx.T
    return F


def direct_closed_form(syx, W1, W2, lam, t):
    """The closed form evaluated directly in float64 (what prior code does): breaks down at large t."""
    F = f_matrix(np.asarray(syx, float), lam)
    d, O = np.linalg.eigh(F)
    Q0 = np.concatenate([np.asarray(W1, float).T, np.asarray(W2, float)], axis=0)
    Z = O.T @ Q0
    with np.errstate(all="ignore"):
        e = np.exp(d * t)
        g = np.where(d != 0, np.expm1(2 * d * t) / (2 * np.where(d != 0, d, 1)), t)
        M = np.eye(Q0.shape[1]) + Z.T @ (g[:, None] * Z)
        EZ = e[:, None] * Z
        try:
            P = EZ @ np.linalg.solve(M, EZ.T)
        except np.linalg.LinAlgError:
            return np.full((F.shape[0], F.shape[0]), np.nan)
    return O @ P @ O.T


def rel_err(A, R):
    err = float(np.linalg.norm(A - R) / np.linalg.norm(R))
    return err if np.isfinite(err) else np.inf
