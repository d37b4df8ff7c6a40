"""Regressions found by the held-out adversarial inputs of issue 20 (``benchmarks/adversarial_inputs.py``).

Each test is one input of that set that failed before its fix: a raw traceback, a silent wrong answer or an
unbounded run.
"""

import warnings

import numpy as np
import pytest
from rsatoolbox.rdm import RDMs

import rsa_lineardyn as rl

FAST = dict(n_times=9, n_lam=3, n_boot=0, start_check=None, refine=False, progress=False)


@pytest.fixture(scope="module")
def tree():
    return rl.hierarchical_task(depth=3, include_root=False)


def _staged(task, stages=(1.0, 2.0, 3.0), n_subjects=5, subjects=None, stage_key="stage", labels=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        V = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned").predict_times(np.asarray(stages), [0.0])
    rng = np.random.default_rng(0)
    subjects = [f"s{i}" for i in range(n_subjects)] if subjects is None else subjects
    labels = list(stages) if labels is None else labels
    vecs, subj, st = [], [], []
    for s in subjects:
        for k, v in enumerate(V):
            vecs.append(np.abs(v + rng.normal(0, 0.2 * V[-1].std(), v.size)))
            subj.append(s)
            st.append(labels[k])
    rd = {"subject": np.array(subj, dtype=object)}
    if stage_key is not None:
        rd[stage_key] = np.array(st)
    return RDMs(np.array(vecs), rdm_descriptors=rd, pattern_descriptors={"item": np.array(task.labels)})


def test_subject_ids_int_and_float_are_refused_not_a_keyerror(tree):
    """1 and 1.0 in one descriptor: a KeyError('1.0') from inside make_design before."""
    d = _staged(tree, stages=(1.0,), stage_key=None, subjects=[1, 1.0, 2, 3])
    with pytest.raises(rl.InputValueError, match="differ only by type"):
        rl.compare_widths(d, tree, widths=[2], n_times=9, n_lam=3, progress=False)
    with pytest.raises(rl.InputValueError, match="differ only by type"):
        rl.fit_rdms(d, tree, n_hidden=[2], **FAST)
    # one type throughout still works, numpy or Python numbers alike
    ok = _staged(tree, stages=(1.0,), stage_key=None, subjects=[1, np.int64(2), 3, 4])
    assert rl.compare_widths(ok, tree, widths=[2], n_times=9, n_lam=3, progress=False).settings["n_units"] == 4


def test_stage_labels_at_one_position_are_refused(tree):
    """'1' and '01' were two stages at the same time on the stage axis, silently."""
    with pytest.raises(rl.InputValueError, match="one position on the time axis"):
        rl.fit_rdms(_staged(tree, labels=["1", "01", "2"]), tree, n_hidden=[2], **FAST)
    mixed = _staged(tree)
    mixed.rdm_descriptors["stage"] = np.array([1, 1.0, 2] * 5, dtype=object)  # 1 == 1.0 merged them before
    with pytest.raises(rl.InputValueError, match="differ only by type"):
        rl.fit_rdms(mixed, tree, n_hidden=[2], **FAST)
    res = rl.fit_rdms(_staged(tree, stages=(1.0, 2.0, 10.0), labels=["01", "02", "10"]), tree, n_hidden=[2], **FAST)
    assert res.settings["stages"] == ["01", "02", "10"]


@pytest.mark.parametrize("name", ["phase", "Stage", "EPOCH", "training_stage"])
def test_stage_like_descriptor_is_not_pooled_silently(tree, name):
    """'subject' + 'phase' in Python: the stages were pooled into one snapshot (score 0.67 instead of 0.95) with no
    word, while the command line read 'phase' as stages."""
    ref = rl.fit_rdms(_staged(tree), tree, n_hidden=[2], **FAST)
    own = _staged(tree, stage_key=name)
    with pytest.raises(rl.InputValueError, match=f"stage_descriptor='{name}'"):
        rl.fit_rdms(own, tree, n_hidden=[2], **FAST)
    with pytest.raises(rl.InputValueError, match="stage_descriptor=None"):
        rl.compare_widths(own, tree, widths=[2], n_times=9, n_lam=3, progress=False)
    named = rl.fit_rdms(own, tree, n_hidden=[2], stage_descriptor=name, **FAST)
    assert named.best["score"] == pytest.approx(ref.best["score"], rel=1e-12)
    pooled = rl.fit_rdms(own, tree, n_hidden=[2], stage_descriptor=None, **FAST)  # the user's explicit choice
    assert pooled.settings["stages"] == ["all"]


def test_thousands_of_widths_are_refused_before_any_work(tree):
    """n_hidden=range(1, 10001) in Python ran for minutes (the CLI caps --widths at 64); now refused at once."""
    import time

    data = _staged(tree, stages=(1.0,), stage_key=None)
    t0 = time.perf_counter()
    with pytest.raises(rl.InputValueError, match="more than the 64"):
        rl.fit_rdms(data, tree, n_hidden=list(range(1, 10001)), **FAST)
    with pytest.raises(rl.InputValueError, match="more than the 64"):
        rl.compare_widths(data, tree, widths=[list(range(1, 5000))], n_times=9, n_lam=3, progress=False)
    assert time.perf_counter() - t0 < 10


def test_subjects_in_wildly_different_units_score_as_in_common_units():
    """Held-out case: subjects' RDMs scaled by 1e-310, 1, 1e300, 1e-5 (each subject in its own units). Every
    score -- networks, the feature baseline -- is the one of the same data in common units (one exact power of
    two per subject), not NaN with a note blaming constant data."""
    import warnings

    import numpy as np
    from rsatoolbox.rdm import RDMs

    import rsa_lineardyn as rl

    tree = rl.hierarchical_task(depth=3, include_root=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        v = rl.LinearNetworkModel(tree, n_hidden=2, lam=0.0, init="aligned").predict_times([1.5], [0.0])[0]
    rng = np.random.default_rng(0)
    D = np.array([v + rng.normal(0, 0.3 * v.std(), v.size) for _ in range(4)])

    def mk(X):
        return RDMs(X, rdm_descriptors={"subject": np.arange(4)}, pattern_descriptors={"item": np.array(tree.labels)})

    a = rl.compare_widths(mk(D), tree, widths=[2, "wide"], n_times=9, n_lam=3)
    b = rl.compare_widths(mk(D * np.array([1e-310, 1, 1e300, 1e-5])[:, None]), tree, widths=[2, "wide"], n_times=9,
                          n_lam=3)
    np.testing.assert_allclose(b.unit_scores.iloc[:, 1:].to_numpy(), a.unit_scores.iloc[:, 1:].to_numpy(), atol=1e-12)
