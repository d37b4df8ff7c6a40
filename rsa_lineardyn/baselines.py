"""Baseline RDMs of a task: its modes or its features, in the data's condition order."""

from __future__ import annotations

import numpy as np

from ._validation import InputTypeError, InputValueError
from .design import _as_rdms
from .task import Task

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
        if Z.shape[0] > r:
            rest = Z[r:][:, items]
            vecs.append(np.sum((rest[:, ia] - rest[:, ib]) ** 2, axis=0))
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
    from .model import _LABEL_KEYS

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
