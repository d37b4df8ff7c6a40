"""Names moved by the module split (engines -> random_starts, model -> fitters) stay reachable.

``rsa_lineardyn.random_starts`` holds the random-start engine that was in ``rsa_lineardyn.engines``, and
``rsa_lineardyn.fitters`` the fitting functions that were in ``rsa_lineardyn.model``.  Users' imports from the
old modules, and pickles that name the old paths, must keep working; the import direction stays one-way.
"""

import pickle
import subprocess
import sys

import numpy as np
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn import engines, fitters, model, random_starts


@pytest.mark.parametrize("name", ["fit_linear_network", "score_grid", "compare_model"])
def test_fitting_functions_importable_from_all_paths(name):
    ns = {}
    exec(f"from rsa_lineardyn.model import {name} as f", ns)  # the old path
    obj = getattr(fitters, name)
    assert obj.__module__ == "rsa_lineardyn.fitters"
    assert ns["f"] is obj is getattr(rl, name) is getattr(model, name)
    assert name in model.__all__ and name in fitters.__all__
    star = {}
    exec("from rsa_lineardyn.model import *", star)
    assert star[name] is obj
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        model.no_such_name  # noqa: B018


def test_old_pickle_paths_resolve():
    # a pickle written before the split names the objects by their old modules (GLOBAL opcode)
    old_engine = pickle.loads(b"crsa_lineardyn.engines\n_RandomStartEngine\n.")
    old_fitter = pickle.loads(b"crsa_lineardyn.model\nfit_linear_network\n.")
    assert old_engine is random_starts._RandomStartEngine
    assert old_fitter is fitters.fit_linear_network
    with pytest.raises(AttributeError):
        engines._GROUP_RTOL  # noqa: B018  (only the engine class is forwarded)


def test_model_round_trip_uses_the_moved_names():
    task = rl.Task(np.eye(4) * 2, 2 * np.array([[3.0, 3, 0, 0], [0, 0, 2, 2], [1, -1, 0, 0]]))
    m = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0)
    assert m.default_fitter is fitters.fit_linear_network
    assert isinstance(m._engine, random_starts._RandomStartEngine)
    back = pickle.loads(pickle.dumps(m))
    data = m.predict_rdm([0.3])
    assert back.fit(data, method="corr") == pytest.approx(m.fit(data, method="corr"), abs=1e-12)
    # the fit matches its own noiseless prediction: the expected geometry over random starts is a Monte Carlo
    # estimate whose time course wiggles at the 1e-7 level of a correlation (estimator weights per time), so a
    # second near-perfect optimum can win by less than that; the match, not the time, is what is guaranteed
    theta = back.fit(data, method="corr")
    v, d = back.predict(theta), data.get_vectors()[0]
    assert np.corrcoef(v, d)[0, 1] > 1 - 1e-6


def test_import_direction_is_one_way():
    code = ("import sys; import rsa_lineardyn.random_starts; a = 'rsa_lineardyn.engines' in sys.modules; "
            "import rsa_lineardyn.model; b = 'rsa_lineardyn.fitters' in sys.modules; print(a, b)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # random_starts does not load engines (engines imports random_starts for the old pickle path, at the top:
    # the shared draws and caches are in rsa_lineardyn.draws); model does not load fitters
    assert out == ["False", "False"]
