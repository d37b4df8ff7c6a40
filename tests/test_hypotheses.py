"""Hypothesis tests with real rsatoolbox inference, and a small parameter-recovery study."""

import warnings

import numpy as np
import pandas as pd
import pytest
from rsatoolbox.inference import Result
from rsatoolbox.rdm import RDMs

import rsa_lineardyn as rl
from rsa_lineardyn.recovery import recovery_trial, simulate_voxel_rdms


@pytest.fixture(scope="module")
def tree():
    return rl.hierarchical_task(depth=3, include_root=False)


@pytest.fixture(scope="module")
def subjects_data(tree):
    truth = rl.LinearNetworkModel(tree, n_hidden=2, lam=0.0)
    v = truth.predict_times([2.5], [0.0])[0]
    rng = np.random.default_rng(1)
    vecs = np.array([v + rng.normal(0, 0.15 * v.std(), v.size) for _ in range(6)])
    return RDMs(vecs, rdm_descriptors={"subject": np.array([f"s{i}" for i in range(6)])},
                pattern_descriptors={"item": np.array(tree.labels)})


def test_compare_widths_real_rsatoolbox(tree, subjects_data):
    res = rl.compare_widths(subjects_data, tree, widths=[2, "wide"], n_boot=8, seed=0, k_pattern=1, k_rdm=3)
    assert isinstance(res.result, Result)
    assert res.result.cv_method == "bootstrap_crossval"
    t = res.table
    assert list(t["model"]) == ["N_h=2", "N_h=wide (14)"]
    assert {"mean", "sem", "p_zero", "p_noise_ceiling", "noise_ceiling_lower", "noise_ceiling_upper"} <= set(t.columns)
    assert t.loc[0, "mean"] > t.loc[1, "mean"]  # the bottleneck truth wins on held-out data
    assert np.all((t["p_zero"] >= 0) & (t["p_zero"] <= 1))
    assert len(res.pairwise) == 2 and set(res.pairwise.columns) == {"model_a", "model_b", "mean_diff", "p"}
    # deterministic given the seed, and the caller's global numpy state is left alone
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    again = rl.compare_widths(subjects_data, tree, widths=[2, "wide"], n_boot=8, seed=0, k_pattern=1, k_rdm=3)
    assert np.array_equal(np.random.get_state()[1], before)
    pd.testing.assert_frame_equal(res.table, again.table)


def test_compare_regimes_and_plot(tree, subjects_data):
    import matplotlib

    matplotlib.use("Agg")
    res = rl.compare_regimes(subjects_data, tree, n_hidden=4, n_boot=6, seed=1, k_pattern=1, k_rdm=3)
    assert list(res.table["model"]) == ["rich", "lazy (large lam)", "lazy (large init)"]
    models = res.models
    assert models[0].lam == 0.0 and models[1].lam > 0 and models[2].scale > models[0].scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig, ax, _ = rl.plot_hypotheses(res, test_pair_comparisons=False)
    assert fig is not None


def test_hypotheses_errors(tree, subjects_data):
    with pytest.raises(ValueError, match="widths"):
        rl.width_models(tree, subjects_data, widths=["narrow"])
    with pytest.raises(TypeError, match="models"):
        rl.evaluate_hypotheses(subjects_data, ["not a model"])
    staged = RDMs(np.vstack([subjects_data.dissimilarities[:2]] * 2),
                  rdm_descriptors={"stage": np.array([1, 1, 2, 2])},
                  pattern_descriptors=subjects_data.pattern_descriptors)
    with pytest.raises(ValueError, match="stage"):
        rl.compare_widths(staged, tree, n_boot=4)


def test_simulated_voxel_rdms_are_crossnobis_from_gradient_descent(tree):
    data = simulate_voxel_rdms(tree, 4, 0.5, 0.1, [1.0, 3.0], n_subjects=2, n_runs=3, noise=0.5, seed=0)
    assert data.n_rdm == 4 and data.n_cond == tree.P
    assert data.dissimilarity_measure == "crossnobis"
    assert sorted(set(data.rdm_descriptors["subject"])) == ["sub0", "sub1"]
    assert list(data.rdm_descriptors["stage"]) == [1, 2, 1, 2]
    again = simulate_voxel_rdms(tree, 4, 0.5, 0.1, [1.0, 3.0], n_subjects=2, n_runs=3, noise=0.5, seed=0)
    np.testing.assert_array_equal(data.dissimilarities, again.dissimilarities)


def test_small_recovery_study(tree):
    """Stages at low noise (noise ceiling >= 0.8): the true width comes back in (nearly) every trial."""
    rows = []
    ss = np.random.SeedSequence(7)
    for h, child in zip((2, 4, 8), ss.spawn(3)):
        for lam in (-1.0, 1.0):
            rows.append(recovery_trial(tree, h, lam, 0.1, [1.5, 3.0, 4.5, 6.0], [2, 4, 8], noise=0.1,
                                       n_subjects=3, n_voxels=100, seed=np.random.default_rng(child)))
    df = pd.DataFrame(rows)
    print(df.to_string())
    good = df[df["noise_ceiling_lower"] >= 0.8]  # the floor is stated for such noise levels
    assert len(good) >= 4
    assert good["correct_n_hidden"].mean() >= 0.9


def test_single_rdm_pattern_bootstrap_with_degenerate_folds():
    """Regression: one data RDM, pattern bootstrap, k_pattern=2, N_h=2 at a tied pair of singular values.

    rsatoolbox resamples conditions with repeats, so a training fold can hold only a few distinct items
    whose pairs the bottleneck predicts as equal (constant prediction: corr/cosine undefined for every
    parameter).  The fitter used to raise there, which aborted the whole bootstrap_crossval; it now
    returns the default parameters with an UndefinedFitWarning (rsatoolbox's contract: a fitter returns
    parameters for every fold) and the result says how often this happened.
    """
    task = rl.hierarchical_task(depth=2, branching=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        v = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_times([2.5], [0.0])[0]
    rng = np.random.default_rng(0)
    data = RDMs(v[None] + 0.1 * v.std() * rng.standard_normal((1, v.size)),
                pattern_descriptors={"item": np.array(task.labels)})
    for method in ("corr", "cosine"):
        with pytest.warns(RuntimeWarning, match="bootstrap samples gave a finite score"):
            res = rl.compare_widths(data, task, widths=[2, "wide"], n_boot=10, k_pattern=2, seed=0, method=method)
        assert res.result.cv_method == "bootstrap_crossval_pattern"
        assert np.all(np.isfinite(res.table["mean"]))
        assert res.messages and "undefined" in res.messages[0]
        assert any("bootstrap samples gave a finite score" in m for m in res.messages)
    # the fold that triggered it: three copies of one item plus two others, all predicted pairs equal
    model = rl.width_models(task, data, [2])[0]
    idx = ["item_2_1", "item_1_0", "item_1_0", "item_1_0", "item_1_1"]
    fold = data.subsample_pattern("item", idx)
    with pytest.warns(rl.UndefinedFitWarning, match="undefined 'corr' score"):
        theta = model.fit(fold, method="corr", pattern_idx=idx, pattern_descriptor="item")
    np.testing.assert_array_equal(theta, model.default_theta)
    # its prediction has exactly rsatoolbox's NaN pattern for the resampled conditions
    pred = model.predict_rdm(theta).subsample_pattern("item", idx)
    np.testing.assert_array_equal(np.isnan(pred.get_vectors()), np.isnan(fold.get_vectors()))


def test_reports_valid_bootstrap_samples():
    """Few conditions: rsatoolbox's resampled folds often give NaN; the table counts valid samples and says so."""
    import warnings

    import numpy as np
    import rsatoolbox

    import rsa_lineardyn as rl

    task = rl.load_semantic_task()
    W1, W2 = rl.task_aligned_init(task, 2, 0.0, 0.01)
    v = rl.to_rdms(rl.exact_dynamics(task, W1, W2, [3.0])).get_vectors()[0]
    rng = np.random.default_rng(0)
    data = rsatoolbox.rdm.RDMs(
        np.array([v + rng.normal(0, 0.1 * v.std(), v.shape) for _ in range(4)]),
        dissimilarity_measure="squared euclidean", rdm_descriptors={"subject": [0, 1, 2, 3]},
        pattern_descriptors={"item": list(task.labels)},
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        few = rl.compare_widths(data, task, widths=[2, "wide"], n_boot=20)
    assert int(few.table["n_valid_boot"].min()) < 20
    assert any("bootstrap samples gave a finite score" in m for m in few.messages)
    assert any("bootstrap samples gave a finite score" in str(w.message) for w in caught)
    ok = rl.compare_widths(data, task, widths=[2, "wide"], n_boot=20, k_pattern=1)
    assert list(ok.table["n_valid_boot"]) == [20, 20] and not ok.messages
    assert ok.table["mean"].iloc[0] > ok.table["mean"].iloc[1]  # the true width wins
