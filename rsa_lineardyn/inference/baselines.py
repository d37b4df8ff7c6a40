"""Baseline RDMs of a task: its modes or its features, in the data's condition order."""

from __future__ import annotations

import weakref

import numpy as np

from .._validation import InputTypeError, InputValueError
from .design import _as_rdms
from ..dynamics.task import Task
from ..models.network import _PairBasis
from ..representations.similarity import _unit_scale

__all__ = ["feature_rdms"]


def _check_task(task):
    if not isinstance(task, Task):
        raise InputTypeError(f"`task` must be an rl.Task, got {type(task).__name__}.")


def feature_rdms(task, data_rdms, kind="modes"):
    """Dissimilarity vectors of the task's modes or features, in the data's condition order.

    ``kind="modes"``: one squared-Euclidean RDM per singular mode of ``Syx``
    (item coordinates ``v_k^T x``), plus one for the input directions outside
    the modes (when there are any).  A non-negative combination of these is
    the hidden-layer RDM of *any* linear network on the task whose hidden
    geometry is diagonal in the mode basis (aligned starts, and the expected
    geometry over random starts, at every time): the feature baseline is at
    least as flexible as every learning network, and a network can only beat
    it by being more constrained.  ``kind="features"``: one RDM per output
    feature (row of ``Y``; rows that give the same RDM are merged).

    Returns
    -------
    names : list of str
    vectors : ndarray (n_features, n_pairs)
    """
    _check_task(task)
    data_rdms = _as_rdms(data_rdms)
    if kind not in ("modes", "features"):
        raise InputValueError(f"`kind` must be 'modes' or 'features', got {kind!r}.")
    items = _item_index(task, data_rdms)
    ia, ib = np.triu_indices(len(items), k=1)
    if kind == "modes":
        _, s, Vt = task.svd()
        r = max(task.rank(), 0)
        Z = Vt @ task.X  # (n_in, P)
        coords = [Z[k] for k in range(r)]
        names = [f"mode {k + 1}" for k in range(r)]
        vecs = [(c[items][ia] - c[items][ib]) ** 2 for c in coords]
        if Z.shape[0] > r:  # one group of rows: summed in chunks of pairs (never (n_in - r) x n_pairs at once)
            rest = Z[r:][:, items]
            vecs.append(_PairBasis(rest, np.zeros(rest.shape[0], dtype=int), ia, ib, euclidean=True).products(
                np.ones((1, 1)))[0])
            names.append("outside the modes")
    else:
        vecs, names, seen = [], [], []
        for f in range(task.n_out):
            v = (task.Y[f, items][ia] - task.Y[f, items][ib]) ** 2
            if np.any(v > 0) and not any(np.array_equal(v, u) for u in seen):
                seen.append(v)
                vecs.append(v)
                names.append(f"feature {f}")
    keep = [i for i, v in enumerate(vecs) if np.any(v > 1e-12 * max(np.max(np.abs(u)) for u in vecs))]
    if not keep:
        raise InputValueError(f"the task has no non-constant {kind} RDM over the data's conditions.")
    return [names[i] for i in keep], np.array([vecs[i] for i in keep], dtype=float)


def _item_index(task, data_rdms):
    """Index of every data condition among the task's items, matched by label."""
    from ..models.network import _LABEL_KEYS

    key = next((k for k in _LABEL_KEYS if k in data_rdms.pattern_descriptors), None)
    if key is None:
        if data_rdms.n_cond != task.P:
            raise InputValueError(
                f"`data_rdms` have {data_rdms.n_cond} conditions and no item-label pattern descriptor; the task has "
                f"{task.P} items. Add a pattern descriptor 'item' with the task's labels."
            )
        return np.arange(task.P)
    pos = {str(lab): i for i, lab in enumerate(task.labels)}
    labels = [str(x) for x in data_rdms.pattern_descriptors[key]]
    missing = [lab for lab in labels if lab not in pos]
    if missing:
        raise InputValueError(
            f"data conditions {missing[:3]} (pattern descriptor {key!r}) are not items of the task "
            f"(items {list(task.labels)[:3]}...)."
        )
    return np.array([pos[lab] for lab in labels], dtype=int)


# ----------------------------------------------------------------------------
# fitting the feature weights (inside each training fold)
# ----------------------------------------------------------------------------
def unit_stage_means(data, stage_of, unit_of, n_units, K):
    """Each unit's mean RDM per stage, (n_units, K, n_pairs); NaN where a unit has no valid value."""
    import warnings

    out = np.full((n_units, K, data.shape[1]), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for u in range(n_units):
            for k in range(K):
                sel = (stage_of == k) & (unit_of == u)
                if sel.any():
                    out[u, k] = np.nanmean(data[sel], axis=0)
    return out


_GRAM = []


def _feature_gram(F):
    """``(F F^T, row means of F)``, kept for the last ``F`` (the same features in every training fold: one
    ``n_feat^2 x n_pairs`` product per test instead of one per fold)."""
    if _GRAM and _GRAM[0][0]() is F:  # a weak reference: the cache does not keep F alive
        return _GRAM[0][1]
    out = (F @ F.T, F.mean(axis=1))
    _GRAM[:] = [(weakref.ref(F), out)]
    return out


def feature_weights(F, means, counts, method, *, stacked, per_stage):
    """Non-negative feature weights (K, n_feat) maximising (approximately) the mean score of training units.

    ``means`` (n_units, K, n_pairs): units' mean RDMs per stage; ``counts`` (n_units,) their weights in this fold.
    The target is the weighted mean of the units' normalised (``corr``: centred) data -- per stage, or of each
    unit's whole stacked trajectory (``stacked``) -- and the prediction ``w_k @ F`` per stage is fitted to it by
    least squares over non-negative weights (``per_stage``: weights free per stage; else one vector for all
    stages).  Centring is per stage, or over the whole stack for ``stacked`` (as the scores are computed).  The
    problem is solved on its Gram matrix (size ``K * n_feat``), so the cost does not grow with the number of
    condition pairs beyond one product.
    """
    from scipy.optimize import nnls

    n_units, K, p = means.shape
    nf = F.shape[0]
    centre = method not in ("cosine", "cosine_cov")
    use = counts > 0
    M = np.array([_unit_scale(m, "corr", common=True) for m in means[use]])  # a power of two per unit (1e300)
    c = counts[use].astype(float)
    valid = np.isfinite(M)
    Z = np.where(valid, M, 0.0)
    n_valid = valid.sum(axis=(1, 2)) if stacked else valid.sum(axis=2)
    if centre:  # each unit's data centred as the scorer centres it (over the stack, or per stage)
        if stacked:
            mu = Z.sum(axis=(1, 2)) / np.maximum(n_valid, 1)
            Z = np.where(valid, Z - mu[:, None, None], 0.0)
        else:
            mu = Z.sum(axis=2) / np.maximum(n_valid, 1)
            Z = np.where(valid, Z - mu[:, :, None], 0.0)
    norm = np.sqrt((Z * Z).sum(axis=(1, 2), keepdims=True)) if stacked else np.sqrt((Z * Z).sum(axis=2, keepdims=True))
    Z = np.divide(Z, norm, out=np.zeros_like(Z), where=norm > 0)
    T = np.tensordot(c, Z, axes=1) / c.sum()  # (K, p)
    if not np.any(T):
        return np.zeros((K, nf))
    # Gram matrix of the (centred) design: blocks F F^T, minus the mean part removed by centring
    FF, fbar = _feature_gram(F)
    FT = T @ F.T  # (K, nf)
    if per_stage:
        G = np.kron(np.eye(K), FF)
        b = FT.ravel()
    else:
        G = K * FF
        b = FT.sum(axis=0)
    if centre:
        if stacked:  # one mean over all K * p entries
            if per_stage:
                mvec = np.tile(fbar, K) / K  # column means of the block-diagonal design over K*p rows
            else:
                mvec = fbar
            n = K * p
            G = G - n * np.outer(mvec, mvec)
            b = b - n * mvec * T.mean()
        else:  # a mean per stage block
            if per_stage:
                G = G - p * np.kron(np.eye(K), np.outer(fbar, fbar))
                b = b - p * (T.mean(axis=1)[:, None] * fbar[None, :]).ravel()
            else:
                G = G - K * p * np.outer(fbar, fbar)
                b = b - p * T.mean(axis=1).sum() * fbar
    # equal column scales, and a tiny ridge for linearly dependent features (one-hot inputs: all mode RDMs sum to
    # a constant, which centring removes); it changes the fit by ~1e-4 relative
    d = np.sqrt(np.maximum(np.diag(G), 0.0))
    d[d == 0] = 1.0
    Gn = G / np.outer(d, d)
    bn = b / d
    ridge = (1e-4 * np.linalg.norm(T)) ** 2
    L = np.linalg.cholesky(Gn + (ridge + 1e-12 * np.trace(Gn) / Gn.shape[0]) * np.eye(Gn.shape[0]))
    y = np.linalg.solve(L, bn)
    coef, _ = nnls(L.T, y)
    coef = coef / d
    return coef.reshape(K, nf) if per_stage else np.broadcast_to(coef, (K, nf)).copy()
