"""Synthetic task generators: structure, spectra, whiteness, seeds and input checks."""

from __future__ import annotations

import numpy as np
import pytest

import rsa_lineardyn as rl


def _tree_eigenvalues(depth, b, include_root, include_leaves):
    """Closed-form eigenvalues of Y^T Y for a balanced tree (one feature per kept node).

    A node at level l covers b**(depth - l) leaves. The uniform mode collects
    every kept level; the mode that splits the children of a level-k node
    (multiplicity b**k (b - 1)) collects the kept levels below k.
    """
    levels = [lvl for lvl in range(depth + 1)
              if (lvl > 0 or include_root) and (lvl < depth or include_leaves)]
    eig = [sum(b ** (depth - lvl) for lvl in levels)]
    for k in range(depth):
        eig += [sum(b ** (depth - lvl) for lvl in levels if lvl > k)] * (b ** k * (b - 1))
    return np.sort(eig)[::-1]


@pytest.mark.parametrize("depth, b", [(1, 2), (2, 2), (3, 2), (2, 3), (3, 4)])
@pytest.mark.parametrize("include_root", [True, False])
@pytest.mark.parametrize("include_leaves", [True, False])
def test_tree_singular_values_match_hierarchy(depth, b, include_root, include_leaves):
    if depth == 1 and not include_root and not include_leaves:
        pytest.skip("no features; tested separately")
    task = rl.hierarchical_task(depth, b, include_root=include_root, include_leaves=include_leaves)
    P = b ** depth
    assert task.P == task.n_in == P and task.is_white(tol=1e-12)
    n_nodes = sum(b ** lvl for lvl in range(depth + 1)) - (not include_root) - (not include_leaves) * P
    assert task.n_out == n_nodes
    s = task.singular_values
    expected = np.sqrt(_tree_eigenvalues(depth, b, include_root, include_leaves) / P)
    np.testing.assert_allclose(s, expected[: s.size], atol=1e-12)


def test_tree_labels_features_and_per_level_branching():
    task = rl.hierarchical_task(2, [2, 3])
    assert task.P == 6 and task.n_out == 1 + 2 + 6
    assert task.labels[:4] == ("item_0_0", "item_0_1", "item_0_2", "item_1_0")
    assert task.feature_names[:4] == ("root", "n0", "n1", "n0_0")
    Y = dict(zip(task.feature_names, task.Y))
    assert Y["n1"].tolist() == [0, 0, 0, 1, 1, 1]
    assert Y["n0_2"].tolist() == [0, 0, 1, 0, 0, 0]
    assert task.name == "tree(depth=2, branching=(2, 3))"
    # the tree learned first is the broadest split: top singular vector after the uniform one splits n0 / n1
    U, s, Vt = task.svd()
    v = Vt[1] * np.sign(Vt[1, 0])
    np.testing.assert_allclose(v, np.r_[np.ones(3), -np.ones(3)] / np.sqrt(6), atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(depth=0), rl.InputValueError, "`depth` must be >= 1"),
        (dict(depth=2, branching=1), rl.InputValueError, "`branching` must be >= 2"),
        (dict(depth=2, branching=[2, 2, 2]), rl.InputValueError, "one entry per level"),
        (dict(depth=2, branching="2"), rl.InputTypeError, "`branching` must be an int or a sequence"),
        (dict(depth=2.5), rl.InputTypeError, "`depth` must be an integer"),
        (dict(depth=2, include_root="no"), rl.InputTypeError, "`include_root` must be True or False"),
        (dict(depth=1, include_root=False, include_leaves=False), rl.InputValueError, "no features"),
        (dict(depth=20, branching=2), rl.InputValueError, "100000"),
    ],
)
def test_tree_input_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        rl.hierarchical_task(**kwargs)


def test_random_regression_spectrum_and_whiteness():
    task = rl.random_regression_task([0.5, 3.0, 1.0], n_in=4, n_out=6, seed=1)
    assert (task.n_in, task.n_out, task.P) == (4, 6, 4) and task.is_white(tol=1e-12)
    np.testing.assert_allclose(task.singular_values, [3.0, 1.0, 0.5, 0.0], atol=1e-12)
    many = rl.random_regression_task([2.0, 1.0], n_in=3, n_out=2, n_items=50, seed=2)
    assert many.P == 50 and many.is_white(tol=1e-10)
    np.testing.assert_allclose(many.singular_values, [2.0, 1.0], atol=1e-12)
    # the singular vectors are random, not axis-aligned
    assert np.count_nonzero(np.abs(task.sigma_yx) > 1e-8) > task.n_out


def test_random_regression_seed():
    a = rl.random_regression_task([1.0, 2.0], n_items=5, seed=7)
    b = rl.random_regression_task([1.0, 2.0], n_items=5, seed=7)
    c = rl.random_regression_task([1.0, 2.0], n_items=5, seed=8)
    np.testing.assert_array_equal(a.Y, b.Y)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.allclose(a.Y, c.Y)
    g = rl.random_regression_task([1.0], seed=np.random.default_rng(0))
    assert g.P == 1


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        (([1.0, -1.0],), {}, rl.InputValueError, "`singular_values` must be finite and >= 0"),
        (([],), {}, rl.InputValueError, "non-empty"),
        (("abc",), {}, rl.InputTypeError, "not a string"),
        (([1.0, 2.0],), dict(n_in=1), rl.InputValueError, "`n_in` must be >= len"),
        (([1.0, 2.0],), dict(n_out=1), rl.InputValueError, "`n_out` must be >= len"),
        (([1.0, 2.0],), dict(n_in=3, n_items=2), rl.InputValueError, "`n_items` must be >= `n_in`"),
        (([1.0],), dict(seed=-1), rl.InputTypeError, "`seed`"),
    ],
)
def test_random_regression_errors(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        rl.random_regression_task(*args, **kwargs)


def test_student_teacher_noise_free_recovers_teacher():
    task, W = rl.student_teacher_task(5, 3, 20, seed=0, return_teacher=True)
    assert (task.n_in, task.n_out, task.P) == (5, 3, 20) and task.is_white(tol=1e-10)
    np.testing.assert_allclose(task.sigma_yx, W, atol=1e-12)
    low, W2 = rl.student_teacher_task(6, 4, 6, teacher_rank=2, seed=0, return_teacher=True)
    assert np.linalg.matrix_rank(W2) == 2 and low.rank() == 2
    np.testing.assert_allclose(low.X, np.sqrt(6) * np.eye(6))


def test_student_teacher_noise_and_seed():
    t1, W = rl.student_teacher_task(4, 2, 4000, noise=0.5, seed=3, return_teacher=True)
    resid = t1.Y - W @ t1.X
    assert abs(resid.std() - 0.5) < 0.02
    t2 = rl.student_teacher_task(4, 2, 4000, noise=0.5, seed=3)
    np.testing.assert_array_equal(t1.Y, t2.Y)
    assert "seed=3" in t2.name
    # scale: teacher entries have variance teacher_scale**2 / n_in
    _, Wbig = rl.student_teacher_task(400, 300, 400, teacher_scale=2.0, seed=0, return_teacher=True)
    assert abs(Wbig.var() - 4.0 / 400) < 1e-3


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(n_in=5, n_out=2, n_items=3), rl.InputValueError, "`n_items` must be >= `n_in`"),
        (dict(n_in=3, n_out=2, n_items=3, teacher_rank=3), rl.InputValueError, "`teacher_rank` must be <="),
        (dict(n_in=3, n_out=2, n_items=3, noise=-0.1), rl.InputValueError, "`noise` must be >= 0"),
        (dict(n_in=3, n_out=2, n_items=3, teacher_scale=np.nan), rl.InputValueError, "`teacher_scale`"),
        (dict(n_in=0, n_out=2, n_items=3), rl.InputValueError, "`n_in` must be >= 1"),
        (dict(n_in=3, n_out=2, n_items=3, return_teacher=1), rl.InputTypeError, "`return_teacher`"),
        (dict(n_in=3, n_out=2, n_items=3, seed="a"), rl.InputTypeError, "`seed`"),
    ],
)
def test_student_teacher_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        rl.student_teacher_task(**kwargs)
