"""LinearNetworkModel: fast predictions vs the exact solver, fitter, rsatoolbox inference, saving."""

import timeit
import warnings

import matplotlib
import numpy as np
import pytest
import rsatoolbox
from rsatoolbox.inference import (
    bootstrap_crossval,
    crossval,
    eval_bootstrap_pattern,
    eval_fixed,
    load_results as rsa_load_results,
    sets_k_fold,
)
from rsatoolbox.rdm import RDMs, compare

import rsa_lineardyn as rl
import rsa_lineardyn.models.network  # noqa: F401  (rl.models.network below)

from conftest import random_white_task

matplotlib.use("Agg")

ANIMALS = ["zebra", "ant", "owl", "cat", "eel", "yak", "bee", "dog", "fox", "gnu"]


def _aligned_task(s, P=10, n_out=None, seed=0, labels=None):
    """White one-hot task with prescribed singular values of Syx."""
    rng = np.random.default_rng(seed)
    s = np.asarray(s, dtype=float)
    n_out = s.size if n_out is None else n_out
    U, _ = np.linalg.qr(rng.standard_normal((n_out, n_out)))
    V, _ = np.linalg.qr(rng.standard_normal((P, P)))
    Y = (U[:, : s.size] * s) @ V[:, : s.size].T * np.sqrt(P)
    return rl.Task(np.eye(P) * np.sqrt(P), Y, labels=labels)


@pytest.fixture(scope="module")
def task():
    return _aligned_task([4.0, 3.0, 2.5, 2.0, 1.5, 1.0], labels=ANIMALS)


# -- closed-form mode dynamics ---------------------------------------------------------------
def test_mode_strengths_special_cases():
    t = np.array([0.0, 0.5, 2.0, np.inf])
    s, a0 = 2.0, 0.01
    logistic = s / (1 - (1 - s / a0) * np.exp(-2 * s * t))
    np.testing.assert_allclose(rl.mode_strengths([s], a0, 0.0, t)[:, 0], logistic, rtol=1e-13)
    np.testing.assert_allclose(rl.mode_strengths([0.0], a0, 0.0, t)[:, 0], a0 / (1 + 2 * a0 * t), rtol=1e-13)
    assert np.all(rl.mode_strengths([s], 0.0, 0.0, t) == 0)  # unstable fixed point at 0
    np.testing.assert_allclose(rl.mode_strengths([3.0, 1.0, 0.0], 1e-3, -0.8, [np.inf]), [[3.0, 1.0, 0.0]], atol=1e-14)
    # it solves the ODE: tau da/dt = sqrt(lam^2 + 4 a^2) (s - a)
    lam, tau, tt = 0.7, 2.0, np.linspace(0.1, 5, 7)
    h = 1e-5
    a = rl.mode_strengths([s], a0, lam, tt, tau)[:, 0]
    da = (rl.mode_strengths([s], a0, lam, tt + h, tau) - rl.mode_strengths([s], a0, lam, tt - h, tau))[:, 0] / (2 * h)
    np.testing.assert_allclose(tau * da, np.sqrt(lam**2 + 4 * a**2) * (s - a), rtol=1e-6)


@pytest.mark.parametrize("n_hidden,lam", [(2, 0.0), (2, 0.9), (3, -0.6), (6, 0.0), (8, -1.5), (4, 2.0)])
@pytest.mark.parametrize("rep", ["hidden", "output", "prediction", "ntk"])
@pytest.mark.parametrize("measure", ["euclidean", "cosine"])
def test_fast_path_matches_exact_dynamics(task, n_hidden, lam, rep, measure):
    """The per-mode closed form equals rl.exact_dynamics from the task-aligned start."""
    if lam > 0 and n_hidden > task.n_out:
        pytest.skip("infeasible")
    scale = 0.2
    model = rl.LinearNetworkModel(task, n_hidden, rep, measure, lam=lam, scale=scale, init="aligned")
    W1, W2 = rl.task_aligned_init(task, n_hidden, lam=lam, scale=scale)
    times = np.array([0.0, 0.4, 1.5, 10.0])
    ref = rl.to_rdms(rl.exact_dynamics(task, W1, W2, times), rep, measure).dissimilarities
    got = np.stack([model.predict([np.log10(t)]) for t in times[1:]])
    np.testing.assert_allclose(got, ref[1:], rtol=1e-8, atol=1e-10 * np.max(np.abs(ref)))
    np.testing.assert_allclose(model.predict_times(times), ref, rtol=1e-8, atol=1e-10 * np.max(np.abs(ref)))


# -- the rsatoolbox contract ------------------------------------------------------------------
def test_predict_contract(task):
    model = rl.LinearNetworkModel(task, n_hidden=2, init="aligned")
    assert isinstance(model, rsatoolbox.model.Model)
    assert model.n_param == 2 and model.param_names == ["lam", "log10_time"]
    with pytest.raises(rl.NotFittedError, match="not fitted: call model.fit"):  # theta=None needs a fit first
        model.predict()
    with pytest.raises(rl.NotFittedError):
        model.predict_rdm()
    v = model.predict(model.default_theta)
    assert v.shape == (45,) and np.all(np.isfinite(v))
    rdm = model.predict_rdm(model.default_theta)
    assert isinstance(rdm, RDMs) and rdm.n_rdm == 1 and rdm.n_cond == 10
    assert list(rdm.pattern_descriptors["item"]) == ANIMALS
    assert list(rdm.pattern_descriptors["index"]) == list(range(10))
    assert rdm.dissimilarity_measure == "squared euclidean"
    theta = [0.3, 0.2]
    rdm = model.predict_rdm(theta)
    assert rdm.rdm_descriptors["time"][0] == pytest.approx(10**0.2)
    assert rdm.rdm_descriptors["lam"][0] == 0.3 and rdm.rdm_descriptors["n_hidden"][0] == 2
    np.testing.assert_array_equal(rdm.get_vectors()[0], model.predict(theta))
    # fixed lam and free scale change the parameter vector
    m2 = rl.LinearNetworkModel(task, n_hidden=2, lam=0.5, fit_scale=True, measure="cosine", init="aligned")
    assert m2.param_names == ["log10_time", "log10_scale"] and m2.n_param == 2
    assert m2.predict_rdm([0.0, -1.0]).dissimilarity_measure == "cosine"
    assert len(m2.bounds) == 2


def test_model_errors(task):
    with pytest.raises(ValueError, match="whiten"):
        rl.LinearNetworkModel(rl.Task(np.eye(3), np.eye(3)), n_hidden=2, init="aligned")
    with pytest.raises(ValueError, match="rotation"):
        rl.LinearNetworkModel(task, measure="correlation", init="aligned")
    with pytest.raises(ValueError, match="init"):
        rl.LinearNetworkModel(task, init="uniform")
    with pytest.raises(ValueError, match="n_hidden"):
        rl.LinearNetworkModel(task, n_hidden=0, init="aligned")
    with pytest.raises(ValueError, match="lam"):
        rl.LinearNetworkModel(task, n_hidden=8, lam=1.0, init="aligned")  # lam > 0 needs n_hidden <= n_out = 6
    with pytest.raises(ValueError, match="item_order"):
        rl.LinearNetworkModel(task, item_order=["zebra", "unicorn", "ant"], init="aligned")
    model = rl.LinearNetworkModel(task, n_hidden=8, init="aligned")
    assert model.bounds[0][1] == 0.0  # infeasible positive lam excluded from the search box
    with pytest.raises(ValueError, match="theta"):
        model.predict([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="lam"):
        model.predict([1.0, 0.0])


def test_predict_rdm_speed_p92():
    t92 = random_white_task(92, 20, seed=1)
    model = rl.LinearNetworkModel(t92, n_hidden=6, init="aligned")
    counter = iter(range(10**6))

    def call():  # a new theta each call: no cache hits
        return model.predict_rdm([0.1, 0.5 + 1e-9 * next(counter)])

    per_call = min(timeit.repeat(call, number=50, repeat=3)) / 50
    assert per_call < 5e-3, f"predict_rdm took {per_call * 1e3:.2f} ms"


# -- initialisation: degeneracy and averaging -----------------------------------------------
def test_degeneracy_warning_names_singular_values():
    deg = _aligned_task([3.0, 2.0, 2.0, 1.0], P=6)
    with pytest.warns(rl.DegeneracyWarning, match=r"2\.0, 2\.0"):
        rl.LinearNetworkModel(deg, n_hidden=2, init="aligned")
    with warnings.catch_warnings():
        warnings.simplefilter("error", rl.DegeneracyWarning)
        rl.LinearNetworkModel(deg, n_hidden=3, init="aligned")  # keeps the whole degenerate group
        rl.LinearNetworkModel(deg, n_hidden=1, init="aligned")
        m = rl.LinearNetworkModel(deg, n_hidden=2, init="average", n_draws=2)
    assert m.degenerate_ == pytest.approx([2.0, 2.0])


def test_init_average_is_mean_over_draws():
    small = _aligned_task([3.0, 2.0, 1.0], P=5)
    model = rl.LinearNetworkModel(small, n_hidden=2, init="average", n_draws=6, seed=3, scale=0.3)
    lam, t = 0.4, 1.2
    got = model.predict([lam, np.log10(t)])
    rng = np.random.default_rng(3)
    grams = []
    for _ in range(6):
        W1, W2 = rl.balanced_init(5, 2, 3, lam=lam, scale=0.3, seed=rng)
        grams.append(rl.hidden_rsm(rl.exact_dynamics(small, W1, W2, [t]))[0])
    ref = rl.gram_to_rdm(np.mean(grams, axis=0), "euclidean")[np.triu_indices(5, 1)]
    np.testing.assert_allclose(got, ref, rtol=1e-9)
    # cached: the same parameters are not recomputed
    n_cached = len(model._engine._cache)
    model.predict([lam, np.log10(t)])
    model.predict_rdm([lam, np.log10(t)])
    assert len(model._engine._cache) == n_cached
    theta = model.fit(model.predict_rdm([lam, np.log10(t)]), method="corr")
    assert rl.compare_model(model, model.predict_rdm([lam, np.log10(t)]), theta, "corr") > 0.999


@pytest.mark.parametrize("rep", ["hidden", "output", "prediction", "ntk"])
@pytest.mark.parametrize("n_hidden,lam", [(2, 0.5), (3, -0.4), (8, 0.0)])
def test_init_average_matches_independent_mean(rep, n_hidden, lam):
    """The cached, batched average equals the mean over draws of rl.exact_dynamics at the requested times.

    The engine evaluates every draw exactly at the requested times (no time
    grid, no interpolation); it only reorganises the computation (tied
    eigenvalue rows compressed by a QR, draws and times batched in one graded
    QR), so the two agree to rounding: observed <= 1e-13 relative; rtol 1e-9
    leaves room for BLAS and platform differences while still catching any
    real error (a wrong draw, scale or time is off by >= 1e-3).
    """
    tk = random_white_task(7, 5, seed=3)
    if lam > 0 and n_hidden > tk.n_out:
        pytest.skip("infeasible")
    n_draws, seed, scale = 5, 11, 0.25
    model = rl.LinearNetworkModel(tk, n_hidden, rep, lam=lam, init="average", n_draws=n_draws, seed=seed, scale=scale)
    times = np.array([0.0, 0.03, 0.5, 2.0, 30.0, 1e5, np.inf])
    got = model._engine.full_gram(lam, scale, times, model.tau)
    rng = np.random.default_rng(seed)
    ref = 0.0
    for _ in range(n_draws):
        W1, W2 = rl.balanced_init(tk.n_in, n_hidden, tk.n_out, lam=lam, scale=scale, seed=rng)
        ref = ref + rl.representation_gram(rl.exact_dynamics(tk, W1, W2, times), rep, rcond=model.rcond)
    ref = ref / n_draws
    top = np.max(np.abs(ref), axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * np.max(top))
    assert np.all(np.abs(got - ref) <= 1e-9 * top)  # relative to each time's own scale
    # predictions at single times (the fitter's refinement path) agree too
    vec = model.predict_times(times[1:4])
    iu = np.triu_indices(ref.shape[1], 1)
    ref_rdm = rl.gram_to_rdm(ref[1:4], "euclidean")[:, iu[0], iu[1]]
    if rep != "ntk":
        np.testing.assert_allclose(vec, ref_rdm, rtol=1e-8, atol=1e-9 * np.max(np.abs(ref_rdm)))


def test_init_average_cache_hits():
    tk = random_white_task(12, 4, seed=5)
    model = rl.LinearNetworkModel(tk, n_hidden=2, init="average", n_draws=8)
    eng = model._engine
    model.predict([0.3, 0.1])
    assert eng.stats["state_misses"] == 1
    model.predict([0.3, 0.4])  # new time, same (lam, scale): only the time step is recomputed
    model.predict_times([0.5, 1.0, 2.0], theta=[0.3, 0.0])
    assert eng.stats["state_misses"] == 1 and eng.stats["state_hits"] == 2
    model.predict([-0.3, 0.4])  # new lam
    assert eng.stats["state_misses"] == 2
    n_results = eng.stats["result_misses"]
    model.predict([0.3, 0.1])  # same theta: prediction cache, nothing recomputed
    assert eng.stats["result_misses"] == n_results
    # bounded LRU
    small = rl.LinearNetworkModel(tk, n_hidden=2, lam=0.0, fit_scale=True, init="average", n_draws=2)
    small._engine._cache_size = 3
    for ls in np.linspace(-2, -1, 6):
        small.predict([0.0, ls])
    assert len(small._engine._cache) == 3


def test_init_average_fit_p20():
    tk = random_white_task(20, 6, seed=7)
    tk = rl.Task(tk.X, tk.Y, labels=[f"item{i:02d}" for i in range(20)])
    model = rl.LinearNetworkModel(tk, n_hidden=3, init="average", n_draws=16, scale=0.1)
    truth = [0.4, 0.2]
    data = model.predict_rdm(truth)
    theta = model.fit(data, method="corr")
    for x, (lo, hi) in zip(theta, model.bounds):
        assert lo <= x <= hi
    assert rl.compare_model(model, data, theta, "corr") > 0.999


def test_ntk_item_order_from_data_rdms(task):
    """NTK conditions 'feature:item' read from data RDMs (sorted as calc_rdm would) drive the model's order."""
    truth = rl.LinearNetworkModel(task, n_hidden=2, representation="ntk", lam=0.0, init="aligned")
    assert truth.labels[:2] == [f"{task.feature_names[0]}:zebra", f"{task.feature_names[0]}:ant"]
    full = truth.predict_rdm([0.2])
    assert full.n_cond == task.n_out * task.P
    sorted_labels = sorted(truth.labels)  # feature-major, items alphabetical within each feature
    order = [truth.labels.index(x) for x in sorted_labels]
    data = rl.rdms_from_matrices(full.get_matrices()[0][np.ix_(order, order)], labels=sorted_labels)
    model = rl.LinearNetworkModel(task, n_hidden=2, representation="ntk", lam=0.0, item_order=data, init="aligned")
    assert model.labels == sorted_labels
    assert [task.labels[i] for i in model.items] == sorted(ANIMALS)
    np.testing.assert_allclose(model.predict([0.2]), data.dissimilarities[0], rtol=1e-10)
    theta = model.fit(data, method="corr")
    assert theta[0] == pytest.approx(0.2, abs=1e-3)
    # a data RDM over a subset of items, labels under another descriptor
    sub_labels = [lab for lab in sorted_labels if lab.split(":")[1] in ("owl", "cat", "ant")]
    idx = [sorted_labels.index(x) for x in sub_labels]
    sub = RDMs(data.get_matrices()[0][np.ix_(idx, idx)][None], pattern_descriptors={"conds": np.array(sub_labels)})
    sub = RDMs(sub.get_vectors(), pattern_descriptors={"conds": np.array(sub_labels)})
    m_sub = rl.LinearNetworkModel(task, n_hidden=2, representation="ntk", lam=0.0, item_order=sub, init="aligned")
    assert m_sub.label_key == "conds" and m_sub.labels == sub_labels
    np.testing.assert_allclose(m_sub.predict([0.2]), sub.dissimilarities[0], rtol=1e-10)
    with pytest.raises(ValueError, match="conditions"):
        m_sub.fit(data)  # the full data has all items: a clear mismatch error, not a silent misalignment
    shuffled = RDMs(sub.get_vectors(), pattern_descriptors={"conds": np.array(sub_labels[::-1])})
    with pytest.raises(ValueError, match="by label"):
        m_sub.fit(shuffled)


# -- fitting ---------------------------------------------------------------------------------
def test_fit_recovers_noise_free_prediction(task):
    model = rl.LinearNetworkModel(task, n_hidden=3, init="aligned")
    truth = [-0.8, 0.1]
    data = model.predict_rdm(truth)
    theta = model.fit(data, method="corr")
    assert theta.shape == (2,)
    assert rl.compare_model(model, data, theta, "corr") > 0.9999
    assert np.allclose(model.theta_, theta)
    np.testing.assert_allclose(model.predict(), model.predict(theta))  # theta=None uses theta_ after fit
    fixed = rl.LinearNetworkModel(task, n_hidden=3, lam=-0.8, init="aligned")
    th = fixed.fit(data, method="cosine")
    assert th[0] == pytest.approx(0.1, abs=1e-3)  # never normalised: the log10 time itself


def test_fitter_signature_and_bounds(task):
    model = rl.LinearNetworkModel(task, n_hidden=2, fit_scale=True, lam_bounds=(-1, 1), init="aligned")
    data = model.predict_rdm([0.2, 0.0, -1.2])
    theta = rl.fit_linear_network(model, data, "corr", None, None, None)
    for x, (lo, hi) in zip(theta, model.bounds):
        assert lo <= x <= hi
    assert rl.compare_model(model, data, theta, "corr") > 0.999
    scores = rl.score_grid(model, data, np.linspace(-2, 1, 5), lams=[0.0, 0.2], log10_scales=[-1.2], method="corr")
    assert scores.shape == (2, 1, 5)


def test_item_order_follows_data_labels(task):
    """calc_rdm sorts conditions; predictions must follow the data's order, matched by label."""
    truth = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned")
    rdm_task_order = truth.predict_rdm([0.3])
    sorted_labels = sorted(ANIMALS)
    data = rdm_task_order.subsample_pattern("item", sorted_labels)  # rsatoolbox keeps the task order here
    order = [ANIMALS.index(x) for x in sorted_labels]
    mats = rdm_task_order.get_matrices()[0][np.ix_(order, order)]
    data = rl.rdms_from_matrices(mats, labels=sorted_labels)
    with pytest.raises(ValueError, match="item_order"):
        rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned").fit(data, method="corr")
    model = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, item_order=data, init="aligned")
    assert model.labels == sorted_labels
    theta = model.fit(data, method="corr")
    np.testing.assert_allclose(model.predict(theta), data.dissimilarities[0], rtol=1e-5)
    # a subset of the items, in the data's order
    sub = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, item_order=["owl", "ant", "cat", "zebra"], init="aligned")
    assert sub.predict(sub.default_theta).shape == (6,)
    wrong = rl.rdms_from_matrices(np.zeros((4, 4)) + 1 - np.eye(4), labels=["owl", "ant", "cat", "eel"])
    with pytest.raises(ValueError, match="'eel'"):
        sub.fit(wrong)


def test_pattern_subsampling_matches_rsatoolbox(task):
    model = rl.LinearNetworkModel(task, n_hidden=3, lam=0.3, init="aligned")
    full = model.predict_rdm([0.2])
    idx = [0, 2, 2, 5, 7, 9]  # with a repeat, as in bootstrap samples
    ours = rl.models.network._Selection(model, model.selection(full.subsample_pattern("index", idx), idx, "index"))
    ref = full.subsample_pattern("index", idx).get_vectors()[0]
    got = ours.vectors(0.3, model.scale, np.array([10**0.2]))[0]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got[~np.isnan(got)], ref[~np.isnan(ref)], rtol=1e-12)
    theta = model.fit(full.subsample_pattern("index", idx), method="corr", pattern_idx=idx, pattern_descriptor="index")
    assert theta[0] == pytest.approx(0.2, abs=1e-3)
    with pytest.raises(ValueError, match="pattern_descriptor"):
        model.fit(full, pattern_idx=idx, pattern_descriptor="voxel")


# -- end to end with rsatoolbox ----------------------------------------------------------------
@pytest.fixture(scope="module")
def experiment(task):
    """Noisy measurements of a width-2 network's hidden layer, as rsatoolbox would see them."""
    rng = np.random.default_rng(0)
    W1, W2 = rl.task_aligned_init(task, 2, lam=0.0, scale=0.1)
    H = rl.simulate(task, W1, W2, [3.0], method="flow").weights[0][0] @ task.X  # (2, P)
    datasets = []
    for subj in range(4):
        M = rng.standard_normal((40, 2))
        acts, conds = [], []
        for _ in range(2):
            perm = rng.permutation(task.P)
            acts.append(((M @ H).T + 0.5 * rng.standard_normal((task.P, 40)))[perm])
            conds += [ANIMALS[i] for i in perm]
        datasets.append(rsatoolbox.data.Dataset(np.concatenate(acts), descriptors={"subj": subj},
                                                obs_descriptors={"conds": np.array(conds)}))
    rdms = rsatoolbox.rdm.calc_rdm(datasets, method="euclidean", descriptor="conds")
    models = [rl.LinearNetworkModel(task, n_hidden=h, item_order=rdms, name=f"width {h}", init="aligned") for h in (2, 5)]
    return rdms, models


def test_end_to_end_true_width_wins(experiment):
    rdms, models = experiment
    assert list(rdms.pattern_descriptors["conds"]) == sorted(ANIMALS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        train, test, ceil = sets_k_fold(rdms, k_pattern=2, k_rdm=2, random=False)
        cv = crossval(models, rdms, train, test, ceil, method="corr")
        means = cv.get_means()
        assert means[0] > means[1] + 0.03
        np.random.seed(0)  # rsatoolbox draws its bootstrap samples from the global generator
        bcv = bootstrap_crossval(models, rdms, method="corr", N=4, k_pattern=2, k_rdm=2)
    diff = np.nanmean(bcv.evaluations[:, 0] - bcv.evaluations[:, 1])
    assert diff > 0.03
    # the descriptor-based variant of crossval
    train, test, ceil = sets_k_fold(rdms, k_pattern=2, k_rdm=2, random=False, pattern_descriptor="conds")
    cv2 = crossval(models, rdms, train, test, ceil, method="corr", pattern_descriptor="conds")
    np.testing.assert_allclose(cv2.get_means(), means, atol=1e-6)


def test_eval_fixed_and_bootstrap_pattern(experiment):
    rdms, models = experiment
    thetas = [m.fit(rdms, method="corr") for m in models]
    fixed = eval_fixed(models, rdms, theta=thetas, method="corr")
    assert fixed.evaluations.shape == (1, 2, rdms.n_rdm)
    direct = [np.mean(compare(m.predict_rdm(th), rdms, "corr")) for m, th in zip(models, thetas)]
    np.testing.assert_allclose(fixed.get_means(), direct)
    np.random.seed(1)
    boot = eval_bootstrap_pattern(models, rdms, theta=thetas, method="corr", N=10)
    assert boot.evaluations.shape[:2] == (10, 2)
    assert np.all(np.isfinite(boot.get_means()))


def test_results_plot_save_and_load(experiment, tmp_path):
    rdms, models = experiment
    thetas = [m.fit(rdms, method="corr") for m in models]
    result = eval_fixed(models, rdms, theta=thetas, method="corr")
    fig = rsatoolbox.vis.plot_model_comparison(result)[0]
    matplotlib.pyplot.close(fig)
    for ext, ftype in ((".hdf5", "hdf5"), (".pkl", "pkl")):
        fn = str(tmp_path / f"result{ext}")
        result.save(fn, file_type=ftype)
        back = rsa_load_results(fn)  # rsatoolbox's own loader
        np.testing.assert_array_equal(back.evaluations, result.evaluations)
        assert [m.name for m in back.models] == ["width 2", "width 5"]
        np.testing.assert_allclose(back.models[0].predict(), models[0].predict(thetas[0]))
        ours = rl.load_results(fn, allow_pickle=ftype == "pkl")  # issue 20: a pickle only when trusted
        assert all(isinstance(m, rl.LinearNetworkModel) for m in ours.models)
        for m_back, m, th in zip(ours.models, models, thetas):
            np.testing.assert_allclose(m_back.theta_, th)
            np.testing.assert_allclose(m_back.predict(th), m.predict(th))
            assert m_back.labels == m.labels and m_back.bounds == m.bounds
        np.testing.assert_array_equal(ours.evaluations, result.evaluations)


def test_to_dict_roundtrip_variants(task):
    m = rl.LinearNetworkModel(task, n_hidden=3, representation="output", measure="cosine", lam=-0.4,
                              fit_scale=True, tau=2.0, item_order=ANIMALS[::-1], init="aligned")
    back = rl.model_from_dict(m.to_dict())
    assert back.param_names == m.param_names and back.theta_ is None
    np.testing.assert_allclose(back.predict([0.3, -1.5]), m.predict([0.3, -1.5]))
    fixed = rsatoolbox.model.ModelFixed("plain", m.predict_rdm([0.3, -1.5]))
    assert isinstance(rl.model_from_dict(fixed.to_dict()), rsatoolbox.model.ModelFixed)


@pytest.mark.parametrize("method", ["corr", "cosine", "spearman"])
def test_fast_scores_equal_rsatoolbox_compare(task, method):
    model = rl.LinearNetworkModel(task, n_hidden=3, lam=0.2, init="aligned")
    rng = np.random.default_rng(0)
    data = model.predict_rdm([0.1]).subsample_pattern("index", [0, 1, 1, 3, 4, 6, 8, 9])  # NaNs from the repeat
    noisy = RDMs(data.get_vectors() + 0.3 * rng.random((3, data.dissimilarities.shape[1])) * ~np.isnan(data.get_vectors()),
                 pattern_descriptors=data.pattern_descriptors)
    idx = [0, 1, 1, 3, 4, 6, 8, 9]
    log_t = np.array([-1.0, 0.0, 0.5])
    got = model.score_times(noisy, log_t, method=method, pattern_idx=idx, pattern_descriptor="index")
    for k, lt in enumerate(log_t):
        pred = model.predict_rdm([lt]).subsample_pattern("index", idx)
        assert got[k] == pytest.approx(np.mean(compare(pred, noisy, method)), rel=1e-10)


@pytest.mark.parametrize("init", ["aligned", "average"])
@pytest.mark.parametrize("measure", ["euclidean", "cosine"])
def test_ntk_predictions_match_dense_ntk(init, measure):
    """NTK predictions from its Kronecker blocks equal the dense (n_out P)^2 computation, also for resampled rows."""
    tk = random_white_task(7, 4, seed=2)
    model = rl.LinearNetworkModel(tk, 3, "ntk", measure, lam=0.3, init=init, n_draws=3, seed=1, scale=0.2)
    times = np.array([0.0, 0.05, 0.7, 4.0, np.inf])
    eng = model._engine
    A, B = eng.ntk_parts(0.3, 0.2, times, model.tau)
    G = eng.full_gram(0.3, 0.2, times, model.tau)  # dense reference
    np.testing.assert_array_equal(G.shape, (times.size, tk.n_out * tk.P, tk.n_out * tk.P))
    rows_sets = [np.arange(len(model.labels)), np.array([0, 3, 3, 5, 9, 9, 9, 17, 27])]  # a bootstrap-like repeat
    for rows in rows_sets:
        sel = rl.models.network._Selection(model, rows)
        ci = model._cond_index[rows]
        Gs = G[:, ci][:, :, ci]
        ref = rl.gram_to_rdm(Gs, measure)[:, sel.ia, sel.ib]
        ref[:, sel.duplicate] = np.nan
        got = sel.vectors(0.3, 0.2, times)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
        ok = ~np.isnan(ref)
        np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-10, atol=1e-12 * np.nanmax(np.abs(ref)))
    # and the dense NTK of a trajectory is unchanged by the block construction
    W1, W2 = rl.task_aligned_init(tk, 3, lam=0.3, scale=0.2)
    traj = rl.exact_dynamics(tk, W1, W2, times[:4])
    X = tk.X
    h = rl.hidden_rsm(traj)
    ref = (np.einsum("ab,tij->taibj", np.eye(tk.n_out), h)
           + np.einsum("tab,ij->taibj", traj.w2w2t, X.T @ X)).reshape(4, tk.n_out * tk.P, -1)
    np.testing.assert_allclose(rl.ntk(traj), ref, rtol=1e-13, atol=1e-13 * np.max(np.abs(ref)))


def test_params_accessor(task):
    free = rl.LinearNetworkModel(task, n_hidden=2, fit_scale=True, init="aligned")
    assert free.params([0.25, 0.5, -1.0]) == pytest.approx({"lam": 0.25, "time": 10**0.5, "scale": 0.1})
    fixed = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, scale=0.3, init="aligned")
    assert fixed.params([1.0]) == {"lam": 0.0, "time": 10.0, "scale": 0.3}
    with pytest.raises(rl.NotFittedError):
        fixed.params()
    fixed.theta_ = fixed.default_theta
    assert fixed.params() == fixed.params(fixed.default_theta)
    with pytest.raises(ValueError, match="theta"):
        fixed.params([1.0, 2.0])
