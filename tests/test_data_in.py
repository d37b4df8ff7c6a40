"""Users' own RDMs: conditions matched by label, their descriptor names, stages in the order given (issue 20).

Every test builds the kind of file a lab brings (own descriptor names, text stage labels, permuted conditions,
missing values) as real rsatoolbox objects -- and where a file is involved, a real hdf5 file -- and checks that
the answer is the one the same data in canonical form give, or a clear error naming the fix.
"""

import warnings

import numpy as np
import pytest
from rsatoolbox.model import ModelFixed
from rsatoolbox.rdm import RDMs

import rsa_lineardyn as rl

FAST = dict(n_times=9, n_lam=3, n_boot=0, start_check=None, refine=False)


@pytest.fixture(scope="module")
def tree():
    return rl.hierarchical_task(depth=3, include_root=False)


def _staged(task, stages=(1.0, 2.0, 3.0), n_subjects=5, seed=0, noise=0.2, rate=1.0, subject_key="subject",
            stage_key="stage", stage_labels=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        V = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned").predict_times(
            rate * np.asarray(stages), [0.0])
    rng = np.random.default_rng(seed)
    vecs, subj, stage = [], [], []
    labels = list(stages) if stage_labels is None else list(stage_labels)
    for s in range(n_subjects):
        for k, v in enumerate(V):
            vecs.append(v + rng.normal(0, noise * V[-1].std(), v.size))
            subj.append(f"s{s}")
            stage.append(labels[k])
    return RDMs(np.array(vecs), rdm_descriptors={subject_key: np.array(subj), stage_key: np.array(stage)},
                pattern_descriptors={"item": np.array(task.labels)})


def _permuted(rdms, seed=3):
    """The same RDMs with the conditions in another order (labels moved with them)."""
    order = np.random.default_rng(seed).permutation(rdms.n_cond)
    return rdms.subsample_pattern("index", order) if "index" in rdms.pattern_descriptors else \
        _reorder(rdms, order)


def _reorder(rdms, order):
    mats = rdms.get_matrices()[:, order][:, :, order]
    pd = {k: np.asarray(v)[order] for k, v in rdms.pattern_descriptors.items()}
    return rl.rdms_from_matrices(mats, labels=pd["item"], rdm_descriptors=dict(rdms.rdm_descriptors))


# ----------------------------------------------------------------------------
# stage order: numbers by value, text only with an explicit order, never alphabetical
# ----------------------------------------------------------------------------
def test_text_stages_need_an_order_and_follow_it(tree):
    num = _staged(tree)
    txt = _staged(tree, stage_labels=["pre", "mid", "post"])  # alphabetical: mid, post, pre = learning backwards
    with pytest.raises(ValueError, match=r"stage_order=.*never taken alphabetically|never taken alphabetically"):
        rl.fit_rdms(txt, tree, n_hidden=[2], **FAST)
    a = rl.fit_rdms(num, tree, n_hidden=[2], **FAST)
    b = rl.fit_rdms(txt, tree, n_hidden=[2], stage_order=["pre", "mid", "post"], **FAST)
    assert b.settings["stages"] == ["pre", "mid", "post"]
    assert b.best["rate"] == pytest.approx(a.best["rate"]) and b.best["score"] == pytest.approx(a.best["score"])
    # the wrong order is a different (worse) fit, not silently reordered
    c = rl.fit_rdms(txt, tree, n_hidden=[2], stage_order=["post", "mid", "pre"], **FAST)
    assert c.best["score"] < a.best["score"] - 1e-3
    h = rl.compare_widths(txt, tree, widths=[2], stage_order="pre,mid,post", n_times=9, n_lam=3)
    assert h.settings["stage_order"] == ["pre", "mid", "post"]


def test_stage_order_checked(tree):
    num = _staged(tree)
    with pytest.raises(ValueError, match="contradicts the numeric stages"):
        rl.fit_rdms(num, tree, n_hidden=[2], stage_order=[3.0, 2.0, 1.0], **FAST)
    txt = _staged(tree, stage_labels=["early", "middle", "late"])
    with pytest.raises(ValueError, match="missing"):
        rl.fit_rdms(txt, tree, n_hidden=[2], stage_order=["early", "late"], **FAST)


# ----------------------------------------------------------------------------
# descriptor names of the lab's own
# ----------------------------------------------------------------------------
def test_own_subject_and_stage_names(tree):
    ref = _staged(tree)
    own = _staged(tree, subject_key="participant_id", stage_key="phase")
    with pytest.raises(ValueError, match="participant_id"):  # never silently treated as independent RDMs
        rl.compare_widths(own, tree, widths=[2], stage_descriptor="phase", n_times=9, n_lam=3)
    a = rl.compare_widths(ref, tree, widths=[2, "wide"], n_times=9, n_lam=3)
    b = rl.compare_widths(own, tree, widths=[2, "wide"], subject_descriptor="participant_id",
                          stage_descriptor="phase", n_times=9, n_lam=3)
    assert b.settings["unit_descriptor"] == "participant_id" and b.settings["n_units"] == 5
    np.testing.assert_allclose(a.pairwise["p"], b.pairwise["p"], rtol=1e-10)


def test_subject_labels_differing_only_by_type_are_refused(tree):
    d = _staged(tree, stages=(1.0,), n_subjects=4)
    d.rdm_descriptors["subject"] = np.array([1, "1", 2, 3], dtype=object)
    with pytest.raises(ValueError, match="differ only by type"):
        rl.compare_widths(d, tree, widths=[2], n_times=9, n_lam=3)


def test_condition_descriptor_and_permuted_conditions(tree):
    ref = _staged(tree, stages=(1.0, 2.0), n_subjects=4)
    perm = _reorder(ref, np.random.default_rng(0).permutation(ref.n_cond))
    a = rl.fit_rdms(ref, tree, n_hidden=[2], **FAST)
    b = rl.fit_rdms(perm, tree, n_hidden=[2], **FAST)
    assert b.best["score"] == pytest.approx(a.best["score"], rel=1e-10)
    own = perm.copy()
    own.pattern_descriptors = {"image_name": own.pattern_descriptors["item"]}
    with pytest.raises(ValueError, match="no item labels"):
        rl.fit_rdms(own, tree, n_hidden=[2], **FAST)
    c = rl.fit_rdms(own, tree, n_hidden=[2], condition_descriptor="image_name", **FAST)
    assert c.best["score"] == pytest.approx(a.best["score"], rel=1e-10)
    both = ref.copy()
    both.pattern_descriptors["conds"] = np.array([f"c{i}" for i in range(ref.n_cond)])
    with pytest.raises(ValueError, match="condition_descriptor"):
        rl.fit_rdms(both, tree, n_hidden=[2], **FAST)


def test_fixed_models_matched_by_label(tree, tmp_path):
    data = _staged(tree, stages=(1.0,), n_subjects=6, noise=0.4)
    mean = data.mean()
    mean.pattern_descriptors = {"item": np.array(tree.labels)}
    perm_model = _reorder(mean, np.random.default_rng(1).permutation(mean.n_cond))
    # a real file: the permuted model RDM saved and read back as a lab would
    path = tmp_path / "model.hdf5"
    perm_model.save(str(path), file_type="hdf5")
    from rsatoolbox.rdm import load_rdm

    loaded = load_rdm(str(path), file_type="hdf5")
    res = rl.evaluate_hypotheses(data, {"in order": ModelFixed("in order", mean),
                                        "permuted": ModelFixed("permuted", loaded)}, tree, baseline=None)
    s = res.unit_scores
    np.testing.assert_allclose(s["in order"], s["permuted"], rtol=1e-12)
    assert res.pairwise.loc[0, "p"] == 1.0  # the same model twice: no difference, never a tiny p
    unlabeled = ModelFixed("unlabeled", mean.get_vectors()[0])
    with pytest.raises(ValueError, match="no condition labels"):
        rl.evaluate_hypotheses(data, {"u": unlabeled}, tree, baseline=None)
    part = mean.subsample_pattern("item", list(tree.labels[:5]))
    with pytest.raises(ValueError, match="does not predict the data's condition"):
        rl.evaluate_hypotheses(data, {"part": ModelFixed("part", part)}, tree, baseline=None)


def test_model_without_item_order_says_so(tree):
    m = rl.LinearNetworkModel(tree, n_hidden=2, lam=0.0, init="aligned")
    with pytest.warns(rl.ConditionOrderWarning, match="item_order"):
        m.predict_rdm([0.5])
    m2 = rl.LinearNetworkModel(tree, n_hidden=2, lam=0.0, init="aligned", item_order=list(tree.labels[::-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", rl.ConditionOrderWarning)
        r = m2.predict_rdm([0.5])
    assert list(r.pattern_descriptors["item"]) == list(tree.labels[::-1])


# ----------------------------------------------------------------------------
# missing data and too few units
# ----------------------------------------------------------------------------
def test_missing_values_keep_the_rest_of_the_data(tree):
    data = _staged(tree, n_subjects=6, noise=0.3)
    D = data.get_vectors().copy()
    D[0, :] = np.nan  # one subject's whole first-stage RDM lost
    D[4, 3] = np.nan  # one pair missing in another subject's RDM
    holes = RDMs(D, rdm_descriptors=dict(data.rdm_descriptors), pattern_descriptors=dict(data.pattern_descriptors))
    res = rl.compare_widths(holes, tree, widths=[2, "wide"], n_times=9, n_lam=3)
    assert np.isfinite(res.unit_scores.drop(columns="unit").to_numpy()).all()
    assert any("missing dissimilarities" in m for m in res.messages)
    fit = rl.fit_rdms(holes, tree, n_hidden=[2], **FAST)
    assert np.isfinite(fit.best["score"])
    clean = rl.compare_widths(data, tree, widths=[2, "wide"], n_times=9, n_lam=3)
    # the other subjects' scores are untouched by the first subject's holes (stacked scores per unit)
    np.testing.assert_allclose(res.unit_scores.iloc[2:, 1:].to_numpy(), clean.unit_scores.iloc[2:, 1:].to_numpy(),
                               atol=0.05)


def test_too_few_units_is_a_clear_error(tree):
    data = _staged(tree, n_subjects=2)
    with pytest.raises(ValueError, match="at least 3 independent units"):
        rl.compare_widths(data, tree, widths=[2], n_times=9, n_lam=3)


# ----------------------------------------------------------------------------
# one seed, recorded
# ----------------------------------------------------------------------------
def test_random_state_is_recorded_and_seed_is_deprecated(tree):
    data = _staged(tree, n_subjects=4)
    res = rl.compare_widths(data, tree, widths=[2], random_state=7, n_draws=4, n_times=9, n_lam=3)
    assert res.settings["random_state"] == 7
    rec = res.settings["draws"]["N_h=2"]
    assert {k: rec[k] for k in ("n_draws", "seed", "init")} == {"n_draws": 4, "seed": 7, "init": "random"}
    assert rec["block_seeds"][0] == 7 and rec["blocks"] == res.settings["mc_replicates_used"]  # pooled blocks
    fit = rl.fit_rdms(data, tree, n_hidden=[2], random_state=7, n_draws=4, **FAST)
    assert fit.settings["random_state"] == 7 and fit.settings["n_draws"] == 4 and fit.settings["draw_seed"] == 7
    with pytest.warns(DeprecationWarning, match="random_state"):
        old = rl.fit_rdms(data, tree, n_hidden=[2], seed=7, n_draws=4, **FAST)
    assert old.best == fit.best


def test_snapshot_with_a_lost_run_and_subjects_missing_conditions(tree):
    """One stage, 2 runs per subject: a run lost entirely, and every subject missing its own condition. Each RDM
    is scored over its own valid pairs, so the others' scores are those of the clean data (not all NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        v = rl.LinearNetworkModel(tree, n_hidden=2, lam=0.0, init="aligned").predict_times([1.5], [0.0])[0]
    rng = np.random.default_rng(2)
    D = np.array([v + rng.normal(0, 0.3 * v.std(), v.size) for _ in range(12)])
    desc = {"subject": np.repeat([f"s{i}" for i in range(6)], 2), "session": np.tile([1, 2], 6)}
    clean = RDMs(D, rdm_descriptors=desc, pattern_descriptors={"item": np.array(tree.labels)})
    holes = D.copy()
    holes[0] = np.nan  # subject s0 lost its first run
    ia, ib = np.triu_indices(tree.P, k=1)
    for r in range(2, 12):  # subject j misses condition j
        j = r // 2
        holes[r, (ia == j) | (ib == j)] = np.nan
    bad = RDMs(holes, rdm_descriptors=desc, pattern_descriptors={"item": np.array(tree.labels)})
    a = rl.compare_widths(clean, tree, widths=[2, "wide"], n_times=9, n_lam=3)
    b = rl.compare_widths(bad, tree, widths=[2, "wide"], n_times=9, n_lam=3)
    assert np.isfinite(b.unit_scores.drop(columns="unit").to_numpy()).all()
    assert np.isfinite(b.table["noise_ceiling_lower"]).all()
    assert any("missing dissimilarities" in m for m in b.messages)
    np.testing.assert_allclose(b.table["mean"], a.table["mean"], atol=0.05)
    f = rl.fit_rdms(bad, tree, n_hidden=[2], **FAST)
    assert np.isfinite(f.best["score"])
    assert any("missing dissimilarities" in m for m in f.messages)
