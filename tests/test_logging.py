"""Notices reach logs through the standard ``logging`` module; progress bars stay out of non-terminal logs.

Issue 12: notices (e.g. the whitening notice) were printed only when stderr was a terminal, so they
never reached a log file, and rsatoolbox's tqdm bars flooded non-terminal logs.
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rsa_lineardyn as rl

REPO = Path(__file__).resolve().parents[1]
PREFIX = "[rsa-lineardyn] "


def _run_cli(*args):
    """The CLI in a subprocess with stdout and stderr piped (not a terminal)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "rsa_lineardyn.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture
def skewed_task(tmp_path):
    """A task file whose inputs are not white (the CLI whitens them and says so)."""
    X = np.diag([3.0, 1.0, 0.5, 2.0])
    Y = np.array([[2.0, 2, 0, 0], [0, 0, 2, 2], [1.5, -1.5, 0, 0]])
    path = tmp_path / "skewed.npz"
    np.savez(path, X=X, Y=Y, labels=np.array(["a", "b", "c", "d"]))
    return path


def test_package_logger_has_only_a_null_handler():
    assert rl.logger is logging.getLogger("rsa_lineardyn")
    assert any(isinstance(h, logging.NullHandler) for h in rl.logger.handlers)
    assert not any(type(h) is logging.StreamHandler for h in rl.logger.handlers)


def test_notices_reach_a_piped_stderr(skewed_task, tmp_path):
    res = _run_cli("trajectory", str(skewed_task), "--n-times", "5", "--out-dir", str(tmp_path / "a"))
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    assert lines and all(line.startswith(PREFIX) for line in lines), res.stderr
    assert any("task inputs were not white" in line for line in lines)
    assert any(line.startswith(f"{PREFIX}done in") for line in lines)
    assert "\r" not in res.stderr  # no progress bar on a pipe
    assert "wrote" in res.stdout  # results stay on stdout

    both = _run_cli("--quiet", "trajectory", str(skewed_task), "--verbose", "--out-dir", str(tmp_path / "d"))
    assert both.returncode == 2 and "exclude each other" in both.stderr


def test_quiet_silences_the_notices(skewed_task, tmp_path, capsys):
    from rsa_lineardyn.cli.app import main

    assert main(["trajectory", str(skewed_task), "--n-times", "5", "--out-dir", str(tmp_path / "b"), "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and "wrote" in out.out
    assert (tmp_path / "b" / "skewed_rdms.hdf5").is_file()
    assert main(["trajectory", str(skewed_task), "--n-times", "5", "--out-dir", str(tmp_path / "c")]) == 0
    assert "task inputs were not white" in capsys.readouterr().err  # same run without --quiet: the notice


def test_fit_off_a_terminal_draws_no_progress_bar(tmp_path, capsys):
    """stderr captured (not a terminal): the CLI asks fit_rdms for no bars; the notices still arrive."""
    from rsa_lineardyn.cli.app import main

    task = rl.load_semantic_task()
    W1, W2 = rl.task_aligned_init(task, 2, scale=0.1)
    D = rl.trajectory_rdms(rl.exact_dynamics(task, W1, W2, [2.0]))[0]
    np.save(tmp_path / "d.npy", D)
    assert main(["fit", str(tmp_path / "d.npy"), "--task", "semantic", "--widths", "1,2", "--n-boot", "0",
                 "--no-start-check", "--labels", ",".join(task.labels), "--out-dir", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "it/s" not in err
    assert any(line.startswith(f"{PREFIX}fitting n_hidden in [1, 2]") for line in err.splitlines())


def test_cli_logging_is_undone_after_main(tmp_path, capsys):
    """``main`` attaches its stderr handler for the run only (a program calling it keeps its own logging)."""
    from rsa_lineardyn.cli.app import main

    before = list(rl.logger.handlers), rl.logger.level, rl.logger.propagate
    assert main(["trajectory", "semantic", "--times", "1,inf", "--out-dir", str(tmp_path), "--verbose"]) == 0
    assert (list(rl.logger.handlers), rl.logger.level, rl.logger.propagate) == before
    err = capsys.readouterr().err
    assert f"{PREFIX}exact dynamics of" in err
    assert f"{PREFIX}debug (rsa_lineardyn.cli): arguments:" in err  # --verbose adds the debug records


def _bootstrap(rdms, models):
    from rsatoolbox.inference import eval_bootstrap_rdm

    return eval_bootstrap_rdm(models, rdms, method="corr", N=5)


def test_progress_bars_switch_silences_rsatoolbox(capsys):
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs

    rng = np.random.default_rng(0)
    rdms = RDMs(rng.random((6, 10)))
    models = [ModelFixed("m", rng.random(10))]
    _bootstrap(rdms, models)
    assert "5/5" in capsys.readouterr().err  # rsatoolbox draws its bar unconditionally
    with rl.progress_bars(False):
        res = _bootstrap(rdms, models)
    assert capsys.readouterr().err == ""
    assert res.evaluations.shape[0] == 5  # the bootstrap itself ran
    import rsatoolbox.inference.evaluate as ev
    import tqdm

    assert ev.tqdm is tqdm  # restored on exit
    with rl.progress_bars(True):
        _bootstrap(rdms, models)
    assert "5/5" in capsys.readouterr().err


def test_cli_turns_python_warnings_into_one_line_records(capsys):
    import warnings

    from rsa_lineardyn.cli.app import _configure_logging

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        undo = _configure_logging("quiet")  # warnings still shown with --quiet
        try:
            warnings.warn("scores may be slow\nsecond line", UserWarning)
        finally:
            undo()
        err = capsys.readouterr().err
        assert err == f"{PREFIX}warning: UserWarning: scores may be slow second line\n"
        assert not logging.getLogger("py.warnings").handlers  # undone
