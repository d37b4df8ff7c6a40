"""Representations over learning: hidden/output RSM, NTK, outputs, Gram-to-RDM."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

import rsa_lineardyn as rl
from rsa_lineardyn.representations.geometry import REPRESENTATIONS

from conftest import random_white_task

TIMES = np.array([0.0, 0.3, 1.0, 2.5, 6.0])


def _rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


@pytest.fixture(scope="module")
def pair():
    """An exact and a gradient-flow trajectory from the same random lambda-balanced start."""
    task = random_white_task(5, 4, seed=3)
    W1, W2 = rl.balanced_init(5, 4, 4, lam=0.4, scale=0.3, seed=1)
    exact = rl.exact_dynamics(task, W1, W2, TIMES)
    flow = rl.simulate(task, W1, W2, TIMES, method="flow")
    return task, exact, flow


# -- against the simulator (gradient flow) ------------------------------------------------------
@pytest.mark.parametrize("rep", REPRESENTATIONS)
def test_exact_matches_gradient_flow(pair, rep):
    _, exact, flow = pair
    assert _rel(rl.representation_gram(exact, rep), rl.representation_gram(flow, rep)) < 1e-8


def test_network_output_matches_flow_and_loss(pair):
    task, exact, flow = pair
    assert _rel(rl.network_output(exact), rl.network_output(flow)) < 1e-8
    W1s, W2s = flow.weights
    out = W2s @ W1s @ task.X
    np.testing.assert_allclose(rl.network_output(flow), out, rtol=1e-12, atol=1e-12)
    loss = 0.5 * np.mean(np.sum((out - task.Y) ** 2, axis=1), axis=1)
    np.testing.assert_allclose(flow.loss, loss, rtol=1e-10)


def test_hidden_and_output_rsm_from_real_weights(pair):
    task, _, flow = pair
    W1s, W2s = flow.weights
    for k in range(len(TIMES)):
        H = W1s[k] @ task.X
        np.testing.assert_allclose(rl.hidden_rsm(flow)[k], H.T @ H, rtol=1e-10, atol=1e-10)
        ref = task.Y.T @ np.linalg.pinv(W2s[k] @ W2s[k].T) @ task.Y
        np.testing.assert_allclose(rl.output_rsm(flow)[k], ref, rtol=1e-8, atol=1e-8)


# -- NTK against J J^T of the simulated network ---------------------------------------------------
def _jacobian(W1, W2, X):
    """d f / d(W1, W2) for f[o * P + i] = (W2 W1 x_i)_o by central differences (exact: f is bilinear)."""
    params = np.concatenate([W1.ravel(), W2.ravel()])
    n1 = W1.size

    def f(p):
        A = p[:n1].reshape(W1.shape)
        B = p[n1:].reshape(W2.shape)
        return (B @ A @ X).ravel()  # row-major: index o * P + i

    h = 1e-3
    J = np.empty((f(params).size, params.size))
    for k in range(params.size):
        e = np.zeros_like(params)
        e[k] = h
        J[:, k] = (f(params + e) - f(params - e)) / (2 * h)
    return J


def test_ntk_equals_jacobian_gram(pair):
    task, exact, flow = pair
    W1s, W2s = flow.weights
    K_flow = rl.ntk(flow)
    K_exact = rl.ntk(exact)
    for k in range(len(TIMES)):
        J = _jacobian(W1s[k], W2s[k], task.X)
        ref = J @ J.T
        assert _rel(K_flow[k], ref) < 1e-9
        assert _rel(K_exact[k], ref) < 1e-8
    assert K_flow.shape == (len(TIMES), task.n_out * task.P, task.n_out * task.P)


# -- pseudo-inverse cut-off ----------------------------------------------------------------------
def _traj_from_w2(task, W2, W1=None):
    n_hidden = W2.shape[1]
    W1 = np.zeros((n_hidden, task.n_in)) if W1 is None else W1
    K = np.concatenate([W1.T, W2], axis=0)[None]
    return rl.Trajectory([0.0], K, method="gradient_flow", task=task, n_hidden=n_hidden, lam=0.0, tau=1.0)


def test_output_rsm_rank_cutoff():
    task = random_white_task(4, 3, seed=0)
    U, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
    # W2 W2^T has eigenvalues 1, 1e-13 and 0 (bottleneck of width 2)
    W2 = U[:, :2] * np.sqrt([1.0, 1e-13])
    traj = _traj_from_w2(task, W2)
    y0 = U[:, 0] @ task.Y
    y1 = U[:, 1] @ task.Y
    # default cut-off 1e-10 (relative to the largest eigenvalue): the 1e-13 direction is dropped, not amplified
    np.testing.assert_allclose(rl.output_rsm(traj)[0], np.outer(y0, y0), rtol=1e-9, atol=1e-9)
    # eigenvalue 1e-8 is above the default cut-off: kept with weight 1e8; rcond=1e-6 drops it
    traj = _traj_from_w2(task, U[:, :2] * np.sqrt([1.0, 1e-8]))
    kept = rl.output_rsm(traj)[0]
    np.testing.assert_allclose(kept, np.outer(y0, y0) + 1e8 * np.outer(y1, y1), rtol=1e-6)
    np.testing.assert_allclose(rl.output_rsm(traj, rcond=1e-6)[0], np.outer(y0, y0), rtol=1e-9, atol=1e-9)
    # W2 = 0: the pseudo-inverse is 0
    zero = _traj_from_w2(task, np.zeros((3, 2)))
    assert np.all(rl.output_rsm(zero)[0] == 0)
    with pytest.raises(ValueError, match="rcond"):
        rl.output_rsm(traj, rcond=-1)


# -- Gram to RDM ------------------------------------------------------------------------------
def test_gram_to_rdm_matches_scipy():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((7, 5))  # 5 items, 7 features
    G = A.T @ A
    np.testing.assert_allclose(rl.gram_to_rdm(G, "euclidean"), cdist(A.T, A.T, "sqeuclidean"), atol=1e-10)
    np.testing.assert_allclose(rl.gram_to_rdm(G, "cosine"), cdist(A.T, A.T, "cosine"), atol=1e-12)
    stack = rl.gram_to_rdm(np.stack([G, 2 * G]), "euclidean")
    np.testing.assert_allclose(stack[1], 2 * stack[0])


def test_cosine_zero_norm_items_are_defined():
    A = np.array([[1.0, 0.0, 0.0, 2.0], [0.0, 1.0, 0.0, 0.0]])  # item 2 is zero
    G = A.T @ A
    D = rl.gram_to_rdm(G, "cosine")
    assert np.all(np.isfinite(D))
    np.testing.assert_array_equal(D[2], [1.0, 1.0, 0.0, 1.0])
    assert D[0, 3] == pytest.approx(0.0)
    # all items zero (t = 0 from a zero start): all off-diagonal distances are 1, diagonal 0
    Z = rl.gram_to_rdm(np.zeros((3, 3)), "cosine")
    np.testing.assert_array_equal(Z, 1.0 - np.eye(3))
    assert np.all(rl.gram_to_rdm(np.zeros((3, 3)), "euclidean") == 0)


def test_gram_to_rdm_errors():
    with pytest.raises(ValueError, match="correlation"):
        rl.gram_to_rdm(np.eye(3), "correlation")
    with pytest.raises(ValueError, match="measure"):
        rl.gram_to_rdm(np.eye(3), "manhattan")
    with pytest.raises(ValueError, match="gram"):
        rl.gram_to_rdm(np.ones((3, 4)))


# -- correlation distance and the hidden rotation ----------------------------------------------
def test_correlation_refused_for_exact_trajectory(pair):
    _, exact, _ = pair
    with pytest.raises(ValueError, match="rotation of the hidden units"):
        rl.trajectory_rdms(exact, "hidden", "correlation")
    with pytest.raises(ValueError, match="correlation"):
        rl.trajectory_rdms(exact, "ntk", "correlation")


def test_correlation_for_simulated_trajectory(pair):
    task, exact, flow = pair
    H = flow.weights[0][-1] @ task.X
    D = rl.trajectory_rdms(flow, "hidden", "correlation")[-1]
    np.testing.assert_allclose(D, cdist(H.T, H.T, "correlation"), atol=1e-10)
    # outputs are named features: defined for exact trajectories too, and equal to the simulated one
    out = rl.trajectory_rdms(exact, "prediction", "correlation")
    np.testing.assert_allclose(out, rl.trajectory_rdms(flow, "prediction", "correlation"), atol=1e-7)
    with pytest.raises(ValueError, match="output"):
        rl.trajectory_rdms(flow, "output", "correlation")


def test_euclidean_rdm_basis_free(pair):
    """Euclidean/cosine RDMs of exact and simulated runs agree although the exact factors are rotated."""
    _, exact, flow = pair
    for measure in ("euclidean", "cosine"):
        a = rl.trajectory_rdms(exact, "hidden", measure)
        b = rl.trajectory_rdms(flow, "hidden", measure)
        assert _rel(a, b) < 1e-7


def test_bad_trajectory_type():
    with pytest.raises(TypeError, match="traj"):
        rl.hidden_rsm(np.eye(3))
    task = random_white_task(3, 2)
    W1, W2 = rl.balanced_init(3, 2, 2, seed=0)
    traj = rl.simulate(task, W1, W2, [0.0, 1.0], method="flow")
    with pytest.raises(ValueError, match="representation"):
        rl.representation_gram(traj, "visual")


# -- memory-bounded NTK (issue 11) ---------------------------------------------------------------
def test_ntk_series_equals_dense_path_and_jacobian(pair):
    """Every way of reading the lazy NTK gives the dense NTK, which is J J^T of the real weights."""
    from rsa_lineardyn.representations.geometry import _ntk_dense, hidden_rsm

    task, exact, flow = pair
    for traj in (exact, flow):
        dense = _ntk_dense(hidden_rsm(traj), traj.w2w2t, task.X.T @ task.X)  # the previous path
        series = rl.ntk_series(traj)
        assert isinstance(series, rl.NTKSeries) and len(series) == len(TIMES)
        assert series.shape == dense.shape and series.nbytes == dense.nbytes
        np.testing.assert_array_equal(rl.ntk(traj), dense)
        np.testing.assert_array_equal(series.to_array(), dense)
        for K, ref in zip(series, dense, strict=True):
            np.testing.assert_array_equal(K, ref)
        for k in range(len(TIMES)):
            np.testing.assert_array_equal(series[k], dense[k])
        np.testing.assert_array_equal(series[-1], dense[-1])
        np.testing.assert_array_equal(series[1:4].to_array(), dense[1:4])
        np.testing.assert_array_equal(series[1:4].times, TIMES[1:4])
        per_time = dense[0].nbytes
        blocks = list(series.chunks(max_memory=2.5 * per_time))  # two time points per block
        assert [sl.stop - sl.start for sl, _ in blocks] == [2, 2, 1]
        np.testing.assert_array_equal(np.concatenate([G for _, G in blocks]), dense)
    W1s, W2s = flow.weights
    series = rl.ntk_series(exact)
    for k in range(len(TIMES)):
        J = _jacobian(W1s[k], W2s[k], task.X)
        assert _rel(series[k], J @ J.T) < 1e-8
    with pytest.raises(IndexError):
        series[len(TIMES)]
    with pytest.raises(rl.InputTypeError, match="int"):
        series[1.0]
    assert "NTKSeries(5 time points" in repr(series)


@pytest.mark.parametrize("rep", REPRESENTATIONS)
@pytest.mark.parametrize("measure", ["euclidean", "cosine"])
def test_trajectory_rdms_in_blocks_equals_bulk(pair, rep, measure, monkeypatch):
    """Filling the result block by block (forced by a tiny working memory) changes nothing."""
    import rsa_lineardyn.representations.geometry as reps

    _, exact, flow = pair
    for traj in (exact, flow):
        bulk = rl.gram_to_rdm(rl.representation_gram(traj, rep), measure)
        monkeypatch.setattr(reps, "WORK_MEMORY", 1)  # one time point per block
        blocked = rl.trajectory_rdms(traj, rep, measure)
        monkeypatch.undo()
        np.testing.assert_allclose(blocked, bulk, rtol=1e-14, atol=1e-14 * np.max(np.abs(bulk)))
        np.testing.assert_allclose(rl.trajectory_rdms(traj, rep, measure), bulk, rtol=1e-14,
                                   atol=1e-14 * np.max(np.abs(bulk)))


def test_ntk_budget_errors_name_size_and_fix(pair):
    task, exact, _ = pair
    T, N = len(TIMES), task.n_out * task.P
    for call in (lambda m: rl.ntk(exact, max_memory=m),
                 lambda m: rl.representation_gram(exact, "ntk", max_memory=m),
                 lambda m: rl.trajectory_rdms(exact, "ntk", max_memory=m),
                 lambda m: rl.ntk_series(exact).to_array(max_memory=m)):
        with pytest.raises(rl.InputValueError, match=rf"{T} x {N} x {N} = .*above the memory budget `max_memory`"
                                                     r".*ntk_series.*max_memory=<bytes>"):
            call(1000)
        assert call(np.inf).shape == (T, N, N)
        assert call(8 * T * N * N).shape == (T, N, N)  # exactly at the budget
        for bad in (0, -1.0, np.nan):
            with pytest.raises(rl.InputValueError, match="`max_memory`"):
                call(bad)
        for bad in ("1GB", True, 1j):
            with pytest.raises(rl.InputTypeError, match="`max_memory`"):
                call(bad)
    # the budget concerns NTK-sized arrays only: other representations ignore it
    assert rl.representation_gram(exact, "hidden", max_memory=1).shape == (T, task.P, task.P)


def test_ntk_of_92_images_at_1000_times_is_a_clear_error_not_7_6_gib():
    """The issue's case: 1000 time points of the 92-image NTK is one 7.63 GiB array; refused by default."""
    task = rl.load_92images_task()
    W1, W2 = rl.task_aligned_init(task, 5, scale=0.1)
    traj = rl.exact_dynamics(task, W1, W2, np.geomspace(0.01, 20.0, 1000))
    series = rl.ntk_series(traj)
    assert series.shape == (1000, 1012, 1012) and series.nbytes == 8 * 1000 * 1012**2
    for call in (rl.ntk, lambda tr: rl.trajectory_rdms(tr, "ntk"), lambda tr: rl.to_rdms(tr, "ntk")):
        with pytest.raises(rl.InputValueError, match=r"1000 x 1012 x 1012 = 7.63 GiB, above the memory budget "
                                                     r"`max_memory` = 2 GiB"):
            call(traj)
    # one time point from the lazy series equals the dense NTK of that time point alone
    np.testing.assert_array_equal(series[500], rl.ntk(traj.subset([500]))[0])


def test_ntk_rdms_peak_memory_bounded(monkeypatch):
    """tracemalloc: blocked RDMs peak at the result plus one block; streaming peaks near one time point."""
    import tracemalloc

    import rsa_lineardyn.representations.geometry as reps

    task = random_white_task(60, 8, seed=5)  # P = 60 items, 8 outputs: NTK of 480 x 480
    W1, W2 = rl.balanced_init(task.n_in, 4, task.n_out, 0.0, scale=0.2, seed=2)
    traj = rl.exact_dynamics(task, W1, W2, np.linspace(0.0, 5.0, 30))
    N = task.n_out * task.P
    per_time = 8 * N * N
    result = 30 * per_time
    monkeypatch.setattr(reps, "WORK_MEMORY", 5 * 2 * per_time)  # blocks of two time points
    tracemalloc.start()
    try:
        D = rl.trajectory_rdms(traj, "ntk", "cosine")
        peak_rdms = tracemalloc.get_traced_memory()[1]
        del D
        monkeypatch.undo()
        tracemalloc.reset_peak()
        D = rl.trajectory_rdms(traj, "ntk", "cosine")  # default working memory
        peak_default = tracemalloc.get_traced_memory()[1]
        del D
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        acc = np.zeros((N, N))
        for K in rl.ntk_series(traj):
            acc += rl.gram_to_rdm(K, "cosine")
        peak_stream = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # the previous path held the full NTK, the RDMs and temporaries of both: about 3 x the result
    assert peak_rdms < result + 12 * per_time, (peak_rdms / result)
    assert peak_default < result + 1.2 * reps.WORK_MEMORY, (peak_default / result)
    assert peak_stream < 8 * per_time, (peak_stream / per_time)


def test_ntk_global_budget_reaches_to_rdms(pair, monkeypatch):
    """The error's advice works: the module-wide budget also governs calls without `max_memory` (rl.to_rdms)."""
    import rsa_lineardyn.representations.geometry as reps

    task, exact, _ = pair
    monkeypatch.setattr(reps, "MAX_MEMORY", 100)
    with pytest.raises(rl.InputValueError, match=r"`max_memory` = 100 bytes.*MAX_MEMORY = <bytes>"):
        rl.to_rdms(exact, "ntk")
    monkeypatch.setattr(reps, "MAX_MEMORY", 2**30)
    rdms = rl.to_rdms(exact, "ntk")
    np.testing.assert_allclose(rdms.get_matrices(), rl.gram_to_rdm(rl.ntk(exact)), rtol=1e-12, atol=1e-14)
