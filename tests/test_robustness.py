"""Bad input gives a clear error naming the argument; numerical edges give finite, valid answers.

Covers the core: Task, whiten, balanced_init, task_aligned_init, measure_balance,
exact_dynamics, fixed_point, simulate; and the later layers: rdms_from_matrices / make_rdms /
to_rdms, LinearNetworkModel (item labels, sizes, comparison methods), compare_model, score_grid,
fit_rdms, score_matrix, evaluate_hypotheses / width_models / compare_widths / compare_regimes, and the
dataset loaders.
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


# ================================================================ later layers: RDMs, models, fitting ======
# (issue 6) mismatched item labels, wrong sizes, empty inputs, unknown methods, bad loader arguments


@pytest.fixture(scope="module")
def rsa_setup():
    task = rl.hierarchical_task(depth=2)  # 4 items: item_0_0, item_0_1, item_1_0, item_1_1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        model = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0)
    data = model.predict_rdm([0.4])
    return task, model, data, data.get_matrices()[0], list(task.labels)


def _swapped(labels):
    """Item 1 and 2 exchanged: breaks the tree (unlike reversing, which is a symmetry of it)."""
    return [labels[0], labels[2], labels[1], labels[3]]


UNKNOWN_METHOD = "pearson"  # not an rsatoolbox comparison method (its name is "corr")


# ---------------------------------------------------------------- rdms_from_matrices / make_rdms -----


@pytest.mark.parametrize(
    "matrices, exc, match",
    [
        (np.ones((3, 4)), InputValueError, "`matrices`.*not square"),
        (np.ones((2, 3, 4)), InputValueError, "`matrices`.*square"),
        (np.array([[0.0, 1, 2], [1.5, 0, 3], [2, 3, 0]]), InputValueError, "`matrices`.*symmetric"),
        (np.array([[NAN, 1, 2], [1, 0, 3], [2, 3, 0]]), InputValueError, "`matrices`.*NaN"),
        (np.array([[1.0, 1, 2], [1, 0, 3], [2, 3, 0]]), InputValueError, "`matrices`.*zero on the diagonal"),
        (np.where(np.eye(3) > 0, 0.0, INF), InputValueError, "`matrices`.*inf"),
        (np.zeros((0, 0)), InputValueError, "`matrices`.*at least 2"),
        ([], InputValueError, "`matrices`"),
        (np.zeros((1, 1)), InputValueError, "`matrices`.*at least 2"),
        (np.ones(3), InputValueError, "`matrices`.*shape"),
        (np.zeros((1, 1, 3, 3)), InputValueError, "`matrices`.*shape"),
        ([["a", "b"], ["c", "d"]], InputTypeError, "`matrices`"),
        (None, InputTypeError, "`matrices`"),
        ("0 1; 1 0", InputTypeError, "`matrices`"),
    ],
)
def test_rdms_from_matrices_bad_input(matrices, exc, match):
    with pytest.raises(exc, match=match) as ei:
        rl.rdms_from_matrices(matrices)
    _is_ours(ei, exc)


def test_rdms_from_matrices_bad_stack_and_labels(rsa_setup):
    _, _, _, D, lab = rsa_setup
    bad = np.stack([D, D + np.triu(np.ones((4, 4)), 1)])  # second matrix asymmetric
    with pytest.raises(InputValueError, match="`matrices`.*symmetric.*matrix 1"):
        rl.rdms_from_matrices(bad)
    with pytest.raises(InputValueError, match="`labels`.*4 entries"):
        rl.rdms_from_matrices(D, labels=lab[:2])
    with pytest.raises(InputValueError, match="`labels`.*unique"):
        rl.rdms_from_matrices(D, labels=lab[:3] + lab[:1])
    with pytest.raises(InputTypeError, match="`labels`"):
        rl.rdms_from_matrices(D, labels="abcd")
    with pytest.raises(InputValueError, match="`matrices`.*shape \\(n, N, N\\)"):
        rl.make_rdms(D)  # the gate itself takes stacks only
    with pytest.raises(InputValueError, match="`rdm_descriptors\\['t'\\]`"):
        rl.make_rdms(D[None], rdm_descriptors={"t": [1, 2]})
    with pytest.raises(InputValueError, match="`pattern_descriptors\\['t'\\]`"):
        rl.make_rdms(D[None], pattern_descriptors={"t": [1, 2]})
    with pytest.raises(InputTypeError, match="`descriptors`"):
        rl.make_rdms(D[None], descriptors=["not", "a", "dict"])


# ---------------------------------------------------------------- to_rdms and representations -------


def test_to_rdms_unknown_representation_and_measure():
    task = white_task(3, 2)
    W1, W2 = rl.task_aligned_init(task, 2, lam=0.0, scale=0.1)
    traj = rl.exact_dynamics(task, W1, W2, [0.0, 1.0])
    with pytest.raises(InputValueError, match="`representation`.*'hidden', 'output', 'ntk', 'prediction'"):
        rl.to_rdms(traj, representation="latent")
    with pytest.raises(InputValueError, match="`measure`.*'euclidean', 'cosine', 'correlation'"):
        rl.to_rdms(traj, measure="manhattan")
    with pytest.raises(InputTypeError, match="`traj`"):
        rl.to_rdms(np.eye(3))
    with pytest.raises(InputValueError, match="`rcond`"):
        rl.to_rdms(traj, representation="output", rcond=-1.0)
    with pytest.raises(InputTypeError, match="`descriptors`"):
        rl.to_rdms(traj, descriptors="task")
    with pytest.raises(InputValueError, match="`representation`"):
        rl.representation_gram(traj, representation="latent")
    with pytest.raises(InputValueError, match="`measure`"):
        rl.trajectory_rdms(traj, measure="manhattan")
    with pytest.raises(InputValueError, match="`measure`"):
        rl.gram_to_rdm(np.eye(3), measure="manhattan")


# ---------------------------------------------------------------- LinearNetworkModel: labels and sizes


def test_model_item_order_bad(rsa_setup):
    task, _, _, D, lab = rsa_setup
    unknown = rl.rdms_from_matrices(D, labels=[f"x{i}" for i in range(4)])
    with pytest.raises(InputValueError, match="`item_order`.*'x0'.*task does not have"):
        rl.LinearNetworkModel(task, n_hidden=2, item_order=unknown)
    with pytest.raises(InputValueError, match="`item_order`.*'x0'"):
        rl.LinearNetworkModel(task, n_hidden=2, item_order=["x0", "x1", "x2"])
    with pytest.raises(InputValueError, match="`item_order`.*at least 3"):
        rl.LinearNetworkModel(task, n_hidden=2, item_order=lab[:2])
    with pytest.raises(InputValueError, match="`item_order`.*at least 3.*got 0"):
        rl.LinearNetworkModel(task, n_hidden=2, item_order=[])
    with pytest.raises(InputValueError, match="`item_order`.*repeated"):
        rl.LinearNetworkModel(task, n_hidden=2, item_order=lab[:3] + lab[:1])
    with pytest.raises(InputTypeError, match="`item_order`"):
        rl.LinearNetworkModel(task, n_hidden=2, item_order="item_0_0")
    data = rl.rdms_from_matrices(D, labels=lab)
    with pytest.raises(InputValueError, match="`label_descriptor`.*'conds'"):
        rl.LinearNetworkModel(task, n_hidden=2, item_order=data, label_descriptor="conds")
    from rsatoolbox.rdm import RDMs

    with pytest.raises(InputValueError, match="`item_order`.*no item labels"):
        rl.LinearNetworkModel(task, n_hidden=2, item_order=RDMs(np.ones((1, 6))))
    with pytest.raises(InputValueError, match="`representation`"):
        rl.LinearNetworkModel(task, 2, representation="latent")
    with pytest.raises(InputValueError, match="`measure`"):
        rl.LinearNetworkModel(task, 2, measure="manhattan")


def test_model_fit_mismatched_labels_and_size(rsa_setup):
    from rsatoolbox.rdm import RDMs

    _, model, _, D, lab = rsa_setup
    swapped = rl.rdms_from_matrices(D, labels=_swapped(lab))
    with pytest.raises(InputValueError, match="do not match the model's predictions by label.*condition 1"):
        model.fit(swapped, method="corr")
    unknown = rl.rdms_from_matrices(D, labels=[f"x{i}" for i in range(4)])
    with pytest.raises(InputValueError, match="by label.*'x0'"):
        model.fit(unknown, method="corr")
    small = rl.rdms_from_matrices(D[:3, :3], labels=lab[:3])
    with pytest.raises(InputValueError, match="3 conditions but the model predicts 4.*item_order"):
        model.fit(small, method="corr")
    # more conditions than the task has items: no item_order can fix that, so the error does not suggest it
    with pytest.raises(InputValueError, match=r"5 conditions but the model's task has only 4 items.*no item_order"):
        model.fit(RDMs(np.ones((1, 10))), method="corr")  # no labels, wrong size
    with pytest.raises(InputTypeError, match="`data`"):
        model.fit(D, method="corr")
    with pytest.raises(InputValueError, match="`theta`.*1 entries"):
        model.predict([0.0, 0.4])
    with pytest.raises(InputValueError, match="`theta`.*finite"):
        model.predict_rdm([NAN])


def test_compare_model_mismatched_labels(rsa_setup):
    _, model, _, D, lab = rsa_setup
    swapped = rl.rdms_from_matrices(D, labels=_swapped(lab))
    with pytest.raises(InputValueError, match="by label"):
        rl.compare_model(model, swapped, [0.4], method="corr")
    small = rl.rdms_from_matrices(D[:3, :3], labels=lab[:3])
    with pytest.raises(InputValueError, match="conditions"):
        rl.compare_model(model, small, [0.4], method="corr")
    with pytest.raises(InputTypeError, match="`model`"):
        rl.compare_model("model", small, [0.4], method="corr")


def test_compare_model_matches_by_label_and_subsamples(rsa_setup):
    _, model, data, D, lab = rsa_setup
    theta = [np.log10(0.4)]
    assert rl.compare_model(model, data, theta, method="corr") == pytest.approx(1.0)
    # rsatoolbox's subsampling (as in crossvalidation): the prediction is subsampled the same way
    sub = data.subsample_pattern("item", lab[:3])
    assert rl.compare_model(model, sub, theta, method="corr", pattern_idx=lab[:3],
                            pattern_descriptor="item") == pytest.approx(1.0)
    with pytest.raises(InputValueError, match="3 conditions but the model predicts 4"):
        rl.compare_model(model, sub, theta, method="corr")


def test_comparison_methods_are_rsatoolbox_names():
    from rsatoolbox.rdm import compare

    from rsa_lineardyn._validation import COMPARISON_METHODS, check_comparison_method

    rng = np.random.default_rng(0)
    pts = rng.standard_normal((2, 4, 3))  # squared Euclidean RDMs of random points (valid for every method)
    v = np.stack([((p[:, None] - p[None]) ** 2).sum(-1)[np.triu_indices(4, 1)] for p in pts])
    for m in COMPARISON_METHODS:  # each is accepted by rsatoolbox (no "Unknown RDM comparison method")
        assert np.asarray(compare(v[:1], v[1:], method=m)).shape == (1, 1)
        assert check_comparison_method(m) == m
    with pytest.raises(InputValueError, match="`method`.*'bures_metric'.*'pearson'"):
        check_comparison_method("pearson")
    with pytest.raises(InputTypeError, match="`how`"):
        check_comparison_method(None, "how")


# ---------------------------------------------------------------- unknown comparison methods --------


def _method_calls(rsa_setup):
    task, model, data, _, _ = rsa_setup
    return [
        ("LinearNetworkModel.fit", lambda m: model.fit(data, method=m)),
        ("fit_linear_network", lambda m: rl.fit_linear_network(model, data, method=m)),
        ("score_times", lambda m: model.score_times(data, [0.0], method=m)),
        ("score_grid", lambda m: rl.score_grid(model, data, [0.0], method=m)),
        ("compare_model", lambda m: rl.compare_model(model, data, [0.4], method=m)),
        ("compare_widths", lambda m: rl.compare_widths(data, task, widths=[2], method=m, n_boot=2)),
        ("compare_regimes", lambda m: rl.compare_regimes(data, task, method=m, n_boot=2)),
    ]


@pytest.mark.parametrize("which", range(7))
def test_model_unknown_method(rsa_setup, which):
    name, call = _method_calls(rsa_setup)[which]
    with pytest.raises(InputValueError, match="`method`.*'corr'"):
        call(UNKNOWN_METHOD)


def test_fit_rdms_unknown_method(rsa_setup):
    task, _, data, _, _ = rsa_setup
    with pytest.raises(InputValueError, match="`method`.*'corr'"):
        rl.fit_rdms(data, task, n_hidden=[2], method=UNKNOWN_METHOD, n_boot=0, refine=False)


@pytest.mark.parametrize(
    "pred, data, method, match",
    [
        (np.ones((1, 3)), np.ones((1, 3)), UNKNOWN_METHOD, "`method`"),
        (np.ones((1, 3)), np.ones((1, 4)), "corr", "`pred`.*`data`"),
        (np.ones((0, 3)), np.ones((1, 3)), "corr", "`pred`.*empty"),
        (np.ones((1, 3)), np.ones((0, 3)), "corr", "`data`.*empty"),
        (np.ones((1, 2, 3)), np.ones((1, 3)), "corr", "`pred`.*dimensional"),
    ],
)
def test_score_matrix_bad_input(pred, data, method, match):
    with pytest.raises(InputValueError, match=match):
        rl.score_matrix(pred, data, method=method)


def test_fit_rdms_bad_input(rsa_setup):
    from rsatoolbox.rdm import RDMs

    task, _, data, D, _ = rsa_setup
    kw = dict(n_boot=0, refine=False)
    with pytest.raises(InputTypeError, match="`method`"):
        rl.fit_rdms(data, task, n_hidden=[2], method=3, **kw)
    with pytest.raises(InputTypeError, match="`data_rdms`.*rdms_from_matrices"):
        rl.fit_rdms(D, task, n_hidden=[2], **kw)
    with pytest.raises(InputTypeError, match="`task`"):
        rl.fit_rdms(data, np.eye(4), n_hidden=[2], **kw)
    with pytest.raises(InputValueError, match="`n_hidden` is empty"):
        rl.fit_rdms(data, task, n_hidden=[], **kw)
    with pytest.raises(InputValueError, match="`lam`"):
        rl.fit_rdms(data, task, n_hidden=[2], lam=[], **kw)
    unknown = rl.rdms_from_matrices(D, labels=[f"x{i}" for i in range(4)])
    with pytest.raises(InputValueError, match=r"`data_rdms` has condition label\(s\) \[.x0.*not items of the task"):
        rl.fit_rdms(unknown, task, n_hidden=[2], **kw)
    with pytest.raises(InputValueError, match="no item labels"):
        rl.fit_rdms(RDMs(np.ones((1, 10))), task, n_hidden=[2], **kw)  # unlabelled, 5 conditions for a 4-item task


@pytest.mark.parametrize("kw, name", [({"log10_times": []}, "log10_times"), ({"lams": []}, "lams"),
                                      ({"log10_scales": []}, "log10_scales")])
def test_score_grid_empty(rsa_setup, kw, name):
    task, _, data, _, _ = rsa_setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        free = rl.LinearNetworkModel(task, n_hidden=2)
    args = {"log10_times": [0.0], "lams": [0.0], "log10_scales": None}
    args.update(kw)
    with pytest.raises(InputValueError, match=f"`{name}`.*empty"):
        rl.score_grid(free, data, args["log10_times"], lams=args["lams"], log10_scales=args["log10_scales"])


def test_score_grid_bad_axes(rsa_setup):
    _, model, data, _, _ = rsa_setup
    with pytest.raises(InputValueError, match="`log10_times`.*finite"):
        rl.score_grid(model, data, [0.0, NAN])
    with pytest.raises(InputValueError, match="`log10_times`.*1-dimensional"):
        rl.score_grid(model, data, [[0.0]])
    with pytest.raises(InputTypeError, match="`lams`"):
        rl.score_grid(model, data, [0.0], lams="0")
    assert rl.score_grid(model, data, 0.0, lams=0.0).shape == (1, 1, 1)  # scalars are one grid point


# ---------------------------------------------------------------- hypotheses -------------------------


def test_evaluate_hypotheses_unknown_method(rsa_setup):
    task, model, data, _, _ = rsa_setup
    with pytest.raises(InputValueError, match="`method`"):
        rl.evaluate_hypotheses(data, [model], task, method=UNKNOWN_METHOD, progress=False)


def test_width_models_empty(rsa_setup):
    task, _, data, _, _ = rsa_setup
    with pytest.raises(InputValueError, match="`widths`"):
        rl.width_models(task, data, widths=())


def test_hypotheses_bad_input(rsa_setup):
    from rsatoolbox.rdm import RDMs

    task, model, data, D, _ = rsa_setup
    with pytest.raises(InputTypeError, match="`hypotheses`.*non-empty"):
        rl.evaluate_hypotheses(data, [], task)
    with pytest.raises(InputTypeError, match="`data_rdms`"):
        rl.evaluate_hypotheses(D, [model], task)
    with pytest.raises(InputValueError, match="`n_boot`"):
        rl.evaluate_hypotheses(data, [model], task, n_boot=-1)
    with pytest.raises(InputTypeError, match="`task`"):
        rl.evaluate_hypotheses(data, [model], "task")
    with pytest.raises(InputValueError, match=r"`data_rdms` has no item labels.*pattern_descriptors\[.item.\]"):
        rl.width_models(task, RDMs(np.ones((1, 10))))


# ---------------------------------------------------------------- loaders -----------------------------


def test_loaders_bad_arguments():
    with pytest.raises(InputValueError, match="`which`.*'hIT', 'hIT_subject_session'"):
        rl.load_92images_rdms("hit")
    with pytest.raises(InputTypeError, match="`which`"):
        rl.load_92images_rdms(3)
    with pytest.raises(InputValueError, match="`structure`.*'tree', 'categories', 'flags'"):
        rl.load_92images_task(structure="flat")
    with pytest.raises(InputTypeError, match="`include_root`"):
        rl.load_92images_task(include_root="yes")
    with pytest.raises(InputTypeError, match="`item_features`"):
        rl.load_92images_task(item_features=2)
    with pytest.raises(InputValueError, match="`form`.*'items', 'item_relation'"):
        rl.load_semantic_task(form="xyz")
    with pytest.raises((InputValueError, InputTypeError), match="`form`"):
        rl.load_semantic_task(form=1)


# ---------------------------------------------------------------- issue 13 ---------------------------


@pytest.fixture(scope="module")
def sem_hidden():
    sem = rl.load_semantic_task()
    M = rl.LinearNetworkModel(sem, 3, init="aligned").predict_rdm([0.0, 0.3]).get_matrices()[0]
    return sem, M


@pytest.mark.parametrize("factor", [1e300, 1e160, 1e-300])
def test_scale_free_fit_ignores_data_units(sem_hidden, factor):
    sem, M = sem_hidden
    fit = lambda f: rl.fit_rdms(rl.rdms_from_matrices(M * f, labels=sem.labels), sem, n_hidden=[1, 2, 3],
                                n_boot=0, start_check="flag")
    ref, got = fit(1.0).best, fit(factor).best
    assert got["n_hidden"] == ref["n_hidden"]
    assert got["score"] == pytest.approx(ref["score"], abs=1e-9)
    for method in ("corr", "cosine", "spearman"):
        thetas = []
        for f in (1.0, factor):
            data = rl.rdms_from_matrices(M * f, labels=sem.labels)
            model = rl.LinearNetworkModel(sem, 3, init="aligned", item_order=data)
            thetas.append(np.asarray(model.fit(data, method=method)))
        np.testing.assert_allclose(thetas[1], thetas[0], atol=1e-8)


def test_scale_free_score_matrix_ignores_units():
    rng = np.random.default_rng(0)
    p, d = rng.random((2, 10)), rng.random((3, 10))
    for method in ("corr", "cosine", "spearman", "corr_cov", "cosine_cov", "tau-a", "rho-a"):
        ref = rl.score_matrix(p, d, method=method)
        for f in (1e300, 1e-300):
            np.testing.assert_allclose(rl.score_matrix(p * f, d * f, method=method), ref, atol=1e-9)


def _with_pair(data, rdm, i, j, value):
    """A copy of ``data`` (rsatoolbox RDMs) with the pair (i, j) of RDM ``rdm`` set to ``value``."""
    out = data.copy()
    iu = np.triu_indices(out.n_cond, k=1)
    p = int(np.flatnonzero((iu[0] == i) & (iu[1] == j))[0])
    out.dissimilarities[rdm, p] = value
    return out


@pytest.mark.parametrize("bad", [INF, -INF])
def test_infinite_dissimilarity_is_an_input_error(sem_hidden, bad):
    sem, M = sem_hidden
    good = rl.rdms_from_matrices(np.stack([M, M]), labels=sem.labels)
    data = _with_pair(good, 1, 1, 4, bad)
    lab = rf"\({sem.labels[1]!r}, {sem.labels[4]!r}\)"
    match = rf"`data_rdms` contains 1 infinite .* RDM 1 between conditions 1 and 4 {lab}.*NaN"
    with pytest.raises(InputValueError, match=match):
        rl.fit_rdms(data, sem, n_hidden=[1, 2], n_boot=0)
    with pytest.raises(InputValueError, match=match):
        rl.evaluate_hypotheses(data, rl.width_models(sem, data, [1, 2]), sem)
    with pytest.raises(InputValueError, match=match):
        rl.compare_widths(data, sem, widths=(1, 2))
    with pytest.raises(InputValueError, match=match):
        rl.compare_regimes(data, sem, n_hidden=2)
    model = rl.LinearNetworkModel(sem, 2, item_order=data)
    with pytest.raises(InputValueError, match=r"`data` contains 1 infinite .* RDM 1 between conditions 1 and 4"):
        model.fit(data, method="corr")
    # NaN stays a missing pair
    assert np.all(np.isfinite(model.fit(_with_pair(good, 1, 1, 4, NAN), method="corr")))


@pytest.mark.parametrize("stages", [[0.0, INF], [0.0, NAN], [1.0, -INF]])
def test_non_finite_stage_values(sem_hidden, stages):
    sem, M = sem_hidden
    data = rl.rdms_from_matrices(np.stack([M, M]), labels=sem.labels)
    data.rdm_descriptors["stage"] = np.array(stages)
    with pytest.raises(InputValueError, match=r"`stage_descriptor`.*'stage'.*non-finite.*finite number"):
        rl.fit_rdms(data, sem, n_hidden=[1, 2], n_boot=0)
    with pytest.raises(InputValueError, match=r"`stage_descriptor`.*non-finite"):
        rl.fit_rdms(data, sem, n_hidden=[1, 2], n_boot=0, stage_descriptor="stage", time_map="free")


def test_complex_input_is_refused(setup, sem_hidden):
    task, W1, W2 = setup
    X, Y = task.X, task.Y
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning may leak
        with pytest.raises(InputTypeError, match=r"`X` holds complex numbers.*np.real"):
            rl.Task(X + 1e-3j, Y)
        with pytest.raises(InputTypeError, match=r"`Y` holds complex numbers"):
            rl.Task(X, Y.astype(complex))
        with pytest.raises(InputTypeError, match=r"`W1` holds complex numbers"):
            rl.exact_dynamics(task, W1 * (1 + 1j), W2, [0.0, 1.0])
        with pytest.raises(InputTypeError, match=r"`W2` holds complex numbers"):
            rl.simulate(task, W1, W2 * (1 + 0j), [0.0, 1.0])
        with pytest.raises(InputTypeError, match=r"`W1` holds complex numbers"):
            rl.measure_balance(W1.astype(complex), W2)
        with pytest.raises(InputTypeError, match=r"`times` holds complex numbers"):
            rl.exact_dynamics(task, W1, W2, np.array([0.0, 1.0 + 1j]))
        with pytest.raises(InputTypeError, match=r"`scale` holds complex numbers"):
            rl.balanced_init(3, 2, 2, scale=0.1 + 0j)
        sem, M = sem_hidden
        with pytest.raises(InputTypeError, match=r"`matrices` holds complex numbers"):
            rl.rdms_from_matrices(M * (1 + 1j), labels=sem.labels)
        with pytest.raises(InputTypeError, match=r"`gram` holds complex numbers"):
            rl.gram_to_rdm(np.eye(3) * 1j)
        with pytest.raises(InputTypeError, match=r"`data` holds complex numbers"):
            rl.score_matrix(np.ones((1, 3)), np.array([[1, 2, 3j]]))
        data = rl.rdms_from_matrices(M, labels=sem.labels)
        data.dissimilarities = data.dissimilarities * (1 + 1j)
        with pytest.raises(InputTypeError, match=r"`data_rdms` holds complex numbers"):
            rl.fit_rdms(data, sem, n_hidden=[1], n_boot=0)


def test_task_from_dataframe_duplicated_index():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"grow": [1, 1, 1], "fly": [1, 0, 0]}, index=["canary", "salmon", "oak"])
    inputs = pd.DataFrame({"a": [1.0, 0, 0, 5], "b": [0, 1.0, 0, 5], "c": [0, 0, 1.0, 5]},
                          index=["canary", "salmon", "oak", "oak"])
    with pytest.raises(InputValueError,
                       match=r"`inputs` index must name each item once; it has repeated labels \[.oak.\]"):
        rl.task_from_dataframe(df, inputs=inputs)
    with pytest.raises(InputValueError, match=r"`features` index .* repeated labels \['canary'\].*groupby"):
        rl.task_from_dataframe(df.rename(index={"salmon": "canary"}))
    task = rl.task_from_dataframe(df, inputs=inputs.iloc[:3])
    np.testing.assert_allclose(task.X, np.eye(3))


@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_gram_to_rdm_non_finite(value):
    for measure in ("euclidean", "cosine"):
        with pytest.raises(InputValueError, match=r"`gram` contains 9 non-finite value\(s\)"):
            rl.gram_to_rdm(np.full((3, 3), value), measure)
    G = np.eye(3)
    G[0, 1] = value
    with pytest.raises(InputValueError, match=r"`gram` contains 1 non-finite"):
        rl.gram_to_rdm(np.stack([np.eye(3), G]))


def test_scale_free_hypothesis_tests_ignore_data_units(sem_hidden):
    sem, M = sem_hidden
    rng = np.random.default_rng(0)
    S = []
    for _ in range(4):
        E = rng.random(M.shape) * 0.1 * M.max()
        E = E + E.T
        np.fill_diagonal(E, 0.0)
        S.append(M + E)
    S = np.stack(S)
    tables = []
    for f in (1.0, 1e300):
        data = rl.rdms_from_matrices(S * f, labels=sem.labels, rdm_descriptors={"subject": np.arange(4)})
        tables.append(rl.compare_widths(data, sem, widths=(1, 3)).table)
    assert tables[1]["n_valid_units"].tolist() == tables[0]["n_valid_units"].tolist() == [4, 4, 4]
    np.testing.assert_allclose(tables[1]["mean"], tables[0]["mean"], atol=1e-12)
