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
    with pytest.warns(UserWarning, match="t = 0.0333 became 0.03"):  # 10% off: said, not silent
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


# ---------------------------------------------------------------- limits (issue 11) -----------------------


@pytest.fixture
def small():
    task = random_white_task(3, 3, seed=0)
    W1, W2 = rl.balanced_init(3, 2, 3, 0.0, scale=0.1, seed=1)
    return task, W1, W2


@pytest.mark.parametrize("times, lr", [([1e30], 0.01), ([1.0], 1e-300), ([1e6], 1e-4), ([1.0, 1e300], 1.0)])
def test_gd_refuses_step_counts_beyond_the_cap(small, times, lr):
    """No int64 overflow (used to return the initial weights at time -9.22e16) and no 13-hour runs."""
    task, W1, W2 = small
    with pytest.raises(ValueError, match=r"(?s)`times`.*`lr`.*steps.*`max_steps`.*estimated run time.*exact_dynamics"):
        rl.simulate(task, W1, W2, times, lr=lr)


def test_gd_cap_is_adjustable(small):
    task, W1, W2 = small
    with pytest.raises(ValueError, match="max_steps"):
        rl.simulate(task, W1, W2, [1.0], lr=1e-3, max_steps=999)
    assert rl.simulate(task, W1, W2, [1.0], lr=1e-3, max_steps=1000).info["steps"][0] == 1000
    with pytest.raises(ValueError, match="max_steps"):
        rl.simulate(task, W1, W2, [1.0], max_steps=0)


@pytest.mark.parametrize("times", [[1e30], [1e12]])
def test_flow_refuses_very_long_times(small, times):
    task, W1, W2 = small
    with pytest.raises(ValueError, match=r"(?s)gradient flow.*`times`.*integrator steps.*`max_steps`.*exact_dynamics"):
        rl.simulate(task, W1, W2, times, method="flow")


def test_flow_stops_when_the_integrator_exceeds_the_cap(small):
    """The estimate lets it start; the step counter stops it."""
    task, W1, W2 = small
    with pytest.raises(ValueError, match="took more integrator steps"):
        rl.simulate(task, W1, W2, [2.0], method="flow", max_steps=3)
    assert rl.simulate(task, W1, W2, [2.0], method="flow", max_steps=1000).times[0] == 2.0


def test_progress_goes_to_stderr_only_when_asked(small, capsys):
    task, W1, W2 = small
    rl.simulate(task, W1, W2, [20.0], lr=1e-3, progress=True)
    err = capsys.readouterr().err
    assert "step 20,000 / 20,000" in err and "left" in err
    rl.simulate(task, W1, W2, [20.0], lr=1e-3)  # default: only on a terminal and for long runs
    assert capsys.readouterr().err == ""


def test_gd_warns_when_steps_are_coarser_than_the_requested_times(small):
    """lr = 10 and times [0, 1] returned times [0, 0] with no notice."""
    task, W1, W2 = small
    with pytest.warns(UserWarning, match=r"whole steps of lr \* tau = 10.*t = 1 became 0"):
        traj = rl.simulate(task, W1, W2, [0.0, 1.0], lr=10.0)
    assert list(traj.times) == [0.0, 0.0]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fine steps: no warning
        rl.simulate(task, W1, W2, [0.0, 1.0, 2.5], lr=0.01)
