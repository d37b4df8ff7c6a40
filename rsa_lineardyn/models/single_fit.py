"""Fitting and scoring a single :class:`rsa_lineardyn.LinearNetworkModel` against RDMs.

The functions follow rsatoolbox's fitter conventions: a fitter takes
``(model, data, method, pattern_idx, pattern_descriptor, sigma_k)`` and
returns ``theta`` in the order of ``model.param_names``; ``pattern_idx`` and
``pattern_descriptor`` subsample the prediction as rsatoolbox subsamples the
data (crossvalidation, bootstrap), and conditions are matched by label.

* :func:`fit_linear_network` - the model's default fitter: grid search over
  ``(lam, log10_scale, log10_time)`` within ``model.bounds``, a finer grid
  around the best point, then bounded scalar refinement.
* :func:`score_grid` - its reusable core: the score on a grid, all times of
  one ``(lam, scale)`` in one vectorised call.
* :func:`compare_model` - the score of the prediction at one ``theta``.

The data RDMs are prepared once per call (``_DataScorer``: rsatoolbox's own
``"corr"`` and ``"cosine"`` formulas computed directly, every other method
through ``rsatoolbox.rdm.compare``).  Fitting several models at once, with
inference, is in :mod:`rsa_lineardyn.inference.fitting` and
:mod:`rsa_lineardyn.inference.hypotheses`.
"""

from __future__ import annotations

import warnings

import numpy as np
from rsatoolbox.rdm import RDMs, compare

from .._validation import (
    InputTypeError,
    InputValueError,
    check_1d,
    check_bool,
    check_comparison_method,
    check_grid_size,
    check_lam,
    check_rdm_values,
    check_sigma_k,
    SCALE_RANGE,
)
from ..dynamics.initialization import check_feasible
from .notices import UndefinedFitWarning
from ..representations.similarity import _unit_scale

__all__ = ["fit_linear_network", "score_grid", "compare_model"]


class _DataScorer:
    """Mean rsatoolbox ``compare`` of predicted vectors against fixed data RDMs (data prepared once).

    ``"corr"`` and ``"cosine"`` are computed here with rsatoolbox's own
    formulas (mean-centred / plain cosine over the entries that are not NaN
    in the data); every other method goes through ``rsatoolbox.rdm.compare``.
    """

    def __init__(self, data, method, sigma_k):
        if not isinstance(data, RDMs):
            raise InputTypeError(f"`data` must be rsatoolbox.rdm.RDMs, got {type(data).__name__}.")
        check_rdm_values(data, "data")
        self.method = method
        self.sigma_k = check_sigma_k(sigma_k, data.n_cond)
        dv = _unit_scale(np.asarray(data.get_vectors(), dtype=float), method)  # scale-free methods: any units
        self.nan = np.isnan(dv).any(axis=0)
        self.dv = dv
        self.fast = method in ("corr", "cosine")
        if self.fast:
            d = dv[:, ~self.nan]
            if method == "corr":
                d = d - d.mean(axis=1, keepdims=True)
            norm = np.linalg.norm(d, axis=1)
            self.d = d[norm > 0] / norm[norm > 0, None]
            self.n_data = dv.shape[0]

    def __call__(self, vectors):
        vec = _unit_scale(np.asarray(vectors, dtype=float), self.method)
        if self.fast:
            v = vec[:, ~self.nan]
            v = np.where(np.isnan(v), 0.0, v)
            if self.method == "corr":
                v = v - v.mean(axis=1, keepdims=True)
            norm = np.linalg.norm(v, axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                sims = (v @ self.d.T) / norm[:, None]
            # rsatoolbox gives NaN for zero-norm vectors; average over the defined data RDMs
            if self.d.shape[0] == 0:
                sc = np.full(vec.shape[0], np.nan)
            else:
                sc = np.where(norm > 0, sims.mean(axis=1), np.nan)
        else:
            vec = vec.copy()
            vec[:, self.nan] = np.nan
            bad = np.isnan(vec).any(axis=0) & ~self.nan
            vec[:, bad] = 0.0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sc = compare(vec, self.dv, method=self.method, sigma_k=self.sigma_k)
                sc = np.nanmean(sc, axis=1) if sc.size else np.full(vec.shape[0], np.nan)
        return np.where(np.isfinite(sc), sc, -np.inf)


# ----------------------------------------------------------------------------
# the fitter
# ----------------------------------------------------------------------------
def _check_model(model):
    """``model`` is a :class:`~rsa_lineardyn.LinearNetworkModel` (recognised by its marker attribute: this module
    sits below :mod:`.network`, which imports it for the model's default fitter)."""
    if not getattr(type(model), "_linear_network_model", False):
        raise InputTypeError(f"`model` must be a LinearNetworkModel, got {type(model).__name__}.")


def score_grid(model, data, log10_times, lams=None, log10_scales=None, method="corr", pattern_idx=None,
               pattern_descriptor=None, sigma_k=None):
    """Score of the model against data RDMs on a grid of (lam, log10_scale, log10_time).

    The reusable core of :func:`fit_linear_network`: for each ``lam`` and
    scale it evaluates all times in one vectorised call.

    Parameters
    ----------
    model : LinearNetworkModel
    data : rsatoolbox.rdm.RDMs
    log10_times : array_like (T,)
    lams : array_like (L,), optional
        Default: ``[model.lam]`` (which must then be fixed).
    log10_scales : array_like (S,), optional
        Default: ``[log10(model.scale)]``.
    method, pattern_idx, pattern_descriptor, sigma_k
        As in rsatoolbox's fitters.

    Returns
    -------
    ndarray, shape (L, S, T)
        Mean rsatoolbox ``compare`` value over the data RDMs (``-inf`` where undefined).

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(4) * 2, 2 * np.array([[3., 3, 0, 0], [0, 0, 2, 2], [1, -1, 0, 0]]))
    >>> model = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0)
    >>> data = model.predict_rdm([0.3])
    >>> rl.score_grid(model, data, [-1.0, 0.3, 1.0], method="corr").shape
    (1, 1, 3)
    """
    _check_model(model)
    check_comparison_method(method)
    lt = _grid_axis(log10_times, "log10_times")
    if lams is None:
        if model.lam is None:
            raise InputValueError("`lams` must be given when the model's lam is a free parameter.")
        lams = [model.lam]
    lams = _grid_axis(lams, "lams")
    log10_scales = _grid_axis([np.log10(model.scale)] if log10_scales is None else log10_scales, "log10_scales")
    lim = np.log10(SCALE_RANGE)
    if np.any(log10_scales <= lim[0]) or np.any(log10_scales >= lim[1]):
        raise InputValueError(
            f"`log10_scales` must lie inside ({lim[0]:g}, {lim[1]:g}) (scales outside {SCALE_RANGE} overflow or "
            f"underflow: each mode starts at scale**2), got {log10_scales.tolist()}."
        )
    if np.any(lt >= 308):
        raise InputValueError(f"`log10_times` must be below 308 (10**308 is the largest finite time), got {lt.max():g}.")
    for lam in lams:
        check_lam(float(lam), "lams")
        check_feasible(model.task.n_in, model.n_hidden, model.task.n_out, float(lam))
    sel = model._selection_of(model.selection(data, pattern_idx, pattern_descriptor))
    scorer = _DataScorer(data, method, sigma_k)
    out = np.empty((lams.size, log10_scales.size, lt.size))
    for i, lam in enumerate(lams):
        for j, ls in enumerate(log10_scales):
            out[i, j] = scorer(sel.vectors(float(lam), 10.0 ** float(ls), 10.0**lt))
    return out


def _grid_axis(values, name):
    """One axis of :func:`score_grid`: a non-empty 1-D array of finite numbers (a scalar becomes length 1)."""
    arr = check_1d(values, name)
    if not np.all(np.isfinite(arr)):
        raise InputValueError(f"`{name}` must be finite, got {arr.tolist()}.")
    return arr


def _lam_grid(lo, hi, n):
    if lo == hi:
        return np.array([lo])
    span = max(abs(lo), abs(hi))
    u = np.sinh(np.linspace(-3, 3, 2 * n - 1)) / np.sinh(3) * span
    u = u[(u >= lo - 1e-15) & (u <= hi + 1e-15)]
    return np.unique(np.concatenate([[lo, hi, np.clip(0.0, lo, hi)], u]))


def fit_linear_network(model, data, method="corr", pattern_idx=None, pattern_descriptor=None, sigma_k=None,
                       n_times=41, n_lam=7, n_scale=4, refine=True):
    """Default fitter of :class:`LinearNetworkModel` (rsatoolbox's fitter signature).

    1. Grid search over ``log10_time`` (``n_times`` log-spaced points),
       ``lam`` (sinh-spaced, denser near 0, about ``n_lam`` per sign) and,
       if free, ``log10_scale`` (``n_scale`` points), within ``model.bounds``.
    2. A finer grid inside the cell around the best point.
    3. Bounded scalar refinement (``scipy.optimize.minimize_scalar``,
       method ``"bounded"``) of each parameter in turn, within the fine cell.

    Refinements are kept only if they improve the score, so the result is
    never worse than the grid optimum.  The search never leaves the bounds
    and theta is never normalised.

    Parameters
    ----------
    model : LinearNetworkModel
    data : rsatoolbox.rdm.RDMs
    method : str, default "corr"
        Any rsatoolbox ``compare`` method (``"corr"``, ``"cosine"``, ...).
    pattern_idx, pattern_descriptor
        rsatoolbox's subsampling (crossvalidation, bootstrap): the
        prediction is subsampled the same way and checked against the data's
        labels.
    sigma_k : ndarray, optional
        For the ``*_cov`` methods.
    n_times, n_lam, n_scale : int
    refine : bool, default True

    Returns
    -------
    ndarray (model.n_param,)
        In the order of ``model.param_names``.
    """
    _check_model(model)
    check_comparison_method(method)
    sel = model._selection_of(model.selection(data, pattern_idx, pattern_descriptor))
    scorer = _DataScorer(data, method, sigma_k)
    n_times = check_grid_size(n_times, "n_times", minimum=2)
    n_lam = check_grid_size(n_lam, "n_lam")
    n_scale = check_grid_size(n_scale, "n_scale")
    refine = check_bool(refine, "refine")
    names = model.param_names
    bounds = dict(zip(names, model.bounds))

    g = _grids_in(model, bounds, n_times, n_lam, n_scale, coarse=True)
    best, idx = _grid_search(scorer, sel, g)
    if not np.isfinite(best):
        # rsatoolbox's contract: a fitter returns parameters for every training set.  Inside its
        # bootstrap_crossval a resampled fold can hold only condition pairs the model cannot tell apart
        # (constant prediction, e.g. a bottleneck that merges those items) or a constant data vector; raising
        # here aborted the whole bootstrap.  rsatoolbox scores the test fold with what we return (NaN if
        # undefined there too), as it does for its own models.
        warnings.warn(
            f"every prediction on the grid has an undefined {method!r} score against these data (the data, or "
            f"the model's predictions on their {int(np.sum(~scorer.nan))} condition pairs, are constant); "
            "returning model.default_theta. Inside rsatoolbox's crossvalidation this happens for folds whose "
            "pairs the model cannot tell apart; otherwise check the data RDMs and the representation.",
            UndefinedFitWarning, stacklevel=2,
        )
        return np.array(model.default_theta, dtype=float)
    point = {p: g[p][idx[p]] for p in ("lam", "log10_scale", "log10_time")}
    if refine:
        point = _refine(model, scorer, sel, g, idx, best, point)
    return np.array([point[p] for p in names], dtype=float)


_AXES = ("lam", "log10_scale", "log10_time")


def _grids_in(model, box, n_t, n_l, n_s, coarse):
    """Grids of the parameters inside ``box`` (fixed parameters: their one value)."""
    g = {}
    lo, hi = box["log10_time"]
    g["log10_time"] = np.linspace(lo, hi, n_t) if hi > lo else np.array([lo])
    if "lam" in box:
        lo, hi = box["lam"]
        g["lam"] = _lam_grid(lo, hi, n_l) if coarse else (np.linspace(lo, hi, n_l) if hi > lo else np.array([lo]))
    else:
        g["lam"] = np.array([model.lam])
    if "log10_scale" in box:
        lo, hi = box["log10_scale"]
        g["log10_scale"] = np.linspace(lo, hi, n_s) if hi > lo else np.array([lo])
    else:
        g["log10_scale"] = np.array([np.log10(model.scale)])
    return g


def _grid_search(scorer, sel, g):
    """Best score on the grid ``g`` and its indices (all times of one (lam, scale) in one vectorised call)."""
    sc = np.empty((g["lam"].size, g["log10_scale"].size, g["log10_time"].size))
    tt = 10.0 ** g["log10_time"]
    for i, lam in enumerate(g["lam"]):
        for j, ls in enumerate(g["log10_scale"]):
            sc[i, j] = scorer(sel.vectors(float(lam), 10.0**ls, tt))
    i, j, k = np.unravel_index(np.argmax(sc), sc.shape)
    return sc[i, j, k], {"lam": i, "log10_scale": j, "log10_time": k}


def _cell(names, g, idx):
    """The grid cell around the optimum: the neighbours of its index along every free parameter."""
    box = {}
    for p in names:
        v, q = g[p], idx[p]
        box[p] = (v[max(q - 1, 0)], v[min(q + 1, v.size - 1)])
    return box


def _refine(model, scorer, sel, g, idx, best, point):
    """A finer grid in the optimum's cell, then a bounded 1-D search along each free parameter."""
    from scipy.optimize import minimize_scalar

    names = model.param_names
    box = _cell(names, g, idx)
    g2 = _grids_in(model, box, 17, 9, 5, coarse=False)
    best2, idx2 = _grid_search(scorer, sel, g2)
    if best2 > best:
        best, point = best2, {p: g2[p][idx2[p]] for p in _AXES}
        box = _cell(names, g2, idx2)
    else:
        box = {p: (max(box[p][0], point[p] - 0.5 * (box[p][1] - box[p][0])),
                   min(box[p][1], point[p] + 0.5 * (box[p][1] - box[p][0]))) for p in names}
    for p in names:
        lo, hi = box[p]
        if not hi > lo:
            continue

        def objective(x, p=p):
            q = dict(point)
            q[p] = x
            v = scorer(sel.vectors(float(q["lam"]), 10.0 ** q["log10_scale"], np.array([10.0 ** q["log10_time"]])))[0]
            return -v if np.isfinite(v) else np.inf

        res = minimize_scalar(objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6 * max(1.0, hi - lo)})
        if res.success and np.isfinite(res.fun) and -res.fun > best:
            best = -res.fun
            point[p] = float(res.x)
    return point


def compare_model(model, data, theta=None, method="corr", pattern_idx=None, pattern_descriptor=None,
                  sigma_k=None):
    """Mean rsatoolbox ``compare`` of the model's prediction at ``theta`` with ``data``.

    Conditions are matched by label, as in :func:`fit_linear_network` (see
    :meth:`LinearNetworkModel.selection`): data whose labels differ from the
    prediction's, or whose number of conditions differs, raise a clear error
    instead of being compared position by position.

    Parameters
    ----------
    model : LinearNetworkModel
    data : rsatoolbox.rdm.RDMs
    theta : array_like, optional
        Default: ``model.theta_`` from the last fit, else ``model.default_theta``.
    method : str, default "corr"
        Any rsatoolbox ``compare`` method.
    pattern_idx, pattern_descriptor
        rsatoolbox's subsampling of conditions, applied to the prediction as in the fitter.
    sigma_k : ndarray, optional
        For the ``*_cov`` methods.

    Returns
    -------
    float
        NaN where rsatoolbox's score is undefined (e.g. a constant RDM).
    """
    _check_model(model)
    check_comparison_method(method)
    rows = model.selection(data, pattern_idx, pattern_descriptor)
    check_rdm_values(data, "data")
    sigma_k = check_sigma_k(sigma_k, data.n_cond)
    if rows.size == len(model.labels) and np.array_equal(rows, np.arange(rows.size)):
        pred = model.predict(theta)[None, :]  # cached
    else:
        lam, scale, time = model._unpack(theta)
        pred = model._selection_of(rows).vectors(lam, scale, np.array([time]))
    return float(np.mean(compare(pred, data, method=method, sigma_k=sigma_k)))
