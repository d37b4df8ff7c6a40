"""Adversarial trial (session 29) of the recent input paths: widths with 'wide', draws and seeds, --labels, degenerate
RDMs.  Real objects and real files, no mocks; every test here failed before its fix."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn.cli.app import main
from rsa_lineardyn.inference.recovery import simulate_voxel_rdms
from test_cli_files import _error  # the one-line CLI error check of the CLI file tests

FAST = ["--n-boot", "0", "--n-draws", "8", "--no-start-check", "--quiet"]


@pytest.fixture(scope="module")
def task():
    return rl.hierarchical_task(depth=2)  # 4 items, n_in = 4, n_out = 7: 'wide' is 7


def _voxel_rdms(task, n_subjects=4, seed=0, time=3.0):
    return simulate_voxel_rdms(task, 2, 0.0, 0.1, [time], n_subjects=n_subjects, n_runs=2, n_voxels=20, noise=0.5,
                               seed=seed)


@pytest.fixture(scope="module")
def files(task, tmp_path_factory):
    """A task CSV, an unlabelled .npy stack of 4 RDMs, and an rsatoolbox .hdf5 of 5 subjects (labelled)."""
    folder = tmp_path_factory.mktemp("s29")
    pd.DataFrame(task.Y.T, index=list(task.labels),
                 columns=[f"f{j}" for j in range(task.n_out)]).to_csv(folder / "task.csv")
    np.save(folder / "stack.npy", _voxel_rdms(task).get_matrices())
    _voxel_rdms(task, n_subjects=5).save(str(folder / "subjects.hdf5"), file_type="hdf5")
    rois = _voxel_rdms(task)
    rois.rdm_descriptors["roi"] = np.array(["A", "A", "B", "B"])
    rois.save(str(folder / "rois.hdf5"), file_type="hdf5")
    return folder




# ----------------------------------------------------------------------------- n_hidden in the Python API
def test_fit_rdms_takes_an_array_of_widths(task):
    """``n_hidden=np.array([2, 7])`` raised numpy's 'truth value of an array ... is ambiguous' (from
    ``n_hidden == "wide"``); a scalar 2.0 was refused while [2.0] was taken."""
    data = _voxel_rdms(task)
    kw = dict(n_boot=0, n_draws=8, start_check=None)
    assert rl.fit_rdms(data, task, n_hidden=np.array([2, 7]), **kw).settings["widths"] == [2, 7]
    assert rl.fit_rdms(data, task, n_hidden=2.0, **kw).settings["widths"] == [2]
    with pytest.raises(rl.InputTypeError, match="n_hidden.*integer.*2.5"):
        rl.fit_rdms(data, task, n_hidden=2.5, **kw)
    with pytest.raises(rl.InputTypeError, match="n_hidden.*boolean"):
        rl.fit_rdms(data, task, n_hidden=True, **kw)


def test_fit_rdms_all_nan_rdm_gives_no_numpy_warnings(task):
    """One subject's RDM with every value NaN: the fit reports the subject in ``messages``, but numpy's 'Mean of
    empty slice' / 'invalid value encountered in divide' warnings leaked from deep inside the scorer."""
    data = _voxel_rdms(task, n_subjects=4)
    v = data.get_vectors().copy()
    v[0] = np.nan
    data.dissimilarities = v
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = rl.fit_rdms(data, task, n_hidden=[2, "wide"], n_boot=4, n_draws=8, start_check=None)
    numpy_warnings = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)
                      and ("empty slice" in str(w.message) or "invalid value" in str(w.message))]
    assert numpy_warnings == []
    assert any("sub0" in m and "undefined" in m for m in res.messages)


# ----------------------------------------------------------------------------- the command line: widths
def test_cli_fit_best_json_names_the_library_best(files, capsys):
    """On a flat profile another width's grid score can exceed the refined best by rounding (~1e-11): best.json's
    'best' row (and the figure) took the table's argmax, width 7, while the intervals' estimate was width 1."""
    out = files / "out_best"
    code = main(["fit", str(files / "stack.npy"), "--task", str(files / "task.csv"),
                 "--labels", "item_0_0,item_0_1,item_1_0,item_1_1", "--widths", "1,wide", *FAST,
                 "--out-dir", str(out)])
    assert code == 0, capsys.readouterr().err
    info = json.loads((out / "stack_npy_best.json").read_text())
    estimate = next(r["estimate"] for r in info["intervals"] if r["parameter"] == "n_hidden")
    assert info["best"]["n_hidden"] == int(estimate)
    assert info["settings"]["n_draws"] == 8 and info["seed"] == 0


@pytest.mark.parametrize("command,data,widths", [("fit", "stack.npy", "7,wide"), ("fit", "stack.npy", "1-7,wide"),
                                                 ("compare", "subjects.hdf5", "7,wide"),
                                                 ("fit-rois", "rois.hdf5", "wide,7")])
def test_cli_wide_beside_its_own_width_is_refused_clearly(files, capsys, command, data, widths):
    """'wide' is max(n_in, n_out) = 7 here: `fit --widths 7,wide` said "lists 7 more than once" (the user listed
    7 once), and `compare --widths 7,wide` tested two identical networks against each other."""
    args = [command, str(files / data), "--task", str(files / "task.csv"), "--widths", widths,
            "--n-draws", "8", "--quiet", "--out-dir", str(files / f"out_clash_{command}")]
    if command == "fit":
        args += ["--labels", "item_0_0,item_0_1,item_1_0,item_1_1"]
    line = _error(capsys, main(args))
    assert "'wide' stands for width 7" in line and "max(n_in, n_out)" in line and "--widths" in line


def test_cli_compare_wide_beside_a_range_is_two_hypotheses(files, capsys):
    """A range is its own hypothesis (the width chosen in each fold): ``1-7,wide`` stays allowed for compare."""
    code = main(["compare", str(files / "subjects.hdf5"), "--task", str(files / "task.csv"), "--widths", "1-7,wide",
                 "--n-draws", "8", "--quiet", "--out-dir", str(files / "out_range")])
    assert code == 0, capsys.readouterr().err


def test_cli_fit_rois_takes_wide_and_ranges(files, capsys):
    """`fit-rois --widths 1,wide` failed with Python's "invalid literal for int() with base 10: 'wide'"."""
    out = files / "out_rois"
    code = main(["fit-rois", str(files / "rois.hdf5"), "--task", str(files / "task.csv"), "--widths", "1,wide",
                 *FAST, "--out-dir", str(out)])
    assert code == 0, capsys.readouterr().err
    record = json.loads((out / "rois_hdf5_rois.json").read_text())
    assert record["settings"]["widths"] == [1, 7]
    line = _error(capsys, main(["fit-rois", str(files / "rois.hdf5"), "--task", str(files / "task.csv"),
                                "--widths", "2.5", *FAST, "--out-dir", str(files / "out_rois2")]))
    assert "--widths" in line and "'2.5'" in line and "int()" not in line


# ----------------------------------------------------------------------------- the command line: --labels
@pytest.mark.parametrize("labels,expected", [
    ("item_0_0,item_0_1,item_1_0,item_1_1,", "empty label at position(s) [5] of 5"),
    ("item_0_0,,item_1_0,item_1_1", "empty label at position(s) [2] of 4"),
    ("item_0_0,item_0_0,item_1_0,item_1_1", "names ['item_0_0'] more than once"),
])
def test_cli_labels_with_empty_or_repeated_entries(files, capsys, labels, expected):
    """A trailing comma gave "--labels gives 5 labels for the 4 conditions"; a doubled one the library's error
    about condition label '' of `data_rdms`; a repeated label an error about `data_rdms`, not --labels."""
    line = _error(capsys, main(["fit", str(files / "stack.npy"), "--task", str(files / "task.csv"),
                                f"--labels={labels}", "--widths", "1,wide", *FAST,
                                "--out-dir", str(files / "out_labels")]))
    assert line.split("error: ", 1)[1].startswith("`--labels`") and expected in line


def test_compare_widths_refuses_wide_beside_the_width_it_stands_for(task):
    """``compare_widths(widths=[7, 'wide'])`` with ``max(n_in, n_out) = 7`` tested one network against itself (and
    spent a Holm slot on it); the CLI refused it, the Python API did not."""
    data = _voxel_rdms(task)
    with pytest.raises(rl.InputValueError, match=r"'wide' stands for width 7.*drop 'wide' or 7"):
        rl.compare_widths(data, task, widths=[7, "wide"], n_draws=8, progress=False)
    with pytest.raises(rl.InputValueError, match="stands for width 7"):
        rl.width_models(task, data, [np.int64(7), "wide"], n_draws=8)
    assert [m.n_hidden for m in rl.width_models(task, data, [2, "wide"], n_draws=8)] == [2, 7]


def test_width_interval_holds_the_widths_of_a_flat_profile():
    """With 2 subjects (no crossvalidated width test) the reason said 'widths [3, 7] fit within 0.001 of the best'
    while the n_hidden interval was [3, 3]; it now holds them, as lam's interval holds its profile set."""
    task4 = rl.hierarchical_task(depth=2)
    data = simulate_voxel_rdms(task4, 3, 0.0, 0.1, [20.0], n_subjects=2, n_runs=2, n_voxels=20, noise=0.05, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rl.fit_rdms(data, task4, n_hidden=[3, "wide"], n_boot=20, n_draws=8, progress=False)
    row = res.intervals.set_index("parameter").loc["n_hidden"]
    assert "flat profile: widths [3, 7]" in row["reason"]
    assert not row["determined"]
    assert row["low"] <= 3 and row["high"] >= 7


def test_compare_widths_refuses_a_list_of_one_width_beside_that_width(task):
    data = _voxel_rdms(task)
    with pytest.raises(rl.InputValueError, match="a list of one width is that width"):
        rl.compare_widths(data, task, widths=[2, [2]], n_draws=8, progress=False)


def _two_pair_rdm(task):
    """4 subjects, one RDM each; subject 0's RDM keeps only 2 of its 6 dissimilarities (the rest NaN)."""
    data = _voxel_rdms(task)
    d = data.dissimilarities.copy()
    d[0, 2:] = np.nan
    data.dissimilarities = d
    return data


def test_rdm_with_two_valid_pairs_is_left_out_not_scored_one(task):
    """A correlation over 2 pairs is always +-1: such an RDM was scored (and pulled its unit's score to +-1) with no
    word; the fit now leaves it out like an all-NaN RDM and says so, the tests refuse a unit left with nothing."""
    data = _two_pair_rdm(task)
    res = rl.fit_rdms(data, task, n_hidden=[2], n_boot=0, n_draws=8, progress=False)
    assert any("fewer than 3 valid dissimilarities ([2] of 6)" in m for m in res.messages)
    with pytest.raises(rl.InputValueError, match="fewer than 3 valid"):
        rl.compare_widths(data, task, widths=[2, "wide"], n_draws=8, progress=False)


def test_cli_labels_cannot_renumber_a_file_whose_numbers_are_the_task_labels(task, tmp_path, capsys):
    """A task whose item labels are 0..n-1 and a data file labelled 0..n-1: the file's numbers are its labels, yet
    they were taken for positions, so ``--labels 3,2,1,0`` silently matched conditions by position."""
    pd.DataFrame(task.Y.T, index=range(task.n_in), columns=[f"f{j}" for j in range(task.n_out)]).to_csv(
        tmp_path / "task_numbered.csv")
    pd.DataFrame(_voxel_rdms(task).get_matrices()[0]).to_csv(tmp_path / "rdm.csv")  # header and index 0..3
    args = ["fit", str(tmp_path / "rdm.csv"), "--task", str(tmp_path / "task_numbered.csv"), "--widths", "1,2",
            *FAST, "--out-dir", str(tmp_path / "out")]
    line = _error(capsys, main([*args, "--labels", "3,2,1,0"]))
    assert "already labels its conditions" in line and "the task's item labels are these numbers" in line
    assert main([*args, "--labels", "0,1,2,3"]) == 0  # the same labels in the same order: nothing to refuse
    capsys.readouterr()
    assert main([*args[:-1], str(tmp_path / "out2")]) == 0, capsys.readouterr().err  # no --labels: the file's own
