"""Issue 20: users' own files through the command line and file IO.

Real files (rsatoolbox HDF5 via ``RDMs.save``, .pkl, .npz, .csv): descriptors kept and named, nothing executed
from a file, resource guards, all-or-none outputs, SIGTERM like Ctrl-C, one source of defaults.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rsa_lineardyn as rl
import rsa_lineardyn.data.bundled  # noqa: F401  (rl.data.bundled below)
from rsa_lineardyn.cli import inputs, options
from rsa_lineardyn.cli.app import main

REPO = Path(__file__).resolve().parents[1]
LOG = "[rsa-lineardyn] "


def _error(capsys, code):
    err = capsys.readouterr().err
    assert code == 1, err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(LOG)]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _user_rdms(n_subjects=4, stages=None, subject_key="participant_id", stage_key="phase", item_key="item",
               order=None, extra=None, seed=0):
    """Noisy RDMs of the semantic task (8 items) with the user's own descriptor names."""
    from rsatoolbox.rdm import RDMs

    task = rl.load_semantic_task()
    stages = stages or [None]
    model = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0)
    rng = np.random.default_rng(seed)
    vecs, subj, stg = [], [], []
    for i in range(n_subjects):
        for k, st in enumerate(stages):
            v = model.predict_times([1.5 * (k + 1)], [0.0])[0]
            vecs.append(np.abs(v + 0.3 * v.std() * rng.standard_normal(v.size)))
            subj.append(f"p{i:02d}")
            stg.append(st)
    rdm_desc = {subject_key: np.array(subj)}
    if stages != [None]:
        rdm_desc[stage_key] = np.array(stg)
    rdm_desc.update(extra or {})
    data = RDMs(np.array(vecs), dissimilarity_measure="squared euclidean", rdm_descriptors=rdm_desc,
                pattern_descriptors={item_key: np.array(task.labels)})
    if order is not None:
        data = _permute(data, order, item_key)
    return data, task


def _permute(data, order, key):
    from rsatoolbox.rdm import RDMs

    D = data.get_matrices()[:, order][:, :, order]
    labels = np.asarray(data.pattern_descriptors[key])[order]
    return RDMs(np.array([m[np.triu_indices(len(order), 1)] for m in D]),
                dissimilarity_measure=data.dissimilarity_measure,
                rdm_descriptors={k: v for k, v in data.rdm_descriptors.items() if k != "index"},
                pattern_descriptors={key: labels})


def _save(data, path):
    data.save(str(path), file_type="hdf5")
    return path


# --------------------------------------------------------------------------- descriptors
def test_compare_reads_participant_id_and_matches_the_python_api(tmp_path, capsys):
    """Today's CLI took every RDM of a file as a unit; now `participant_id` is read, logged, and p equals Python's."""
    data, task = _user_rdms(n_subjects=5, extra={"block": np.array([f"b{i % 2}" for i in range(5)])})
    path = _save(data, tmp_path / "user.hdf5")
    out = tmp_path / "o"
    assert main(["compare", str(path), "--task", "semantic", "--widths", "1,wide", "--n-draws", "8",
                 "--out-dir", str(out)]) == 0  # 8 draws: the plumbing, not the Monte-Carlo error, is tested
    err = capsys.readouterr().err
    assert "subjects: rdm descriptor 'participant_id' (5 value(s): p00, p01" in err
    assert "'block'" in err and "repeated measurements within subjects" in err
    table = pd.read_csv(out / "user_hdf5_compare_widths.csv")
    pw = pd.read_csv(out / "user_hdf5_compare_widths_pairwise.csv")
    lib = rl.compare_widths(inputs.load_data_rdms(str(path)), task, widths=[1, "wide"], condition_descriptor="item",
                            subject_descriptor="participant_id", stage_descriptor=None, stage_order=None,
                            random_state=0, n_draws=8, progress=False)
    np.testing.assert_array_equal(table["mean"], lib.table["mean"])
    np.testing.assert_array_equal(pw["p"], lib.pairwise["p"])
    assert (table.n_units == 5).all()
    info = json.loads((out / "user_hdf5_compare_widths.json").read_text())
    assert info["subject_descriptor"] == "participant_id" and info["condition_descriptor"] == "item"


def test_grouping_descriptor_without_subjects_is_refused_not_guessed(tmp_path, capsys):
    data, _ = _user_rdms(n_subjects=6, subject_key="block")  # 'block' groups RDMs; nothing says 'subject'
    data.rdm_descriptors["block"] = np.array(["b0", "b0", "b1", "b1", "b2", "b2"])
    path = _save(data, tmp_path / "blocks.hdf5")
    for cmd in ("compare", "fit"):
        err = _error(capsys, main([cmd, str(path), "--task", "semantic", "--out-dir", str(tmp_path / "o")]))
        assert "'block'" in err and "--subject-descriptor" in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    err = _error(capsys, main(["compare", str(path), "--task", "semantic", "--subject-descriptor", "subj",
                               "--out-dir", str(tmp_path / "o")]))
    assert "--subject-descriptor 'subj' is not an rdm descriptor" in err and "'block'" in err
    two, _ = _user_rdms(n_subjects=4, extra={"subject": np.array(["a", "a", "b", "b"])})
    err = _error(capsys, main(["compare", str(_save(two, tmp_path / "two.hdf5")), "--task", "semantic",
                               "--out-dir", str(tmp_path / "o")]))
    assert "several rdm descriptors" in err and "'participant_id'" in err and "'subject'" in err


def test_fit_text_stages_need_stage_order_and_match_the_python_api(tmp_path, capsys):
    data, task = _user_rdms(n_subjects=3, stages=["pre", "post"])
    path = _save(data, tmp_path / "stages.hdf5")
    args = ["fit", str(path), "--task", "semantic", "--widths", "2", "--n-boot", "0", "--no-start-check"]
    err = _error(capsys, main(args + ["--out-dir", str(tmp_path / "o")]))
    assert "'phase'" in err and "--stage-order" in err and "never alphabetically" in err
    out = tmp_path / "o2"
    assert main(args + ["--stage-order", "pre,post", "--out-dir", str(out)]) == 0
    err = capsys.readouterr().err
    assert "stages of learning: rdm descriptor 'phase' (2 value(s): pre, post), in the order pre, post" in err
    info = json.loads((out / "stages_hdf5_best.json").read_text())
    assert info["stage_descriptor"] == "phase" and info["stage_order"] == ["pre", "post"]
    assert info["subject_descriptor"] == "participant_id"
    lib = rl.fit_rdms(inputs.load_data_rdms(str(path)), task, n_hidden=[2], subject_descriptor="participant_id",
                      stage_descriptor="phase",
                      stage_order=["pre", "post"], n_boot=0, start_check=None, progress=False)
    assert info["best"]["score"] == lib.best["score"]
    assert info["best"]["lam"] == float(lib.best["lam"])


def test_permuted_conditions_with_an_unlisted_label_descriptor(tmp_path, capsys):
    """Labels under 'stim' (not in the fixed list) were dropped and the conditions taken in task order."""
    data, task = _user_rdms(n_subjects=1, item_key="stim")
    order = [3, 0, 7, 1, 6, 2, 5, 4]
    perm = _permute(data, order, "stim")
    outs = {}
    for name, d in (("plain", data), ("perm", perm)):
        path = _save(d, tmp_path / f"{name}.hdf5")
        out = tmp_path / name
        assert main(["fit", str(path), "--task", "semantic", "--widths", "2", "--n-boot", "0", "--no-start-check",
                     "--out-dir", str(out)]) == 0
        assert "conditions: pattern descriptor 'stim'" in capsys.readouterr().err
        outs[name] = json.loads((out / f"{name}_hdf5_best.json").read_text())["best"]
    assert outs["perm"]["score"] == pytest.approx(outs["plain"]["score"], abs=1e-12)
    assert outs["perm"]["score"] > 0.5


# --------------------------------------------------------------------------- files
def test_headerless_task_csv_keeps_its_first_item(tmp_path, capsys):
    (tmp_path / "h.csv").write_text("item,f1,f2\na,1,0\nb,0,1\nc,1,1\n")
    (tmp_path / "n.csv").write_text("a,1,0\nb,0,1\nc,1,1\n")
    assert inputs.load_task(str(tmp_path / "h.csv")).labels == ("a", "b", "c")
    assert inputs.load_task(str(tmp_path / "n.csv")).labels == ("a", "b", "c")  # today: ('b', 'c')
    for name, said in (("h.csv", "header row found"), ("n.csv", "no header row")):
        assert main(["trajectory", str(tmp_path / name), "--n-times", "3", "--init", "aligned",
                     "--out-dir", str(tmp_path / name.replace(".", "_"))]) == 0
        assert said in capsys.readouterr().err


def test_pickle_is_refused_unless_trusted(tmp_path, capsys):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    import pickle

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Evil()))
    err = _error(capsys, main(["fit", str(tmp_path / "evil.pkl"), "--task", "semantic",
                               "--out-dir", str(tmp_path / "o")]))
    assert "is a pickle" in err and "--trust-pickle" in err
    assert not marker.exists()
    with pytest.raises(rl.InputValueError, match="allow_pickle=True"):
        rl.load_results(tmp_path / "evil.pkl")
    assert not marker.exists()
    # trusted: read (with a warning); the file is not RDMs, so it then fails, but it was the user's choice
    assert main(["fit", str(tmp_path / "evil.pkl"), "--task", "semantic", "--trust-pickle",
                 "--out-dir", str(tmp_path / "o")]) == 1
    assert "warning: unpickling" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_not_opened(tmp_path, capsys):
    fifo = tmp_path / "rdm.npy"
    os.mkfifo(fifo)
    start = time.perf_counter()
    err = _error(capsys, main(["fit", str(fifo), "--task", "semantic", "--out-dir", str(tmp_path / "o")]))
    assert "FIFO" in err and "not a regular file" in err and time.perf_counter() - start < 30


def test_npz_bomb_is_refused_from_its_headers(tmp_path, capsys):
    header = {"descr": "<f8", "fortran_order": False, "shape": (200_000, 200_000)}
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("rdms.npy", buf.getvalue() + b"\0" * 1000)
    assert (tmp_path / "bomb.npz").stat().st_size < 10_000
    err = _error(capsys, main(["fit", str(tmp_path / "bomb.npz"), "--task", "semantic",
                               "--out-dir", str(tmp_path / "o")]))
    assert "declares" in err and "nothing was unpacked" in err


def test_npz_keeps_rdm_descriptors(tmp_path, capsys):
    data, task = _user_rdms(n_subjects=4)
    np.savez(tmp_path / "u.npz", rdms=data.get_matrices(), labels=np.array(task.labels),
             participant_id=np.array(["p00", "p01", "p02", "p03"]))
    loaded = inputs.load_data_rdms(str(tmp_path / "u.npz"))
    assert list(loaded.rdm_descriptors["participant_id"]) == ["p00", "p01", "p02", "p03"]
    assert list(loaded.pattern_descriptors["item"]) == list(task.labels)


# --------------------------------------------------------------------------- guards and late failures
def test_compare_bures_writes_tables_and_the_figure(tmp_path, capsys):
    data, _ = _user_rdms(n_subjects=4, seed=1)
    path = _save(data, tmp_path / "b.hdf5")
    out = tmp_path / "o"
    assert main(["compare", str(path), "--task", "semantic", "--widths", "1,wide", "--method", "bures",
                 "--n-draws", "8", "--out-dir", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["b_hdf5_compare_widths.csv", "b_hdf5_compare_widths.json",
                                                     "b_hdf5_compare_widths.png", "b_hdf5_compare_widths_pairwise.csv"]
    err = _error(capsys, main(["compare", str(path), "--task", "semantic", "--method", "pearson",
                               "--out-dir", str(tmp_path / "o2")]))
    assert "`--method`" in err and "'corr'" in err


@pytest.mark.parametrize("args, match", [
    (["compare", "92images:similarity_judgements", "--widths", "1-3000"], "more than the 64"),
    (["compare", "92images:similarity_judgements", "--widths", "1,500"], "n_in + n_out"),
    (["fit", "92images:hIT", "--seed", str(2**70)], "`--seed` must be <="),
    (["trajectory", "semantic", "--seed", "99999999999999999999999"], "`--seed` must be <="),
    (["trajectory", "semantic", "--times=-1,2"], "`--times` must be non-negative"),
])
def test_guards_refuse_before_work(tmp_path, capsys, args, match):
    start = time.perf_counter()
    err = _error(capsys, main(args + ["--out-dir", str(tmp_path / "o")]))
    assert match in err
    assert time.perf_counter() - start < 20
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_trajectory_time_zero_and_unicode_labels_round_trip(tmp_path):
    from rsatoolbox.rdm import load_rdm

    (tmp_path / "u.csv").write_text("item,f1,f2\nBär,1,0\nÖl,0,1\nçà,1,1\n", encoding="utf-8")
    assert main(["trajectory", str(tmp_path / "u.csv"), "--times", "0", "--init", "aligned",
                 "--out-dir", str(tmp_path)]) == 0
    back = load_rdm(str(tmp_path / "u_rdms.hdf5"))
    assert [str(x) for x in back.pattern_descriptors["item"]] == ["Bär", "Öl", "çà"]
    assert np.asarray(back.rdm_descriptors["time"]).tolist() == [0.0]


# --------------------------------------------------------------------------- all or none
def test_demo_is_all_or_none(tmp_path, capsys, monkeypatch):
    sem = importlib.import_module("rsa_lineardyn.demos.semantic_development")

    def late_failure(*args, **kwargs):
        raise RuntimeError("late failure")

    monkeypatch.setattr(sem, "run", late_failure)
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--lr", "0.02", "--out-dir", str(out)]) == 1
    assert "late failure" in capsys.readouterr().err
    assert list(out.iterdir()) == []  # no figure1.png, no staging folder


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
def test_sigterm_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "o"
    script = (
        "import sys, time\n"
        "import rsa_lineardyn.cli.app as cli, rsa_lineardyn.cli.commands as commands\n"
        "def slow(traj, rdms, out=None, **k):\n"
        "    open(out, 'wb').write(b'partial')\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(120)\n"
        "commands._plot_trajectory = slow\n"
        f"sys.exit(cli.main(['trajectory', 'semantic', '--n-times', '3', '--out-dir', {str(out)!r}]))\n"
    )
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "writing"
        assert any(p.name.endswith(".tmp.png") for p in out.iterdir())  # the run is half-way through its outputs
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)  # reads the pipes while waiting: a full pipe cannot stall the child
        code = proc.returncode
    finally:
        proc.kill()
    assert code == 128 + signal.SIGTERM, err
    assert "terminated" in err
    assert list(out.iterdir()) == []


# --------------------------------------------------------------------------- defaults
def test_cli_defaults_are_the_python_signatures():
    for (command, dest), (module, func, param) in options.API_DEFAULTS.items():
        obj = getattr(importlib.import_module(f"rsa_lineardyn.{module}"), func)
        assert options.api_default(command, dest) == inspect.signature(obj).parameters[param].default, (command, dest)
    parser = options.build_parser()
    traj = parser.parse_args(["trajectory", "semantic"])
    sig = inspect.signature(rl.LinearNetworkModel).parameters
    assert (traj.init, traj.scale, traj.seed) == (sig["init"].default, sig["scale"].default, sig["seed"].default)
    fit = parser.parse_args(["fit", "x.npy"])
    fsig = inspect.signature(rl.fit_rdms).parameters
    assert fit.widths is None and fsig["n_hidden"].default is None
    assert (fit.n_boot, fit.seed) == (fsig["n_boot"].default, fsig["random_state"].default)
    comp = parser.parse_args(["compare", "x.npy"])
    csig = inspect.signature(rl.compare_widths).parameters
    assert comp.widths == ",".join(map(str, csig["widths"].default)) and comp.n_boot == csig["n_boot"].default
    assert comp.seed == csig["random_state"].default
    readme = (REPO / "README.md").read_text()
    assert "default 1,2,3" not in readme and "default 1,wide" not in readme and "`--n-boot`" in readme


# --------------------------------------------------------------------------- datasets
@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    root = tmp_path / "data"
    shutil.copytree(rl.data_dir(), root)
    monkeypatch.setenv(rl.data.bundled.DATA_ENV_VAR, str(root))
    return root


def test_built_in_checksums_match_the_files_and_the_manifest():
    root = REPO / "datasets"
    lines = {ln.split()[1]: ln.split()[0] for ln in (root / "SHA256SUMS").read_text().splitlines() if ln.strip()}
    assert set(lines) == set(rl.data.bundled.EXPECTED_FILES)
    for rel, (digest, size) in rl.data.bundled.EXPECTED_FILES.items():
        data = (root / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest == lines[rel] and len(data) == size


def test_tampered_file_with_rehashed_manifest_is_detected(data_copy):
    rel = "rumelhart_todd_semantic_8items/item_by_attribute.csv"
    path = data_copy / rel
    path.write_text(path.read_text().replace("Pine,1,1,0", "Pine,1,0,1", 1))
    manifest = data_copy / "SHA256SUMS"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.write_text("\n".join(f"{digest}  {rel}" if ln.endswith(rel) else ln
                                  for ln in manifest.read_text().splitlines()) + "\n")
    with pytest.raises(rl.DatasetError, match="disagrees with the checksums built into rsa_lineardyn"):
        rl.load_semantic_task()
    shutil.copy(REPO / "datasets" / "SHA256SUMS", manifest)  # the manifest restored: the file itself fails
    with pytest.raises(rl.DatasetError, match="failed its checksum"):
        rl.load_semantic_task()


def test_manifest_paths_are_confined(data_copy, tmp_path):
    manifest = data_copy / "SHA256SUMS"
    good = manifest.read_text()
    for bad in ("../../etc/passwd", "/etc/passwd"):
        manifest.write_text(good + f"{'0' * 64}  {bad}\n")
        with pytest.raises(rl.DatasetError, match="not a plain relative path inside the data folder"):
            rl.verify_datasets()
    manifest.write_text(good)
    rel = "rumelhart_todd_semantic_8items/sem_link.txt"
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    (data_copy / rel).symlink_to(outside)
    with pytest.raises(rl.DatasetError, match="points outside the data folder"):
        rl.data.bundled._confined(data_copy, rel, "Data file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_dataset_fifo_is_refused_not_opened(data_copy):
    rel = "rumelhart_todd_semantic_8items/item_by_attribute.csv"
    (data_copy / rel).unlink()
    os.mkfifo(data_copy / rel)
    with pytest.raises(rl.DatasetError, match="FIFO"):
        rl.load_semantic_task()


def test_defaults_without_readable_source(monkeypatch, tmp_path):
    """A bytecode-only or unreadable install: the CLI's defaults come from the imported signatures, the same values."""
    from rsa_lineardyn.cli import options

    want = {k: options.api_default(*k) for k in options.API_DEFAULTS}
    monkeypatch.setattr(options, "_PACKAGE_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(options, "_SIGNATURES", {})
    got = {k: options.api_default(*k) for k in options.API_DEFAULTS}
    assert got == want


def test_parser_is_built_from_the_option_table():
    """One source: every option that mirrors a Python parameter is spelled like it too, and the parser has exactly
    the table's options (nothing added beside it)."""
    parser = options.build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for command in options.COMMANDS:
        flags = {f for a in subparsers[command.name]._actions for f in a.option_strings}
        for opt in command.options:
            if opt.flags[0].startswith("-"):
                assert set(opt.flags) <= flags, (command.name, opt.flags)
            if opt.api is not None:
                assert "--" + opt.api[2].replace("_", "-") in opt.flags, (command.name, opt.flags, opt.api)
        table = {f for o in command.options for f in o.flags if f.startswith("-")}
        assert flags - table == {"-h", "--help", "--out-dir", "--force", "--verbose", "--quiet"}, command.name
    # the Python spelling works and means the same as the short one
    a = parser.parse_args(["fit", "x.npy", "--random-state", "7", "--n-hidden", "1,2"])
    b = parser.parse_args(["fit", "x.npy", "--seed", "7", "--widths", "1,2"])
    assert (a.seed, a.widths) == (b.seed, b.widths) == (7, "1,2")
