import numpy as np
import pytest
from conftest import random_white_task

import rsa_lineardyn as rl


def test_gd_error_is_first_order_in_lr():
    task = random_white_task(3, 3, seed=0)
    W1, W2 = rl.task_aligned_init(task, 2, 0.5, scale=0.2)
    # perturb alignment so the trajectory is generic but stays balanced
    W1, W2 = rl.balanced_init(3, 2, 3, 0.5, scale=0.2, seed=3)
    times = np.linspace(0, 8, 9)
    ex = rl.exact_dynamics(task, W1, W2, times)
    errs = []
    for lr in (0.02, 0.01, 0.005):
        sim = rl.simulate(task, W1, W2, times, lr=lr)
        np.testing.assert_allclose(sim.times, times, atol=1e-12)
        errs.append(np.max(np.abs(sim.qqt - ex.qqt)))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 1.8) & (ratios < 2.2)), ratios


def test_gd_records_requested_order_and_rounds_to_steps():
    task = random_white_task(3, 2, seed=1)
    W1, W2 = rl.balanced_init(3, 2, 2, 0.0, scale=0.1, seed=0)
    sim = rl.simulate(task, W1, W2, [0.3, 0.1, 0.0333], lr=0.01)
    np.testing.assert_allclose(sim.times, [0.3, 0.1, 0.03])
    assert list(sim.info["steps"]) == [30, 10, 3]
    np.testing.assert_array_equal(sim.weights[0][2], rl.simulate(task, W1, W2, [0.03], lr=0.01).weights[0][0])


def test_simulate_accepts_unbalanced_non_white():
    rng = np.random.default_rng(0)
    task = rl.Task(rng.standard_normal((3, 20)), rng.standard_normal((2, 20)))
    W1, W2 = rng.standard_normal((4, 3)) * 0.1, rng.standard_normal((2, 4)) * 0.1
    gd = rl.simulate(task, W1, W2, [0, 5, 20], lr=0.005)
    fl = rl.simulate(task, W1, W2, [0, 5, 20, 500], method="flow")
    assert np.all(np.diff(fl.loss) < 0)
    np.testing.assert_allclose(gd.qqt, fl.qqt[:3], atol=5e-2)
    # least squares solution is reached
    beta = task.sigma_yx @ np.linalg.inv(task.sigma_xx)
    np.testing.assert_allclose(fl.w2w1[-1], beta, atol=1e-3)


def test_gd_divergence_is_reported():
    task = random_white_task(3, 3, seed=0, strength=5)
    W1, W2 = rl.balanced_init(3, 3, 3, 0.0, scale=0.5, seed=1)
    with pytest.raises(ValueError, match="lr"):
        rl.simulate(task, W1, W2, [200.0], lr=2.0)


def test_gd_cannot_reach_infinity():
    task = random_white_task(3, 3, seed=0)
    W1, W2 = rl.balanced_init(3, 2, 3, 0.0, seed=1)
    with pytest.raises(ValueError, match="inf"):
        rl.simulate(task, W1, W2, [np.inf])


def test_many_steps_are_fast_enough():
    # 10^5 steps must not take minutes (no timing assertion; this just has to finish in the suite)
    task = random_white_task(3, 3, seed=0)
    W1, W2 = rl.balanced_init(3, 2, 3, 0.0, seed=1)
    sim = rl.simulate(task, W1, W2, [100.0], lr=1e-3)
    assert sim.info["steps"][0] == 100000
