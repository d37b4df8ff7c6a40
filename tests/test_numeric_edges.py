"""Issue 20: bad numeric inputs get a clear error or a right answer, never a silent wrong one.

Each test uses an input that failed (silently wrong, NaN, raw numpy/scipy error, or minutes of silence)
on the code before the fix.
"""

import warnings

import mpmath
import numpy as np
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn import InputTypeError, InputValueError


def _diag_task():
    return rl.Task(np.eye(3) * np.sqrt(3), np.diag([3.0, 2.0, 1.0]) * np.sqrt(3))  # Syx = diag(3, 2, 1), white


def _aligned_sqrt_strength(s, log_c, t):
    """``sqrt(a_k(t))`` for a task-aligned lam = 0 start with every weight entry ``c`` (``a_k(0) = c**2``).

    Closed form of ``da/dt = 2 a (s - a)``: ``a = s / (1 + (s / a0 - 1) e^{-2 s t})``, in mpmath (60 digits),
    so ``a0 = c**2`` far below the float64 range is no problem.
    """
    mpmath.mp.dps = 60
    out = []
    for sk in s:
        sk = mpmath.mpf(float(sk))
        a0 = mpmath.exp(2 * mpmath.mpf(log_c))
        a = sk if t == np.inf else sk / (1 + (sk / a0 - 1) * mpmath.exp(-2 * sk * mpmath.mpf(float(t))))
        out.append(float(mpmath.sqrt(a)))
    return np.array(out)


def _scaled_norm(v):
    """Euclidean norm without underflow of the squares (v scaled by a power of two first)."""
    m = float(np.max(np.abs(v)))
    if m == 0:
        return 0.0
    e = int(np.frexp(m)[1])
    return float(np.ldexp(np.linalg.norm(np.ldexp(v, -e)), e))


# ---------------------------------------------------------------------------------------------------------------
# 1. exact_dynamics from initial weights whose squares underflow (entries <= 1e-158)
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("c", [1e-160, 1e-200, 1e-300])
def test_exact_dynamics_tiny_initial_weights_match_closed_form(c):
    """Before: O(1) wrong (nothing learned, even at t = inf) once the graded QR was needed (t >= 150 here)."""
    task = _diag_task()
    U, s, Vt = task.svd()
    W1, W2 = c * Vt, c * U  # task-aligned, lam = 0, every mode starts at a0 = c**2 (underflows)
    times = [0.0, 1.0, 50.0, 150.0, 200.0, 300.0, 400.0, 1000.0, np.inf]
    traj = rl.exact_dynamics(task, W1, W2, times)
    assert np.all(np.isfinite(traj.factors))
    for i, t in enumerate(times):
        ref = _aligned_sqrt_strength(s, np.log(c), t)
        # the input block of the factor X (P = X X^T) projected on mode k has norm sqrt(a_k)
        got = np.array([_scaled_norm(traj.factors[i][:3].T @ Vt[k]) for k in range(3)])
        np.testing.assert_allclose(got, ref, rtol=1e-12, err_msg=f"c={c}, t={t}")
    # the network function is learned: W2 W1 -> Syx
    np.testing.assert_allclose(traj.w2w1[-1], task.sigma_yx, atol=1e-14)


# ---------------------------------------------------------------------------------------------------------------
# 2. tiny (subnormal) targets
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("y", [1e-160, 1e-310])
def test_tiny_targets_refused_with_the_fix(y):
    """Before: Task accepted them and exact_dynamics returned NaN at t = inf (y = 1e-310) or a loss built on a
    subnormal Y Y^T / P (y = 1e-160)."""
    with pytest.raises(InputValueError, match=r"`Y` is too small: .*underflows.*Multiply `Y` by a constant"):
        rl.Task(np.eye(3) * np.sqrt(3), np.diag([3.0, 2.0, 1.0]) * np.sqrt(3) * y)


def test_small_but_representable_targets_still_give_the_fixed_point():
    task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3.0, 2.0, 1.0]) * np.sqrt(3) * 1e-150)
    W1, W2 = rl.balanced_init(3, 3, 3, lam=0.0, scale=0.1, seed=0)
    traj = rl.exact_dynamics(task, W1 * 1e-80, W2 * 1e-80, [0.0, np.inf])
    np.testing.assert_allclose(traj.w2w1[-1], task.sigma_yx, rtol=0, atol=1e-14 * 3e-150)


# ---------------------------------------------------------------------------------------------------------------
# 3. gram_to_rdm: asymmetric and indefinite matrices
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("measure", ["euclidean", "cosine"])
def test_gram_to_rdm_refuses_asymmetric(measure):
    """Before: silently used K_ij for i < j and K_ji for i > j (an asymmetric 'RDM')."""
    with pytest.raises(InputValueError, match=r"`gram` must be symmetric .*\(K \+ K\.T\) / 2"):
        rl.gram_to_rdm(np.array([[1.0, 0.9, 0.0], [0.1, 1.0, 0.0], [0.0, 0.0, 1.0]]), measure)


@pytest.mark.parametrize("measure", ["euclidean", "cosine"])
def test_gram_to_rdm_refuses_indefinite(measure):
    """Before: [[1, 2], [2, 1]] gave a squared distance -2 clipped to 0 (euclidean) or cosine -1 clipped, no word."""
    with pytest.raises(InputValueError, match=r"`gram` must be positive semi-definite.*smallest eigenvalue is -0\.333"):
        rl.gram_to_rdm(np.array([[1.0, 2.0], [2.0, 1.0]]), measure)
    stack = np.stack([np.eye(3), np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])])
    with pytest.raises(InputValueError, match=r"matrix 1 of the stack"):
        rl.gram_to_rdm(stack, measure)


def test_gram_to_rdm_passes_rounding_and_internal_grams():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2, 6))  # rank 2: four zero eigenvalues, computed as +-1e-16
    G = A.T @ A
    G_noisy = G + 1e-14 * rng.standard_normal(G.shape)  # rounding-level asymmetry and negative eigenvalues
    np.testing.assert_allclose(rl.gram_to_rdm(G_noisy), rl.gram_to_rdm(G), atol=1e-12)
    sem = rl.load_semantic_task()
    W1, W2 = rl.balanced_init(sem.n_in, 3, sem.n_out, scale=0.1, seed=1)
    for traj in (rl.exact_dynamics(sem, W1, W2, [0.0, 1.0, 10.0, np.inf]), rl.simulate(sem, W1, W2, [0.0, 2.0])):
        for measure in ("euclidean", "cosine"):
            assert np.all(np.isfinite(rl.trajectory_rdms(traj, measure=measure)))


# ---------------------------------------------------------------------------------------------------------------
# 4. simulate: step counts beyond int64, long gradient flow, diverging gradient descent
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def semantic():
    sem = rl.load_semantic_task()
    W1, W2 = rl.balanced_init(sem.n_in, 3, sem.n_out, scale=0.1, seed=1)
    return sem, W1, W2


def test_gd_step_count_beyond_int64_is_refused_whatever_max_steps(semantic):
    """Before: with max_steps raised, 1e19 steps overflowed the int64 cast (a RuntimeWarning, then a trajectory at
    t = -9.2e18 with the initial weights)."""
    sem, W1, W2 = semantic
    with pytest.raises(InputValueError, match=r"need 1e\+19 gradient-descent steps, beyond the largest step count "
                                              r"that can be represented.*exact_dynamics"):
        rl.simulate(sem, W1, W2, [1e19], lr=1.0, max_steps=10**19)


def test_flow_to_long_times_is_refused_up_front_with_an_estimate(semantic):
    """Before: t = 1e6 ran for ~5 minutes (about 7e5 DOP853 steps) without a word."""
    import time

    sem, W1, W2 = semantic
    t0 = time.perf_counter()
    with pytest.raises(InputValueError, match=r"(?s)gradient flow to `times` up to 1e\+06.*needs at least about "
                                              r"7\.2\de\+05 integrator steps.*estimated run time.*exact_dynamics"):
        rl.simulate(sem, W1, W2, [1e6], method="flow")
    assert time.perf_counter() - t0 < 5.0
    # the cap is the documented default and can be raised
    assert rl.simulate(sem, W1, W2, [1.0], method="flow").times[0] == 1.0


def test_diverging_gradient_descent_is_refused(semantic):
    """Before: lr = 50 returned a finite trajectory whose last loss was 1.4e21 (a 'valid' result)."""
    sem, W1, W2 = semantic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the coarse-step warning
        with pytest.raises(InputValueError, match=r"gradient descent diverged: the loss grew from 5\.83\d* at step 0 "
                                                  r"to 1\.44\d*e\+21 at step 2.*`lr` = 50 is too large"):
            rl.simulate(sem, W1, W2, [0.0, 1.0, 10.0, 100.0], lr=50)
    # a stable run is untouched: its loss decreases
    sim = rl.simulate(sem, W1, W2, [0.0, 5.0, 20.0], lr=0.05)
    assert np.all(np.diff(sim.loss) < 0)


# ---------------------------------------------------------------------------------------------------------------
# 5. figure 1 demo with a diverging learning rate
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lr", ["50", "3"])
def test_figure1_demo_reports_divergence(tmp_path, capsys, lr):
    """Before: `figure1 --lr 50` reported 8.9e-16 agreement (no step was ever taken) and wrote the figure."""
    from rsa_lineardyn.cli.app import main as cli_main
    from rsa_lineardyn.demos.figure1 import main as demo_main

    assert cli_main(["figure1", "--out-dir", str(tmp_path / "cli"), "--lr", lr]) != 0
    err = capsys.readouterr().err
    assert f"Figure 1 at `lr` = {lr}" in err and "diverge" in err and "8.9" not in err
    assert not (tmp_path / "cli" / "figure1.png").exists()
    assert demo_main(["--out", str(tmp_path / "demo.png"), "--lr", lr]) == 1
    assert "diverge" in capsys.readouterr().err
    assert not (tmp_path / "demo.png").exists()


# ---------------------------------------------------------------------------------------------------------------
# 6. neg_riem_dist: LinAlgError and speed
# ---------------------------------------------------------------------------------------------------------------
def _sq_euclidean_rdms(rng, n, k, identical=False, dim=10):
    from scipy.spatial.distance import pdist

    out = []
    for _ in range(k):
        X = rng.standard_normal((n, dim))
        if identical:
            X[1] = X[0]  # conditions 0 and 1 have the same pattern
        out.append(pdist(X, "sqeuclidean"))
    return np.array(out)


def test_neg_riem_dist_on_singular_second_moment_names_method_and_rule():
    """Before: numpy.linalg.LinAlgError 'The leading minor of order 1 of B is not positive definite' from scipy."""
    from rsa_lineardyn.representations.similarity import score_matrix

    rng = np.random.default_rng(0)
    pred = _sq_euclidean_rdms(rng, 8, 1)
    # the data RDM has two identical conditions (e.g. a model prediction used as simulated data)
    data = _sq_euclidean_rdms(rng, 8, 1, identical=True)
    with pytest.raises(InputValueError, match=r"`method` = 'neg_riem_dist' cannot compare these RDMs: data RDM\(s\) "
                                              r"\[0\] imply a second-moment matrix that is not positive definite.*"
                                              r"dissimilarity 0.*'corr'"):
        score_matrix(pred, data, method="neg_riem_dist")
    # more conditions than pattern dimensions: also singular, also clear
    with pytest.raises(InputValueError, match=r"more conditions than pattern dimensions"):
        score_matrix(pred, _sq_euclidean_rdms(rng, 8, 1, dim=3), method="neg_riem_dist")
    # valid RDMs still score (finite, <= 0)
    ok = score_matrix(_sq_euclidean_rdms(rng, 4, 1), _sq_euclidean_rdms(rng, 4, 2), method="neg_riem_dist")
    assert ok.shape == (1, 2) and np.all(np.isfinite(ok)) and np.all(ok <= 0)


def test_neg_riem_dist_warns_once_that_it_is_slow(monkeypatch):
    from rsa_lineardyn.representations import similarity as scoring

    monkeypatch.setattr(scoring._score_matrix, "_riem_warned", False, raising=False)
    rng = np.random.default_rng(1)
    pred, data = _sq_euclidean_rdms(rng, 4, 10), _sq_euclidean_rdms(rng, 4, 10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scoring.score_matrix(pred, data, method="neg_riem_dist")
        scoring.score_matrix(pred, data, method="neg_riem_dist")
        scoring.score_matrix(pred[:2], data[:2], method="neg_riem_dist")  # small calls never warn
    slow = [w for w in caught if "is slow" in str(w.message)]
    assert len(slow) == 1 and issubclass(slow[0].category, UserWarning)
    assert "0.04 s per pair" in str(slow[0].message) and "100 pairs" in str(slow[0].message)
    assert slow[0].filename == __file__  # points at the caller's line


# ---------------------------------------------------------------------------------------------------------------
# 7. huge seeds
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [2**70, 2**63, np.uint64(2**64 - 1)])
def test_huge_seeds_are_refused(seed):
    """Before: accepted (numpy seeds with any int), and became object-dtype arrays where seeds are stored."""
    from rsa_lineardyn.inference.recovery import simulate_noise_rdms

    assert np.asarray([int(seed)]).dtype != np.int64  # what a stored seed turned into (object or uint64)
    with pytest.raises(InputValueError, match=r"`seed` = \d+ is too large: seeds must be below 2\*\*63"):
        rl.balanced_init(3, 2, 3, seed=seed)
    with pytest.raises(InputValueError, match=r"`seed` = \d+ is too large"):
        simulate_noise_rdms(_diag_task(), [0.0, 1.0], seed=seed)


def test_largest_seed_and_generators_still_work():
    W1, _ = rl.balanced_init(3, 2, 3, seed=2**63 - 1)
    assert W1.dtype == np.float64
    with pytest.raises(InputTypeError, match="non-negative int"):
        rl.balanced_init(3, 2, 3, seed=-1)
    rl.balanced_init(3, 2, 3, seed=np.random.default_rng(2**70))  # a Generator carries any seed
