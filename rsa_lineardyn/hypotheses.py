"""Hypothesis tests on linear-network models with rsatoolbox inference.

Each hypothesis is a :class:`~rsa_lineardyn.LinearNetworkModel` with some
parameters constrained (a hidden width; a regime).  The models are fitted
and evaluated by rsatoolbox's ``bootstrap_crossval`` (crossvalidated within
each bootstrap sample, so no model is scored on the data it was fitted to),
which gives the rsatoolbox ``Result`` with its tests (pairwise, against 0,
against the noise ceiling).  :func:`evaluate_hypotheses` wraps that result
with tidy tables; :func:`plot_hypotheses` draws it with
``rsatoolbox.vis.plot_model_comparison``.

Hypotheses built here:

* widths (:func:`width_models`): e.g. a bottleneck ``N_h = 2`` against a
  wide network; ``lam`` and time free.
* regimes (:func:`regime_models`): *rich* (``lam = 0``, small init),
  *lazy-lam* (large ``|lam|``) and *lazy-scale* (``lam = 0``, large init);
  time free in each.

Only one snapshot of learning per model (the rsatoolbox model predicts one
RDM); select a stage first (``data.subset("stage", s)``).
"""

from __future__ import annotations

import contextlib
import numbers
import sys
import warnings

import numpy as np

from ._validation import InputTypeError, InputValueError, check_comparison_method, check_positive_int, check_real
from .design import STAGE_KEYS, SUBJECT_KEYS, _as_rdms, _find_key
from .model import DegeneracyWarning, LinearNetworkModel, UndefinedFitWarning
from .task import Task

__all__ = ["width_models", "regime_models", "evaluate_hypotheses", "compare_widths", "compare_regimes",
           "HypothesisResult", "plot_hypotheses"]


def _check_task(task):
    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")


def _s_max(task):
    s = task.singular_values
    return float(s[0]) if s.size and s[0] > 0 else 1.0


def width_models(task, data_rdms, widths=(2, "wide"), *, representation="hidden", measure="euclidean", scale=0.1,
                 lam=None, init="aligned"):
    """One model per hidden width (``lam`` and time free).

    Parameters
    ----------
    task : Task
    data_rdms : rsatoolbox.rdm.RDMs
        Fixes the condition order of the predictions.
    widths : sequence of int or "wide"
        ``"wide"`` is ``max(n_in, n_out)`` (wider than any bottleneck).
    representation, measure, scale, lam, init
        As in :class:`LinearNetworkModel`.

    Returns
    -------
    list of LinearNetworkModel
        Named ``"N_h=2"``, ``"N_h=wide (103)"``, ...
    """
    _check_task(task)
    data_rdms = _as_rdms(data_rdms)
    if isinstance(widths, (str, bytes, numbers.Integral)):
        widths = [widths]
    try:
        widths = list(widths)
    except TypeError:
        raise InputTypeError(f"`widths` must be a sequence of ints or 'wide', got {widths!r}.") from None
    if not widths:
        raise InputValueError("`widths` is empty; give at least one hidden width (an int or 'wide'), e.g. (2, 'wide').")
    models = []
    for w in widths:
        if isinstance(w, str):
            if w != "wide":
                raise InputValueError(f"`widths` entries must be ints or 'wide', got {w!r}.")
            h = max(task.n_in, task.n_out)
            name = f"N_h=wide ({h})"
        else:
            h = check_positive_int(w, "widths")
            name = f"N_h={h}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegeneracyWarning)
            models.append(LinearNetworkModel(task, n_hidden=h, representation=representation, measure=measure,
                                             lam=lam, scale=scale, init=init, item_order=data_rdms, name=name))
    if len({m.name for m in models}) != len(models):
        raise InputValueError(f"`widths` must be distinct, got {list(widths)}.")
    return models


def regime_models(task, data_rdms, n_hidden=None, *, rich_scale=None, lazy_lam=None, lazy_scale=None,
                  representation="hidden", measure="euclidean", init="aligned"):
    """Rich versus lazy learning, as three models with time free.

    Parameters
    ----------
    task : Task
    data_rdms : rsatoolbox.rdm.RDMs
    n_hidden : int, optional
        Width of all three (default: the rank of ``Syx``).
    rich_scale : float, optional
        Init scale of the rich model (``lam = 0``); default
        ``1e-3 * sqrt(s_max)`` (modes start ~1e-6 of their targets).
    lazy_lam : float, optional
        ``|lam|`` of the lazy-lam model; default ``4 s_max``.  Positive when
        ``n_hidden <= n_out``, else negative.
    lazy_scale : float, optional
        Init scale of the lazy-scale model (``lam = 0``); default
        ``sqrt(s_max)`` (modes start at the strength of the largest target).

    Returns
    -------
    list of LinearNetworkModel
        ``"rich"``, ``"lazy (large lam)"``, ``"lazy (large init)"``.
    """
    _check_task(task)
    data_rdms = _as_rdms(data_rdms)
    h = max(task.rank(), 1) if n_hidden is None else check_positive_int(n_hidden, "n_hidden")
    s_max = _s_max(task)
    rich_scale = 1e-3 * np.sqrt(s_max) if rich_scale is None else check_real(rich_scale, "rich_scale", minimum=0,
                                                                              strict_min=True)
    lazy_lam = 4.0 * s_max if lazy_lam is None else abs(check_real(lazy_lam, "lazy_lam"))
    lazy_scale = np.sqrt(s_max) if lazy_scale is None else check_real(lazy_scale, "lazy_scale", minimum=0,
                                                                      strict_min=True)
    if h <= task.n_out:
        lam_l = lazy_lam
    elif h <= task.n_in:
        lam_l = -lazy_lam
    else:
        raise InputValueError(
            f"`n_hidden` = {h} exceeds both n_in = {task.n_in} and n_out = {task.n_out}: only lam = 0 is feasible, "
            "so there is no large-lam lazy regime. Use a smaller n_hidden."
        )
    kw = dict(representation=representation, measure=measure, init=init, item_order=data_rdms)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegeneracyWarning)
        return [
            LinearNetworkModel(task, h, lam=0.0, scale=rich_scale, name="rich", **kw),
            LinearNetworkModel(task, h, lam=lam_l, scale=0.1 * np.sqrt(s_max), name="lazy (large lam)", **kw),
            LinearNetworkModel(task, h, lam=0.0, scale=lazy_scale, name="lazy (large init)", **kw),
        ]


class HypothesisResult:
    """rsatoolbox inference on a set of hypotheses, with tidy tables.

    Attributes
    ----------
    result : rsatoolbox.inference.Result
        The rsatoolbox result (``result.test_pairwise()``, ``test_zero()``,
        ``test_noise()``, ``summary()``, ``save()``).
    table : pandas.DataFrame
        One row per model: ``model, mean, sem, ci_low, ci_high, p_zero,
        p_noise_ceiling, noise_ceiling_lower, noise_ceiling_upper, method, n_boot,
        n_valid_boot``; ``n_valid_boot`` counts bootstrap samples with a finite score (rsatoolbox
        averages over the others silently); with fewer than 2, sem, interval and p-values are NaN.
    pairwise : pandas.DataFrame
        One row per ordered pair: ``model_a, model_b, mean_diff, p``.
    models : list of LinearNetworkModel
    seed : int
    messages : list of str
        Plain-language notes (e.g. training folds on which a fit was undefined).
    """

    def __init__(self, result, table, pairwise, models, seed, messages=()):
        self.result = result
        self.table = table
        self.pairwise = pairwise
        self.models = models
        self.seed = seed
        self.messages = list(messages)

    def to_dataframe(self):
        return self.table.copy()

    def __repr__(self):
        return f"HypothesisResult({self.result.cv_method}, N={self.result.n_bootstraps})\n{self.table.to_string(index=False)}"


@contextlib.contextmanager
def _seeded_global_numpy(seed):
    """rsatoolbox draws from the global ``np.random``: seed it for the call, then restore the caller's state."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


@contextlib.contextmanager
def _quiet_tqdm(enabled):
    """rsatoolbox's bootstrap always shows a bar; swap its ``tqdm`` reference for a silent one when off."""
    if enabled:
        yield
        return
    import types

    import rsatoolbox.inference.evaluate as ev

    old = ev.tqdm
    ev.tqdm = types.SimpleNamespace(trange=lambda *a, **k: range(*a), tqdm=lambda it, *a, **k: it)
    try:
        yield
    finally:
        ev.tqdm = old


def evaluate_hypotheses(data_rdms, models, *, method="corr", n_boot=100, k_pattern=None, k_rdm=None,
                        boot_type="auto", rdm_descriptor="auto", pattern_descriptor=None, ci=0.95,
                        test_type="t-test", seed=0, progress=None):
    """Crossvalidated, bootstrapped comparison of models with rsatoolbox.

    Parameters
    ----------
    data_rdms : rsatoolbox.rdm.RDMs
        One snapshot (several subjects allowed).
    models : list of rsatoolbox Model
        Usually from :func:`width_models` or :func:`regime_models`.
    method : str, default "corr"
    n_boot : int, default 100
        Bootstrap samples (rsatoolbox's ``N``).
    k_pattern, k_rdm : int, optional
        Crossvalidation folds (rsatoolbox defaults).
    boot_type : {"auto", "both", "pattern", "rdm"}
        ``"auto"``: ``"both"`` with several subjects, else ``"pattern"``.
    rdm_descriptor : "auto" or str
        Groups RDMs (subjects); ``"auto"`` finds a subject descriptor, else ``"index"``.
    pattern_descriptor : str, optional
        Groups conditions; default the item-label descriptor the models use.
    ci : float
        Level of ``ci_low``/``ci_high``.
    test_type : str
        rsatoolbox test type for the p-values.
    seed : int
        Seeds rsatoolbox's global ``np.random`` draws for the call (the
        caller's global state is restored afterwards).
    progress : bool, optional
        Default: only when stderr is a terminal.

    Returns
    -------
    HypothesisResult
    """
    from rsatoolbox.inference import bootstrap_crossval
    from rsatoolbox.model import Model

    data_rdms = _as_rdms(data_rdms)
    check_comparison_method(method)
    if isinstance(models, Model):
        models = [models]
    models = list(models)
    if not models or not all(isinstance(m, Model) for m in models):
        raise InputTypeError("`models` must be a non-empty list of rsatoolbox models (e.g. from rl.width_models).")
    n_boot = check_positive_int(n_boot, "n_boot", minimum=2)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputTypeError(f"`seed` must be a non-negative int (rsatoolbox uses the global numpy seed), got {seed!r}.")
    stage_key = _find_key(data_rdms, "auto", STAGE_KEYS, "stage_descriptor")
    if stage_key is not None:
        raise InputValueError(
            f"`data_rdms` hold several stages of learning (rdm descriptor {stage_key!r}); the hypothesis models "
            f"predict one snapshot. Test one stage at a time: data_rdms.subset({stage_key!r}, value)."
        )
    subj = _find_key(data_rdms, "auto", SUBJECT_KEYS, "rdm_descriptor") if rdm_descriptor == "auto" else rdm_descriptor
    if subj is None:
        subj = "index"
    if subj not in data_rdms.rdm_descriptors:
        raise InputValueError(f"`rdm_descriptor` = {subj!r} is not an rdm descriptor of `data_rdms`.")
    n_groups = len(np.unique(np.asarray(data_rdms.rdm_descriptors[subj]).astype(str)))
    if boot_type == "auto":
        boot_type = "both" if n_groups > 2 else "pattern"
    if boot_type not in ("both", "pattern", "rdm"):
        raise InputValueError(f"`boot_type` must be one of 'auto', 'both', 'pattern', 'rdm'; got {boot_type!r}.")
    if pattern_descriptor is None:
        keys = [getattr(m, "label_key", None) for m in models]
        pattern_descriptor = next((k for k in keys if k and k in data_rdms.pattern_descriptors), "index")
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    from threadpoolctl import threadpool_limits

    with _seeded_global_numpy(int(seed)), _quiet_tqdm(progress), threadpool_limits(1), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("always", UndefinedFitWarning)
        result = bootstrap_crossval(models, data_rdms, method=method, k_pattern=k_pattern, k_rdm=k_rdm, N=n_boot,
                                    pattern_descriptor=pattern_descriptor, rdm_descriptor=subj,
                                    boot_type=boot_type)
    for w in caught:  # pass on everything except the per-fold notes summarised below
        if not issubclass(w.category, UndefinedFitWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    n_undefined = sum(issubclass(w.category, UndefinedFitWarning) for w in caught)
    messages = []
    if n_undefined:
        messages.append(
            f"{n_undefined} training fold fit(s) had an undefined {method!r} score for every parameter value (the "
            "resampled fold held only condition pairs the model predicts as equal, or constant data); those "
            "models were scored on the test fold at their default parameters. Few conditions per fold cause "
            "this: use a smaller k_pattern, or more conditions."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        table, pairwise = _tidy(result, models, method, ci, test_type)
    n_valid = int(table["n_valid_boot"].min())
    if n_valid < result.n_bootstraps:
        msg = (
            f"only {n_valid} of {result.n_bootstraps} bootstrap samples gave a finite score for every model "
            "(rsatoolbox's resampled folds left too few distinct conditions)"
        )
        if n_valid < 2:
            msg += "; sem, intervals and p-values are undefined (NaN)"
        msg += ". Use a smaller k_pattern (e.g. k_pattern=1 with few conditions) or more conditions."
        messages.append(msg)
        if n_valid < max(2, result.n_bootstraps // 2):
            warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return HypothesisResult(result, table, pairwise, models, int(seed), messages)


def _tidy(result, models, method, ci, test_type):
    import pandas as pd

    names = [m.name for m in models]
    means = result.get_means()
    sem = result.get_sem()
    sem = np.full(len(names), np.nan) if sem is None else sem
    lo, hi = result.get_ci(ci, test_type)
    p_pair, p_zero, p_noise = result.test_all(test_type)
    nc = result.get_noise_ceil()
    nc_lo, nc_hi = (np.nanmean(nc[0]), np.nanmean(nc[1])) if nc is not None and np.size(nc) else (np.nan, np.nan)
    # bootstrap samples with a finite score per model: rsatoolbox silently averages over the rest
    ev = np.asarray(result.evaluations, dtype=float)
    if ev.ndim >= 2 and ev.shape[0] == result.n_bootstraps:
        per = np.moveaxis(ev, 1, 0).reshape(len(names), ev.shape[0], -1)
        n_valid = np.sum(np.any(np.isfinite(per), axis=2), axis=1)
    else:
        n_valid = np.full(len(names), int(np.all(np.isfinite(ev))))
    undefined = n_valid < 2
    sem, lo, hi = (np.where(undefined, np.nan, np.asarray(x, dtype=float)) for x in (sem, lo, hi))
    p_zero = np.where(undefined, np.nan, np.asarray(p_zero, dtype=float))
    p_noise = np.where(undefined, np.nan, np.asarray(p_noise, dtype=float))
    p_pair = np.asarray(p_pair, dtype=float).copy()
    p_pair[undefined, :] = np.nan
    p_pair[:, undefined] = np.nan
    table = pd.DataFrame({
        "model": names, "mean": means, "sem": sem, "ci_low": lo, "ci_high": hi, "p_zero": p_zero,
        "p_noise_ceiling": p_noise, "noise_ceiling_lower": nc_lo, "noise_ceiling_upper": nc_hi, "method": method,
        "n_boot": result.n_bootstraps, "n_valid_boot": n_valid, "cv_method": result.cv_method,
    })
    rows = []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i != j:
                rows.append({"model_a": a, "model_b": b, "mean_diff": float(means[i] - means[j]),
                             "p": float(p_pair[i, j])})
    return table, pd.DataFrame(rows, columns=["model_a", "model_b", "mean_diff", "p"])


def compare_widths(data_rdms, task, widths=(2, "wide"), *, method="corr", n_boot=100, seed=0, **kwargs):
    """:func:`evaluate_hypotheses` on :func:`width_models` (bottleneck vs wide by default).

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> from rsatoolbox.rdm import RDMs
    >>> task = rl.hierarchical_task(depth=3, include_root=False)
    >>> v = rl.LinearNetworkModel(task, n_hidden=2, lam=0.0).predict_times([2.5], [0.0])[0]
    >>> rng = np.random.default_rng(0)
    >>> data = RDMs(v + 0.1 * v.std() * rng.standard_normal((6, v.size)),
    ...             rdm_descriptors={"subject": np.arange(6)}, pattern_descriptors={"item": np.array(task.labels)})
    >>> res = rl.compare_widths(data, task, widths=[2, "wide"], n_boot=4, k_pattern=1, k_rdm=3)
    >>> list(res.table["model"])
    ['N_h=2', 'N_h=wide (14)']
    """
    check_comparison_method(method)
    model_kw = {k: kwargs.pop(k) for k in ("representation", "measure", "scale", "lam", "init") if k in kwargs}
    models = width_models(task, data_rdms, widths, **model_kw)
    return evaluate_hypotheses(data_rdms, models, method=method, n_boot=n_boot, seed=seed, **kwargs)


def compare_regimes(data_rdms, task, n_hidden=None, *, method="corr", n_boot=100, seed=0, **kwargs):
    """:func:`evaluate_hypotheses` on :func:`regime_models` (rich vs lazy)."""
    check_comparison_method(method)
    keys = ("rich_scale", "lazy_lam", "lazy_scale", "representation", "measure", "init")
    model_kw = {k: kwargs.pop(k) for k in keys if k in kwargs}
    models = regime_models(task, data_rdms, n_hidden, **model_kw)
    return evaluate_hypotheses(data_rdms, models, method=method, n_boot=n_boot, seed=seed, **kwargs)


def plot_hypotheses(result, **kwargs):
    """Bar plot of a :class:`HypothesisResult` with ``rsatoolbox.vis.plot_model_comparison``.

    Keyword arguments go to ``plot_model_comparison``.  Returns its
    ``(fig, ax, ax2)``.
    """
    from rsatoolbox.vis import plot_model_comparison

    if not isinstance(result, HypothesisResult):
        raise InputTypeError(f"`result` must be a HypothesisResult, got {type(result).__name__}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return plot_model_comparison(result.result, **kwargs)
