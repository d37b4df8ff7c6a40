"""The prediction engines (``rsa_lineardyn.models.engines``, ``rsa_lineardyn.models.random_starts``), above all ``init="random"``.

References are independent of the engine under test: per-draw ``rl.exact_dynamics``
trajectories with full matrices, ``init="average"`` (full Grams) and brute-force
gradient-flow simulations (``rl.simulate(method="flow")``).
"""

import warnings

import numpy as np
import pytest
from scipy.stats import ortho_group

import rsa_lineardyn as rl
import rsa_lineardyn.models.engines  # noqa: F401  (rl.models.engines below)
from rsa_lineardyn.models.engines import _AverageEngine
from rsa_lineardyn.models.random_starts import _RandomStartEngine
from rsa_lineardyn.representations.geometry import _pinv_psd


def _task(n_in, n_out, svals, seed=0):
    """Whitened task (X = sqrt(P) I, P = n_in) with ``Syx = U diag(svals) V^T`` (ties and zeros allowed)."""
    U = ortho_group.rvs(n_out, random_state=seed) if n_out > 1 else np.ones((1, 1))
    V = ortho_group.rvs(n_in, random_state=seed + 1) if n_in > 1 else np.ones((1, 1))
    S = np.zeros((n_out, n_in))
    k = min(len(svals), n_in, n_out)
    S[np.arange(k), np.arange(k)] = svals[:k]
    syx = U @ S @ V.T
    P = n_in
    X = np.sqrt(P) * np.eye(n_in)
    return rl.Task(X, np.sqrt(P) * syx)


def _groups(values, n, rtol=1e-9):
    """Independent grouping: modes whose singular value (0 beyond the rank) agree to ``rtol``."""
    v = np.zeros(n)
    q = min(n, values.size)
    v[:q] = values[:q]
    scale = max(np.max(np.abs(v)), 1e-300)
    return [np.flatnonzero(np.abs(v - x) <= rtol * scale) for x in v]


def _symmetrise(diag, values):
    out = np.empty_like(diag)
    for i, idx in enumerate(_groups(values, diag.shape[-1])):
        out[..., i] = diag[..., idx].mean(axis=-1)
    return out


SHAPES = [(5, 2, 4), (4, 4, 4), (3, 7, 4), (5, 3, 3), (8, 7, 2), (12, 12, 2)]  # (n_in, n_hidden, n_out):
# bottleneck (a tie at the boundary: the manifold rule's generic early exit), square, wide, n_out < n_in, and
# wide with a large input null space (the split path of lam < 0; at n_hidden = n_in with tied columns compressed
# and the group trace from the balance)
SVALS = np.array([2.0, 1.0, 1.0])  # a tie, and a null space on both sides for the larger layers


@pytest.mark.parametrize("n_in,h,n_out", SHAPES)
@pytest.mark.parametrize("lam", [-0.7, 0.0, 0.6])
def test_random_engine_matches_mean_of_exact_dynamics(n_in, h, n_out, lam):
    if (lam > 0 and h > n_out) or (lam < 0 and h > n_in):
        pytest.skip("infeasible balance for this width")
    task = _task(n_in, n_out, SVALS)
    U, s, Vt = task.svd()
    V = Vt.T
    times = np.array([0.0, 0.4, 3.0, np.inf])
    scale, n_draws = 0.3, 3
    # mc="antithetic": the plain mean over the engine's (antithetic) draws, each solved exactly; the default
    # estimator adds control variates of zero mean to it (tests/test_mc_error.py, and the gradient-flow test below)
    eng = {rep: _RandomStartEngine(task, h, rep, 1e-10, n_draws, 5, mc="antithetic")
           for rep in ("hidden", "output", "prediction", "ntk")}
    acc = {"w1": 0.0, "w2": 0.0, "pred": 0.0, "pinv": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # square lam = 0 draws may sit on the invariant manifold
        for W1, W2 in eng["hidden"].draws(lam, scale):
            tr = rl.exact_dynamics(task, W1, W2, times)
            w2w1 = tr.w2w1
            acc["w1"] = acc["w1"] + V.T @ tr.w1tw1 @ V
            acc["w2"] = acc["w2"] + U.T @ tr.w2w2t @ U
            acc["pred"] = acc["pred"] + V.T @ (np.swapaxes(w2w1, 1, 2) @ w2w1) @ V
            acc["pinv"] = acc["pinv"] + U.T @ _pinv_psd(tr.w2w2t, 1e-10) @ U
    ref = {k: _symmetrise(np.diagonal(a / n_draws, axis1=1, axis2=2), s) for k, a in acc.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # finite times and t = inf separately: finite times alone may take the split path (wide, lam < 0)
        got_h, got_o, got_p, A, B = (np.concatenate(z) for z in zip(*[
            (eng["hidden"].rank_one(lam, scale, tt, 1.0)[0], eng["output"].rank_one(lam, scale, tt, 1.0)[0],
             eng["prediction"].rank_one(lam, scale, tt, 1.0)[0]) + eng["ntk"].ntk_parts(lam, scale, tt, 1.0)
            for tt in (times[:-1], times[-1:])]))
    if (n_in, h, n_out) == (8, 7, 2) and lam < 0:
        assert eng["hidden"]._split_state(lam, scale) is not None
    if (n_in, h, n_out) == (12, 12, 2) and lam < 0:  # the compressed split path ran (not its fallback)
        split = eng["hidden"]._split_state(lam, scale)
        assert split is not None and split[6] is not None and split[6][0].shape[2] < h
        assert eng["hidden"]._split_factors(split, times[:-1]) is not None

    def close(got, want, rtol=1e-10):
        np.testing.assert_allclose(got, want, rtol=0, atol=rtol * np.max(np.abs(want)))

    close(got_h, ref["w1"])
    close(got_p, ref["pred"])
    close(got_o, ref["pinv"], rtol=1e-7)  # pinv amplifies the exact solver's rounding by 1 / (smallest kept eigenvalue)
    X = task.X
    close(A, X.T @ (V * ref["w1"][:, None, :]) @ V.T @ X)
    close(B, (U * ref["w2"][:, None, :]) @ U.T)


def test_symmetry_offdiagonal_mode_entries_vanish_like_inverse_sqrt_n():
    """Plain averages (init='average', full Grams) become mode-diagonal: off-diagonal RMS ~ 1/sqrt(n)."""
    task = _task(4, 3, np.array([2.0, 1.0, 0.5]), seed=3)
    U, s, Vt = task.svd()
    X = task.X
    t = np.array([0.8])
    rms = {}
    for n in (16, 256):
        eng = _AverageEngine(task, 3, "hidden", 1e-10, n, 11)
        G = eng.full_gram(0.2, 0.5, t, 1.0)[0]
        M = Vt @ np.linalg.pinv(X.T) @ G @ np.linalg.pinv(X) @ Vt.T  # V^T mean(W1^T W1) V
        off = M - np.diag(np.diag(M))
        rms[n] = np.sqrt(np.mean(off[~np.eye(4, dtype=bool)] ** 2)) / np.mean(np.diag(M))
    ratio = rms[16] / rms[256]  # expected sqrt(16) = 4; the spread of a ratio of two RMS over 12 entries is wide
    assert 2.0 < ratio < 8.0, rms


def test_random_engine_matches_gradient_flow_simulations():
    """Brute-force MC of gradient-flow simulations from independent balanced_init draws, within 4 standard errors."""
    task = _task(3, 2, np.array([1.5, 0.7]), seed=7)
    n_in, h, n_out, lam, scale = 3, 2, 2, 0.3, 0.5
    times = np.array([0.5, 2.0])
    rng = np.random.default_rng(123)
    n_mc = 60
    sims = []
    for _ in range(n_mc):
        W1, W2 = rl.balanced_init(n_in, h, n_out, lam=lam, scale=scale, seed=rng)
        tr = rl.simulate(task, W1, W2, times, method="flow")
        sims.append(tr.w1tw1)  # (T, n_in, n_in): the hidden Gram is X^T W1^T W1 X
    sims = np.array(sims)
    U, s, Vt = task.svd()
    # compare V^T W1^T W1 V entries (diagonal and off-diagonal), mean and standard error over the simulations
    modes = Vt @ sims @ Vt.T
    mc_mean = modes.mean(axis=0)
    mc_se = modes.std(axis=0, ddof=1) / np.sqrt(n_mc)
    eng = _RandomStartEngine(task, h, "hidden", 1e-10, 400, 1)
    w, _ = eng.rank_one(lam, scale, times, 1.0)
    pred = np.stack([np.diag(x) for x in w])  # the engine's claim: diagonal, off-diagonal exactly 0
    # the engine's own MC error (400 symmetrised draws) is far below the simulations' (60 draws); 4 SE of the latter
    z = np.abs(pred - mc_mean) / np.maximum(mc_se, 1e-12)
    assert np.all(z < 4.0), z
    # the test can fail: the aligned start's prediction is far outside
    al = rl.models.engines._AlignedEngine(task, h, "hidden", 1e-10)
    wa, _ = al.rank_one(lam, scale, times, 1.0)
    pad = np.zeros((times.size, n_in))
    pad[:, : wa.shape[1]] = wa
    assert np.max(np.abs(np.stack([np.diag(x) for x in pad]) - mc_mean) / np.maximum(mc_se, 1e-12)) > 4.0


def _rdm_corr(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_random_vs_aligned_at_start_and_end():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 12))
    Y = rng.standard_normal((3, 12)) @ np.diag(rng.uniform(0.5, 2, 12))
    task = rl.whiten(rl.Task(X, Y))
    kw = dict(n_hidden=4, lam=0.0, scale=1e-3)
    rnd = rl.LinearNetworkModel(task, init="random", n_draws=64, **kw)
    ali = rl.LinearNetworkModel(task, init="aligned", **kw)
    # t = 0: a small random start is isotropic in whitened coordinates, so its Gram is ~ X^T X
    G = task.X.T @ task.X
    iu = np.triu_indices(task.P, 1)
    iso_rdm = (np.diag(G)[iu[0]] + np.diag(G)[iu[1]] - 2 * G[iu])
    t0 = [-12.0]
    assert _rdm_corr(rnd.predict(t0), iso_rdm) > 0.98
    assert _rdm_corr(ali.predict(t0), iso_rdm) < 0.9
    # t = inf: both learn every mode (rank 3 <= n_hidden, no manifold at lam = 0 with n_hidden > n_out)
    pr = dict(kw, representation="prediction")

    def gram(init):
        w, B = rl.LinearNetworkModel(task, init=init, n_draws=8, **pr)._engine.rank_one(0.0, 1e-3, [np.inf], 1.0)
        return (B.T * w[0]) @ B

    a, b = gram("random"), gram("aligned")
    np.testing.assert_allclose(a, b, atol=1e-9 * np.max(np.abs(b)))


@pytest.mark.parametrize("init", ["random", "aligned", "average"])
def test_round_trip_every_init(init):
    task = _task(4, 3, np.array([2.0, 1.0, 0.5]))
    m = rl.LinearNetworkModel(task, n_hidden=2, init=init, n_draws=4, seed=3)
    m.theta_ = np.array([0.1, 0.2])
    back = rl.model_from_dict(m.to_dict())
    assert back.init == init and back.n_draws == 4 and back.seed == 3
    np.testing.assert_allclose(back.predict(), m.predict(), rtol=1e-12)


def test_default_init_is_random():
    task = _task(4, 3, np.array([2.0, 1.0, 0.5]))
    assert rl.LinearNetworkModel(task).init == "random"


def test_random_matches_average_up_to_offdiagonal_noise():
    """Same draws: 'random' is the mode-diagonal, symmetrised part of 'average' (hidden Gram, exact identity)."""
    task = _task(4, 3, np.array([2.0, 1.0, 1.0]))
    V = task.svd()[2].T
    t = np.array([0.0, 1.0, np.inf])
    ga = _AverageEngine(task, 3, "hidden", 1e-10, 5, 2).full_gram(-0.4, 0.4, t, 1.0)
    gr = _RandomStartEngine(task, 3, "hidden", 1e-10, 5, 2, mc="plain").full_gram(-0.4, 0.4, t, 1.0)  # same draws
    Xi = np.linalg.pinv(task.X)
    da = _symmetrise(np.diagonal(V.T @ Xi.T @ ga @ Xi @ V, axis1=1, axis2=2), task.svd()[1])
    dr = np.diagonal(V.T @ Xi.T @ gr @ Xi @ V, axis1=1, axis2=2)
    np.testing.assert_allclose(dr, da, atol=1e-10 * np.max(np.abs(da)))


def test_thread_limits_active_inside_predict(monkeypatch):
    from threadpoolctl import threadpool_info

    task = _task(4, 3, np.array([2.0, 1.0, 0.5]))
    model = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0)
    seen = []
    orig = model._engine.rank_one

    def spy(*args, **kwargs):
        seen.append([p["num_threads"] for p in threadpool_info()])
        return orig(*args, **kwargs)

    monkeypatch.setattr(model._engine, "rank_one", spy)
    model.predict([0.3])
    model.predict_times([0.1, 1.0])
    rl.score_grid(model, model.predict_rdm([0.2]), [0.0, 0.5], method="corr")
    assert len(seen) >= 3
    assert all(n == 1 for call in seen for n in call)
    # and they are restored afterwards
    assert threadpool_info() == [] or any(p["num_threads"] >= 1 for p in threadpool_info())


@pytest.mark.parametrize("lam", [-0.9, 0.0, 1e-17, 0.5])
@pytest.mark.parametrize("n_in,n_out", [(5, 3), (3, 5), (4, 4)])
def test_mode_spectrum_equals_exact_spectrum(lam, n_in, n_out):
    from rsa_lineardyn.models.random_starts import _mode_spectrum
    from rsa_lineardyn.dynamics.exact import spectrum

    task = _task(n_in, n_out, np.array([2.0, 1.0, 1.0 + 1e-15]))
    U, s, Vt = task.svd()
    d_ref, O = spectrum(task.sigma_yx, lam, svd=task.svd())
    d, Om = _mode_spectrum(s, n_in, n_out, lam)
    np.testing.assert_array_equal(d, d_ref)
    np.testing.assert_allclose(np.concatenate([Vt.T @ Om[:n_in], U @ Om[n_in:]]), O, atol=1e-14)


@pytest.mark.parametrize("lam", [-0.05, -0.7, -3.0])
def test_compressed_split_path_equals_full_split_path(lam):
    """Tied columns compressed + group trace from the balance == the uncompressed split path, to rounding."""
    task = _task(12, 2, np.array([2.0, 0.5]), seed=4)
    eng = _RandomStartEngine(task, 12, "hidden", 1e-10, 4, 9)
    split = eng._split_state(lam, 0.2)
    assert split is not None and split[6] is not None
    s = np.array([0.0, 0.01, 0.3, 2.0, 20.0, 150.0])
    K1, rows_in, K2, gtrace = eng._split_factors(split, s)
    Kf, gtrace_f, gmodes = eng._split_factors_full(split, s)
    n_in = task.n_in
    np.testing.assert_allclose(gtrace, gtrace_f, rtol=1e-12)
    d_fast = np.einsum("dtir,dtir->dti", K1, K1)
    d_full = np.einsum("dtir,dtir->dti", Kf[:, :, :n_in], Kf[:, :, :n_in])
    scale = np.max(d_full, axis=2, keepdims=True)
    np.testing.assert_allclose(d_fast, d_full[:, :, rows_in], rtol=0, atol=1e-12 * np.max(scale))
    np.testing.assert_array_equal(d_full[:, :, np.setdiff1d(np.arange(n_in), rows_in)], 0.0)
    G_fast = K2 @ np.swapaxes(K2, -1, -2)
    G_full = Kf[:, :, n_in:] @ np.swapaxes(Kf[:, :, n_in:], -1, -2)
    np.testing.assert_allclose(G_fast, G_full, rtol=0, atol=1e-12 * np.max(np.abs(G_full)))


def test_right_singular_eigh_path_equals_svd():
    from rsa_lineardyn.models.random_starts import _right_singular

    rng = np.random.default_rng(2)
    Zg = rng.standard_normal((3, 9, 12))  # c = 9 < r = 12: eigh of the Gram, 3 exact zeros
    sigma, W = _right_singular(Zg)
    sv = np.linalg.svd(Zg, compute_uv=False)
    np.testing.assert_allclose(sigma[:, :9], sv, rtol=1e-13)
    np.testing.assert_array_equal(sigma[:, 9:], 0.0)
    G = np.swapaxes(W, 1, 2) @ np.swapaxes(Zg, 1, 2) @ Zg @ W  # diagonalised, orthonormal W
    np.testing.assert_allclose(G, sigma[:, :, None] ** 2 * np.eye(12), atol=1e-12 * np.max(sv) ** 2)
    np.testing.assert_allclose(np.swapaxes(W, 1, 2) @ W, np.broadcast_to(np.eye(12), W.shape), atol=1e-14)
    # small singular values (sigma^2 down to 1e-6 of the largest): the SVD, which keeps them to full relative
    # precision (the Gram's eigenvalues would carry errors ~1e-10 relative there)
    Zs = Zg.copy()
    Zs[0] = np.linalg.qr(rng.standard_normal((9, 9)))[0] @ np.diag(np.logspace(0, -3, 9)) @ \
        np.linalg.qr(rng.standard_normal((12, 9)))[0].T
    sigma, _ = _right_singular(Zs)
    np.testing.assert_allclose(sigma[0, :9], np.logspace(0, -3, 9), rtol=1e-13)


def test_manifold_rule_generic_skips_only_unchanged_draws():
    """Tie at the boundary: generic draws keep Z itself (same Z Z^T as the rule); draws on a manifold get the rule."""
    from rsa_lineardyn.models.random_starts import _manifold_rule_generic
    from rsa_lineardyn.dynamics.exact import _manifold_rule

    rng = np.random.default_rng(5)
    d = np.array([3.0, 2.0, 2.0, 2.0, 0.5, -1.0, -2.0])  # r = 2: boundary inside the tied level 2.0 (3 rows)
    Z = rng.standard_normal((4, 7, 2))
    Z[2, 0] = 0.0  # the top mode has no component: on an invariant manifold, the rule changes this draw
    got = _manifold_rule_generic(d, Z)
    want = _manifold_rule(d, Z)[0]
    for b in range(4):
        np.testing.assert_allclose(got[b] @ got[b].T, want[b] @ want[b].T, atol=1e-14)
    np.testing.assert_array_equal(got[[0, 1, 3]], Z[[0, 1, 3]])  # generic draws: untouched
    np.testing.assert_array_equal(got[2], want[2])


@pytest.mark.parametrize("lam", [-0.05, -0.7, -3.0])
def test_structured_tie_equals_eigen_compression(lam):
    """The lam-free subspace route gives the same B D^-1 B^T as the eigen-decomposition + compression, at every g."""
    from rsa_lineardyn.models.random_starts import _compress_tied_columns, _right_singular

    task = _task(12, 2, np.array([2.0, 0.5]), seed=4)
    eng = _RandomStartEngine(task, 12, "hidden", 1e-10, 4, 9)
    split = eng._split_state(lam, 0.2)
    assert split is not None and split[3] is None  # the structured route ran (no r x r decomposition stored)
    Zg, Zo = split[7]
    Bc, sigc = split[6]
    sigma, W = _right_singular(Zg)
    B = Zo @ W
    Bc2, sigc2 = _compress_tied_columns(B, sigma)
    for g in (0.0, 0.3, 5.0, 1e3, 1e8):
        M1 = (Bc / (1.0 + g * sigc[:, None, :] ** 2)) @ np.swapaxes(Bc, 1, 2)
        M2 = (B / (1.0 + g * sigma[:, None, :] ** 2)) @ np.swapaxes(B, 1, 2)
        M3 = (Bc2 / (1.0 + g * sigc2[:, None, :] ** 2)) @ np.swapaxes(Bc2, 1, 2)
        np.testing.assert_allclose(M1, M2, rtol=0, atol=1e-13 * np.max(np.abs(M2)))
        np.testing.assert_allclose(M3, M2, rtol=0, atol=1e-13 * np.max(np.abs(M2)))


@pytest.mark.parametrize("n_in, n_out, lam", [(7, 3, 0.4), (3, 7, -1.3), (5, 5, 0.0)])
def test_sparse_mode_spectrum_is_the_dense_one(n_in, n_out, lam):
    """The non-zeros the random-start engine multiplies with are exactly the dense eigenvector matrix's."""
    from scipy.sparse import coo_matrix

    from rsa_lineardyn.models.random_kernels import _mode_spectrum
    from rsa_lineardyn.models.random_paths import _left_apply

    s = np.array([2.0, 1.0, 1.0][: min(n_in, n_out)])
    d, Om = _mode_spectrum(s, n_in, n_out, lam)
    d2, (rows, cols, vals) = _mode_spectrum(s, n_in, n_out, lam, sparse=True)
    n = n_in + n_out
    np.testing.assert_array_equal(d, d2)
    np.testing.assert_array_equal(coo_matrix((vals, (rows, cols)), shape=(n, n)).toarray(), Om)
    B = np.random.default_rng(0).standard_normal((4, n, 3))
    np.testing.assert_allclose(_left_apply(coo_matrix(Om.T).tocsr(), B), np.swapaxes(Om, 0, 1) @ B, rtol=0, atol=1e-15)
