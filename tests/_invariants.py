"""Invariants of ``P(t) = QQ^T(t)`` that any correct exact solution must satisfy.

Shared by the property tests (tests/test_properties.py, tests/test_robustness.py)
and the large random sweep (benchmarks/sweep.py).  Each check returns a
normwise relative residual (0 is perfect); the caller compares it with a
tolerance.

* symmetric PSD, finite, rank <= n_hidden;
* balance: with ``J = diag(-I_nin, I_nout)``, ``Q^T J Q = W2^T W2 - W1 W1^T``,
  so lambda-balance ``Q^T J Q = lam I`` is equivalent (given ``P = QQ^T``) to
  ``P J P = lam P``: every non-zero eigenvalue of ``P J`` equals ``lam``;
* the ODE ``dP/dt = F P + P F - P^2`` (``tau = 1``), checked by a central
  difference of the exact solution itself (no integrator involved);
* stationarity of the fixed point: ``F P + P F - P^2 = 0`` at ``t = inf``;
* the training loss never increases along gradient flow.
"""

import numpy as np
from _reference import f_matrix  # one definition of F, shared with the reference


def j_matrix(n_in, n_out):
    return np.diag(np.concatenate([-np.ones(n_in), np.ones(n_out)]))


def _nrm(A):
    return float(np.linalg.norm(A))


def finite(P):
    return bool(np.all(np.isfinite(P)))


def symmetry_residual(P):
    return _nrm(P - P.T) / max(_nrm(P), np.finfo(float).tiny)


def psd_residual(P):
    """``max(0, -lambda_min) / ||P||_2``."""
    ev = np.linalg.eigvalsh((P + P.T) / 2)
    top = max(float(np.max(np.abs(ev))), np.finfo(float).tiny)
    return max(0.0, -float(ev[0])) / top


def rank_excess(P, n_hidden, rtol=1e-9):
    """Eigenvalues beyond the ``n_hidden`` largest, relative to the largest (0 if rank <= n_hidden)."""
    ev = np.sort(np.abs(np.linalg.eigvalsh((P + P.T) / 2)))[::-1]
    if ev.size <= n_hidden or ev[0] == 0:
        return 0.0
    return float(ev[n_hidden] / ev[0])


def balance_residual(P, n_in, n_out, lam, F=None, floor=0.0, inherited=0.0):
    """``max(0, ||P J P - lam P|| - tr(P) inherited) / ((||P|| + floor) (||P|| + |lam| + ||F|| + floor))``.

    ``floor`` is the absolute accuracy of ``P`` (rounding relative to the problem's scale
    ``max(||P0||, ||F||)``, see :func:`abs_floor`): near a saddle, or at ``t = inf`` when ``F = 0``,
    ``P`` can be tiny and its rounding error is relative to that scale, not to ``||P||``.
    ``inherited`` is the initial weights' own imbalance ``||W2^T W2 - W1 W1^T - lam I||``:
    ``P J P - lam P = Q (B - lam I) Q^T`` with ``B = Q^T J Q`` conserved by the flow, so the exact
    solution of the given (rounded) weights carries up to ``||Q||^2 ||B - lam I|| = tr(P) * inherited``.  It matters when
    the weights are huge next to ``lam`` (rounding at ``||W||^2`` in ``B``) and ``P`` then shrinks.
    """
    J = j_matrix(n_in, n_out)
    nP = _nrm(P)
    nF = _nrm(F) if F is not None else 0.0
    den = (nP + floor) * (nP + abs(lam) + nF + floor)
    return max(0.0, _nrm(P @ J @ P - lam * P) - float(np.trace(P)) * inherited) / den if den > 0 else 0.0


def abs_floor(P0, F, rel=1e-10):
    """Absolute scale below which ``P`` counts as zero: ``rel * max(||P0||, ||F||)``."""
    return rel * max(_nrm(P0), _nrm(F))


def ode_rhs(P, F):
    return F @ P + P @ F - P @ P


def stationarity_residual(P, F, floor=0.0):
    """``||F P + P F - P^2|| / ((||P|| + floor) (2 ||F|| + ||P|| + floor))``."""
    nP = _nrm(P)
    den = (nP + floor) * (2 * _nrm(F) + nP + floor)
    return _nrm(ode_rhs(P, F)) / den if den > 0 else 0.0


def ode_residual(P_minus, P, P_plus, h, F, floor=0.0):
    """Central-difference derivative vs the right-hand side.

    Relative to ``(||P|| + floor) (rate + floor)`` (``rate = 2 ||F|| + ||P||``, the size of the
    right-hand side's terms) plus the rounding floor of a difference quotient, ``1e6 eps ||P|| / h``
    (about ``2e-7 rate ||P||`` for the default step, so it only matters when the derivative is at
    rounding level).
    """
    nP = _nrm(P)
    rate = 2 * _nrm(F) + nP
    den = (nP + floor) * (rate + floor) + 1e6 * np.finfo(float).eps * nP / h
    return _nrm((P_plus - P_minus) / (2 * h) - ode_rhs(P, F)) / den if den > 0 else 0.0


def ode_step(P, F, t):
    """A step ``h`` for the central difference at ``t > 0``: ``1e-3`` of the fastest time scale
    (at least ``1e-6 t`` so that ``t +- h`` differ in floating point), at most ``t / 2``."""
    rate = 2 * float(np.linalg.norm(F, 2)) + float(np.linalg.norm(P, 2))
    h = 1e-3 / rate if rate > 0 else 1.0
    return min(max(h, 1e-6 * t), t / 2)


def fixed_point_formula(F, n_hidden, rel_gap=1e-4):
    """``O_S diag(2 d_S) O_S^T`` over the top ``min(n_hidden, #positive)`` eigenvalues of ``F``.

    ``None`` when the limit is not given by the formula or is ill-conditioned: a tie (within
    ``rel_gap``) at the boundary (the limit then depends on ``Q0``), or positive eigenvalues
    below ``rel_gap`` (relative; numerically zero ones, below ``1e-12``, count as zero).
    """
    d, O = np.linalg.eigh(F)
    d, O = d[::-1], O[:, ::-1]
    scale = float(np.max(np.abs(d)))
    if scale == 0:
        return np.zeros_like(F)
    if np.any((d > 1e-12 * scale) & (d <= rel_gap * scale)):
        return None
    n_pos = int(np.sum(d > rel_gap * scale))
    k = min(n_hidden, n_pos)
    if 0 < k < d.size and d[k - 1] - max(d[k], 0.0) <= rel_gap * scale:
        return None
    return (O[:, :k] * (2 * d[:k])) @ O[:, :k].T


def loss_increase(losses):
    """Largest relative increase of the loss between consecutive (sorted) times."""
    losses = np.asarray(losses, float)
    scale = max(float(np.max(np.abs(losses))), np.finfo(float).tiny)
    inc = np.diff(losses)
    return max(0.0, float(np.max(inc)) / scale) if inc.size else 0.0


# -- random configurations and one call that runs every check -------------------------------------

TOL = {
    "symmetry": 1e-12,
    "psd": 1e-10,
    "rank": 1e-9,
    "balance": 1e-9,
    "ode": 1e-4,
    "stationarity": 1e-9,
    "fixed_point": 1e-9,
    "loss_increase": 1e-9,
    "initial": 1e-12,
    "flow": 1e-6,
}


def random_config(rng, max_in=6, max_out=6, max_hidden=10):
    """A random (task, W1, W2, lam, times, description) covering the numerical edges.

    Shapes 1..max, singular values generic / repeated / with zeros / all zero, lam = 0 or
    +-10^U(-3, 3), init scale 10^U(-8, 3), times up to 1e12 and inf.
    """
    import rsa_lineardyn as rl

    n_in = int(rng.integers(1, max_in + 1))
    n_out = int(rng.integers(1, max_out + 1))
    n_hidden = int(rng.integers(1, max_hidden + 1))
    kind = rng.choice(["zero", "pos", "neg"])
    lam = 0.0
    if kind == "pos" and n_hidden <= n_out:
        lam = float(10 ** rng.uniform(-3, 3))
    elif kind == "neg" and n_hidden <= n_in:
        lam = -float(10 ** rng.uniform(-3, 3))
    m = min(n_in, n_out)
    spec = rng.choice(["generic", "repeated", "zeros", "allzero"], p=[0.55, 0.2, 0.2, 0.05])
    s = np.sort(rng.uniform(0.1, 3.0, m))[::-1]
    if spec == "repeated":
        s = np.full(m, s[0]) if rng.random() < 0.5 else np.repeat(s[: (m + 1) // 2], 2)[:m]
    elif spec == "zeros":
        s[rng.integers(0, m + 1) :] = 0.0
    elif spec == "allzero":
        s[:] = 0.0
    s = s * 10 ** rng.uniform(-2, 1)
    U = _orth(rng, n_out)
    V = _orth(rng, n_in)
    syx = (U[:, :m] * s) @ V[:, :m].T
    P = n_in + int(rng.integers(0, 4))
    Xr = _orth(rng, P)[:, :n_in].T * np.sqrt(P)  # (n_in, P), rows orthogonal: X X^T / P = I
    Y = syx @ Xr  # Y X^T / P = syx
    task = rl.Task(Xr, Y)
    scale = float(10 ** rng.uniform(-8, 3))
    W1, W2 = rl.balanced_init(n_in, n_hidden, n_out, lam=lam, scale=scale, seed=rng)
    t_rand = float(10 ** rng.uniform(-3, 12))
    times = np.array([0.0, float(10 ** rng.uniform(-3, 2)), t_rand, np.inf])
    desc = dict(n_in=n_in, n_hidden=n_hidden, n_out=n_out, lam=lam, scale=scale, spectrum=str(spec),
                singular_values=s.tolist(), times=times.tolist())
    return task, W1, W2, lam, times, desc


def _orth(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))


def run_checks(task, W1, W2, times, *, flow=False, flow_tmax=None):
    """Run the exact solver and every invariant check.

    Returns ``(residuals, failures, warned)``: a dict name -> worst residual, the list of
    names whose residual exceeds ``TOL`` (or that produced non-finite values), and whether
    the solver warned about an invariant manifold (then the flow comparison is skipped:
    the answer is ill-conditioned with respect to rounding of the input).
    """
    import warnings

    import rsa_lineardyn as rl

    times = np.asarray(times, float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traj = rl.exact_dynamics(task, W1, W2, times)
    warned = any(issubclass(w.category, RuntimeWarning) for w in caught)
    lam = traj.lam
    F = f_matrix(task.sigma_yx, lam)
    n_in, n_out, h = task.n_in, task.n_out, W1.shape[0]
    res = {k: 0.0 for k in ("symmetry", "psd", "rank", "balance", "ode", "stationarity", "fixed_point",
                            "loss_increase", "initial")}
    fails = []
    Ps = traj.qqt
    if not finite(Ps) or not finite(traj.factors):
        return res, ["nonfinite"], warned
    if traj.factors.shape[2] > h:
        fails.append("factor_width")
    Q0 = np.concatenate([W1.T, W2], axis=0)
    P0 = Q0 @ Q0.T
    floor = abs_floor(P0, F)
    inherited = _nrm(W2.T @ W2 - W1 @ W1.T - lam * np.eye(h))
    for t, P in zip(times, Ps):
        res["symmetry"] = max(res["symmetry"], symmetry_residual(P))
        res["psd"] = max(res["psd"], psd_residual(P))
        res["rank"] = max(res["rank"], rank_excess(P, h))
        res["balance"] = max(res["balance"], balance_residual(P, n_in, n_out, lam, F, floor, inherited))
        if t == 0:
            res["initial"] = max(res["initial"], _nrm(P - P0) / max(_nrm(P0), np.finfo(float).tiny))
        elif np.isinf(t):
            res["stationarity"] = max(res["stationarity"], stationarity_residual(P, F, floor))
            Pinf = None if warned else fixed_point_formula(F, h)
            if Pinf is not None:
                res["fixed_point"] = max(res["fixed_point"], _nrm(P - Pinf) / (_nrm(Pinf) + floor))
        else:
            hh = ode_step(P, F, t)
            tp, tm = t + hh, t - hh
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # already recorded above
                Pm, Pp = rl.exact_dynamics(task, W1, W2, [tm, tp]).qqt
            if not (finite(Pm) and finite(Pp)):
                fails.append("nonfinite")
                continue
            res["ode"] = max(res["ode"], ode_residual(Pm, P, Pp, (tp - tm) / 2, F, floor))
    order = np.argsort(times)
    res["loss_increase"] = loss_increase(traj.loss[order])
    if flow and not warned:
        rate = max(1.0, float(np.max(np.abs(np.linalg.eigvalsh(F)))))
        tmax = flow_tmax if flow_tmax is not None else 8.0 / rate
        ft = np.array([0.0, tmax / 4, tmax / 2, tmax])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ex = rl.exact_dynamics(task, W1, W2, ft).qqt
        w = max(float(np.max(np.abs(Q0))), 1e-300)
        sim = rl.simulate(task, W1, W2, ft, method="flow", rtol=1e-11, atol=1e-13 * w).qqt
        res["flow"] = max(_nrm(a - b) / max(_nrm(b), np.finfo(float).tiny) for a, b in zip(ex, sim))
        if res["flow"] > TOL["flow"]:
            # arbitrate with the high-precision reference: is the solver or the integrator off?
            from _reference import reference_qqt

            ref_err = max(
                _nrm(a - reference_qqt(task.sigma_yx, W1, W2, lam, t)) / max(_nrm(a), np.finfo(float).tiny)
                for a, t in zip(ex, ft)
            )
            res["flow_integrator_error"] = res["flow"]
            res["flow"] = ref_err  # the exact solver's error against the reference
    for k, v in res.items():
        if k in TOL and (not np.isfinite(v) or v > TOL[k]):
            fails.append(k)
    return res, fails, warned
