"""Fit many regions (ROIs, searchlight centres) of the same task in one call: :func:`fit_rois`.

A fit's predictions depend only on the task and the settings, never on the data: every region scores the same
candidate RDM trajectories.  :func:`fit_rois` builds the candidate models once and lets them keep their
predictions (the rank-one weights of every candidate at every time of the grid, for the fit and for the start
check), then runs :func:`rsa_lineardyn.fit_rdms`'s own steps on each region with those models: the estimates are
those of ``fit_rdms`` on the region, at the cost of scoring, refining and bootstrapping it.

Regions run serially, with joblib (``n_jobs``, ``backend``) or on a dask cluster (``client=``: futures over chunks
of regions, the shared models scattered to the workers once).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import threading
import warnings

import numpy as np

from .._log import stderr_is_terminal
from .._validation import InputTypeError, InputValueError, check_bool, check_choice, check_positive_int, check_rng
from ..representations.descriptors import LABEL_KEYS, unit_labels
from .design import _as_rdms
from .fitting import _candidates, _fit_rdms, _settings, fit_rdms
from .settings import Execution

__all__ = ["fit_rois", "RoiFitResult", "ROI_KEYS"]

#: rdm descriptors read as regions by ``roi_descriptor="auto"`` (first present wins); ``voxel_index`` is what
#: ``rsatoolbox.util.searchlight.get_searchlight_RDMs`` attaches (the centre of every searchlight).
ROI_KEYS = ("roi", "region", "voxel_index", "center", "centre")
#: fit_rdms options that mean something else (or nothing) for fit_rois
_OWN = ("data_rdms", "task", "n_jobs", "backend", "progress")


# ----------------------------------------------------------------------------
# shared predictions
# ----------------------------------------------------------------------------
_OWN_ATTRS = ("_engine", "_store", "_frozen", "_vectors", "_key_of", "_budget", "_lock")
#: Most bytes of full predictions (rows of near-constant predictions, scored directly) kept per fit_rois call
KEPT_BYTES = 512 * 2**20


class _SharedEngine:
    """A model's engine that keeps the rank-one weights it computed, for every later region.

    ``rank_one(lam, scale, times, tau)`` is looked up by its exact arguments; :meth:`freeze` stops storing (after
    the first region: the grids' predictions are in, and the continuous refinement's points, which differ per
    region, would only grow the store).  Stored arrays are read-only.  :meth:`kept_predictions` keeps the full
    predictions of the rows the rank-one scorer evaluates directly (near-constant predictions at early times), up
    to ``budget`` bytes shared by the engines of one call.
    """

    def __init__(self, engine, budget):
        self._engine = engine
        self._store = {}
        self._frozen = False
        self._vectors = {}  # (store key, rows) -> predictions (n_rows, n_pairs)
        self._key_of = {}  # id of a stored weight array -> its store key
        self._budget = budget  # [bytes left], shared by the engines of one call
        self._lock = threading.Lock()  # regions in threads (joblib threading, dask) share the engine and its caches

    def __getattr__(self, name):
        if name in _OWN_ATTRS:  # unpickling: not set yet
            raise AttributeError(name)
        return getattr(self._engine, name)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._key_of = {id(v[0]): k for k, v in self._store.items()}  # new objects after unpickling
        self._lock = threading.Lock()

    def kept_predictions(self, w, Bsq, weights=None):
        """``rows -> max(weights[rows] @ Bsq, 0)`` for ``w`` from :meth:`rank_one` (``weights``: ``w`` as weights
        of the rows of ``Bsq``, default ``w`` itself), kept under ``w``'s key while the budget lasts."""
        key = self._key_of.get(id(w))
        weights = w if weights is None else weights

        def predictions(rows):
            k = None if key is None else (key, rows.tobytes())
            hit = self._vectors.get(k) if k is not None else None
            if hit is not None:
                return hit
            V = np.maximum(weights[rows] @ Bsq, 0.0)
            if k is not None and not self._frozen and V.nbytes <= self._budget[0]:
                V.flags.writeable = False
                self._vectors[k] = V
                self._budget[0] -= V.nbytes
            return V

        return predictions

    def rank_one(self, lam, scale, times, tau):
        t = np.ascontiguousarray(times, dtype=float)
        key = (float(lam), float(scale), float(tau), t.shape, t.tobytes())
        hit = self._store.get(key)
        if hit is not None:
            return hit
        with self._lock:
            out = self._engine.rank_one(lam, scale, times, tau)
        if not self._frozen:
            for a in out:
                if isinstance(a, np.ndarray):
                    a.flags.writeable = False
            self._store[key] = out
            self._key_of[id(out[0])] = key
        return out

    def freeze(self):
        self._frozen = True

    @property
    def n_stored(self):
        return len(self._store)


def _share(cands, budget):
    """Give every model of ``cands`` a :class:`_SharedEngine` (rank-one engines only; others recompute)."""
    if cands is not None:
        for model, _, _ in cands.groups:
            if hasattr(model._engine, "rank_one") and not isinstance(model._engine, _SharedEngine):
                model._engine = _SharedEngine(model._engine, budget)
    return cands


def _freeze(shared):
    for cands in shared:
        for model, _, _ in (cands.groups if cands is not None else []):
            if isinstance(model._engine, _SharedEngine):
                model._engine.freeze()


# ----------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------
class RoiFitResult:
    """What :func:`fit_rois` found: one row per region.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per region, in the order the regions first appear in the data: the region label (column named
        after the roi descriptor), ``n_rdm``, best ``n_hidden``, ``lam``, ``scale``, the time(s) (``time`` for a
        snapshot; ``rate``, ``offset`` and ``time[<stage>]`` for several stages), ``score``, ``refined``,
        ``n_hidden_equivalent`` (widths within ``flat_tol`` of the best, comma-separated), with
        ``n_boot > 0`` ``<parameter>_low``, ``<parameter>_high`` and ``<parameter>_determined`` for every
        reported parameter of ``fit_rdms``'s intervals, and last ``error`` (empty, or why the region could not
        be fitted: ``on_error="record"``).
    subjects : pandas.DataFrame or None
        With ``subject_fits=True`` and several subjects: one row per region and subject (its own best fit).
    roi_descriptor : str
        The rdm descriptor that names the regions.
    rois : ndarray (n_roi,)
        The region labels (as in the data: integers for searchlight centres).
    centres : ndarray of int (n_roi,) or None
        The regions' labels when they are integers (e.g. the flat voxel indices of rsatoolbox searchlight
        centres): :meth:`to_volume` puts any column back at them.
    settings : dict
        The settings of the fits (``fit_rdms``'s, of the first region) and ``n_roi``, ``n_jobs``, ``engine``.
    seed : int or None
        ``random_state`` as given (an int), else ``None``.
    messages : list of str
        Plain-language notes (regions that could not be fitted, with ``on_error="record"``).
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def to_dataframe(self):
        """The table (a copy)."""
        return self.table.copy()

    def failed(self):
        """The rows of the regions that could not be fitted (``on_error="record"``), with their ``error``."""
        return self.table[self.table["error"] != ""].copy()

    def arrays(self):
        """The table's numeric and boolean columns as arrays (n_roi,), with ``roi`` and ``centres``."""
        out = {"roi": np.asarray(self.rois)}
        if self.centres is not None:
            out["centres"] = np.asarray(self.centres)
        for col in self.table.columns:
            v = self.table[col]
            if col != self.roi_descriptor and (v.dtype.kind in "biuf"):
                out[col] = v.to_numpy()
        return out

    def to_volume(self, column, shape, fill=np.nan):
        """``column`` of the table put at the regions' centres in an array of ``shape`` (the searchlight's
        mask shape: centres are flat indices into it, as ``get_volume_searchlight`` returns them)."""
        if self.centres is None:
            raise InputValueError(
                f"the regions ({self.roi_descriptor!r}) are not integer centres, so they have no place in a volume; "
                "to_volume needs searchlight RDMs (rdm descriptor 'voxel_index') or integer region labels.")
        if column not in self.table.columns:
            raise InputValueError(f"`column` = {column!r} is not a column of the table; it has {list(self.table.columns)}.")
        shape = tuple(int(n) for n in np.atleast_1d(shape))
        size = math.prod(shape)
        if self.centres.size and (self.centres.min() < 0 or self.centres.max() >= size):
            raise InputValueError(f"the centres run from {self.centres.min()} to {self.centres.max()}, outside a "
                                  f"volume of shape {shape} ({size} voxels); pass the searchlight mask's shape.")
        vol = np.full(size, fill, dtype=float)
        vol[self.centres] = self.table[column].to_numpy(dtype=float)
        return vol.reshape(shape)

    def summary(self):
        t = self.table
        counts = t["n_hidden"].value_counts().sort_index()
        lines = [f"fit_rois: {len(t)} region(s) ({self.roi_descriptor!r}), method {self.settings['method']!r}",
                 "  best n_hidden over regions: " + ", ".join(f"{int(h)}: {int(n)}" for h, n in counts.items()),
                 f"  score: median {np.nanmedian(t['score']):.4f} (range {np.nanmin(t['score']):.4f} to "
                 f"{np.nanmax(t['score']):.4f})"]
        n_failed = int((t["error"] != "").sum())
        if n_failed:
            lines.append(f"  not fitted: {n_failed} region(s) (see .failed())")
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()


def _row(res, roi_key, label, n_rdm):
    """One table row from a region's :class:`FitResult`."""
    b = res.best
    row = {roi_key: label, "n_rdm": int(n_rdm), "n_hidden": int(b["n_hidden"]), "lam": float(b["lam"]),
           "scale": float(b["scale"])}
    for k in ("time", "rate", "offset"):
        if k in b:
            row[k] = float(b[k])
    row.update({k: float(v) for k, v in b.items() if k.startswith("time[")})
    row.update(score=float(b["score"]), refined=bool(b["refined"]),
               n_hidden_equivalent=",".join(str(h) for h in b["n_hidden_equivalent"]))
    if res.settings["n_boot"] > 0:
        for r in res.intervals.itertuples():
            row[f"{r.parameter}_low"] = float(r.low)
            row[f"{r.parameter}_high"] = float(r.high)
            row[f"{r.parameter}_determined"] = bool(r.determined)
    return row


# ----------------------------------------------------------------------------
# the work on regions
# ----------------------------------------------------------------------------
def _fit_one(rdms, label, rng, task, s, shared, roi_key, subjects, on_error="raise"):
    """``((table row, per-subject rows), FitResult)`` of one region.

    A region whose data cannot be fitted (an :class:`InputValueError`: constant or all-missing RDMs, too few
    subjects, ...) raises, naming the region; with ``on_error="record"`` it gives a row with its ``error`` and no
    estimates instead (and ``None`` for the FitResult).
    """
    try:
        res = _fit_rdms(rdms, task, dataclasses.replace(s, resampling=dataclasses.replace(s.resampling, rng=rng)), shared, subjects=subjects)
    except InputValueError as e:
        if on_error == "record":
            return ({roi_key: label, "n_rdm": int(rdms.n_rdm), "error": str(e)}, []), None
        raise InputValueError(f"region {label!r} ({roi_key!r}): {e}") from e
    sub = [] if res.subjects is None else [{roi_key: label, **r} for r in res.subjects.to_dict("records")]
    return (dict(_row(res, roi_key, label, rdms.n_rdm), error=""), sub), res


def _fit_chunk(items, task, s, shared, roi_key, subjects, on_error="raise"):
    """Rows of a chunk of regions ``[(RDMs, label, rng), ...]`` (one BLAS thread, as fit_rdms)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return [_fit_one(rdms, label, rng, task, s, shared, roi_key, subjects, on_error)[0]
                for rdms, label, rng in items]


def _fit_first(items, args):
    """Rows of the leading regions up to the first that fits (it fills the shared predictions), its FitResult,
    and the number of regions used; every region failing raises the first one's error."""
    rows = []
    for i, item in enumerate(items):
        row, res = _fit_one(*item, *args)
        rows.append(row)
        if res is not None:
            return rows, res, i + 1
    _fit_one(*items[0], *args[:-1], "raise")  # none fits: the first region's own error
    raise AssertionError("unreachable")  # pragma: no cover


def _chunks(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def _run_joblib(chunks, args, n_jobs, backend, progress):
    from joblib import Parallel, delayed

    jobs = (delayed(_fit_chunk)(c, *args) for c in chunks)
    it = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")(jobs)
    return _with_progress(it, len(chunks), progress)


def _run_dask(chunks, args, client, progress):
    """Futures over chunks of regions; task, settings and shared models scattered to every worker once."""
    from distributed import as_completed

    task, s, shared, roi_key, subjects, on_error = args
    task_f, s_f, shared_f = client.scatter([task, s, shared], broadcast=True)
    futures = [client.submit(_fit_chunk, c, task_f, s_f, shared_f, roi_key, subjects, on_error, pure=False)
               for c in chunks]
    done = {}
    for fut in _with_progress(as_completed(futures), len(futures), progress):
        done[fut.key] = fut.result()
    return [done[f.key] for f in futures]


def _with_progress(it, total, progress):
    if not progress:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, total=total, desc="fit_rois", unit="chunk")


# ----------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------
def fit_rois(data_rdms, task, n_hidden=None, lam=None, *, roi_descriptor="auto", condition_labels=None, n_jobs=1,
             backend=None, client=None, chunk_size=None, subject_fits=False, on_error="raise", progress=None,
             **options):
    """Fit every region of ``data_rdms`` (an ROI atlas, a searchlight) with :func:`fit_rdms`, sharing predictions.

    Each region gets exactly ``fit_rdms(region_rdms, task, n_hidden, lam, **options)``'s estimates (the same
    grid, refinement, start check and bootstrap, the same ``random_state`` for every region), but the candidate
    models and their predictions are built once for all regions: a region costs its scoring, refinement and
    bootstrap only.

    Parameters
    ----------
    data_rdms : rsatoolbox.rdm.RDMs
        The RDMs of all regions, over the same conditions; the rdm descriptor ``roi_descriptor`` names each RDM's
        region, the others (subjects, stages) are read per region as ``fit_rdms`` reads them.  The output of
        ``rsatoolbox.util.searchlight.get_searchlight_RDMs`` goes in as it is (regions: ``voxel_index``; give
        ``condition_labels``, as those RDMs carry no condition labels), also several subjects' searchlights
        joined with ``rsatoolbox.rdm.concat`` and a ``subject`` descriptor.
    task : Task
        The task the subjects learned.
    n_hidden, lam
        As in :func:`fit_rdms`.
    roi_descriptor : "auto" or str
        rdm descriptor naming the regions (``"auto"``: the first of ``roi, region, voxel_index, center, centre``).
    condition_labels : sequence of str, optional
        The task's item label of every condition, in the RDMs' order, for data without a label descriptor (a
        searchlight's conditions are ``numpy.unique(events)``).  Refused for data that carry labels already.
    n_jobs : int, default 1
        joblib workers over chunks of regions (``-1``: all cores).  Every region itself runs serially.
    backend : str, optional
        joblib backend for ``n_jobs`` (default: joblib's, ``loky`` processes).
    client : dask.distributed.Client, optional
        Run the chunks of regions on this dask cluster (futures; the shared models are scattered to every
        worker once).  Needs ``pip install rsa_lineardyn[dask]``; ``n_jobs``/``backend`` are then unused.
    chunk_size : int, optional
        Regions per job (default: about four jobs per worker).
    subject_fits : bool, default False
        Also fit every subject of every region on its own (``fit_rdms``'s ``subjects`` table, with per-subject
        refinement; its per-subject intervals are not kept): the result's ``subjects`` table.  Off by default:
        the per-subject work costs more than the region's group fit and changes none of its results.
    on_error : {"raise", "record"}, default "raise"
        What a region whose data cannot be fitted does (constant or all-missing RDMs at the edge of a
        searchlight mask, a region with too few subjects: the :class:`~rsa_lineardyn.InputValueError` that
        ``fit_rdms`` raises on it).  ``"raise"`` stops the run with that error, naming the region.
        ``"record"`` keeps going: the region's row has its message in ``error`` and no estimates (NaN), a
        :class:`RuntimeWarning` and ``messages`` give the count, and ``RoiFitResult.failed()`` lists them.
        Every other error stops the run either way.
    progress : bool, optional
        A progress bar over chunks; default on only when stderr is a terminal.
    **options
        Every other keyword of :func:`fit_rdms` (``method``, ``init``, ``n_boot``, ``refine``, ``start_check``,
        ``random_state``, ...), checked as ``fit_rdms`` checks them.

    Returns
    -------
    RoiFitResult
        ``table`` (one row per region: best ``n_hidden``, ``lam``, time(s), ``score``, intervals with
        ``n_boot > 0``), ``rois``, ``centres`` and ``to_volume(column, shape)`` for searchlight maps.

    Notes
    -----
    The first region is fitted in the calling process and fills the shared store: the rank-one weights of every
    candidate at every time of the grid (fit and start check; ``n_candidates x n_times x J`` numbers), plus the
    full predictions of the near-constant early-time rows that are scored directly, up to :data:`KEPT_BYTES`
    (512 MiB) per call.  The store is then frozen and sent with the work (joblib) or scattered once (dask).
    Engines without rank-one weights (``representation="ntk"``) recompute their predictions in every region.
    Every region is refined and bootstrapped on its own: that work, not the predictions, sets the cost per
    region (``benchmarks/rois.py``).

    Examples
    --------
    >>> import numpy as np, rsatoolbox, rsa_lineardyn as rl
    >>> task = rl.hierarchical_task(depth=2)
    >>> a = rl.LinearNetworkModel(task, n_hidden=1, lam=0.0, init="aligned").predict_rdm([0.5])
    >>> b = rl.LinearNetworkModel(task, n_hidden=4, lam=0.0, init="aligned").predict_rdm([0.5])
    >>> data = rsatoolbox.rdm.concat([a, b])
    >>> data.rdm_descriptors["roi"] = np.array(["V1", "IT"])
    >>> res = rl.fit_rois(data, task, n_hidden=[1, 4], init="aligned", n_boot=0, start_check=None)
    >>> res.table[["roi", "n_hidden"]].values.tolist()
    [['V1', 1], ['IT', 4]]
    """
    from threadpoolctl import threadpool_limits


    client = _check_client(client)
    opts = _fit_options(options)
    data_rdms = _with_labels(data_rdms, condition_labels)
    with threadpool_limits(1):
        data_rdms, s = _settings(data_rdms, task, n_hidden=n_hidden, lam=lam, n_jobs=n_jobs, backend=backend,
                                 progress=progress, **opts)
        n_jobs, backend = s.run.n_jobs, s.run.backend
        if backend == "dask" and client is None:  # joblib has no 'dask' backend of its own: the running client
            client = _running_client()
        progress = stderr_is_terminal() if progress is None else check_bool(progress, "progress")
        s = dataclasses.replace(s, run=Execution(1, None, False))
        roi_key, labels, members = _regions(data_rdms, roi_descriptor)
        items = [(data_rdms[idx], lab, rng) for lab, idx, rng in zip(labels, members, _rngs(s, len(labels)))]
        budget = [KEPT_BYTES]
        shared = (_share(_candidates(task, data_rdms, s), budget),
                  _share(_candidates(task, data_rdms, s, other=True), budget))
        subject_fits = check_bool(subject_fits, "subject_fits")
        args = (task, s, shared, roi_key, subject_fits, check_choice(on_error, "on_error", ("raise", "record")))
        first, res0, used = _fit_first(items, args)  # the first region that fits fills the shared predictions
        _freeze(shared)
        rest = items[used:]
        workers = _n_workers(client, n_jobs)
        size = (check_positive_int(chunk_size, "chunk_size") if chunk_size is not None
                else max(1, math.ceil(len(rest) / (4 * workers))))
        chunks = _chunks(rest, size)
        if not chunks:
            parts = []
        elif client is not None:
            parts = _run_dask(chunks, args, client, progress)
        elif n_jobs == 1 and backend is None:
            parts = [_fit_chunk(c, *args) for c in _with_progress(chunks, len(chunks), progress)]
        else:
            parts = list(_run_joblib(chunks, args, n_jobs, backend, progress))
    return _result(data_rdms, first + [r for p in parts for r in p], roi_key, labels, res0, s,
                   engine="dask" if client is not None else ("serial" if workers == 1 else "joblib"), n_jobs=n_jobs)


def _result(data_rdms, rows, roi_key, labels, res0, s, **settings):
    import pandas as pd

    table = pd.DataFrame([r for r, _ in rows])
    table = table[[c for c in table.columns if c != "error"] + ["error"]]
    sub = [x for _, rs in rows for x in rs]
    subjects = pd.DataFrame(sub) if sub else None
    rois = np.asarray(labels)
    centres = rois.astype(np.int64) if rois.dtype.kind in "iu" else None
    messages = []
    failed = table.loc[table["error"] != "", roi_key].tolist()
    if failed:
        shown = ", ".join(repr(x) for x in failed[:5]) + (" ..." if len(failed) > 5 else "")
        messages.append(f"{len(failed)} of {len(table)} regions could not be fitted ({shown}): their rows have no "
                        "estimates; the reason is in table['error'] (on_error='record')")
        warnings.warn(messages[-1], RuntimeWarning, stacklevel=3)
    return RoiFitResult(table=table, subjects=subjects, roi_descriptor=roi_key, rois=rois, centres=centres,
                        settings=dict(res0.settings, method=s.method, n_roi=len(rows), **settings),
                        seed=s.resampling.random_state, messages=messages)


def _fit_options(options):
    """``options`` checked against :func:`fit_rdms`'s keywords, completed with its defaults."""
    params = {k: p.default for k, p in inspect.signature(fit_rdms).parameters.items()
              if k not in _OWN + ("n_hidden", "lam")}
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise InputTypeError(
            f"fit_rois got unexpected keyword argument(s) {unknown}; it takes fit_rdms's options "
            f"({', '.join(sorted(params))}) and its own (roi_descriptor, condition_labels, n_jobs, backend, client, "
            "chunk_size, progress).")
    return {**params, **options}


def _with_labels(data_rdms, condition_labels):
    """The data with pattern descriptor ``item`` from ``condition_labels`` (for searchlight RDMs), or unchanged."""
    data_rdms = _as_rdms(data_rdms)
    if condition_labels is None:
        return data_rdms
    labels = np.array([str(x) for x in np.asarray(condition_labels).ravel().tolist()])
    if labels.size != data_rdms.n_cond:
        raise InputValueError(f"`condition_labels` has {labels.size} labels but the RDMs have {data_rdms.n_cond} "
                              "conditions; give one task item label per condition, in the RDMs' order.")
    have = [k for k in LABEL_KEYS if k in data_rdms.pattern_descriptors]
    if have:
        raise InputValueError(f"`condition_labels` was given but the RDMs carry labels already (pattern descriptor "
                              f"{have[0]!r}); drop condition_labels, or pass condition_descriptor= to choose.")
    out = data_rdms.copy()
    out.pattern_descriptors = dict(data_rdms.pattern_descriptors, item=labels)
    return out


def _regions(data_rdms, roi_descriptor):
    """``(descriptor, labels in order of first appearance, RDM indices of each)``."""
    desc = data_rdms.rdm_descriptors
    if roi_descriptor == "auto":
        key = next((k for k in ROI_KEYS if k in desc), None)
        if key is None:
            raise InputValueError(
                f"`data_rdms` has no rdm descriptor naming regions (none of {list(ROI_KEYS)}; it has {sorted(desc)}). "
                "Pass roi_descriptor='<name>', or add one: data.rdm_descriptors['roi'] = np.array(region_of_each_rdm).")
    elif not isinstance(roi_descriptor, str):
        raise InputTypeError(f"`roi_descriptor` must be 'auto' or the name of an rdm descriptor, got {roi_descriptor!r}.")
    elif roi_descriptor not in desc:
        raise InputValueError(f"`roi_descriptor` = {roi_descriptor!r} is not an rdm descriptor of `data_rdms`; it has "
                              f"{sorted(desc)}.")
    else:
        key = roi_descriptor
    values = np.asarray(desc[key])
    unit_labels(values, key)  # refuses labels that differ only by type (1 and "1")
    _, first, inv = np.unique(values.astype(str), return_index=True, return_inverse=True)
    order = np.argsort(first)
    labels = [values[first[i]].item() if hasattr(values[first[i]], "item") else values[first[i]] for i in order]
    members = [np.flatnonzero(inv.ravel() == i) for i in order]
    return key, labels, members


def _rngs(s, n):
    """One generator per region: a fresh ``default_rng(random_state)`` each for an int seed (as fit_rdms on the
    region alone), else independent children of the one generator."""
    if s.resampling.random_state is not None:
        return [check_rng(s.resampling.random_state, "random_state") for _ in range(n)]
    return s.resampling.rng.spawn(n)


def _running_client():
    """The running dask.distributed client for ``backend='dask'``, or a named error saying how to start one."""
    try:
        from distributed import get_client
    except ImportError as e:
        raise ImportError("fit_rois(backend='dask') runs on a dask cluster and needs dask.distributed: "
                          "pip install 'rsa_lineardyn[dask]'.") from e
    try:
        return get_client()
    except ValueError:
        raise InputValueError(
            "fit_rois(backend='dask') needs a running dask.distributed client: start one (client = "
            "dask.distributed.Client()) and pass client=client (or call with it running), or use backend=None / "
            "'loky' for processes on this machine.") from None


def _check_client(client):
    if client is None:
        return None
    try:
        from distributed import Client
    except ImportError as e:
        raise ImportError("`client=` runs the regions on a dask cluster and needs dask.distributed: "
                          "pip install 'rsa_lineardyn[dask]' (or 'dask[distributed]').") from e
    if not isinstance(client, Client):
        raise InputTypeError(f"`client` must be a dask.distributed.Client (or None), got {type(client).__name__}.")
    return client


def _n_workers(client, n_jobs):
    if client is not None:
        return max(1, sum(client.nthreads().values()))
    if n_jobs is None or n_jobs == 1:
        return 1
    from joblib import cpu_count

    return cpu_count() + 1 + n_jobs if n_jobs < 0 else n_jobs
