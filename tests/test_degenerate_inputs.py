"""Inputs that make an answer meaningless are refused or named, never turned into estimates: a task with nothing
to learn, a subject whose RDMs are constant, labels kept under a lab's own descriptor name."""

import numpy as np
import pandas as pd
import pytest
from rsatoolbox.rdm import RDMs

import rsa_lineardyn as rl

ITEMS = ["pine", "oak", "rose", "daisy", "robin", "canary", "sunfish", "salmon"]


@pytest.fixture(scope="module")
def features():
    cols = {"bark": [1, 1, 0, 0, 0, 0, 0, 0], "petals": [0, 0, 1, 1, 0, 0, 0, 0], "wings": [0, 0, 0, 0, 1, 1, 0, 0],
            "gills": [0, 0, 0, 0, 0, 0, 1, 1], "roots": [1, 1, 1, 1, 0, 0, 0, 0], "move": [0, 0, 0, 0, 1, 1, 1, 1]}
    return pd.DataFrame(cols, index=ITEMS)


@pytest.fixture(scope="module")
def data(features):
    task = rl.task_from_dataframe(features)
    v = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_times([2.0], [0.0])[0]
    rng = np.random.default_rng(3)
    vecs = np.array([v + 0.15 * v.std() * rng.standard_normal(v.size) for _ in range(6)])
    vecs[3] = 1.0  # subject s3: a constant RDM (a failed preprocessing run)
    return RDMs(vecs, rdm_descriptors={"subject": np.array([f"s{i}" for i in range(6)])},
                pattern_descriptors={"item": np.array(ITEMS)})


def test_a_task_with_nothing_to_learn_is_refused(features, data):
    zero = rl.task_from_dataframe(features * 0)
    assert np.all(zero.singular_values == 0)
    for call in (lambda: rl.fit_rdms(data, zero, n_hidden=[1, 2], n_boot=0),
                 lambda: rl.compare_widths(data, zero, widths=[1, 2], progress=False),
                 lambda: rl.fit_rois(data, zero, n_hidden=[1], n_boot=0, roi_descriptor=None)):
        with pytest.raises(rl.InputValueError, match=r"nothing to learn.*Syx is zero.*feature columns"):
            call()


def test_a_subject_with_constant_rdms_gets_no_estimates_and_is_named(features, data):
    task = rl.task_from_dataframe(features)
    res = rl.fit_rdms(data, task, n_hidden=[1, 2], n_boot=5, random_state=0, start_check=None)
    sub = res.subjects.set_index("subject")
    assert sub.loc["s3", ["n_hidden", "lam", "score"]].isna().all()  # not the grid's first candidate
    assert sub.drop(index="s3")[["n_hidden", "score"]].notna().all().all()
    iv = res.subject_intervals[res.subject_intervals.subject == "s3"]
    assert len(iv) >= 2 and iv[["estimate", "low", "high"]].isna().all().all() and not iv["determined"].any()
    assert iv["reason"].str.contains("undefined for every candidate").all()
    assert any("['s3']" in m and "undefined" in m for m in res.messages)
    # the group fit is the same as without that subject
    without = rl.fit_rdms(data.subset("subject", [f"s{i}" for i in range(6) if i != 3]), task, n_hidden=[1, 2],
                          n_boot=0, random_state=0, start_check=None)
    assert res.best["n_hidden"] == without.best["n_hidden"]
    assert np.isclose(res.best["score"], without.best["score"], rtol=1e-9)
    cmp = rl.compare_widths(data, task, widths=[1, "wide"], n_lam=4, n_times=9, progress=False)
    assert any("['s3']" in m and "left out of every test, which runs on 5 units" in m for m in cmp.messages)
    assert (cmp.table["dof"] == 4).all()


def test_labels_under_a_lab_descriptor_name_say_how_to_read_them(features, data):
    task = rl.task_from_dataframe(features)
    own = RDMs(data.get_vectors(), rdm_descriptors=data.rdm_descriptors,
               pattern_descriptors={"stim_id": np.array(ITEMS)})
    with pytest.raises(rl.InputValueError, match=r"never by position.*condition_descriptor='stim_id'"):
        rl.evaluate_hypotheses(own, rl.width_models(task, data, [1]), task)
    fit = rl.fit_rdms(own, task, n_hidden=[1], n_boot=0, condition_descriptor="stim_id", start_check=None)
    assert fit.best["n_hidden"] == 1
