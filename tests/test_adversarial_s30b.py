"""Adversarial trial (session 30b): the output side and the rsatoolbox adapters.

Every test here failed on the code it was written against and states what a careful user expects.  Real
rsatoolbox objects, real files in ``tmp_path``, no mocks.
"""

from __future__ import annotations

import numpy as np
import pytest
from rsatoolbox.rdm import RDMs

import rsa_lineardyn as rl
from rsa_lineardyn.inference.recovery import simulate_voxel_rdms


def _task():
    return rl.hierarchical_task(depth=3, include_root=False)  # 8 items, n_in = 8, n_out = 14


def _data(n_subjects=5, stages=(3.0,), seed=3):
    data = simulate_voxel_rdms(_task(), 2, 0.0, 0.1, list(stages), n_subjects=n_subjects, n_voxels=60, noise=0.3,
                               init="random", per_subject=True, seed=seed)
    data.descriptors = {}
    return data


FAST = dict(n_times=11, n_lam=3)


# ---------------------------------------------------------------------------------------------------------------
# 1. item_order=<a subset of the data's conditions>: the model's "index" pattern descriptor is renumbered 0..n-1,
#    while the data keep rsatoolbox's original index values; rsatoolbox's pipelines subsample both by "index"
#    (their default pattern_descriptor), so rows are silently paired with the wrong items.
# ---------------------------------------------------------------------------------------------------------------
def _subset():
    task, data = _task(), _data()
    sub = data.subsample_pattern("item", ["item_0_0_1", "item_0_1_0", "item_1_0_0", "item_1_1_1", "item_0_0_0",
                                          "item_1_1_0"])
    return task, sub


def test_item_order_subset_index_descriptor_selects_same_items_as_data():
    task, sub = _subset()
    assert list(sub.pattern_descriptors["index"]) == [0, 1, 2, 4, 6, 7]  # rsatoolbox keeps the original indices
    model = rl.LinearNetworkModel(task, 2, item_order=sub)
    pred = model.predict_rdm(model.default_theta)
    for v in ([0, 1, 4], [2, 4, 6, 7], [0, 7, 1]):
        want = [str(x) for x in sub.subsample_pattern("index", v).pattern_descriptors["item"]]
        got = [str(x) for x in pred.subsample_pattern("index", v).pattern_descriptors["item"]]
        assert got == want, f"subsampling by 'index' {v}: model rows {got} but data rows {want}"


def test_item_order_subset_works_in_rsatoolbox_crossval_by_index():
    from rsatoolbox.inference import crossval, sets_k_fold

    task, sub = _subset()
    model = rl.LinearNetworkModel(task, 2, item_order=sub, n_draws=8)
    res = {}
    for pd_ in ("index", "item"):
        train, test, ceil = sets_k_fold(sub, k_pattern=2, k_rdm=2, random=False, pattern_descriptor=pd_)
        res[pd_] = crossval([model], sub, train, test, ceil, method="corr", pattern_descriptor=pd_).evaluations
    # the same folds of the same items (index order == item order here): the same crossvalidated scores
    np.testing.assert_allclose(res["index"], res["item"], rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------------------------------------------------------
# 2. simulate(method="flow") with a repeated time: scipy's "Values in `t_eval` are not properly sorted." traceback
#    (the docstring: "Non-negative, finite times in any order"; gd and exact_dynamics accept repeats).
# ---------------------------------------------------------------------------------------------------------------
def test_simulate_flow_accepts_repeated_times():
    task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3.0, 2.0, 1.0]) * np.sqrt(3))
    W1, W2 = rl.balanced_init(3, 2, 3, lam=0.0, scale=0.1, seed=0)
    tr = rl.simulate(task, W1, W2, [1.0, 0.5, 1.0, 0.0], method="flow")
    assert tr.times.tolist() == [1.0, 0.5, 1.0, 0.0]
    np.testing.assert_allclose(tr.factors[0], tr.factors[2], rtol=0, atol=0)
    ex = rl.exact_dynamics(task, W1, W2, [1.0, 0.5, 1.0, 0.0])
    np.testing.assert_allclose(rl.to_rdms(tr).dissimilarities, rl.to_rdms(ex).dissimilarities, rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------------------------------------------------------
# 3. evaluate_hypotheses keys settings["draws"] by model.name: two hypotheses whose models share the default name
#    ("linear h=2") keep one record (the other's seed is lost), and the rsatoolbox Result names the models by
#    model.name, not by the hypothesis names of the table.
# ---------------------------------------------------------------------------------------------------------------
def _rich_lazy(data):
    task = _task()
    hyps = {"rich": rl.LinearNetworkModel(task, 2, item_order=data, scale=0.01, seed=1),
            "lazy": rl.LinearNetworkModel(task, 2, item_order=data, scale=3.0, seed=2)}
    return rl.evaluate_hypotheses(data, hyps, task, baseline=None, **FAST)


def test_settings_draws_record_every_hypothesis():
    res = _rich_lazy(_data())
    seeds = sorted(rec["seed"] for rec in res.settings["draws"].values())
    assert seeds == [1, 2], f"settings['draws'] = {res.settings['draws']}: a hypothesis's draw seed is lost"


def test_rsatoolbox_result_models_carry_the_hypothesis_names():
    res = _rich_lazy(_data())
    assert [m.name for m in res.result.models] == list(res.table["model"])


# ---------------------------------------------------------------------------------------------------------------
# 4. mc_replicates > 1: the fitted models in HypothesisResult.result predict from the pooled blocks of draws, but
#    to_dict() records only n_draws and seed, so rl.load_results restores a model that predicts another RDM.
# ---------------------------------------------------------------------------------------------------------------
def test_saved_pooled_model_round_trip_predicts_the_same_rdm(tmp_path):
    data = _data()
    task = _task()
    res = rl.evaluate_hypotheses(data, {"h2": rl.LinearNetworkModel(task, 2, item_order=data, n_draws=8)}, task,
                                 baseline=None, mc_replicates=2, **FAST)
    fitted = res.result.models[0]
    path = tmp_path / "result.hdf5"
    res.result.save(str(path), file_type="hdf5")
    back = rl.load_results(path)
    want = fitted.predict_rdm().dissimilarities
    np.testing.assert_allclose(back.models[0].predict_rdm().dissimilarities, want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rl.model_from_dict(fitted.to_dict()).predict_rdm().dissimilarities, want,
                               rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# 5. The same data with its RDMs (subjects) in another row order, the same random_state: the bootstrap interval
#    (n_boot) and the k-fold crossvalidation (n_folds) change, because units are numbered by first appearance.
# ---------------------------------------------------------------------------------------------------------------
def _two_widths(data):
    task = _task()
    return {"h1": rl.LinearNetworkModel(task, 1, item_order=data, n_draws=8),
            "h2": rl.LinearNetworkModel(task, 2, item_order=data, n_draws=8)}


def test_bootstrap_interval_does_not_depend_on_row_order():
    data = _data(n_subjects=5, stages=(2.0, 4.0, 6.0))
    del data.rdm_descriptors["true_time"]
    perm = np.random.default_rng(1).permutation(data.n_rdm)
    out = []
    for d in (data, data[perm]):
        res = rl.evaluate_hypotheses(d, _two_widths(d), _task(), n_boot=20, random_state=0, baseline=None, **FAST)
        out.append(res.table.set_index("model")[["mean", "boot_ci_low", "boot_ci_high"]].sort_index())
    np.testing.assert_allclose(out[0].to_numpy(), out[1].to_numpy(), rtol=1e-9)


def test_k_fold_result_does_not_depend_on_row_order():
    data = _data(n_subjects=6)
    out = []
    for perm in (np.arange(6), np.array([0, 4, 2, 3, 5, 1])):
        d = data[perm]
        res = rl.evaluate_hypotheses(d, _two_widths(d), _task(), n_folds=3, random_state=0, **FAST)
        out.append(res.table.set_index("model")[["mean", "sem"]].sort_index())
    np.testing.assert_allclose(out[0].to_numpy(), out[1].to_numpy(), rtol=1e-9)


# ---------------------------------------------------------------------------------------------------------------
# 6. HypothesisResult.summary() prints a pair only when mean_diff > 0; pairwise lists each pair once (model_a
#    before model_b in table order), so every pair whose first model scores lower is silently left out.
# ---------------------------------------------------------------------------------------------------------------
def test_summary_lists_every_pair():
    data = _data()
    res = rl.evaluate_hypotheses(data, _two_widths(data), _task(), **FAST)
    text = res.summary()
    for r in res.pairwise.itertuples():
        assert f"{r.model_a} - {r.model_b}" in text or f"{r.model_b} - {r.model_a}" in text, (
            f"summary() omits the pair {r.model_a} / {r.model_b} (mean_diff {r.mean_diff:+.4f}, p {r.p:.3g}):\n{text}")


# ---------------------------------------------------------------------------------------------------------------
# 7. Outputs "all or none": with force=True a failure while moving the second file into place leaves the first
#    target replaced by the new run beside the old run's other outputs (data/files.py promises all or none).
# ---------------------------------------------------------------------------------------------------------------
def test_forced_outputs_all_or_none(tmp_path):
    from rsa_lineardyn.data.files import write_outputs

    (tmp_path / "a.csv").write_text("old a")
    (tmp_path / "b.json").mkdir()  # something in the way of the second target
    with pytest.raises(OSError):
        write_outputs([(tmp_path / "a.csv", lambda p: p.write_text("new a")),
                       (tmp_path / "b.json", lambda p: p.write_text("new b"))], force=True)
    assert (tmp_path / "a.csv").read_text() == "old a", "a failed forced run left one new output beside old ones"


# ---------------------------------------------------------------------------------------------------------------
# 8. The ConditionOrderWarning and the guide say "rl.fit_rdms and rl.evaluate_hypotheses match by label
#    themselves", yet evaluate_hypotheses refuses a LinearNetworkModel built without item_order when the data's
#    conditions are in another order than the task's.
# ---------------------------------------------------------------------------------------------------------------
def test_evaluate_hypotheses_matches_model_without_item_order_by_label():
    task, data = _task(), _data()
    perm = np.array([3, 0, 7, 5, 1, 6, 2, 4])
    pdata = RDMs(data.get_matrices()[:, perm][:, :, perm], dissimilarity_measure=data.dissimilarity_measure,
                 rdm_descriptors=data.rdm_descriptors,
                 pattern_descriptors={"item": np.array(data.pattern_descriptors["item"])[perm]})
    means = []
    for d in (data, pdata):
        res = rl.evaluate_hypotheses(d, {"h2": rl.LinearNetworkModel(task, 2, n_draws=8)}, task, baseline=None, **FAST)
        means.append(res.table["mean"].to_numpy())
    np.testing.assert_allclose(means[0], means[1], rtol=1e-9)



def test_fit_rdms_bootstrap_does_not_depend_on_row_order():
    """fit_rdms' subject bootstrap draws over the subjects sorted by label: the same data in another row order and
    the same random_state give the same bootstrap samples (before: subjects numbered by first appearance)."""
    data = _data(n_subjects=5, stages=(2.0, 4.0, 6.0))
    del data.rdm_descriptors["true_time"]
    perm = np.random.default_rng(4).permutation(data.n_rdm)
    boots = []
    for d in (data, data[perm]):
        res = rl.fit_rdms(d, _task(), n_hidden=[2], n_boot=15, random_state=3, start_check=None, refine=False, **FAST)
        boots.append(res.bootstrap[["lam", "rate"]].to_numpy())
    np.testing.assert_allclose(boots[0], boots[1], rtol=1e-12, atol=1e-12)
