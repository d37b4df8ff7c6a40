"""The flat module paths of older releases (``rsa_lineardyn.model``, ``rsa_lineardyn.fitting``, ...) still resolve.

The modules moved into subpackages by pipeline stage; users' imports from the old paths, and pickles that name
them, must keep working (``rsa_lineardyn._compat``), while the package itself never imports an old path.
"""

import importlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn._compat import OLD_PATHS
from rsa_lineardyn.models import network, random_starts, single_fit


@pytest.mark.parametrize("name", ["fit_linear_network", "score_grid", "compare_model"])
def test_fitting_functions_importable_from_all_paths(name):
    ns = {}
    exec(f"from rsa_lineardyn.model import {name} as f", ns)  # the oldest path
    exec(f"from rsa_lineardyn.fitters import {name} as g", ns)  # the path of the last release
    obj = getattr(single_fit, name)
    assert obj.__module__ == "rsa_lineardyn.models.single_fit"
    assert ns["f"] is ns["g"] is obj is getattr(rl, name)
    star = {}
    exec("from rsa_lineardyn.model import *", star)
    assert star[name] is obj and star["LinearNetworkModel"] is network.LinearNetworkModel
    old = importlib.import_module("rsa_lineardyn.model")
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        old.no_such_name  # noqa: B018


@pytest.mark.parametrize("old", sorted(OLD_PATHS))
def test_every_old_path_forwards_its_public_names(old):
    alias = importlib.import_module(f"rsa_lineardyn.{old}")
    targets = [importlib.import_module(f"rsa_lineardyn.{t}") for t in OLD_PATHS[old]]
    for target in targets:
        for name in getattr(target, "__all__", ()):
            assert getattr(alias, name) is getattr(target, name), (old, name)
    if old != "simulate":  # ``rl.simulate`` is the public function
        assert getattr(rl, old) is alias  # attribute access on the package (``rl.fitting``) gives the same module


def test_representations_module_names_still_import():
    from rsa_lineardyn.representations import hidden_rsm, ntk_series
    from rsa_lineardyn.representations.geometry import hidden_rsm as h

    assert hidden_rsm is h is rl.hidden_rsm and ntk_series is rl.ntk_series


def test_old_pickle_paths_resolve():
    # pickles written before the moves name the objects by their old modules (GLOBAL opcode)
    old_engine = pickle.loads(b"crsa_lineardyn.engines\n_RandomStartEngine\n.")
    old_fitter = pickle.loads(b"crsa_lineardyn.model\nfit_linear_network\n.")
    old_model = pickle.loads(b"crsa_lineardyn.model\nLinearNetworkModel\n.")
    assert old_engine is random_starts._RandomStartEngine
    assert old_fitter is single_fit.fit_linear_network
    assert old_model is network.LinearNetworkModel


def test_model_round_trip_uses_the_new_names():
    task = rl.Task(np.eye(4) * 2, 2 * np.array([[3.0, 3, 0, 0], [0, 0, 2, 2], [1, -1, 0, 0]]))
    m = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0)
    assert m.default_fitter is single_fit.fit_linear_network
    assert isinstance(m._engine, random_starts._RandomStartEngine)
    blob = pickle.dumps(m)
    assert b"rsa_lineardyn.models.network" in blob and b"rsa_lineardyn.model\n" not in blob
    back = pickle.loads(blob)
    data = m.predict_rdm([0.3])
    assert back.fit(data, method="corr") == pytest.approx(m.fit(data, method="corr"), abs=1e-12)
    theta = back.fit(data, method="corr")
    v, d = back.predict(theta), data.get_vectors()[0]
    assert np.corrcoef(v, d)[0, 1] > 1 - 1e-6


def test_python_dash_m_cli_still_runs():
    out = subprocess.run([sys.executable, "-m", "rsa_lineardyn.cli", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "fit" in out and "compare" in out
