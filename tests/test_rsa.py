"""rsatoolbox adapters: trajectories -> RDMs, the checking gate, user tables and matrices in."""

import numpy as np
import pandas as pd
import pytest
import rsatoolbox
from rsatoolbox.rdm import RDMs, compare

import rsa_lineardyn as rl

from conftest import random_white_task

LABELS = ["canary", "salmon", "oak", "rose", "robin"]


@pytest.fixture(scope="module")
def task():
    t = random_white_task(5, 4, seed=2)
    return rl.Task(t.X, t.Y, labels=LABELS, name="animals")


@pytest.fixture(scope="module")
def trajs(task):
    W1, W2 = rl.balanced_init(5, 3, 4, lam=0.5, scale=0.2, seed=0)
    times = [0.0, 0.5, 2.0, 8.0]
    return rl.exact_dynamics(task, W1, W2, times), rl.simulate(task, W1, W2, times, method="flow")


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("rep,measure", [("hidden", "euclidean"), ("output", "cosine"), ("prediction", "euclidean")])
def test_to_rdms_descriptors_and_values(trajs, which, rep, measure):
    traj = trajs[which]
    rdms = rl.to_rdms(traj, representation=rep, measure=measure)
    assert isinstance(rdms, RDMs)
    assert rdms.n_rdm == len(traj.times) and rdms.n_cond == 5
    np.testing.assert_array_equal(rdms.rdm_descriptors["time"], traj.times)
    assert set(rdms.rdm_descriptors) >= {"time", "lam", "n_hidden", "representation", "method", "index"}
    assert np.all(rdms.rdm_descriptors["representation"] == rep)
    assert np.all(rdms.rdm_descriptors["n_hidden"] == 3)
    np.testing.assert_allclose(rdms.rdm_descriptors["lam"], traj.lam)
    assert list(rdms.pattern_descriptors["item"]) == LABELS
    assert list(rdms.pattern_descriptors["index"]) == list(range(5))
    assert rdms.dissimilarity_measure == {"euclidean": "squared euclidean", "cosine": "cosine"}[measure]
    mats = rl.trajectory_rdms(traj, rep, measure)
    np.testing.assert_allclose(rdms.get_matrices(), mats, atol=1e-12)


def test_exact_and_simulated_rdms_agree(trajs):
    a, b = (rl.to_rdms(t) for t in trajs)
    np.testing.assert_allclose(a.dissimilarities, b.dissimilarities, rtol=1e-7, atol=1e-9)
    assert a.rdm_descriptors["method"][0] == "exact"
    assert b.rdm_descriptors["method"][0] == "gradient_flow"


def test_subset_by_time_and_compare(trajs):
    rdms = rl.to_rdms(trajs[0])
    late = rdms.subset("time", 8.0)
    assert late.n_rdm == 1 and late.rdm_descriptors["time"][0] == 8.0
    sims = compare(rdms, late, method="corr")
    assert sims.shape == (4, 1) and sims[-1, 0] == pytest.approx(1.0)
    sub = rdms.subsample_pattern("item", ["oak", "canary", "robin"])
    assert sub.n_cond == 3


def test_ntk_rdms_labels(trajs, task):
    rdms = rl.to_rdms(trajs[1], representation="ntk")
    assert rdms.n_cond == task.n_out * task.P
    assert rdms.pattern_descriptors["item"][0] == f"{task.feature_names[0]}:canary"
    assert rdms.pattern_descriptors["item"][task.P] == f"{task.feature_names[1]}:canary"


def test_to_rdms_correlation(trajs):
    with pytest.raises(ValueError, match="rotation"):
        rl.to_rdms(trajs[0], measure="correlation")
    rdms = rl.to_rdms(trajs[1], measure="correlation")
    assert rdms.dissimilarity_measure == "correlation"


def test_to_rdms_errors(trajs):
    with pytest.raises(TypeError, match="traj"):
        rl.to_rdms(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="measure"):
        rl.to_rdms(trajs[0], measure="mahalanobis")
    with pytest.raises(ValueError, match="representation"):
        rl.to_rdms(trajs[0], representation="input")


# -- the gate ---------------------------------------------------------------------------------
def _D():
    return np.array([[0.0, 1, 2], [1, 0, 3], [2, 3, 0]])


def test_make_rdms_checks():
    with pytest.raises(ValueError, match="symmetric"):
        rl.make_rdms(np.array([[[0.0, 1, 2], [1.5, 0, 3], [2, 3, 0]]]))
    with pytest.raises(ValueError, match="diagonal"):
        rl.make_rdms((_D() + np.eye(3))[None])
    with pytest.raises(ValueError, match="square"):
        rl.make_rdms(np.zeros((1, 3, 4)))
    with pytest.raises(ValueError, match="non-finite|NaN"):
        rl.make_rdms(np.full((1, 3, 3), np.nan))
    with pytest.raises(ValueError, match="labels"):
        rl.make_rdms(_D()[None], labels=["a", "b"])
    with pytest.raises(ValueError, match="rdm_descriptors"):
        rl.make_rdms(_D()[None], rdm_descriptors={"time": [1, 2]})


def test_make_rdms_copies_descriptors():
    desc = {"study": "x"}
    rdm_desc = {"time": [1.0, 2.0]}
    pat_desc = {"category": ["a", "a", "b"]}
    rdms = rl.make_rdms(np.stack([_D(), 2 * _D()]), ["p", "q", "r"], descriptors=desc,
                        rdm_descriptors=rdm_desc, pattern_descriptors=pat_desc)
    rdms.descriptors["study"] = "changed"
    rdms.rdm_descriptors["time"][0] = 99
    assert desc == {"study": "x"} and rdm_desc == {"time": [1.0, 2.0]}
    assert pat_desc == {"category": ["a", "a", "b"]}
    assert "index" not in rdm_desc and "index" not in pat_desc
    np.testing.assert_array_equal(rdms.dissimilarities, [[1, 2, 3], [2, 4, 6]])


def test_rdms_from_matrices():
    one = rl.rdms_from_matrices(_D(), labels=["dog", "cat", "oak"], dissimilarity_measure="crossnobis")
    assert one.n_rdm == 1 and one.n_cond == 3 and list(one.pattern_descriptors["item"]) == ["dog", "cat", "oak"]
    assert one.dissimilarity_measure == "crossnobis"
    stack = rl.rdms_from_matrices(np.stack([_D(), _D(), _D()]), labels=["dog", "cat", "oak"])
    assert stack.n_rdm == 3 and stack.n_cond == 3  # (3, 3, 3): 3 RDMs, never 3 vectors
    with pytest.raises(ValueError, match="vectors|square"):
        rl.rdms_from_matrices(np.ones((2, 3)))
    with pytest.raises(ValueError, match="shape"):
        rl.rdms_from_matrices(np.zeros(3))
    with pytest.raises(ValueError, match="unique"):
        rl.rdms_from_matrices(_D(), labels=["a", "a", "b"])


# -- tables in --------------------------------------------------------------------------------
def test_task_from_dataframe():
    df = pd.DataFrame({"grow": [1, 1, 1, 1], "fly": [1, 0, 0, 1], "swim": [0, 1, 0, 0]},
                      index=["canary", "salmon", "oak", "robin"])
    task = rl.task_from_dataframe(df, name="tree")
    assert task.labels == ("canary", "salmon", "oak", "robin")
    assert task.feature_names == ("grow", "fly", "swim")
    assert task.is_white() and task.name == "tree"
    np.testing.assert_array_equal(task.Y, df.to_numpy().T)
    inputs = pd.DataFrame(np.eye(4)[::-1] * 2.0, index=["robin", "oak", "salmon", "canary"])
    t2 = rl.task_from_dataframe(df, inputs=inputs)
    np.testing.assert_array_equal(t2.X, np.eye(4) * 2.0)  # matched by label, not by position


def test_task_from_dataframe_errors():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=["x", "y", "z"])
    with pytest.raises(TypeError, match="features"):
        rl.task_from_dataframe(df.to_numpy())
    with pytest.raises(ValueError, match="inputs"):
        rl.task_from_dataframe(df, inputs=pd.DataFrame({"i": [1.0, 2.0]}, index=["x", "y"]))
    with pytest.raises(TypeError, match="numbers"):
        rl.task_from_dataframe(pd.DataFrame({"a": ["u", "v", "w"]}, index=["x", "y", "z"]))
    with pytest.raises(ValueError, match="NaN"):
        rl.task_from_dataframe(pd.DataFrame({"a": [1.0, np.nan, 3.0]}, index=["x", "y", "z"]))
    with pytest.raises(ValueError, match="repeated"):
        rl.task_from_dataframe(pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=["x", "x", "z"]))


def test_user_rdms_to_rsatoolbox_roundtrip(tmp_path):
    rdms = rl.rdms_from_matrices(np.stack([_D(), 3 * _D()]), labels=["dog", "cat", "oak"],
                                 rdm_descriptors={"subject": ["s1", "s2"]})
    fn = str(tmp_path / "rdms.hdf5")
    rdms.save(fn)
    back = rsatoolbox.rdm.load_rdm(fn)
    np.testing.assert_array_equal(back.dissimilarities, rdms.dissimilarities)
    assert list(back.pattern_descriptors["item"]) == ["dog", "cat", "oak"]
