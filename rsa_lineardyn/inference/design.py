"""The design of a fit: stages, units, candidates, the time grid and the score tensor.

Shared by :func:`rsa_lineardyn.fit_rdms` and the hypothesis tests.  A fit
scores every prediction (candidate ``n_hidden`` x ``lam`` x init ``scale``, at
every time parameter of the grid) against every data RDM once: the score
tensor ``R`` of shape (n_rdm, C, G).  Group fits, per-subject fits, the
bootstrap and crossvalidation folds are then only different weightings of
its first axis (:func:`aggregate`).

* :func:`make_design` reads the rdm descriptors (subjects, stages) and builds
  the time-parameter grid (one time for a snapshot; ``t = offset + rate *
  stage`` or free non-decreasing times for several stages).
* :func:`make_candidates` builds one :class:`LinearNetworkModel` per width and
  the candidate list.
* :func:`score_tensor` computes ``R`` (joblib over widths).
* :func:`aggregate` finds, for given weights over the data RDMs, the best
  time parameters of every candidate.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._validation import (
    InputTypeError,
    InputValueError,
    check_bounds,
    check_grid_size,
    check_lam,
    check_positive_int,
    check_rdm_values,
    has_text,
)
from ..representations.descriptors import stage_values, unit_labels, unread_stage_names
from ..models.network import DegeneracyWarning, LinearNetworkModel
from ..representations.similarity import _PreparedData, _rank_one_factor, _RankOneScores, _weighted_fast

__all__ = ["check_labelled", "STAGE_KEYS", "SUBJECT_KEYS", "Design", "Candidates", "make_design", "make_candidates", "score_tensor",
           "aggregate"]

#: rdm descriptors read as stages of learning by ``stage_descriptor="auto"`` (first present wins).  ``session``
#: is deliberately absent: sessions (runs) of a subject are repeated measurements of one state, kept together with
#: their subject by every bootstrap and test; pass ``stage_descriptor="session"`` if yours are stages.
STAGE_KEYS = ("stage", "epoch", "time")
#: rdm descriptors read as subjects by ``subject_descriptor="auto"``.
SUBJECT_KEYS = ("subject", "participant", "subj", "sub")



# ----------------------------------------------------------------------------
# the design: units, stages, time grid
# ----------------------------------------------------------------------------
class Design:
    """Units, stages and time-parameter grid of a fit (plain attributes; built by :func:`make_design`).

    Attributes
    ----------
    n_rdm : int
    data : ndarray (n_rdm, n_pairs)
        The data RDMs' dissimilarity vectors.
    stage_key, subject_key : str or None
    stages : list
        Stage values in order (``["all"]`` for a snapshot); ``xs`` their
        positions on the stage axis, ``stage_of`` (n_rdm,) the stage index of
        every RDM, ``K`` their number.
    subjects : list of str or None
        Units of replication (``subject_of`` (n_rdm,) indexes it).
    snapshot, free, time_offset : bool
    lt : ndarray (n_times,)
        log10 time grid (``t_lo`` ... ``t_hi``).
    tparams : ndarray (G, p), tnames : list of str
        Time parameters of the grid (``log10_time``; or ``log10_rate`` [and ``offset``]).
    times : ndarray (G, K)
        Time of every stage at every grid point; ``uniq``/``inv`` its unique values and indices.
    messages : list of str
    """

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def weights_of_units(self, counts):
        """Weights over RDMs from per-unit counts (bootstrap / crossvalidation folds), shape (n_rdm,)."""
        if self.subjects is None:
            raise InputValueError("the data have no subject descriptor: there are no units to weight.")
        return np.asarray(counts, dtype=float)[self.subject_of]


def make_design(data_rdms, task, *, subject_descriptor="auto", stage_descriptor="auto", stage_keys=STAGE_KEYS,
                time_map="linear", time_offset=False, time_bounds=None, n_times=61, min_scale=0.1, tau=1.0,
                stage_order=None):
    """Read units and stages from the rdm descriptors and build the time-parameter grid.

    ``min_scale`` is the smallest init scale any candidate uses: the default
    upper time bound is a time at which the slowest mode, started there, has
    converged (``lam = 0``).
    """
    n_times = check_grid_size(n_times, "n_times", minimum=3)
    messages = []
    subj_key, stage_key = _descriptor_keys(data_rdms, subject_descriptor, stage_descriptor, stage_keys, stage_order,
                                           messages)
    stages, xs, stage_of = _stages_of(data_rdms, stage_key, stage_order)
    K = len(stages)
    snapshot = K == 1
    if not snapshot and time_map == "linear" and np.any(xs < 0):
        raise InputValueError(
            f"stage values must be >= 0 for time_map='linear' (t = rate * stage), got {xs.tolist()}; "
            "shift them, or use time_map='free'."
        )
    subjects, subject_of = None, None
    if subj_key is not None:
        subj_vals, subjects = unit_labels(data_rdms.rdm_descriptors[subj_key], subj_key)
        index = {s: i for i, s in enumerate(subjects)}
        subject_of = np.array([index[s] for s in subj_vals], dtype=int)
    t_lo, t_hi = _time_bounds(task, time_bounds, min_scale, tau)
    lt = np.linspace(np.log10(t_lo), np.log10(t_hi), n_times)
    free = (not snapshot) and time_map == "free"
    tparams, tnames, times = _time_grid(lt, xs, snapshot or free, time_offset, t_lo, t_hi)
    uniq, inv = np.unique(times, return_inverse=True)
    inv = inv.reshape(times.shape)
    data = _drop_degenerate_rdms(data_rdms.get_vectors().astype(float), messages)
    return Design(n_rdm=data_rdms.n_rdm, data=data, stage_key=stage_key,
                  subject_key=subj_key, stages=stages, xs=xs, stage_of=stage_of, K=K, snapshot=snapshot, free=free,
                  time_offset=bool(time_offset and not snapshot and not free), subjects=subjects,
                  subject_of=subject_of, lt=lt, t_lo=t_lo, t_hi=t_hi, tparams=tparams, tnames=tnames, times=times,
                  uniq=uniq, inv=inv, messages=messages, tau=tau)


#: Valid (finite) dissimilarities an RDM needs to be scored: a correlation over 2 pairs is always +-1.
MIN_VALID_PAIRS = 3


def _drop_degenerate_rdms(data, messages):
    """``data`` with the RDMs that have 1 or 2 valid dissimilarities (of at least 3) set to NaN, and a message.

    Their correlation with any prediction is +-1 (cosine nearly so): scored, they would pull a unit's mean score
    towards 1 whatever the model.  Left out like an all-NaN RDM (its unit keeps its other RDMs)."""
    n_valid = np.isfinite(data).sum(axis=1)
    few = np.flatnonzero((n_valid > 0) & (n_valid < MIN_VALID_PAIRS) & (data.shape[1] >= MIN_VALID_PAIRS))
    if few.size:
        data = data.copy()
        data[few] = np.nan
        messages.append(
            f"RDM(s) {few[:5].tolist()}{' ...' if few.size > 5 else ''} of `data_rdms` have fewer than "
            f"{MIN_VALID_PAIRS} valid dissimilarities ({sorted(set(n_valid[few].tolist()))} of {data.shape[1]}): "
            "a correlation over 2 pairs is always +-1, so they are left out of the scores like an all-NaN RDM")
    return data


def _descriptor_keys(data_rdms, subject_descriptor, stage_descriptor, stage_keys, stage_order, messages):
    """The rdm descriptors naming subjects and stages (None: none); refuses what it would have to guess."""
    subj_key = _find_key(data_rdms, subject_descriptor, SUBJECT_KEYS, "subject_descriptor")
    stage_key = _find_key(data_rdms, stage_descriptor, stage_keys, "stage_descriptor")
    if stage_descriptor == "auto" and stage_key is None:
        unread = unread_stage_names(data_rdms.rdm_descriptors, taken=(subj_key,))
        if unread:  # e.g. 'phase' or 'Stage': pooling its RDMs as one snapshot would silently drop the time course
            raise InputValueError(
                f"rdm descriptor(s) {', '.join(repr(k) for k in unread)} of `data_rdms` look like stages of learning "
                f"but are not read as stages automatically (only {list(stage_keys)} are). Pass "
                f"stage_descriptor={unread[0]!r} (CLI: --stage-descriptor) if they are stages, or stage_descriptor=None "
                "to pool their RDMs as repeated measurements of one state.")
    if subject_descriptor == "auto" and subj_key is None:
        _refuse_unknown_grouping(data_rdms, stage_key)
    if stage_order is not None and stage_key is None:
        raise InputValueError(
            "`stage_order` was given but the data have no stage descriptor (rdm descriptors "
            f"{sorted(data_rdms.rdm_descriptors)}); pass stage_descriptor= with the one that names the stages.")
    if stage_key is not None and stage_key == subj_key:
        raise InputValueError(
            f"the same rdm descriptor {stage_key!r} was taken as subjects and as stages; pass subject_descriptor= "
            "and stage_descriptor= explicitly."
        )
    if stage_descriptor == "auto" and stage_key is not None:
        messages.append(f"read rdm descriptor {stage_key!r} as stages of learning; pass stage_descriptor=None if "
                        "they are repeated measurements of one state")
    if subj_key is not None:
        _note_pooled_descriptors(data_rdms, subj_key, stage_key, messages)
    return subj_key, stage_key


#: rdm descriptors that name repeated measurements of one state within a subject, never stages or subjects.
REPEATED_KEYS = ("session", "run")


def _note_pooled_descriptors(rdms, subj_key, stage_key, messages):
    """A message for every rdm descriptor (other than subjects, stages, ``index``) that varies within a subject: its
    RDMs are pooled with their subject as repeated measurements -- right for sessions or runs, wrong if it is a
    ``day`` or ``age`` of learning, so the user is told how to read it as stages."""
    subj = [str(x) for x in np.asarray(rdms.rdm_descriptors[subj_key]).tolist()]
    for k, v in rdms.rdm_descriptors.items():
        if k in (subj_key, stage_key, "index", *REPEATED_KEYS):
            continue
        vals = [str(x) for x in np.asarray(v).tolist()]
        if len(vals) != len(subj) or len(set(vals)) == len(vals):  # one value per RDM: a name, not a grouping
            continue
        within = {}
        for s_, x in zip(subj, vals):
            within.setdefault(s_, set()).add(x)
        if any(len(xs) > 1 for xs in within.values()):
            shown = list(dict.fromkeys(vals))
            messages.append(
                f"rdm descriptor {k!r} ({', '.join(shown[:3])}{', ...' if len(shown) > 3 else ''}) varies within "
                f"subjects and is taken as repeated measurements of one state (pooled with their subject); pass "
                f"stage_descriptor={k!r} if these are stages of learning")


def _stages_of(data_rdms, stage_key, stage_order):
    """Stage values in learning order, their positions on the stage axis, and every RDM's stage index."""
    if stage_key is None:
        return ["all"], np.array([1.0]), np.zeros(data_rdms.n_rdm, dtype=int)
    stages, xs = stage_values(data_rdms.rdm_descriptors[stage_key], stage_key, stage_order)
    pos = {str(s): i for i, s in enumerate(stages)}
    stage_of = np.array([pos[str(s)] for s in np.asarray(data_rdms.rdm_descriptors[stage_key]).tolist()], dtype=int)
    return stages, xs, stage_of


def _time_bounds(task, time_bounds, min_scale, tau):
    """The searched time range: given, or from the task's spectrum (upper: the slowest mode converged, lam = 0)."""
    if time_bounds is not None:
        return check_bounds(time_bounds, "time_bounds", minimum=0, strict_min=True, strict_order=True)
    s = task.singular_values
    s_max = float(s[0]) if s.size and s[0] > 0 else 1.0
    pos_s = s[s > 1e-12 * s_max]
    s_min = float(pos_s[-1]) if pos_s.size else s_max
    a0 = float(min_scale) ** 2
    return 1e-3 * tau / s_max, tau * (np.log(max(s_max / a0, np.e)) + 10.0) / (2.0 * s_min)


def _time_grid(lt, xs, per_time, time_offset, t_lo, t_hi):
    """Time parameters of the grid, their names, and every stage's time at every grid point (G, K).

    ``per_time``: one log10 time per grid point (a snapshot, or free times per stage); else the linear map
    ``t = offset + rate * stage``.
    """
    K = xs.size
    if per_time:
        return lt[:, None], ["log10_time"], np.repeat(10.0**lt[:, None], K, axis=1)
    n_times = lt.size
    xpos = xs[xs > 0]
    lrate = np.linspace(np.log10(t_lo) - np.log10(xpos.max()), np.log10(t_hi) - np.log10(xpos.min()), n_times)
    if time_offset:
        offs = np.concatenate([[0.0], np.logspace(np.log10(t_lo), np.log10(t_hi), max(n_times // 6, 3))])
        R_, O_ = np.meshgrid(lrate, offs, indexing="ij")
        tparams, tnames = np.column_stack([R_.ravel(), O_.ravel()]), ["log10_rate", "offset"]
    else:
        tparams, tnames = lrate[:, None], ["log10_rate"]
    off = tparams[:, 1] if time_offset else np.zeros(tparams.shape[0])
    return tparams, tnames, off[:, None] + (10.0 ** tparams[:, :1]) * xs[None, :]


# ----------------------------------------------------------------------------
# candidates: groups of (model, lam values, log10 scales)
# ----------------------------------------------------------------------------
class Candidates:
    """The candidates of a fit: groups of one model with its ``lam`` and ``log10_scale`` grids.

    Candidate ``c`` belongs to group ``group[c]`` and has ``n_hidden[c]``,
    ``lam[c]`` and ``log10_scale[c]``; the candidates of a group are
    contiguous, ``lam``-major.
    """

    def __init__(self, groups):
        self.groups = list(groups)  # [(model, lams (n_l,), log10_scales (n_s,))]
        g, h, lam, ls = [], [], [], []
        for i, (model, lams, lss) in enumerate(self.groups):
            for l_ in lams:
                for s_ in lss:
                    g.append(i)
                    h.append(model.n_hidden)
                    lam.append(l_)
                    ls.append(s_)
        self.group = np.array(g, dtype=int)
        self.n_hidden = np.array(h, dtype=int)
        self.lam = np.array(lam, dtype=float)
        self.log10_scale = np.array(ls, dtype=float)

    def __len__(self):
        return self.group.size

    def model_of(self, c):
        return self.groups[int(self.group[c])][0]


def make_candidates(task, data_rdms, widths, lam, n_lam, log10_scales, model_kw):
    """One group per hidden width (a :class:`LinearNetworkModel` each), with its feasible ``lam`` grid."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegeneracyWarning)
        models = {h: LinearNetworkModel(task, n_hidden=h, item_order=data_rdms, **model_kw) for h in widths}
    for h in widths:  # validates the labels once, with a clear error
        models[h].selection(data_rdms)
    groups = []
    for h in widths:
        lv = _lam_values(lam, h, task, n_lam)
        if lv.size == 0:
            raise InputValueError(
                f"none of the `lam` values {np.atleast_1d(lam).tolist()} is feasible for n_hidden = {h} "
                f"(lam > 0 needs n_hidden <= n_out = {task.n_out}, lam < 0 needs n_hidden <= n_in = {task.n_in})."
            )
        groups.append((models[h], lv, np.asarray(log10_scales, dtype=float)))
    return Candidates(groups)


# ----------------------------------------------------------------------------
# the score tensor
# ----------------------------------------------------------------------------
#: Factorisations of pair bases for :func:`_rank_one_scores`, most recent last: a few entries of
#: (weak reference to the basis a model holds, kept-pair mask, method, J x J factor).
_FACTORS = []
_N_FACTORS = 4


def _rank_one_scores(model, prepared):
    """:class:`~rsa_lineardyn.representations.similarity._RankOneScores` for ``model``'s full selection, or ``None`` if not applicable.

    Applies to ``corr``/``cosine`` on squared-Euclidean predictions of a rank-one engine (every representation
    but the NTK) over distinct conditions.  The basis factorisation is shared (a small module-level cache)
    between models with the same pair basis (all widths of ``init="random"``) or a prefix of it (the aligned
    widths: the factor of the first rows is the leading block).
    """
    import weakref

    sel = getattr(model, "_full", None)
    if (prepared is None or not prepared.fast or sel is None or not sel.fast or model.measure != "euclidean"
            or sel.duplicate.any()):
        return None
    Bsq, keep, method = sel.Bsq, prepared.keep, prepared.method
    if Bsq is None:  # the group pair rows are too large to keep: score the predictions directly
        return None
    J = Bsq.shape[0]
    for ref, kp, meth, factor in list(_FACTORS):
        full = ref()
        if (full is not None and meth == method and full.shape[0] >= J and full.shape[1] == Bsq.shape[1]
                and np.array_equal(kp, keep) and np.array_equal(full[:J], Bsq)):
            RbT, rownorm, mean = factor
            return _GroupedScores(_RankOneScores(Bsq, prepared, (RbT[:J, :J], rownorm[:J], mean[:J])), sel)
    factor = _rank_one_factor(Bsq, keep, method)
    _FACTORS.append((weakref.ref(Bsq), keep.copy(), method, factor))
    del _FACTORS[:-_N_FACTORS]
    return _GroupedScores(_RankOneScores(Bsq, prepared, factor), sel)


class _GroupedScores:
    """:class:`~rsa_lineardyn.representations.similarity._RankOneScores` on a selection's group pair rows, fed the engine's weights."""

    def __init__(self, scores, sel):
        self.scores, self.sel = scores, sel

    @property
    def Bsq(self):
        """The group pair rows the scores are computed from (``weights(w) @ Bsq`` are the predictions)."""
        return self.scores.Bsq

    def weights(self, w):
        """The engine's rank-one weights ``w`` (T, J) as weights of the group pair rows."""
        return self.sel.group_weights(w)

    def score(self, w, predictions=None):
        """Scores (T, n_rows) for the engine's rank-one weights ``w`` (T, J); ``predictions(rows)`` as for
        :meth:`~rsa_lineardyn.representations.similarity._RankOneScores.score`."""
        return self.scores.score(self.weights(w), predictions)


_CONTROLLER = None


def _one_blas_thread():
    """Context limiting BLAS/OpenMP pools to one thread, from one ``ThreadpoolController`` built once
    (``threadpool_limits`` re-scans the loaded libraries on every call, ~2 ms here)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


def _score_group(design, model, lams, log10_scales, method, sigma_k, pair_weights):
    """Score tensor of one group: (n_maps, n_rdm, n_lam * n_scale, G)."""
    with _one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DegeneracyWarning)
        uniq, inv = design.uniq, design.inv  # inv: (G, K) indices into uniq
        stage_of = design.stage_of
        D = design.data
        C = len(lams) * len(log10_scales)
        n_maps = 1 if pair_weights is None else pair_weights.shape[0]
        out = np.empty((n_maps, D.shape[0], C, inv.shape[0]))
        idx = inv[:, stage_of]  # (G, R): score of rdm r at time parameter g is S[:, idx[g, r], r]
        prepared = _PreparedData(D, method, sigma_k) if pair_weights is None else None  # data rescaled once
        rank_one = _rank_one_scores(model, prepared)
        c = 0
        for lam in lams:
            for ls in log10_scales:
                if rank_one is not None:  # scores straight from the rank-one weights (no n_pairs-long vectors)
                    lam_, scale_, _ = model._unpack(_theta(model, lam, ls))
                    w = model._engine.rank_one(lam_, scale_, uniq, model.tau)[0]
                    kept = getattr(model._engine, "kept_predictions", None)  # fit_rois: kept across regions
                    wg = rank_one.weights(w)  # the group rows' weights, once for the kept predictions and the scores
                    preds = None if kept is None else kept(w, rank_one.Bsq, wg)
                    S = rank_one.scores.score(wg, preds)[None]
                    out[:, :, c, :] = np.take_along_axis(S, idx[None], axis=1).transpose(0, 2, 1)
                    c += 1
                    continue
                V = model.predict_times(uniq, _theta(model, lam, ls))  # (U, n_pairs)
                if pair_weights is None:
                    S = prepared.score(V)[None]  # (1, U, R)
                else:
                    S = _weighted_fast(V, D, pair_weights, method)  # (B, U, R)
                out[:, :, c, :] = np.take_along_axis(S, idx[None], axis=1).transpose(0, 2, 1)
                c += 1
    return out


def score_tensor(design, candidates, method, sigma_k=None, *, pair_weights=None, n_jobs=1, backend=None,
                 progress=False, what="fit"):
    """Scores of every candidate at every time parameter against every data RDM: (n_maps, n_rdm, C, G).

    ``n_maps`` is 1, or the number of rows of ``pair_weights`` (a bootstrap
    over conditions).  joblib runs the groups in parallel (``n_jobs``,
    ``backend``; ``backend="dask"`` submits them to the running dask.distributed client).
    """
    from joblib import delayed

    jobs = [delayed(_score_group)(design, model, lams, lss, method, sigma_k, pair_weights)
            for model, lams, lss in candidates.groups]
    return np.concatenate(_run_jobs(jobs, n_jobs, backend, progress, what), axis=2)


def _run_jobs(jobs, n_jobs, backend, progress, what):
    """Results of joblib ``delayed`` jobs, in order: serially, with joblib, or (``backend="dask"``) as futures
    on the running ``dask.distributed`` client."""
    from joblib import Parallel

    if n_jobs == 1 and backend is None:
        it = (job[0](*job[1], **job[2]) for job in jobs)
    elif backend == "dask":
        it = _dask_jobs(jobs, what)
    else:
        it = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator")(jobs)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, total=len(jobs), desc=what, unit="model")
    return list(it)


def _dask_jobs(jobs, what):
    """The jobs submitted to the current dask client (``dask.distributed`` directly, not joblib's dask backend)."""
    try:
        from distributed import get_client
    except ImportError as e:
        raise ImportError(f"backend='dask' ({what}) runs on a dask cluster and needs dask.distributed: "
                          "pip install 'rsa_lineardyn[dask]'.") from e
    try:
        client = get_client()
    except ValueError as e:
        raise InputValueError(
            f"backend='dask' ({what}) needs a running dask.distributed Client (e.g. `client = "
            "dask.distributed.Client()` before the call); none was found. It spreads the hidden widths of one fit; "
            "for many regions use rl.fit_rois(..., client=client).") from e
    futures = [client.submit(fn, *args, pure=False, **kwargs) for fn, args, kwargs in jobs]
    return (f.result() for f in futures)


def _theta(model, lam, log10_scale, log10_time=0.0):
    th = []
    if model.lam is None:
        th.append(lam)
    th.append(log10_time)
    if model.fit_scale:
        th.append(log10_scale)
    return np.array(th, dtype=float)


# ----------------------------------------------------------------------------
# aggregation: weights over data RDMs -> best candidate and time parameters
# ----------------------------------------------------------------------------
def _nanwmean(R, w):
    """Weighted mean over axis 0 of R (n_rdm, ...) ignoring NaN; -inf where nothing is defined."""
    ok = np.isfinite(R)
    wb = w.reshape((-1,) + (1,) * (R.ndim - 1)) * ok
    den = wb.sum(axis=0)
    num = (np.where(ok, R, 0.0) * wb).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = num / den
    return np.where(den > 0, m, -np.inf)


def aggregate(R, w, stage_of, K, free):
    """Profile over candidates: (best score (C,), best time index (C, K)).

    R : (n_rdm, C, G).  For ``free`` times the objective is the mean score
    over RDMs with stage k evaluated at its own grid time, times
    non-decreasing in the stage order (dynamic programming over the grid).
    """
    C, G = R.shape[1], R.shape[2]
    if not free:
        prof = _nanwmean(R, w)  # (C, G)
        g = np.argmax(prof, axis=1)
        return prof[np.arange(C), g], np.repeat(g[:, None], K, axis=1), prof
    total = w[np.isfinite(R).any(axis=(1, 2))].sum()
    per_stage = np.empty((K, C, G))
    for k in range(K):
        sel = stage_of == k
        ok = np.isfinite(R[sel])
        wk = w[sel].reshape(-1, 1, 1) * ok
        per_stage[k] = (np.where(ok, R[sel], 0.0) * wk).sum(axis=0) / max(total, 1e-300)
    # DP: best[k, c, g] = per_stage[k, c, g] + max_{g' <= g} best[k-1, c, g']
    back = np.empty((K, C, G), dtype=int)
    acc = per_stage[0]
    back[0] = np.arange(G)
    for k in range(1, K):
        run_idx = _running_argmax(acc)
        prev = np.take_along_axis(acc, run_idx, axis=1)
        acc = per_stage[k] + prev
        back[k] = run_idx
    g_last = np.argmax(acc, axis=1)
    score = acc[np.arange(C), g_last]
    path = np.empty((C, K), dtype=int)
    path[:, K - 1] = g_last
    for k in range(K - 1, 0, -1):
        path[:, k - 1] = back[k][np.arange(C), path[:, k]]
    return score, path, None


def _running_argmax(a):
    """Index of the running maximum along axis 1 (ties: earliest)."""
    C, G = a.shape
    idx = np.zeros((C, G), dtype=int)
    best = a[:, 0].copy()
    cur = np.zeros(C, dtype=int)
    for g in range(G):
        better = a[:, g] > best
        best = np.where(better, a[:, g], best)
        cur = np.where(better, g, cur)
        idx[:, g] = cur
    return idx



# ----------------------------------------------------------------------------
# descriptors and grids
# ----------------------------------------------------------------------------
def _find_key(rdms, key, candidates, name):
    if key is None:
        return None
    if key != "auto":
        if key not in rdms.rdm_descriptors:
            raise InputValueError(
                f"`{name}` = {key!r} is not an rdm descriptor of `data_rdms`; it has {sorted(rdms.rdm_descriptors)}."
            )
        return key
    for k in candidates:
        if k in rdms.rdm_descriptors and len(np.unique(np.asarray(rdms.rdm_descriptors[k]).astype(str))) > 1:
            return k
    return None


def _refuse_unknown_grouping(rdms, stage_key):
    """``subject_descriptor="auto"`` found none of :data:`SUBJECT_KEYS`: refuse when another descriptor groups RDMs.

    A descriptor such as ``participant_id`` or ``block`` whose values repeat over RDMs may name the units of
    replication; treating every RDM as independent would then make tests far too liberal, so the user decides.
    """
    known = set(STAGE_KEYS) | {"index", stage_key, *REPEATED_KEYS}
    n = rdms.n_rdm
    groups = []
    for k, v in rdms.rdm_descriptors.items():
        if k in known:
            continue
        n_u = len(set(str(x) for x in np.asarray(v).tolist()))
        if 1 < n_u < n:
            groups.append(f"{k!r} ({n_u} values)")
    if groups:
        raise InputValueError(
            f"no subject descriptor among {list(SUBJECT_KEYS)}, but rdm descriptor(s) {', '.join(groups)} group the "
            f"{n} RDMs and may name the subjects (units of replication). Pass subject_descriptor='<name>' (CLI: "
            "--subject-descriptor), or subject_descriptor=None to read them without subjects (hypothesis tests then take "
            "every RDM as an independent unit; fit_rdms fits all RDMs as one unit).")


def wide_width(task):
    """The width ``"wide"`` stands for (fits, comparisons, the CLI): ``max(n_in, n_out)``, wider than any bottleneck."""
    return max(task.n_in, task.n_out)


def _widths(task, n_hidden):
    wide = wide_width(task)
    if n_hidden is None:
        r = max(task.rank(), 1)
        return list(range(1, r + 1)) + ([wide] if wide > r else [])
    if isinstance(n_hidden, np.ndarray):  # an array of widths (np.arange(1, 5)): its entries, checked below
        n_hidden = n_hidden.tolist()
    if isinstance(n_hidden, numbers.Number) or (isinstance(n_hidden, str) and n_hidden == "wide"):
        n_hidden = [n_hidden]  # one width: checked as an entry (2.0 as in [2.0]; 2.5 and True refused there)
    if isinstance(n_hidden, (str, bytes)) or not hasattr(n_hidden, "__iter__"):
        raise InputTypeError(f"`n_hidden` must be an int, 'wide' or a sequence of them, got {n_hidden!r}.")
    odd = [h for h in n_hidden if isinstance(h, (str, bytes)) and h != "wide"]
    if odd:
        raise InputTypeError(f"`n_hidden` entries must be positive ints or 'wide' (max(n_in, n_out) = {wide}), got "
                             f"{odd[0]!r}.")
    out = sorted({wide if (isinstance(h, str) and h == "wide") else check_positive_int(h, "n_hidden")
                  for h in n_hidden})
    if not out:
        raise InputValueError("`n_hidden` is empty; give at least one hidden width, e.g. n_hidden=[1, 2, 4].")
    check_n_widths(len(out), task, "n_hidden")
    return out


#: Most hidden widths one fit or comparison takes (as the command line's ``--widths``): each is fitted on the full
#: grid, and widths above the task's rank behave alike.
MAX_WIDTHS = 64


def check_n_widths(n, task, name):
    """Refuse more than :data:`MAX_WIDTHS` widths before any work, with the cost they would have."""
    if n > MAX_WIDTHS:
        r = max(task.rank(), 1)
        raise InputValueError(
            f"`{name}` gives {n:,} hidden widths, more than the {MAX_WIDTHS} one call fits: each width is fitted on "
            f"the whole lam x time grid (with init='random', 16 exact solves per lam), about {n:,} times the work of "
            f"one width. Widths above the task's rank ({r}) behave alike: give e.g. {list(range(1, min(r, 6) + 1))} "
            "and one wide network.")


def _lam_values(lam, width, task, n_lam, bounds=None):
    """The searched ``lam`` values of one width: ``lam`` itself when given (its infeasible signs dropped), else
    ``2 n_lam - 1`` sinh-spaced values (dense near 0) out to 4 x the task's largest singular value on each feasible
    side, or out to ``bounds = (low, high)`` (then both ends are on the grid) with 0 when inside them."""
    s = task.singular_values
    s_max = float(s[0]) if s.size and s[0] > 0 else 1.0
    lo = -4.0 * s_max if width <= task.n_in else 0.0
    hi = 4.0 * s_max if width <= task.n_out else 0.0
    if lam is None and bounds is not None:
        b_lo, b_hi = bounds
        lo = b_lo if width <= task.n_in else max(b_lo, 0.0)
        hi = b_hi if width <= task.n_out else min(b_hi, 0.0)
        if lo > hi:
            raise InputValueError(
                f"`lam_bounds` = ({b_lo:g}, {b_hi:g}) leaves no lam for width {width}: lam > 0 needs a width <= n_out "
                f"({task.n_out}) and lam < 0 a width <= n_in ({task.n_in}); include the other sign or 0.")
        reach = max(abs(lo), abs(hi))
        u = np.sinh(np.linspace(-3, 3, 2 * n_lam - 1)) / np.sinh(3) * reach
        u = u[(u >= lo - 1e-12) & (u <= hi + 1e-12)]
        ends = [v for v in (lo, hi, 0.0) if lo <= v <= hi]
        return np.unique(np.concatenate([u, ends]))
    if lam is None:
        n = n_lam
        u = np.sinh(np.linspace(-3, 3, 2 * n - 1)) / np.sinh(3) * 4.0 * s_max
        u = u[(u >= lo - 1e-12) & (u <= hi + 1e-12)]
        return np.unique(np.concatenate([u, [0.0]]))
    if has_text(lam):
        raise InputTypeError(f"`lam` must be None, a number or a 1-D sequence of numbers, got the text {lam!r}.")
    vals = np.atleast_1d(np.asarray(lam, dtype=float))
    if vals.ndim != 1 or not np.all(np.isfinite(vals)):
        raise InputValueError(f"`lam` must be None, a number or a 1-D sequence of finite numbers, got {lam!r}.")
    for v in vals:
        check_lam(v, "lam")
    ok = vals[((vals <= 0) | (width <= task.n_out)) & ((vals >= 0) | (width <= task.n_in))]
    return np.unique(ok)


def _as_rdms(data_rdms):
    from rsatoolbox.rdm import RDMs

    if not isinstance(data_rdms, RDMs):
        raise InputTypeError(
            f"`data_rdms` must be rsatoolbox.rdm.RDMs, got {type(data_rdms).__name__}. "
            "Build them with rsatoolbox.rdm.calc_rdm or rl.rdms_from_matrices(matrices, labels=...)."
        )
    return check_rdm_values(data_rdms, "data_rdms")


def check_learnable(task):
    """Refuse a task with nothing to learn (``Syx = 0``: e.g. the wrong feature columns exported): every network's
    prediction would be its random start, and a fit would still name a width, ``lam`` and times."""
    s = task.singular_values
    if not (s.size and np.max(s) > 0):
        raise InputValueError(
            f"`task` {task.name!r} has nothing to learn: its input-output covariance Syx is zero (all singular "
            "values 0), so every network stays at its start and a fit would report parameters the data cannot "
            "have. Check the task's feature columns (Y): they are all zero.")


def check_labelled(data_rdms, task, name="data_rdms"):
    """Refuse data RDMs whose conditions cannot be matched to ``task``'s items by label, saying how to fix them.

    The data need a pattern descriptor with item labels (one of ``item, conds, label, labels, condition,
    conditions, stimulus``) naming distinct items of the task (any order, any subset).  NTK data (labels
    ``"feature:item"``) are left to the model's own check.
    """
    from ..models.network import _LABEL_KEYS

    check_learnable(task)
    key = next((k for k in _LABEL_KEYS if k in data_rdms.pattern_descriptors), None)
    n, P = int(data_rdms.n_cond), task.P
    if n < 3:
        raise InputValueError(
            f"`{name}` has {n} condition(s); comparing RDMs needs at least 3 (with 2 there is a single dissimilarity, "
            "and correlation-type scores of one number are undefined); add conditions."
        )
    if key is None:
        own = sorted(data_rdms.pattern_descriptors)
        items = set(task.labels)
        hits = {k: sum(str(x) in items for x in np.asarray(data_rdms.pattern_descriptors[k]).tolist()) for k in own}
        best = max(own, key=lambda k: hits[k]) if own else None
        hint = (f" Pattern descriptor {best!r} holds {hits[best]} of the task's item labels: pass "
                f"condition_descriptor={best!r}." if best is not None and hits[best] > 0
                else f" If one of {own} holds the labels, pass condition_descriptor=<its name>." if own else "")
        raise InputValueError(
            f"`{name}` has no item labels: its pattern descriptors are {own}, none "
            f"of {list(_LABEL_KEYS)}. Conditions are matched to the task's items by label, never by position.{hint} "
            f"Otherwise add them: `{name}.pattern_descriptors['item'] = np.array(labels)`, or build the data with "
            "`rl.rdms_from_matrices(matrices, labels=labels)`, where labels is the task item of every condition in "
            "the data's own order (task.labels lists the items)."
        )
    labels = [str(x) for x in np.asarray(data_rdms.pattern_descriptors[key]).tolist()]
    if any(":" in lab for lab in labels) and not all(":" in lab for lab in task.labels):
        return  # NTK conditions "feature:item": checked by the model
    known = set(task.labels)
    missing = [lab for lab in labels if lab not in known]
    if n > P or missing:
        what = (f"{n} conditions but the task has only {P} items" if n > P
                else f"condition label(s) {missing[:5]}{' ...' if len(missing) > 5 else ''} (pattern descriptor "
                     f"{key!r}) that are not items of the task")
        raise InputValueError(
            f"`{name}` has {what}: the network predicts only its task's items "
            f"({list(task.labels[:6])}{' ...' if P > 6 else ''}). Use the task the data's conditions were "
            "measured on (one item per condition, with the same labels), or select the matching conditions."
        )
    if len(set(labels)) != len(labels):
        rep = sorted({x for x in labels if labels.count(x) > 1})
        raise InputValueError(
            f"`{name}` names item(s) {rep[:5]} more than once in pattern descriptor {key!r}; each condition must be "
            "a different item (average repeated conditions first)."
        )
