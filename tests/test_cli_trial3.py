"""Command-line defects found by the third new-user trial (exp/trial3), each on real files and real RDMs.

Task CSVs written by pandas, label-less matrix files, NaN dissimilarities, ``fit-rois`` stage options, whole
error messages, the stage-order hint and a bad ``--out-dir``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn.cli.app import main
from rsa_lineardyn.cli.inputs import load_task

LOG = "[rsa-lineardyn] "


def _error(capsys, code):
    """The one error line of a failed run (log records aside)."""
    err = capsys.readouterr().err
    assert code == 1, err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(LOG)]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _tree_task():
    return rl.hierarchical_task(depth=3, include_root=False)


def _tree_rdms(task, stages=(2.0,), n_subjects=4, seed=3):
    from rsa_lineardyn.inference.recovery import simulate_voxel_rdms

    return simulate_voxel_rdms(task, 2, 0.0, 0.1, list(stages), n_subjects=n_subjects, n_voxels=60, noise=0.3,
                               init="random", per_subject=True, seed=seed)


# --------------------------------------------------------------------------- 1: pandas task CSV header
def test_task_csv_with_integer_column_names_reads_its_header(tmp_path):
    """``DataFrame(Y.T, index=labels).to_csv`` writes the header ``,0,1,...``: it was read as an item ''."""
    task = _tree_task()
    pd.DataFrame(task.Y.T, index=task.labels).to_csv(tmp_path / "intcols.csv")
    assert (tmp_path / "intcols.csv").read_text().startswith(",0,1,2,")
    named = pd.DataFrame(task.Y.T, index=task.labels, columns=[f"f{j}" for j in range(task.n_out)])
    named.to_csv(tmp_path / "named.csv")
    a, b = load_task(str(tmp_path / "intcols.csv")), load_task(str(tmp_path / "named.csv"))
    assert a.labels == b.labels == tuple(task.labels)
    assert a.P == task.P and a.n_out == task.n_out
    np.testing.assert_array_equal(a.Y, b.Y)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.feature_names == tuple(str(j) for j in range(task.n_out))


def test_cli_fit_same_with_integer_and_named_task_columns(tmp_path, capsys):
    task = _tree_task()
    _tree_rdms(task).save(str(tmp_path / "rdms.hdf5"), file_type="hdf5")
    pd.DataFrame(task.Y.T, index=task.labels).to_csv(tmp_path / "intcols.csv")
    pd.DataFrame(task.Y.T, index=task.labels, columns=[f"f{j}" for j in range(task.n_out)]).to_csv(
        tmp_path / "named.csv")
    best = {}
    for name in ("intcols", "named"):
        code = main(["fit", str(tmp_path / "rdms.hdf5"), "--task", str(tmp_path / f"{name}.csv"), "--widths", "1,2",
                     "--n-boot", "0", "--no-start-check", "--n-draws", "8", "--out-dir", str(tmp_path / name)])
        assert code == 0, capsys.readouterr().err
        best[name] = json.loads((tmp_path / name / "rdms_hdf5_best.json").read_text())["best"]
    assert best["intcols"] == best["named"]


@pytest.mark.parametrize("text, match", [
    ("item,a,b\ncanary,1,0\n,0,1\noak,1,1\n", r"line\(s\) \[3\] have an empty item label"),
    ("canary,1,0\nsalmon,0,1\ncanary,1,1\n", r"\['canary'\] appear on more than one line \(first on line\(s\) \[1\]\)"),
    ("item,a,b\ncanary,1,0\nsalmon,0,1\ncanary,1,1\n", r"\['canary'\] appear on more than one line \(first on line"
                                                       r"\(s\) \[2\]\)"),
])
def test_task_csv_refuses_empty_or_repeated_item_labels(tmp_path, capsys, text, match):
    path = tmp_path / "task.csv"
    path.write_text(text)
    err = _error(capsys, main(["trajectory", str(path), "--out-dir", str(tmp_path / "o")]))
    assert err.startswith(f"rsa-lineardyn trajectory: error: task file {path}: ")
    assert re.search(match, err), err
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- 2: no labels, no positional matching
def _label_less_files(tmp_path, D):
    """The matrix ``D`` as the three label-less files: .npy, a headerless .csv, an .npz without labels."""
    np.save(tmp_path / "rdm.npy", D)
    pd.DataFrame(D).to_csv(tmp_path / "rdm.csv", header=False, index=False)
    np.savez(tmp_path / "rdm.npz", rdms=D)
    return ("rdm.npy", "rdm.csv", "rdm.npz")


@pytest.mark.parametrize("command", ["fit", "compare"])
def test_label_less_files_are_refused_without_labels(tmp_path, capsys, command):
    task = rl.load_semantic_task()
    D = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_rdm([0.3]).get_matrices()[0]
    for name in _label_less_files(tmp_path, D):
        err = _error(capsys, main([command, str(tmp_path / name), "--task", "semantic", "--subject-descriptor",
                                   "none", "--out-dir", str(tmp_path / "o")]))
        assert err.startswith(f"rsa-lineardyn {command}: error: data file {tmp_path / name} carries no condition "
                              "labels"), err
        assert "never by position" in err
        assert "Pass --labels with the task item of every row, in the file's order (8 labels" in err
    assert not (tmp_path / "o").exists()


def test_label_less_file_with_labels_matches_by_label_and_records_it(tmp_path, capsys):
    """The same RDM with its rows in alphabetical order: with --labels it fits as the labelled file does."""
    task = rl.load_semantic_task()
    D = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_rdm([0.3]).get_matrices()[0]
    alpha = sorted(task.labels)
    p = [task.labels.index(x) for x in alpha]
    np.save(tmp_path / "alpha.npy", D[np.ix_(p, p)])
    rl.rdms_from_matrices(D, labels=task.labels).save(str(tmp_path / "labelled.hdf5"), file_type="hdf5")
    opts = ["--task", "semantic", "--widths", "1,2", "--n-boot", "0", "--no-start-check", "--n-draws", "8"]
    assert main(["fit", str(tmp_path / "alpha.npy"), *opts, "--labels", ",".join(alpha),
                 "--out-dir", str(tmp_path / "a")]) == 0, capsys.readouterr().err
    assert main(["fit", str(tmp_path / "labelled.hdf5"), *opts, "--out-dir", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "alpha_npy_best.json").read_text())
    b = json.loads((tmp_path / "b" / "labelled_hdf5_best.json").read_text())
    assert a["condition_labels_from"] == "--labels"
    assert b["condition_labels_from"] == "the data file (pattern descriptor 'item')"
    assert a["best"]["n_hidden"] == b["best"]["n_hidden"] and b["best"]["score"] > 0.999
    # the same fit up to the refinement's own tolerance (the dissimilarities are summed in another order)
    assert a["best"]["score"] == pytest.approx(b["best"]["score"], rel=1e-9)
    for k in ("lam", "time"):
        assert a["best"][k] == pytest.approx(b["best"][k], rel=1e-6), k
    # what the positional reading did: the alphabetical rows taken as the task's items fit worse
    assert main(["fit", str(tmp_path / "alpha.npy"), *opts, "--labels", ",".join(task.labels),
                 "--out-dir", str(tmp_path / "c")]) == 0
    c = json.loads((tmp_path / "c" / "alpha_npy_best.json").read_text())
    assert c["best"]["score"] < b["best"]["score"] - 0.01


# --------------------------------------------------------------------------- 5: whole error messages
def test_cli_error_is_printed_whole_on_one_line(tmp_path, capsys):
    """Errors were cut at 300 characters mid-word, dropping the fix at their end."""
    err = _error(capsys, main(["figure1", "--lr", "10", "--out-dir", str(tmp_path)]))
    assert len(err) > 400
    assert err.endswith("there is no trajectory to compare. Use a learning rate well below 0.435 (the default is "
                        "0.01)."), err
    assert not list(tmp_path.iterdir())


def test_one_line_keeps_every_line_of_a_message():
    from rsa_lineardyn.cli.inputs import _one_line

    exc = rl.InputValueError("first line\n  second   line " + "x" * 400 + "\nthe fix")
    assert _one_line(exc) == "first line second line " + "x" * 400 + " the fix"
    assert _one_line(KeyError()) == "KeyError"

