"""Reading users' RDMs: which descriptor names the conditions, the subjects and the stages, and the stage order.

Conditions are matched by label, never by position; stages run in the order the user gives (numbers by value,
text labels only with an explicit ``stage_order``, never alphabetically); subjects are never merged by a type
change (``1`` and ``"1"``); and where the descriptor cannot be told from the data, the functions here refuse to
guess and name the argument that settles it.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import InputTypeError, InputValueError

__all__ = ["STAGE_NAME", "unread_stage_names", "LABEL_KEYS", "condition_key", "with_condition_labels", "stage_values", "unit_labels"]

#: rdm descriptor names that look like stages of learning (case-insensitive, whole name).  The command line takes
#: the one such descriptor as the stages; the Python functions (``stage_descriptor="auto"``) read only
#: ``stage``/``epoch``/``time`` and refuse to pool RDMs under another stage-like name (see :func:`unread_stage_names`).
STAGE_NAME = r"(stage|epoch|phase|time|training[_\- ]?stage|learning[_\- ]?stage)s?"

#: pattern descriptors read as condition (item) labels by ``condition_descriptor="auto"``
LABEL_KEYS = ("item", "conds", "label", "labels", "condition", "conditions", "stimulus")


def condition_key(rdms, condition_descriptor="auto", name="data_rdms"):
    """The pattern descriptor holding ``rdms``' condition labels (``None`` when ``"auto"`` finds none).

    ``"auto"`` takes the one of :data:`LABEL_KEYS` present; when several are present and hold different labels,
    it refuses to guess.
    """
    pd_ = rdms.pattern_descriptors
    if condition_descriptor is not None and condition_descriptor != "auto":
        if not isinstance(condition_descriptor, str):
            raise InputTypeError(
                f"`condition_descriptor` must be 'auto' or the name of a pattern descriptor, got "
                f"{condition_descriptor!r}.")
        if condition_descriptor not in pd_:
            raise InputValueError(
                f"`condition_descriptor` = {condition_descriptor!r} is not a pattern descriptor of `{name}`; it has "
                f"{sorted(pd_)}.")
        return condition_descriptor
    present = [k for k in LABEL_KEYS if k in pd_]
    contents = {k: tuple(str(x) for x in np.asarray(pd_[k]).tolist()) for k in present}
    if len(set(contents.values())) > 1:
        raise InputValueError(
            f"`{name}` has several pattern descriptors that could hold the condition labels ({present}) and they "
            f"differ; pass condition_descriptor= with the one that names the task's items.")
    return present[0] if present else None


def with_condition_labels(rdms, condition_descriptor="auto", name="data_rdms"):
    """``rdms`` with the condition labels under the pattern descriptor ``item`` (a copy when anything changes).

    Every later step reads ``item``; the user's own descriptor (``condition_descriptor``) is resolved here once.
    """
    key = condition_key(rdms, condition_descriptor, name)
    if key is None:
        return rdms
    others = [k for k in LABEL_KEYS if k in rdms.pattern_descriptors and k != key]
    if key == "item" and not others:
        return rdms
    out = rdms.copy()
    labels = np.array([str(x) for x in np.asarray(rdms.pattern_descriptors[key]).tolist()])
    out.pattern_descriptors = {k: v for k, v in rdms.pattern_descriptors.items() if k not in LABEL_KEYS}
    out.pattern_descriptors["item"] = labels
    return out


def unit_labels(values, key):
    """Distinct labels of an rdm descriptor as strings, refusing labels that differ only by type (``1``/``"1"``)."""
    raw = values.tolist() if isinstance(values, np.ndarray) else list(values)  # a list keeps its types
    missing = [i for i, v in enumerate(raw) if _is_missing(v)]
    if missing:  # NaN (an empty cell of a number column), None, '': str() would make them one unit called 'nan'
        raise InputValueError(
            f"rdm descriptor {key!r} has missing values (NaN, None or empty text) at RDM(s) "
            f"{missing[:8]}{' ...' if len(missing) > 8 else ''} of {len(raw)}: taken as labels they would pool those "
            "RDMs into one made-up unit. Fill in their labels, or drop those RDMs (rdms.subset / subsample).")
    # distinct by (kind, text), not by ==: 1 == 1.0 == True would otherwise collapse before the check below
    distinct = list(dict.fromkeys((_kind(v), str(v)) for v in raw))
    as_str = [s for _, s in distinct]
    if len(set(as_str)) != len(distinct):
        clash = sorted({s for s in as_str if as_str.count(s) > 1})
        raise InputValueError(
            f"rdm descriptor {key!r} has values that differ only by type (e.g. {clash[:3]} both as number and as "
            "text): they would be merged into one. Give every unit one label of one type.")
    numbers = {}
    for kind, s in distinct:
        if kind == "number":
            numbers.setdefault(float(s), []).append(s)
    same = [v for v in numbers.values() if len(v) > 1]
    if same:
        raise InputValueError(
            f"rdm descriptor {key!r} has values that differ only by type (e.g. {same[0][:3]}: one number written as "
            "int and as float): they would be taken as different units. Give every unit one label of one type.")
    return [str(v) for v in raw], as_str


def _is_missing(v):
    """``None``, a float NaN (numpy's too) or text that is empty or only spaces."""
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return isinstance(v, str) and not v.strip()


def _kind(v):
    """'number' for ints and floats (numpy's too; not bools), else the type's name."""
    if isinstance(v, (numbers.Real, np.number)) and not isinstance(v, (bool, np.bool_)):
        return "number"
    return type(v).__name__


def stage_values(values, key="stage", stage_order=None):
    """Stages in learning order and their positions on the stage axis.

    Numeric stages are ordered by value (positions = values; ``stage_order``, if given, must agree).  Text
    stages need ``stage_order`` (the learning order; positions 1, 2, ...): they are never sorted alphabetically.
    """
    vals = np.asarray(values)
    uniq = list(dict.fromkeys(vals.tolist()))
    try:
        num = np.array([float(u) for u in uniq])
    except (TypeError, ValueError):
        num = None
    if num is not None and not np.all(np.isfinite(num)):
        bad = [u for u, x in zip(uniq, num) if not np.isfinite(x)]
        raise InputValueError(
            f"`stage_descriptor`: the rdm descriptor {key!r} read as stages of learning has non-finite value(s) "
            f"{bad}; every stage must be a finite number (its position on the time axis) or a label. Fix or drop "
            "those RDMs, or pass stage_descriptor=None if they are not stages."
        )
    unit_labels(vals, key)  # missing labels; 1 and "1" (or 1 and 1.0) are not two stages; checked before any merge
    order = _check_stage_order(stage_order, uniq, key)
    if num is None:
        if order is None:
            if len(uniq) == 1:
                return uniq, np.array([1.0])
            raise InputValueError(
                f"the stages in rdm descriptor {key!r} are the {len(uniq)} text labels {sorted(map(str, uniq))} "
                "(listed alphabetically, which is not their learning order): their learning order cannot be read "
                "from them and is never taken alphabetically, nor from the order of the RDMs. Pass stage_order= "
                "(CLI: --stage-order) with all of them in learning order, the first stage measured first.")
        return order, np.arange(1.0, len(order) + 1)
    dup = [u for u, x in zip(uniq, num) if np.count_nonzero(num == x) > 1]
    if dup:
        raise InputValueError(
            f"`stage_descriptor`: the rdm descriptor {key!r} read as stages of learning has different labels for one "
            f"position on the time axis ({[str(u) for u in dup]}); numeric stages are positions, so these would be two "
            "stages at the same time. Give each stage one label (e.g. relabel '01' as '1').")
    # 0.1 + 0.2 from one pipeline and 0.3 from another: two stages a rounding error apart are one stage mislabelled
    scale = max(float(np.max(np.abs(num))), 1e-300)
    near = [u for u, x in zip(uniq, num) if np.count_nonzero(np.abs(num - x) <= 1e-9 * scale) > 1]
    if near:
        raise InputValueError(
            f"`stage_descriptor`: the rdm descriptor {key!r} read as stages of learning has values that differ only by "
            f"rounding ({[repr(float(u)) for u in near][:4]}); they would be taken as different stages at almost the "
            "same time. Round the stage values (e.g. np.round(values, 6)) so that each stage has one value.")
    idx = np.argsort(num, kind="stable")
    ordered = [uniq[i] for i in idx]
    if order is not None and [str(u) for u in order] != [str(u) for u in ordered]:
        raise InputValueError(
            f"`stage_order` {[str(u) for u in order]} contradicts the numeric stages of rdm descriptor {key!r} "
            f"(by value: {[str(u) for u in ordered]}); numeric stages are positions on the time axis. Drop "
            "stage_order, or relabel the stages.")
    return ordered, num[idx]


def _check_stage_order(stage_order, uniq, key):
    """``stage_order`` as the data's own stage values in that order (``None`` when not given)."""
    if stage_order is None:
        return None
    if isinstance(stage_order, str):
        stage_order = [s.strip() for s in stage_order.split(",")]
    try:
        given = [str(s) for s in stage_order]
    except TypeError:
        raise InputTypeError(f"`stage_order` must be a list of stage labels, got {stage_order!r}.") from None
    if len(set(given)) != len(given):
        raise InputValueError(f"`stage_order` names a stage more than once: {given}.")
    have = {str(u): u for u in uniq}
    missing = [s for s in have if s not in given]
    extra = [s for s in given if s not in have]
    if missing or extra:
        raise InputValueError(
            f"`stage_order` {given} must list exactly the stages of rdm descriptor {key!r}, {sorted(have)}"
            + (f"; missing {missing}" if missing else "") + (f"; not in the data {extra}" if extra else "") + ".")
    return [have[s] for s in given]


def unread_stage_names(rdm_descriptors, taken=()):
    """rdm descriptors named like stages of learning (:data:`STAGE_NAME`) whose values vary, other than ``taken``."""
    import re

    out = []
    for k, v in rdm_descriptors.items():
        if k in taken or not isinstance(k, str) or not re.fullmatch(STAGE_NAME, k.strip(), flags=re.IGNORECASE):
            continue
        if len({str(x) for x in np.asarray(v).tolist()}) > 1:
            out.append(k)
    return out
