"""Ground truth: train the network by gradient descent or integrate gradient flow."""

from __future__ import annotations

import sys
import time as _time

import numpy as np
from scipy.integrate import solve_ivp

from .._log import stderr_is_terminal
from .._validation import InputTypeError, InputValueError, check_choice, check_matrix, check_real, check_times
from .initialization import measure_balance
from .task import Task
from .trajectory import Trajectory

__all__ = ["simulate", "check_weights", "DEFAULT_MAX_STEPS", "DEFAULT_FLOW_MAX_STEPS", "FLOW_STEPS_PER_UNIT"]

_METHODS = ("gd", "flow")
#: Default cap on gradient-descent steps (and on integrator steps of ``method="flow"``).
DEFAULT_MAX_STEPS = 10_000_000
#: Default cap on integrator steps of ``method="flow"`` (about 30-60 s for the 8-item semantic task: one DOP853
#: step is 12 gradient evaluations, ~0.3 ms there).
DEFAULT_FLOW_MAX_STEPS = 100_000
#: Measured DOP853 steps per unit of ``t * ||Syx||_2 / tau`` (rtol 1e-12): 0.32-0.63 on the semantic task for
#: t = 1e3..1e4 (the step size near the fixed point is bound by stability, not accuracy).  The lower end is used,
#: so the up-front estimate ``FLOW_STEPS_PER_UNIT * t * ||Syx|| / tau`` does not overstate the work.
FLOW_STEPS_PER_UNIT = 0.3
#: ``method="flow"`` refuses up front when its stiffness overestimate of the steps exceeds this times ``max_steps``.
_STIFF_FACTOR = 1e5
#: Gradient descent refuses step counts at or beyond this (an int64 step counter overflows at 2**63).
_MAX_STEP_COUNT = 2.0**62
_PROGRESS_AFTER = 10.0  # seconds: runs estimated longer than this report progress (when enabled)


def check_weights(task, W1, W2):
    """Validate ``W1`` (n_hidden, n_in) and ``W2`` (n_out, n_hidden) against ``task``."""
    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")
    W1 = check_matrix(W1, "W1")
    W2 = check_matrix(W2, "W2")
    if W1.shape[1] != task.n_in:
        raise InputValueError(
            f"`W1` must have shape (n_hidden, n_in) with n_in = {task.n_in} (the task's input size), got {W1.shape}."
        )
    if W2.shape[0] != task.n_out:
        raise InputValueError(
            f"`W2` must have shape (n_out, n_hidden) with n_out = {task.n_out} (the task's output size), got {W2.shape}."
        )
    if W2.shape[1] != W1.shape[0]:
        raise InputValueError(
            f"`W1` has {W1.shape[0]} hidden units (rows) but `W2` has {W2.shape[1]} (columns); they must agree."
        )
    return W1, W2


def _grads(W1, W2, sxx, syx):
    E = syx - W2 @ W1 @ sxx  # minus dL/d(W2 W1)
    return W2.T @ E, E @ W1.T  # minus dL/dW1, minus dL/dW2


def simulate(task, W1, W2, times, lr=0.01, tau=1.0, method="gd", rtol=1e-12, atol=1e-14, *,
             max_steps=None, progress=None):
    """Train the network ``y = W2 W1 x`` on ``task`` and record it at ``times``.

    Works for any weights and inputs (unbalanced, non-white), so it is the
    ground truth against which the exact solution is checked.

    Parameters
    ----------
    task : Task
    W1 : array_like (n_hidden, n_in)
    W2 : array_like (n_out, n_hidden)
    times : array_like (T,)
        Non-negative, finite times in any order.
    lr : float, default 0.01
        Learning rate of gradient descent; step ``k`` is time ``k * lr * tau``.
        Requested times are rounded to the nearest step and the trajectory
        records the times actually reached (``traj.times``; the steps are in
        ``traj.info["steps"]``).
    tau : float, default 1
        Time constant of gradient flow ``tau dW/dt = -dL/dW``.
    method : {"gd", "flow"}
        ``"gd"``: full-batch gradient descent with learning rate ``lr``.
        ``"flow"``: gradient flow, integrated by ``scipy.integrate.solve_ivp``
        (DOP853) at tolerances ``rtol``, ``atol``.
    max_steps : int or None, default None
        Cap on the work; ``None`` means ``DEFAULT_MAX_STEPS`` (1e7) gradient-descent
        steps for ``"gd"`` and ``DEFAULT_FLOW_MAX_STEPS`` (1e5) integrator steps
        for ``"flow"``.  Gradient descent refuses (``InputValueError`` naming
        ``times``, ``lr``, the step count and an estimated run time) when
        ``max(times) / (lr * tau)`` exceeds it (and always beyond ``2**62`` steps,
        where the step counter would overflow), and stops with an error when it
        diverges: non-finite weights, or a loss above 10 times the starting loss
        at a recorded time or every 1000 steps.  ``"flow"`` refuses up front when
        the measured-rate estimate ``0.3 * max(times) * ||Syx||_2 / tau`` of its
        steps (``FLOW_STEPS_PER_UNIT``; the error states it and a run time)
        exceeds ``max_steps``, or when the stiffness bound ``max(times) / tau *
        (||Syx|| + ||Sxx|| ||W2|| ||W1||)`` (an overestimate) exceeds ``1e5 * max_steps``, and stops
        with the same error once the integrator has actually taken ``max_steps``
        steps.  For long times use :func:`rsa_lineardyn.exact_dynamics` (cost
        independent of t).
    progress : bool or None, default None
        Report progress of gradient descent on stderr. ``None``: only when
        stderr is a terminal and the run is estimated to take over 10 s.

    Returns
    -------
    Trajectory
        With real weights in ``traj.weights``.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2, 1]) * np.sqrt(3))
    >>> W1, W2 = rl.balanced_init(3, 2, 3, lam=0.0, scale=0.1, seed=0)
    >>> sim = rl.simulate(task, W1, W2, [0, 1, 2], lr=0.01)
    >>> sim.times
    array([0., 1., 2.])
    """
    W1, W2 = check_weights(task, W1, W2)
    times = check_times(times, allow_inf=False)
    tau = check_real(tau, "tau", minimum=0, strict_min=True)
    check_choice(method, "method", _METHODS)
    n_hidden = W1.shape[0]
    sxx, syx = task.sigma_xx, task.sigma_yx
    with np.errstate(over="ignore", invalid="ignore"):
        g1, g2 = _grads(W1, W2, sxx, syx)
    if not (np.all(np.isfinite(g1)) and np.all(np.isfinite(g2))):
        raise InputValueError(_too_large(W1, W2, "the gradient at the start overflows double precision"))
    with np.errstate(over="ignore", invalid="ignore"):  # recorded only; inf for weights near the overflow limit
        lam = measure_balance(W1, W2).lam
    if max_steps is None:
        max_steps = DEFAULT_MAX_STEPS if method == "gd" else DEFAULT_FLOW_MAX_STEPS
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise InputValueError(f"`max_steps` must be a positive integer, got {max_steps!r}.")
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise InputValueError(f"`progress` must be True, False or None, got {progress!r}.")
    rtol = check_real(rtol, "rtol", minimum=0, maximum=1, strict_min=True)  # checked for either method
    atol = check_real(atol, "atol", minimum=0, strict_min=True)
    if method == "gd":
        lr = check_real(lr, "lr", minimum=0, strict_min=True)
        _check_gd_budget(W1, W2, times, lr, tau, sxx, syx, int(max_steps))
        W1s, W2s, reached, steps = _run_gd(W1, W2, times, lr, tau, sxx, syx, progress, syy=task.sigma_yy)
        _warn_coarse_steps(times, reached, lr, tau)
        info = {"lr": lr, "steps": steps}
        method_name = "gradient_descent"
    else:
        W1s, W2s = _run_flow(W1, W2, times, tau, sxx, syx, rtol, atol, int(max_steps))
        reached = times.copy()
        info = {"rtol": rtol, "atol": atol, "solver": "DOP853"}
        method_name = "gradient_flow"
    factors = np.concatenate([np.swapaxes(W1s, 1, 2), W2s], axis=1)
    return Trajectory(
        reached, factors, method=method_name, task=task, n_hidden=n_hidden, lam=lam, tau=tau,
        weights=(W1s, W2s), info=info,
    )


def _fmt_seconds(sec):
    if not np.isfinite(sec):
        return "forever"
    for unit, size in (("years", 3.15e7), ("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if sec >= size:
            return f"{sec / size:.3g} {unit}"
    return f"{sec:.3g} s"


def _seconds_per_step(W1, W2, sxx, syx, n=50):
    """Measured cost of one gradient-descent step on these shapes (a few dozen steps on copies)."""
    A, B = W1.copy(), W2.copy()
    t0 = _time.perf_counter()
    with np.errstate(all="ignore"):
        for _ in range(n):
            E = syx - B @ A @ sxx
            A, B = A + 1e-12 * (B.T @ E), B + 1e-12 * (E @ A.T)
    return (_time.perf_counter() - t0) / n


def _check_gd_budget(W1, W2, times, lr, tau, sxx, syx, max_steps):
    t_max = float(np.max(times)) if times.size else 0.0
    with np.errstate(over="ignore"):
        need = t_max / (lr * tau)
    if need <= max_steps and need < _MAX_STEP_COUNT:  # also False for inf / nan
        return
    sec = need * _seconds_per_step(W1, W2, sxx, syx)
    if need < _MAX_STEP_COUNT:
        cap = f"more than `max_steps` = {max_steps:,}"
        more = ", or raise `max_steps`"
    else:  # a step counter (int64) cannot even hold the count: no value of max_steps makes this run possible
        cap = (f"beyond the largest step count that can be represented ({_MAX_STEP_COUNT:.3g}), whatever "
               f"`max_steps` (= {float(max_steps):.3g}) says")
        more = ""
    raise InputValueError(
        f"`times` up to {t_max:.6g} with `lr` = {lr:.6g} (tau = {tau:g}) need {need:.3g} gradient-descent steps, "
        f"{cap} (estimated run time {_fmt_seconds(sec)}). Use `rl.exact_dynamics` (whitened input, balanced "
        "weights; cost independent of t, np.inf gives the fixed point), `method=\"flow\"`, a larger `lr`, shorter "
        f"`times`{more}."
    )


#: Relative gap between a requested and a reached time above which :func:`simulate` warns (gd only).
COARSE_STEP_RTOL = 0.01


def _warn_coarse_steps(times, reached, lr, tau):
    """Warn when rounding to whole steps moves a requested time by more than 1% (e.g. lr = 10, t = 1 -> 0)."""
    import warnings

    pos = times > 0
    if not np.any(pos):
        return
    gap = np.abs(reached[pos] - times[pos]) / times[pos]
    i = int(np.argmax(gap))
    if gap[i] > COARSE_STEP_RTOL:
        t, r = times[pos][i], reached[pos][i]
        warnings.warn(
            f"gradient descent moves in whole steps of lr * tau = {lr * tau:.4g} time units, so requested `times` "
            f"were rounded: e.g. t = {t:.4g} became {r:.4g} ({100 * gap[i]:.0f}% off; `traj.times` holds the times "
            "reached). Use a smaller `lr` (or times that are multiples of lr * tau) for a faithful trajectory.",
            UserWarning, stacklevel=3,
        )


def _loss(W1, W2, sxx, syx, syy):
    """Mean squared error ``0.5 tr(Syy) - tr(Syx^T W) + 0.5 tr(W Sxx W^T)`` of ``W = W2 W1``."""
    W = W2 @ W1
    return 0.5 * np.trace(syy) - np.sum(syx * W) + 0.5 * np.sum((W @ sxx) * W)


#: Gradient descent stops as diverged when the loss exceeds this multiple of the starting loss.
DIVERGENCE_FACTOR = 10.0


def _run_gd(W1, W2, times, lr, tau, sxx, syx, progress=None, syy=None):
    steps = np.rint(times / (lr * tau)).astype(np.int64)
    total = int(np.max(steps)) if steps.size else 0
    if progress is None:
        progress = stderr_is_terminal() and total >= 1000 and (
            total * _seconds_per_step(W1, W2, sxx, syx) > _PROGRESS_AFTER
        )
    report = _Progress(total) if progress and total > 0 else None
    order = np.argsort(steps, kind="stable")
    T = times.size
    W1s = np.empty((T,) + W1.shape)
    W2s = np.empty((T,) + W2.shape)
    W1 = W1.copy()
    W2 = W2.copy()
    white = np.array_equal(sxx, np.eye(sxx.shape[0]))
    check = None
    if syy is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            loss0 = float(_loss(W1, W2, sxx, syx, syy))
            # rounding of the loss itself (~eps times its terms) is not divergence
            limit = DIVERGENCE_FACTOR * loss0 + 1e-12 * (abs(float(np.trace(syy))) + float(np.sum((W2 @ W1) ** 2)))
    if syy is not None and np.isfinite(limit):

        def check(A, B, k):
            loss = float(_loss(A, B, sxx, syx, syy))
            if not loss <= limit:
                raise InputValueError(
                    f"gradient descent diverged: the loss grew from {loss0:.6g} at step 0 to {loss:.6g} at step {k} "
                    f"(more than {DIVERGENCE_FACTOR:g}x; a stable run only decreases it), so `lr` = {lr:g} is too "
                    "large for this task and initial weights. Use a smaller `lr` (below 1 / largest singular value "
                    "of Syx, e.g. 1 / (10 * s_max)), or rl.exact_dynamics / method=\"flow\" for gradient flow."
                )
    k = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for idx in order:
            target = steps[idx]
            while k < target:
                if white:
                    E = syx - W2 @ W1
                else:
                    E = syx - W2 @ W1 @ sxx
                dW1 = W2.T @ E
                W2 += lr * (E @ W1.T)
                W1 += lr * dW1
                k += 1
                if k % 1000 == 0 or k == target:
                    _check_finite(W1, W2, k, lr)
                    if check is not None:
                        check(W1, W2, k)
                    if report is not None:
                        report(k)
            _check_finite(W1, W2, k, lr)
            if check is not None:
                check(W1, W2, k)
            W1s[idx] = W1
            W2s[idx] = W2
    if report is not None:
        report.close()
    return W1s, W2s, steps * lr * tau, steps


class _Progress:
    """Step counter with elapsed time and an estimate of the remaining time, on stderr (at most once a second)."""

    def __init__(self, total):
        self.total = total
        self.start = self.last = _time.perf_counter()

    def __call__(self, k):
        now = _time.perf_counter()
        if now - self.last < 1.0 and k < self.total:
            return
        self.last = now
        el = now - self.start
        left = el / k * (self.total - k) if k else float("inf")
        sys.stderr.write(f"\rsimulate: step {k:,} / {self.total:,} ({100 * k / self.total:.1f}%), "
                         f"elapsed {_fmt_seconds(el)}, about {_fmt_seconds(left)} left   ")
        sys.stderr.flush()

    def close(self):
        self(self.total)
        sys.stderr.write("\n")
        sys.stderr.flush()


def _check_finite(W1, W2, k, lr):
    if not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))):
        raise InputValueError(
            f"gradient descent diverged (non-finite weights by step {k}); `lr` = {lr:g} is too large "
            "for this task and initial weights. Use a smaller `lr` (e.g. 1 / (10 * largest singular value of Syx))."
        )


class _TooManySteps(Exception):
    pass


def _flow_message(t_max, tau, what, max_steps):
    return (
        f"gradient flow to `times` up to {t_max:.6g} (tau = {tau:g}) {what}, more than `max_steps` = {max_steps:,}. "
        "Use `rl.exact_dynamics` (whitened input, balanced weights; cost independent of t), shorter `times`, "
        "or raise `max_steps`."
    )


def _too_large(W1, W2, what):
    big = max(float(np.max(np.abs(W1))), float(np.max(np.abs(W2))))
    return (
        f"the network cannot be trained from these weights: {what}. The largest |entry| of `W1` and `W2` is "
        f"{big:.3g}; weights this large make the flow too stiff or overflow double precision. Use smaller initial "
        "weights (e.g. rl.balanced_init(..., scale=0.1)), method='gd' with a small `lr`, or rl.exact_dynamics."
    )


def _run_flow(W1, W2, times, tau, sxx, syx, rtol, atol, max_steps=DEFAULT_MAX_STEPS):
    h, n_in = W1.shape
    n_out = W2.shape[0]
    t_max = float(np.max(times)) if times.size else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        stiff = np.linalg.norm(syx, 2) + np.linalg.norm(sxx, 2) * np.linalg.norm(W2, 2) * np.linalg.norm(W1, 2)
        est = t_max / tau * stiff
    # t * stiffness overestimates the steps when large weights shrink early (measured: a property-test case with
    # weights ~600 to t = 100 estimated 3.6e7 and ran fine), so refuse up front only when even a 1000-fold
    # overestimate would exceed the old cap; the integrator's own step count enforces `max_steps` below.
    # (1e5 * max_steps: the bound of 1000 x the former shared cap of 1e7 at the flow's default cap of 1e5)
    if not est <= _STIFF_FACTOR * max_steps:
        raise InputValueError(_flow_message(t_max, tau, f"needs about {est:.3g} integrator steps", max_steps))
    # near the fixed point the step size is bound by stability: about FLOW_STEPS_PER_UNIT steps per unit of
    # t ||Syx|| / tau (measured), a lower bound on the work; refuse before running into the cap minutes later
    with np.errstate(over="ignore", invalid="ignore"):
        est_low = FLOW_STEPS_PER_UNIT * t_max / tau * float(np.linalg.norm(syx, 2))
    if not est_low <= max_steps:
        sec = est_low * 12 * _seconds_per_step(W1, W2, sxx, syx)
        raise InputValueError(_flow_message(
            t_max, tau, f"needs at least about {est_low:.3g} integrator steps ({FLOW_STEPS_PER_UNIT:g} per unit of "
            f"t * ||Syx|| / tau, measured; estimated run time at least {_fmt_seconds(sec)})", max_steps))
    evals = [0]
    max_evals = 12 * max_steps + 100  # DOP853 takes 12 evaluations per step

    def rhs(_, y):
        evals[0] += 1
        if evals[0] > max_evals:
            raise _TooManySteps
        A = y[: h * n_in].reshape(h, n_in)
        B = y[h * n_in :].reshape(n_out, h)
        g1, g2 = _grads(A, B, sxx, syx)
        return np.concatenate([g1.ravel(), g2.ravel()]) / tau

    t_sorted, where = np.unique(times, return_inverse=True)  # solve_ivp wants strictly increasing t_eval: repeats once
    where = np.ravel(where)
    y0 = np.concatenate([W1.ravel(), W2.ravel()])
    T = times.size
    W1s = np.empty((T, h, n_in))
    W2s = np.empty((T, n_out, h))
    if t_sorted[-1] == 0:
        Y = np.repeat(y0[:, None], t_sorted.size, axis=1)
    else:
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # a failure is reported below, not as warnings
                sol = solve_ivp(rhs, (0.0, t_sorted[-1]), y0, method="DOP853", t_eval=t_sorted, rtol=rtol, atol=atol)
        except _TooManySteps:
            raise InputValueError(_flow_message(t_max, tau, "took more integrator steps", max_steps)) from None
        if not sol.success or not np.all(np.isfinite(sol.y)):
            raise InputValueError(_too_large(W1, W2, f"the integrator failed ({sol.message})"))
        Y = sol.y
    for idx, j in enumerate(where):
        W1s[idx] = Y[: h * n_in, j].reshape(h, n_in)
        W2s[idx] = Y[h * n_in :, j].reshape(n_out, h)
    return W1s, W2s
