"""Issue 11: full relative accuracy of every block of QQ^T from tiny initial weights (the rich regime).

Each block (``W1^T W1``, ``W2 W1``, ``W2 W2^T``) is measured against its own reference block, because
with ``lam != 0`` and small weights the blocks differ by many orders of magnitude (lam = 1 at init scale
1e-12: ``W1 ~ 1e-24`` next to ``W2 ~ 1``).  Reference: ``_reference.reference_qqt`` (mpmath, digits enough
for the cancellation and for the ratio of the blocks) at finite t; the closed-form fixed point (top
eigenpairs of F, no tie at the boundary for these shapes) at t = inf and at very large t.
"""

import math
import warnings

import numpy as np
import pytest
from _invariants import f_matrix, fixed_point_formula
from _reference import reference_qqt

import rsa_lineardyn as rl
from rsa_lineardyn.dynamics import exact as E

TOL = 1e-10
SHAPES = {  # (n_in, n_hidden, n_out); the wide ones have no tie at the boundary of the fixed point
    "bottleneck": lambda lam: (5, 2, 4),
    "square": lambda lam: (4, 4, 4),
    "wide": lambda lam: (5, 5, 2) if lam < 0 else (2, 5, 5) if lam > 0 else (2, 6, 3),
}


def _task(n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    m = min(n_in, n_out)
    s = np.array([1.5, 1.1, 0.8, 0.5, 0.3][:m])
    U = np.linalg.qr(rng.standard_normal((n_out, n_out)))[0]
    V = np.linalg.qr(rng.standard_normal((n_in, n_in)))[0]
    X = np.eye(n_in) * np.sqrt(n_in)
    return rl.Task(X, (U[:, :m] * s) @ V[:, :m].T @ X)


def _weights(task, n_hidden, lam, scale, seed):
    """Balanced weights off every invariant manifold (no warning)."""
    for s in range(seed, seed + 20):
        W1, W2 = rl.balanced_init(task.n_in, n_hidden, task.n_out, lam, scale=scale, seed=s)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                rl.exact_dynamics(task, W1, W2, [0.0])
            except RuntimeWarning:
                continue
        return W1, W2
    raise AssertionError("no generic draw")


def block_errors(P, R, n_in):
    """Relative error of each block, against its own norm."""
    out = []
    for rows, cols in ((slice(0, n_in), slice(0, n_in)), (slice(n_in, None), slice(0, n_in)),
                       (slice(n_in, None), slice(n_in, None))):
        r = R[rows, cols]
        assert np.linalg.norm(r) > 0
        out.append(float(np.linalg.norm(P[rows, cols] - r) / np.linalg.norm(r)))
    return out


def _times(task, n_hidden, lam, scale):
    """0, a tiny t, and the slowest learned mode's transition (before, during, after)."""
    d = np.sort(np.linalg.eigvalsh(f_matrix(task.sigma_yx, lam)))[::-1]
    slow = d[min(n_hidden, int(np.sum(d > 1e-12))) - 1]
    t_star = math.log(1 / scale**2) / (2 * slow)
    return [0.0, 1e-9, 0.5, 0.5 * t_star, t_star, 1.6 * t_star]


@pytest.mark.parametrize("scale", [1e-4, 1e-8, 1e-12])
@pytest.mark.parametrize("lam", [-1.0, 0.0, 1.0])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_block_matches_reference_at_small_scale(shape, lam, scale):
    n_in, h, n_out = SHAPES[shape](lam)
    task = _task(n_in, n_out, seed=3)
    W1, W2 = _weights(task, h, lam, scale, seed=1)
    times = _times(task, h, lam, scale)
    late = [1e3, 1e7, 1e300, np.inf]
    tr = rl.exact_dynamics(task, W1, W2, times + late)
    assert tr.info["unlearned_modes"] == 0
    for k, t in enumerate(times):
        ref = reference_qqt(task.sigma_yx, W1, W2, tr.lam, t)
        errs = block_errors(tr.qqt[k], ref, n_in)
        assert max(errs) <= TOL, (t, errs)
    fp = fixed_point_formula(f_matrix(task.sigma_yx, tr.lam), h)
    assert fp is not None
    for k in range(len(late)):
        errs = block_errors(tr.qqt[len(times) + k], fp, n_in)
        assert max(errs) <= TOL, (late[k], errs)


@pytest.mark.parametrize("lam", [-1.0, 0.0, 1.0, 1e3])
def test_both_qr_paths_keep_block_accuracy_at_scale_1e12(lam):
    """The LAPACK path (rows sorted by their actual norm) and the graded QR give the same per-block accuracy."""
    n_in, h, n_out = (4, 2, 4) if abs(lam) < 10 else (4, 3, 5)
    task = _task(n_in, n_out, seed=5)
    W1, W2 = _weights(task, h, lam, 1e-12, seed=2)
    lam = rl.measure_balance(W1, W2).lam
    d, O, Z, missing, basis, fast_ok = E._prepare(task, W1, W2, lam)
    assert missing == 0 and fast_ok
    times = np.array([0.0, 1e-9, 0.5, 1.5, 10.0]) / (1 if abs(lam) < 10 else 100)
    for fast in (True, False):
        X = E._factors(d, O, Z, times, fast=fast, basis=basis)
        for k, t in enumerate(times):
            ref = reference_qqt(task.sigma_yx, W1, W2, lam, t)
            errs = block_errors(X[k] @ X[k].T, ref, n_in)
            assert max(errs) <= TOL, (fast, t, errs)


def test_issue_case_4_2_4_lam0_scale_1e12():
    """The issue's measurement (4-2-4, lam = 0, scale 1e-12): was 6e-5 at t ~ 0.5-2."""
    from conftest import random_white_task

    task = random_white_task(4, 4, seed=1)
    W1, W2 = rl.balanced_init(4, 2, 4, 0.0, scale=1e-12, seed=1)
    times = [0.25, 0.5, 1.0, 2.0, 4.0]
    tr = rl.exact_dynamics(task, W1, W2, times)
    for k, t in enumerate(times):
        ref = reference_qqt(task.sigma_yx, W1, W2, tr.lam, t)
        assert max(block_errors(tr.qqt[k], ref, 4)) <= TOL, t
