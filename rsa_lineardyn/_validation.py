"""Shared input checks: every public function validates through these helpers.

Errors name the argument (in backticks), the rule that was broken and, where
there is one, the fix.  They are subclasses of the built-in ``ValueError`` and
``TypeError`` so ``except ValueError`` keeps working for users.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "RSALinearDynError",
    "InputValueError",
    "InputTypeError",
    "AssumptionError",
    "check_matrix",
    "check_1d",
    "check_times",
    "check_positive_int",
    "check_real",
    "check_choice",
    "check_comparison_method",
    "check_rng",
    "check_rdm_values",
    "check_not_complex",
    "COMPARISON_METHODS",
]

#: The comparison methods of ``rsatoolbox.rdm.compare`` ("kendall" and "tau-b" are the same method).
COMPARISON_METHODS = (
    "cosine", "spearman", "corr", "kendall", "tau-b", "tau-a", "rho-a",
    "corr_cov", "cosine_cov", "neg_riem_dist", "bures", "bures_metric",
)


class RSALinearDynError(Exception):
    """Base class of every error raised by rsa_lineardyn on bad input."""


class InputValueError(RSALinearDynError, ValueError):
    """An argument has the right type but a value that breaks a rule."""


class InputTypeError(RSALinearDynError, TypeError):
    """An argument has the wrong type."""


class AssumptionError(InputValueError):
    """The input violates an assumption of the exact theory (A1 or A2)."""


def check_not_complex(value, name):
    """Raise :class:`InputTypeError` if ``value`` holds complex numbers (numpy would drop the imaginary part).

    Anything that is not array-like is left to the caller's own conversion and its error.
    """
    if isinstance(value, (str, bytes, numbers.Real)) or value is None:  # the common cases, fast
        return
    if isinstance(value, (complex, np.complexfloating)):
        bad = True
    else:
        try:
            raw = np.asarray(value)
        except Exception:  # ragged or odd input: the caller's float conversion reports it
            return
        bad = np.iscomplexobj(raw) or (raw.dtype == object and any(
            isinstance(x, (complex, np.complexfloating)) for x in raw.ravel()))
    if bad:
        raise InputTypeError(
            f"`{name}` holds complex numbers; it must be real (numpy would silently drop the imaginary part). "
            f"Pass np.real({name}) or np.abs({name}) explicitly if that is what you mean."
        )


def check_matrix(value, name, *, shape=None, allow_empty=False, dtype=float):
    """Return ``value`` as a finite 2-D float array, or raise a clear error.

    Parameters
    ----------
    value : array_like
    name : str
        Argument name used in the error message.
    shape : tuple of (int or None), optional
        Required shape; ``None`` entries are free.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise InputTypeError(f"`{name}` must be a 2-D numeric array, got {type(value).__name__}.")
    check_not_complex(value, name)
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputTypeError(
            f"`{name}` must be a 2-D numeric array; it could not be converted to numbers ({exc})."
        ) from None
    if arr.ndim != 2:
        hint = " Reshape it, e.g. `x.reshape(1, -1)` for a single row." if arr.ndim == 1 else ""
        raise InputValueError(f"`{name}` must be 2-dimensional, got an array of shape {arr.shape}.{hint}")
    if not allow_empty and arr.size == 0:
        raise InputValueError(f"`{name}` is empty (shape {arr.shape}); it needs at least one row and one column.")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise InputValueError(
            f"`{name}` contains {bad} non-finite value(s) (NaN or inf); remove or impute them first."
        )
    if shape is not None:
        for axis, (want, got) in enumerate(zip(shape, arr.shape)):
            if want is not None and want != got:
                raise InputValueError(
                    f"`{name}` must have shape {tuple('any' if s is None else s for s in shape)}, "
                    f"got {arr.shape} (axis {axis} is {got}, expected {want})."
                )
    return arr


def check_1d(values, name, *, what="numbers", empty_hint="give at least one value"):
    """Return ``values`` as a non-empty 1-D float array (a scalar becomes length 1).

    Shared by every argument that is a list of numbers (times, grids).  Finiteness
    is left to the caller, which knows whether ``inf`` means something.
    """
    if isinstance(values, (str, bytes)) or values is None:
        raise InputTypeError(f"`{name}` must be a 1-D array of {what}, got {type(values).__name__}.")
    check_not_complex(values, name)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputTypeError(f"`{name}` must be a 1-D array of {what}.") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputValueError(f"`{name}` must be 1-dimensional, got shape {arr.shape}.")
    if arr.size == 0:
        raise InputValueError(f"`{name}` is empty; {empty_hint}.")
    return arr


def check_times(times, name="times", *, allow_inf=True):
    """Return ``times`` as a 1-D float array of non-negative times.

    A scalar is accepted and becomes a length-1 array.  ``np.inf`` means the
    fixed point (only where ``allow_inf``).
    """
    arr = check_1d(times, name, what="non-negative numbers", empty_hint="give at least one time point")
    if np.any(np.isnan(arr)):
        raise InputValueError(f"`{name}` contains NaN; every time must be a non-negative number.")
    if np.any(arr < 0):
        raise InputValueError(
            f"`{name}` must be non-negative (training starts at t=0), got minimum {arr.min():g}."
        )
    if not allow_inf and np.any(np.isinf(arr)):
        raise InputValueError(
            f"`{name}` contains inf, which this function cannot reach; use finite times "
            "(rl.exact_dynamics accepts np.inf for the fixed point)."
        )
    return arr


def check_positive_int(value, name, *, minimum=1):
    """Return ``value`` as an int >= ``minimum``."""
    if isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"`{name}` must be an integer, got the boolean {value!r}.")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and np.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise InputTypeError(f"`{name}` must be an integer, got {value!r} ({type(value).__name__}).")
    value = int(value)
    if value < minimum:
        raise InputValueError(f"`{name}` must be >= {minimum}, got {value}.")
    return value


def check_real(value, name, *, minimum=None, maximum=None, strict_min=False, allow_inf=False):
    """Return ``value`` as a finite float within the given bounds."""
    check_not_complex(value, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.ndim != 0:
            raise InputTypeError(f"`{name}` must be a real number, got {value!r}.")
        value = float(arr)
    value = float(value)
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise InputValueError(f"`{name}` must be a finite number, got {value}.")
    if minimum is not None:
        if strict_min and not value > minimum:
            raise InputValueError(f"`{name}` must be > {minimum:g}, got {value:g}.")
        if not strict_min and value < minimum:
            raise InputValueError(f"`{name}` must be >= {minimum:g}, got {value:g}.")
    if maximum is not None and value > maximum:
        raise InputValueError(f"`{name}` must be <= {maximum:g}, got {value:g}.")
    return value


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``; the error lists them."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise InputValueError(f"`{name}` must be one of {valid}; got {value!r}.")
    return value


def check_comparison_method(method, name="method"):
    """Return ``method`` if it names an rsatoolbox comparison method; the error lists them.

    Call it once at a public entry point, not in the loops of a fitter.
    """
    valid = ", ".join(repr(c) for c in COMPARISON_METHODS)
    if not isinstance(method, str):
        raise InputTypeError(
            f"`{name}` must be a string naming an rsatoolbox comparison method (one of {valid}); got {method!r}."
        )
    if method not in COMPARISON_METHODS:
        hint = " (Pearson correlation is 'corr')" if method.lower() in ("pearson", "correlation") else ""
        raise InputValueError(
            f"`{name}` must be one of the rsatoolbox comparison methods {valid}; got {method!r}{hint}."
        )
    return method


def check_rng(seed, name="seed"):
    """Resolve ``seed`` (None, int or Generator) into one ``np.random.Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputTypeError(f"`{name}` must be None, a non-negative int or a numpy Generator, got {seed!r}.")
    return np.random.default_rng(int(seed))


def check_rdm_values(rdms, name="data_rdms"):
    """Refuse dissimilarities that are +-inf (NaN stays allowed: rsatoolbox treats it as a missing pair).

    ``rdms`` is an ``rsatoolbox.rdm.RDMs``.  The error names the first bad RDM (its index) and
    condition pair (its pattern labels where there are some).  Returns ``rdms``.
    """
    dv = np.asarray(rdms.get_vectors())
    check_not_complex(dv, name)
    bad = np.isinf(dv)
    if bad.any():
        r, p = (int(i) for i in np.argwhere(bad)[0])
        i, j = (int(k[p]) for k in np.triu_indices(int(rdms.n_cond), k=1))
        desc = getattr(rdms, "pattern_descriptors", {}) or {}
        labels = None
        for key in ("item", "conds", "label", "labels", "condition", "conditions", "stimulus", "index"):
            if key in desc and len(desc[key]) == rdms.n_cond:
                labels = desc[key]
                break
        pair = f"conditions {i} and {j}" + (f" ({str(labels[i])!r}, {str(labels[j])!r})" if labels is not None else "")
        raise InputValueError(
            f"`{name}` contains {int(bad.sum())} infinite dissimilarit{'y' if bad.sum() == 1 else 'ies'}; the first "
            f"is {dv[r, p]} in RDM {r} between {pair}. Dissimilarities must be finite; mark a pair as missing "
            "with NaN (rsatoolbox leaves NaN pairs out) or fix the data."
        )
    return rdms


def check_magnitude(value, name, *, max_abs, min_abs=0.0, allow_zero=True, allow_negative=False, why="",
                    fix=""):
    """Return ``value`` as a float whose magnitude is 0 (where allowed) or within ``[min_abs, max_abs]``.

    For numeric arguments whose powers the code forms (weights, their squares and products): beyond
    the bounds those powers overflow or underflow float64 and the failure surfaces far away as a raw
    ``OverflowError`` or ``LinAlgError``.  Booleans, strings and complex numbers are type errors;
    NaN and inf are value errors.  ``why`` (the reason for the bounds) and ``fix`` complete the
    message of a range error.
    """
    if isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"`{name}` must be a real number, got the boolean {value!r}.")
    if value is None or isinstance(value, (str, bytes)):
        raise InputTypeError(f"`{name}` must be a real number, got {value!r} ({type(value).__name__}).")
    value = check_real(value, name)
    if value < 0 and not allow_negative:
        raise InputValueError(f"`{name}` must be >= 0, got {value:g}.")
    if value == 0:
        if not allow_zero:
            raise InputValueError(f"`{name}` must be nonzero, got 0. {fix}".rstrip())
        return value
    mag = abs(value)
    if mag > max_abs or mag < min_abs:
        sign = "|" if allow_negative else ""
        rng_txt = (f"{min_abs:g} <= {sign}{name}{sign} <= {max_abs:g}" if min_abs > 0
                   else f"{sign}{name}{sign} <= {max_abs:g}")
        zero_txt = "0 or " if allow_zero and min_abs > 0 else ""
        side = "large" if mag > max_abs else "small"
        reason = f" because {why}" if why else ""
        raise InputValueError(
            f"`{name}` = {value:g} is too {side}: it must be {zero_txt}{rng_txt}{reason}. {fix}".rstrip()
        )
    return value
