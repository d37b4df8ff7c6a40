"""``init="random"`` at tiny starting scales (1e-4 .. 1e-10) against per-draw exact trajectories.

The exact solver is checked against mpmath down to init scale 1e-12 (``tests/test_exact_small_scale.py``);
here the random-start engine's expected mode weights must equal the mean of those per-draw trajectories,
relative to the largest geometry of the trajectory (what an RDM over stages on one scale sees).  Relative to
each time's *own* (tiny) geometry the engine is less accurate early in learning (README, limitations:
up to ~1e-6 in the plateau and O(1) at t = 0 with lam != 0 when the start is 1e-10).
"""

import warnings

import numpy as np
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn.model import _ENGINES

from test_engines import SVALS, _symmetrise, _task


@pytest.mark.parametrize("n_in,h,n_out", [(5, 2, 4), (4, 4, 4), (3, 7, 4), (8, 7, 2)])
@pytest.mark.parametrize("lam", [-0.7, 0.0, 0.6])
@pytest.mark.parametrize("scale", [1e-4, 1e-7, 1e-10])
def test_random_engine_at_tiny_scales_matches_exact(n_in, h, n_out, lam, scale):
    if (lam > 0 and h > n_out) or (lam < 0 and h > n_in):
        pytest.skip("infeasible balance for this width")
    task = _task(n_in, n_out, SVALS)
    U, s, Vt = task.svd()
    V = Vt.T
    times = np.array([0.0, 0.5, 5.0, 20.0, np.inf])  # start, before, during and after the escape
    hidden = _ENGINES["random"](task, h, "hidden", 1e-10, 3, 11)
    pred = _ENGINES["random"](task, h, "prediction", 1e-10, 3, 11)
    acc_h, acc_p, n = 0.0, 0.0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for W1, W2 in hidden.draws(lam, scale):
            tr = rl.exact_dynamics(task, W1, W2, times)
            acc_h = acc_h + V.T @ tr.w1tw1 @ V
            acc_p = acc_p + V.T @ (np.swapaxes(tr.w2w1, 1, 2) @ tr.w2w1) @ V
            n += 1
        got_h = np.concatenate([hidden.rank_one(lam, scale, tt, 1.0)[0] for tt in (times[:-1], times[-1:])])
        got_p = np.concatenate([pred.rank_one(lam, scale, tt, 1.0)[0] for tt in (times[:-1], times[-1:])])
    want_h = _symmetrise(np.diagonal(acc_h / n, axis1=1, axis2=2), s)
    want_p = _symmetrise(np.diagonal(acc_p / n, axis1=1, axis2=2), s)
    for got, want in ((got_h, want_h), (got_p, want_p)):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 * np.max(np.abs(want)))
