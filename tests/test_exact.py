"""The exact solver against independent references: gradient-flow ODE, mpmath, closed-form fixed points."""

import warnings

import numpy as np
import pytest
from _reference import direct_closed_form, f_matrix, reference_qqt, rel_err
from conftest import random_white_task

import rsa_lineardyn as rl
from rsa_lineardyn.exact import spectrum

# (n_in, n_hidden, n_out): bottleneck, square, wide, unequal sides
SHAPES = [(3, 2, 3), (5, 2, 4), (4, 4, 4), (3, 6, 5), (2, 4, 3), (6, 3, 4), (4, 9, 3)]
LAMS = [-1.0, 0.0, 1.0]


def _draw(n_in, n_hidden, n_out, lam, seed, scale=0.3):
    """A balanced draw that is not on an invariant manifold (see exact._warn_invariant_manifold)."""
    for s in range(seed, seed + 50):
        W1, W2 = rl.balanced_init(n_in, n_hidden, n_out, lam, scale=scale, seed=s)
        task = random_white_task(n_in, n_out, seed=s)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                rl.exact_dynamics(task, W1, W2, [0.0])
            except RuntimeWarning:
                continue
        return task, W1, W2
    raise AssertionError("no generic draw found")


def _feasible(n_in, n_hidden, n_out, lam):
    return not ((lam > 0 and n_hidden > n_out) or (lam < 0 and n_hidden > n_in))


CASES = [(s, lam) for s in SHAPES for lam in LAMS if _feasible(*s, lam)]


@pytest.mark.parametrize("shape,lam", CASES)
def test_exact_matches_gradient_flow(shape, lam):
    task, W1, W2 = _draw(*shape, lam, seed=1)
    times = np.array([3.0, 0.0, 0.2, 1.0, 7.0, 15.0, 30.0])  # unsorted on purpose
    ex = rl.exact_dynamics(task, W1, W2, times)
    fl = rl.simulate(task, W1, W2, times, method="flow", rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(ex.times, times)
    for k in range(times.size):
        assert rel_err(ex.qqt[k], fl.qqt[k]) <= 1e-8, (k, times[k])


@pytest.mark.parametrize("shape,lam", [((3, 2, 3), -2.0), ((5, 2, 4), 0.0), ((3, 3, 3), 2.0), ((2, 4, 3), 0.0)])
def test_exact_matches_high_precision_reference(shape, lam):
    task, W1, W2 = _draw(*shape, lam, seed=3)
    times = [0.0, 0.5, 4.0, 40.0, 150.0, 400.0]
    ex = rl.exact_dynamics(task, W1, W2, times, tau=1.0)
    for k, t in enumerate(times):
        ref = reference_qqt(task.sigma_yx, W1, W2, ex.lam, t)
        assert rel_err(ex.qqt[k], ref) <= 1e-10, t
    # the direct formula loses all accuracy at these times (what our method is for)
    assert rel_err(direct_closed_form(task.sigma_yx, W1, W2, ex.lam, 400.0), ref) > 1e-3


def test_tau_rescales_time(make_task):
    task, W1, W2 = _draw(3, 2, 3, 0.5, seed=2)
    a = rl.exact_dynamics(task, W1, W2, [2.0], tau=4.0)
    b = rl.exact_dynamics(task, W1, W2, [0.5], tau=1.0)
    np.testing.assert_allclose(a.qqt, b.qqt, rtol=0, atol=1e-14)


@pytest.mark.parametrize("shape,lam", CASES)
def test_infinite_time_is_closed_form_fixed_point(shape, lam):
    task, W1, W2 = _draw(*shape, lam, seed=5)
    fp = rl.exact_dynamics(task, W1, W2, [np.inf])
    # closed form from the notes: top min(n_hidden, #positive) eigenpairs of F (no tie at the boundary here)
    d, O = np.linalg.eigh(f_matrix(task.sigma_yx, fp.lam))
    order = np.argsort(-d)
    k = min(shape[1], int(np.sum(d > 1e-12)))
    top = order[:k]
    if k < d.size and d[order[k - 1]] - d[order[k]] < 1e-9:
        pytest.skip("tie at the boundary: the limit depends on the initial weights")
    expected = (O[:, top] * (2 * d[top])) @ O[:, top].T
    assert rel_err(fp.qqt[0], expected) <= 1e-12
    # and gradient flow, run long, gets there
    late = rl.exact_dynamics(task, W1, W2, [1e4, 1e7, 1e300])
    for k in range(3):
        assert rel_err(late.qqt[k], expected) <= 1e-12


def test_bottleneck_learns_rank_truncation_of_syx():
    task = random_white_task(5, 4, seed=11)
    U, s, Vt = np.linalg.svd(task.sigma_yx)
    for n_hidden in (1, 2, 3):
        W1, W2 = rl.balanced_init(5, n_hidden, 4, 0.3, scale=0.2, seed=4)
        net = rl.fixed_point(task, W1, W2).w2w1[0]
        trunc = (U[:, :n_hidden] * s[:n_hidden]) @ Vt[:n_hidden]
        np.testing.assert_allclose(net, trunc, atol=1e-12)


def test_zero_init_stays_at_zero():
    task = random_white_task(3, 3, seed=1)
    with pytest.warns(RuntimeWarning, match="invariant manifold"):
        traj = rl.exact_dynamics(task, np.zeros((2, 3)), np.zeros((3, 2)), [0, 1, np.inf])
    assert np.all(traj.qqt == 0)


def test_lam_zero_unequal_sides_singular_F():
    # F has zero eigenvalues when lam = 0 and n_in != n_out; nothing special happens
    task, W1, W2 = _draw(6, 3, 2, 0.0, seed=7)
    d, _ = spectrum(task.sigma_yx, 0.0)
    assert np.sum(d == 0) == 4
    times = [0.0, 1.0, 10.0, 50.0]
    ex = rl.exact_dynamics(task, W1, W2, times)
    fl = rl.simulate(task, W1, W2, times, method="flow", rtol=1e-13, atol=1e-15)
    for k in range(len(times)):
        assert rel_err(ex.qqt[k], fl.qqt[k]) <= 1e-8
    fp = rl.fixed_point(task, W1, W2)
    assert np.all(np.isfinite(fp.qqt))


def test_cost_is_flat_in_time():
    task, W1, W2 = _draw(4, 3, 4, 0.0, seed=3)
    # identical operation counts: same code path at any t; check results finite and converged
    traj = rl.exact_dynamics(task, W1, W2, [1.0, 1e5, 1e7, 1e12, np.inf])
    assert np.all(np.isfinite(traj.qqt))
    np.testing.assert_allclose(traj.qqt[1:4], np.repeat(traj.qqt[4:5], 3, axis=0), atol=1e-12)


def test_invariants_along_trajectory():
    for shape, lam in [((4, 2, 3), -0.5), ((3, 3, 3), 0.0), ((2, 5, 3), 0.0)]:
        task, W1, W2 = _draw(*shape, lam, seed=2)
        times = np.concatenate([[0.0], np.logspace(-2, 3, 60), [np.inf]])
        tr = rl.exact_dynamics(task, W1, W2, times)
        P = tr.qqt
        np.testing.assert_allclose(P, np.swapaxes(P, 1, 2), atol=1e-13)
        ev = np.linalg.eigvalsh(P)
        scale = np.abs(ev).max(axis=1, keepdims=True)
        assert np.all(ev >= -1e-12 * scale)
        rank = np.sum(ev > 1e-10 * scale, axis=1)
        assert np.all(rank <= shape[1])
        loss = tr.loss
        assert np.all(np.diff(loss) <= 1e-12 * loss[0])
        # balance: with K = factor, K2^T K2 - K1^T K1 has eigenvalues lam (the hidden Gram
        # matrices are defined up to rotation, so compare spectra)
        K1 = tr.factors[:, : task.n_in]
        K2 = tr.factors[:, task.n_in :]
        D = np.swapaxes(K2, 1, 2) @ K2 - np.swapaxes(K1, 1, 2) @ K1
        r = D.shape[1]
        if r == shape[1]:
            np.testing.assert_allclose(np.linalg.eigvalsh(D), tr.lam, atol=1e-10 * max(1, abs(tr.lam)))


def test_invariant_manifold_warns():
    task = random_white_task(4, 4, seed=1)
    W1, W2 = rl.balanced_init(4, 4, 4, 0.0, scale=0.3, seed=11)
    with pytest.warns(RuntimeWarning, match="invariant manifold"):
        rl.exact_dynamics(task, W1, W2, [1.0])


def test_refuses_unbalanced_and_non_white():
    task = random_white_task(3, 3, seed=0)
    rng = np.random.default_rng(0)
    W1, W2 = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    with pytest.raises(rl.AssumptionError, match="A2"):
        rl.exact_dynamics(task, W1, W2, [1.0])
    W1, W2 = rl.balanced_init(3, 2, 3, 0.0, seed=0)
    bad = rl.Task(rng.standard_normal((3, 10)), rng.standard_normal((3, 10)))
    with pytest.raises(rl.AssumptionError, match="rl.whiten"):
        rl.exact_dynamics(bad, W1, W2, [1.0])
    white = rl.whiten(bad)
    assert white.is_white()
    traj = rl.exact_dynamics(white, W1, W2, [0.0, 1.0])
    assert np.all(np.isfinite(traj.qqt))


@pytest.mark.parametrize("times", [[-1.0], [np.nan], [[1.0, 2.0]], []])
def test_bad_times(times):
    task, W1, W2 = _draw(3, 2, 3, 0.0, seed=1)
    with pytest.raises(ValueError, match="times"):
        rl.exact_dynamics(task, W1, W2, times)


def test_large_lam_tiny_scale_keeps_precision():
    task = random_white_task(4, 5, seed=2)
    W1, W2 = rl.balanced_init(4, 3, 5, 1e3, scale=1e-8, seed=0)
    bal = rl.measure_balance(W1, W2)
    assert abs(bal.lam - 1e3) <= 1e-9
    np.testing.assert_allclose(np.linalg.svd(W1, compute_uv=False) * np.sqrt(1e3),
                               np.linalg.svd(W2 @ W1, compute_uv=False)[:3], rtol=1e-6)
    traj = rl.exact_dynamics(task, W1, W2, [0.0, 1.0, 1e3, np.inf])
    assert np.all(np.isfinite(traj.qqt))
    ref = reference_qqt(task.sigma_yx, W1, W2, traj.lam, 1.0)
    assert rel_err(traj.qqt[1], ref) <= 1e-10


def test_fast_and_graded_paths_agree():
    """The LAPACK path (moderate scales) and the graded QR (any scale) give the same QQ^T."""
    from rsa_lineardyn import exact as E

    rng = np.random.default_rng(0)
    checked = 0
    for seed in range(60):
        n_in, n_out = (int(x) for x in rng.integers(1, 6, 2))
        n_hidden = int(rng.integers(1, 8))
        lam = float(rng.choice([0.0, rng.uniform(-2, 2)]))
        if (lam > 0 and n_hidden > n_out) or (lam < 0 and n_hidden > n_in):
            lam = 0.0
        task = random_white_task(n_in, n_out, seed=seed, strength=rng.uniform(0.2, 1.5))
        if seed % 2:
            W1, W2 = rl.balanced_init(n_in, n_hidden, n_out, lam, scale=10 ** rng.uniform(-3, 0.5), seed=seed)
        else:
            W1, W2 = rl.task_aligned_init(task, n_hidden, lam, scale=10 ** rng.uniform(-3, 0.5))
        d, O = spectrum(task.sigma_yx, rl.measure_balance(W1, W2).lam)
        Z = O.T @ E._thin_factor(np.concatenate([W1.T, W2]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not E._warn_invariant_manifold(d, Z):  # not well conditioned: graded QR only
                continue
        times = np.concatenate([[0.0], np.logspace(-3, 2.3, 25)])
        a = E._factors(d, O, Z, times, fast=True)
        b = E._factors(d, O, Z, times, fast=False)
        Pa, Pb = a @ np.swapaxes(a, 1, 2), b @ np.swapaxes(b, 1, 2)
        for k in range(times.size):
            if np.linalg.norm(Pb[k]) > 0:
                assert rel_err(Pa[k], Pb[k]) <= 1e-11, (seed, times[k])
        checked += 1
    assert checked >= 40


def test_manifold_uses_one_path_for_all_times():
    """Weights on an invariant manifold use the graded QR at every t: no jump where the LAPACK path would end."""
    from rsa_lineardyn import exact as E

    task = random_white_task(4, 4, seed=1)
    W1, W2 = rl.balanced_init(4, 4, 4, 0.0, scale=0.3, seed=11)  # on the manifold (see the warning test)
    d, O = spectrum(task.sigma_yx, 0.0)
    Z = O.T @ np.concatenate([W1.T, W2])
    with pytest.warns(RuntimeWarning, match="invariant manifold"):
        assert E._warn_invariant_manifold(d, Z) is False
    with pytest.warns(RuntimeWarning):
        tr = rl.exact_dynamics(task, W1, W2, np.logspace(3, 5, 40))
    # the manifold answer: converged and constant across the whole range (no switch of method)
    np.testing.assert_allclose(tr.qqt, np.repeat(tr.qqt[-1:], 40, axis=0), atol=1e-12)
