"""Bad input gives a clear error naming the argument; numerical edges give finite, valid answers.

Covers the core: Task, whiten, balanced_init, task_aligned_init, measure_balance,
exact_dynamics, fixed_point, simulate.
"""

import warnings

import numpy as np
import pytest

import rsa_lineardyn as rl
from rsa_lineardyn._validation import AssumptionError, InputTypeError, InputValueError

from _invariants import run_checks

NAN = float("nan")
INF = float("inf")


def white_task(n_in=3, n_out=2, seed=0, s=None):
    rng = np.random.default_rng(seed)
    X = np.eye(n_in) * np.sqrt(n_in)
    if s is None:
        syx = rng.standard_normal((n_out, n_in))
    else:
        U, _ = np.linalg.qr(rng.standard_normal((n_out, n_out)))
        V, _ = np.linalg.qr(rng.standard_normal((n_in, n_in)))
        m = min(n_in, n_out)
        syx = (U[:, :m] * np.asarray(s, float)) @ V[:, :m].T
    return rl.Task(X, syx @ X)


@pytest.fixture
def setup():
    task = white_task()
    W1, W2 = rl.balanced_init(3, 2, 2, lam=0.5, scale=0.1, seed=1)
    return task, W1, W2


def _is_ours(excinfo, base):
    assert issubclass(excinfo.type, base)
    assert issubclass(excinfo.type, (InputValueError, InputTypeError))


# ---------------------------------------------------------------- Task ------------------------------


@pytest.mark.parametrize(
    "X, Y, exc, name",
    [
        (np.ones(3), np.ones((1, 3)), InputValueError, "`X`"),  # 1-D
        (np.ones((2, 3)), np.ones(3), InputValueError, "`Y`"),
        (np.ones((2, 3, 1)), np.ones((1, 3)), InputValueError, "`X`"),  # 3-D
        (np.array([[1.0, NAN, 0]]), np.ones((1, 3)), InputValueError, "`X`"),
        (np.ones((1, 3)), np.array([[1.0, INF, 0]]), InputValueError, "`Y`"),
        (np.ones((0, 3)), np.ones((1, 3)), InputValueError, "`X`"),  # empty
        (np.ones((2, 3)), np.ones((1, 0)), InputValueError, "`Y`"),
        (np.ones((2, 3)), np.ones((1, 4)), InputValueError, "`X` and `Y`"),  # item count
        ("abc", np.ones((1, 3)), InputTypeError, "`X`"),
        (None, np.ones((1, 3)), InputTypeError, "`X`"),
        ([["a", "b"]], np.ones((1, 2)), InputTypeError, "`X`"),
    ],
)
def test_task_bad_input(X, Y, exc, name):
    with pytest.raises(exc, match=name) as ei:
        rl.Task(X, Y)
    _is_ours(ei, exc)


def test_task_bad_labels_and_name():
    X, Y = np.eye(3), np.ones((1, 3))
    with pytest.raises(InputValueError, match="`labels`"):
        rl.Task(X, Y, labels=["a", "b"])
    with pytest.raises(InputValueError, match="`labels`"):
        rl.Task(X, Y, labels=["a", "a", "b"])
    with pytest.raises(InputTypeError, match="`labels`"):
        rl.Task(X, Y, labels="abc")
    with pytest.raises(InputValueError, match="`feature_names`"):
        rl.Task(X, Y, feature_names=["f", "g"])
    with pytest.raises(InputTypeError, match="`name`"):
        rl.Task(X, Y, name=3)


# ---------------------------------------------------------------- whiten ----------------------------


def test_whiten_bad_input():
    with pytest.raises(InputTypeError, match="`task`"):
        rl.whiten(np.eye(3))
    task = rl.Task(np.eye(3), np.ones((1, 3)))
    for bad in (-1.0, NAN, INF):
        with pytest.raises(InputValueError, match="`rtol`"):
            rl.whiten(task, rtol=bad)
    with pytest.raises(InputTypeError, match="`rtol`"):
        rl.whiten(task, rtol="small")
    with pytest.raises(InputValueError, match="all zeros"):
        rl.whiten(rl.Task(np.zeros((2, 3)), np.ones((1, 3))))


def test_whiten_rank_deficient_input_is_white():
    X = np.array([[1.0, 1, 0, 0], [0, 1, 1, 0], [1, 2, 1, 0]])  # rank 2
    w = rl.whiten(rl.Task(X, np.eye(4)))
    assert w.n_in == 2 and w.whitening.dropped == 1 and w.is_white(1e-10)


# ---------------------------------------------------------------- initialisations -------------------


@pytest.mark.parametrize("fn", ["balanced", "aligned"])
def test_init_bad_input(fn):
    task = white_task(3, 2)

    def call(n_hidden=2, lam=0.0, scale=0.1, **kw):
        if fn == "balanced":
            return rl.balanced_init(kw.get("n_in", 3), n_hidden, kw.get("n_out", 2), lam=lam, scale=scale,
                                    **({"seed": kw["seed"]} if "seed" in kw else {}))
        return rl.task_aligned_init(kw.get("task", task), n_hidden, lam=lam, scale=scale)

    for bad in (0, -3):
        with pytest.raises(InputValueError, match="`n_hidden`"):
            call(n_hidden=bad)
    for bad in (2.5, "2", None, True):
        with pytest.raises(InputTypeError, match="`n_hidden`"):
            call(n_hidden=bad)
    for bad in (NAN, INF, -INF):
        with pytest.raises(InputValueError, match="`lam`"):
            call(lam=bad)
    with pytest.raises(InputTypeError, match="`lam`"):
        call(lam="big")
    for bad in (-0.1, NAN, INF):
        with pytest.raises(InputValueError, match="`scale`"):
            call(scale=bad)
    # infeasible lam for the width: lam > 0 needs n_hidden <= n_out (2); lam < 0 needs n_hidden <= n_in (3)
    with pytest.raises(InputValueError, match="`lam`.*n_hidden <= n_out"):
        call(n_hidden=3, lam=0.5)
    with pytest.raises(InputValueError, match="`lam`.*n_hidden <= n_in"):
        call(n_hidden=4, lam=-0.5)
    if fn == "balanced":
        for name in ("n_in", "n_out"):
            with pytest.raises(InputValueError, match=f"`{name}`"):
                call(**{name: 0})
        with pytest.raises(InputTypeError, match="`seed`"):
            call(seed=-1)
        with pytest.raises(InputTypeError, match="`seed`"):
            call(seed="x")
    else:
        with pytest.raises(InputTypeError, match="`task`"):
            call(task=np.eye(3))


def test_measure_balance_bad_input():
    with pytest.raises(InputValueError, match="`W1`"):
        rl.measure_balance(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(InputValueError, match="`W1`"):
        rl.measure_balance(np.array([[NAN, 1.0]]), np.ones((2, 1)))
    with pytest.raises(InputValueError, match="`W2`"):
        rl.measure_balance(np.ones((1, 2)), np.ones(2))
    with pytest.raises(InputValueError, match="`W2`"):
        rl.measure_balance(np.ones((1, 2)), np.zeros((0, 1)))
    with pytest.raises(InputTypeError, match="`W1`"):
        rl.measure_balance(None, np.ones((2, 1)))


# ---------------------------------------------------------------- exact_dynamics / fixed_point ------


def _solvers():
    return [
        ("exact", lambda task, W1, W2, times=(0.0, 1.0), **kw: rl.exact_dynamics(task, W1, W2, times, **kw)),
        ("fixed", lambda task, W1, W2, times=None, **kw: rl.fixed_point(task, W1, W2, **kw)),
        ("gd", lambda task, W1, W2, times=(0.0, 0.1), **kw: rl.simulate(task, W1, W2, times, **kw)),
        ("flow", lambda task, W1, W2, times=(0.0, 0.1), **kw: rl.simulate(task, W1, W2, times, method="flow", **kw)),
    ]


@pytest.mark.parametrize("label, fn", _solvers())
def test_solvers_bad_weights_and_task(label, fn, setup):
    task, W1, W2 = setup
    with pytest.raises(InputTypeError, match="`task`"):
        fn("task", W1, W2)
    with pytest.raises(InputTypeError, match="`task`"):
        fn(None, W1, W2)
    with pytest.raises(InputValueError, match="`W1`"):
        fn(task, W1[:, :2], W2)  # wrong n_in
    with pytest.raises(InputValueError, match="`W2`"):
        fn(task, W1, np.ones((3, 2)))  # wrong n_out
    with pytest.raises(InputValueError, match="`W1`.*`W2`"):
        fn(task, W1, np.ones((2, 3)))  # hidden sizes disagree
    with pytest.raises(InputValueError, match="`W1`"):
        fn(task, W1.ravel(), W2)
    bad = W1.copy()
    bad[0, 0] = NAN
    with pytest.raises(InputValueError, match="`W1`.*non-finite"):
        fn(task, bad, W2)
    bad = W2.copy()
    bad[0, 0] = INF
    with pytest.raises(InputValueError, match="`W2`.*non-finite"):
        fn(task, W1, bad)
    with pytest.raises(InputValueError, match="`W1`.*empty"):
        fn(task, np.zeros((0, 3)), np.zeros((2, 0)))
    with pytest.raises(InputTypeError, match="`W2`"):
        fn(task, W1, "weights")
    for bad_tau in (0.0, -1.0, NAN, INF):
        with pytest.raises(InputValueError, match="`tau`"):
            fn(task, W1, W2, tau=bad_tau)


@pytest.mark.parametrize("label, fn", [s for s in _solvers() if s[0] != "fixed"])
def test_solvers_bad_times(label, fn, setup):
    task, W1, W2 = setup
    with pytest.raises(InputValueError, match="`times`.*non-negative"):
        fn(task, W1, W2, times=[0.0, -1.0])
    with pytest.raises(InputValueError, match="`times`.*NaN"):
        fn(task, W1, W2, times=[0.0, NAN])
    with pytest.raises(InputValueError, match="`times`.*empty"):
        fn(task, W1, W2, times=[])
    with pytest.raises(InputValueError, match="`times`.*1-dimensional"):
        fn(task, W1, W2, times=[[0.0, 1.0]])
    with pytest.raises(InputTypeError, match="`times`"):
        fn(task, W1, W2, times="0, 1")
    with pytest.raises(InputTypeError, match="`times`"):
        fn(task, W1, W2, times=None)
    if label in ("gd", "flow"):
        with pytest.raises(InputValueError, match="`times`.*inf"):
            fn(task, W1, W2, times=[0.0, INF])


@pytest.mark.parametrize("fn", [rl.exact_dynamics, lambda task, W1, W2, times, **kw: rl.fixed_point(task, W1, W2, **kw)])
def test_exact_assumptions(fn, setup):
    task, W1, W2 = setup
    # A2: unbalanced weights
    rng = np.random.default_rng(0)
    U1, U2 = rng.standard_normal(W1.shape), rng.standard_normal(W2.shape)
    with pytest.raises(AssumptionError, match="A2") as ei:
        fn(task, U1, U2, [1.0])
    assert issubclass(ei.type, ValueError) and "balanced_init" in str(ei.value)
    # A1: non-white inputs
    X = np.array([[1.0, 2, 0], [0, 1, 3], [1, 0, 1]])
    nonwhite = rl.Task(X, np.ones((2, 3)))
    with pytest.raises(AssumptionError, match="`task`.*A1.*whiten"):
        fn(nonwhite, W1, W2, [1.0])
    # tolerances are validated too
    with pytest.raises(InputValueError, match="`balance_tol`"):
        fn(task, W1, W2, [1.0], balance_tol=-1.0)
    with pytest.raises(InputValueError, match="`white_tol`"):
        fn(task, W1, W2, [1.0], white_tol=NAN)
    # and a loose tolerance lets them through
    fn(task, U1, U2, [1.0], balance_tol=1e3)


def test_simulate_bad_options(setup):
    task, W1, W2 = setup
    with pytest.raises(InputValueError, match="`method`.*'gd', 'flow'"):
        rl.simulate(task, W1, W2, [1.0], method="rk4")
    for bad in (0.0, -0.1, NAN, INF):
        with pytest.raises(InputValueError, match="`lr`"):
            rl.simulate(task, W1, W2, [1.0], lr=bad)
    for name in ("rtol", "atol"):
        with pytest.raises(InputValueError, match=f"`{name}`"):
            rl.simulate(task, W1, W2, [1.0], method="flow", **{name: 0.0})
    with pytest.raises(InputValueError, match="`lr`.*too large"):
        rl.simulate(rl.Task(np.eye(2) * np.sqrt(2), 100 * np.eye(2)), np.eye(2), np.eye(2), [10.0], lr=1.0)


def test_simulate_accepts_unbalanced_nonwhite():
    X = np.array([[1.0, 2, 0], [0, 1, 3]])
    task = rl.Task(X, np.ones((1, 3)))
    rng = np.random.default_rng(0)
    sim = rl.simulate(task, 0.1 * rng.standard_normal((2, 2)), 0.1 * rng.standard_normal((1, 2)), [0, 1.0])
    assert np.all(np.isfinite(sim.qqt))


# ---------------------------------------------------------------- numerical edges -------------------

EDGE_TIMES = np.array([0.0, 1e-3, 1.0, 10.0, 1e3, 1e6, 1e12, np.inf])


def _check(task, W1, W2, times=EDGE_TIMES, flow=True):
    res, fails, _ = run_checks(task, W1, W2, times, flow=flow)
    assert not fails, (fails, res)
    return res


@pytest.mark.parametrize("lam", [-1.0, 0.0, 1.0])
def test_repeated_singular_values(lam):
    task = white_task(4, 4, s=[2.0, 2.0, 2.0, 1.0])
    W1, W2 = rl.balanced_init(4, 2, 4, lam=lam, scale=0.1, seed=3)
    _check(task, W1, W2)


@pytest.mark.parametrize("lam", [-0.5, 0.0, 0.5])
@pytest.mark.parametrize("n_hidden", [1, 2, 3])
def test_zero_singular_values_rank_deficient(lam, n_hidden):
    task = white_task(3, 4, s=[1.5, 0.0, 0.0])  # rank 1
    W1, W2 = rl.balanced_init(3, n_hidden, 4, lam=lam, scale=0.2, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _check(task, W1, W2)
        fp = rl.fixed_point(task, W1, W2).w2w1[0]
    # only the one mode of Syx is learned
    assert np.allclose(fp, task.sigma_yx, atol=1e-10)


def test_all_zero_task():
    task = rl.Task(np.eye(2) * np.sqrt(2), np.zeros((3, 2)))
    W1, W2 = rl.balanced_init(2, 4, 3, lam=0.0, scale=1.0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _check(task, W1, W2)
        P = rl.fixed_point(task, W1, W2).qqt[0]
    assert np.linalg.norm(P) <= 1e-12


@pytest.mark.parametrize("shape", [(2, 2, 5), (5, 2, 2), (1, 3, 6), (6, 4, 1)])
def test_lam_zero_unequal_sizes(shape):
    n_in, h, n_out = shape
    task = white_task(n_in, n_out, seed=2)
    W1, W2 = rl.balanced_init(n_in, h, n_out, lam=0.0, scale=0.1, seed=5)
    _check(task, W1, W2)


@pytest.mark.parametrize("scale", [1e-8, 1e-4, 1.0, 1e3])
@pytest.mark.parametrize("lam", [-2.0, 0.0, 2.0])
def test_init_scales(scale, lam):
    task = white_task(3, 3, seed=6, s=[3.0, 1.0, 0.3])
    W1, W2 = rl.balanced_init(3, 2, 3, lam=lam, scale=scale, seed=7)
    _check(task, W1, W2)


@pytest.mark.parametrize("lam", [-1e3, -30.0, 30.0, 1e3])
def test_large_lam(lam):
    task = white_task(3, 3, seed=8)
    W1, W2 = rl.balanced_init(3, 2, 3, lam=lam, scale=0.1, seed=9)
    _check(task, W1, W2, flow=abs(lam) < 100)


def test_huge_times_are_finite_and_converged():
    task = white_task(3, 2, seed=10, s=[2.0, 0.5])
    W1, W2 = rl.balanced_init(3, 1, 2, lam=0.0, scale=0.1, seed=11)
    times = [1e3, 1e7, 1e12, 1e100, 1e300, np.finfo(float).max, np.inf]
    Ps = rl.exact_dynamics(task, W1, W2, times).qqt
    assert np.all(np.isfinite(Ps))
    for P in Ps[1:]:
        assert np.linalg.norm(P - Ps[-1]) <= 1e-12 * np.linalg.norm(Ps[-1])


@pytest.mark.parametrize("n_hidden", [6, 20, 60])
def test_far_wider_than_task(n_hidden):
    task = white_task(2, 3, seed=12)
    W1, W2 = rl.balanced_init(2, n_hidden, 3, lam=0.0, scale=0.1, seed=13)
    traj = rl.exact_dynamics(task, W1, W2, EDGE_TIMES)
    assert traj.factors.shape[2] <= 5  # a thin factor, not n_hidden columns
    _check(task, W1, W2)
    # the whole task is learned
    assert np.allclose(rl.fixed_point(task, W1, W2).w2w1[0], task.sigma_yx, atol=1e-10)


def test_single_units():
    task = rl.Task(np.array([[1.0]]), np.array([[2.0]]))
    for lam in (-1.0, 0.0, 1.0):
        W1, W2 = rl.task_aligned_init(task, 1, lam=lam, scale=0.1)
        _check(task, W1, W2)
        assert np.isclose(rl.fixed_point(task, W1, W2).w2w1[0, 0, 0], 2.0, rtol=1e-12)


def test_zero_weights_stay_zero():
    task = white_task(3, 2)
    W1, W2 = np.zeros((2, 3)), np.zeros((2, 2))
    with pytest.warns(RuntimeWarning, match="invariant manifold"):
        traj = rl.exact_dynamics(task, W1, W2, EDGE_TIMES)
    assert np.all(traj.qqt == 0)


def test_sign_mismatch_saddle_warns():
    """lam = 0, 1x1x1 with W2 W1 < 0 < Syx: the exact flow stays at the saddle and says so."""
    task = rl.Task(np.array([[1.0]]), np.array([[2.0]]))
    W1, W2 = np.array([[0.1]]), np.array([[-0.1]])
    with pytest.warns(RuntimeWarning, match="invariant manifold"):
        P = rl.fixed_point(task, W1, W2).qqt[0]
    assert np.all(np.isfinite(P)) and np.linalg.norm(P) < 1e-12
