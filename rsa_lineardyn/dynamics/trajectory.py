"""The one result type of the exact solver and of the simulator."""

from __future__ import annotations

import numpy as np

from .._validation import InputTypeError, InputValueError, check_choice

__all__ = ["Trajectory"]


class Trajectory:
    """Learning trajectory of a two-layer linear network at a set of times.

    Produced by :func:`rsa_lineardyn.exact_dynamics` and
    :func:`rsa_lineardyn.simulate`; everything downstream accepts either.

    The trajectory stores a thin factor ``K(t)`` of ``QQ^T(t) = K(t) K(t)^T``
    (``Q = [W1^T; W2]``), shape ``(T, n_in + n_out, rank)``, and forms the
    dense matrix or its blocks on demand, so long trajectories of large
    networks fit in memory.  For a simulated run ``K`` is ``Q`` itself; for
    the exact solution it is ``Q`` up to an unknown rotation of the hidden
    units (the theory fixes ``QQ^T``, not the hidden basis).

    Attributes
    ----------
    times : ndarray (T,)
        Times in the order requested (may include ``inf`` for the exact solver).
    factors : ndarray (T, n_in + n_out, rank)
    method : str
        ``"exact"``, ``"gradient_descent"`` or ``"gradient_flow"``.
    task : Task
    n_in, n_hidden, n_out : int
    lam : float
        Balance of the initial weights, as :func:`rsa_lineardyn.measure_balance`
        gives it: ``trace(W2^T W2 - W1 W1^T) / n_hidden`` rounded at the
        rounding level of that estimate, so weights built with ``lam = 0``
        (or 0.5, 20, ...) carry exactly that value here, in the ``lam``
        descriptor of :func:`rsa_lineardyn.to_rdms` and in plot titles.
    tau : float
    weights : tuple (W1s, W2s) or None
        Real weights per time, shapes (T, n_hidden, n_in) and (T, n_out, n_hidden),
        for simulated runs; ``None`` for the exact solution.
    info : dict
        Method-specific metadata (learning rate, steps, solver tolerances, ...).
    """

    def __init__(self, times, factors, *, method, task, n_hidden, lam, tau, weights=None, info=None):
        self.times = np.asarray(times, dtype=float)
        self.factors = np.asarray(factors, dtype=float)
        self.method = method
        self.task = task
        self.n_in = task.n_in
        self.n_out = task.n_out
        self.n_hidden = int(n_hidden)
        self.lam = float(lam)
        self.tau = float(tau)
        self.weights = weights
        self.info = dict(info or {})
        if self.factors.ndim != 3 or self.factors.shape[:2] != (self.times.size, self.n_in + self.n_out):
            raise InputValueError(
                f"`factors` must have shape (T, n_in + n_out, rank) = ({self.times.size}, "
                f"{self.n_in + self.n_out}, r), got {self.factors.shape}."
            )

    # -- sizes -----------------------------------------------------------
    def __len__(self):
        return self.times.size

    @property
    def is_exact(self):
        """True for the exact solution (hidden basis not defined)."""
        return self.method == "exact"

    # -- QQ^T and its blocks -------------------------------------------------
    @property
    def qqt(self):
        """Dense ``QQ^T`` per time, shape (T, n_in + n_out, n_in + n_out)."""
        K = self.factors
        return K @ np.swapaxes(K, 1, 2)

    def _k1(self):
        return self.factors[:, : self.n_in, :]

    def _k2(self):
        return self.factors[:, self.n_in :, :]

    @property
    def w1tw1(self):
        """``W1^T W1`` per time, shape (T, n_in, n_in) (top-left block)."""
        K1 = self._k1()
        return K1 @ np.swapaxes(K1, 1, 2)

    @property
    def w2w1(self):
        """The network function ``W2 W1`` per time, shape (T, n_out, n_in) (bottom-left block)."""
        return self._k2() @ np.swapaxes(self._k1(), 1, 2)

    network_function = w2w1

    @property
    def w2w2t(self):
        """``W2 W2^T`` per time, shape (T, n_out, n_out) (bottom-right block)."""
        K2 = self._k2()
        return K2 @ np.swapaxes(K2, 1, 2)

    def block(self, name):
        """A block of ``QQ^T`` by name: ``"w1tw1"``, ``"w2w1"``, ``"w1tw2t"`` or ``"w2w2t"``."""
        check_choice(name, "name", ("w1tw1", "w2w1", "w1tw2t", "w2w2t"))
        if name == "w1tw2t":
            return np.swapaxes(self.w2w1, 1, 2)
        return getattr(self, name)

    @property
    def loss(self):
        """Training loss ``1/2 <||W2 W1 x - y||^2>`` over the P items, per time, shape (T,).

        Computed from the residuals (never negative through rounding).
        """
        t = self.task
        resid = self.w2w1 @ t.X - t.Y
        return 0.5 * np.einsum("kij,kij->k", resid, resid) / t.P

    # -- selection -------------------------------------------------------
    def subset(self, index):
        """A new trajectory with the time points ``index`` (int, slice, boolean mask or integer indices).

        Raises :class:`~rsa_lineardyn.InputTypeError` for other index types and
        :class:`~rsa_lineardyn.InputValueError` for out-of-range indices, a mask
        of the wrong length, or a selection of no time points.
        """
        T = self.times.size
        if isinstance(index, (str, bytes)) or index is None:
            raise InputTypeError(
                f"`index` must be an int, a slice, a boolean mask or integer indices of the {T} time points, got "
                f"{index!r}. To select by time value use np.flatnonzero(np.isclose(traj.times, t))."
            )
        try:
            idx = np.arange(T)[index]
        except IndexError as exc:
            if "out of bounds" in str(exc) or "boolean index" in str(exc):
                raise InputValueError(f"`index` does not fit the {T} time points of this trajectory: {exc}.") from None
            raise InputTypeError(
                f"`index` must be an int, a slice, a boolean mask or integer indices of the {T} time points, got "
                f"{index!r}. To select by time value use np.flatnonzero(np.isclose(traj.times, t))."
            ) from None
        idx = np.atleast_1d(idx)
        if idx.size == 0:
            raise InputValueError(f"`index` selects no time points (of {T}); select at least one.")
        weights = None
        if self.weights is not None:
            weights = (self.weights[0][idx], self.weights[1][idx])
        return Trajectory(
            self.times[idx], self.factors[idx], method=self.method, task=self.task,
            n_hidden=self.n_hidden, lam=self.lam, tau=self.tau, weights=weights, info=self.info,
        )

    def to_dataframe(self):
        """Tidy table of the QQ^T entries: one row per (time, row, col) with the block name.

        Returns a :class:`pandas.DataFrame` with columns ``time, row, col, block, value``.
        """
        import pandas as pd

        n = self.n_in + self.n_out
        qqt = self.qqt
        rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        top = rows < self.n_in
        left = cols < self.n_in
        block = np.where(top & left, "w1tw1", np.where(~top & left, "w2w1", np.where(top, "w1tw2t", "w2w2t")))
        T = self.times.size
        return pd.DataFrame(
            {
                "time": np.repeat(self.times, n * n),
                "row": np.tile(rows.ravel(), T),
                "col": np.tile(cols.ravel(), T),
                "block": np.tile(block.ravel(), T),
                "value": qqt.reshape(T, -1).ravel(),
                "method": self.method,
                "lam": self.lam,
                "n_hidden": self.n_hidden,
            }
        )

    def __repr__(self):
        tmax = np.max(self.times)
        return (
            f"Trajectory(method={self.method!r}, T={self.times.size}, t in [{np.min(self.times):g}, {tmax:g}], "
            f"n_in={self.n_in}, n_hidden={self.n_hidden}, n_out={self.n_out}, lam={self.lam:g})"
        )
