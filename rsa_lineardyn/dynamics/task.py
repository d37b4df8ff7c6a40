"""The learning task: inputs ``X`` (n_in x P), targets ``Y`` (n_out x P), item labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import InputTypeError, InputValueError, check_fraction, check_matrix, check_number

__all__ = ["Task", "Whitening", "whiten"]


@dataclass(frozen=True)
class Whitening:
    """What :func:`whiten` did to a task.

    Attributes
    ----------
    transform : ndarray, shape (rank, n_in_original)
        The matrix ``T`` with ``X_white = T @ X``.
    rank : int
        Rank of the input covariance that was kept.
    dropped : int
        Number of input directions dropped because their variance was below
        the cut-off (``n_in_original - rank``).
    eigenvalues : ndarray
        Eigenvalues of the original ``Sxx`` (descending).
    message : str
        A plain-language summary.
    """

    transform: np.ndarray
    rank: int
    dropped: int
    eigenvalues: np.ndarray
    message: str

    def __repr__(self):
        return f"Whitening({self.message})"


class Task:
    """A supervised task for a two-layer linear network.

    Parameters
    ----------
    X : array_like, shape (n_in, P)
        Inputs, one column per item (example).
    Y : array_like, shape (n_out, P)
        Targets, one column per item.
    labels : sequence of str, optional
        Names of the P items (e.g. ``"canary"``).  Default ``"item0", ...``.
    feature_names : sequence of str, optional
        Names of the ``n_out`` target features.
    name : str, optional
        A short name for the task, carried into descriptors.

    Attributes
    ----------
    P, n_in, n_out : int
    sigma_xx : ndarray (n_in, n_in)   ``X X^T / P``
    sigma_yx : ndarray (n_out, n_in)  ``Y X^T / P``
    sigma_yy : ndarray (n_out, n_out) ``Y Y^T / P``

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.array([[1., 1, 0], [0, 1, 1]]), labels=["a", "b", "c"])
    >>> task.P, task.n_in, task.n_out, task.is_white()
    (3, 3, 2, True)
    """

    def __init__(self, X, Y, labels=None, feature_names=None, name="task"):
        X = check_matrix(X, "X")
        Y = check_matrix(Y, "Y")
        if X.shape[1] != Y.shape[1]:
            raise InputValueError(
                f"`X` and `Y` must have the same number of columns (items), got X {X.shape} and Y {Y.shape}. "
                "Items are columns: X is (n_in, P) and Y is (n_out, P); transpose if yours are rows."
            )
        self.X = X
        self.Y = Y
        self.P = X.shape[1]
        self.n_in = X.shape[0]
        self.n_out = Y.shape[0]
        self.labels = _check_labels(labels, self.P, "labels", "item")
        self.feature_names = _check_labels(feature_names, self.n_out, "feature_names", "feature")
        if not isinstance(name, str):
            raise InputTypeError(f"`name` must be a string, got {type(name).__name__}.")
        self.name = name
        self.whitening = None
        with np.errstate(over="ignore", invalid="ignore"):
            self.sigma_xx = X @ X.T / self.P
            self.sigma_yx = Y @ X.T / self.P
            self.sigma_yy = Y @ Y.T / self.P
        for stat, arg, what in ((self.sigma_xx, "X", "X X^T / P"), (self.sigma_yx, "Y", "Y X^T / P"),
                                (self.sigma_yy, "Y", "Y Y^T / P")):
            if not np.all(np.isfinite(stat)):
                big = max(float(np.max(np.abs(X))), float(np.max(np.abs(Y))))
                raise InputValueError(
                    f"`{arg}` is too large: the task statistic {what} overflows double precision (largest |entry| of "
                    f"X and Y is {big:.3g}; products must stay below ~1e308). Divide `{arg}` by a constant first, "
                    f"e.g. {arg} / np.abs({arg}).max() (whitening removes the scale of X; the scale of Y only sets "
                    "the time unit)."
                )
        # the other end: targets whose squares underflow.  Y Y^T / P (and, for white inputs, the singular values of
        # Y X^T / P) would then be subnormal or zero, and the exact solution divides by them (NaN at t = inf)
        tiny = np.finfo(float).tiny
        if np.any(Y != 0) and not float(np.max(np.diag(self.sigma_yy))) >= tiny:
            top = float(np.max(np.abs(Y)))
            raise InputValueError(
                f"`Y` is too small: its largest |entry| is {top:.3g}, so the task statistic Y Y^T / P underflows "
                f"below the smallest normal double ({tiny:.3g}): the loss (built on Y Y^T / P) loses its digits and, "
                "once Y X^T / P underflows too, the exact solution gives NaN. Multiply `Y` by a constant first, e.g. "
                "Y / np.abs(Y).max(): the scale of Y only sets the time unit (times scale by its inverse)."
            )

    # ------------------------------------------------------------------
    def whiteness_error(self):
        """Largest absolute entry of ``Sxx - I`` (0 for perfectly whitened input)."""
        return float(np.max(np.abs(self.sigma_xx - np.eye(self.n_in))))

    def is_white(self, tol=1e-8):
        """Whether ``Sxx = I`` to within ``tol`` (max abs entry; finite, >= 0)."""
        tol = check_number(tol, "tol", minimum=0)
        return self.whiteness_error() <= tol

    def svd(self):
        """Singular value decomposition of ``sigma_yx``: ``(U, s, Vt)``, ``s`` descending.

        Computed once and cached (the task's arrays are not meant to change after
        construction); the returned arrays are read-only.
        """
        if getattr(self, "_svd", None) is None:
            parts = np.linalg.svd(self.sigma_yx, full_matrices=True)
            for a in parts:
                a.flags.writeable = False
            self._svd = parts
        return self._svd

    @property
    def singular_values(self):
        """Singular values of ``sigma_yx`` (descending)."""
        return self.svd()[1].copy()

    def rank(self, rtol=1e-10):
        """Numerical rank of ``sigma_yx``: singular values above ``rtol`` times the largest (``0 <= rtol < 1``)."""
        rtol = check_fraction(rtol, "rtol", why="singular values at or below rtol times the largest count as zero")
        s = self.singular_values
        if s.size == 0 or s[0] == 0:
            return 0
        return int(np.sum(s > rtol * s[0]))

    def __repr__(self):
        white = "white" if self.is_white() else f"not white (max |Sxx-I| = {self.whiteness_error():.2g})"
        return f"Task({self.name!r}, n_in={self.n_in}, n_out={self.n_out}, P={self.P}, inputs {white})"


def _check_labels(labels, n, name, prefix):
    if labels is None:
        return tuple(f"{prefix}{i}" for i in range(n))
    if isinstance(labels, (str, bytes)):
        raise InputTypeError(f"`{name}` must be a sequence of {n} strings, not a single string.")
    if isinstance(labels, dict) or not hasattr(labels, "__iter__"):
        raise InputTypeError(
            f"`{name}` must be a sequence of {n} strings (one per {prefix}), got {type(labels).__name__}."
        )
    labels = tuple(str(x) for x in labels)
    if len(labels) != n:
        raise InputValueError(f"`{name}` must have {n} entries (one per {prefix}), got {len(labels)}.")
    if len(set(labels)) != n:
        dup = sorted({x for x in labels if labels.count(x) > 1})
        raise InputValueError(f"`{name}` must be unique; repeated: {dup[:5]}.")
    return labels


def whiten(task, rtol=1e-10):
    """Map a task with correlated inputs to an equivalent task with ``Sxx = I``.

    The inputs are rotated onto the principal axes of ``Sxx`` and scaled to
    unit variance: ``X_white = diag(e)^{-1/2} E^T X`` for the ``rank``
    eigenpairs ``(e, E)`` of ``Sxx`` above ``rtol * max(e)``.  Directions with
    (numerically) zero variance carry no information about the targets and are
    dropped, so ``n_in`` may shrink.  A linear network on the whitened task has
    the same reachable input-output maps as on the original one (through
    ``W1_original = W1_white @ T``), and the same item Gram matrices
    ``X^T W1^T W1 X`` whenever ``W1`` lives in the input span.  The result
    does not depend on the scale of ``X`` (it is computed on ``X / 2**k``, an
    exact rescaling), so inputs of any magnitude whiten alike.

    Parameters
    ----------
    task : Task
    rtol : float, default 1e-10
        Relative eigenvalue cut-off for dropping directions, ``0 <= rtol < 1``.

    Returns
    -------
    Task
        A new task; its ``whitening`` attribute is a :class:`Whitening` record
        that states what was done.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> X = np.array([[1., 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]])
    >>> white = rl.whiten(rl.Task(X, np.eye(4)))
    >>> white.is_white()
    True
    """
    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")
    rtol = check_fraction(rtol, "rtol", why="directions of Sxx with variance at or below rtol times the largest are "
                                             "dropped; at 1 every direction would be")
    # whitening does not depend on the scale of X: work on X / c (c a power of two, so exact) so that tiny or huge
    # inputs (whose X X^T / P underflows or loses precision) whiten like any others
    top_x = float(np.max(np.abs(task.X)))
    if top_x == 0:
        raise InputValueError("`task.X` is all zeros; there is nothing to whiten.")
    c = 2.0 ** np.round(np.log2(top_x))
    Xs = task.X / c
    evals, evecs = np.linalg.eigh(Xs @ Xs.T / task.P)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    top = evals[0] if evals.size else 0.0
    if top <= 0:
        raise InputValueError("`task.X` is all zeros; there is nothing to whiten.")
    keep = evals > rtol * top
    rank = int(keep.sum())
    transform_s = (evecs[:, keep] / np.sqrt(evals[keep])).T
    X_white = transform_s @ Xs
    transform = transform_s / c  # X_white = transform @ task.X
    evals_s = evals
    with np.errstate(over="ignore", under="ignore"):
        evals = evals * c * c  # the eigenvalues of task.sigma_xx (0 or inf where they underflow or overflow)
    if np.all(np.isfinite(evals)) and np.all(evals[keep] > 0):
        span = f"{evals[-1]:.3g}..{evals[0]:.3g}"
    else:
        span = f"{evals_s[-1]:.3g}..{evals_s[0]:.3g} times 2^{2 * int(np.log2(c))}, beyond double precision"
    dropped = task.n_in - rank
    msg = (
        f"rotated inputs onto the {rank} principal axes of Sxx and scaled them to unit variance"
        + (f"; dropped {dropped} direction(s) with variance below {rtol:g} x max" if dropped else "")
        + f" (Sxx eigenvalues ranged {span})"
    )
    new = Task(X_white, task.Y, labels=task.labels, feature_names=task.feature_names, name=task.name)
    new.whitening = Whitening(transform=transform, rank=rank, dropped=dropped, eigenvalues=evals, message=msg)
    return new
