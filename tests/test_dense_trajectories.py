"""Issue 21, dense trajectories: many time points in one call (anchors + one exact step each; the factor reduced
to rank(Q0) columns) against independent references: the mpmath closed form (tests/_reference.py), the
gradient-flow ODE on the weights (scipy DOP853 at tight tolerances) and the closed-form fixed point.

Dense grids exercise both ways a stepped point is formed (the power series for anchors with many points, the
singular-pair formula for anchors with few), and every block of ``QQ^T`` is checked against its own norm
(tiny initial weights: ``W1 ~ 1e-24`` next to ``W2 ~ 1`` at lam = 1, scale 1e-12).
"""

import math
import warnings

import numpy as np
import pytest
from _invariants import fixed_point_formula
from _reference import f_matrix, reference_qqt, rel_err
from conftest import random_white_task
from test_exact_small_scale import _task, _weights, block_errors

import rsa_lineardyn as rl
from rsa_lineardyn.dynamics import exact as E

SHAPES = {  # (n_in, n_hidden, n_out) per sign of lam (feasible, no tie at the boundary of the fixed point)
    "bottleneck": lambda lam: (5, 2, 4),
    "square": lambda lam: (4, 4, 4),
    "wide": lambda lam: (5, 5, 2) if lam < 0 else (2, 5, 5) if lam > 0 else (2, 6, 3),
}


def _dmax(task, lam):
    return float(np.max(np.abs(np.linalg.eigvalsh(f_matrix(task.sigma_yx, lam)))))


def _plan_kinds(times, dmax):
    """How many stepped points go through each way of forming e^{F delta} X_a (power series / singular pairs)."""
    anchor, owner, delta, _ = E._anchor_plan(np.asarray(times, float), dmax)
    stepped = owner[delta > 0]
    counts = np.bincount(stepped, minlength=anchor.size)
    series = int(np.sum(counts[counts >= E._TAYLOR_TERMS]))
    return anchor.size, series, int(stepped.size) - series


@pytest.mark.parametrize("scale", [1e-2, 1e-12])
@pytest.mark.parametrize("lam", [-1.0, 0.0, 1.0])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_dense_grid_every_block_matches_mpmath(shape, lam, scale):
    """A dense grid (>= 400 points) over the whole learning period plus a sparse tail: every block at sampled points vs mpmath."""
    n_in, h, n_out = SHAPES[shape](lam)
    task = _task(n_in, n_out, seed=3)
    W1, W2 = _weights(task, h, lam, scale, seed=1)
    lam_m = rl.measure_balance(W1, W2).lam
    d = np.sort(np.linalg.eigvalsh(f_matrix(task.sigma_yx, lam_m)))[::-1]
    slow = d[min(h, int(np.sum(d > 1e-12))) - 1]
    t_end = 1.6 * math.log(1 / scale**2) / (2 * slow)
    nd = int(max(400, 30 * t_end * _dmax(task, lam_m)))  # about 30 points per anchor window
    dense = np.linspace(0.0, t_end, nd)
    # 1e-9 joins the anchor at 0; the tail forms small groups (the singular-pair formula)
    sparse = np.array([1e-9, 2.5 * t_end, 2.5 * t_end + 1e-3, 4 * t_end, 4 * t_end + 0.01])
    times = np.concatenate([dense, sparse])
    _, series, pairs = _plan_kinds(times, _dmax(task, lam_m))
    assert series > 0.75 * nd and pairs >= 2  # both ways are exercised
    tr = rl.exact_dynamics(task, W1, W2, times)
    assert tr.info["unlearned_modes"] == 0
    check = list(np.linspace(1, nd - 1, 7).astype(int)) + [nd, nd + 2, nd + 4]
    for k in check:
        ref = reference_qqt(task.sigma_yx, W1, W2, tr.lam, times[k])
        errs = block_errors(tr.qqt[k], ref, n_in)
        assert max(errs) <= 1e-10, (times[k], errs)


@pytest.mark.parametrize("shape,lam", [((6, 3, 5), 0.0), ((5, 4, 5), 0.7), ((4, 3, 6), -0.4)])
def test_dense_grid_matches_gradient_flow(shape, lam):
    n_in, h, n_out = shape
    task = random_white_task(n_in, n_out, seed=4)
    W1, W2 = _weights(task, h, lam, 0.05, seed=2)
    times = np.linspace(0.0, 12.0, 300)
    ex = rl.exact_dynamics(task, W1, W2, times)
    fl = rl.simulate(task, W1, W2, times, method="flow", rtol=1e-13, atol=1e-15)
    errs = [rel_err(ex.qqt[k], fl.qqt[k]) for k in range(1, times.size)]
    assert max(errs) <= 1e-9


def test_dense_points_agree_with_their_direct_evaluation():
    """Each stepped point equals the graded QR evaluated at that very time (the anchors' method), to rounding."""
    task = _task(5, 4, seed=3)
    W1, W2 = _weights(task, 2, 0.5, 1e-3, seed=1)
    times = np.linspace(0.0, 20.0, 500)
    tr = rl.exact_dynamics(task, W1, W2, times)
    d, O, Z, missing, basis, fast_ok = E._prepare(task, W1, W2, tr.lam)
    direct = E._factors(d, O, Z, times, fast=fast_ok, basis=basis)
    P = direct @ np.swapaxes(direct, 1, 2)
    for k in range(times.size):
        assert rel_err(tr.qqt[k], P[k]) <= 1e-13, times[k]


def test_unsorted_repeated_and_infinite_times():
    task = _task(4, 4, seed=2)
    W1, W2 = _weights(task, 3, 0.0, 1e-2, seed=4)
    rng = np.random.default_rng(0)
    grid = np.linspace(0.0, 10.0, 250)
    times = np.concatenate([grid, [np.inf, 1e300, 1e7, 3.0, 3.0, np.inf]])
    perm = rng.permutation(times.size)
    a = rl.exact_dynamics(task, W1, W2, times)
    b = rl.exact_dynamics(task, W1, W2, times[perm])
    np.testing.assert_array_equal(b.times, times[perm])
    np.testing.assert_allclose(b.qqt, a.qqt[perm], rtol=0, atol=1e-13 * np.max(np.abs(a.qqt)))
    fp = fixed_point_formula(f_matrix(task.sigma_yx, a.lam), 3)
    for k in np.flatnonzero(times >= 1e7):
        assert rel_err(a.qqt[k], fp) <= 1e-12, times[k]
    ref = reference_qqt(task.sigma_yx, W1, W2, a.lam, 3.0)
    for k in np.flatnonzero(times == 3.0):
        assert rel_err(a.qqt[k], ref) <= 1e-12


def test_repeated_times_within_a_window():
    """Gradient descent reports the times it reached, with repeats (0.04, 0.04, ...): every repeat gets the value
    at its time (was uninitialised memory for the repeats that are not their window's anchor)."""
    task = _task(3, 3, seed=1)
    W1, W2 = _weights(task, 2, 0.0, 0.35, seed=1)
    base = np.round(np.linspace(0.0, 4.0, 241) / 0.02) * 0.02
    assert np.unique(base).size < base.size
    tr = rl.exact_dynamics(task, W1, W2, base)
    for t in (0.04, 1.0, 2.5, 4.0):
        ks = np.flatnonzero(np.isclose(base, t, rtol=0, atol=1e-12))
        ref = reference_qqt(task.sigma_yx, W1, W2, tr.lam, float(base[ks[0]]))
        for k in ks:
            assert rel_err(tr.qqt[k], ref) <= 1e-12, (t, k)
    fl = rl.simulate(task, W1, W2, np.unique(base)[1:], method="flow", rtol=1e-13, atol=1e-15)
    idx = np.searchsorted(np.unique(base)[1:], base[base > 0])
    err = max(rel_err(P, fl.qqt[j]) for P, j in zip(tr.qqt[base > 0], idx))
    assert err <= 1e-9


@pytest.mark.parametrize("n_in,h,n_out", [(4, 8, 3), (3, 7, 3), (2, 6, 5)])
def test_wide_lam_zero_factor_has_rank_columns(n_in, h, n_out):
    """lam = 0: rank(Q0) = rank(W1) <= min(n_in, n_out); the factor carries that many columns, same QQ^T."""
    task = random_white_task(n_in, n_out, seed=1)
    W1, W2 = _weights(task, h, 0.0, 0.3, seed=3)
    times = np.concatenate([np.linspace(0.0, 6.0, 60), [np.inf]])
    tr = rl.exact_dynamics(task, W1, W2, times)
    rank = min(n_in, n_out)
    assert tr.info["rank"] == rank and tr.factors.shape == (times.size, n_in + n_out, rank)
    np.testing.assert_allclose(tr.qqt[0], np.concatenate([W1.T, W2]) @ np.concatenate([W1.T, W2]).T,
                               rtol=0, atol=1e-14)
    for k in (7, 30, 59):
        ref = reference_qqt(task.sigma_yx, W1, W2, tr.lam, times[k])
        assert rel_err(tr.qqt[k], ref) <= 1e-12, times[k]
    fl = rl.simulate(task, W1, W2, times[1:60:10], method="flow", rtol=1e-13, atol=1e-15)
    for j, k in enumerate(range(1, 60, 10)):
        assert rel_err(tr.qqt[k], fl.qqt[j]) <= 1e-9


def test_rank_reduction_keeps_the_warning():
    """Weights of rank 1 in a 5-unit lam = 0 network on a 3 x 3 task: 2 of the 3 top modes are never learned
    (warned, as before the reduction: the count is of min(n_hidden, n, #positive) modes), one factor column."""
    task = random_white_task(3, 3, seed=1)
    u = np.random.default_rng(0).standard_normal(3)
    W1 = np.outer(np.array([1.0, 0.0, 0.0, 0.0, 0.0]), u) * 0.1
    W2 = W1.T.copy()
    with pytest.warns(RuntimeWarning, match="2 of the 3 growing modes"):
        tr = rl.exact_dynamics(task, W1, W2, [0.0, 1.0, np.inf])
    assert tr.info["unlearned_modes"] == 2 and tr.info["rank"] == 1
    assert np.linalg.matrix_rank(tr.w2w1[-1]) == 1
    ref = reference_qqt(task.sigma_yx, W1, W2, tr.lam, 1.0)
    assert rel_err(tr.qqt[1], ref) <= 1e-12


def test_memory_check_counts_the_reduced_factor():
    """The refusal names the factor's real size: a lam = 0 network twice as wide as n_in + n_out is sized at
    rank(Q0) = min(n_in, n_out) columns, not min(n_hidden, n)."""
    task = random_white_task(3, 3, seed=0)
    W1, W2 = _weights(task, 12, 0.0, 0.2, seed=0)
    with pytest.raises(ValueError, match=r"each 6 x 3, r = rank\(Q0\)"):
        rl.exact_dynamics(task, W1, W2, np.linspace(0, 1, 8_000_000))


def test_no_warning_for_generic_dense_calls():
    task = _task(5, 4, seed=3)
    W1, W2 = _weights(task, 2, 0.0, 1e-4, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = rl.exact_dynamics(task, W1, W2, np.linspace(0.0, 30.0, 2000))
    assert np.all(np.isfinite(tr.factors))


def test_dense_grid_on_an_invariant_manifold():
    """lam = 0 square network with det(W2 W1) of the other sign than det(Syx): one mode is never learned. On a
    dense grid every stepped point agrees with the direct evaluation at its time, the mode stays unlearned up to
    the end of the grid, and the early part follows gradient flow."""
    task = random_white_task(4, 4, seed=1)
    W1, W2 = rl.balanced_init(4, 4, 4, 0.0, scale=0.3, seed=11)
    times = np.linspace(0.0, 250.0, 3000)
    with pytest.warns(RuntimeWarning, match="1 of the 4 growing modes"):
        tr = rl.exact_dynamics(task, W1, W2, times)
    d, O, Z, missing, basis, fast_ok = E._prepare(task, W1, W2, 0.0)
    direct = E._factors(d, O, Z, times, fast=fast_ok, basis=basis)
    P = direct @ np.swapaxes(direct, 1, 2)
    assert max(rel_err(tr.qqt[k], P[k]) for k in range(1, times.size)) <= 1e-12
    s = np.linalg.svd(task.sigma_yx, compute_uv=False)
    np.testing.assert_allclose(np.linalg.svd(tr.w2w1[-1], compute_uv=False), np.r_[s[:-1], 0.0], atol=1e-9 * s[0])
    early = np.flatnonzero((times > 0) & (times <= 5.0))[::40]
    fl = rl.simulate(task, W1, W2, times[early], method="flow", rtol=1e-13, atol=1e-15)
    for j, k in enumerate(early):
        assert rel_err(tr.qqt[k], fl.qqt[j]) <= 1e-8, times[k]


def test_anchor_plan_windows():
    """Windows of width 1 / dmax: the first time of each is an anchor, the others one step (delta < 1 / dmax)
    after it; with ``min_group`` a window with fewer later points makes all of its points anchors."""
    times = np.array([5.0, 0.0, 0.1, 0.2, np.inf, 1.05, 3.0, 3.01, 0.3])
    anchor, owner, delta, order = E._anchor_plan(times, 1.0)
    np.testing.assert_array_equal(np.sort(times[anchor]), [0.0, 1.05, 3.0, 5.0, np.inf])
    assert np.all(delta[anchor] == 0) and np.all((delta >= 0) & (delta < 1.0))
    np.testing.assert_allclose(times[anchor[owner]] + delta, times)
    np.testing.assert_array_equal(times[order], np.sort(times))
    anchor, owner, delta, _ = E._anchor_plan(times, 1.0, min_group=2)
    np.testing.assert_array_equal(np.sort(times[anchor]), [0.0, 1.05, 3.0, 3.01, 5.0, np.inf])
    np.testing.assert_allclose(times[anchor[owner]] + delta, times)


@pytest.mark.parametrize("scale", [5.0, 300.0])
def test_dense_grid_from_large_weights(scale):
    """Weights far above the fixed point (||Q0||^2 up to 1e6 x max|eig F|): the step matrices are then far from the
    identity, and each stepped point still agrees with the direct evaluation at its time; mpmath at two times."""
    task = random_white_task(4, 3, seed=2)
    W1, W2 = rl.balanced_init(4, 3, 3, 0.5, scale=scale, seed=3)
    times = np.linspace(0.0, 3.0, 600)
    tr = rl.exact_dynamics(task, W1, W2, times)
    d, O, Z, missing, basis, fast_ok = E._prepare(task, W1, W2, tr.lam)
    direct = E._factors(d, O, Z, times, fast=fast_ok, basis=basis)
    P = direct @ np.swapaxes(direct, 1, 2)
    assert max(rel_err(tr.qqt[k], P[k]) for k in range(times.size)) <= 1e-13
    for k in (7, 300):
        assert rel_err(tr.qqt[k], reference_qqt(task.sigma_yx, W1, W2, tr.lam, times[k])) <= 1e-12, times[k]
