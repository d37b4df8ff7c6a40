"""The simulation harness of the calibration study (rsa_lineardyn.inference.recovery)."""

import numpy as np
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn.inference.recovery import simulate_noise_rdms, simulate_voxel_rdms


@pytest.fixture(scope="module")
def task():
    return rl.hierarchical_task(depth=2, include_root=False)


def _subject_rdms(rdms, stage):
    sub = rdms.subset("stage", stage)
    return {s: sub.subset("subject", s).get_vectors()[0] for s in np.unique(sub.rdm_descriptors["subject"])}


def test_descriptors_and_shapes(task):
    d = simulate_voxel_rdms(task, 2, 0.0, 0.1, [1.0, 2.0, 3.0], n_subjects=3, n_runs=3, n_voxels=10, noise=0.5,
                            init="random", per_subject=True, seed=0)
    assert d.n_rdm == 9
    for key in ("subject", "stage", "true_time", "index"):
        assert key in d.rdm_descriptors
    assert sorted(set(np.asarray(d.rdm_descriptors["stage"]).tolist())) == [1, 2, 3]
    assert np.allclose(sorted(set(np.asarray(d.rdm_descriptors["true_time"], dtype=float).tolist())), [1.0, 2.0, 3.0])
    assert list(d.pattern_descriptors["item"]) == list(task.labels)


def test_per_subject_starts_differ(task):
    """Noise-free, same projection seed: shared starts give equal geometry up to projection; own starts do not."""
    kw = dict(n_subjects=4, n_runs=2, n_voxels=400, noise=0.0, init="random", seed=1)
    # an early time, where the random start still dominates the hidden geometry
    own = simulate_voxel_rdms(task, 2, 0.0, 1.0, [0.05], per_subject=True, **kw)
    shared = simulate_voxel_rdms(task, 2, 0.0, 1.0, [0.05], per_subject=False, **kw)

    def spread(rdms):
        v = rdms.get_vectors()
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        return np.max(np.abs(v - v.mean(0)))

    # 400 random voxels: the projection barely distorts, so shared-start subjects agree closely
    assert spread(shared) < 0.25
    assert spread(own) > 2 * spread(shared)


def test_backwards_compatible_default(task):
    a = simulate_voxel_rdms(task, 2, 0.0, 0.1, [1.0, 2.0], n_subjects=2, seed=3)
    b = simulate_voxel_rdms(task, 2, 0.0, 0.1, [1.0, 2.0], n_subjects=2, seed=3, per_subject=False)
    assert np.array_equal(a.get_vectors(), b.get_vectors())


def test_noise_only_has_no_signal_in_expectation(task):
    d = simulate_noise_rdms(task, [1.0, 2.0], n_subjects=40, n_runs=4, n_voxels=20, noise=1.0, seed=0)
    v = d.get_vectors()
    assert v.shape == (80, 6)
    se = v.std(0, ddof=1) / np.sqrt(v.shape[0])
    assert np.all(np.abs(v.mean(0)) < 4 * se)  # crossnobis is unbiased: every distance is 0 in expectation
    assert {"subject", "stage", "true_time"} <= set(d.rdm_descriptors)


def test_signal_gives_positive_distances(task):
    d = simulate_voxel_rdms(task, 2, 0.0, 0.1, [4.0], n_subjects=10, noise=0.5, init="random", per_subject=True,
                            seed=2)
    assert d.get_vectors().mean() > 0


@pytest.mark.parametrize("kw, err", [
    (dict(per_subject=True), rl.InputValueError),  # needs init="random"
    (dict(per_subject="yes", init="random"), rl.InputTypeError),
    (dict(n_runs=1), rl.InputValueError),
    (dict(noise=-1.0), rl.InputValueError),
    (dict(lr=0.0), rl.InputValueError),
    (dict(times=[-1.0]), rl.InputValueError),
    (dict(times=[]), rl.InputValueError),
    (dict(times=[np.nan]), rl.InputValueError),
    (dict(init="other"), rl.InputValueError),
])
def test_input_validation(task, kw, err):
    args = dict(times=[1.0])
    args.update(kw)
    times = args.pop("times")
    with pytest.raises(err):
        simulate_voxel_rdms(task, 2, 0.0, 0.1, times, **args)


def test_noise_input_validation(task):
    with pytest.raises(rl.InputValueError):
        simulate_noise_rdms(task, [1.0], noise=0.0)
    with pytest.raises(rl.InputValueError):
        simulate_noise_rdms(task, [1.0], n_subjects=0)


def test_nuisance_is_an_item_pattern_fixed_over_runs_and_stages(task):
    """noise = 0: each RDM is the squared distance (per voxel) of M H(t) + N, N drawn once per subject."""
    from itertools import combinations

    V, a, times = 50, 0.7, [1.0, 2.0]
    d = simulate_voxel_rdms(task, 2, 0.0, 0.5, times, n_subjects=1, n_runs=2, n_voxels=V, noise=0.0,
                            nuisance=a, seed=11)
    W1, W2 = rl.task_aligned_init(task, 2, lam=0.0, scale=0.5)
    H = rl.simulate(task, W1, W2, times, lr=0.01, method="gd").weights[0] @ task.X
    rng = np.random.default_rng(11)
    M = rng.standard_normal((V, 2)) / np.sqrt(2)
    S = M @ H
    N = a * np.sqrt(np.mean(S[-1] ** 2)) * rng.standard_normal((V, task.X.shape[1]))
    for k in range(len(times)):
        X = S[k] + N
        want = [np.sum((X[:, i] - X[:, j]) ** 2) / V for i, j in combinations(range(X.shape[1]), 2)]
        np.testing.assert_allclose(d.subset("stage", k + 1).get_vectors()[0], want, rtol=1e-10)
    clean = simulate_voxel_rdms(task, 2, 0.0, 0.5, times, n_subjects=1, n_runs=2, n_voxels=V, noise=0.0, seed=11)
    assert not np.allclose(clean.get_vectors(), d.get_vectors())
    zero = simulate_voxel_rdms(task, 2, 0.0, 0.5, times, n_subjects=1, n_runs=2, n_voxels=V, noise=0.0,
                               nuisance=0.0, seed=11)
    assert np.array_equal(clean.get_vectors(), zero.get_vectors())  # nothing drawn unless asked
    with pytest.raises(rl.InputValueError, match="nuisance"):
        simulate_voxel_rdms(task, 2, 0.0, 0.5, times, nuisance=-0.1)
