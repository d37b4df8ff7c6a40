"""Adversarial trial (session 30): a lab's messy objects and files -- missing labels, float stages, rank methods with
missing pairs, CSVs written by other tools, .npz files with two label arrays.  Real rsatoolbox objects and real
files in tmp_path, no mocks; every test here failed on the code it was written against."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from rsatoolbox.model import ModelFixed
from rsatoolbox.rdm import RDMs, concat

import rsa_lineardyn as rl
from rsa_lineardyn.cli.app import main
from test_cli_files import _error  # the one-line CLI error check of the CLI file tests
from test_hypotheses import _staged_data  # noisy per-subject RDMs of a network at several stages

FAST = dict(n_times=9, n_lam=3, n_boot=0, start_check=None, refine=False)
CLI_FAST = ["--n-draws", "8", "--quiet", "--force"]


@pytest.fixture(scope="module")
def tree():
    return rl.hierarchical_task(depth=3, include_root=False)  # 8 items


def _staged(task, stages=(1.0,), n_subjects=5, seed=0, noise=0.2, stage_key="stage"):
    """Noisy per-subject RDMs of an aligned N_h = 2 network at ``stages`` (times = stage values)."""
    return _staged_data(task, 2, np.asarray(stages, dtype=float), n_subjects, noise, seed, stage_values=list(stages),
                        stage_key=stage_key)


def _with(rdms, **rdm_descriptors):
    out = rdms.copy()
    out.rdm_descriptors.update(rdm_descriptors)
    return out


def _task_csv(task, path):
    pd.DataFrame(task.Y.T, index=list(task.labels), columns=[f"f{j}" for j in range(task.n_out)]).to_csv(path)
    return path


def _cli_error(capsys, code):
    return _error(capsys, code)


# ----------------------------------------------------------------------------- missing unit labels
@pytest.mark.parametrize("missing", [np.nan, None, ""])
def test_missing_subject_labels_are_not_merged_into_one_subject(tree, missing):
    """Two RDMs whose subject id is missing (NaN from a float column, None, an empty cell) were silently taken as
    ONE subject called 'nan' / 'None' / '': two people's data pooled into a pseudo-unit of the tests."""
    data = _staged(tree, n_subjects=6)
    subj = np.array(data.rdm_descriptors["subject"], dtype=object)
    subj[4] = subj[5] = missing
    bad = _with(data, subject=subj)
    with pytest.raises(rl.InputValueError, match="subject"):
        rl.compare_widths(bad, tree, widths=[2, "wide"], n_times=9, n_lam=3, progress=False)
    with pytest.raises(rl.InputValueError, match="subject"):
        rl.fit_rdms(bad, tree, n_hidden=[2], **FAST)


def test_missing_roi_labels_are_not_fitted_as_a_region(tree):
    """fit_rois fitted the RDMs with a missing region label as a region named nan."""
    a, b = _staged(tree, n_subjects=4, seed=1), _staged(tree, n_subjects=4, seed=2)
    data = concat([a, b])
    roi = np.array(["V1"] * 4 + ["IT"] * 4, dtype=object)
    roi[:2] = np.nan
    data.rdm_descriptors["roi"] = roi
    with pytest.raises(rl.InputValueError, match="roi"):
        rl.fit_rois(data, tree, n_hidden=[2], **FAST)


# ----------------------------------------------------------------------------- stages
def test_float_stages_equal_up_to_rounding_are_one_stage(tree):
    """A stage written 0.1 + 0.2 by one subject's pipeline and 0.3 by the others became two stages (0.3 and
    0.30000000000000004; with time_map='free' each its own time), while '0.3' and '0.30' are refused as one
    position with two labels.  Expected: one stage (values equal to rounding), or the same refusal."""
    data = _staged(tree, stages=(0.1, 0.2, 0.3), n_subjects=5)
    st = np.array(data.rdm_descriptors["stage"], dtype=float)
    st[2] = 0.1 + 0.2  # subject s0's third stage
    odd = _with(data, stage=st)
    try:
        res = rl.fit_rdms(odd, tree, n_hidden=[2], **FAST)
    except rl.InputValueError as exc:
        assert "stage" in str(exc)
        return
    assert len(res.settings["stages"]) == 3, res.settings["stages"]


def test_descriptor_varying_within_subjects_is_not_pooled_without_a_word(tree):
    """'subject' + 'day' (1, 2, 3): fit_rdms pooled the three days into one snapshot with no message at all (the
    command line logs that it takes such a descriptor as repeated measurements; the Python result said nothing)."""
    data = _staged(tree, stages=(1.0, 2.0, 3.0), n_subjects=5, stage_key="day")
    try:
        res = rl.fit_rdms(data, tree, n_hidden=[2], **FAST)
    except rl.InputValueError as exc:
        assert "day" in str(exc)
        return
    assert any("'day'" in m for m in res.messages), res.messages


# ----------------------------------------------------------------------------- missing pairs with other methods
@pytest.mark.parametrize("method", ["spearman", "rho-a", "tau-a"])
def test_one_subjects_missing_pairs_leave_the_other_subjects_scores_alone(tree, method):
    """With a rank method, 10 missing pairs in subject s1's RDM changed every other subject's score of a FIXED model
    (s4: 0.774 -> 0.614 with spearman): the pairs were dropped from everyone's comparison, while the result's note
    says 'missing dissimilarities (NaN) are left out of their own RDM's score'.  Units stop being independent."""
    data = _staged(tree, n_subjects=5, noise=0.5)
    mean = data.mean()
    mv = mean.get_vectors() + np.random.default_rng(5).normal(0, mean.get_vectors().std(), (1, 28))
    model = ModelFixed("m", RDMs(mv, pattern_descriptors={"item": np.array(tree.labels)}))
    v = data.get_vectors().copy()
    v[1, :10] = np.nan
    holes = RDMs(v, rdm_descriptors=dict(data.rdm_descriptors), pattern_descriptors=dict(data.pattern_descriptors))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = rl.evaluate_hypotheses(data, {"m": model}, tree, baseline=None, method=method).unit_scores["m"]
        res = rl.evaluate_hypotheses(holes, {"m": model}, tree, baseline=None, method=method)
    others = [0, 2, 3, 4]
    np.testing.assert_allclose(res.unit_scores["m"].to_numpy()[others], clean.to_numpy()[others], rtol=1e-10)


@pytest.mark.parametrize("method", ["bures", "neg_riem_dist"])
def test_missing_pair_with_a_matrix_method_is_no_raw_scipy_error(tree, method):
    """compare_widths / evaluate_hypotheses with method 'bures' or 'neg_riem_dist' and one NaN pair raised scipy's
    'Incompatible vector size. It must be a binomial coefficient n choose 2' or numpy's 'all the input array
    dimensions except for the concatenation axis must match exactly' from deep inside rsatoolbox."""
    data = _staged(tree, n_subjects=5, noise=0.5)
    v = data.get_vectors().copy()
    v[1, 3] = np.nan
    holes = RDMs(v, rdm_descriptors=dict(data.rdm_descriptors), pattern_descriptors=dict(data.pattern_descriptors))
    mean = data.mean()
    mean.pattern_descriptors = {"item": np.array(tree.labels)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rl.evaluate_hypotheses(holes, {"m": ModelFixed("m", mean)}, tree, baseline=None, method=method)
        except rl.InputValueError as exc:  # a refusal is fine if it names the method and the missing values
            assert method in str(exc) and ("NaN" in str(exc) or "missing" in str(exc)), str(exc)


def test_fixed_model_with_nan_is_named_in_the_error(tree):
    """A fixed model whose RDM has a NaN pair: 'a prediction has non-finite dissimilarities; it cannot be scored.'
    -- which of the hypotheses, and what to do, is not said."""
    data = _staged(tree, n_subjects=6, noise=0.4)
    mean = data.mean()
    mean.pattern_descriptors = {"item": np.array(tree.labels)}
    v = mean.get_vectors().copy()
    v[0, 0] = np.nan
    bad = ModelFixed("my_model", RDMs(v, pattern_descriptors={"item": np.array(tree.labels)}))
    try:
        rl.evaluate_hypotheses(data, {"good": ModelFixed("good", mean), "my_model": bad}, tree, baseline=None)
    except rl.InputValueError as exc:
        assert "my_model" in str(exc), str(exc)


# ----------------------------------------------------------------------------- files through the command line
def _fit(data_path, task_path, out):
    return main(["fit", str(data_path), "--task", str(task_path), "--out-dir", str(out), "--n-boot", "0",
                 "--no-start-check", "--widths", "2"] + CLI_FAST)


def test_csv_whose_header_and_label_column_disagree_is_refused(tree, tmp_path, capsys):
    """A matrix CSV with a header row and a label column naming the conditions in different orders (one of them
    is wrong) was read with the label column's labels, the header ignored, without a word."""
    m = _staged(tree, n_subjects=1).get_matrices()[0]
    labels = list(tree.labels)
    header = labels[:]
    header[0], header[1] = header[1], header[0]
    pd.DataFrame(m, index=labels, columns=header).to_csv(tmp_path / "rdm.csv")
    code = _fit(tmp_path / "rdm.csv", _task_csv(tree, tmp_path / "task.csv"), tmp_path / "out")
    msg = _cli_error(capsys, code)
    assert "header" in msg


def test_npz_with_item_and_labels_in_different_orders_is_refused(tree, tmp_path, capsys):
    """An .npz holding both 'labels' and 'item' (n_cond entries each, different orders): the array saved last
    silently labelled the conditions ('conds' next to 'labels' is refused as ambiguous)."""
    data = _staged(tree, n_subjects=5)
    labels = np.array(tree.labels)
    swapped = labels[[1, 0, 2, 3, 4, 5, 6, 7]]
    np.savez(tmp_path / "d.npz", rdms=data.get_matrices(), item=swapped, labels=labels,
             subject=np.array(data.rdm_descriptors["subject"], dtype=str))
    code = main(["compare", str(tmp_path / "d.npz"), "--task", str(_task_csv(tree, tmp_path / "task.csv")),
                 "--out-dir", str(tmp_path / "out"), "--widths", "2"] + CLI_FAST)
    msg = _cli_error(capsys, code)
    assert "item" in msg and "labels" in msg


def test_npz_with_byte_string_labels_is_read(tree, tmp_path, capsys):
    """Labels saved as byte strings (dtype 'S', as h5py/MATLAB exports give) became "b'item_0_0_0'" and matched no
    task item."""
    data = _staged(tree, n_subjects=5)
    np.savez(tmp_path / "d.npz", rdms=data.get_matrices(), labels=np.array(tree.labels).astype("S"),
             subject=np.array(data.rdm_descriptors["subject"], dtype=str))
    code = main(["compare", str(tmp_path / "d.npz"), "--task", str(_task_csv(tree, tmp_path / "task.csv")),
                 "--out-dir", str(tmp_path / "out"), "--widths", "2"] + CLI_FAST)
    err = capsys.readouterr().err
    assert code == 0, err


@pytest.mark.parametrize("sep", [";", "\t"])
def test_data_csv_with_another_separator_says_so(tree, tmp_path, capsys, sep):
    """A matrix CSV written with ';' (Excel in many locales) or tabs: 'must be one N x N matrix ..., got shape
    (9, 0)' -- nothing about the separator."""
    m = _staged(tree, n_subjects=1).get_matrices()[0]
    pd.DataFrame(m, index=list(tree.labels), columns=list(tree.labels)).to_csv(tmp_path / "rdm.csv", sep=sep)
    code = _fit(tmp_path / "rdm.csv", _task_csv(tree, tmp_path / "task.csv"), tmp_path / "out")
    if code == 0:  # reading it is fine too
        return
    msg = _cli_error(capsys, code)
    assert "separat" in msg or "delimit" in msg or repr(sep) in msg, msg


def test_task_csv_with_semicolons_says_so(tree, tmp_path, capsys):
    """A task CSV written with ';': logged as 'no header row (its first row holds numbers)' (it holds text), then
    '... got shape (9, 0)' -- nothing about the separator."""
    pd.DataFrame(tree.Y.T, index=list(tree.labels),
                 columns=[f"f{j}" for j in range(tree.n_out)]).to_csv(tmp_path / "task.csv", sep=";")
    m = _staged(tree, n_subjects=1).get_matrices()[0]
    pd.DataFrame(m, index=list(tree.labels), columns=list(tree.labels)).to_csv(tmp_path / "rdm.csv")
    code = _fit(tmp_path / "rdm.csv", tmp_path / "task.csv", tmp_path / "out")
    if code == 0:
        return
    msg = _cli_error(capsys, code)
    assert "separat" in msg or "delimit" in msg or "';'" in msg, msg


def test_data_csv_with_r_style_na_names_the_cell(tree, tmp_path, capsys):
    """R's write.csv writes a missing dissimilarity as NA: 'some entries are not numbers' named neither the entry
    nor that an empty cell is how a missing value is written."""
    m = _staged(tree, n_subjects=1).get_matrices()[0]
    df = pd.DataFrame(m, index=list(tree.labels), columns=list(tree.labels))
    df.iloc[0, 3] = df.iloc[3, 0] = np.nan
    df.to_csv(tmp_path / "rdm.csv", na_rep="NA")
    code = _fit(tmp_path / "rdm.csv", _task_csv(tree, tmp_path / "task.csv"), tmp_path / "out")
    if code == 0:  # NA read as a missing value: fine
        return
    msg = _cli_error(capsys, code)
    assert "'NA'" in msg or '"NA"' in msg, msg


def test_plain_hdf5_that_is_not_rsatoolbox_says_what_to_do(tree, tmp_path, capsys):
    """An .h5 written by the lab's own pipeline (h5py, a dataset 'rdms'): "could not read ... as rsatoolbox RDMs:
    'dissimilarities'" -- a KeyError's text, with no word on what the file lacks or how to save it."""
    import h5py

    with h5py.File(tmp_path / "rdms.h5", "w") as f:
        f["rdms"] = _staged(tree, n_subjects=3).get_matrices()
    code = _fit(tmp_path / "rdms.h5", _task_csv(tree, tmp_path / "task.csv"), tmp_path / "out")
    msg = _cli_error(capsys, code)
    assert "save" in msg or ".npz" in msg, msg


@pytest.mark.parametrize("method", ["corr", "cosine", "spearman", "kendall"])
def test_prepared_data_scores_every_rdm_over_its_own_pairs(method):
    """The fits' inner scorer (grid and refinement): each data RDM over its own valid pairs, equal to scoring that
    RDM alone -- also for rows missing different pairs (before: the pairs missing in any row were dropped from all)."""
    from rsa_lineardyn.representations.similarity import _PreparedData

    rng = np.random.default_rng(2)
    data = rng.uniform(0.5, 2.0, (4, 28))
    data[1, :5] = np.nan
    data[3, 10:12] = np.nan
    pred = rng.uniform(0.5, 2.0, (3, 28))
    got = _PreparedData(data, method, rows=np.array([0, 1, 3])).score(pred)
    want = np.column_stack([rl.score_matrix(pred, data[r:r + 1], method)[:, 0] for r in (0, 1, 3)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("numbered", ["columns", "index"])
def test_csv_with_pandas_default_header_or_index_beside_labels_is_read_by_its_labels(tree, tmp_path, numbered):
    """A matrix written by pandas with labelled rows and default columns (header 0, 1, ...) or the reverse: the
    numbers are positions, the other side the labels -- read by the labels, not refused as disagreeing."""
    from rsa_lineardyn.cli.inputs import _read_matrix_csv

    m = _staged(tree, n_subjects=1).get_matrices()[0]
    labels = list(tree.labels)
    df = pd.DataFrame(m, index=labels) if numbered == "columns" else pd.DataFrame(m, columns=labels)
    df.to_csv(tmp_path / "rdm.csv")
    D, got = _read_matrix_csv(tmp_path / "rdm.csv")
    assert got == labels
    np.testing.assert_allclose(D, m)
