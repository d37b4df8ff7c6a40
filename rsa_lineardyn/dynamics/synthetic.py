"""Synthetic task generators: hierarchies, chosen spectra, student-teacher.

Every generator returns a :class:`~rsa_lineardyn.Task` with item labels and
feature names. Unless stated otherwise the inputs are white
(``Sxx = X X^T / P = I``), so the exact solver applies directly. Randomness
comes only from ``seed``, which can be None, an int or a
``numpy.random.Generator``.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from .._validation import (
    MAX_SQUARED,
    InputTypeError,
    InputValueError,
    check_bool,
    check_magnitude,
    check_memory,
    check_nonneg_array,
    check_positive_int,
    check_rng,
)
from .task import Task

__all__ = ["hierarchical_task", "random_regression_task", "student_teacher_task"]


#: Deepest tree accepted: a tree with branching >= 2 has at least ``2**depth`` items, and beyond 2**16 items its
#: ``X`` (P x P) alone exceeds the memory limit.
MAX_DEPTH = 16
#: Most items accepted for a tree (its ``X`` is P x P).
MAX_TREE_ITEMS = 100_000


def _check_name(name):
    if name is not None and not isinstance(name, str):
        raise InputTypeError(f"`name` must be a string or None, got {name!r} ({type(name).__name__}).")
    return name


def _check_spread(value, name):
    """A standard deviation (teacher scale, noise): finite, >= 0 and at most MAX_SQUARED (its square enters Y Y^T)."""
    return check_magnitude(value, name, max_abs=MAX_SQUARED,
                           why="the task statistic Y Y^T / P holds its square, which would overflow double precision",
                           fix="Only ratios matter up to the time unit: divide every scale by the same constant.")


def _check_size(value, name):
    """A task dimension: an int >= 1 (the memory of the arrays it sizes is checked afterwards)."""
    return check_positive_int(value, name, minimum=1)


def _check_task_memory(n_in, n_out, P, fix):
    """Refuse a task whose X (n_in x P), Y (n_out x P) and random factors would not fit in memory."""
    check_memory(
        (n_in + n_out) * P + n_in * n_out + n_in * n_in + n_out * n_out,
        f"The task's X (n_in x n_items = {n_in:,} x {P:,}), Y (n_out x n_items = {n_out:,} x {P:,}) and its "
        "statistics",
        fix,
    )


def _random_orthonormal_rows(n_rows, n_cols, rng):
    """An (n_rows, n_cols) matrix with orthonormal rows (n_rows <= n_cols), Haar-random."""
    G = rng.standard_normal((n_cols, n_rows))
    Q, R = np.linalg.qr(G)
    Q = Q * np.sign(np.diag(R))  # sign fix makes the distribution Haar
    return Q.T


def _white_inputs(n_in, P, rng):
    """``X`` of shape (n_in, P) with ``X X^T / P = I``: one-hot if square, else random."""
    if n_in == P:
        return np.sqrt(P) * np.eye(P)
    return np.sqrt(P) * _random_orthonormal_rows(n_in, P, rng)


def hierarchical_task(depth, branching=2, *, include_root=True, include_leaves=True, name=None):
    """A balanced tree: items are its leaves, features are its nodes.

    Each node of the tree is one target feature, which is 1 for the items below
    it and 0 for the rest. The inputs are white one-hot items,
    ``X = sqrt(P) * I``. This is the hierarchical structure that makes a deep
    linear network learn broad distinctions before fine ones (Saxe, McClelland
    & Ganguli 2019).

    Parameters
    ----------
    depth : int >= 1
        Number of levels below the root. There are ``prod(branching)`` items,
        at most 100000, and ``X`` (P x P) and ``Y`` together must fit in
        :data:`~rsa_lineardyn._validation.MAX_BUILD_MEMORY` (1 GiB); at most
        ``MAX_DEPTH`` = 16 levels.
    branching : int >= 2 or sequence of int, default 2
        Children per node, either one number for every level or one number per
        level (length ``depth``, from the root down).
    include_root : bool, default True
        Include the root feature, which is 1 for every item (like "living
        thing").
    include_leaves : bool, default True
        Include one identity feature per item (like "canary").
    name : str, optional
        Task name. The default is ``"tree(depth=..., branching=...)"``.

    Returns
    -------
    Task
        Item labels read ``"item_0_1"`` (the path from the root), and feature
        names read ``"root"``, ``"n0"``, ``"n0_1"``, ...

    Notes
    -----
    With uniform branching ``b``, ``P = b**depth`` items and all nodes kept,
    the singular values of ``Syx = Y X^T / P`` are known in closed form:
    ``sqrt(sum_{m=0}^{depth} b**m / P)`` for the uniform (root) mode, and
    ``sqrt(sum_{m=0}^{depth-k-1} b**m / P)`` with multiplicity
    ``b**k * (b - 1)`` for the modes that split the children of the nodes at
    level ``k = 0, ..., depth - 1``. Broader splits have larger singular
    values, so they are learned first.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.hierarchical_task(depth=2, branching=2)
    >>> task.P, task.n_out, task.is_white()
    (4, 7, True)
    >>> np.round(task.singular_values ** 2 * task.P, 6)
    array([7., 3., 1., 1.])
    """
    depth = check_positive_int(
        depth, "depth", minimum=1, maximum=MAX_DEPTH,
        why=f"a tree with branching >= 2 has at least 2**depth items, more than {MAX_TREE_ITEMS} items are refused, "
            f"and X is P x P: at depth {MAX_DEPTH + 1} X alone would take {8 * 4 ** (MAX_DEPTH + 1) / 2**30:g} GiB",
    )
    name = _check_name(name)
    if isinstance(branching, numbers.Integral) and not isinstance(branching, bool):
        branching = [branching] * depth
    elif isinstance(branching, (str, bytes)) or not hasattr(branching, "__len__"):
        raise InputTypeError(
            f"`branching` must be an int or a sequence of {depth} ints (one per level), got {branching!r}."
        )
    if len(branching) != depth:
        raise InputValueError(
            f"`branching` must have one entry per level (`depth` = {depth}), got {len(branching)} entries."
        )
    branching = [check_positive_int(b, "branching", minimum=2) for b in branching]
    include_root = check_bool(include_root, "include_root")
    include_leaves = check_bool(include_leaves, "include_leaves")
    P = 1
    for b in branching:  # Python ints: no overflow
        P *= b
    if P > MAX_TREE_ITEMS:
        raise InputValueError(
            f"The tree has {P:,} leaves (items); more than {MAX_TREE_ITEMS} is refused because X would be {P:,} x {P:,} "
            f"({8.0 * P * P:.3g} bytes of float64). Lower `depth` or `branching`."
        )
    first_level = 0 if include_root else 1
    last_level = depth if include_leaves else depth - 1
    n_nodes = [int(np.prod(branching[:level])) for level in range(first_level, last_level + 1)]
    check_memory(P * P + sum(n_nodes) * P,
                 f"The tree's X (P x P = {P:,} x {P:,}) and Y ({sum(n_nodes):,} features x {P:,} items)",
                 "Lower `depth` or `branching`.")

    leaves = list(itertools.product(*[range(b) for b in branching]))
    features, blocks = [], []
    for level, n in zip(range(first_level, last_level + 1), n_nodes):
        features.extend("root" if level == 0 else "n" + "_".join(map(str, path))
                        for path in itertools.product(*[range(b) for b in branching[:level]]))
        # leaves are in lexicographic order, so the leaf i lies below node i // (leaves per node) of this level
        block = np.zeros((n, P))
        block[np.arange(P) // (P // n), np.arange(P)] = 1.0
        blocks.append(block)
    if not blocks:
        raise InputValueError(
            "The tree has no features: with `depth` = 1, set `include_root` or `include_leaves` to True."
        )
    Y = np.vstack(blocks)
    X = np.sqrt(P) * np.eye(P)
    labels = ["item_" + "_".join(map(str, leaf)) for leaf in leaves]
    if name is None:
        b = branching[0] if len(set(branching)) == 1 else tuple(branching)
        name = f"tree(depth={depth}, branching={b})"
    return Task(X, Y, labels=labels, feature_names=features, name=name)


def random_regression_task(singular_values, *, n_in=None, n_out=None, n_items=None, seed=None, name=None):
    """A white task whose ``Syx`` has the singular values you choose.

    ``Syx = U diag(s) V^T`` with Haar-random orthonormal ``U`` (n_out x r) and
    ``V`` (n_in x r). The inputs are white, ``X X^T / P = I``, and ``Y = Syx X``,
    so ``Y X^T / P = Syx`` exactly.

    Parameters
    ----------
    singular_values : sequence of float >= 0
        The singular values ``s`` of ``Syx``, in any order, each at most
        ``1e150`` (their squares enter ``Y Y^T / P``). The task's
        ``singular_values`` returns them sorted in descending order, padded
        with zeros up to ``min(n_in, n_out)``.
    n_in, n_out : int, optional
        Input and output sizes, at least ``len(singular_values)``. Default
        ``len(singular_values)``.
    n_items : int, optional
        Number of items ``P``, at least ``n_in``. Default ``n_in``, in which
        case the inputs are one-hot, ``X = sqrt(P) * I``. Otherwise ``X`` is
        ``sqrt(P)`` times a random matrix with orthonormal rows.  ``X``, ``Y``
        and the task statistics must fit in 1 GiB of float64
        (:data:`~rsa_lineardyn._validation.MAX_BUILD_MEMORY`).
    seed : None, int or numpy.random.Generator
    name : str, optional

    Returns
    -------
    Task

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.random_regression_task([3.0, 1.0, 0.5], n_in=4, n_out=5, seed=0)
    >>> np.round(task.singular_values, 6), task.is_white()
    (array([3. , 1. , 0.5, 0. ]), True)
    """
    if isinstance(singular_values, (str, bytes)):
        raise InputTypeError("`singular_values` must be a sequence of non-negative numbers, not a string.")
    s = check_nonneg_array(singular_values, "singular_values", max_abs=MAX_SQUARED,
                           why="the task statistic Y Y^T / P holds their squares, which overflow double precision",
                           empty_hint="it must be a non-empty 1-D sequence")
    name = _check_name(name)
    r = s.size
    n_in = r if n_in is None else _check_size(n_in, "n_in")
    n_out = r if n_out is None else _check_size(n_out, "n_out")
    for label, value in (("n_in", n_in), ("n_out", n_out)):
        if value < r:
            raise InputValueError(
                f"`{label}` must be >= len(singular_values) = {r} (Syx has at most min(n_in, n_out) "
                f"singular values), got {value}."
            )
    P = n_in if n_items is None else _check_size(n_items, "n_items")
    if P < n_in:
        raise InputValueError(
            f"`n_items` must be >= `n_in` = {n_in}: white inputs (Sxx = I) need at least as many items "
            f"as input dimensions, got {P}."
        )
    _check_task_memory(n_in, n_out, P, "Lower `n_in`, `n_out` or `n_items`.")
    rng = check_rng(seed)
    s = np.sort(s)[::-1]
    U = _random_orthonormal_rows(r, n_out, rng).T
    V = _random_orthonormal_rows(r, n_in, rng).T
    syx = (U * s) @ V.T
    X = _white_inputs(n_in, P, rng)
    Y = syx @ X
    if name is None:
        name = f"random_regression(r={r}, n_in={n_in}, n_out={n_out}, P={P}, seed={seed if isinstance(seed, int) else None})"
    return Task(X, Y, labels=[f"item{i}" for i in range(P)], feature_names=[f"out{i}" for i in range(n_out)], name=name)


def student_teacher_task(n_in, n_out, n_items, *, teacher_rank=None, teacher_scale=1.0, noise=0.0,
                         seed=None, return_teacher=False, name=None):
    """Targets from a random linear teacher, ``Y = W* X + noise``.

    The inputs are white, ``X X^T / P = I`` (``X`` is ``sqrt(P)`` times a random
    matrix with orthonormal rows, or ``sqrt(P) * I`` when ``n_items == n_in``).
    The teacher ``W*`` (n_out x n_in) has i.i.d. Gaussian entries with variance
    ``teacher_scale**2 / n_in``. With ``teacher_rank`` it is cut to that rank
    by its SVD. The label noise is i.i.d. Gaussian with standard deviation
    ``noise``. Without noise, ``Syx = W*`` exactly.

    Parameters
    ----------
    n_in, n_out : int
    n_items : int
        Number of items ``P``, at least ``n_in``.  ``X``, ``Y`` and the task
        statistics must fit in 1 GiB of float64.
    teacher_rank : int, optional
        Rank of the teacher, at most ``min(n_in, n_out)``. Default is full rank.
    teacher_scale : float >= 0, default 1.0
        At most ``1e150`` (its square enters ``Y Y^T / P``).
    noise : float >= 0, default 0.0
        At most ``1e150``.
    seed : None, int or numpy.random.Generator
    return_teacher : bool, default False
        Whether to also return the teacher matrix.
    name : str, optional

    Returns
    -------
    Task, or (Task, ndarray of shape (n_out, n_in)) if ``return_teacher``

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task, W = rl.student_teacher_task(4, 3, 10, seed=0, return_teacher=True)
    >>> task.is_white(), bool(np.allclose(task.sigma_yx, W))
    (True, True)
    """
    n_in = _check_size(n_in, "n_in")
    n_out = _check_size(n_out, "n_out")
    P = _check_size(n_items, "n_items")
    if P < n_in:
        raise InputValueError(
            f"`n_items` must be >= `n_in` = {n_in}: white inputs (Sxx = I) need at least as many items "
            f"as input dimensions, got {P}."
        )
    if teacher_rank is not None:
        teacher_rank = check_positive_int(teacher_rank, "teacher_rank")
        if teacher_rank > min(n_in, n_out):
            raise InputValueError(
                f"`teacher_rank` must be <= min(n_in, n_out) = {min(n_in, n_out)}, got {teacher_rank}."
            )
    teacher_scale = _check_spread(teacher_scale, "teacher_scale")
    noise = _check_spread(noise, "noise")
    return_teacher = check_bool(return_teacher, "return_teacher")
    name = _check_name(name)
    _check_task_memory(n_in, n_out, P, "Lower `n_in`, `n_out` or `n_items`.")
    rng = check_rng(seed)

    W = rng.standard_normal((n_out, n_in)) * (teacher_scale / np.sqrt(n_in))
    if teacher_rank is not None and teacher_rank < min(n_in, n_out):
        U, s, Vt = np.linalg.svd(W, full_matrices=False)
        W = (U[:, :teacher_rank] * s[:teacher_rank]) @ Vt[:teacher_rank]
    X = _white_inputs(n_in, P, rng)
    Y = W @ X
    if noise > 0:
        Y = Y + noise * rng.standard_normal(Y.shape)
    if name is None:
        name = (f"student_teacher(n_in={n_in}, n_out={n_out}, P={P}, noise={noise:g}, "
                f"seed={seed if isinstance(seed, int) else None})")
    task = Task(X, Y, labels=[f"item{i}" for i in range(P)], feature_names=[f"out{i}" for i in range(n_out)], name=name)
    return (task, W) if return_teacher else task
