"""Adversarial trial s30d of the command line end to end: flags silently ignored or conflicting, outputs that
disagree with each other, --prefix / --out-dir behaviour of fit-rois, what the JSON records.

Every test runs ``rsa_lineardyn.cli.app.main`` in-process on real files in ``tmp_path``.  The fast settings
(``--init aligned`` for compare, ``--n-boot 0 --no-start-check`` for fits) keep each test within a few seconds.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn.cli.app import main

LOG = "[rsa-lineardyn] "


def _semantic_rdms(n_subjects=4, seed=0, roi=None):
    """Noisy RDMs of the bundled semantic task (8 items), one per subject ('participant_id')."""
    from rsatoolbox.rdm import RDMs

    task = rl.load_semantic_task()
    model = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0)
    v = model.predict_times([1.5], [0.0])[0]
    rng = np.random.default_rng(seed)
    vecs = np.array([np.abs(v + 0.3 * v.std() * rng.standard_normal(v.size)) for _ in range(n_subjects)])
    desc = {"participant_id": np.array([f"p{i:02d}" for i in range(n_subjects)])}
    if roi is not None:
        desc["roi"] = np.array([roi] * n_subjects)
    return RDMs(vecs, dissimilarity_measure="squared euclidean", rdm_descriptors=desc,
                pattern_descriptors={"item": np.array(task.labels)})


@pytest.fixture
def sem_file(tmp_path):
    path = tmp_path / "sem.hdf5"
    _semantic_rdms().save(str(path), file_type="hdf5")
    return path


@pytest.fixture
def roi_file(tmp_path):
    from rsatoolbox.rdm import concat

    path = tmp_path / "rois.hdf5"
    concat([_semantic_rdms(3, seed=0, roi="V1"), _semantic_rdms(3, seed=1, roi="IT")]).save(str(path),
                                                                                           file_type="hdf5")
    return path


def _models(out, kind="widths", prefix="sem_hdf5"):
    return list(pd.read_csv(out / f"{prefix}_compare_{kind}.csv")["model"])


# ----------------------------------------------------------------------------- 1
def test_compare_n_hidden_without_regimes_is_not_silently_ignored(sem_file, tmp_path, capsys):
    """`compare DATA --n-hidden 1` (in `fit`, --n-hidden is --widths) ran compare_widths with the default widths
    2,wide and exit 0: the width the user named was tested nowhere, and nothing said so."""
    out = tmp_path / "out"
    code = main(["compare", str(sem_file), "--task", "semantic", "--n-hidden", "1", "--init", "aligned",
                 "--out-dir", str(out)])
    err = capsys.readouterr().err
    if code == 0:  # accepted: then the width given must be the one compared
        assert "N_h=1" in _models(out), (_models(out), err)
    else:
        assert "--n-hidden" in err and "--regimes" in err, err


# ----------------------------------------------------------------------------- 2
def test_compare_regimes_with_widths_is_not_silently_ignored(sem_file, tmp_path, capsys):
    """`compare --regimes --widths 1,2`: --widths was dropped without a word (exit 0, rich vs lazy only)."""
    out = tmp_path / "out"
    code = main(["compare", str(sem_file), "--task", "semantic", "--regimes", "--widths", "1,2", "--init",
                 "aligned", "--out-dir", str(out)])
    err = capsys.readouterr().err
    assert code != 0 or "--widths" in err, err


# ----------------------------------------------------------------------------- 3
def test_compare_force_never_leaves_a_figure_of_another_run(sem_file, tmp_path, capsys):
    """A corr run writes <prefix>_compare_widths.png; the same command with --method bures --force rewrites the
    CSVs and JSON but not the PNG (claimed undrawable, though rl.plot_hypotheses draws bures results), so the
    folder holds a figure of the corr run beside the bures tables (its bars and brackets disagree with the CSV)."""
    out = tmp_path / "out"
    base = ["compare", str(sem_file), "--task", "semantic", "--widths", "1,2", "--init", "aligned",
            "--out-dir", str(out), "--quiet"]
    assert main(base) == 0
    png = out / "sem_hdf5_compare_widths.png"
    first = png.read_bytes()
    assert main(base + ["--method", "bures", "--force"]) == 0
    capsys.readouterr()
    info = json.loads((out / "sem_hdf5_compare_widths.json").read_text())
    assert info["method"] == "bures"
    assert not png.exists() or png.read_bytes() != first, (
        "the PNG in --out-dir is the corr run's figure, next to the bures CSV/JSON (JSON figure: "
        f"{info['figure']!r})")


# ----------------------------------------------------------------------------- 4
@pytest.mark.parametrize("prefix", ["../escaped", "sub/escaped"])
def test_fit_rois_prefix_stays_inside_out_dir(roi_file, tmp_path, capsys, prefix):
    """`fit` and `compare` refuse a --prefix with folders; `fit-rois --prefix ../escaped` wrote
    escaped_rois.{csv,npz,json} outside --out-dir (rois.py builds its own prefix, without _check_prefix)."""
    out = tmp_path / "a" / "out"
    code = main(["fit-rois", str(roi_file), "--task", "semantic", "--widths", "1", "--init", "aligned",
                 "--n-boot", "0", "--no-start-check", "--no-refine", "--out-dir", str(out), "--prefix", prefix,
                 "--quiet"])
    err = capsys.readouterr().err
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*_rois.*"))
    outside = [w for w in written if not w.startswith("a/out/") or w.count("/") > 2]
    assert code == 1 and "--prefix" in err and not outside, (code, err, written)


# ----------------------------------------------------------------------------- 5
def test_fit_rois_bundled_data_prefix_is_a_plain_name(tmp_path, capsys):
    """`fit 92images:hIT` writes 92images_hIT_*; `fit-rois 92images:hIT` wrote '92images:hIT_rois.csv' (a colon in
    the file name: not a valid name on Windows, and unlike every other subcommand)."""
    out = tmp_path / "out"
    code = main(["fit-rois", "92images:hIT", "--task", "92images", "--roi-descriptor", "name", "--widths", "1",
                 "--init", "aligned", "--n-boot", "0", "--no-start-check", "--no-refine", "--out-dir", str(out),
                 "--quiet"])
    capsys.readouterr()
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["92images_hIT_rois.csv", "92images_hIT_rois.json", "92images_hIT_rois.npz"], names


# ----------------------------------------------------------------------------- 6
def test_labels_flag_with_bundled_data_is_not_silently_ignored(tmp_path, capsys):
    """--labels is 'refused for a file whose own labels differ'; with bundled data (92images:...) two made-up
    labels for 92 conditions were dropped without a word and the run succeeded."""
    out = tmp_path / "out"
    code = main(["compare", "92images:hIT_subject_session", "--labels", "a,b", "--widths", "1", "--init",
                 "aligned", "--out-dir", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code != 0 and "--labels" in err, (code, err)


# ----------------------------------------------------------------------------- 7
def test_fit_rois_json_records_fixed_lam_and_no_refine(roi_file, tmp_path, capsys):
    """<prefix>_rois.json is the record of the settings, but `--lam 0.2 --no-refine` appear nowhere in it (its
    settings hold neither lam nor refine): the record reads like a run with lam fitted and refinement on."""
    out = tmp_path / "out"
    assert main(["fit-rois", str(roi_file), "--task", "semantic", "--widths", "1", "--init", "aligned",
                 "--lam", "0.2", "--no-refine", "--n-boot", "0", "--no-start-check", "--out-dir", str(out),
                 "--quiet"]) == 0
    capsys.readouterr()
    info = json.loads((out / "rois_hdf5_rois.json").read_text())
    flat = {**info, **info["settings"]}
    assert flat.get("lam") == 0.2, sorted(flat)
    assert flat.get("refine") is False, sorted(flat)


# ----------------------------------------------------------------------------- 8
@pytest.mark.parametrize("flag,value", [("--seed", "-1"), ("--n-boot", "-1"), ("--n-draws", "0")])
def test_fit_rois_run_number_errors_name_the_flag(roi_file, tmp_path, capsys, flag, value):
    """`fit` and `compare` check --seed/--n-boot/--n-draws first and name the flag; `fit-rois` passed them to the
    library, whose error names the Python parameter (`random_state` ... 'or a numpy Generator')."""
    code = main(["fit-rois", str(roi_file), "--task", "semantic", "--out-dir", str(tmp_path / "out"), flag, value])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip() and not ln.startswith(LOG)]
    assert code == 1 and len(err) == 1 and flag in err[0], err


def test_compare_regimes_json_records_the_width_used(tmp_path):
    """compare --regimes without --n-hidden recorded n_hidden: null, not the width its models used (the task's
    rank)."""
    out = tmp_path / "o"
    assert main(["compare", "92images:hIT_subject_session", "--regimes", "--n-draws", "8", "--quiet",
                 "--out-dir", str(out)]) == 0
    info = json.loads(next(out.glob("*_compare_regimes.json")).read_text())
    assert info["n_hidden"] == rl.load_92images_task().rank()
