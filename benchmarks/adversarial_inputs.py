"""Held-out adversarial inputs for issue 20 (users' own data in).

Every case is a small function building one input the test suite does not contain (other file names, descriptor
names, sizes, label spellings) and feeding it to the Python API and/or the command line.  Each case decides its
outcome by an independent check (the same data in canonical form, a permutation that must not change the score,
the CLI against the Python call with the same names):

* ``correct``          -- the answer equals the independent check;
* ``clear error``      -- a one-line error from the package naming the problem (and, where one exists, the fix);
* ``SILENT WRONG``     -- an answer that differs from the independent check, with no error;
* ``RAW TRACEBACK``    -- an exception from deep inside numpy/scipy/rsatoolbox/Python (or the CLI's
                          "unexpected <Type>"), not the package's own message;
* ``UNBOUNDED``        -- the case ran longer than 60 s (interrupted by an alarm);
* ``CODE EXECUTED``    -- a crafted file ran code (a marker file appeared).

Usage::

    python benchmarks/adversarial_inputs.py            # about 2-4 minutes on 2 shared cores
    python benchmarks/adversarial_inputs.py -k pickle  # only cases whose name contains 'pickle'

Writes ``benchmarks/results/adversarial_inputs.md`` (table by class and outcome, then every case).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pickle
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import rsa_lineardyn as rl  # noqa: E402
from rsatoolbox.model import ModelFixed  # noqa: E402
from rsatoolbox.rdm import RDMs, load_rdm  # noqa: E402

from rsa_lineardyn.cli import app as cli  # noqa: E402

from rsa_lineardyn.cli import common, inputs  # noqa: E402

HERE = Path(__file__).resolve().parent
PKG = Path(rl.__file__).resolve().parent
TIMEOUT = 60
FAST = dict(n_times=9, n_lam=3, n_boot=0, start_check=None, refine=False, progress=False)
CMP = dict(n_times=9, n_lam=3, progress=False)
CLI_FIT = ["--widths", "2", "--n-boot", "0", "--no-start-check", "--quiet"]

OK, ERR, WRONG, RAW, UNB, EXEC = ("correct", "clear error", "SILENT WRONG", "RAW TRACEBACK", "UNBOUNDED",
                                  "CODE EXECUTED")
OUTCOMES = (OK, ERR, WRONG, RAW, UNB, EXEC)
CASES = []


def case(cls):
    def deco(func):
        CASES.append((cls, func.__name__, func))
        return func
    return deco


class Outcome(Exception):
    def __init__(self, outcome, detail=""):
        super().__init__(detail)
        self.outcome, self.detail = outcome, detail


# ----------------------------------------------------------------------------- helpers
def is_package_error(exc):
    """An exception with the package's own message: its type is the package's, or it was raised in the package."""
    if isinstance(exc, (rl.InputValueError, rl.InputTypeError, common.CLIError)):
        return True
    if not isinstance(exc, (ValueError, TypeError)):
        return False
    tb = traceback.extract_tb(exc.__traceback__)
    return bool(tb) and Path(tb[-1].filename).resolve().is_relative_to(PKG)


def expect_error(fn, *needles):
    """Run ``fn``; a package error whose message holds every needle is a clear error; anything else is not."""
    try:
        value = fn()
    except Outcome:
        raise
    except Exception as exc:  # noqa: BLE001
        msg = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        if not is_package_error(exc):
            raise Outcome(RAW, msg + " @ " + _where(exc)) from None
        missing = [n for n in needles if n.lower() not in str(exc).lower()]
        if missing:
            raise Outcome(RAW, f"package error without {missing}: {msg}") from None
        raise Outcome(ERR, msg) from None
    return value


def _where(exc):
    tb = traceback.extract_tb(exc.__traceback__)
    return f"{Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else "?"


def run_cli(args):
    """``rsa-lineardyn`` in-process; returns (exit code, stderr)."""
    buf = io.StringIO()
    with contextlib.redirect_stderr(buf), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main([str(a) for a in args])
    return code, buf.getvalue()


def cli_error(args, *needles):
    """The CLI must stop with one line naming every needle."""
    code, err = run_cli(args)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("[rsa-lineardyn]")
             and "Warning" not in ln and not ln.startswith("  ")]
    if code == 0:
        raise Outcome(WRONG, "CLI succeeded where it should refuse")
    if "Traceback" in err or "unexpected " in err:
        raise Outcome(RAW, (lines[-1] if lines else err)[:300])
    line = next((ln for ln in lines if ": error:" in ln), lines[-1] if lines else "")
    missing = [n for n in needles if n.lower() not in line.lower()]
    if missing:
        raise Outcome(RAW, f"error without {missing}: {line[:300]}")
    raise Outcome(ERR, line[:300])


def cli_fit_best(args, out):
    code, err = run_cli(["fit", *args, "--out-dir", out, *CLI_FIT])
    if code != 0:
        lines = [ln for ln in err.splitlines() if ": error:" in ln]
        kind = RAW if ("unexpected " in err or "Traceback" in err) else ERR
        raise Outcome(kind, (lines[-1] if lines else err[-300:])[:300])
    best = next(Path(out).glob("*_best.json"))
    return json.loads(best.read_text())


def close(a, b, tol=1e-9):
    return np.all(np.abs(np.asarray(a, float) - np.asarray(b, float)) <= tol * (1 + np.abs(np.asarray(b, float))))


def verdict(ok, detail):
    raise Outcome(OK if ok else WRONG, detail)


_TREE = None
_SEM = None


def tree():
    global _TREE
    if _TREE is None:
        _TREE = rl.hierarchical_task(depth=3, include_root=False)
    return _TREE


def sem():
    global _SEM
    if _SEM is None:
        _SEM = rl.load_semantic_task()
    return _SEM


def staged(task=None, stages=(1.0, 2.0, 3.0), n_subjects=5, seed=0, noise=0.2, subject_key="subject",
           stage_key="stage", labels=None, item_key="item", subjects=None):
    """Noisy staged RDMs (aligned N_h=2 network) with free descriptor names; ``stage_key=None``: snapshot."""
    task = task or tree()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        V = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned").predict_times(
            np.asarray(stages, float), [0.0])
    rng = np.random.default_rng(seed)
    vecs, subj, st = [], [], []
    labels = list(stages) if labels is None else list(labels)
    subjects = [f"s{i}" for i in range(n_subjects)] if subjects is None else list(subjects)
    for s in subjects:
        for k, v in enumerate(V):
            vecs.append(np.abs(v + rng.normal(0, noise * V[-1].std(), v.size)))
            subj.append(s)
            st.append(labels[k])
    rd = {subject_key: np.array(subj, dtype=object if any(not isinstance(x, str) for x in subj) else None)}
    if stage_key is not None:
        rd[stage_key] = np.array(st)
    return RDMs(np.array(vecs), dissimilarity_measure="squared euclidean", rdm_descriptors=rd,
                pattern_descriptors={item_key: np.array(task.labels)})


def reorder(rdms, order, key="item"):
    mats = rdms.get_matrices()[:, order][:, :, order]
    n = len(order)
    return RDMs(np.array([m[np.triu_indices(n, 1)] for m in mats]), dissimilarity_measure=rdms.dissimilarity_measure,
                rdm_descriptors={k: v for k, v in rdms.rdm_descriptors.items() if k != "index"},
                pattern_descriptors={key: np.asarray(rdms.pattern_descriptors[key])[order]})


def with_vectors(rdms, vecs):
    return RDMs(np.asarray(vecs, float), dissimilarity_measure=rdms.dissimilarity_measure,
                rdm_descriptors={k: v for k, v in rdms.rdm_descriptors.items() if k != "index"},
                pattern_descriptors={k: v for k, v in rdms.pattern_descriptors.items() if k != "index"})


def fit_score(data, task=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = rl.fit_rdms(data, task or tree(), n_hidden=[2], **{**FAST, **kw})
    return r


def cmp(data, task=None, widths=(2, "wide"), **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rl.compare_widths(data, task or tree(), widths=list(widths), **{**CMP, **kw})


# ============================================================================= 1. fixed competitor models
@case("1 fixed models / item_order")
def fixed_model_reversed_order_conds_descriptor(tmp):
    data = staged(stages=(1.0,), n_subjects=5, stage_key=None, noise=0.4)
    mean = data.mean()
    mean.pattern_descriptors = {"item": np.array(tree().labels)}
    rev = reorder(mean, np.arange(mean.n_cond)[::-1])
    rev.pattern_descriptors = {"conds": rev.pattern_descriptors["item"]}  # another accepted label name
    r = rl.evaluate_hypotheses(data, {"a": ModelFixed("a", mean), "b": ModelFixed("b", rev)}, tree(), baseline=None,
                               **CMP)
    verdict(close(r.unit_scores["a"], r.unit_scores["b"], 1e-12), "reversed+conds == canonical per unit")


@case("1 fixed models / item_order")
def fixed_model_superset_of_conditions(tmp):
    data = staged(stages=(1.0,), n_subjects=5, stage_key=None)
    sub = data.subsample_pattern("item", list(tree().labels[1:7]))  # data on 6 of 8 items
    sub = with_vectors(sub, sub.get_vectors())
    full = data.mean()
    full.pattern_descriptors = {"item": np.array(tree().labels)}
    part = full.subsample_pattern("item", list(tree().labels[1:7]))
    part = with_vectors(part, part.get_vectors())
    perm_full = reorder(full, np.random.default_rng(5).permutation(8))
    r = rl.evaluate_hypotheses(sub, {"exact": ModelFixed("exact", part), "super": ModelFixed("super", perm_full)},
                               tree(), baseline=None, **CMP)
    verdict(close(r.unit_scores["exact"], r.unit_scores["super"], 1e-12), "superset model restricted by label")


@case("1 fixed models / item_order")
def fixed_model_subset_refused(tmp):
    data = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    m = data.mean()
    m.pattern_descriptors = {"item": np.array(tree().labels)}
    part = m.subsample_pattern("item", list(tree().labels[2:]))
    expect_error(lambda: rl.evaluate_hypotheses(data, {"p": ModelFixed("p", part)}, tree(), baseline=None, **CMP),
                 "does not predict", tree().labels[0])
    raise Outcome(WRONG, "accepted a model that lacks conditions")


@case("1 fixed models / item_order")
def fixed_model_own_label_name_refused(tmp):
    data = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    m = data.mean()
    m.pattern_descriptors = {"stimulus_name": np.array(tree().labels)}  # not a label name the package knows
    expect_error(lambda: rl.evaluate_hypotheses(data, {"m": ModelFixed("m", m)}, tree(), baseline=None, **CMP),
                 "no condition labels")
    raise Outcome(WRONG, "accepted a model with no recognisable labels")


@case("1 fixed models / item_order")
def fixed_model_from_plain_matrix_refused(tmp):
    data = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    mat = data.mean().get_matrices()[0]
    expect_error(lambda: rl.evaluate_hypotheses(data, {"m": ModelFixed("m", mat)}, tree(), baseline=None, **CMP),
                 "no condition labels")
    raise Outcome(WRONG, "accepted an unlabelled matrix model")


@case("1 fixed models / item_order")
def fixed_model_duplicate_labels_refused(tmp):
    data = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    m = data.mean()
    labs = list(tree().labels)
    labs[1] = labs[0]
    m.pattern_descriptors = {"item": np.array(labs)}
    expect_error(lambda: rl.evaluate_hypotheses(data, {"m": ModelFixed("m", m)}, tree(), baseline=None, **CMP),
                 "more than once")
    raise Outcome(WRONG, "accepted a model naming a condition twice")


@case("1 fixed models / item_order")
def network_item_order_in_eval_fixed_on_permuted_data(tmp):
    from rsatoolbox.inference import eval_fixed

    data = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    order = np.random.default_rng(11).permutation(8)
    perm = reorder(data, order)
    theta = None
    m0 = rl.LinearNetworkModel(tree(), n_hidden=2, lam=0.0, init="aligned", item_order=data)
    m1 = rl.LinearNetworkModel(tree(), n_hidden=2, lam=0.0, init="aligned", item_order=perm)
    theta = np.array([0.0, 0.3]) if m0.n_param == 2 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e0 = eval_fixed(m0, data, theta=theta, method="corr").evaluations
        e1 = eval_fixed(m1, perm, theta=theta, method="corr").evaluations
    verdict(close(e0, e1, 1e-10), f"item_order=permuted data: {np.ravel(e0)[:1]} vs {np.ravel(e1)[:1]}")


@case("1 fixed models / item_order")
def network_without_item_order_on_permuted_data(tmp):
    from rsatoolbox.inference import eval_fixed

    data = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    perm = reorder(data, np.random.default_rng(12).permutation(8))
    m = rl.LinearNetworkModel(tree(), n_hidden=2, lam=0.0, init="aligned")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        expect_error(lambda: eval_fixed(m, perm, method="corr"), "item_order")
    if any(issubclass(x.category, rl.ConditionOrderWarning) for x in w):
        raise Outcome(ERR, "ConditionOrderWarning names item_order (rsatoolbox compares by position)")
    raise Outcome(WRONG, "scored permuted data by position without a word")


@case("1 fixed models / item_order")
def network_item_order_as_label_list_with_ints(tmp):
    # a task with numeric-looking item labels; item_order given as ints
    X = np.eye(4)
    Y = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 0, 1.0]])
    task = rl.whiten(rl.Task(X, Y, labels=["1", "2", "3", "10"]))
    m1 = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned", item_order=[10, 3, 2, 1])
    m2 = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned", item_order=["10", "3", "2", "1"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = m1.predict_rdm().get_vectors()
        b = m2.predict_rdm().get_vectors()
    verdict(close(a, b, 1e-12), "int labels == str labels")


# ============================================================================= 2. user files through CLI and API
def _save_h5(data, path):
    data.save(str(path), file_type="hdf5")
    return path


@case("2 user files CLI/API")
def hdf5_subject_id_sess_cond(tmp):
    """Subject_ID (ints), sess (two per subject), conditions under 'cond' in reversed order, semantic task."""
    task = sem()
    d = staged(task, stages=(2.0,), n_subjects=8, stage_key="sess", labels=["a"], subject_key="Subject_ID",
               subjects=[101, 102, 103, 104, 101, 102, 103, 104], item_key="cond")
    d.rdm_descriptors["Subject_ID"] = np.array([101, 102, 103, 104] * 2)  # ints, as a spreadsheet gives
    d.rdm_descriptors["sess"] = np.array(["s1"] * 4 + ["s2"] * 4)
    d = reorder(d, np.arange(8)[::-1], key="cond")
    path = _save_h5(d, tmp / "Lab Data (v2).hdf5")
    info = cli_fit_best([path, "--task", "semantic"], tmp / "o")
    lib = fit_score(load_rdm(str(path), file_type="hdf5"), task, subject_descriptor="Subject_ID",
                    stage_descriptor=None, condition_descriptor="cond", n_times=61, n_lam=12, refine=True)
    canon = fit_score(reorder(d, np.arange(8)[::-1], key="cond"), task, subject_descriptor="Subject_ID",
                      stage_descriptor=None, condition_descriptor="cond", n_times=61, n_lam=12, refine=True)
    ok = (info["subject_descriptor"] == "Subject_ID" and close(info["best"]["score"], lib.best["score"], 1e-12)
          # the refined optimum of permuted pairs stops within the optimiser's tolerance (~1e-9 of the score)
          and close(lib.best["score"], canon.best["score"], 1e-8))
    verdict(ok, f"CLI {info['best']['score']:.6f} API {lib.best['score']:.6f} canonical {canon.best['score']:.6f}; "
                f"subjects {info['subject_descriptor']}")


@case("2 user files CLI/API")
def hdf5_epoch_label_stage_needs_flag(tmp):
    """'epoch_label' (text stages) is not read as stages: CLI says so and the flag fixes it; API equals CLI."""
    task = sem()
    d = staged(task, stages=(1.0, 2.0, 4.0), labels=["E1", "E2", "E3"], n_subjects=4, stage_key="epoch_label",
               subject_key="participant")
    path = _save_h5(d, tmp / "epochs.h5")
    info = cli_fit_best([path, "--task", "semantic", "--stage-descriptor", "epoch_label", "--stage-order",
                         "E1,E2,E3"], tmp / "o")
    lib = fit_score(load_rdm(str(path), file_type="hdf5"), task, subject_descriptor="participant",
                    stage_descriptor="epoch_label", stage_order=["E1", "E2", "E3"], n_times=61, n_lam=12,
                    refine=True)
    diff = info["best"]["score"] - lib.best["score"]
    verdict(close(info["best"]["score"], lib.best["score"], 1e-9) and info["stage_descriptor"] == "epoch_label",
            f"CLI {info['best']['score']:.6f} vs API {lib.best['score']:.6f} (difference {diff:.1e})")


@case("2 user files CLI/API")
def npz_own_names_matches_hdf5(tmp):
    task = sem()
    d = staged(task, stages=(1.0, 3.0), n_subjects=5, subject_key="subj_code", stage_key="Epoch")
    np.savez(tmp / "mine.npz", D=d.get_matrices(), labels=np.array(task.labels),
             subj_code=np.array(d.rdm_descriptors["subj_code"]), Epoch=np.array(d.rdm_descriptors["Epoch"]))
    a = cli_fit_best([tmp / "mine.npz", "--task", "semantic"], tmp / "o1")
    b = cli_fit_best([_save_h5(d, tmp / "mine.hdf5"), "--task", "semantic"], tmp / "o2")
    verdict(a["best"]["score"] == b["best"]["score"] and a["stage_descriptor"] == "Epoch",
            f"npz {a['best']['score']:.6f} hdf5 {b['best']['score']:.6f} stage={a['stage_descriptor']}")


@case("2 user files CLI/API")
def python_api_unlisted_stage_name_with_subjects(tmp):
    """Python API with 'subject' + 'phase' (stages): the CLI reads phase as stages; the API must not pool silently."""
    d = staged(stage_key="phase")
    ref = fit_score(staged())
    got = expect_error(lambda: fit_score(d), "stage_descriptor")
    verdict(close(got.best["score"], ref.best["score"], 1e-10),
            f"stages {got.settings['stages']}; score {got.best['score']:.4f} vs staged {ref.best['score']:.4f}")


@case("2 user files CLI/API")
def python_api_capitalised_stage_name(tmp):
    d = staged(stage_key="Stage")
    ref = fit_score(staged())
    got = expect_error(lambda: fit_score(d), "stage_descriptor")
    verdict(close(got.best["score"], ref.best["score"], 1e-10),
            f"stages {got.settings['stages']}; score {got.best['score']:.4f} vs staged {ref.best['score']:.4f}")


@case("2 user files CLI/API")
def cli_condition_flag_wrong_name(tmp):
    d = staged(sem(), stages=(1.0,), n_subjects=3, stage_key=None, subject_key="subject", item_key="cond")
    cli_error(["fit", _save_h5(d, tmp / "c.hdf5"), "--task", "semantic", "--condition-descriptor", "condition",
               "--out-dir", tmp / "o"], "--condition-descriptor", "'cond'")


@case("2 user files CLI/API")
def cli_stage_order_without_stages(tmp):
    d = staged(sem(), stages=(1.0,), n_subjects=3, stage_key=None)
    cli_error(["fit", _save_h5(d, tmp / "s.hdf5"), "--task", "semantic", "--stage-order", "a,b",
               "--out-dir", tmp / "o"], "--stage-descriptor")


@case("2 user files CLI/API")
def csv_matrix_with_labels_permuted(tmp):
    task = sem()
    d = staged(task, stages=(1.5,), n_subjects=1, stage_key=None)
    order = np.random.default_rng(2).permutation(8)
    M = d.get_matrices()[0][np.ix_(order, order)]
    labs = [task.labels[i] for i in order]
    import pandas as pd

    pd.DataFrame(M, index=labs, columns=labs).to_csv(tmp / "my rdm.csv")
    a = cli_fit_best([tmp / "my rdm.csv", "--task", "semantic"], tmp / "o1")
    np.save(tmp / "canon.npy", d.get_matrices()[0])
    b = cli_fit_best([tmp / "canon.npy", "--task", "semantic", "--labels", ",".join(task.labels)], tmp / "o2")
    verdict(close(a["best"]["score"], b["best"]["score"], 1e-10), f"{a['best']['score']:.6f} vs {b['best']['score']:.6f}")


@case("2 user files CLI/API")
def trusted_pkl_same_as_hdf5(tmp):
    task = sem()
    d = staged(task, stages=(1.0,), n_subjects=3, stage_key=None, subject_key="participant_id")
    d.save(str(tmp / "own.pkl"), file_type="pkl")
    a = cli_fit_best([tmp / "own.pkl", "--task", "semantic", "--trust-pickle"], tmp / "o1")
    b = cli_fit_best([_save_h5(d, tmp / "own.hdf5"), "--task", "semantic"], tmp / "o2")
    verdict(a["best"]["score"] == b["best"]["score"], f"{a['best']['score']:.6f} vs {b['best']['score']:.6f}")


# ============================================================================= 3. stage labels and order
@case("3 stage labels / order")
def text_stages_baseline_trained(tmp):
    ref = fit_score(staged(stages=(1.0, 2.0)))
    got = fit_score(staged(stages=(1.0, 2.0), labels=["baseline", "trained"]), stage_order=["baseline", "trained"])
    verdict(close(got.best["score"], ref.best["score"], 1e-12), "baseline/trained == 1/2")


@case("3 stage labels / order")
def text_stages_day_without_order_refused(tmp):
    expect_error(lambda: fit_score(staged(labels=["day1", "day2", "day3"])), "stage_order")
    raise Outcome(WRONG, "text stages accepted without an order")


@case("3 stage labels / order")
def text_stages_mixed_case_order_mismatch(tmp):
    d = staged(labels=["Baseline", "Mid", "TRAINED"])
    expect_error(lambda: fit_score(d, stage_order=["baseline", "mid", "trained"]), "missing")
    raise Outcome(WRONG, "stage_order of another case silently matched")


@case("3 stage labels / order")
def numeric_text_stages_01_02_10(tmp):
    ref = fit_score(staged(stages=(1.0, 2.0, 10.0)))
    got = fit_score(staged(stages=(1.0, 2.0, 10.0), labels=["01", "02", "10"]))
    verdict(close(got.best["score"], ref.best["score"], 1e-12) and got.settings["stages"] == ["01", "02", "10"],
            f"stages {got.settings['stages']} by value")


@case("3 stage labels / order")
def numeric_text_stages_same_value(tmp):
    """'1' and '01' are one position on the time axis: two stages there is ambiguous."""
    d = staged(labels=["1", "01", "2"])
    got = expect_error(lambda: fit_score(d), "stage")
    raise Outcome(WRONG, f"'1' and '01' taken as two stages at one time: {got.settings['stages']}")


@case("3 stage labels / order")
def numeric_stages_out_of_order_in_file(tmp):
    d = staged(stages=(1.0, 2.0, 3.0))
    shuffled = d.subsample("index", list(np.random.default_rng(4).permutation(d.n_rdm)))
    shuffled = with_vectors(shuffled, shuffled.get_vectors())
    a, b = fit_score(d), fit_score(shuffled)
    verdict(close(a.best["score"], b.best["score"], 1e-12), "RDM order in file does not matter")


@case("3 stage labels / order")
def numeric_stages_wrong_order_given(tmp):
    expect_error(lambda: fit_score(staged(), stage_order=[2.0, 1.0, 3.0]), "contradicts")
    raise Outcome(WRONG, "contradicting stage_order accepted")


@case("3 stage labels / order")
def numeric_stages_order_as_int_strings(tmp):
    """Stages 1.0, 2.0, 3.0 and stage_order '1,2,3' (as typed on a command line)."""
    ref = fit_score(staged())
    got = expect_error(lambda: fit_score(staged(), stage_order="1,2,3"), "stage_order")
    verdict(close(got.best["score"], ref.best["score"]), "numeric order as text")


@case("3 stage labels / order")
def cli_text_stages_numeric_looking_and_text(tmp):
    """Stages 'v1', '2', '3' (mixed) through the CLI without --stage-order: refused, naming the flag."""
    d = staged(sem(), stages=(1.0, 2.0, 3.0), labels=["v1", "2", "3"], n_subjects=3, subject_key="subject")
    cli_error(["fit", _save_h5(d, tmp / "m.hdf5"), "--task", "semantic", "--out-dir", tmp / "o"], "--stage-order")


@case("3 stage labels / order")
def cli_stage_order_with_spaces(tmp):
    task = sem()
    d = staged(task, stages=(1.0, 2.0), labels=["pre train", "post train"], n_subjects=3)
    path = _save_h5(d, tmp / "sp.hdf5")
    info = cli_fit_best([path, "--task", "semantic", "--stage-order", " pre train , post train "], tmp / "o")
    lib = fit_score(load_rdm(str(path), file_type="hdf5"), task, stage_order=["pre train", "post train"],
                    n_times=61, n_lam=12, refine=True)
    verdict(close(info["best"]["score"], lib.best["score"], 1e-12),
            f"{info['best']['score']:.17g} vs {lib.best['score']:.17g}")


# ============================================================================= 4. odd CSVs, ids, labels
@case("4 CSV / ids / labels")
def csv_headerless_no_labels(tmp):
    task = sem()
    d = staged(task, stages=(1.5,), n_subjects=1, stage_key=None)
    np.savetxt(tmp / "bare.csv", d.get_matrices()[0], delimiter=",")
    # no labels: refused (conditions are matched by label, never by position); with --labels read as the .npy
    try:
        cli_error(["fit", tmp / "bare.csv", "--task", "semantic", "--out-dir", tmp / "o0"], "--labels",
                  "never by position")
    except Outcome as o:
        if o.outcome != ERR:
            raise
    labels = ["--labels", ",".join(task.labels)]
    a = cli_fit_best([tmp / "bare.csv", "--task", "semantic", *labels], tmp / "o1")
    np.save(tmp / "bare.npy", d.get_matrices()[0])
    b = cli_fit_best([tmp / "bare.npy", "--task", "semantic", *labels], tmp / "o2")
    verdict(close(a["best"]["score"], b["best"]["score"], 1e-10),
            "refused without --labels; with them headerless CSV == npy")


@case("4 CSV / ids / labels")
def csv_semicolon_delimited(tmp):
    d = staged(sem(), stages=(1.5,), n_subjects=1, stage_key=None)
    np.savetxt(tmp / "semi.csv", d.get_matrices()[0], delimiter=";")
    cli_error(["fit", tmp / "semi.csv", "--task", "semantic", "--out-dir", tmp / "o"], "semi.csv")


@case("4 CSV / ids / labels")
def csv_header_only_labels_numeric_names(tmp):
    """A task whose items are named 1..4 and a data CSV with a header row of those numbers."""
    (tmp / "task.csv").write_text("item,f1,f2,f3\n1,1,0,1\n2,1,0,0\n3,0,1,0\n4,0,1,1\n")
    task = inputs.load_task(str(tmp / "task.csv"))
    M = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned").predict_times([1.0], [0.0])[0]
    mat = np.zeros((4, 4))
    mat[np.triu_indices(4, 1)] = M
    mat = mat + mat.T
    order = [2, 0, 3, 1]
    P = mat[np.ix_(order, order)]
    lines = ["item," + ",".join(str(i + 1) for i in order)] + [
        f"{order[r] + 1}," + ",".join(str(float(x)) for x in row) for r, row in enumerate(P)]
    (tmp / "num.csv").write_text("\n".join(lines) + "\n")
    try:
        a = cli_fit_best([tmp / "num.csv", "--task", tmp / "task.csv"], tmp / "o1")
    except Outcome as o:
        raise Outcome(o.outcome if o.outcome != ERR else ERR, o.detail)
    np.save(tmp / "c.npy", mat)
    b = cli_fit_best([tmp / "c.npy", "--task", tmp / "task.csv", "--labels", ",".join(task.labels)], tmp / "o2")
    verdict(close(a["best"]["score"], b["best"]["score"], 1e-10),
            f"header of numbers: {a['best']['score']:.6f} vs canonical {b['best']['score']:.6f}")


@case("4 CSV / ids / labels")
def csv_duplicate_labels(tmp):
    task = sem()
    d = staged(task, stages=(1.5,), n_subjects=1, stage_key=None)
    labs = list(task.labels)
    labs[3] = labs[2]
    import pandas as pd

    pd.DataFrame(d.get_matrices()[0], index=labs, columns=labs).to_csv(tmp / "dup.csv")
    cli_error(["fit", tmp / "dup.csv", "--task", "semantic", "--out-dir", tmp / "o"], labs[2])


@case("4 CSV / ids / labels")
def csv_labels_with_whitespace(tmp):
    task = sem()
    d = staged(task, stages=(1.5,), n_subjects=1, stage_key=None)
    labs = [f" {x} " for x in task.labels]
    import pandas as pd

    pd.DataFrame(d.get_matrices()[0], index=labs, columns=labs).to_csv(tmp / "ws.csv")
    try:
        a = cli_fit_best([tmp / "ws.csv", "--task", "semantic"], tmp / "o1")
    except Outcome as o:
        if o.outcome == ERR and "not items" in o.detail:
            raise Outcome(ERR, o.detail)
        raise
    np.save(tmp / "c.npy", d.get_matrices()[0])
    b = cli_fit_best([tmp / "c.npy", "--task", "semantic", "--labels", ",".join(task.labels)], tmp / "o2")
    verdict(close(a["best"]["score"], b["best"]["score"], 1e-10), "labels with spaces read as the same items")


@case("4 CSV / ids / labels")
def unicode_labels_task_and_data(tmp):
    (tmp / "tâche.csv").write_text("item,f1,f2,f3\ncafé,1,0,1\nnaïve,1,0,0\nZürich,0,1,0\n東京,0,1,1\n",
                                   encoding="utf-8")
    task = inputs.load_task(str(tmp / "tâche.csv"))
    M = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0, init="aligned").predict_times([1.0], [0.0])[0]
    mat = np.zeros((4, 4))
    mat[np.triu_indices(4, 1)] = M
    mat = mat + mat.T
    order = [3, 1, 0, 2]
    labs = [task.labels[i] for i in order]
    import pandas as pd

    pd.DataFrame(mat[np.ix_(order, order)], index=labs, columns=labs).to_csv(tmp / "données.csv")
    a = cli_fit_best([tmp / "données.csv", "--task", tmp / "tâche.csv"], tmp / "o1")
    np.save(tmp / "c.npy", mat)
    b = cli_fit_best([tmp / "c.npy", "--task", tmp / "tâche.csv", "--labels", ",".join(task.labels)], tmp / "o2")
    verdict(close(a["best"]["score"], b["best"]["score"], 1e-10), "unicode labels matched")


@case("4 CSV / ids / labels")
def subject_ids_int_vs_float(tmp):
    """Subjects 1 and 1.0 in one (object) descriptor: differ only by type, like 1 and '1'."""
    d = staged(stages=(1.0,), n_subjects=4, stage_key=None, subjects=[1, 1.0, 2, 3])
    expect_error(lambda: cmp(d), "differ only by type")
    raise Outcome(WRONG, "1 and 1.0 accepted")


@case("4 CSV / ids / labels")
def subject_ids_numpy_float_column(tmp):
    """Subjects as a float column 1.0, 2.0, ... (from a spreadsheet): the same test as string ids."""
    a = staged(stages=(1.0,), n_subjects=4, stage_key=None, subjects=["a", "b", "c", "d"])
    b = with_vectors(a, a.get_vectors())
    b.rdm_descriptors["subject"] = np.array([1.0, 2.0, 3.0, 4.0])
    ra, rb = cmp(a), cmp(b)
    verdict(close(ra.pairwise["p"], rb.pairwise["p"], 1e-12) and rb.settings["n_units"] == 4, "float ids == str ids")


@case("4 CSV / ids / labels")
def subject_ids_repeated_rdms_kept_together(tmp):
    """Two runs per subject under 'subject' (int ids): 4 units, not 8."""
    d = staged(stages=(1.0,), n_subjects=8, stage_key=None, subjects=[7, 8, 9, 10, 7, 8, 9, 10])
    r = cmp(d)
    verdict(r.settings["n_units"] == 4, f"n_units {r.settings['n_units']}")


@case("4 CSV / ids / labels")
def data_duplicate_condition_labels_api(tmp):
    d = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    labs = list(tree().labels)
    labs[5] = labs[4]
    d.pattern_descriptors["item"] = np.array(labs)
    expect_error(lambda: fit_score(d), labs[4])
    raise Outcome(WRONG, "duplicate condition labels accepted")


# ============================================================================= 5. pickle, tampering, special files
class _Evil:
    marker = None

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _evil_bytes(marker):
    e = _Evil()
    e.marker = marker
    return pickle.dumps(e)


@case("5 pickle / tamper / special files")
def pickle_uppercase_suffix(tmp):
    marker = tmp / "pwned1"
    (tmp / "EVIL.PKL").write_bytes(_evil_bytes(marker))
    try:
        cli_error(["fit", tmp / "EVIL.PKL", "--task", "semantic", "--out-dir", tmp / "o"], "--trust-pickle")
    finally:
        if marker.exists():
            raise Outcome(EXEC, "marker written")


@case("5 pickle / tamper / special files")
def pickle_disguised_as_hdf5(tmp):
    marker = tmp / "pwned2"
    (tmp / "rdms.hdf5").write_bytes(_evil_bytes(marker))
    try:
        cli_error(["compare", tmp / "rdms.hdf5", "--task", "semantic", "--out-dir", tmp / "o"], "rdms.hdf5")
    finally:
        if marker.exists():
            raise Outcome(EXEC, "marker written")


@case("5 pickle / tamper / special files")
def pickle_disguised_as_npz_member(tmp):
    marker = tmp / "pwned3"
    obj = np.empty(2, dtype=object)
    obj[0] = _Evil()
    obj[0].marker = marker
    buf = io.BytesIO()
    np.save(buf, obj, allow_pickle=True)
    with zipfile.ZipFile(tmp / "x.npz", "w") as zf:
        zf.writestr("rdms.npy", buf.getvalue())
    try:
        cli_error(["fit", tmp / "x.npz", "--task", "semantic", "--out-dir", tmp / "o"], "pickle")
    finally:
        if marker.exists():
            raise Outcome(EXEC, "marker written")


@case("5 pickle / tamper / special files")
def pickle_in_npy(tmp):
    marker = tmp / "pwned4"
    obj = np.empty(1, dtype=object)
    obj[0] = _Evil()
    obj[0].marker = marker
    np.save(tmp / "x.npy", obj, allow_pickle=True)
    try:
        cli_error(["fit", tmp / "x.npy", "--task", "semantic", "--out-dir", tmp / "o"], "x.npy")
    finally:
        if marker.exists():
            raise Outcome(EXEC, "marker written")


@case("5 pickle / tamper / special files")
def pickle_results_file_renamed(tmp):
    marker = tmp / "pwned5"
    (tmp / "results.Pkl").write_bytes(_evil_bytes(marker))
    try:
        expect_error(lambda: rl.load_results(tmp / "results.Pkl"), "allow_pickle")
        raise Outcome(WRONG, "pickle read")
    finally:
        if marker.exists():
            raise Outcome(EXEC, "marker written")


@case("5 pickle / tamper / special files")
def pickle_results_as_hdf5_type(tmp):
    marker = tmp / "pwned6"
    (tmp / "results.pkl").write_bytes(_evil_bytes(marker))
    try:
        expect_error(lambda: rl.load_results(tmp / "results.pkl", file_type="hdf5"), "results file")
        raise Outcome(WRONG, "read")
    finally:
        if marker.exists():
            raise Outcome(EXEC, "marker written")


def _data_copy(tmp):
    src = Path(rl.data_dir())
    dst = tmp / "datasets"
    shutil.copytree(src, dst)
    return dst


@contextlib.contextmanager
def _data_env(path):
    old = os.environ.get("RSA_LINEARDYN_DATA")
    os.environ["RSA_LINEARDYN_DATA"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("RSA_LINEARDYN_DATA", None)
        else:
            os.environ["RSA_LINEARDYN_DATA"] = old


def _some_data_file(root, suffix):
    files = sorted(p for p in root.rglob(f"*{suffix}") if p.is_file() and not p.is_symlink())
    return files[0] if files else None


@case("5 pickle / tamper / special files")
def tampered_dataset_one_byte(tmp):
    root = _data_copy(tmp)
    f = next(p for p in sorted(root.rglob("*.csv")) if "semantic" in str(p) or "rumelhart" in str(p).lower())
    raw = bytearray(f.read_bytes())
    i = raw.rfind(b"1")
    raw[i:i + 1] = b"0"  # one attribute switched off, same size
    f.write_bytes(bytes(raw))
    with _data_env(root):
        expect_error(lambda: rl.load_semantic_task(), f.name)
    raise Outcome(WRONG, f"tampered {f.name} loaded")


@case("5 pickle / tamper / special files")
def tampered_dataset_symlink_swap(tmp):
    root = _data_copy(tmp)
    npz = _some_data_file(root, ".npz")
    other = tmp / "other.npz"
    np.savez(other, x=np.zeros(3))
    npz.unlink()
    npz.symlink_to(other)
    with _data_env(root):
        expect_error(lambda: rl.load_92images_rdms("hIT"), str(npz.name).split(".")[0])
    raise Outcome(WRONG, "symlinked file loaded")


@case("5 pickle / tamper / special files")
def data_symlink_to_fifo(tmp):
    if not hasattr(os, "mkfifo"):
        raise Outcome(OK, "no FIFOs here")
    os.mkfifo(tmp / "pipe")
    (tmp / "link.hdf5").symlink_to(tmp / "pipe")
    t0 = time.perf_counter()
    try:
        cli_error(["fit", tmp / "link.hdf5", "--task", "semantic", "--out-dir", tmp / "o"], "FIFO")
    finally:
        if time.perf_counter() - t0 > 30:
            raise Outcome(UNB, "waited on the FIFO")


@case("5 pickle / tamper / special files")
def task_file_fifo(tmp):
    if not hasattr(os, "mkfifo"):
        raise Outcome(OK, "no FIFOs here")
    d = staged(sem(), stages=(1.0,), n_subjects=1, stage_key=None)
    np.save(tmp / "d.npy", d.get_matrices()[0])
    os.mkfifo(tmp / "task.csv")
    cli_error(["fit", tmp / "d.npy", "--task", tmp / "task.csv", "--out-dir", tmp / "o"], "FIFO")


@case("5 pickle / tamper / special files")
def data_symlink_loop(tmp):
    (tmp / "a.npz").symlink_to(tmp / "b.npz")
    (tmp / "b.npz").symlink_to(tmp / "a.npz")
    cli_error(["fit", tmp / "a.npz", "--task", "semantic", "--out-dir", tmp / "o"], "a.npz")


@case("5 pickle / tamper / special files")
def data_dev_zero(tmp):
    (tmp / "z.npy").symlink_to("/dev/zero")
    cli_error(["fit", tmp / "z.npy", "--task", "semantic", "--out-dir", tmp / "o"], "regular file")


@case("5 pickle / tamper / special files")
def npz_many_members_declaring_huge_sizes(tmp):
    """Many members each below the limit, together far above it (3 x 600 MiB declared)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_2_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (9000, 9000)})
    with zipfile.ZipFile(tmp / "many.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        for k in ("rdms", "a", "b"):
            zf.writestr(f"{k}.npy", buf.getvalue())
    cli_error(["fit", tmp / "many.npz", "--task", "semantic", "--out-dir", tmp / "o"], "declares")


@case("5 pickle / tamper / special files")
def npy_header_declares_more_than_file(tmp):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (50000, 8, 8)})
    (tmp / "short.npy").write_bytes(buf.getvalue() + b"\0" * 64)
    cli_error(["fit", tmp / "short.npy", "--task", "semantic", "--out-dir", tmp / "o"], "short.npy")


@case("5 pickle / tamper / special files")
def hdf5_declaring_huge_dataset(tmp):
    """An rsatoolbox-shaped HDF5 whose compressed 'dissimilarities' declares 128 GiB (nothing written)."""
    import h5py

    d = staged(sem(), stages=(1.0,), n_subjects=2, stage_key=None)
    path = _save_h5(d, tmp / "bomb.hdf5")
    with h5py.File(path, "r+") as f:
        del f["dissimilarities"]
        f.create_dataset("dissimilarities", shape=(2**29, 32), dtype="f8", chunks=(1024, 32), compression="gzip")
    size = path.stat().st_size
    t0 = time.perf_counter()
    cli_error(["fit", path, "--task", "semantic", "--out-dir", tmp / "o"], "bomb.hdf5")
    _ = size, t0


# ============================================================================= 6. missing data
@case("6 missing data")
def nan_whole_rdm_one_stage(tmp):
    d = staged(n_subjects=5)
    v = d.get_vectors().copy()
    v[4] = np.nan
    holes = with_vectors(d, v)
    dropped = d.subsample("index", [i for i in range(d.n_rdm) if i != 4])
    dropped = with_vectors(dropped, dropped.get_vectors())
    a, b = fit_score(holes), fit_score(dropped)
    verdict(close(a.best["score"], b.best["score"], 1e-10), "NaN RDM == RDM dropped")


@case("6 missing data")
def nan_rows_for_one_condition(tmp):
    """One condition missing in every RDM of one subject: same as that subject measured on 7 items."""
    d = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    M = d.get_matrices().copy()
    M[0, 3, :] = np.nan
    M[0, :, 3] = np.nan
    M[0, 3, 3] = 0
    iu = np.triu_indices(8, 1)
    holes = with_vectors(d, np.array([m[iu] for m in M]))
    r = cmp(holes)
    ok = np.isfinite(r.unit_scores.drop(columns="unit").to_numpy()).all() and r.settings["n_units"] == 4
    verdict(ok, f"finite scores, {r.settings['n_units']} units; notes: {[m for m in r.messages if 'missing' in m][:1]}")


@case("6 missing data")
def subjects_with_different_condition_subsets(tmp):
    """Two subjects miss different items: NaN-padded to a common set, the score of each equals its own subset."""
    d = staged(stages=(1.0,), n_subjects=4, stage_key=None, noise=0.3)
    M = d.get_matrices().copy()
    for s, c in ((0, 1), (1, 6)):
        M[s, c, :] = np.nan
        M[s, :, c] = np.nan
        M[s, c, c] = 0
    iu = np.triu_indices(8, 1)
    r = fit_score(with_vectors(d, np.array([m[iu] for m in M])), subject_descriptor="subject")
    verdict(np.isfinite(r.best["score"]), f"finite fit {r.best['score']:.4f}")


@case("6 missing data")
def two_subjects_compare_refused(tmp):
    expect_error(lambda: cmp(staged(n_subjects=2, subject_key="participant")), "at least 3")
    raise Outcome(WRONG, "2 subjects tested")


@case("6 missing data")
def two_subjects_cli_compare_refused(tmp):
    d = staged(sem(), stages=(1.0,), n_subjects=2, stage_key=None, subject_key="Participant_ID")
    cli_error(["compare", _save_h5(d, tmp / "two.hdf5"), "--task", "semantic", "--out-dir", tmp / "o"],
              "at least 3")


@case("6 missing data")
def all_nan_subject_compare(tmp):
    d = staged(n_subjects=5)
    v = d.get_vectors().copy()
    v[6:9] = np.nan  # subject s2, all stages
    expect_error(lambda: cmp(with_vectors(d, v)), "s2")
    raise Outcome(WRONG, "all-NaN subject scored")


@case("6 missing data")
def all_nan_subject_fit_equals_dropped(tmp):
    d = staged(n_subjects=5)
    v = d.get_vectors().copy()
    v[6:9] = np.nan
    keep = [i for i in range(d.n_rdm) if not 6 <= i < 9]
    dropped = d.subsample("index", keep)
    a, b = fit_score(with_vectors(d, v)), fit_score(with_vectors(dropped, dropped.get_vectors()))
    verdict(close(a.best["score"], b.best["score"], 1e-10), "all-NaN subject == subject dropped")


@case("6 missing data")
def inf_in_data_refused(tmp):
    d = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    v = d.get_vectors().copy()
    v[1, 2] = np.inf
    expect_error(lambda: fit_score(with_vectors(d, v)), "inf")
    raise Outcome(WRONG, "inf accepted")


# ============================================================================= 7. numeric extremes
def _scaled(sc):
    d = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    return d, with_vectors(d, d.get_vectors() * sc)


@case("7 numeric extremes")
def data_scaled_1e_minus_300(tmp):
    d, s = _scaled(1e-300)
    verdict(close(cmp(d).table["mean"], cmp(s).table["mean"], 1e-9), "corr invariant to 1e-300")


@case("7 numeric extremes")
def data_scaled_1e300_cosine(tmp):
    d, s = _scaled(1e300)
    a, b = fit_score(d, method="cosine"), fit_score(s, method="cosine")
    verdict(close(a.best["score"], b.best["score"], 1e-9), f"cosine invariant to 1e300: {b.best['score']}")


@case("7 numeric extremes")
def data_scaled_subnormal_per_subject(tmp):
    d = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    v = d.get_vectors() * np.array([1e-310, 1.0, 1e300, 1e-5])[:, None]
    a = cmp(d).unit_scores.drop(columns="unit")
    b = cmp(with_vectors(d, v)).unit_scores.drop(columns="unit")
    bad = [c for c in a.columns if not close(a[c], b[c], 1e-6)]
    verdict(not bad, f"per-subject scales 1e-310 .. 1e300 change the scores of {bad}: {b.iloc[:, -1].tolist()}")


@case("7 numeric extremes")
def constant_rdms_compare(tmp):
    d = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    r = cmp(with_vectors(d, np.ones_like(d.get_vectors())))
    ok = r.table["mean"].isna().all() and any("undefined" in m for m in r.messages) and \
        not r.pairwise["significant"].any()
    verdict(ok, "NaN rows with a note, nothing significant")


@case("7 numeric extremes")
def constant_rdms_fit(tmp):
    d = staged(stages=(1.0,), n_subjects=4, stage_key=None)
    expect_error(lambda: fit_score(with_vectors(d, np.full_like(d.get_vectors(), 3.0))), "constant")
    raise Outcome(WRONG, "constant data fitted")


@case("7 numeric extremes")
def tiny_init_scale_fit(tmp):
    r = fit_score(staged(), scale=1e-150)
    verdict(np.isfinite(r.best["score"]), f"score {r.best['score']:.4f}")


@case("7 numeric extremes")
def huge_init_scale_model(tmp):
    expect_error(lambda: fit_score(staged(), scale=1e200), "scale")
    raise Outcome(OK, "accepted (finite)")


@case("7 numeric extremes")
def huge_times_prediction(tmp):
    m = rl.LinearNetworkModel(tree(), n_hidden=2, lam=0.0, init="aligned")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = m.predict_times([1e300], [0.0])
        b = m.predict_times([np.inf], [0.0])
    verdict(close(a, b, 1e-9) and np.isfinite(a).all(), "t=1e300 == converged")


@case("7 numeric extremes")
def huge_time_bounds_fit(tmp):
    r = fit_score(staged(stages=(1.0,), stage_key=None), time_bounds=(1e-300, 1e300))
    verdict(np.isfinite(r.best["score"]), f"score {r.best['score']:.4f}")


@case("7 numeric extremes")
def huge_width_model(tmp):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expect_error(lambda: rl.LinearNetworkModel(tree(), n_hidden=10**12, lam=0.0), "n_hidden")
    raise Outcome(WRONG, "accepted")


@case("7 numeric extremes")
def huge_lam_fit(tmp):
    expect_error(lambda: fit_score(staged(), lam=[1e300]), "lam")
    raise Outcome(OK, "accepted")


# ============================================================================= 8. resource
def _timed(fn, limit=10.0):
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        if time.perf_counter() - t0 > limit:
            raise Outcome(UNB, f"took {time.perf_counter() - t0:.0f} s before answering")


@case("8 resource")
def many_draws(tmp):
    _timed(lambda: expect_error(lambda: fit_score(staged(), n_draws=10**6), "n_draws"))
    raise Outcome(WRONG, "n_draws=1e6 accepted")


@case("8 resource")
def cli_many_draws(tmp):
    d = staged(sem(), stages=(1.0,), n_subjects=1, stage_key=None)
    np.save(tmp / "d.npy", d.get_matrices()[0])
    _timed(lambda: cli_error(["fit", tmp / "d.npy", "--task", "semantic", "--n-draws", "1000000", "--out-dir",
                              tmp / "o"], "--n-draws"))


@case("8 resource")
def widths_list_huge_memory(tmp):
    task = rl.load_92images_task()
    data = rl.load_92images_rdms("hIT")
    _timed(lambda: expect_error(lambda: rl.fit_rdms(data, task, n_hidden=list(range(1, 10001)), n_boot=0,
                                                    start_check=None, progress=False), "n_hidden"))
    raise Outcome(WRONG, "accepted")


@case("8 resource")
def cli_widths_range_huge(tmp):
    _timed(lambda: cli_error(["compare", "92images:hIT_subject_session", "--widths", "1-100000",
                              "--out-dir", tmp / "o"], "--widths"))


@case("8 resource")
def cli_widths_single_huge(tmp):
    _timed(lambda: cli_error(["fit", "92images:hIT", "--widths", "99999999999", "--out-dir", tmp / "o"],
                             "--widths"))


@case("8 resource")
def many_widths_compare_api(tmp):
    _timed(lambda: expect_error(lambda: cmp(staged(), widths=[list(range(1, 5000))]), "width"))
    raise Outcome(WRONG, "accepted")


@case("8 resource")
def long_flow_horizon(tmp):
    task = tree()
    W1, W2 = rl.balanced_init(task.n_in, 2, task.n_out, lam=0.0, scale=0.1, seed=0)
    _timed(lambda: expect_error(lambda: rl.simulate(task, W1, W2, [1e12], method="flow"),
                                       "integrator steps"))
    raise Outcome(WRONG, "accepted")


@case("8 resource")
def huge_n_boot(tmp):
    _timed(lambda: expect_error(lambda: rl.fit_rdms(staged(), tree(), n_hidden=[2], n_boot=10**9, n_times=9,
                                                    n_lam=3, progress=False), "n_boot"))
    raise Outcome(WRONG, "accepted")


@case("8 resource")
def huge_grid(tmp):
    _timed(lambda: expect_error(lambda: rl.fit_rdms(staged(), tree(), n_hidden=[2], n_times=10**5, n_lam=10**4,
                                                    n_boot=0, progress=False), "memory"))
    raise Outcome(WRONG, "accepted")


# ============================================================================= runner
def _alarm(signum, frame):
    raise TimeoutError("case exceeded the time limit")


def run(selected):
    rows = []
    signal.signal(signal.SIGALRM, _alarm)
    for cls, name, func in selected:
        tmp = Path(tempfile.mkdtemp(prefix="adv_"))
        t0 = time.perf_counter()
        signal.alarm(TIMEOUT)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                func(tmp)
            outcome, detail = WRONG, "case returned without a verdict"
        except Outcome as o:
            outcome, detail = o.outcome, o.detail
        except TimeoutError:
            outcome, detail = UNB, f"> {TIMEOUT} s"
        except Exception as exc:  # noqa: BLE001 - the case itself crashed: an error from the package path
            outcome = ERR if is_package_error(exc) else RAW
            detail = f"{type(exc).__name__}: {str(exc)[:250]} @ {_where(exc)}"
        finally:
            signal.alarm(0)
            shutil.rmtree(tmp, ignore_errors=True)
        dt = time.perf_counter() - t0
        rows.append((cls, name, outcome, dt, detail.replace("\n", " ").replace("|", "/")))
        print(f"{outcome:14s} {dt:6.1f}s  {cls:36s} {name}: {detail[:160]}", flush=True)
    return rows


def report(rows, total):
    classes = list(dict.fromkeys(r[0] for r in rows))
    lines = ["# Held-out adversarial inputs (issue 20)", "",
             f"`python benchmarks/adversarial_inputs.py`, {len(rows)} cases, {total:.0f} s, "
             f"{time.strftime('%Y-%m-%d %H:%M')}.", "",
             "| class | " + " | ".join(OUTCOMES) + " |", "|---|" + "---|" * len(OUTCOMES)]
    for c in classes + ["all"]:
        sel = [r for r in rows if c == "all" or r[0] == c]
        lines.append(f"| {c} | " + " | ".join(str(sum(r[2] == o for r in sel)) for o in OUTCOMES) + " |")
    lines += ["", "| class | case | outcome | s | detail |", "|---|---|---|---|---|"]
    lines += [f"| {c} | {n} | {o} | {t:.1f} | {d[:300]} |" for c, n, o, t, d in rows]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-k", default="", help="only cases whose name contains this text")
    p.add_argument("--no-write", action="store_true", help="print only; do not write the results file")
    args = p.parse_args(argv)
    selected = [c for c in CASES if args.k in c[1]]
    t0 = time.perf_counter()
    rows = run(selected)
    text = report(rows, time.perf_counter() - t0)
    print()
    print(text.split("\n\n| class | case")[0])
    if not args.no_write and not args.k:
        out = HERE / "results" / "adversarial_inputs.md"
        tmp = out.with_suffix(".md.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
        print(f"wrote {out}")
    bad = sum(r[2] in (WRONG, RAW, UNB, EXEC) for r in rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
