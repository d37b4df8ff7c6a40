import numpy as np
import pytest
from conftest import random_white_task

import rsa_lineardyn as rl


@pytest.mark.parametrize("n_in,n_hidden,n_out", [(3, 2, 3), (5, 7, 4), (4, 4, 6), (2, 1, 9), (6, 3, 2)])
@pytest.mark.parametrize("lam", [-2.0, 0.0, 0.7])
def test_balanced_init_is_balanced(n_in, n_hidden, n_out, lam):
    if (lam > 0 and n_hidden > n_out) or (lam < 0 and n_hidden > n_in):
        with pytest.raises(ValueError, match="n_hidden"):
            rl.balanced_init(n_in, n_hidden, n_out, lam, seed=0)
        return
    W1, W2 = rl.balanced_init(n_in, n_hidden, n_out, lam, scale=0.3, seed=0)
    assert W1.shape == (n_hidden, n_in) and W2.shape == (n_out, n_hidden)
    D = W2.T @ W2 - W1 @ W1.T
    np.testing.assert_allclose(D, lam * np.eye(n_hidden), atol=1e-13)
    bal = rl.measure_balance(W1, W2)
    assert abs(bal.lam - lam) < 1e-13 and bal.is_balanced


def test_seed_reproducible_and_scale():
    a = rl.balanced_init(4, 3, 5, 0.0, scale=0.1, seed=7)
    b = rl.balanced_init(4, 3, 5, 0.0, scale=0.1, seed=7)
    c = rl.balanced_init(4, 3, 5, 0.0, scale=0.1, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.allclose(a[0], c[0])
    small = rl.balanced_init(4, 3, 5, 0.0, scale=1e-3, seed=7)
    np.testing.assert_allclose(small[1] @ small[0], (a[1] @ a[0]) * 1e-4, rtol=1e-10, atol=1e-20)


def test_infeasible_message_states_rule_and_numbers():
    with pytest.raises(ValueError, match=r"n_hidden <= n_out.*n_hidden = 5 > n_out = 3"):
        rl.balanced_init(6, 5, 3, 1.0)
    with pytest.raises(ValueError, match=r"n_hidden = 5 > n_in = 2"):
        rl.balanced_init(2, 5, 8, -1.0)


def test_no_cancellation_large_lam_tiny_scale():
    for lam in (1e3, -1e3):
        W1, W2 = rl.balanced_init(3, 3, 3, lam, scale=1e-8, seed=0)
        a = np.linalg.svd(W2 @ W1, compute_uv=False)
        s_small = np.linalg.svd(W1 if lam > 0 else W2, compute_uv=False)
        # the small layer's singular values are a / sqrt(|lam|) to full relative precision
        np.testing.assert_allclose(np.sort(s_small), np.sort(a / np.sqrt(abs(lam))), rtol=1e-8)
        assert np.all(s_small > 0)


def test_task_aligned_init_deterministic_and_aligned():
    task = random_white_task(5, 4, seed=3)
    U, s, Vt = np.linalg.svd(task.sigma_yx)
    W1, W2 = rl.task_aligned_init(task, 2, lam=0.4, scale=0.1)
    W1b, W2b = rl.task_aligned_init(task, 2, lam=0.4, scale=0.1)
    np.testing.assert_array_equal(W1, W1b)
    A = W2 @ W1
    np.testing.assert_allclose(A, 0.01 * U[:, :2] @ Vt[:2], atol=1e-15)
    assert rl.measure_balance(W1, W2).is_balanced
    assert abs(rl.measure_balance(W1, W2).lam - 0.4) < 1e-14


def test_measure_balance_reports_deviation():
    W1 = np.array([[1.0, 0.0], [0.0, 2.0]])
    W2 = np.eye(2) * 2
    bal = rl.measure_balance(W1, W2)
    assert bal.lam == pytest.approx(1.5)
    assert bal.deviation == pytest.approx(np.sqrt(2) * 1.5)
    assert not bal.is_balanced
    with pytest.raises(ValueError, match="hidden units"):
        rl.measure_balance(np.eye(2), np.eye(3))


def test_whiten_says_what_it_did():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 30))
    X[3] = X[0] + X[1]  # rank 3
    task = rl.Task(X, rng.standard_normal((2, 30)))
    white = rl.whiten(task)
    assert white.is_white() and white.n_in == 3
    assert white.whitening.dropped == 1 and "dropped 1" in white.whitening.message
    # the whitened task carries the same information: same least-squares fit
    beta = np.linalg.lstsq(task.X.T, task.Y.T, rcond=None)[0].T @ task.X
    beta_w = white.sigma_yx @ white.X
    np.testing.assert_allclose(beta, beta_w, atol=1e-10)
