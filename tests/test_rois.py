"""fit_rois: every region's estimates equal fit_rdms's; searchlight RDMs in directly; joblib and dask; the CLI."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from rsatoolbox.rdm import RDMs, concat

import rsa_lineardyn as rl
from rsa_lineardyn.cli import main
from rsa_lineardyn.cli.inputs import load_task


@pytest.fixture(scope="module")
def tree():
    return rl.hierarchical_task(depth=2)  # 4 items


def _regions(task, widths=(1, 2, 4), n_subjects=2, times=(0.5,), noise=0.1, seed=0):
    """Noisy RDMs of aligned networks of different widths, one region per width: rdm descriptors roi, subject
    (and stage with several times)."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, h in enumerate(widths):
        V = rl.LinearNetworkModel(task, n_hidden=h, lam=0.0, init="aligned").predict_times(np.asarray(times), [0.0])
        vecs, subj, stage = [], [], []
        for s in range(n_subjects):
            for k, v in enumerate(V):
                vecs.append(np.abs(v + rng.normal(0, noise * v.std(), v.size)))
                subj.append(f"s{s}")
                stage.append(k + 1)
        desc = {"subject": np.array(subj), "roi": np.array([f"r{i}"] * len(vecs))}
        if len(times) > 1:
            desc["stage"] = np.array(stage)
        parts.append(RDMs(np.array(vecs), rdm_descriptors=desc, pattern_descriptors={"item": np.array(task.labels)}))
    return concat(parts)


def _same_estimates(row, fit):
    """The region's row equals fit_rdms's best fit and intervals (to rounding)."""
    b = fit.best
    assert row["n_hidden"] == b["n_hidden"]
    for k in ["lam", "scale", "score"] + [k for k in b if k == "time" or k == "rate" or k.startswith("time[")]:
        np.testing.assert_allclose(row[k], b[k], rtol=1e-10, atol=1e-14, err_msg=k)
    assert row["n_hidden_equivalent"] == ",".join(map(str, b["n_hidden_equivalent"]))
    if fit.settings["n_boot"] == 0:
        assert not any(c.endswith("_low") for c in row.index)
        return
    for r in fit.intervals.itertuples():
        np.testing.assert_allclose([row[f"{r.parameter}_low"], row[f"{r.parameter}_high"]], [r.low, r.high],
                                   rtol=1e-10, atol=1e-14, err_msg=r.parameter)
        assert row[f"{r.parameter}_determined"] == r.determined


@pytest.mark.parametrize("times, kw", [
    ((0.5,), dict(n_boot=10)),  # snapshot; start check (expected geometry over random starts), bootstrap
    ((0.3, 0.9), dict(n_boot=5, init="random", n_draws=4)),  # two stages, linear time map, shared scale
])
def test_every_region_equals_fit_rdms(tree, times, kw):
    data = _regions(tree, times=times)
    opts = dict(n_hidden=[1, 2, 4], n_times=15, n_lam=4, random_state=3, progress=False, **kw)
    res = rl.fit_rois(data, tree, **opts)
    assert list(res.table["roi"]) == ["r0", "r1", "r2"] and res.roi_descriptor == "roi"
    assert res.centres is None and list(res.rois) == ["r0", "r1", "r2"]
    for i, row in res.table.iterrows():
        fit = rl.fit_rdms(data.subset("roi", f"r{i}"), tree, **opts)
        _same_estimates(row, fit)
    assert (res.table["n_rdm"] == 2 * len(times)).all()


def test_shared_engine_keeps_predictions(tree):
    import pickle

    from rsa_lineardyn.inference.rois import _SharedEngine

    model = rl.LinearNetworkModel(tree, n_hidden=2, init="random", n_draws=4, seed=1)
    plain = model.predict_times([0.1, 1.0], [0.3, 0.0])
    model._engine = _SharedEngine(model._engine, [2**20])
    w1 = model._engine.rank_one(0.3, 0.1, np.array([0.1, 1.0]), 1.0)[0]
    assert model._engine.rank_one(0.3, 0.1, np.array([0.1, 1.0]), 1.0)[0] is w1  # looked up, not recomputed
    assert not w1.flags.writeable
    np.testing.assert_array_equal(model.predict_times([0.1, 1.0], [0.3, 0.0]), plain)
    model._engine.freeze()
    model.predict_times([0.2], [0.3, 0.0])
    assert model._engine.n_stored == 1  # the predict_times call above was the same point; frozen: 0.2 not kept
    copy = pickle.loads(pickle.dumps(model))  # what joblib and dask send to workers
    assert copy._engine.n_stored == 1
    np.testing.assert_array_equal(copy.predict_times([0.1, 1.0], [0.3, 0.0]), plain)


def test_subject_fits_table(tree):
    data = _regions(tree, widths=(1, 4))
    opts = dict(n_hidden=[1, 4], n_times=11, n_lam=3, n_boot=0, start_check=None, random_state=0, progress=False)
    res = rl.fit_rois(data, tree, subject_fits=True, **opts)
    assert res.subjects is not None and len(res.subjects) == 4
    fit = rl.fit_rdms(data.subset("roi", "r1"), tree, **opts)
    mine = res.subjects[res.subjects["roi"] == "r1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine.drop(columns="roi"), fit.subjects, check_exact=False, rtol=1e-10)
    assert rl.fit_rois(data, tree, **opts).subjects is None


def _searchlight(task, shape=(3, 3, 2), n_rep=3, seed=0):
    """Real rsatoolbox searchlight RDMs over a small volume; the events are the task's item labels."""
    from rsatoolbox.util.searchlight import get_searchlight_RDMs, get_volume_searchlight

    rng = np.random.default_rng(seed)
    mask = np.ones(shape, dtype=bool)
    mask[0, 0, 0] = False
    events = np.repeat(np.array(task.labels), n_rep)
    pattern = task.Y.T @ rng.normal(size=(task.n_out, mask.size))  # items x voxels: the task's features, mixed
    data_2d = np.repeat(pattern, n_rep, axis=0) + rng.normal(0, 0.5 * pattern.std(), (events.size, mask.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        centres, neighbours = get_volume_searchlight(mask, radius=1, threshold=0.5)
        sl = get_searchlight_RDMs(data_2d, centres, neighbours, events, method="euclidean", verbose=False)
    return sl, np.asarray(centres), np.unique(events), mask


def test_searchlight_rdms_go_in_directly(tree):
    sl, centres, labels, mask = _searchlight(tree)
    assert set(sl.rdm_descriptors) >= {"voxel_index"} and "item" not in sl.pattern_descriptors
    opts = dict(n_hidden=[1, 2, 4], n_times=11, n_lam=3, n_boot=0, random_state=0, progress=False)
    res = rl.fit_rois(sl, tree, condition_labels=labels, **opts)
    assert res.roi_descriptor == "voxel_index"
    np.testing.assert_array_equal(res.centres, centres)
    np.testing.assert_array_equal(res.table["voxel_index"], centres)
    vol = res.to_volume("n_hidden", mask.shape)
    assert np.isnan(vol[0, 0, 0]) and not mask[0, 0, 0]
    np.testing.assert_array_equal(vol.ravel()[centres], res.table["n_hidden"])
    arrays = res.arrays()
    np.testing.assert_array_equal(arrays["centres"], centres)
    np.testing.assert_array_equal(arrays["score"], res.table["score"])
    # one centre through fit_rdms, labelled the same way
    k = len(centres) // 2
    one = sl.subset("voxel_index", centres[k])
    one.pattern_descriptors = {"item": labels}
    _same_estimates(res.table.iloc[k], rl.fit_rdms(one, tree, **opts))
    with pytest.raises(rl.InputValueError, match="condition_labels"):
        rl.fit_rois(sl, tree, condition_labels=labels[:-1], **opts)
    with pytest.raises(rl.InputValueError, match="no item labels"):
        rl.fit_rois(sl, tree, **opts)
    with pytest.raises(rl.InputValueError, match="shape"):
        res.to_volume("n_hidden", (2, 2))


def test_joblib_and_dask_give_the_serial_table(tree):
    distributed = pytest.importorskip("dask.distributed")
    data = _regions(tree, widths=(1, 2, 4, 1, 2))
    opts = dict(n_hidden=[1, 2, 4], n_times=11, n_lam=3, n_boot=5, random_state=0, progress=False)
    serial = rl.fit_rois(data, tree, **opts)
    threads = rl.fit_rois(data, tree, n_jobs=2, backend="threading", chunk_size=1, **opts)
    pd.testing.assert_frame_equal(serial.table, threads.table)
    processes = rl.fit_rois(data, tree, n_jobs=2, chunk_size=2, **opts)  # loky: the shared models pickled
    pd.testing.assert_frame_equal(serial.table, processes.table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            on_dask = rl.fit_rois(data, tree, client=client, chunk_size=2, **opts)
            assert on_dask.settings["engine"] == "dask"
            # fit_rdms's backend="dask": the widths of one fit as futures on the same client
            fit = rl.fit_rdms(data.subset("roi", "r1"), tree, backend="dask", n_jobs=2, **opts)
    pd.testing.assert_frame_equal(serial.table, on_dask.table)
    _same_estimates(serial.table.iloc[1], fit)


def test_a_region_that_cannot_be_fitted_stops_the_run_or_is_recorded(tree):
    """A constant region first (it would have filled the shared predictions) and an all-missing one later: the
    default names the region and stops; on_error="record" gives them rows with their error and no estimates, and
    the other regions exactly the estimates they get without them."""
    good = _regions(tree, widths=(1, 2, 4))
    flat = good.subset("roi", "r0")
    flat.dissimilarities[:] = 1.0
    flat.rdm_descriptors["roi"] = np.array(["flat"] * flat.n_rdm)
    missing = good.subset("roi", "r1")
    missing.dissimilarities[:] = np.nan
    missing.rdm_descriptors["roi"] = np.array(["missing"] * missing.n_rdm)
    data = concat([flat, good.subset("roi", ["r0", "r1"]), missing, good.subset("roi", "r2")])
    opts = dict(n_hidden=[1, 2, 4], n_times=11, n_lam=3, n_boot=5, random_state=0, progress=False)
    with pytest.raises(rl.InputValueError, match="region 'flat'.*undefined"):
        rl.fit_rois(data, tree, **opts)
    alone = rl.fit_rois(good, tree, **opts)
    for kw in (dict(), dict(n_jobs=2, backend="threading", chunk_size=1)):
        with pytest.warns(RuntimeWarning, match="2 of 5 regions could not be fitted"):
            res = rl.fit_rois(data, tree, on_error="record", **opts, **kw)
        t = res.table
        assert list(t["roi"]) == ["flat", "r0", "r1", "missing", "r2"] and t.columns[-1] == "error"
        bad = t["roi"].isin(["flat", "missing"])
        assert t.loc[bad, "error"].str.contains("undefined").all() and (t.loc[~bad, "error"] == "").all()
        assert t.loc[bad, ["n_hidden", "lam", "score"]].isna().all().all()
        assert list(res.failed()["roi"]) == ["flat", "missing"] and "not fitted: 2" in res.summary()
        ok = t.loc[~bad].drop(columns="error").reset_index(drop=True)
        pd.testing.assert_frame_equal(ok, alone.table.drop(columns="error"), check_dtype=False)
    with pytest.raises(rl.InputValueError, match="on_error"):
        rl.fit_rois(data, tree, on_error="skip", **opts)
    with pytest.raises(rl.InputValueError, match="region 'flat'"):  # nothing fits: the first region's error
        rl.fit_rois(concat([flat, missing]), tree, on_error="record", **opts)


def test_dask_backend_without_a_client_says_what_to_do(tree):
    pytest.importorskip("dask.distributed")
    data = _regions(tree, widths=(2,))
    with pytest.raises(rl.InputValueError, match="running dask.distributed Client.*fit_rois"):
        rl.fit_rdms(data, tree, n_hidden=[1, 2], backend="dask", n_boot=0, progress=False)


def test_bad_inputs_name_the_argument(tree):
    data = _regions(tree, widths=(1, 2))
    kw = dict(n_hidden=[1, 2], n_boot=0, progress=False)
    with pytest.raises(TypeError, match="n_bot"):
        rl.fit_rois(data, tree, n_bot=3, **kw)
    with pytest.raises(rl.InputValueError, match="roi_descriptor.*'area'"):
        rl.fit_rois(data, tree, roi_descriptor="area", **kw)
    plain = RDMs(data.get_vectors(), pattern_descriptors={"item": np.array(tree.labels)})
    with pytest.raises(rl.InputValueError, match="no rdm descriptor naming regions"):
        rl.fit_rois(plain, tree, **kw)
    with pytest.raises(rl.InputTypeError, match="client"):
        rl.fit_rois(data, tree, client="tcp://localhost:8786", **kw)
    with pytest.raises(rl.InputValueError, match="n_times"):  # fit_rdms's own checks
        rl.fit_rois(data, tree, n_times=1, **kw)
    with pytest.raises(rl.InputValueError, match="chunk_size"):
        rl.fit_rois(data, tree, chunk_size=0, **kw)


def test_cli_fit_rois_writes_table_and_arrays(tree, tmp_path, capsys):
    sl, centres, labels, mask = _searchlight(tree)
    path = tmp_path / "sl.hdf5"
    sl.save(str(path), file_type="hdf5")
    out = tmp_path / "out"
    args = ["fit-rois", str(path), "--task", "<task>", "--labels", ",".join(labels), "--widths", "1,2,4",
            "--n-boot", "0", "--n-draws", "32", "--out-dir", str(out), "--quiet"]
    # the tree task is not bundled: save it as a task file the CLI reads
    task_csv = tmp_path / "tree.csv"
    pd.DataFrame(tree.Y.T, index=tree.labels).to_csv(task_csv)
    args[3] = str(task_csv)
    assert main(args) == 0
    table = pd.read_csv(out / "sl_hdf5_rois.csv")
    arrays = np.load(out / "sl_hdf5_rois.npz")
    np.testing.assert_array_equal(arrays["centres"], centres)
    np.testing.assert_array_equal(table["voxel_index"], centres)
    np.testing.assert_allclose(arrays["score"], table["score"], rtol=1e-12)
    res = rl.fit_rois(sl, load_task(str(task_csv)), condition_labels=labels, n_hidden=[1, 2, 4], n_boot=0, random_state=0,
                      n_draws=32, progress=False)
    np.testing.assert_array_equal(table["n_hidden"], res.table["n_hidden"])
    record = json.loads((out / "sl_hdf5_rois.json").read_text())  # the seed and the draws travel with the table
    assert record["seed"] == 0 and record["settings"]["random_state"] == 0
    assert record["condition_labels_from"] == "--labels"
    assert record["settings"]["n_draws"] == 32 and record["settings"]["widths"] == [1, 2, 4]  # --n-draws travels
    assert main(args) == 1  # outputs exist: refused without --force
    assert "exist" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0
    assert main(args + ["--force", "--n-draws", "8"]) == 0
    assert json.loads((out / "sl_hdf5_rois.json").read_text())["settings"]["n_draws"] == 8


def test_cli_fit_rois_help_has_examples_and_stays_light(capsys):
    import subprocess
    import sys

    with pytest.raises(SystemExit) as exc:
        main(["fit-rois", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "rsa-lineardyn fit-rois" in out and "--quiet" in out and "--verbose" in out
    script = ("import sys\nfrom rsa_lineardyn.cli import main\ntry:\n    main(['fit-rois', '--help'])\n"
              "except SystemExit:\n    pass\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rsatoolbox', 'pandas', 'scipy', 'dask')))")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip().splitlines()[-1] == "[]", res.stdout + res.stderr
