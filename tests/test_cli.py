"""Command line: every subcommand on small inputs, outputs readable, error paths one line + non-zero exit."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rsa_lineardyn as rl
import rsa_lineardyn.inference.fitting  # noqa: F401  (rl.inference.fitting below)
from rsa_lineardyn.cli.app import main

ENTRY_POINT = Path(sys.executable).with_name("rsa-lineardyn")


def _small_task_npz(path):
    X = np.eye(4) * 2.0
    Y = np.array([[2.0, 2, 0, 0], [0, 0, 2, 2], [1.5, -1.5, 0, 0]])
    np.savez(path, X=X, Y=Y, labels=np.array(["a", "b", "c", "d"]))
    return path


def _items_csv(path):
    path.write_text("item,grow,fly,swim,bark\ncanary,1,1,0,0\nsalmon,1,0,1,0\noak,1,0,0,1\nrobin,1,1,0,0.5\n")
    return path


def _data_rdm(task, n_hidden=2, t=1.5, noise=0.01, seed=0):
    W1, W2 = rl.task_aligned_init(task, n_hidden, scale=0.1)
    D = rl.trajectory_rdms(rl.exact_dynamics(task, W1, W2, [t]))[0]
    D = D + noise * np.abs(np.random.default_rng(seed).standard_normal(D.shape)) * D.max()
    D = (D + D.T) / 2
    np.fill_diagonal(D, 0.0)
    return D


def _random_start_rdm(task, n_hidden, t=1.5, noise=0.01, seed=0):
    """Like :func:`_data_rdm`, from the expected geometry over random starts (``init="random"``, lam = 0)."""
    D = rl.LinearNetworkModel(task, n_hidden=n_hidden, lam=0.0).predict_rdm([np.log10(t)]).get_matrices()[0]
    D = D + noise * np.abs(np.random.default_rng(seed).standard_normal(D.shape)) * D.max()
    D = (D + D.T) / 2
    np.fill_diagonal(D, 0.0)
    return D


def _w(path, data):
    """Write bytes or text to ``path`` and return the path."""
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


LOG_PREFIX = "[rsa-lineardyn] "


def _not_log(text):
    """The lines of stderr that are not log records of the CLI (notices start with LOG_PREFIX)."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith(LOG_PREFIX)]


def _one_line_error(capsys, code):
    err = capsys.readouterr().err
    assert code != 0
    lines = _not_log(err)
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- trajectory
def test_trajectory_bundled_writes_readable_hdf5_and_png(tmp_path, capsys):
    from rsatoolbox.rdm import load_rdm

    code = main(["trajectory", "semantic", "--n-hidden", "3", "--times", "0,0.5,2,inf", "--out-dir", str(tmp_path)])
    assert code == 0
    rdms = load_rdm(str(tmp_path / "semantic_8items_rdms.hdf5"))
    assert rdms.n_rdm == 4 and rdms.n_cond == 8
    np.testing.assert_array_equal(rdms.rdm_descriptors["time"], [0, 0.5, 2, np.inf])
    assert list(rdms.pattern_descriptors["item"][:2]) == ["Pine", "Oak"]
    assert (tmp_path / "semantic_8items_rdms.png").stat().st_size > 1000
    assert "wrote" in capsys.readouterr().out


def test_trajectory_user_csv_and_npz(tmp_path):
    from rsatoolbox.rdm import load_rdm

    csv = _items_csv(tmp_path / "items.csv")
    assert main(["trajectory", str(csv), "--n-hidden", "2", "--n-times", "6", "--out-dir", str(tmp_path)]) == 0
    rdms = load_rdm(str(tmp_path / "items_rdms.hdf5"))
    assert rdms.n_rdm == 6 and list(rdms.pattern_descriptors["item"]) == ["canary", "salmon", "oak", "robin"]
    npz = _small_task_npz(tmp_path / "tiny.npz")
    assert main(["trajectory", str(npz), "--init", "random", "--seed", "1", "--lam", "0.5", "--n-hidden", "2",
                 "--measure", "cosine", "--n-times", "5", "--out-dir", str(tmp_path)]) == 0
    rdms = load_rdm(str(tmp_path / "tiny_rdms.hdf5"))
    assert rdms.dissimilarity_measure == "cosine" and rdms.n_cond == 4


def test_trajectory_refuses_to_overwrite_without_force(tmp_path, capsys):
    args = ["trajectory", "semantic", "--times", "1,inf", "--out-dir", str(tmp_path)]
    assert main(args) == 0
    capsys.readouterr()
    before = (tmp_path / "semantic_8items_rdms.hdf5").stat().st_mtime_ns
    err = _one_line_error(capsys, main(args))
    assert "already exists" in err and "--force" in err
    assert (tmp_path / "semantic_8items_rdms.hdf5").stat().st_mtime_ns == before
    assert main(args + ["--force"]) == 0


@pytest.mark.parametrize("make, match", [
    (lambda p: p / "missing.csv", "does not exist"),
    (lambda p: _w(p / "bad.npz", b"PK\x03\x04garbage"), "not a valid .npz"),
    (lambda p: _w(p / "bad.csv", "item,a\nx,1\ny,\"unterminated\n"), "could not read task file"),
    (lambda p: np.savez(p / "noy.npz", X=np.eye(3)) or p / "noy.npz", "'Y'"),
    (lambda p: np.savez(p / "shape.npz", X=np.eye(3), Y=np.ones((2, 4))) or p / "shape.npz", "same number of columns"),
    (lambda p: "not_a_task", "neither a bundled task"),
])
def test_trajectory_error_paths(tmp_path, capsys, make, match):
    task = make(tmp_path)
    err = _one_line_error(capsys, main(["trajectory", str(task), "--out-dir", str(tmp_path / "o")]))
    assert match in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_infeasible_lambda_is_one_line(tmp_path, capsys):
    err = _one_line_error(capsys, main(["trajectory", "semantic", "--lam", "-1", "--n-hidden", "16",
                                        "--out-dir", str(tmp_path)]))
    assert "n_hidden" in err


def test_verbose_shows_the_exception(tmp_path):
    with pytest.raises(rl.RSALinearDynError):
        main(["--verbose", "trajectory", str(tmp_path / "missing.csv")])


def test_usage_error_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["trajectory"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "required" in err


def test_help_has_examples_for_every_subcommand(capsys):
    for cmd in ([], ["figure1"], ["trajectory"], ["fit"], ["compare"], ["demo"]):
        with pytest.raises(SystemExit) as exc:
            main(cmd + ["--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "example" in out and "rsa-lineardyn" in out
        assert "--quiet" in out and "--verbose" in out


HEAVY = ("rsatoolbox", "matplotlib", "pandas", "scipy", "sklearn", "seaborn")


def test_help_imports_no_heavy_module():
    """``--help`` (top level and every subcommand) loads none of the slow dependencies (issue 12: it took 3 s)."""
    script = (
        "import sys\n"
        "from rsa_lineardyn.cli.app import main\n"
        "for cmd in ([], ['figure1'], ['trajectory'], ['fit'], ['compare'], ['demo']):\n"
        "    try:\n"
        "        main(cmd + ['--help'])\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
        "heavy = %r\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n" % (HEAVY,)
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"
    # and the lazy package still hands out every public name, importing its module on first use
    res = subprocess.run([sys.executable, "-c", "import sys, rsa_lineardyn as rl; a = 'rsatoolbox' in sys.modules; "
                          "rl.LinearNetworkModel; print(a, 'rsatoolbox' in sys.modules, callable(rl.simulate), "
                          "all(hasattr(rl, n) for n in rl.__all__))"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "True", "True", "True"]


# --------------------------------------------------------------------------- fit
def _write_rdm_files(tmp_path, task, D):
    """The RDM ``D`` in every input format the CLI reads (npy, csv, hdf5 with two RDMs, pkl, npz)."""
    np.save(tmp_path / "sem.npy", D)
    pd.DataFrame(D, index=task.labels, columns=task.labels).to_csv(tmp_path / "sem.csv")
    rl.rdms_from_matrices(np.stack([D, D * 1.1]), labels=task.labels).save(str(tmp_path / "sem.hdf5"))
    rl.rdms_from_matrices(D, labels=task.labels).save(str(tmp_path / "sem.pkl"), file_type="pkl")
    np.savez(tmp_path / "sem.npz", rdms=D, labels=np.array(task.labels))
    return tmp_path, task


@pytest.fixture
def semantic_data(tmp_path):
    task = rl.load_semantic_task()
    return _write_rdm_files(tmp_path, task, _data_rdm(task, n_hidden=3))


@pytest.fixture
def semantic_random_data(tmp_path):
    """``semantic_data`` with the truth in the fitted class: the expected geometry over random starts (the CLI's
    default init) of a width-3 network.  Data from an aligned width-3 start are fitted better by the random-start
    width 1 (cosine 0.990 vs 0.985 at 128 draws, either estimator); the 16-draw plain mean used before hid that."""
    task = rl.load_semantic_task()
    return _write_rdm_files(tmp_path, task, _random_start_rdm(task, n_hidden=3))


@pytest.mark.parametrize("name", ["sem.npy", "sem.csv", "sem.hdf5", "sem.pkl", "sem.npz"])
def test_fit_reads_every_format_and_writes_csv_json_png(semantic_random_data, name, capsys):
    tmp_path, task = semantic_random_data
    out = tmp_path / f"out_{name.replace('.', '_')}"
    trust = ["--trust-pickle"] if name.endswith(".pkl") else []  # issue 20: a pickle is read only when trusted
    labels = ["--labels", ",".join(task.labels)] if name.endswith(".npy") else []  # a .npy carries no labels
    code = main(["fit", str(tmp_path / name), "--task", "semantic", "--widths", "1,3", "--out-dir", str(out)]
                + trust + labels)
    assert code == 0, capsys.readouterr().err
    stem = name.replace(".", "_")  # the whole input name: sem.npy and sem.csv never share outputs
    table = pd.read_csv(out / f"{stem}_fit.csv")
    assert list(table.n_hidden) == [1, 3] and np.all(np.isfinite(table.score))
    best = json.loads((out / f"{stem}_best.json").read_text())
    assert best["best"]["n_hidden"] == 3 and best["best"]["score"] > 0.95
    assert (out / f"{stem}_fit.png").stat().st_size > 1000
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{stem}_fit.csv", f"{stem}_best.json", f"{stem}_fit.png"])


def test_fit_bundled_data_default_task(tmp_path):
    assert main(["fit", "92images:hIT", "--widths", "3", "--lam", "0", "--out-dir", str(tmp_path)]) == 0
    table = pd.read_csv(tmp_path / "92images_hIT_fit.csv")
    assert table.lam.iloc[0] == 0 and 0 < table.score.iloc[0] < 1


def test_fit_unlabelled_matrix_needs_labels(tmp_path, capsys):
    """A matrix without labels is refused (never matched by position), whatever its size; --labels fits it."""
    task = rl.load_semantic_task()
    D = _data_rdm(task)
    np.save(tmp_path / "five.npy", D[:5, :5])
    np.save(tmp_path / "eight.npy", D)
    for name, n in (("five.npy", 5), ("eight.npy", 8)):
        err = _one_line_error(capsys, main(["fit", str(tmp_path / name), "--task", "semantic",
                                            "--out-dir", str(tmp_path / "o")]))
        assert "carries no condition labels" in err and "never by position" in err
        assert f"Pass --labels with the task item of every row, in the file's order ({n} labels" in err
    assert not (tmp_path / "o").exists()
    assert main(["fit", str(tmp_path / "five.npy"), "--task", "semantic", "--labels", ",".join(task.labels[:5]),
                 "--widths", "1", "--n-boot", "0", "--no-start-check", "--out-dir", str(tmp_path / "o")]) == 0


@pytest.mark.parametrize("make, match", [
    (lambda p: p / "missing.npy", "does not exist"),
    (lambda p: _w(p / "bad.npy", b"\x93NUMPYgarbage"), "could not read"),
    (lambda p: _w(p / "bad2.npy", "hello"), "not a valid .npy"),
    (lambda p: _w(p / "bad.hdf5", "hello"), "could not read"),
    (lambda p: _w(p / "bad.pkl", b"\x80\x04garbage"), "is a pickle"),  # issue 20: refused, not unpickled
    (lambda p: np.save(p / "rect.npy", np.zeros((3, 4))) or p / "rect.npy", "shape (3, 4)"),
    (lambda p: np.save(p / "asym.npy", np.array([[0, 1, 2], [2, 0, 1], [1, 1, 0.0]])) or p / "asym.npy", "symmetric"),
    (lambda p: _w(p / "text.csv", "a,b\nx,y\n"), "is not a number"),
    (lambda p: _w(p / "data.txt", "1"), "must be .npy"),
])
def test_fit_error_paths(tmp_path, capsys, make, match):
    path = make(tmp_path)
    err = _one_line_error(capsys, main(["fit", str(path), "--task", "semantic", "--out-dir", str(tmp_path / "o")]))
    assert match in err
    assert not (tmp_path / "o").exists()


def test_fit_refuses_to_overwrite(semantic_data, capsys):
    tmp_path, _ = semantic_data
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "sem_npy_best.json").write_text("{}")
    err = _one_line_error(capsys, main(["fit", str(tmp_path / "sem.npy"), "--task", "semantic", "--widths", "3",
                                        "--labels", ",".join(_.labels), "--out-dir", str(tmp_path / "o")]))
    assert "already exists" in err
    assert (tmp_path / "o" / "sem_npy_best.json").read_text() == "{}"


# --------------------------------------------------------------------------- figure1, demo, entry point
def test_figure1_and_demo(tmp_path, capsys):
    assert main(["figure1", "--out-dir", str(tmp_path / "f"), "--lr", "0.02"]) == 0
    assert (tmp_path / "f" / "figure1.png").exists()
    capsys.readouterr()
    assert main(["demo", "--out-dir", str(tmp_path / "d"), "--lr", "0.02", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "largest simulation-vs-theory deviation" in out
    assert ".staging" not in out and f"Figure 1 written to {tmp_path / 'd' / 'figure1.png'}" in out  # final paths
    assert f"wrote {tmp_path / 'd' / 'semantic_modes.png'}" in out
    assert {"figure1.png", "semantic_modes.png", "semantic_rdms_rich.png"} <= {p.name for p in (tmp_path / "d").iterdir()}
    err = _one_line_error(capsys, main(["demo", "--out-dir", str(tmp_path / "d")]))
    assert "already exists" in err


@pytest.mark.skipif(not ENTRY_POINT.exists(), reason="rsa-lineardyn entry point not installed")
def test_installed_entry_point(tmp_path):
    npz = _small_task_npz(tmp_path / "tiny.npz")
    env = dict(os.environ, MPLBACKEND="Agg")
    ok = subprocess.run([str(ENTRY_POINT), "trajectory", str(npz), "--n-times", "5", "--out-dir", str(tmp_path)],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    # stderr is a pipe: the notices arrive as log lines, no progress bar (no carriage returns)
    assert _not_log(ok.stderr) == [] and "\r" not in ok.stderr
    assert f"{LOG_PREFIX}exact dynamics of" in ok.stderr
    assert (tmp_path / "tiny_rdms.hdf5").exists()
    bad = subprocess.run([str(ENTRY_POINT), "fit", str(tmp_path / "nope.npy"), "--task", "semantic"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1
    assert len(_not_log(bad.stderr)) == 1 and "does not exist" in bad.stderr


def test_fit_uses_fit_rdms_and_matches_model_params(semantic_data):
    tmp_path, task = semantic_data
    out = tmp_path / "o_fr"
    labels = ["--labels", ",".join(task.labels)]
    assert main(["fit", str(tmp_path / "sem.npy"), "--task", "semantic", "--widths", "2,3", "--out-dir", str(out)]
                + labels) == 0
    info = json.loads((out / "sem_npy_best.json").read_text())
    assert info["fitter"] == "rsa_lineardyn.fit_rdms"
    assert info["condition_labels_from"] == "--labels"
    assert info["init"] == "random"  # the default start
    data = rl.rdms_from_matrices(np.load(tmp_path / "sem.npy"), labels=task.labels)
    scores = {}
    for init in ("random", "aligned"):
        if init == "aligned":  # the data come from an aligned start: --init aligned fits them with that model
            out = tmp_path / "o_fr_aligned"
            assert main(["fit", str(tmp_path / "sem.npy"), "--task", "semantic", "--widths", "2,3", "--init",
                         "aligned", "--out-dir", str(out)] + labels) == 0
            info = json.loads((out / "sem_npy_best.json").read_text())
            assert info["init"] == "aligned"
        b = info["best"]
        model = rl.LinearNetworkModel(task, n_hidden=b["n_hidden"], lam=None, init=init,
                                      n_draws=info["settings"]["n_draws"], seed=info["settings"]["draw_seed"])
        theta = [b["lam"], b["log10_time"]]
        assert model.params(theta) == pytest.approx({"lam": b["lam"], "time": b["time"], "scale": b["scale"]})
        assert rl.compare_model(model, data, theta, method="corr") == pytest.approx(b["score"], abs=1e-9)
        scores[init] = b["score"]
    assert scores["aligned"] > 0.999 and scores["aligned"] > scores["random"]


def test_fit_prints_each_verdict_and_writes_intervals(tmp_path, capsys):
    """Finding 8: the verdicts were in the JSON only; now every number is printed with its interval and verdict."""
    # default start (random) with the default start check: the time is not determined (it depends on the start)
    code = main(["fit", "92images:hIT", "--widths", "1", "--n-boot", "5", "--out-dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "start: init = 'random'" in out and "refit under init = 'aligned'" in out
    time_line = next(ln for ln in out.splitlines() if ln.strip().startswith("time = "))
    # under the aligned start N_h = 1 predicts one geometry at every lam and t, so where its refit lands in time is
    # arbitrary; the time is not determined either way (the start, or the interval reaching the top of the range)
    assert "[" in time_line and "(not determined: " in time_line
    assert "depends on the assumed start" in time_line or "upper edge of the searched range" in time_line
    assert "best: n_hidden" not in out
    info = json.loads((tmp_path / "92images_hIT_best.json").read_text())
    rows = {r["parameter"]: r for r in info["intervals"]}
    assert set(rows) == {"n_hidden", "lam", "time"}
    assert rows["time"]["determined"] is False
    assert any("depends on the assumed start" in rows[p]["reason"] for p in ("lam", "time"))
    assert rows["time"]["low"] <= rows["time"]["estimate"] <= rows["time"]["high"]
    assert info["flat_tol"] == rl.inference.fitting.FLAT_TOL
    # the aligned start: the N_h = 1 corr score does not depend on time at all, and the line says so
    code = main(["fit", "92images:hIT", "--widths", "1", "--n-boot", "5", "--no-start-check", "--init", "aligned",
                 "--out-dir", str(tmp_path / "aligned")])
    assert code == 0
    out = capsys.readouterr().out
    assert "start: init = 'aligned'" in out
    time_line = next(ln for ln in out.splitlines() if ln.strip().startswith("time = "))
    assert "[" in time_line and "(not determined: flat profile" in time_line


# --------------------------------------------------------------------------- compare
def _subject_rdms(tmp_path, n_subjects=5, seed=0):
    """Noisy RDMs of 5 subjects on the small semantic task (8 items), saved as rsatoolbox hdf5 with labels."""
    from rsatoolbox.rdm import RDMs

    task = rl.load_semantic_task()
    v = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_times([3.0], [0.0])[0]
    rng = np.random.default_rng(seed)
    data = RDMs(np.abs(v + 0.2 * v.std() * rng.standard_normal((n_subjects, v.size))),
                dissimilarity_measure="squared euclidean",
                rdm_descriptors={"subject": np.array([f"s{i}" for i in range(n_subjects)])},
                pattern_descriptors={"item": np.array(task.labels)})
    path = tmp_path / "subj.hdf5"
    data.save(str(path), file_type="hdf5")
    return path, task


def test_parse_widths():
    from rsa_lineardyn.cli.common import CLIError
    from rsa_lineardyn.cli.inputs import _parse_widths

    assert _parse_widths("1,4,wide") == [1, 4, "wide"]
    assert _parse_widths("1-3, wide") == [[1, 2, 3], "wide"]
    for bad in ("0,2", "3-1", "x", "1-", ""):
        with pytest.raises(CLIError, match="widths"):
            _parse_widths(bad)


def test_compare_widths_writes_tables_json_png_and_matches_library(tmp_path, capsys):
    path, task = _subject_rdms(tmp_path)
    out = tmp_path / "o"
    assert main(["compare", str(path), "--task", "semantic", "--widths", "1,2,wide,1-3", "--n-draws", "8",
                 "--out-dir", str(out)]) == 0  # 8 draws: the plumbing, not the Monte-Carlo error, is tested
    printed = capsys.readouterr().out
    assert "start: init = 'random'" in printed and "pairwise" in printed and "variance_method" in printed
    table = pd.read_csv(out / "subj_hdf5_compare_widths.csv")
    assert list(table.model[:4]) == ["N_h=1", "N_h=2", "N_h=wide (36)", "N_h in {1, 2, 3}"]
    assert table.model[4].startswith("feature model")  # the baseline is always there
    assert (table.n_units == 5).all() and (table.dof == 4).all()
    pw = pd.read_csv(out / "subj_hdf5_compare_widths_pairwise.csv")
    assert {"model_a", "model_b", "mean_diff", "p", "variance_method"} <= set(pw.columns)
    assert ((pw.p > 0) & (pw.p <= 1)).all()
    info = json.loads((out / "subj_hdf5_compare_widths.json").read_text())
    assert info["kind"] == "widths" and info["init"] == "random" and len(info["table"]) == 5
    assert (out / "subj_hdf5_compare_widths.png").stat().st_size > 1000
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left behind
    # the CLI reports what the library computes
    from rsa_lineardyn.cli.inputs import load_data_rdms

    lib = rl.compare_widths(load_data_rdms(str(path)), task, widths=[1, 2, "wide", [1, 2, 3]], n_draws=8,
                            progress=False)
    np.testing.assert_allclose(table["mean"], lib.table["mean"], rtol=1e-12)


def test_compare_regimes_and_refuses_to_overwrite(tmp_path, capsys):
    path, task = _subject_rdms(tmp_path)
    out = tmp_path / "o"
    args = ["compare", str(path), "--task", "semantic", "--regimes", "--n-hidden", "2", "--out-dir", str(out)]
    assert main(args) == 0
    table = pd.read_csv(out / "subj_hdf5_compare_regimes.csv")
    assert {"rich", "lazy (large lam)", "lazy (large init)"} <= set(table.model)
    capsys.readouterr()
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    err = _one_line_error(capsys, main(args))
    assert "already exists" in err and "--force" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert main(args + ["--force"]) == 0


def test_compare_error_paths(tmp_path, capsys):
    path, _ = _subject_rdms(tmp_path)
    err = _one_line_error(capsys, main(["compare", str(path), "--task", "semantic", "--widths", "1,two",
                                        "--out-dir", str(tmp_path / "o")]))
    assert "--widths" in err
    err = _one_line_error(capsys, main(["compare", str(path), "--task", "semantic", "--prefix", "../x",
                                        "--out-dir", str(tmp_path / "o")]))
    assert "--prefix" in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    from rsa_lineardyn.cli.common import _atomic_write

    def boom(p):
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        _atomic_write([(tmp_path / "a.csv", lambda p: p.write_text("x")), (tmp_path / "b.png", boom)], force=False)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_claim_lost_takes_back_this_runs_files(tmp_path):
    """Another run wrote b.png meanwhile: this run fails, leaves no a.csv of its own, and b.png stays theirs."""
    from rsa_lineardyn.cli.common import _atomic_write
    from rsa_lineardyn.data.files import OutputExistsError

    (tmp_path / "b.png").write_text("theirs")
    with pytest.raises(OutputExistsError, match="already exists"):
        _atomic_write([(tmp_path / "a.csv", lambda p: p.write_text("mine")),
                       (tmp_path / "b.png", lambda p: p.write_text("mine"))], force=False)
    assert sorted(q.name for q in tmp_path.iterdir()) == ["b.png"]
    assert (tmp_path / "b.png").read_text() == "theirs"


@pytest.mark.parametrize("prefix", ["../x", "sub/x", "..", "."])
def test_trajectory_prefix_stays_inside_out_dir(tmp_path, capsys, prefix):
    out = tmp_path / "out"
    out.mkdir()
    assert main(["trajectory", "semantic", "--n-times", "3", "--out-dir", str(out), "--prefix", prefix]) == 1
    assert "--prefix" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [out] and list(out.iterdir()) == []


def test_trajectory_force_that_fails_keeps_the_old_pair(tmp_path, capsys, monkeypatch):
    """`trajectory --force` interrupted while drawing left a new hdf5 beside the old PNG; now both stay old."""
    import rsa_lineardyn.cli.commands as commands

    args = ["trajectory", "semantic", "--n-times", "3", "--out-dir", str(tmp_path)]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert len(before) == 2 and {p.suffix for p in tmp_path.iterdir()} == {".hdf5", ".png"}

    def broken_plot(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "_plot_trajectory", broken_plot)
    assert main(args + ["--lam", "0.5", "--n-hidden", "2", "--force"]) == 130
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temporary file left either


def test_interrupt_exits_130_and_writes_nothing(tmp_path, capsys, monkeypatch):
    """Ctrl-C during a run: exit code 130, no output file."""
    import rsa_lineardyn as rl

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rl, "exact_dynamics", interrupted)
    code = main(["trajectory", "semantic", "--n-times", "3", "--out-dir", str(tmp_path)])
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_inputs_with_one_stem_never_share_outputs(semantic_data, capsys):
    """rdm.npy and rdm.csv used to write the same rdm_fit.csv: the default prefix is the whole input name."""
    tmp_path, task = semantic_data
    out = tmp_path / "shared"
    for name in ("sem.npy", "sem.csv"):
        labels = ["--labels", ",".join(task.labels)] if name.endswith(".npy") else []
        assert main(["fit", str(tmp_path / name), "--task", "semantic", "--widths", "3", "--n-boot", "0",
                     "--out-dir", str(out)] + labels) == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"sem_{ext}_{kind}" for ext in ("npy", "csv") for kind in ("fit.csv", "best.json", "fit.png"))


# --------------------------------------------------------------------------- exact lam values (issue 12)
def test_lam_zero_is_exactly_zero_in_descriptors_and_selectable(tmp_path):
    """Weights built with lam = 0 gave lam = -1.73e-18 in descriptors and titles; subset("lam", [0.0]) was empty."""
    from rsatoolbox.rdm import load_rdm

    task = rl.load_semantic_task()
    times = [0.0, 1.0, np.inf]
    for h, init in ((3, "aligned"), (16, "aligned"), (3, "random")):
        W1, W2 = (rl.task_aligned_init(task, h, lam=0.0, scale=0.01) if init == "aligned"
                  else rl.balanced_init(task.n_in, h, task.n_out, lam=0.0, scale=0.1, seed=3))
        for traj in (rl.exact_dynamics(task, W1, W2, times), rl.simulate(task, W1, W2, [0.0, 0.5], lr=0.05)):
            assert traj.lam == 0.0 and repr(traj).endswith("lam=0)")
            rdms = rl.to_rdms(traj)
            assert rdms.subset("lam", [0.0]).n_rdm == rdms.n_rdm
    # through the CLI file: descriptor exact after an hdf5 round trip
    assert main(["trajectory", "semantic", "--n-hidden", "3", "--times", "0,1,inf", "--out-dir", str(tmp_path)]) == 0
    rdms = load_rdm(str(tmp_path / "semantic_8items_rdms.hdf5"))
    assert rdms.subset("lam", [0.0]).n_rdm == 3


@pytest.mark.parametrize("lam", [0.0, 0.5, -0.3, 1.0, 20.0, -20.0, 0.001, 2.5e-4])
@pytest.mark.parametrize("scale", [1e-3, 0.1, 1.0])
def test_balance_of_built_weights_is_the_given_lam(lam, scale):
    task = rl.load_semantic_task()
    h = 3
    W1, W2 = rl.balanced_init(task.n_in, h, task.n_out, lam=lam, scale=scale, seed=1)
    assert rl.measure_balance(W1, W2).lam == lam
    W1, W2 = rl.task_aligned_init(task, h, lam=lam, scale=scale)
    assert rl.measure_balance(W1, W2).lam == lam


def test_balance_snapping_changes_a_value_by_rounding_level_only():
    """A lam with many digits is kept to within the estimate's rounding error (not snapped to a coarse grid)."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        lam = float(rng.uniform(-3, 3))
        scale = float(10 ** rng.uniform(-3, 0.5))
        W1, W2 = rl.balanced_init(5, 2, 4, lam=lam, scale=scale, seed=int(rng.integers(1000)))
        m = (np.trace(W2.T @ W2) + np.trace(W1 @ W1.T)) / 2
        got = rl.measure_balance(W1, W2).lam
        assert abs(got - lam) <= 8 * np.finfo(float).eps * 9 * m * 2
        assert got != 0.0


# --------------------------------------------------------------------------- figures (issue 12)
def _ticks(ax, axis="x"):
    return [t.get_text() for t in (ax.get_xticklabels() if axis == "x" else ax.get_yticklabels())]


def test_trajectory_figure_labels_units_and_exact_lam():
    import matplotlib.pyplot as plt

    from rsa_lineardyn.cli.figures import _plot_trajectory

    task = rl.load_semantic_task()
    W1, W2 = rl.balanced_init(task.n_in, 3, task.n_out, lam=0.0, scale=0.1, seed=2)
    traj = rl.exact_dynamics(task, W1, W2, [0.0, 0.5, 2.0, np.inf])
    fig = _plot_trajectory(traj, rl.to_rdms(traj), None)
    heat = [ax for ax in fig.axes if ax.images]
    assert len(heat) == 4 and all(_ticks(ax) == list(task.labels) for ax in heat)
    assert any("squared Euclidean distance" in ax.get_ylabel() for ax in fig.axes)  # the colour bar says what it shows
    assert "units of $\\tau$" in fig.axes[4].get_xlabel()
    assert "$\\lambda$ = 0;" in fig._suptitle.get_text()  # exact 0, not -1.7e-18
    plt.close(fig)
    # 92 items: too many names, the blocks get their group labels
    task = rl.load_92images_task()
    traj = rl.exact_dynamics(task, *rl.task_aligned_init(task, 2, scale=0.1), [0.0, 1.0])
    fig = _plot_trajectory(traj, rl.to_rdms(traj), None)
    assert _ticks(fig.axes[0])[:2] == ["human_body", "human_face"] and len(_ticks(fig.axes[0])) == 6
    plt.close(fig)


def test_fit_figure_has_labels_colour_bar_labels_and_lam():
    import matplotlib.pyplot as plt

    from rsa_lineardyn.cli.figures import _plot_fit

    task = rl.load_semantic_task()
    data = rl.rdms_from_matrices(_data_rdm(task), labels=task.labels)
    model = rl.LinearNetworkModel(task, n_hidden=2, init="aligned", item_order=data, name="N_h=2")
    model.theta_ = np.array([0.0, 0.3])  # lam, log10 time
    table = pd.DataFrame({"n_hidden": [1, 2], "score": [0.5, 0.8]})
    fig = _plot_fit(data, model, table, None, "corr", undetermined=["lam"])
    heat = [ax for ax in fig.axes if ax.images]
    assert len(heat) == 2
    for ax in heat:
        assert _ticks(ax) == list(task.labels) and _ticks(ax, "y") == list(task.labels)
    bars = [ax.get_ylabel() for ax in fig.axes if not ax.images and ax not in fig.axes[:3]]
    assert len(bars) == 2 and all(bars)  # both colour bars labelled
    assert "$\\lambda$ = 0" in heat[1].get_title() and "not determined: lam" in heat[1].get_title()
    plt.close(fig)


@pytest.mark.parametrize("lr", ["0.2", "10"])
def test_figure1_that_fails_its_check_writes_nothing(tmp_path, capsys, lr):
    """issue 12: `figure1 --lr 10` exited 1 but left a valid-looking figure1.png."""
    err = _one_line_error(capsys, main(["figure1", "--out-dir", str(tmp_path), "--lr", lr]))
    assert "lr" in err
    assert list(tmp_path.iterdir()) == []
