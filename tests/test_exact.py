"""The exact solver against independent references: gradient-flow ODE, mpmath, closed-form fixed points."""

import warnings

import numpy as np
import pytest
from _reference import direct_closed_form, f_matrix, reference_qqt, rel_err
from conftest import random_white_task

import rsa_lineardyn as rl
from rsa_lineardyn.dynamics.exact import spectrum

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
    from rsa_lineardyn.dynamics import exact as E

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
    """Weights on an invariant manifold: the random-start engines' check sends them to the graded QR; exact_dynamics
    (LAPACK path up to row scales e^300, graded QR beyond) shows no jump where the LAPACK path ends."""
    from rsa_lineardyn.dynamics import exact as E

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


# ---------------------------------------------------------------- the rounding-level rule (issue 11) -------
# Rule: a component of Q0 on a growing mode of F below ``_MANIFOLD_RTOL * ||Q0||_2`` is exactly zero, on every
# path and at every t; the warning fires exactly when this leaves top modes unlearned.  References below are
# exact per-mode (1-D logistic) closed forms in mpmath on weights whose rows are exact per mode.


def _rand_orth(n, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _decoupled(s, a, b, seed):
    """Syx = P diag(s) P'^T (signed permutations), W1 = R diag(a) P'^T, W2 = P diag(b) R^T (R random)."""
    rng = np.random.default_rng(seed)
    m = len(s)
    U = np.eye(m)[rng.permutation(m)] * rng.choice([-1, 1], m)
    V = np.eye(m)[rng.permutation(m)] * rng.choice([-1, 1], m)
    R = _rand_orth(m, rng)
    task = rl.Task(np.eye(m) * np.sqrt(m), U @ np.diag(s) @ V.T * np.sqrt(m))
    return task, R @ np.diag(a) @ V.T, U @ np.diag(b) @ R.T, U, V


def _mode_reference(s, a, b, U, V, t, zero):
    """QQ^T(t) of decoupled lam = 0 modes; modes with ``zero`` get their growing component set to 0."""
    import math

    import mpmath as mp

    diag = np.zeros((3, len(s)))
    for i in range(len(s)):
        with mp.workdps(60 + (int(2 * s[i] * t) if math.isfinite(t) else 0)):
            si = mp.mpf(s[i])
            zp = 0 if zero[i] else (mp.mpf(a[i]) + mp.mpf(b[i])) / mp.sqrt(2)
            zm = (mp.mpf(b[i]) - mp.mpf(a[i])) / mp.sqrt(2)
            if not math.isfinite(t):
                diag[:, i] = float(si) if zp != 0 else 0.0
                continue
            tt = mp.mpf(t)
            den = 1 + zp**2 * mp.expm1(2 * si * tt) / (2 * si) - zm**2 * mp.expm1(-2 * si * tt) / (2 * si)
            p, q = mp.exp(si * tt) * zp, mp.exp(-si * tt) * zm
            diag[:, i] = [float((p - q) ** 2 / (2 * den)), float((p + q) ** 2 / (2 * den)), float((p * p - q * q) / (2 * den))]
    m = len(s)
    P = np.zeros((2 * m, 2 * m))
    P[:m, :m] = V @ np.diag(diag[0]) @ V.T
    P[m:, m:] = U @ np.diag(diag[1]) @ U.T
    P[m:, :m] = U @ np.diag(diag[2]) @ V.T
    P[:m, m:] = P[m:, :m].T
    return P


RULE_TIMES = [0.0, 0.5, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0, 200.0, np.inf]


def _run(task, W1, W2, times):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        tr = rl.exact_dynamics(task, W1, W2, times)
    msgs = [str(w.message) for w in rec if "invariant manifold" in str(w.message)]
    return tr, msgs


def test_sign_mismatch_stays_at_saddle_at_every_time():
    """1x1x1, W2 W1 < 0 < Syx: the exact flow decays to the saddle 0 (da/dt = -a (2 + a^2)); output and warning agree."""
    task = rl.Task(np.array([[1.0]]), np.array([[2.0]]))
    W1, W2 = np.array([[0.1]]), np.array([[-0.1]])
    tr, msgs = _run(task, W1, W2, RULE_TIMES)
    assert len(msgs) == 1 and "1 of the 1 growing modes" in msgs[0] and "t = inf" in msgs[0]
    assert tr.info["unlearned_modes"] == 1
    one = np.eye(1)
    for k, t in enumerate(RULE_TIMES):
        ref = _mode_reference([2.0], [0.1], [-0.1], one, one, t, [True])
        assert np.linalg.norm(tr.qqt[k] - ref) <= 1e-13 * max(np.linalg.norm(ref), 1e-300), t
    assert np.all(tr.qqt[-1] == 0)
    # an independent reference: gradient flow on the weights stays exactly on a = -b
    fl = rl.simulate(task, W1, W2, [0.5, 2.0, 5.0], method="flow", rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(fl.qqt, tr.qqt[1:4], rtol=1e-9, atol=0)


def test_rule_does_not_depend_on_how_Z_rounds():
    """The growing component of the sign-mismatch case is 0 or 1.6e-18 depending on FMA in matmul: same answer."""
    from rsa_lineardyn.dynamics import exact as E

    d = np.array([2.0, -2.0])
    O = np.array([[1.0, -1.0], [1.0, 1.0]]) / np.sqrt(2)
    times = np.array([0.0, 1.0, 10.0, 100.0, np.inf])
    out = []
    for zp in (0.0, 1.6e-18, -1e-16):
        Z, missing = E._manifold_rule(d, np.array([[zp], [-0.1 * np.sqrt(2)]]))
        assert missing == 1 and Z[0, 0] == 0.0
        out.append(E._factors(d, O, Z, times, fast=E._fast_ok(d, Z)))
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rounding_level_growing_components_are_never_learned(seed):
    """Issue 11: growing components of rounding size (here 1e-17 next to 0.1) warned about AND not learned."""
    s, a = [3.0, 2.0, 1.0], np.array([0.1, 1e-17, -1e-17])
    task, W1, W2, U, V = _decoupled(s, a, a.copy(), seed)
    tr, msgs = _run(task, W1, W2, RULE_TIMES)
    assert len(msgs) == 1 and "2 of the 3 growing modes" in msgs[0]
    for k, t in enumerate(RULE_TIMES):
        ref = _mode_reference(s, a, a, U, V, t, [False, True, True])
        assert rel_err(tr.qqt[k], ref) <= 1e-12, t
    np.testing.assert_allclose(np.linalg.svd(tr.w2w1[-1], compute_uv=False), [3, 0, 0], atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_growing_components_above_the_tolerance_are_learned(seed):
    """The other side of the rule: 1e-10 relative components are kept (no warning) and learned on time."""
    s, a = [3.0, 2.0, 1.0], np.array([0.1, 1e-11, -1e-11])
    task, W1, W2, U, V = _decoupled(s, a, a.copy(), seed)
    tr, msgs = _run(task, W1, W2, RULE_TIMES)
    assert msgs == [] and tr.info["unlearned_modes"] == 0
    for k, t in enumerate(RULE_TIMES):
        ref = _mode_reference(s, a, a, U, V, t, [False, False, False])
        assert rel_err(tr.qqt[k], ref) <= 1e-10, t
    np.testing.assert_allclose(np.linalg.svd(tr.w2w1[-1], compute_uv=False), s, rtol=1e-12)
    fl = rl.simulate(task, W1, W2, [5.0, 10.0, 20.0], method="flow", rtol=1e-13, atol=1e-300)
    for k, t in enumerate([5.0, 10.0, 20.0]):
        assert rel_err(tr.qqt[RULE_TIMES.index(t)], fl.qqt[k]) <= 1e-7, t


def test_generic_weights_do_not_warn_and_learn():
    task, W1, W2 = _draw(4, 4, 4, 0.0, seed=5)
    tr, msgs = _run(task, W1, W2, [0.0, 1.0, 5.0, np.inf])
    assert msgs == [] and tr.info["unlearned_modes"] == 0
    np.testing.assert_allclose(tr.w2w1[-1], task.sigma_yx, atol=1e-12)
    fl = rl.simulate(task, W1, W2, [1.0, 5.0], method="flow", rtol=1e-13, atol=1e-15)
    assert rel_err(tr.qqt[1], fl.qqt[0]) <= 1e-9 and rel_err(tr.qqt[2], fl.qqt[1]) <= 1e-9


def test_warning_describes_the_output_in_a_sweep():
    """Random mixes of exact sign mismatches, rounding-level and kept components: the warned count is the number of
    modes the output does not learn at t = inf, large finite t agrees with t = inf, and finite t with the reference."""
    from rsa_lineardyn.dynamics import exact as E

    rng = np.random.default_rng(0)
    checked = 0
    for case in range(40):
        m = int(rng.integers(1, 5))
        s = np.sort(rng.uniform(0.3, 3, m))[::-1]
        scale = 10 ** rng.uniform(-3, 0)
        kind = rng.integers(0, 3, m)  # 0: b = -a exactly, 1: rounding-level a = b, 2: kept a = b (>= 1e-9 relative)
        kind[0] = rng.choice([0, 2])
        rel = np.where(kind == 1, 10 ** rng.uniform(-18, -15.5, m), np.where(kind == 2, 10 ** rng.uniform(-9, 0, m), 1.0))
        rel[0] = 1.0
        a = scale * rel * rng.uniform(0.5, 1.5, m) * rng.choice([-1, 1], m)
        b = np.where(kind == 0, -a, a)
        task, W1, W2, U, V = _decoupled(s, a, b, seed=case)
        zero = np.abs(a + b) / np.sqrt(2) <= E._MANIFOLD_RTOL * np.linalg.norm(np.concatenate([W1.T, W2]), 2)
        tr, msgs = _run(task, W1, W2, RULE_TIMES + [1e6])
        missing = int(msgs[0].split(": ")[1].split(" of")[0]) if msgs else 0
        learned = int(np.sum(np.linalg.svd(tr.w2w1[-2], compute_uv=False) > 1e-8))
        assert missing == int(np.sum(zero)) == m - learned, case
        np.testing.assert_allclose(tr.qqt[-1], tr.qqt[-2], atol=1e-12)
        for k, t in enumerate(RULE_TIMES):
            ref = _mode_reference(s, a, b, U, V, t, zero)
            floor = 1e-28 * np.linalg.norm(np.concatenate([W1.T, W2]), 2) ** 2
            assert np.linalg.norm(tr.qqt[k] - ref) <= 1e-9 * max(np.linalg.norm(ref), floor), (case, t)
        checked += 1
    assert checked == 40


@pytest.mark.parametrize("n,h,seed", [(4, 4, 11), (5, 5, 0), (3, 3, 2), (4, 6, 1)])
def test_manifold_weights_take_the_fast_path_and_both_paths_agree(n, h, seed):
    """lam = 0 networks whose W2 W1 and Syx differ in orientation (det sign): one mode has no growing component.
    The warning fires and names it, the LAPACK path is used (issue 11: cost) and agrees with the graded QR
    at every t, the output never learns that mode (also at large finite t and inf), and it follows gradient flow
    while rounding noise in the flow is still negligible."""
    from rsa_lineardyn.dynamics import exact as E

    task = random_white_task(n, n, seed=1)
    W1, W2 = rl.balanced_init(n, h, n, 0.0, scale=0.3, seed=seed)
    d, O, Z, missing, basis, fast_ok = E._prepare(task, W1, W2, 0.0)
    assert missing == 1 and fast_ok
    times = np.concatenate([[0.0], np.logspace(-2, np.log10(250), 30)])
    a = E._factors(d, O, Z, times, fast=True, basis=basis)
    b = E._factors(d, O, Z, times, fast=False, basis=basis)
    for k in range(times.size):
        assert rel_err(a[k] @ a[k].T, b[k] @ b[k].T) <= 1e-11, times[k]
    tr, msgs = _run(task, W1, W2, list(times) + [1e3, 1e6, np.inf])
    assert len(msgs) == 1 and f"1 of the {n} growing modes" in msgs[0]
    assert tr.info["unlearned_modes"] == 1
    for k in range(times.size):
        assert rel_err(tr.qqt[k], a[k] @ a[k].T) <= 1e-13  # exact_dynamics is this (fast) computation
    s = np.linalg.svd(task.sigma_yx, compute_uv=False)
    for P in tr.w2w1[-4:]:  # t = 250, 1e3, 1e6, inf: the top n - 1 modes learned, the last one not
        np.testing.assert_allclose(np.linalg.svd(P, compute_uv=False), np.r_[s[:-1], 0.0], atol=1e-9 * s[0])
    np.testing.assert_allclose(tr.qqt[-3:], np.repeat(tr.qqt[-1:], 3, axis=0), atol=1e-12)
    fl = rl.simulate(task, W1, W2, [0.5, 2.0, 5.0], method="flow", rtol=1e-13, atol=1e-15)
    for t, P in zip([0.5, 2.0, 5.0], fl.qqt):
        assert rel_err(_run(task, W1, W2, [t])[0].qqt[0], P) <= 1e-8, t


def test_near_dependence_spread_over_many_levels_is_one_rule():
    """lam = 0, n_in = n_out = 150, n_hidden = 300: det(W2 W1) has the other sign than det(Syx), so the growing
    block of Z has one singular value ~1e-16 relative, spread over all 150 levels (no single level's remainder is
    rounding-level).  The joint part of the rule treats it as a dependence: warned, the last mode never learned
    (up to t = inf), the LAPACK path used, and it agrees with the graded QR."""
    from rsa_lineardyn.dynamics import exact as E

    N = 150
    rng = np.random.default_rng(0)
    task = rl.Task(np.eye(N) * np.sqrt(N), rng.standard_normal((N, N)) * 0.7 * np.sqrt(N))
    W1, W2 = rl.balanced_init(N, 2 * N, N, 0.0, scale=0.1, seed=1)
    d, O = spectrum(task.sigma_yx, 0.0)
    sv = np.linalg.svd((O.T @ np.concatenate([W1.T, W2]))[d > 0], compute_uv=False)
    assert sv[-1] <= E._MANIFOLD_RTOL * np.linalg.norm(np.concatenate([W1.T, W2]), 2) < sv[-2]
    d, O, Z, missing, basis, fast_ok = E._prepare(task, W1, W2, 0.0)
    assert missing == 1 and fast_ok
    times = np.array([1.0, 6.0])
    a = E._factors(d, O, Z, times, fast=True, basis=basis)
    b = E._factors(d, O, Z, times, fast=False, basis=basis)
    for k in range(times.size):
        assert rel_err(a[k] @ a[k].T, b[k] @ b[k].T) <= 1e-11
    tr, msgs = _run(task, W1, W2, [np.inf])
    assert len(msgs) == 1 and f"1 of the {N} growing modes" in msgs[0]
    s = np.linalg.svd(task.sigma_yx, compute_uv=False)
    np.testing.assert_allclose(np.linalg.svd(tr.w2w1[0], compute_uv=False), np.r_[s[:-1], 0.0], atol=1e-9 * s[0])
