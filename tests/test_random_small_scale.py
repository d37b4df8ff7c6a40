"""``init="random"`` at tiny starting scales (1e-4 .. 1e-10) against per-draw exact trajectories.

The exact solver is checked against mpmath down to init scale 1e-12 (``tests/test_exact_small_scale.py``);
here the random-start engine's expected mode weights must equal the mean of those per-draw trajectories,
relative to the largest geometry of the trajectory (what an RDM over stages on one scale sees), and relative
to each time's *own* geometry (the second test: the engine assembles the non-growing modes in mode
coordinates, as ``exact._assemble`` does; before that it lost up to ~1e-6 in the plateau and O(1) at t = 0
with lam != 0 when the start is 1e-10).  The engines run with ``mc="antithetic"``: the plain mean over their
(antithetic) draws; the default estimator adds control variates of zero mean (``tests/test_mc_error.py``).
"""

import warnings

import numpy as np
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn.models.network import _ENGINES

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
    hidden = _ENGINES["random"](task, h, "hidden", 1e-10, 3, 11, mc="antithetic")
    pred = _ENGINES["random"](task, h, "prediction", 1e-10, 3, 11, mc="antithetic")
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


@pytest.mark.parametrize("n_in,h,n_out", [(5, 2, 4), (4, 4, 4), (3, 7, 4), (8, 7, 2), (12, 12, 2), (12, 5, 2)])
@pytest.mark.parametrize("lam", [-0.7, 0.0, 0.6])
@pytest.mark.parametrize("scale", [1e-4, 1e-7, 1e-10])
def test_random_engine_at_tiny_scales_per_time(n_in, h, n_out, lam, scale):
    """Every time's expected weights to 1e-9 of that time's OWN geometry (hidden, prediction, both NTK blocks).

    The start of a tiny-scale trajectory is far below its end (W1 ~ scale**2 next to an O(lam) W2 at t = 0,
    the whole geometry ~ scale**4 in the plateau of lam = 0); the expected weights must still carry their own
    digits there, as each draw's ``exact_dynamics`` does.  (8, 7, 2), (12, 12, 2) and (12, 5, 2) with lam < 0
    take the split path at finite times (tied columns compressed: the first two; uncompressed: the third).
    ``output`` (a pseudo-inverse with a relative cut-off) is not checked here.
    """
    if (lam > 0 and h > n_out) or (lam < 0 and h > n_in):
        pytest.skip("infeasible balance for this width")
    task = _task(n_in, n_out, SVALS)
    U, s, Vt = task.svd()
    V = Vt.T
    times = np.array([0.0, 1e-3, 0.1, 0.5, 2.0, 5.0, 20.0, np.inf])
    engines = {rep: _ENGINES["random"](task, h, rep, 1e-10, 3, 11, mc="antithetic")
               for rep in ("hidden", "prediction", "ntk")}
    acc_h, acc_p, acc_o, n = 0.0, 0.0, 0.0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for W1, W2 in engines["hidden"].draws(lam, scale):
            tr = rl.exact_dynamics(task, W1, W2, times)
            acc_h = acc_h + V.T @ tr.w1tw1 @ V
            acc_p = acc_p + V.T @ (np.swapaxes(tr.w2w1, 1, 2) @ tr.w2w1) @ V
            acc_o = acc_o + U.T @ tr.w2w2t @ U
            n += 1
        got = {}
        for rep, eng in engines.items():
            parts = [eng._diagonals(lam, scale, tt, 1.0) for tt in (times[:-1], times[-1:])]  # finite: split path
            got[rep] = [np.concatenate([p[j] for p in parts]) for j in ((0, 1) if rep == "ntk" else (0,))]
    diag = lambda acc, values: _symmetrise(np.diagonal(acc / n, axis1=1, axis2=2), values)  # noqa: E731
    want_in = diag(acc_h, s)
    pairs = [(got["hidden"][0], want_in), (got["prediction"][0], diag(acc_p, s)), (got["ntk"][0], want_in),
             (got["ntk"][1], diag(acc_o, s))]
    for got_w, want_w in pairs:
        own = np.max(np.abs(want_w), axis=1, keepdims=True)  # each time's own size
        assert np.all(own > 0)
        np.testing.assert_array_less(np.abs(got_w - want_w), np.broadcast_to(1e-9 * own, want_w.shape))
