"""The linear-network prediction as an rsatoolbox model.

:class:`LinearNetworkModel` predicts the RDM of one representation of a
two-layer linear network of fixed hidden width, trained on a task from a
lambda-balanced start, at a training time.  Its free parameters ``theta``
are, in this order (see ``model.param_names``):

* ``lam`` - the balance ``W2^T W2 - W1 W1^T = lam I`` (omitted when fixed at
  construction with ``lam=...``);
* ``log10_time`` - log10 of the training time (in units of ``tau``);
* ``log10_scale`` - log10 of the initial weight scale (only with
  ``fit_scale=True``).

Three initialisations (``init=``):

* ``init="random"`` (default): the expected geometry over random
  lambda-balanced starts (:func:`rsa_lineardyn.balanced_init` at the given
  scale), i.e. isotropic random starts in the task's *whitened* input
  coordinates.  The law of those starts is invariant under rotations of the
  input and output spaces, and gradient flow with ``Sxx = I`` is equivariant
  under the rotations that fix ``Syx``; so every expected Gram matrix is
  ``B^T diag(w_t) B`` over the task's modes (``B = V^T X``, or ``U^T Y`` for
  the output side), constant within tied singular values and on the null
  space.  The weights ``w_t`` are the mode-diagonal of the exact solution of
  ``n_draws`` seeded draws (:func:`rsa_lineardyn.exact_dynamics`'s solver),
  symmetrised; no P x P matrix is formed per draw
  (``rsa_lineardyn.models.random_starts._RandomStartEngine``).  An untrained model is then
  the random start's geometry (lazy-like), not the task's.
* ``init="aligned"``: the deterministic task-aligned start of
  :func:`rsa_lineardyn.task_aligned_init`.  With whitened inputs the dynamics
  then decouple into one scalar ODE per singular mode ``s_k`` of ``Syx``,
  ``tau da_k/dt = sqrt(lam^2 + 4 a_k^2) (s_k - a_k)``, which is solved in
  closed form (:func:`mode_strengths`), and every Gram matrix is a weighted
  sum of fixed rank-one matrices.  It assumes the start already holds the
  task's modes (good after the silent-alignment phase of rich learning).
* ``init="average"``: the plain mean Gram matrix over the same ``n_draws``
  draws, each solved exactly (``rsa_lineardyn.models.engines._AverageEngine``); a
  slow reference for ``"random"`` (equal to it up to Monte Carlo noise in
  the off-diagonal mode entries, which ``"random"`` sets to their expected
  value 0).

Saving: rsatoolbox's ``Result.save`` calls ``model.to_dict()`` and
``rsatoolbox.inference.load_results`` rebuilds models from a fixed list of
its own types.  ``LinearNetworkModel.to_dict`` therefore writes a dict that
rsatoolbox reads back as a ``ModelFixed`` (same name, predicting the RDM at
the fitted or default ``theta``) and that also carries the full model
specification under the key ``"rsa_lineardyn"``; :func:`load_results`
(ours) and :func:`model_from_dict` restore real ``LinearNetworkModel`` objects.

Fitting and scoring a model against RDMs (its default fitter
:func:`fit_linear_network`, :func:`score_grid`, :func:`compare_model`) is in
:mod:`rsa_lineardyn.models.single_fit`; those names are still importable from here.
"""

from __future__ import annotations

import functools
import numbers
import warnings
from collections import OrderedDict

import numpy as np
from rsatoolbox.model import Model
from rsatoolbox.rdm import RDMs

from .._validation import (
    AssumptionError,
    InputTypeError,
    InputValueError,
    check_choice,
    check_memory,
    check_times,
    check_comparison_method,
    check_positive_int,
    check_fraction,
    check_real,
    check_lam,
    check_scale,
    MAX_GRID,
    MAX_WIDTH,
    check_path,
)
from ..representations.descriptors import LABEL_KEYS
from .engines import _AlignedEngine, _AverageEngine, mode_strengths
from ..dynamics.initialization import check_feasible
from .network_io import _SavingMixin
from .network_items import _ItemsMixin
from .network_params import _ParamsMixin
from .notices import ConditionOrderWarning, DegeneracyWarning, UndefinedFitWarning
from .random_starts import _RandomStartEngine
from .single_fit import _DataScorer, _grid_axis, fit_linear_network
from ..representations.geometry import DEFAULT_RCOND, DEFAULT_ZERO_TOL, REPRESENTATIONS, _NTKPairs
from ..representations.rdms import MEASURE_NAMES
from ..dynamics.task import Task

__all__ = [
    "LinearNetworkModel",
    "DegeneracyWarning",
    "UndefinedFitWarning",
    "mode_strengths",
    "model_from_dict",
    "load_results",
]


_INITS = ("random", "aligned", "average")
#: Widest network init="random"/"average" accepts (memory grows with the width; see MAX_WIDTH).
_MAX_RANDOM_WIDTH = MAX_WIDTH
_ENGINES = {"random": _RandomStartEngine, "aligned": _AlignedEngine, "average": _AverageEngine}
_MODEL_MEASURES = ("euclidean", "cosine")
_LABEL_KEYS = LABEL_KEYS  # one list of condition-label descriptors (rsa_lineardyn.representations.descriptors)


# ----------------------------------------------------------------------------
# one BLAS thread for the model's numerical work
# ----------------------------------------------------------------------------
_THREADPOOLS = None


def _single_threaded(func):
    """Run ``func`` with BLAS/OpenMP pools limited to one thread (threadpoolctl).

    The model's matrices are small, so multi-threaded BLAS only adds overhead
    (4.6x slower measured inside rsatoolbox's ``bootstrap_crossval`` on 2 cores).
    Applied once, to :meth:`_Selection.vectors`, through which every
    prediction, fit and score of the model goes; the controller is built once
    (``threadpool_limits`` re-scans the loaded libraries on every call, ~0.6 ms).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        global _THREADPOOLS
        if _THREADPOOLS is None:
            from threadpoolctl import ThreadpoolController

            _THREADPOOLS = ThreadpoolController()
        with _THREADPOOLS.limit(limits=1):
            return func(*args, **kwargs)

    return wrapper


# ----------------------------------------------------------------------------
# scoring a selection of conditions
# ----------------------------------------------------------------------------
#: Bytes of group pair rows a selection keeps (:class:`_PairBasis`); beyond it the rows are rebuilt per call.
_PAIR_CACHE_BYTES = 256 * 2**20
#: Array elements per chunk of condition pairs while building group pair rows (~32 MB of temporaries).
_PAIR_CHUNK_ELEMENTS = 1 << 22


class _PairBasis:
    """Pair rows of a rank-one Gram ``B^T diag(w) B``, summed within the groups of rows that share one weight.

    The random-start engine's weights are equal within each tied group of the task's modes (its expectation is
    constant there), e.g. one group of ``n_in - rank`` null modes for a one-hot task: so
    ``sum_j w_j (B_ja - B_jb)^2 = sum_g w_g sum_{j in g} (B_ja - B_jb)^2`` needs one row per group (``n_groups x
    n_pairs``), not one per basis row (``n_in x n_pairs``: 4 GB at 1000 one-hot items).  Euclidean: rows of the
    squared differences; cosine: rows of the products ``B_ja B_jb`` and the squared norms per condition.  Each
    group's row is a sum of its members' terms (no cancellation), built in chunks of pairs.  The rows are kept
    when they fit in :data:`_PAIR_CACHE_BYTES`, else rebuilt chunk by chunk at every call (same numbers).

    ``B`` (J, n): basis columns of the selected conditions; ``labels`` (J,): group of each row; ``ia``, ``ib``:
    the pairs.
    """

    def __init__(self, B, labels, ia, ib, euclidean):
        order = np.argsort(labels, kind="stable")
        sorted_labels = np.asarray(labels)[order]
        self.starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]]) if labels.size else \
            np.zeros(0, dtype=int)
        self.sizes = np.diff(np.r_[self.starts, labels.size])
        self.order = order
        self.Bt = np.ascontiguousarray(B[order].T)  # (n, J): conditions as rows, one gather per pair chunk
        self.ia, self.ib, self.euclidean = ia, ib, euclidean
        self.n_groups = self.starts.size
        self.grouped = self.n_groups < B.shape[0]
        self.cached = 8.0 * self.n_groups * ia.size <= _PAIR_CACHE_BYTES
        self._rows = None
        self.diag = None if euclidean else self._group_sum(self.Bt * self.Bt).T  # (G, n)

    def _group_sum(self, X):
        """Sums of the columns of ``X`` (c, J) within the groups: (c, G)."""
        return np.add.reduceat(X, self.starts, axis=1) if self.grouped else X

    def _chunk(self, lo, hi):
        """Group rows of the pairs ``lo:hi``, shape (hi - lo, G)."""
        a = np.take(self.Bt, self.ia[lo:hi], axis=0)
        b = np.take(self.Bt, self.ib[lo:hi], axis=0)
        if self.euclidean:
            a -= b
            a *= a
        else:
            a *= b
        return self._group_sum(a)

    def _steps(self):
        step = max(1, _PAIR_CHUNK_ELEMENTS // max(self.Bt.shape[1], 1))
        return [(lo, min(lo + step, self.ia.size)) for lo in range(0, self.ia.size, step)]

    @property
    def rows(self):
        """The group pair rows (G, n_pairs), built on first use; ``None`` when they are not kept."""
        if self._rows is None and self.cached:
            rows = np.empty((self.n_groups, self.ia.size))
            for lo, hi in self._steps():
                rows[:, lo:hi] = self._chunk(lo, hi).T
            self._rows = rows
        return self._rows

    def weights(self, w):
        """Per-group weights (T, G) from the engine's per-row weights ``w`` (T, J) (their mean in each group)."""
        w = np.asarray(w)[:, self.order]
        return np.add.reduceat(w, self.starts, axis=1) / self.sizes if self.grouped else w

    def products(self, wg):
        """``wg @ rows`` (T, n_pairs) for group weights ``wg`` (T, G), without keeping the rows if they are not kept."""
        rows = self.rows
        if rows is not None:
            return wg @ rows
        out = np.empty((wg.shape[0], self.ia.size))
        for lo, hi in self._steps():
            out[:, lo:hi] = wg @ self._chunk(lo, hi).T
        return out


class _Selection:
    """Predicted dissimilarity vectors for a (possibly repeated) selection of the model's conditions."""

    def __init__(self, model, rows):
        self.model = model
        rows = np.asarray(rows, dtype=int)
        self.rows = rows
        n = rows.size
        self.ia, self.ib = np.triu_indices(n, k=1)
        self.duplicate = rows[self.ia] == rows[self.ib]
        eng = model._engine
        self.fast = hasattr(eng, "rank_one") and model.representation != "ntk"
        self.cond_index = model._cond_index[rows]  # indices into the task-level conditions
        self.ntk = None
        if model.representation == "ntk":  # Kronecker structure: no (n_out P)^2 matrix per time
            task = model.task
            self.ntk = _NTKPairs(self.cond_index, task.P, task.n_out, task.X.T @ task.X, self.ia, self.ib)
        self._basis = None

    @property
    def basis(self):
        """The :class:`_PairBasis` of the rank-one engines (built on first use), or ``None``."""
        if self._basis is None and self.fast:
            eng = self.model._engine
            B = eng.basis()[:, self.cond_index]
            groups = getattr(eng, "basis_groups", None)
            labels = np.arange(B.shape[0]) if groups is None else groups()
            self._basis = _PairBasis(B, labels, self.ia, self.ib, self.model.measure == "euclidean")
        return self._basis

    @property
    def Bsq(self):
        """The kept squared-difference group rows (G, n_pairs) of a Euclidean rank-one model, else ``None``."""
        basis = self.basis
        return basis.rows if basis is not None and basis.euclidean else None

    def group_weights(self, w):
        """The engine's rank-one weights (T, J) as the weights of :attr:`Bsq`'s rows (T, G)."""
        return self.basis.weights(w)

    @_single_threaded
    def vectors(self, lam, scale, times):
        """(T, npairs) dissimilarity vectors; NaN where a condition is paired with its own copy."""
        m = self.model
        T = np.size(times)
        check_memory(2.0 * T * self.ia.size,
                     f"the predictions of model {m.name!r} ({T:,} times x {self.ia.size:,} condition pairs, with "
                     "a temporary)", "Ask for fewer times at once, or use fewer conditions.")
        if self.fast:
            w, _ = m._engine.rank_one(lam, scale, times, m.tau)
            basis = self.basis
            wg = basis.weights(w)
            if basis.euclidean:
                v = np.maximum(basis.products(wg), 0.0)
            else:
                v = self._distances(basis.products(wg), wg @ basis.diag)
        elif self.ntk is not None:
            # blocks of the NTK, then the pairs a few times at a time (cache-sized temporaries)
            A, B = m._engine.ntk_parts(lam, scale, times, m.tau)
            T = A.shape[0]
            v = np.empty((T, self.ia.size))
            step = max(1, _NTK_CHUNK_ELEMENTS // max(self.ia.size, 1))
            for t0 in range(0, T, step):
                v[t0 : t0 + step] = self._distances(*self.ntk.entries(A[t0 : t0 + step], B[t0 : t0 + step]))
        else:
            G = m._engine.full_gram(lam, scale, times, m.tau)
            ci = self.cond_index
            Gs = G[:, ci][:, :, ci]
            v = self._distances(Gs[:, self.ia, self.ib], np.diagonal(Gs, axis1=1, axis2=2))
        if self.duplicate.any():
            v[:, self.duplicate] = np.nan
        return v

    def _distances(self, Gp, Gd):
        """Dissimilarities from Gram entries at the pairs ``Gp`` (T, npairs) and squared norms ``Gd`` (T, n).

        Overwrites ``Gp`` (a fresh array) with the result.
        """
        ia, ib = self.ia, self.ib
        if self.model.measure == "euclidean":  # np.take: several times faster than fancy indexing here
            Gp *= -2.0
            Gp += np.take(Gd, ia, axis=1)
            Gp += np.take(Gd, ib, axis=1)
            return np.maximum(Gp, 0.0, out=Gp)
        top = np.max(Gd, axis=1, keepdims=True)
        ok = (Gd > DEFAULT_ZERO_TOL * top) & (Gd > 0)
        inv = np.where(ok, 1.0 / np.sqrt(np.where(ok, Gd, 1.0)), 0.0)
        Gp *= np.take(inv, ia, axis=1)
        Gp *= np.take(inv, ib, axis=1)
        np.subtract(1.0, Gp, out=Gp)
        return np.clip(Gp, 0.0, 2.0, out=Gp)


#: Pair entries per chunk of times in NTK predictions (~8 MB temporaries).
_NTK_CHUNK_ELEMENTS = 1 << 20


# ----------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------
class LinearNetworkModel(_ItemsMixin, _ParamsMixin, _SavingMixin, Model):
    """rsatoolbox model: RDM of a two-layer linear network's representation over training time.

    Parameters
    ----------
    task : Task
        Must have whitened inputs (``task.is_white()``); use
        :func:`rsa_lineardyn.whiten` first otherwise.
    n_hidden : int, default 2
        Hidden width (fixed; build one model per width to compare widths).
    representation : {"hidden", "output", "ntk", "prediction"}, default "hidden"
    measure : {"euclidean", "cosine"}, default "euclidean"
        Dissimilarity of the predicted RDM (``"euclidean"`` is squared
        Euclidean).  Correlation distance is not available: the theory does
        not define the hidden-unit basis it depends on.
    lam : float or None, default None
        ``None``: ``lam`` is the first free parameter.  A number fixes it
        (``|lam| < 1e100``).
    scale : float, default 0.1
        Initial weight scale, strictly inside ``(1e-100, 1e100)``: each
        aligned mode starts at strength ``scale**2``; random draws use
        Gaussian weights of this std.
    fit_scale : bool, default False
        Make ``log10_scale`` the last free parameter (``scale`` is then its
        default value).
    init : {"random", "aligned", "average"}, default "random"
        How the weights start (see the module docstring).  ``"random"``: the
        expected geometry over random lambda-balanced starts
        (:func:`rsa_lineardyn.balanced_init`, Gaussian of std ``scale``), which
        are isotropic in the *whitened* input coordinates of ``task``;
        computed exactly per draw and symmetrised over the task's modes
        (``rsa_lineardyn.models.random_starts._RandomStartEngine``).  ``"aligned"``:
        the task-aligned start (an untrained model already holds the task's
        modes).  ``"average"``: the plain mean of full Gram matrices over the
        same draws (slow reference for ``"random"``).
    tau : float, default 1
        Time constant; times are in the same units.
    item_order : None, sequence of str, or rsatoolbox.rdm.RDMs
        The items (by label) the model predicts, in the order of your data.
        rsatoolbox's ``calc_rdm`` sorts conditions by their descriptor, so
        pass the data RDMs here (their labels are read from
        ``label_descriptor``) to make predictions follow the data's order.
        May be a subset of the task's items.  Default: the task's labels.
    label_descriptor : str, default "auto"
        Pattern descriptor of the data that holds item labels; ``"auto"``
        takes the first present of ``"item", "conds", "label", "labels",
        "condition", "conditions", "stimulus"``.  The fitter checks that the
        data's labels equal the model's (after ``pattern_idx`` subsampling)
        and raises a clear error otherwise.
    n_draws : int, default 32
        Random starts (exact solves) behind ``init="random"`` and ``init="average"``.
        ``"random"`` draws them in antithetic pairs ``(W1, W2)``, ``(W1, -W2)``
        (16 pairs by default) and subtracts control variates of exactly zero
        mean (each draw's closed-form solution without the task, and a
        regression on second-order controls; ``_RandomStartEngine._estimate``).
        Measured Monte Carlo error of the centred hidden RDM (what a
        correlation scores) against a 512-draw reference, semantic and 92-image
        tasks (``benchmarks/mc_error.py``): at ``t s_max`` = 1e-3-0.1 below 7%
        at 16 draws (the plain mean of 16 independent draws used before: 4e2 to
        2e6, i.e. all start noise), up to ~20-30% at ``t s_max`` = 1-10 for
        narrow networks (which modes a draw learns first; 32 draws halve the
        variance).  In the hypothesis tests the fits pick parameters on
        profiles flat to within this error, so ``evaluate_hypotheses`` and
        ``compare_*`` pool blocks of ``n_draws`` draws (``mc_replicates``) and
        report the Monte-Carlo SE beside the sampling SE: on the bundled
        data the SD across draw seeds of a width comparison's mean
        difference is 0.0-0.2 of its sampling SE for 10 of 12 pairs (0.48 and
        0.30 for the other two), against 0.01-0.87 with one 32-draw set
        (``benchmarks/results/seed_spread_diagnosis.md``).
    seed : int, default 0
        Seed of those draws (a non-negative int; stored in ``to_dict``; the
        prediction is deterministic).
    rcond : float, default 1e-10
        Pseudo-inverse cut-off of the ``"output"`` representation.
    lam_bounds, log10_time_bounds, log10_scale_bounds : (float, float), optional
        Search box of the fitter; defaults from the task's singular values
        (see ``model.bounds``).  ``lam_bounds`` is clipped to the feasible
        signs (``lam > 0`` needs ``n_hidden <= n_out``, ``lam < 0`` needs
        ``n_hidden <= n_in``).
    name : str, optional
        Default ``"linear h={n_hidden}"``.
    degeneracy_rtol : float, default 1e-3
        Singular values within this relative distance count as degenerate.

    Attributes
    ----------
    n_param : int
    param_names : list of str
    bounds : list of (float, float)
    default_theta : ndarray
        A starting point of the parameters (mid-range time, lam 0 when free): pass it as ``theta`` to predict
        before fitting.  ``predict(None)`` on an unfitted model raises :class:`~rsa_lineardyn.NotFittedError`
        (rsatoolbox's ``eval_fixed`` calls it so: it would silently score an arbitrary parameter set).
    labels : list of str
        Condition labels of the prediction (``"feature:item"`` for the NTK).
    theta_ : ndarray or None
        The parameters found by the last call of :meth:`fit`.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(4) * 2, 2 * np.array([[3., 3, 0, 0], [0, 0, 2, 2], [1, -1, 0, 0]]),
    ...                labels=["a", "b", "c", "d"])
    >>> model = rl.LinearNetworkModel(task, n_hidden=2)
    >>> model.param_names
    ['lam', 'log10_time']
    >>> data = model.predict_rdm([0.0, 0.3])
    >>> theta = model.fit(data, method="corr")
    >>> bool(rl.compare_model(model, data, theta, method="corr") > 0.999)
    True
    """

    #: marks the class for the fitters of :mod:`.single_fit` (which sit below this module and cannot import it)
    _linear_network_model = True

    def __init__(self, task, n_hidden=2, representation="hidden", measure="euclidean", *, lam=None, scale=0.1,
                 fit_scale=False, init="random", tau=1.0, item_order=None, label_descriptor="auto", n_draws=32,
                 seed=0, rcond=DEFAULT_RCOND, lam_bounds=None, log10_time_bounds=None, log10_scale_bounds=None,
                 name=None, degeneracy_rtol=1e-3):
        if not isinstance(task, Task):
            raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")
        if not task.is_white(tol=1e-8):
            raise AssumptionError(
                f"`task` must have whitened inputs (Sxx = I) for the exact theory; max |Sxx - I| = "
                f"{task.whiteness_error():.3g}. Use `task = rl.whiten(task)` first."
            )
        n_hidden = check_positive_int(n_hidden, "n_hidden")
        check_choice(representation, "representation", REPRESENTATIONS)
        if measure == "correlation":
            raise InputValueError(
                "`measure` = 'correlation' is not available for LinearNetworkModel: the exact theory fixes the "
                "hidden representation only up to a rotation of the hidden units, and correlation distance "
                "depends on that rotation. Use 'euclidean' or 'cosine' (compare with method='corr' to ignore scale)."
            )
        check_choice(measure, "measure", _MODEL_MEASURES)
        check_choice(init, "init", _INITS)
        scale = check_scale(scale, "scale")
        tau = check_real(tau, "tau", minimum=0, strict_min=True)
        rcond = check_fraction(rcond, "rcond", why="eigenvalues of W2 W2^T at or below rcond times the largest are "
                                                  "dropped from the pseudo-inverse of the output representation")
        n_draws = check_positive_int(n_draws, "n_draws", maximum=MAX_GRID, why="each draw is one exact solve")
        if init != "aligned" and n_hidden > _MAX_RANDOM_WIDTH:
            raise InputValueError(
                f"`n_hidden` = {n_hidden:,} is too wide for init={init!r}: the random starts' memory grows with the "
                f"width, and widths above {_MAX_RANDOM_WIDTH:,} do not fit. Use init='aligned', or a width up to "
                f"{_MAX_RANDOM_WIDTH:,} (any width >= n_in + n_out = {task.n_in + task.n_out} is already 'wide' for "
                "the exact theory)."
            )
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise InputTypeError(f"`seed` must be a non-negative int (the draws must be reproducible), got {seed!r}.")
        if not isinstance(fit_scale, bool):
            raise InputTypeError(f"`fit_scale` must be True or False, got {fit_scale!r}.")
        if lam is not None:
            lam = check_lam(lam, "lam")
            check_feasible(task.n_in, n_hidden, task.n_out, lam)
        name = f"linear h={n_hidden}" if name is None else name
        if not isinstance(name, str):
            raise InputTypeError(f"`name` must be a string, got {type(name).__name__}.")
        Model.__init__(self, name)
        self.task = task
        self.n_hidden = n_hidden
        self.representation = representation
        self.measure = measure
        self.lam = lam
        self.scale = scale
        self.fit_scale = fit_scale
        self.init = init
        self.tau = tau
        self.n_draws = n_draws
        self.seed = int(seed)
        self.rcond = rcond
        self.degeneracy_rtol = check_real(degeneracy_rtol, "degeneracy_rtol", minimum=0)
        self.param_names = (["lam"] if lam is None else []) + ["log10_time"] + (["log10_scale"] if fit_scale else [])
        self.n_param = len(self.param_names)
        self.default_fitter = fit_linear_network
        self.theta_ = None
        self._setup_items(item_order, label_descriptor)
        if init == "aligned":
            self._engine = _AlignedEngine(task, n_hidden, representation, rcond)
        else:
            self._engine = _ENGINES[init](task, n_hidden, representation, rcond, n_draws, self.seed)
        self._bounds_args = (lam_bounds, log10_time_bounds, log10_scale_bounds)
        self.bounds = self._make_bounds(lam_bounds, log10_time_bounds, log10_scale_bounds)
        self.default_theta = np.array([0.5 * (lo + hi) if p != "lam" else float(np.clip(0.0, lo, hi))
                                       for p, (lo, hi) in zip(self.param_names, self.bounds)])
        self._pred_cache = OrderedDict()
        self._full = _Selection(self, np.arange(len(self.labels)))
        self.degenerate_ = self._check_degeneracy()


    # -- predictions ----------------------------------------------------------
    def predict(self, theta=None):
        """Predicted dissimilarity vector (rsatoolbox's upper-triangle order) at ``theta``.

        ``theta=None`` uses ``theta_`` from the last :meth:`fit`; on an unfitted model it raises
        :class:`~rsa_lineardyn.NotFittedError` (pass ``theta``, e.g. ``default_theta``).
        Results are cached per parameter set.
        """
        lam, scale, time = self._unpack(theta)
        key = (lam, scale, time)
        hit = self._pred_cache.get(key)
        if hit is None:
            hit = self._full.vectors(lam, scale, np.array([time]))[0]
            hit.setflags(write=False)
            self._pred_cache[key] = hit
            if len(self._pred_cache) > 512:
                self._pred_cache.popitem(last=False)
        return hit.copy()

    def predict_rdm(self, theta=None):
        """Predicted RDM at ``theta`` as ``rsatoolbox.rdm.RDMs`` with time, parameters and item labels.

        Its conditions are in the model's condition order (``item_order``; the task's order when none was
        given, with a :class:`ConditionOrderWarning` once per model: rsatoolbox's ``eval_*`` functions compare
        by position).
        """
        if not getattr(self, "item_order_given", True) and not getattr(self, "_order_warned", False):
            self._order_warned = True
            warnings.warn(
                f"model {self.name!r} was built without item_order, so it predicts in the task's item order "
                f"({list(self.task.labels[:3])} ...). rsatoolbox's eval_fixed / eval_bootstrap_* / crossval compare "
                "conditions by position: if the data's conditions are in another order the scores are wrong. Build "
                "it with item_order=data_rdms (or a list of labels); rl.fit_rdms and rl.evaluate_hypotheses match "
                "by label themselves.", ConditionOrderWarning, stacklevel=2)
        lam, scale, time = self._unpack(theta)
        vec = self.predict(theta)
        pat = {k: v.copy() for k, v in self.pattern_descriptors.items()}
        return RDMs(
            vec[None, :],
            dissimilarity_measure=MEASURE_NAMES[self.measure],
            descriptors={"model": self.name},
            rdm_descriptors={"time": np.array([time]), "lam": np.array([lam]), "scale": np.array([scale]),
                             "n_hidden": np.array([self.n_hidden]),
                             "representation": np.array([self.representation]),
                             "init": np.array([self.init]), "index": np.array([0])},
            pattern_descriptors=pat,
        )

    def predict_times(self, times, theta=None):
        """Dissimilarity vectors at several times (other parameters from ``theta``), shape (T, npairs).

        With ``lam`` fixed at construction and no ``fit_scale``, the times are the only free parameter and
        ``theta`` may stay ``None`` on an unfitted model.
        """
        times = check_times(times, "times")  # (np.inf: the end of learning)
        if theta is None and self.theta_ is None and self.lam is not None and not self.fit_scale:
            lam, scale = self.lam, self.scale
        else:
            lam, scale, _ = self._unpack(theta)
        return self._full.vectors(lam, scale, times)

    # -- fitting ---------------------------------------------------------------
    def fit(self, data, method="corr", pattern_idx=None, pattern_descriptor=None, sigma_k=None):
        """Fit ``theta`` to data RDMs with the default fitter; stores it as ``theta_`` and returns it."""
        check_comparison_method(method)
        theta = self.default_fitter(self, data, method=method, pattern_idx=pattern_idx,
                                    pattern_descriptor=pattern_descriptor, sigma_k=sigma_k)
        self.theta_ = np.asarray(theta, dtype=float)
        return theta

    def _selection_of(self, rows):
        """The prediction machinery for the model's conditions ``rows`` (see :meth:`selection`)."""
        return _Selection(self, rows)


    def score_times(self, data, log10_times, *, lam=None, scale=None, method="corr", pattern_idx=None,
                    pattern_descriptor=None, sigma_k=None, rows=None):
        """Mean rsatoolbox ``compare`` score against ``data`` at many times (fixed lam and scale), shape (T,).

        The fast inner loop of the fitter: all times in one vectorised call.
        ``rows`` (from :meth:`selection`) skips the label check when given;
        ``data`` may be a prepared scorer, whose method was checked when it was made.
        """
        if not isinstance(data, _DataScorer):
            check_comparison_method(method)
        if rows is None:
            rows = self.selection(data, pattern_idx, pattern_descriptor)
        sel = rows if isinstance(rows, _Selection) else _Selection(self, rows)
        lam = self.lam if lam is None else check_lam(lam, "lam")
        if lam is None:
            raise InputValueError("`lam` must be given: the model's lam is a free parameter.")
        scale = self.scale if scale is None else check_scale(scale, "scale")
        lt = _grid_axis(log10_times, "log10_times")
        if np.any(lt >= 308):
            raise InputValueError(f"`log10_times` must be below 308 (10**308 is the largest finite time), got {lt.max():g}.")
        vec = sel.vectors(float(lam), float(scale), 10.0**lt)
        scorer = data if isinstance(data, _DataScorer) else _DataScorer(data, method, sigma_k)
        return scorer(vec)

    # -- checks ------------------------------------------------------------------
    def _check_degeneracy(self):
        s = self.task.singular_values
        m = min(self.task.n_in, self.n_hidden, self.task.n_out)
        if s.size <= m or m == 0 or s[m - 1] <= 1e-12 * max(s[0], 1e-300):
            return None
        if abs(s[m - 1] - s[m]) > self.degeneracy_rtol * s[m - 1]:
            return None
        group = [float(x) for x in s if abs(x - s[m - 1]) <= self.degeneracy_rtol * s[m - 1]]
        msg = (
            f"Syx has (near-)degenerate singular values {[round(g, 6) for g in group]} straddling the cut at "
            f"mode {m} (n_hidden = {self.n_hidden} keeps the top {m} modes): a bottleneck learns an arbitrary "
            "mix within this degenerate subspace, so the task-aligned start is one arbitrary choice, not a "
            "prediction of the theory. Use init='random' (expected geometry over random starts), or a width that keeps or "
            "drops the whole group."
        )
        if self.init == "aligned":
            warnings.warn(msg, DegeneracyWarning, stacklevel=3)
        return group


    def __repr__(self):
        lam = "free" if self.lam is None else f"{self.lam:g}"
        return (f"LinearNetworkModel({self.name!r}, n_hidden={self.n_hidden}, representation={self.representation!r}, "
                f"measure={self.measure!r}, init={self.init!r}, lam={lam}, scale={self.scale:g}, "
                f"P={len(self.items)}, params={self.param_names})")


# ----------------------------------------------------------------------------
# saving
# ----------------------------------------------------------------------------
def model_from_dict(model_dict):
    """Rebuild a model saved in a results file: ``LinearNetworkModel`` if ours, else rsatoolbox's own."""
    if not isinstance(model_dict, dict):
        raise InputTypeError(f"`model_dict` must be a dict (from model.to_dict()), got {type(model_dict).__name__}.")
    if "rsa_lineardyn" in model_dict:
        return LinearNetworkModel.from_dict(model_dict)
    import rsatoolbox

    try:
        return rsatoolbox.model.model_from_dict(model_dict)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise InputValueError(
            f"`model_dict` is neither a LinearNetworkModel record nor an rsatoolbox model dict ({type(exc).__name__}: "
            f"{str(exc)[:200]}); pass the output of model.to_dict()."
        ) from None


def load_results(filename, file_type=None, *, allow_pickle=False):
    """Like ``rsatoolbox.inference.load_results``, but restores ``LinearNetworkModel`` objects.

    (rsatoolbox's own loader also works on these files; it returns each of
    our models as a ``ModelFixed`` with the same name that predicts the
    saved RDM.)

    Parameters
    ----------
    filename : str or pathlib.Path
        A file written by rsatoolbox's ``Result.save``.
    file_type : {"pkl", "hdf5"}, optional
        Default: ``"pkl"`` for a ``.pkl`` name, else ``"hdf5"``.
    allow_pickle : bool, default False
        Read a ``"pkl"`` file.  Unpickling runs whatever code the file names, so a crafted file can do anything
        your account can: pass ``True`` only for files you wrote yourself (a warning says it is used).  HDF5
        (``Result.save(path, file_type="hdf5")``) holds data only and needs no trust.

    Returns
    -------
    rsatoolbox.inference.Result

    Raises
    ------
    InputValueError
        The file is missing, unreadable, or not an rsatoolbox results file
        (another pickle, a corrupt or unrelated file); or it is a pickle and
        ``allow_pickle`` is not ``True``.
    """
    from rsatoolbox.inference.result import result_from_dict
    from rsatoolbox.io.hdf5 import read_dict_hdf5

    path = check_path(filename, "filename", what="results file")
    if file_type is None:
        file_type = "pkl" if path.suffix.lower() == ".pkl" else "hdf5"
    check_choice(file_type, "file_type", ("pkl", "hdf5"))
    from .._validation import check_bool

    allow_pickle = check_bool(allow_pickle, "allow_pickle")
    fix = "Give a file written by rsatoolbox's Result.save (e.g. HypothesisResult.result.save(path))."
    if file_type == "pkl":
        if not allow_pickle:
            raise InputValueError(
                f"`filename`: {path} is a pickle (file_type='pkl'); unpickling runs code named in the file, so a "
                "crafted file could do anything your account can. It is read only with allow_pickle=True (for files "
                "you wrote yourself); better, save results as HDF5: result.save(path, file_type='hdf5')."
            )
        warnings.warn(f"load_results: unpickling {path} (allow_pickle=True): this runs code named in the file; "
                      "use it only for files you trust.", UserWarning, stacklevel=2)
    try:
        if file_type == "pkl":
            import pickle

            with open(path, "rb") as fh:  # (rsatoolbox's read_dict_pkl leaves the file open)
                d = pickle.load(fh)
        else:
            d = read_dict_hdf5(str(path))
    except Exception as exc:  # pickle and h5py raise many types on foreign or corrupt files
        raise InputValueError(
            f"`filename`: {path} could not be read as an rsatoolbox results file ({file_type}): "
            f"{type(exc).__name__}: {str(exc)[:200]}. {fix}"
        ) from None
    need = ("models", "evaluations", "method", "cv_method", "noise_ceiling")
    missing = [k for k in need if not isinstance(d, dict) or k not in d]
    if missing:
        got = sorted(map(str, d))[:8] if isinstance(d, dict) else type(d).__name__
        raise InputValueError(
            f"`filename`: {path} is not an rsatoolbox results file: it lacks {missing} (it holds {got}). {fix}"
        )
    try:
        result = result_from_dict(d)
        result.models = [model_from_dict(d["models"][f"model_{i}"]) for i in range(len(d["models"]))]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputValueError(
            f"`filename`: {path} looks like an rsatoolbox results file but its content is damaged "
            f"({type(exc).__name__}: {str(exc)[:200]}). {fix}"
        ) from None
    return result
