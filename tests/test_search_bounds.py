"""The searched ranges of the hypothesis tests: ``lam_bounds`` and ``time_bounds``, fold fits at an edge named with
the edge and the fix, and the ranges (with the seed and the draws) recorded in every output file."""

import json

import numpy as np
import pytest
from rsatoolbox.rdm import RDMs

import rsa_lineardyn as rl
from rsa_lineardyn.cli import main

GRID = dict(n_lam=4, n_times=9, progress=False)


@pytest.fixture(scope="module")
def tree():
    return rl.hierarchical_task(depth=3, include_root=False)  # 8 items, n_in 8, n_out 14


def _data(task, time=2.5, n_subjects=6, seed=0):
    """Noisy RDMs of a rich (lam = 0) network with 2 hidden units at ``time``, one per subject."""
    v = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_times([time], [0.0])[0]
    rng = np.random.default_rng(seed)
    return RDMs(v + 0.1 * v.std() * rng.standard_normal((n_subjects, v.size)),
                rdm_descriptors={"subject": np.arange(n_subjects)},
                pattern_descriptors={"item": np.array(task.labels)})


def test_lam_bounds_set_the_searched_range_and_are_recorded(tree):
    data = _data(tree)
    s_max = float(tree.singular_values[0])
    default = rl.compare_widths(data, tree, widths=[2], **GRID)
    lams = default.hypotheses[0].cands.lam
    assert np.isclose(lams.min(), -4 * s_max) and np.isclose(lams.max(), 4 * s_max)
    assert default.settings["lam_bounds"] is None
    wide = rl.compare_widths(data, tree, widths=[2], lam_bounds=(-20.0, 7.5), **GRID)
    lams = wide.hypotheses[0].cands.lam
    assert lams.min() == -20.0 and lams.max() == 7.5 and 0.0 in lams  # both ends on the grid, and lam = 0
    assert np.all(np.diff(np.unique(lams)) > 0) and lams.size > 2 * GRID["n_lam"] - 3
    assert wide.settings["lam_bounds"] == (-20.0, 7.5)
    # a wide network (14 > n_in = 8) allows lam >= 0 only: the negative part of the bounds is dropped
    w = rl.compare_widths(data, tree, widths=["wide"], lam_bounds=(-20.0, 7.5), **GRID)
    assert w.hypotheses[0].cands.lam.min() == 0.0 and w.hypotheses[0].cands.lam.max() == 7.5


def test_fits_at_an_edge_are_named_with_the_edge_and_the_fix(tree):
    # truth: lam = 0 at t = 2.5; searching lam in [0.5, 1] and t up to 0.05 puts every fold fit at the low lam end
    # and the high time end
    res = rl.compare_widths(_data(tree), tree, widths=[2], lam_bounds=(0.5, 1.0), time_bounds=(1e-3, 0.05), **GRID)
    net = res.folds[res.folds.model == "N_h=2"]
    assert set(net["edge"]) == {"time (high) + lam (low)"} and net["at_edge"].all()
    assert np.allclose(net["lam"], 0.5)
    note = next(m for m in res.messages if m.startswith("N_h=2: 100% of the fold fits sit at an edge"))
    assert "time (high) in 6 of 6 folds" in note and "lam (low) in 6 of 6 folds" in note
    assert "time_bounds=(low, high)" in note and "--time-bounds" in note and "0.05" in note
    assert "lam_bounds=(-1.5, 1.5)" in note and "--lam-bounds=-1.5,1.5" in note
    # inside the ranges (the default ones, finer grid): no edge, no note
    ok = rl.compare_widths(_data(tree), tree, widths=[2], n_lam=24, n_times=41, progress=False)
    inner = ok.folds[ok.folds.model == "N_h=2"]
    s_max = float(tree.singular_values[0])
    assert np.all(np.abs(inner["lam"]) < 4 * s_max) and np.all(inner["time"] < ok.settings["time_bounds"][1])
    assert not inner["at_edge"].any() and set(inner["edge"]) == {""}
    assert not [m for m in ok.messages if "sit at an edge" in m]


def test_lam_bounds_refused_when_wrong_or_empty(tree):
    data = _data(tree, n_subjects=4)
    with pytest.raises(rl.InputValueError, match=r"`lam_bounds` must have low < high.*swap"):
        rl.compare_widths(data, tree, widths=[2], lam_bounds=(3.0, -3.0), **GRID)
    with pytest.raises(rl.InputValueError, match=r"`lam_bounds`.*leaves no lam for width 14.*n_in \(8\)"):
        rl.compare_widths(data, tree, widths=["wide"], lam_bounds=(-5.0, -1.0), **GRID)
    with pytest.raises(rl.InputTypeError, match="lam_bounds"):
        rl.compare_widths(data, tree, widths=[2], lam_bounds="wide", **GRID)
    res = rl.compare_regimes(data, tree, n_hidden=2, lam_bounds=(-5.0, 5.0), **GRID)  # every lam fixed there
    assert any("lam_bounds = (-5.0, 5.0) has no effect" in m for m in res.messages)


def test_cli_compare_searches_the_given_ranges_and_records_them(tree, tmp_path, capsys):
    task = rl.load_semantic_task()
    data = _data(task, time=3.0, n_subjects=5)
    path = tmp_path / "subj.hdf5"
    data.save(str(path), file_type="hdf5")
    out = tmp_path / "o"
    args = ["compare", str(path), "--task", "semantic", "--widths", "2", "--lam-bounds=-9,9", "--time-bounds",
            "0.01,40", "--n-draws", "8", "--out-dir", str(out), "--quiet"]
    assert main(args) == 0
    info = json.loads((out / "subj_hdf5_compare_widths.json").read_text())
    st = info["settings"]
    assert st["lam_bounds"] == [-9.0, 9.0] and st["time_bounds"] == [0.01, 40.0]
    assert st["draws"]["N_h=2"]["n_draws"] == 8 and st["draws"]["N_h=2"]["seed"] == 0 and st["random_state"] == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(args[:6] + ["--lam-bounds", "wide", "--out-dir", str(tmp_path / "x")])
    assert exc.value.code == 2 and "--lam-bounds" in capsys.readouterr().err


def test_cli_fit_records_the_draws(tmp_path):
    task = rl.load_semantic_task()
    path = tmp_path / "subj.hdf5"
    _data(task, time=3.0, n_subjects=4).save(str(path), file_type="hdf5")
    out = tmp_path / "f"
    assert main(["fit", str(path), "--task", "semantic", "--widths", "2", "--n-boot", "0", "--n-draws", "8",
                 "--no-start-check", "--out-dir", str(out), "--quiet"]) == 0
    info = json.loads(next(out.glob("*.json")).read_text())
    assert info["settings"]["n_draws"] == 8 and info["settings"]["random_state"] == 0
    assert info["settings"]["widths"] == [2]
