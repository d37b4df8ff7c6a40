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


# ---------------------------------------------------------------- memory (issue 11) ----------------


def _old_rotation_init(n_in, h, n_out, lam, scale, seed):
    """The previous construction, with the full n_hidden x n_hidden rotation (independent reference)."""
    from rsa_lineardyn.dynamics.initialization import _assemble

    rng = np.random.default_rng(seed)
    G1 = rng.standard_normal((h, n_in)) * scale
    G2 = rng.standard_normal((n_out, h)) * scale
    U, a, Vt = np.linalg.svd(G2 @ G1, full_matrices=True)
    q, r = np.linalg.qr(rng.standard_normal((h, h)))
    return _assemble(U, Vt.T, q * np.sign(np.diag(r)), a, lam, n_in, h, n_out)


@pytest.mark.parametrize("n_in,h,n_out,lam", [(3, 257, 2, 0.0), (2, 40, 5, 0.0), (4, 4, 6, 0.5), (5, 3, 4, -1.0)])
def test_thin_rotation_equals_full_rotation(n_in, h, n_out, lam):
    """Same seed, same weights as the full-rotation construction (to rounding): the random stream is kept."""
    W1, W2 = rl.balanced_init(n_in, h, n_out, lam, scale=0.3, seed=11)
    R1, R2 = _old_rotation_init(n_in, h, n_out, lam, 0.3, 11)
    np.testing.assert_allclose(W1, R1, rtol=0, atol=1e-14 * np.abs(R1).max())
    np.testing.assert_allclose(W2, R2, rtol=0, atol=1e-14 * np.abs(R2).max())


@pytest.mark.parametrize("h", [3000, 20_000, 50_000])
def test_wide_init_bounded_memory_and_balanced(h):
    """A dense N_h x N_h matrix would be 72 MB / 3.2 GB / 18.6 GiB (the issue's case); the peak stays at MBs.

    N_h = 3000 takes the stream-compatible path (same draws as the full rotation), wider the thin draw.
    """
    import tracemalloc

    from rsa_lineardyn.dynamics.initialization import FULL_STREAM_MAX

    assert (h <= FULL_STREAM_MAX) == (h == 3000)
    n_in, n_out = 3, 2
    tracemalloc.start()
    try:
        W1, W2 = rl.balanced_init(n_in, h, n_out, 0.0, scale=0.5, seed=3)
        bal = rl.measure_balance(W1, W2)
        task = random_white_task(n_in, n_out, seed=1)
        A1, A2 = rl.task_aligned_init(task, h, 0.0, scale=0.5)
        bal_a = rl.measure_balance(A1, A2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.05 * h * h * 8, f"peak {peak / 2**20:.1f} MiB"
    assert peak < 64 * 8 * h * (n_in + n_out), f"peak {peak / 2**20:.1f} MiB"  # a few n_hidden x r factors
    assert W1.shape == (h, n_in) and W2.shape == (n_out, h)
    assert abs(bal.lam) < 1e-14 and bal.relative_deviation < 1e-13
    assert abs(bal_a.lam) < 1e-14 and bal_a.relative_deviation < 1e-13
    # balance checked independently of measure_balance, via the small Gram matrices:
    # ||W2^T W2 - W1 W1^T||_F^2 = ||W2 W2^T||^2 + ||W1^T W1||^2 - 2 ||W2 W1||^2
    sq = (np.linalg.norm(W2 @ W2.T) ** 2 + np.linalg.norm(W1.T @ W1) ** 2 - 2 * np.linalg.norm(W2 @ W1) ** 2)
    assert abs(sq) < 1e-12 * np.linalg.norm(W2 @ W2.T) ** 2
    # the product has the singular values of a Gaussian product at scale 0.5 (order 0.25 sqrt(h))
    s = np.linalg.svd(W2 @ W1, compute_uv=False)
    assert 0.05 * np.sqrt(h) < s[0] < 1.0 * np.sqrt(h)
    # the hidden rotation is random, not aligned with the unit axes: every unit carries a small share
    rows = np.sum(W1**2, axis=1)
    assert rows.max() < 20 * rows.sum() / h * np.log(h)
    # task-aligned: hidden unit j carries mode j, the other units nothing
    assert np.count_nonzero(np.abs(A1).sum(axis=1)) == min(n_in, n_out)


@pytest.mark.parametrize("h,n_in,n_out,lam", [(300, 3, 2, 0.0), (300, 2, 4, 0.7), (6, 4, 3, -0.3), (50, 5, 5, 0.0)])
def test_measure_balance_thin_equals_dense(h, n_in, n_out, lam):
    """The thin-factor balance meter equals the dense formula, for balanced and unbalanced weights."""
    rng = np.random.default_rng(h + n_in)
    for W1, W2 in [(rng.standard_normal((h, n_in)), rng.standard_normal((n_out, h))),
                   (rng.standard_normal((h, n_in)) * 1e-3, rng.standard_normal((n_out, h)) * 1e3)]:
        D = W2.T @ W2 - W1 @ W1.T
        lam_ref = np.trace(D) / h
        dev_ref = np.linalg.norm(D - lam_ref * np.eye(h))
        rel_ref = dev_ref / (np.linalg.norm(W2.T @ W2) + np.linalg.norm(W1 @ W1.T))
        bal = rl.measure_balance(W1, W2)
        assert bal.lam == pytest.approx(lam_ref, rel=1e-12, abs=1e-12 * np.abs(D).max())
        assert bal.deviation == pytest.approx(dev_ref, rel=1e-10)
        assert bal.relative_deviation == pytest.approx(rel_ref, rel=1e-10)


def test_measure_balance_extreme_units():
    """Exact power-of-two prescaling: 1e200 weights do not overflow, 1e-200 weights do not underflow."""
    W1, W2 = rl.balanced_init(3, 2, 3, 0.5, scale=0.3, seed=0)
    ref = rl.measure_balance(W1, W2)
    for c in (1e100, 1e-100, 1e-160):
        bal = rl.measure_balance(W1 * c, W2 * c)
        assert bal.lam == pytest.approx(0.5 * c * c, rel=1e-13)
        assert bal.relative_deviation == pytest.approx(ref.relative_deviation, rel=1e-6, abs=1e-15)
    with pytest.raises(rl.InputValueError, match="overflow float64"):
        rl.measure_balance(W1 * 1e200, W2 * 1e200)


# ---------------------------------------------------------------- numeric arguments (issue 13 item 8)


@pytest.mark.parametrize("fn", ["balanced", "aligned"])
def test_init_scale_out_of_range_is_a_clear_error(fn):
    task = rl.Task(np.eye(3) * 3**0.5, np.diag([3.0, 2, 1]) * 3**0.5)

    def call(**kw):
        if fn == "balanced":
            return rl.balanced_init(3, 2, 3, seed=0, **kw)
        return rl.task_aligned_init(task, 2, **kw)

    for bad in (1e160, 1e155, 1e76, -1e-3):
        with pytest.raises(rl.InputValueError, match=r"`scale`"):
            call(scale=bad)
    with pytest.raises(rl.InputValueError, match=r"`scale` = 1e\+160 is too large.*1e\+75.*float64"):
        call(scale=1e160)
    with pytest.raises(rl.InputValueError, match=r"`scale` = 1e-200 is too small: it must be 0 or 1e-75"):
        call(scale=1e-200)
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(rl.InputValueError, match=r"`scale` must be a finite number"):
            call(scale=bad)
    for bad in (1 + 2j, np.complex128(0.1), True, "0.1", [0.1]):
        with pytest.raises(rl.InputTypeError, match=r"`scale`"):
            call(scale=bad)
    # the edges of the range and zero are accepted and give finite, balanced weights
    for ok in (0.0, 1e-75, 1e75, np.float32(0.2), 1):
        W1, W2 = call(scale=ok)
        assert np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))
    W1, W2 = call(scale=1e75)
    assert np.linalg.svd(W2 @ W1, compute_uv=False)[0] > 1e149
    assert rl.measure_balance(W1, W2).is_balanced


@pytest.mark.parametrize("fn", ["balanced", "aligned"])
def test_init_lam_out_of_range_is_a_clear_error(fn):
    task = rl.Task(np.eye(3) * 3**0.5, np.diag([3.0, 2, 1]) * 3**0.5)

    def call(**kw):
        if fn == "balanced":
            return rl.balanced_init(3, 2, 3, seed=0, **kw)
        return rl.task_aligned_init(task, 2, **kw)

    for bad in (1e151, -1e200):
        with pytest.raises(rl.InputValueError, match=r"`lam` = .* is too large: it must be \|lam\| <= 1e\+150"):
            call(lam=bad)
    for bad in (np.nan, np.inf):
        with pytest.raises(rl.InputValueError, match=r"`lam` must be a finite number"):
            call(lam=bad)
    for bad in (0.5j, True, np.bool_(False), "a", None):
        with pytest.raises(rl.InputTypeError, match=r"`lam`"):
            call(lam=bad)
    for ok in (1e150, -1e150, 1e-300, 0):
        W1, W2 = call(lam=ok)
        bal = rl.measure_balance(W1, W2)
        assert np.isfinite(bal.lam) and bal.is_balanced
        assert bal.lam == pytest.approx(ok, rel=1e-12, abs=1e-12)


def test_init_integer_and_weight_arguments_complex_or_odd():
    task = rl.Task(np.eye(3) * 3**0.5, np.diag([3.0, 2, 1]) * 3**0.5)
    for bad in (2 + 0j, 2.5, "2", np.nan):
        with pytest.raises(rl.InputTypeError, match="`n_hidden`"):
            rl.balanced_init(3, bad, 3, seed=0)
        with pytest.raises(rl.InputTypeError, match="`n_hidden`"):
            rl.task_aligned_init(task, bad)
    W1, W2 = rl.task_aligned_init(task, 2)
    with pytest.raises(rl.InputTypeError, match="`W1` holds complex"):
        rl.measure_balance(W1 + 1j, W2)
    with pytest.raises(rl.InputValueError, match="`W2` contains 2 non-finite"):
        rl.measure_balance(W1, np.where(np.eye(3, 2) > 0, np.inf, W2))
    # zero scale is allowed and documented: the smallest weights with the balance
    Z1, Z2 = rl.task_aligned_init(task, 2, lam=0.0, scale=0.0)
    assert not Z1.any() and not Z2.any()
    B1, B2 = rl.balanced_init(3, 2, 3, lam=0.5, scale=0.0, seed=0)
    assert np.allclose(B2.T @ B2, 0.5 * np.eye(2)) and not (B2 @ B1).any()


@pytest.mark.parametrize("scale", [0.1, 3.0, 233.5])
@pytest.mark.parametrize("lam", [-0.05209330747831274, -0.123456789, -7.5, 0.0])
def test_reported_lam_moves_by_rounding_only_and_keeps_the_dynamics_balanced(lam, scale):
    """Sweep config 3342 (scale 233, lam -0.052, Syx = 0): a decimal snap coarser than the weights' rounding
    moved lam by 2.5e-9 and broke the balance of the exact solution at t = inf (residual 1.3e-9)."""
    W1, W2 = rl.balanced_init(6, 5, 3, lam=lam, scale=scale, seed=3)
    m = (np.sum(W1**2) + np.sum(W2**2)) / 5
    raw = (np.sum(W2**2) - np.sum(W1**2)) / 5
    got = rl.measure_balance(W1, W2).lam
    assert abs(got - raw) <= 4 * np.finfo(float).eps * m
    task = rl.Task(np.sqrt(6.0) * np.eye(6), np.zeros((3, 6)))  # whitened (Sxx = I), Syx = 0
    traj = rl.exact_dynamics(task, W1, W2, [0.0, 30.0, np.inf])
    J = np.diag(np.r_[-np.ones(6), np.ones(3)])
    for P in traj.qqt:
        scale_P = np.linalg.norm(P) * (np.linalg.norm(P) + abs(got) + 1.0)
        assert np.linalg.norm(P @ J @ P - got * P) <= 1e-10 * scale_P
