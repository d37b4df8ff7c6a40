"""Ground truth: train the network by gradient descent or integrate gradient flow."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from ._validation import InputTypeError, InputValueError, check_choice, check_matrix, check_real, check_times
from .initialization import measure_balance
from .task import Task
from .trajectory import Trajectory

__all__ = ["simulate", "check_weights"]

_METHODS = ("gd", "flow")


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


def simulate(task, W1, W2, times, lr=0.01, tau=1.0, method="gd", rtol=1e-12, atol=1e-14):
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
    lam = measure_balance(W1, W2).lam
    sxx, syx = task.sigma_xx, task.sigma_yx
    if method == "gd":
        lr = check_real(lr, "lr", minimum=0, strict_min=True)
        W1s, W2s, reached, steps = _run_gd(W1, W2, times, lr, tau, sxx, syx)
        info = {"lr": lr, "steps": steps}
        method_name = "gradient_descent"
    else:
        rtol = check_real(rtol, "rtol", minimum=0, strict_min=True)
        atol = check_real(atol, "atol", minimum=0, strict_min=True)
        W1s, W2s = _run_flow(W1, W2, times, tau, sxx, syx, rtol, atol)
        reached = times.copy()
        info = {"rtol": rtol, "atol": atol, "solver": "DOP853"}
        method_name = "gradient_flow"
    factors = np.concatenate([np.swapaxes(W1s, 1, 2), W2s], axis=1)
    return Trajectory(
        reached, factors, method=method_name, task=task, n_hidden=n_hidden, lam=lam, tau=tau,
        weights=(W1s, W2s), info=info,
    )


def _run_gd(W1, W2, times, lr, tau, sxx, syx):
    steps = np.rint(times / (lr * tau)).astype(np.int64)
    order = np.argsort(steps, kind="stable")
    T = times.size
    W1s = np.empty((T,) + W1.shape)
    W2s = np.empty((T,) + W2.shape)
    W1 = W1.copy()
    W2 = W2.copy()
    white = np.array_equal(sxx, np.eye(sxx.shape[0]))
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
            _check_finite(W1, W2, k, lr)
            W1s[idx] = W1
            W2s[idx] = W2
    return W1s, W2s, steps * lr * tau, steps


def _check_finite(W1, W2, k, lr):
    if not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))):
        raise InputValueError(
            f"gradient descent diverged (non-finite weights by step {k}); `lr` = {lr:g} is too large "
            "for this task and initial weights. Use a smaller `lr` (e.g. 1 / (10 * largest singular value of Syx))."
        )


def _run_flow(W1, W2, times, tau, sxx, syx, rtol, atol):
    h, n_in = W1.shape
    n_out = W2.shape[0]

    def rhs(_, y):
        A = y[: h * n_in].reshape(h, n_in)
        B = y[h * n_in :].reshape(n_out, h)
        g1, g2 = _grads(A, B, sxx, syx)
        return np.concatenate([g1.ravel(), g2.ravel()]) / tau

    order = np.argsort(times, kind="stable")
    t_sorted = times[order]
    y0 = np.concatenate([W1.ravel(), W2.ravel()])
    T = times.size
    W1s = np.empty((T, h, n_in))
    W2s = np.empty((T, n_out, h))
    if t_sorted[-1] == 0:
        Y = np.repeat(y0[:, None], T, axis=1)
    else:
        sol = solve_ivp(rhs, (0.0, t_sorted[-1]), y0, method="DOP853", t_eval=t_sorted, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(f"gradient flow integration failed: {sol.message}")
        Y = sol.y
    for j, idx in enumerate(order):
        W1s[idx] = Y[: h * n_in, j].reshape(h, n_in)
        W2s[idx] = Y[h * n_in :, j].reshape(n_out, h)
    return W1s, W2s
