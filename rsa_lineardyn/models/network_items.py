"""Conditions of a :class:`~rsa_lineardyn.LinearNetworkModel`: which task items it predicts, in which order, and the rows that
match a data set's conditions by label (never by position).
"""

from __future__ import annotations

import numpy as np
from rsatoolbox.rdm import RDMs

from .._validation import InputTypeError, InputValueError
from ..representations.descriptors import LABEL_KEYS

_LABEL_KEYS = LABEL_KEYS


class _ItemsMixin:
    """Methods of :class:`~rsa_lineardyn.LinearNetworkModel` (see its module)."""

    # -- items ------------------------------------------------------------
    def _setup_items(self, item_order, label_descriptor):
        task = self.task
        self.label_key = "item"
        self.item_order_given = item_order is not None
        own_index = None  # the data's own 'index' values (rsatoolbox keeps the original ones in a subsample)
        if isinstance(item_order, RDMs):
            if "index" in item_order.pattern_descriptors:
                own_index = np.asarray(item_order.pattern_descriptors["index"])
            key = _find_label_key(item_order, label_descriptor, "item_order")
            self.label_key = key
            labels = [str(x) for x in item_order.pattern_descriptors[key]]
            if self.representation == "ntk":
                labels = _ntk_items(labels, task)
        elif item_order is None:
            if label_descriptor not in ("auto", None):
                self.label_key = str(label_descriptor)
            labels = list(task.labels)
        else:
            if isinstance(item_order, str):
                raise InputTypeError("`item_order` must be a sequence of item labels, not a single string.")
            if label_descriptor not in ("auto", None):
                self.label_key = str(label_descriptor)
            labels = [str(x) for x in item_order]
        if len(set(labels)) != len(labels):
            raise InputValueError("`item_order` must name each item once; it has repeated labels.")
        pos = {lab: i for i, lab in enumerate(task.labels)}
        missing = [lab for lab in labels if lab not in pos]
        if missing:
            raise InputValueError(
                f"`item_order` names item(s) {missing[:5]} that the task does not have; the task's labels are "
                f"{list(task.labels[:8])}{' ...' if task.P > 8 else ''}. Give the Task the same labels as your data."
            )
        if len(labels) < 3:
            raise InputValueError(f"`item_order` must contain at least 3 items for an RDM comparison, got {len(labels)}.")
        items = np.array([pos[lab] for lab in labels], dtype=int)
        self.items = items
        if self.representation == "ntk":
            P = task.P
            self._cond_index = np.array([o * P + i for o in range(task.n_out) for i in items], dtype=int)
            self.labels = [f"{f}:{task.labels[i]}" for f in task.feature_names for i in items]
        else:
            self._cond_index = items
            self.labels = [task.labels[i] for i in items]
        # rsatoolbox's pipelines subsample model and data by 'index' (their default): the model carries the data's
        index = own_index if own_index is not None and own_index.size == len(self.labels) else np.arange(len(self.labels))
        self.pattern_descriptors = {"index": index, "item": np.array(self.labels)}
        if self.label_key != "item":
            self.pattern_descriptors[self.label_key] = np.array(self.labels)

    def selection(self, data, pattern_idx=None, pattern_descriptor=None):
        """Rows of the model's conditions that match ``data`` (rsatoolbox's subsampling rules), checked by label."""
        if pattern_idx is None or pattern_descriptor is None:
            rows = np.arange(len(self.labels))
        else:
            if pattern_descriptor not in self.pattern_descriptors:
                raise InputValueError(
                    f"`pattern_descriptor` = {pattern_descriptor!r} is not a pattern descriptor of the model's "
                    f"predictions (it has {sorted(self.pattern_descriptors)}). Build the model with "
                    "item_order=<data RDMs> so it carries the data's label descriptor."
                )
            desc = np.asarray(self.pattern_descriptors[pattern_descriptor])
            values = pattern_idx if isinstance(pattern_idx, (list, tuple, np.ndarray)) else [pattern_idx]
            rows = np.sort(np.concatenate([np.flatnonzero(desc == v) for v in values]).astype(int))
        if not isinstance(data, RDMs):
            raise InputTypeError(f"`data` must be rsatoolbox.rdm.RDMs, got {type(data).__name__}.")
        if data.n_cond != rows.size:
            n_task = self.task.P * (self.task.n_out if self.representation == "ntk" else 1)
            unit = "conditions (feature:item pairs)" if self.representation == "ntk" else "items"
            if data.n_cond > n_task:
                raise InputValueError(
                    f"the data RDMs have {data.n_cond} conditions but the model's task has only {n_task} {unit} "
                    f"({list(self.task.labels[:5])}{' ...' if self.task.P > 5 else ''}): a model predicts only its "
                    "task's items, so no item_order can match. Build the model on the task the data's conditions "
                    "were measured on, or select the data's conditions that are items of this task."
                )
            shown = [self.labels[r] for r in rows[:5]]
            fix = ("Select the same conditions of the data and the model (the same pattern_descriptor and values)."
                   if self.item_order_given else
                   "Build the model with item_order=<data RDMs> (or the data's labels).")
            raise InputValueError(
                f"the data RDMs have {data.n_cond} conditions but the model predicts {rows.size} "
                f"(items {shown}{' ...' if rows.size > 5 else ''}). {fix}"
            )
        key = None
        for k in (self.label_key,) + _LABEL_KEYS:
            if k in data.pattern_descriptors:
                key = k
                break
        if key is not None:
            got = [str(x) for x in data.pattern_descriptors[key]]
            want = [self.labels[r] for r in rows]
            if got != want:
                bad = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
                raise InputValueError(
                    f"the data's conditions do not match the model's predictions by label: condition {bad} is "
                    f"{got[bad]!r} in the data (pattern descriptor {key!r}) but {want[bad]!r} in the model. "
                    "rsatoolbox's calc_rdm sorts conditions; build the model with item_order=<data RDMs> so "
                    "predictions follow the data's order."
                )
        return rows


def _find_label_key(rdms, label_descriptor, name):
    keys = list(rdms.pattern_descriptors)
    if label_descriptor not in ("auto", None):
        if label_descriptor not in rdms.pattern_descriptors:
            raise InputValueError(f"`label_descriptor` = {label_descriptor!r} is not a pattern descriptor of `{name}`; it has {keys}.")
        return label_descriptor
    for k in _LABEL_KEYS:
        if k in rdms.pattern_descriptors:
            return k
    raise InputValueError(
        f"`{name}` has no item labels among its pattern descriptors {keys}; expected one of {list(_LABEL_KEYS)}. "
        "Pass label_descriptor='<your key>' or give the labels as a list."
    )


def _ntk_items(labels, task):
    """Item labels from NTK condition labels 'feature:item' (in order of first appearance)."""
    items = []
    for lab in labels:
        item = lab.split(":", 1)[1] if ":" in lab else lab
        if item not in items:
            items.append(item)
    return items
