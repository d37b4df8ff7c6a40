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

from test_cli_files import _error  # the one error line of a failed run (log records aside)


def _tree_task():
    return rl.hierarchical_task(depth=3, include_root=False)


def _tree_rdms(task, stages=(2.0,), n_subjects=4, seed=3):
    from rsa_lineardyn.inference.recovery import simulate_voxel_rdms

    return simulate_voxel_rdms(task, 2, 0.0, 0.1, list(stages), n_subjects=n_subjects, n_voxels=60, noise=0.3,
                               init="random", per_subject=True, seed=seed)


def test_labels_refused_for_a_file_that_labels_its_conditions(tmp_path, capsys):
    """--labels names conditions by position: for a labelled file, other labels (or another order) were silently
    put in place of the file's own; identical labels are harmless and accepted."""
    task = rl.load_semantic_task()
    D = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_rdm([0.3]).get_matrices()[0]
    rl.rdms_from_matrices(D, labels=task.labels).save(str(tmp_path / "labelled.hdf5"), file_type="hdf5")
    opts = ["--task", "semantic", "--widths", "2", "--n-boot", "0", "--no-start-check", "--n-draws", "8"]
    err = _error(capsys, main(["fit", str(tmp_path / "labelled.hdf5"), *opts, "--labels",
                               ",".join(sorted(task.labels)), "--out-dir", str(tmp_path / "o")]))
    assert "already labels its conditions (pattern descriptor 'item'" in err and "drop --labels" in err, err
    assert not (tmp_path / "o").exists()
    assert main(["fit", str(tmp_path / "labelled.hdf5"), *opts, "--labels", ",".join(task.labels),
                 "--out-dir", str(tmp_path / "same")]) == 0


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


def test_task_csv_with_a_named_index_and_integer_columns_is_refused(tmp_path, capsys):
    """``item,0,1,2,...`` (a named index, integer column names) cannot be told from an item: refused, not guessed."""
    task = _tree_task()
    df = pd.DataFrame(task.Y.T, index=pd.Index(task.labels, name="item"))
    df.to_csv(tmp_path / "named_index.csv")
    err = _error(capsys, main(["trajectory", str(tmp_path / "named_index.csv"), "--out-dir", str(tmp_path / "o")]))
    assert "its first row item,0,1,2,... looks like the header pandas writes for integer column names" in err, err
    assert "name the feature columns" in err
    df.columns = [f"f{j}" for j in range(df.shape[1])]
    df.to_csv(tmp_path / "named_index.csv")
    assert load_task(str(tmp_path / "named_index.csv")).labels == tuple(task.labels)
    (tmp_path / "two.csv").write_text("canary,0,1\nsalmon,1,0\n")  # two features 0, 1: an item, as always
    assert load_task(str(tmp_path / "two.csv")).labels == ("canary", "salmon")


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


# --------------------------------------------------------------------------- 3: NaN dissimilarities
def _with_nan(rdms, holes=((0, 0), (3, 5), (6, 27))):
    """``rdms`` with a few dissimilarities missing (NaN): (rdm index, pair index)."""
    x = rdms.dissimilarities.copy()
    for k, j in holes:
        x[k, j] = np.nan
    rdms.dissimilarities = x
    return rdms


def test_rdms_from_matrices_accepts_nan_off_the_diagonal():
    D = np.array([[0.0, 1, np.nan], [1, 0, 3], [np.nan, 3, 0]])
    rdms = rl.rdms_from_matrices(D, labels=["a", "b", "c"])
    np.testing.assert_array_equal(rdms.dissimilarities, [[1.0, np.nan, 3.0]])
    stack = rl.make_rdms(np.stack([D, np.nan_to_num(D, nan=2.0)]), ["a", "b", "c"])
    assert np.isnan(stack.dissimilarities).sum() == 1


@pytest.mark.parametrize("change, match", [
    (lambda D: D.__setitem__((0, 2), np.inf) or D.__setitem__((2, 0), np.inf), r"contains inf \(first in matrix 0, "
                                                                                r"entry \(0, 2\)\)"),
    (lambda D: D.__setitem__((1, 1), np.nan), r"NaN on the diagonal \(first in matrix 0, condition 1\)"),
    (lambda D: D.__setitem__((0, 1), np.nan), r"must be symmetric; matrix 0 has NaN at \(0, 1\)"),
    (lambda D: D.__setitem__(~np.eye(3, dtype=bool), np.nan), r"matrix 0 is NaN everywhere off the diagonal"),
])
def test_rdms_from_matrices_refuses_inf_and_misplaced_nan(change, match):
    D = np.array([[0.0, 1, 2], [1, 0, 3], [2, 3, 0]])
    change(D)
    with pytest.raises(rl.InputValueError, match=match):
        rl.rdms_from_matrices(D, labels=["a", "b", "c"])


@pytest.fixture
def nan_lab(tmp_path):
    """Five subjects at two stages with three missing dissimilarities, as .hdf5 / .npz / .csv / .npy files."""
    task = _tree_task()
    data = _with_nan(_tree_rdms(task, stages=(2.0, 4.0), n_subjects=5))  # 10 RDMs: the .npz is unambiguous
    data.save(str(tmp_path / "nan.hdf5"), file_type="hdf5")
    M = data.get_matrices()
    labels = [str(x) for x in data.pattern_descriptors["item"]]
    np.savez(tmp_path / "nan.npz", rdms=M, labels=np.array(labels),
             subject=np.asarray(data.rdm_descriptors["subject"]), stage=np.asarray(data.rdm_descriptors["stage"]))
    pd.DataFrame(M[0], index=labels, columns=labels).to_csv(tmp_path / "nan0.csv")  # NaN written as ''
    assert (tmp_path / "nan0.csv").read_text().splitlines()[1].startswith("item_0_0_0,0.0,,")  # pair (0, 1) missing
    pd.DataFrame(M[0]).to_csv(tmp_path / "nan0_int.csv")  # header ",0,1,...", index 0, 1, ...
    pd.DataFrame(M[0]).to_csv(tmp_path / "nan0_bare.csv", header=False, index=False)  # first row "0.0,,..."
    np.save(tmp_path / "nan0.npy", M[0])
    pd.DataFrame(task.Y.T, index=task.labels).to_csv(tmp_path / "task.csv")
    return tmp_path, task, data


FIT_OPTS = ["--widths", "1,2", "--n-boot", "0", "--no-start-check", "--n-draws", "8", "--seed", "3"]
FIT_KW = dict(n_hidden=[1, 2], n_boot=0, start_check=None, n_draws=8, random_state=3)


def _same_best(cli, lib):
    """The CLI's best row equals fit_rdms's best: the width, lam, the score and every stage time."""
    assert cli["n_hidden"] == lib["n_hidden"]
    times = [k for k in lib if str(k).startswith("time[")] or ["time"]
    for k in ("lam", "score", *times):
        assert cli[k] == pytest.approx(lib[k], rel=1e-12), k


def test_cli_fit_on_rdms_with_nan_equals_python(nan_lab, capsys):
    tmp_path, task, data = nan_lab
    lib = rl.fit_rdms(data, task, **FIT_KW)
    assert any("NaN" in m for m in lib.messages)
    for name in ("nan.hdf5", "nan.npz"):
        out = tmp_path / f"o_{name}"
        assert main(["fit", str(tmp_path / name), "--task", str(tmp_path / "task.csv"), *FIT_OPTS,
                     "--out-dir", str(out)]) == 0, capsys.readouterr().err
        _same_best(json.loads((out / f"{name.replace('.', '_')}_best.json").read_text())["best"], lib.best)
    one = data.subset("index", [0])
    lib1 = rl.fit_rdms(one, task, **FIT_KW)
    labels = ["--labels", ",".join(data.pattern_descriptors["item"])]
    for name, extra in (("nan0.csv", []), ("nan0.npy", labels), ("nan0_int.csv", labels), ("nan0_bare.csv", labels)):
        out = tmp_path / f"o_{name}"
        assert main(["fit", str(tmp_path / name), "--task", str(tmp_path / "task.csv"), *FIT_OPTS, *extra,
                     "--out-dir", str(out)]) == 0, capsys.readouterr().err
        _same_best(json.loads((out / f"{name.replace('.', '_')}_best.json").read_text())["best"], lib1.best)


def test_cli_compare_on_rdms_with_nan_equals_python(nan_lab, capsys):
    tmp_path, task, data = nan_lab
    lib = rl.compare_widths(data, task, widths=[1, 2], n_draws=8, random_state=3)
    assert main(["compare", str(tmp_path / "nan.hdf5"), "--task", str(tmp_path / "task.csv"), "--widths", "1,2",
                 "--n-draws", "8", "--seed", "3", "--out-dir", str(tmp_path / "o")]) == 0, capsys.readouterr().err
    table = pd.read_csv(tmp_path / "o" / "nan_hdf5_compare_widths.csv")
    assert list(table.model) == list(lib.table.model)
    np.testing.assert_allclose(table["mean"], lib.table["mean"], rtol=1e-12)
    assert np.all(np.isfinite(table["mean"]))


def test_cli_fit_rois_on_rdms_with_nan_equals_python(nan_lab, capsys):
    tmp_path, task, data = nan_lab
    from rsatoolbox.rdm import concat

    parts = []
    for roi, seed in (("V1", 3), ("IT", 4)):
        d = data if seed == 3 else _with_nan(_tree_rdms(task, stages=(2.0, 4.0), seed=seed), holes=((2, 1),))
        d.rdm_descriptors["roi"] = np.array([roi] * d.n_rdm)
        parts.append(d)
    rois = concat(parts)
    rois.save(str(tmp_path / "rois.hdf5"), file_type="hdf5")
    lib = rl.fit_rois(rois, task, roi_descriptor="roi", **FIT_KW)
    assert main(["fit-rois", str(tmp_path / "rois.hdf5"), "--task", str(tmp_path / "task.csv"), *FIT_OPTS,
                 "--out-dir", str(tmp_path / "o")]) == 0, capsys.readouterr().err
    table = pd.read_csv(tmp_path / "o" / "rois_hdf5_rois.csv")
    assert list(table.roi) == list(lib.table.roi)
    cols = [c for c in lib.table.columns if lib.table[c].dtype.kind in "iuf"]
    assert {"n_hidden", "lam", "rate", "score"} <= set(cols) and any(c.startswith("time[") for c in cols)
    for k in cols:
        np.testing.assert_allclose(table[k], lib.table[k].astype(float), rtol=1e-12, err_msg=k)


# --------------------------------------------------------------------------- 4: fit-rois --stage-order, --condition-descriptor
@pytest.fixture
def text_stage_rois(tmp_path):
    """Two regions, text stages stored late, early, mid; condition labels under 'stim_id' in another order."""
    from rsatoolbox.rdm import RDMs

    task = _tree_task()
    names = {1: "early", 2: "mid", 3: "late"}
    parts, rois, epochs, subjects = [], [], [], []
    perm = np.random.default_rng(0).permutation(task.P)
    for roi, seed in (("V1", 1), ("IT", 2)):
        d = _tree_rdms(task, stages=(2.0, 4.0, 6.0), seed=seed)
        M = d.get_matrices()[:, perm][:, :, perm]
        order = np.argsort([{3: 0, 1: 1, 2: 2}[int(s)] for s in d.rdm_descriptors["stage"]], kind="stable")
        parts.append(M[order])
        epochs += [names[int(s)] for s in np.asarray(d.rdm_descriptors["stage"])[order]]
        subjects += list(np.asarray(d.rdm_descriptors["subject"])[order])
        rois += [roi] * d.n_rdm
    iu = np.triu_indices(task.P, 1)
    data = RDMs(np.concatenate(parts)[:, iu[0], iu[1]],
                rdm_descriptors={"roi": rois, "epoch": epochs, "participant": subjects},
                pattern_descriptors={"stim_id": [task.labels[i] for i in perm]})
    data.save(str(tmp_path / "rois.hdf5"), file_type="hdf5")
    pd.DataFrame(task.Y.T, index=task.labels).to_csv(tmp_path / "task.csv")
    return tmp_path, task, data


def test_fit_rois_takes_stage_order_and_condition_descriptor(text_stage_rois, capsys):
    tmp_path, task, data = text_stage_rois
    base = ["fit-rois", str(tmp_path / "rois.hdf5"), "--task", str(tmp_path / "task.csv"), *FIT_OPTS,
            "--out-dir", str(tmp_path / "o")]
    err = _error(capsys, main(base + ["--stage-order", "early,mid,late"]))
    assert "stim_id" in err, err  # the labels are not under a known name: --condition-descriptor names them
    err = _error(capsys, main(base + ["--condition-descriptor", "stim_id"]))
    assert "--stage-order" in err and "text labels" in err, err
    assert main(base + ["--condition-descriptor", "stim_id", "--stage-order", "early,mid,late"]) == 0, \
        capsys.readouterr().err
    lib = rl.fit_rois(data, task, roi_descriptor="roi", condition_descriptor="stim_id",
                      stage_order=["early", "mid", "late"], **FIT_KW)
    table = pd.read_csv(tmp_path / "o" / "rois_hdf5_rois.csv")
    assert list(table.roi) == ["V1", "IT"] == list(lib.table.roi)
    cols = [c for c in lib.table.columns if lib.table[c].dtype.kind in "iuf"]
    assert {"time[early]", "time[mid]", "time[late]"} <= set(cols), cols
    for k in cols:
        np.testing.assert_allclose(table[k], lib.table[k].astype(float), rtol=1e-12, err_msg=k)
    t = lib.table.iloc[0]
    assert t["time[early]"] < t["time[mid]"] < t["time[late]"]  # stages placed in the given learning order
    record = json.loads((tmp_path / "o" / "rois_hdf5_rois.json").read_text())
    assert record["settings"]["stage_order"] == ["early", "mid", "late"]
    assert record["condition_labels_from"] == "the data file"


# --------------------------------------------------------------------------- 6: the stage-order hint
def _late_early_mid(tmp_path):
    """One region's RDMs with text stages, stored in the rows' order late, early, mid."""
    task = _tree_task()
    d = _tree_rdms(task, stages=(2.0, 4.0, 6.0), seed=1)
    order = np.argsort([{3: 0, 1: 1, 2: 2}[int(s)] for s in d.rdm_descriptors["stage"]], kind="stable")
    d = d[order]
    d.rdm_descriptors["epoch"] = np.array([{1: "early", 2: "mid", 3: "late"}[int(s)]
                                           for s in d.rdm_descriptors.pop("stage")])
    assert list(dict.fromkeys(d.rdm_descriptors["epoch"])) == ["late", "early", "mid"]
    d.save(str(tmp_path / "lem.hdf5"), file_type="hdf5")
    pd.DataFrame(task.Y.T, index=task.labels).to_csv(tmp_path / "task.csv")
    return task, d


def test_text_stage_error_gives_no_order_to_paste(tmp_path, capsys):
    """The hint was the file's row order (late,early,mid): pasting it fitted the stages backwards."""
    task, data = _late_early_mid(tmp_path)
    err = _error(capsys, main(["fit", str(tmp_path / "lem.hdf5"), "--task", str(tmp_path / "task.csv"),
                               "--out-dir", str(tmp_path / "o")]))
    assert "the 3 text labels early, late, mid (listed alphabetically, which is not their learning order)" in err
    assert "--stage-order with all of them in learning order" in err and "never alphabetically" in err
    assert "late,early" not in err and "late, early" not in err
    with pytest.raises(rl.InputValueError) as info:
        rl.fit_rdms(data, task, n_hidden=[1], n_boot=0)
    msg = str(info.value)
    assert "text labels ['early', 'late', 'mid'] (listed alphabetically, which is not their learning order)" in msg
    assert "stage_order= (CLI: --stage-order) with all of them in learning order" in msg
    assert "'late', 'early'" not in msg


# --------------------------------------------------------------------------- 7: a bad --out-dir
def _unwritable_system_folder():
    import tempfile
    from pathlib import Path

    for folder in (Path("/sys"), Path("/proc")):
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError:
            return folder
    return None


@pytest.mark.parametrize("command", [["trajectory", "semantic", "--times", "1"],
                                     ["fit", "92images:hIT", "--widths", "1", "--n-boot", "0"]])
def test_bad_out_dir_is_one_line_naming_the_option(tmp_path, capsys, command):
    (tmp_path / "a_file").write_text("not a folder")
    cases = [(tmp_path / "a_file", f"--out-dir {tmp_path / 'a_file'}: it is a file, not a folder"),
             (tmp_path / "a_file" / "sub", f"--out-dir {tmp_path / 'a_file' / 'sub'}: {tmp_path / 'a_file'} is a "
                                           "file, not a folder")]
    system = _unwritable_system_folder()
    if system is not None:
        cases += [(system, f"--out-dir {system}: no file can be written in the output folder ("),
                  (system / "new", f"--out-dir {system / 'new'}: the output folder cannot be created (")]
    for out, start in cases:
        err = _error(capsys, main([*command, "--out-dir", str(out)]))
        assert err.startswith(f"rsa-lineardyn {command[0]}: error: {start}"), err
        assert err.endswith("; pass a folder you can write to (it is created if missing)"), err
    assert (tmp_path / "a_file").read_text() == "not a folder"
