"""The example scripts run end to end with small settings and write their figures."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_semantic_development_small(tmp_path):
    mod = _load("semantic_development")
    res = mod.run(out_dir=tmp_path, widths=(1, 16), n_times=40, verbose=False)
    for f in res["files"]:
        assert Path(f).stat().st_size > 1000
    table = res["table"]
    rich = table[(table.regime == "rich") & (table.n_hidden == 16)].sort_values("mode")
    # rich: stronger modes are learned first; lazy: all modes at about the same time ln2/|lam|
    assert np.all(np.diff(rich.half_time.to_numpy()) > 0)
    lazy = table[(table.regime == "lazy_pos") & (table.n_hidden == 16)]
    assert np.ptp(lazy.half_time) < 0.01 * lazy.half_time.mean()
    # a bottleneck of one unit learns only the first mode
    one = table[(table.regime == "rich") & (table.n_hidden == 1)]
    assert np.isfinite(one.half_time.iloc[0]) and np.all(np.isinf(one.half_time.iloc[1:]))
    assert res["max_sim_deviation"] < 1e-6
    # an aligned start already holds the task's modes at t = 0 (N_h = 1: plant/animal pairs far apart);
    # the expected geometry over random starts begins undifferentiated and ends where the aligned one does
    labels = list(res["result"]["task"].labels)
    iu = np.triu_indices(len(labels), 1)
    lev = np.array([mod.level_of_pair(labels[i], labels[j]) for i, j in zip(*iu)])

    def ratio(D):
        v = D[iu]
        return v[lev == "kingdom"].mean() / v[lev == "item"].mean()

    run = res["result"]["runs"]["rich", 1]
    assert ratio(run["start_rdm"]) > 10
    assert 0.9 < ratio(run["random_start_rdm"]) < 1.1
    np.testing.assert_allclose(run["random_snap_rdms"][-1], run["snap_rdms"][-1], rtol=1e-6, atol=1e-9)
    with pytest.raises(FileExistsError):
        mod.run(out_dir=tmp_path, widths=(1,), n_times=10, force=False, verbose=False)


def test_fit_human_it_small(tmp_path):
    mod = _load("fit_human_it")
    res = mod.run(out_dir=tmp_path, widths=(1, 3), hyp_widths=(1, 3, "wide"), fit_boot=5, verbose=False)
    for f in res["files"]:
        assert Path(f).stat().st_size > 100
    table = res["table"]
    assert list(table.n_hidden) == [1, 3]
    assert np.all((table.score > 0) & (table.score < 1))
    assert res["best"].init == "random" and res["fit"].settings["init"] == "random"  # the default start
    # hypothesis tests over subjects: the network (width chosen in each fold), animacy, the feature baseline
    for key, n_units in (("hit", 4), ("behaviour", 16)):
        h = res["hypotheses"][key]
        assert list(h.table.model[:2]) == ["network (N_h chosen in CV)", "animacy"]
        assert h.table.model[2].startswith("feature model")
        assert (h.table.n_units == n_units).all() and (h.table.dof == n_units - 1).all()
        assert ((h.pairwise.p > 0) & (h.pairwise.p <= 1)).all()
    with pytest.raises(FileExistsError):
        mod.run(out_dir=tmp_path, widths=(1,), force=False, verbose=False)
