"""fit_rdms' verdict on n_hidden: the crossvalidated width test (rsa_lineardyn/inference/width_test.py)."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import rsa_lineardyn as rl
from rsa_lineardyn.cli.app import main
from rsa_lineardyn.inference.recovery import simulate_voxel_rdms


def _tiny_frame():
    feats = pd.DataFrame({"size": [1.0, 0.0, 0.5], "alive": [1, 1, 0]}, index=["cat", "dog", "rock"])
    feats.index.name = "item"
    return feats


def _tiny_task():
    return rl.task_from_dataframe(_tiny_frame())


@pytest.fixture(scope="module")
def tiny():
    """The new-user trial's case: 3 items, truth N_h = 2, 8 subjects; in-sample N_h = 1 wins 95% of the bootstrap."""
    task = _tiny_task()
    data = simulate_voxel_rdms(task, n_hidden=2, lam=0.0, scale=0.1, times=[2.0, 4.0], n_subjects=8, n_voxels=100,
                               noise=0.2, init="random", per_subject=True, seed=6)
    return task, data


def _hand_cv(R, cand_h, widths, skip=None):
    """Leave-one-unit-out by hand on a stacked score tensor (rows = units, linear time map): (n_units, n_widths)."""
    n = R.shape[0]
    out = np.full((n, len(widths)), np.nan)
    for u in range(n):
        if u == skip:
            continue
        w = np.ones(n)
        w[u] = 0.0
        if skip is not None:
            w[skip] = 0.0
        M = np.tensordot(w, R, axes=(0, 0)) / w.sum()  # (C, G): the training units' mean score
        for j, h in enumerate(widths):
            idx = np.flatnonzero(cand_h == h)
            c, g = np.unravel_index(int(np.argmax(M[idx])), M[idx].shape)
            out[u, j] = R[u, idx[c], g]
    return out


def test_width_test_equals_leave_one_subject_out_by_hand(tiny):
    task, data = tiny
    res = rl.fit_rdms(data, task, n_hidden=[1, 2], n_boot=0, random_state=0, progress=False, start_check=None)
    R = res.scores_
    assert R.shape[0] == 8 and np.isfinite(R).all()  # stacked: one row per subject
    cand_h = res.table["n_hidden"].to_numpy()
    best = int(res.best["n_hidden"])
    other = 3 - best
    S = _hand_cv(R, cand_h, [best, other])
    d = S[:, 0] - S[:, 1]
    J = np.array([np.nanmean(np.delete(_hand_cv(R, cand_h, [best, other], skip=k), k, axis=0), axis=0)
                  for k in range(8)])
    jd = J[:, 0] - J[:, 1]
    sem = np.sqrt(7 / 8 * np.sum((jd - jd.mean()) ** 2))
    p = 2 * stats.t.sf(abs(d.mean() / sem), 7)
    row = res.width_tests.iloc[0]
    assert (row["n_hidden_a"], row["n_hidden_b"]) == (best, other)
    assert row["score_a"] == pytest.approx(S[:, 0].mean(), abs=1e-12)
    assert row["score_b"] == pytest.approx(S[:, 1].mean(), abs=1e-12)
    assert row["mean_diff"] == pytest.approx(d.mean(), abs=1e-12)
    assert row["sem"] == pytest.approx(sem, rel=1e-9)
    assert row["p"] == pytest.approx(p, rel=1e-9)
    assert row["p_corrected"] == pytest.approx(p, rel=1e-9)  # one other width: Holm = raw
    assert row["correction"] == "holm"


def test_tiny_task_wrong_width_is_not_determined(tiny):
    """Before: N_h = 1 "determined; chosen in 95% of bootstrap samples" on a truth of N_h = 2."""
    task, data = tiny
    res = rl.fit_rdms(data, task, n_hidden=[1, 2], n_boot=20, random_state=0, progress=False)
    iv = res.intervals.set_index("parameter").loc["n_hidden"]
    assert int(iv["estimate"]) == 1 and res.n_hidden_distribution[1] >= 0.8  # the in-sample choice is confident
    assert not iv["determined"]
    assert (iv["low"], iv["high"]) == (1, 2)  # the interval holds the width the test does not tell apart
    assert "n_hidden = 2 is not distinguished from 1" in iv["reason"]
    assert not res.identifiable["n_hidden"][0]
    assert not res.width_tests["significant"].any()
    assert "held-out subjects: n_hidden 1 vs 2" in res.summary()


def test_width_determined_when_held_out_subjects_agree():
    task = rl.hierarchical_task(depth=3, include_root=False)
    data = simulate_voxel_rdms(task, n_hidden=2, lam=0.0, scale=0.1, times=[1.5, 3.0, 6.0], n_subjects=6,
                               n_voxels=100, noise=0.1, init="random", per_subject=True, seed=0)
    res = rl.fit_rdms(data, task, n_hidden=[2, 8], lam=0.0, n_boot=20, random_state=0, progress=False,
                      start_check=None)
    iv = res.intervals.set_index("parameter").loc["n_hidden"]
    row = res.width_tests.iloc[0]
    assert row["mean_diff"] > 0 and row["p_corrected"] < 0.05 and row["significant"]
    assert iv["determined"] and (iv["low"], iv["high"]) == (2, 2)
    assert "better than every other width on held-out subjects" in iv["reason"]


def test_width_test_needs_three_subjects(tiny):
    task, data = tiny
    with pytest.raises(rl.InputValueError, match=r"holds no RDMs .*'sub0', not 0"):
        rl.fit_rdms(data.subset("subject", [0, 1]), task, n_hidden=[1, 2])  # subjects are labelled 'sub0', ...
    two = data.subset("subject", ["sub0", "sub1"])
    res = rl.fit_rdms(two, task, n_hidden=[1, 2], n_boot=10, random_state=0, progress=False, start_check=None)
    iv = res.intervals.set_index("parameter").loc["n_hidden"]
    assert res.width_tests is None
    assert not iv["determined"] and "needs at least 3 subjects" in iv["reason"]
    pooled = rl.fit_rdms(data, task, n_hidden=[1, 2], n_boot=4, random_state=0, progress=False, start_check=None,
                         subject_descriptor=None)  # 16 RDMs fitted as one unit: say so, not "the data have 1"
    why = pooled.intervals.set_index("parameter").loc["n_hidden", "reason"]
    assert pooled.width_tests is None and f"the {data.n_rdm} RDMs are fitted as one unit" in why
    one = rl.fit_rdms(data.subset("subject", ["sub0"]).subset("stage", [float(data.rdm_descriptors["stage"][0])]),
                      task, n_hidden=[1, 2], n_boot=0, progress=False, start_check=None)
    assert "the data are one RDM" in one.intervals.set_index("parameter").loc["n_hidden", "reason"]


def test_one_width_has_no_width_test(tiny):
    task, data = tiny
    res = rl.fit_rdms(data, task, n_hidden=[2], n_boot=0, progress=False, start_check=None)
    assert res.width_tests is None
    assert res.intervals.set_index("parameter").loc["n_hidden", "reason"] == "fixed by the user"


def test_cli_fit_records_and_prints_the_width_test(tiny, tmp_path, capsys):
    task, data = tiny
    path = tmp_path / "lab.hdf5"
    data.save(str(path), file_type="hdf5")
    _tiny_frame().to_csv(tmp_path / "items.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["fit", str(path), "--task", str(tmp_path / "items.csv"), "--widths", "1,2", "--n-boot", "5",
                     "--no-start-check", "--out-dir", str(tmp_path / "out")])
    assert code == 0
    out = capsys.readouterr().out
    info = json.loads((tmp_path / "out" / "lab_hdf5_best.json").read_text())
    tests = info["width_tests"]
    assert len(tests) == 1 and {tests[0]["n_hidden_a"], tests[0]["n_hidden_b"]} == {1, 2}
    assert 0 <= tests[0]["p"] <= 1 and tests[0]["correction"] == "holm" and tests[0]["significant"] is False
    assert f"held-out subjects: n_hidden {tests[0]['n_hidden_a']} vs {tests[0]['n_hidden_b']}" in out
    rows = {r["parameter"]: r for r in info["intervals"]}
    assert rows["n_hidden"]["determined"] is False and "not distinguished" in rows["n_hidden"]["reason"]


def test_undistinguished_lists_widths_not_shown_worse():
    from rsa_lineardyn.inference.width_test import WIDTH_TEST_COLUMNS, undistinguished

    rows = [[2, 4, 0.8, 0.7, 0.10, 0.02, 0.05, 0.15, 0.001, 0.002, "holm", True],     # worse: left out
            [2, 8, 0.8, 0.79, 0.01, 0.02, -0.03, 0.05, 0.6, 0.6, "holm", False],      # not distinguished
            [2, 1, 0.8, 0.9, -0.10, 0.02, -0.15, -0.05, 0.001, 0.003, "holm", True]]  # significantly better
    table = pd.DataFrame(rows, columns=WIDTH_TEST_COLUMNS)
    assert undistinguished(table, 0.95) == [(8, 0.01, 0.6, False), (1, -0.10, 0.003, True)]


def test_fit_takes_wide_as_compare_does(tiny, tmp_path, capsys):
    """``n_hidden="wide"`` / ``--widths 1,wide`` is ``max(n_in, n_out)`` in fit as in compare (it was refused)."""
    task, data = tiny
    wide = max(task.n_in, task.n_out)
    kw = dict(n_boot=0, progress=False, start_check=None, n_times=11, n_lam=4, n_draws=16)
    a = rl.fit_rdms(data, task, n_hidden=[1, "wide"], **kw)
    b = rl.fit_rdms(data, task, n_hidden=[1, wide], **kw)
    assert a.best == b.best and sorted(set(a.table["n_hidden"])) == [1, wide]
    assert rl.fit_rdms(data, task, n_hidden="wide", **kw).best["n_hidden"] == wide
    with pytest.raises(rl.InputTypeError, match="'wide'"):
        rl.fit_rdms(data, task, n_hidden=[1, "narrow"], **kw)
    path = tmp_path / "lab.hdf5"
    data.save(str(path), file_type="hdf5")
    _tiny_frame().to_csv(tmp_path / "items.csv")
    opts = ["--task", str(tmp_path / "items.csv"), "--n-boot", "0", "--no-start-check", "--n-draws", "16"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["fit", str(path), *opts, "--widths", "1,wide", "--out-dir", str(tmp_path / "w")]) == 0
        assert main(["fit", str(path), *opts, "--widths", "1,3", "--out-dir", str(tmp_path / "n")]) == 0
    tw = pd.read_csv(tmp_path / "w" / "lab_hdf5_fit.csv")
    tn = pd.read_csv(tmp_path / "n" / "lab_hdf5_fit.csv")
    assert sorted(set(tw["n_hidden"])) == [1, wide]
    pd.testing.assert_frame_equal(tw, tn)
