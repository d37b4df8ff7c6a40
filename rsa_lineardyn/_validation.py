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


class NotFittedError(InputValueError, AttributeError):
    """A model was asked to predict before it was fitted (and no parameters were given)."""


class AssumptionError(InputValueError):
    """The input violates an assumption of the exact theory (A1 or A2)."""


def repeated(items):
    """The items that occur more than once in ``items``, each once, in the order of their first repeat."""
    seen, dup = set(), []
    for item in items:
        if item in seen and item not in dup:
            dup.append(item)
        seen.add(item)
    return dup


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
        is_bool = isinstance(values, (bool, np.bool_)) or np.asarray(values).dtype == bool
    except (TypeError, ValueError):  # ragged input: reported by the float conversion below
        is_bool = False
    if is_bool:
        raise InputTypeError(f"`{name}` must be a 1-D array of {what}, got booleans ({values!r}).")
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


def check_positive_int(value, name, *, minimum=1, maximum=None, why=None):
    """Return ``value`` as an int >= ``minimum`` (and <= ``maximum`` if given; ``why`` explains that cap)."""
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
    if maximum is not None and value > maximum:
        shown = f"{value:,}" if value < 10**15 else f"{float(value):.3g}"
        raise InputValueError(f"`{name}` must be <= {maximum:,}, got {shown}" + (f" ({why})." if why else "."))
    return value


def has_text(value):
    """Whether ``value`` is text (str or bytes) or a sequence holding some: numbers are never parsed from text (one
    rule for every argument: ``lam='0.5'`` and ``scale='0.1'`` alike are refused)."""
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        return True
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            flat = np.asarray(value, dtype=object).ravel()
        except (TypeError, ValueError):
            return False
        return any(isinstance(v, (str, bytes, np.str_, np.bytes_)) for v in flat)
    return False


def check_real(value, name, *, minimum=None, maximum=None, strict_min=False, allow_inf=False):
    """Return ``value`` as a finite float within the given bounds."""
    if value is None:
        raise InputTypeError(f"`{name}` must be a real number, got None.")
    if has_text(value):
        raise InputTypeError(f"`{name}` must be a real number, got the text {value!r}; pass the number itself.")
    check_not_complex(value, name)
    if isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"`{name}` must be a real number, got the boolean {value!r}.")
    if not isinstance(value, numbers.Real):
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
    valid_types = {type(c) for c in choices}
    if valid_types == {str} and not isinstance(value, str):  # an array would make `in` ambiguous
        valid = ", ".join(repr(c) for c in choices)
        raise InputTypeError(f"`{name}` must be one of {valid} (a string); got {type(value).__name__} {value!r:.60}.")
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
    if int(seed) >= MAX_SEED:
        raise InputValueError(
            f"`{name}` = {int(seed)} is too large: seeds must be below 2**63 = {MAX_SEED} (they are stored with the "
            "results as int64; a larger one becomes an object-dtype array downstream). Use a smaller seed, e.g. "
            f"{name} % 2**63, or pass np.random.default_rng({name}) as the generator."
        )
    return np.random.default_rng(int(seed))


#: Seeds must be below this (``2**63``): they are stored as int64 alongside the results.
MAX_SEED = 2**63
__all__ += ["MAX_SEED"]


class _Unset:
    """Marker of a keyword the caller did not pass (the deprecated ``seed=`` alias of ``random_state``)."""

    def __repr__(self):
        return "<unset>"


UNSET = _Unset()


def resolve_random_state(random_state, seed=UNSET, where="this function"):
    """``(rng, draw_seed, recorded)`` from the one seed of an entry point (scikit-learn's ``random_state``).

    ``rng`` drives the bootstrap and fold draws; ``draw_seed`` (a non-negative int) seeds the Monte-Carlo draws
    of the expected geometry over random starts; ``recorded`` is what results store (the int, or ``None`` for a
    Generator / ``None`` seed, with ``draw_seed`` stored beside it).  ``seed=`` is the deprecated name.
    """
    import warnings

    if seed is not UNSET:
        warnings.warn(f"`seed=` of {where} is deprecated; use `random_state=` (the same value).",
                      DeprecationWarning, stacklevel=3)
        random_state = seed
    rng = check_rng(random_state, "random_state")
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return rng, int(random_state) % 2**32, int(random_state)
    return rng, int(rng.integers(0, 2**32)), None


def check_rdm_values(rdms, name="data_rdms"):
    """Refuse dissimilarities that are +-inf (NaN stays allowed: rsatoolbox treats it as a missing pair).

    ``rdms`` is an ``rsatoolbox.rdm.RDMs``.  The error names the first bad RDM (its index) and
    condition pair (its pattern labels where there are some).  Returns ``rdms``.
    """
    if int(rdms.n_rdm) == 0:
        raise InputValueError(
            f"`{name}` holds no RDMs (n_rdm = 0): nothing to fit or test. If it came from RDMs.subset(descriptor, "
            "values), check that the values exist in that descriptor, with the same type (e.g. 'sub0', not 0).")
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


# ----------------------------------------------------------------------------
# issue 13, items 8-18: further shared checks (scales, bounds, flags, sigma_k, files, keywords)
# ----------------------------------------------------------------------------
#: Usable range of an initial weight scale: each aligned mode starts at ``scale**2`` and products of a few
#: such strengths must stay finite and non-zero in double precision (1e-100**2 = 1e-200, 1e100**2 = 1e200).
SCALE_RANGE = (1e-100, 1e100)


def check_scale(value, name="scale"):
    """Return ``value`` as an init scale: a finite float strictly inside :data:`SCALE_RANGE`.

    Outside that range ``scale**2`` (the starting strength of every mode) and the
    time grids built from it overflow to inf or underflow to 0.
    """
    value = check_real(value, name, minimum=0, strict_min=True)
    lo, hi = SCALE_RANGE
    if not lo < value < hi:
        raise InputValueError(
            f"`{name}` = {value:g} is outside the usable range ({lo:g}, {hi:g}): each mode starts at {name}**2, "
            f"which {'overflows' if value >= hi else 'underflows'} in double precision. Weights only matter relative "
            f"to the task's singular values, so rescale the task's targets Y instead, or pass a {name} in that range."
        )
    return value


def check_bool(value, name):
    """Return ``value`` as a bool; only ``True``/``False`` (also numpy's) are accepted."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputTypeError(f"`{name}` must be True or False, got {value!r} ({type(value).__name__}).")


def check_bounds(value, name, *, minimum=None, strict_min=False, strict_order=False):
    """Return ``value`` as a pair ``(low, high)`` of finite floats with ``low <= high`` (``<`` if ``strict_order``).

    ``minimum`` bounds ``low`` from below (strictly with ``strict_min``).
    """
    if has_text(value) or value is None:
        raise InputTypeError(f"`{name}` must be a pair (low, high) of numbers, got {value!r}.")
    check_not_complex(value, name)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputTypeError(f"`{name}` must be a pair (low, high) of numbers, got {value!r}.") from None
    if arr.shape != (2,):
        raise InputValueError(
            f"`{name}` must be a pair (low, high) of two numbers, got {value!r} (shape {arr.shape}); e.g. (1e-2, 1e2)."
        )
    lo, hi = float(arr[0]), float(arr[1])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise InputValueError(f"`{name}` must be finite, got ({lo:g}, {hi:g}).")
    if minimum is not None and (lo <= minimum if strict_min else lo < minimum):
        raise InputValueError(f"`{name}` must have low {'>' if strict_min else '>='} {minimum:g}, got ({lo:g}, {hi:g}).")
    if hi < lo or (strict_order and hi == lo):
        raise InputValueError(
            f"`{name}` must have low {'<' if strict_order else '<='} high, got ({lo:g}, {hi:g}); swap them."
        )
    return lo, hi


def check_number_or_grid(value, name, *, allow_none=True):
    """Return ``None``, a float, or a non-empty 1-D float array of finite numbers (a parameter fixed or gridded)."""
    if value is None:
        if allow_none:
            return None
        raise InputTypeError(f"`{name}` must be a number or a sequence of numbers, got None.")
    if has_text(value):
        raise InputTypeError(
            f"`{name}` must be {'None, ' if allow_none else ''}a number or a sequence of numbers, got the text "
            f"{value!r}."
        )
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return check_real(value, name)
    arr = check_1d(value, name)
    if not np.all(np.isfinite(arr)):
        raise InputValueError(f"`{name}` must hold finite numbers, got {arr.tolist()}.")
    if arr.size > MAX_GRID:
        raise InputValueError(f"`{name}` has {arr.size:,} values; at most {MAX_GRID:,} fit in memory.")
    return arr


def check_sigma_k(sigma_k, n_cond, name="sigma_k"):
    """Return ``None`` or ``sigma_k`` as rsatoolbox uses it: (n_cond,) positive variances or an (n_cond, n_cond)
    symmetric positive-definite pattern covariance; finite, real."""
    if sigma_k is None:
        return None
    check_not_complex(sigma_k, name)
    try:
        arr = np.asarray(sigma_k, dtype=float)
    except (TypeError, ValueError):
        raise InputTypeError(f"`{name}` must be a numeric array (the pattern covariance), got {sigma_k!r}.") from None
    if arr.ndim not in (1, 2) or arr.shape[0] != n_cond or (arr.ndim == 2 and arr.shape[1] != n_cond):
        raise InputValueError(
            f"`{name}` must be the covariance of the {n_cond} conditions: shape ({n_cond}, {n_cond}) (or ({n_cond},) "
            f"for variances only), got shape {arr.shape}. Its rows and columns follow the data's conditions."
        )
    if not np.all(np.isfinite(arr)):
        raise InputValueError(f"`{name}` contains non-finite values (NaN or inf); it must be a finite covariance.")
    if arr.ndim == 1:
        if np.any(arr <= 0):
            raise InputValueError(f"`{name}` (variances) must be > 0, got minimum {arr.min():g}.")
        return arr
    if not np.allclose(arr, arr.T, rtol=1e-8, atol=1e-12 * np.max(np.abs(arr))):
        raise InputValueError(f"`{name}` must be symmetric (a covariance matrix); use (s + s.T) / 2.")
    ev = np.linalg.eigvalsh((arr + arr.T) / 2)
    if not ev[0] > 1e-12 * max(ev[-1], 0.0):
        raise InputValueError(
            f"`{name}` must be positive definite (rsatoolbox inverts it); its smallest eigenvalue is {ev[0]:.3g}. "
            "Regularise it, e.g. sigma_k + 1e-6 * np.trace(sigma_k) / n * np.eye(n)."
        )
    return arr


def check_path(path, name, *, what="file", kind="file", error=None):
    """Return ``path`` (str or os.PathLike) as a ``pathlib.Path`` to an existing, readable file or folder.

    ``kind`` is ``"file"`` or ``"dir"``.  Missing paths, the wrong kind and paths that cannot be
    read (permissions) raise ``error`` (default :class:`InputValueError`) naming the path and the fix.
    """
    import os
    from pathlib import Path

    error = InputValueError if error is None else error
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(f"`{name}` must be a path (str or pathlib.Path), got {type(path).__name__}.")
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"`{name}`: {what} {p} does not exist; check the path.") from None
    except PermissionError:
        raise error(
            f"`{name}`: {what} {p} cannot be reached (permission denied on a folder above it); fix the folder "
            "permissions (chmod u+rx) or copy it somewhere readable."
        ) from None
    except OSError as exc:
        raise error(f"`{name}`: {what} {p} cannot be accessed ({exc.strerror or exc}).") from None
    import stat as _stat

    is_dir = _stat.S_ISDIR(st.st_mode)
    if kind == "file" and is_dir:
        raise error(f"`{name}`: {what} {p} is a folder, not a file; give the file inside it.")
    if kind == "dir" and not is_dir:
        raise error(f"`{name}`: {what} {p} is not a folder.")
    try:
        if is_dir:
            os.listdir(p)
        else:
            with open(p, "rb") as fh:
                fh.read(1)
    except PermissionError:
        fix = "chmod u+rx" if is_dir else "chmod u+r"
        raise error(
            f"`{name}`: {what} {p} cannot be read (permission denied); fix its permissions ({fix}) or copy it "
            "somewhere readable."
        ) from None
    except OSError as exc:
        raise error(f"`{name}`: {what} {p} cannot be read ({exc.strerror or exc}).") from None
    return p


def check_kwargs(kwargs, allowed, func):
    """Refuse keyword arguments that ``func`` (its name) does not take, listing the ones it does."""
    bad = sorted(set(kwargs) - set(allowed))
    if bad:
        raise InputTypeError(
            f"{func}() got unexpected keyword argument(s) {bad}; it accepts {sorted(allowed)}."
        )


def check_distinct(values, name):
    """Refuse repeated entries in ``values`` (a list), naming the repeats."""
    seen, rep = set(), []
    for v in values:
        key = repr(v)
        if key in seen and v not in rep:
            rep.append(v)
        seen.add(key)
    if rep:
        raise InputValueError(f"`{name}` must name each entry once; repeated: {rep}. Remove the duplicates.")
    return values


__all__ += ["SCALE_RANGE", "check_scale", "check_bool", "check_bounds", "check_number_or_grid", "check_sigma_k",
            "check_path", "check_kwargs", "check_distinct"]


def check_n_jobs(n_jobs, name="n_jobs"):
    """Return ``n_jobs`` for joblib: ``None`` or a non-zero int (negative counts back from all cores, -1 = all)."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral):
        raise InputTypeError(f"`{name}` must be an int (1 = serial, -1 = all cores) or None, got {n_jobs!r}.")
    if int(n_jobs) == 0:
        raise InputValueError(f"`{name}` must not be 0; use 1 for serial work or -1 for all cores.")
    if abs(int(n_jobs)) > 100_000:
        raise InputValueError(f"`{name}` = {n_jobs} is not a usable number of workers; use 1 for serial work, k for "
                              "k workers or -1 for all cores.")
    return int(n_jobs)


__all__ += ["check_n_jobs"]


#: Largest grid size (times, lam values, scales) and bootstrap count accepted: beyond it the arrays do not fit
#: in memory and numpy fails with a raw "Maximum allowed size exceeded" or MemoryError.
MAX_GRID = 100_000
MAX_BOOT = 1_000_000
#: ``|lam|`` must stay below this: the weights grow like sqrt(|lam|) and their products overflow beyond it.
LAM_LIMIT = 1e100


def check_grid_size(value, name, *, minimum=1):
    """Return ``value`` as a grid size: an int in ``[minimum, MAX_GRID]``."""
    return check_positive_int(value, name, minimum=minimum, maximum=MAX_GRID,
                              why="finer grids do not fit in memory; a few dozen points are typical")


def check_lam(value, name="lam"):
    """Return ``value`` as a balance ``lam``: a finite float with ``|lam| < LAM_LIMIT``."""
    value = check_real(value, name)
    if not abs(value) < LAM_LIMIT:
        raise InputValueError(
            f"`{name}` = {value:g} is outside the usable range |{name}| < {LAM_LIMIT:g}: weights grow like "
            f"sqrt(|{name}|) and their products overflow. Useful values are a few times the task's largest singular "
            "value; rescale the task's targets Y if yours are that large."
        )
    return value


__all__ += ["MAX_GRID", "MAX_BOOT", "LAM_LIMIT", "check_grid_size", "check_lam"]


def check_backend(backend, name="backend"):
    """Return ``backend`` if it is ``None``, ``"dask"`` (the running dask.distributed client, used directly) or the
    name of a joblib backend registered now (e.g. ``"loky"``, ``"threading"``)."""
    if backend is None or backend == "dask":  # "dask": dask.distributed's current client, used directly
        return backend
    from joblib.parallel import BACKENDS

    valid = sorted(set(BACKENDS) | {"dask"})
    if not isinstance(backend, str):
        raise InputTypeError(f"`{name}` must be None or the name of a joblib backend ({valid}), got {backend!r}.")
    if backend not in BACKENDS:
        raise InputValueError(
            f"`{name}` = {backend!r} is not a registered joblib backend; use one of {valid} (or None for joblib's "
            "current default; `with joblib.parallel_config(backend=...)` also works)."
        )
    return backend


def check_descriptor_name(value, name):
    """Return ``value`` if it is ``"auto"``, ``None`` or a string naming a descriptor."""
    if value is None or isinstance(value, str):
        return value
    raise InputTypeError(f"`{name}` must be 'auto', None or the name (a string) of an rdm descriptor, got {value!r}.")


__all__ += ["check_backend", "check_descriptor_name"]


#: Widest hidden layer accepted where weights are drawn or simulated: memory grows linearly in the width
#: (about 7 GB at 1,000,000 hidden units for the 8-item semantic task with init="random").
MAX_WIDTH = 1_000_000

__all__ += ["MAX_WIDTH"]


# ----------------------------------------------------------------------------
# issue 13, further gaps: memory of generated arrays, relative tolerances, arrays of bounded non-negative numbers
# ----------------------------------------------------------------------------
#: Largest total size (bytes) of the arrays a generator builds (a synthetic task's ``X`` and ``Y``): beyond it numpy
#: fails with a raw MemoryError or "Maximum allowed size exceeded" (and the task statistics take minutes).
MAX_BUILD_MEMORY = 2**30
#: Largest magnitude of a number whose square the code forms (singular values, a teacher's scale, a noise level):
#: squares beyond ``1e300`` overflow the task statistics (``Y Y^T / P``) in double precision.
MAX_SQUARED = 1e150


def format_bytes(n):
    """Bytes as a short human-readable string (binary units, up to PiB; larger sizes as a power of ten)."""
    n = float(n)
    if not np.isfinite(n):
        return "an unbounded amount"
    if n >= 2**60:
        return f"{n:.3g} bytes"
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} bytes"


def check_memory(n_doubles, what, fix, *, budget=None):
    """Refuse to build float64 arrays holding ``n_doubles`` numbers in all when they exceed ``budget`` bytes
    (default :data:`MAX_BUILD_MEMORY`).  ``what`` names the arrays and the arguments that size them; ``fix``
    says which argument to lower.  Returns the size in bytes."""
    budget = MAX_BUILD_MEMORY if budget is None else budget
    need = 8.0 * float(n_doubles)
    if need > budget:
        raise InputValueError(
            f"{what} would take {format_bytes(need)} of float64 memory, above the limit of {format_bytes(budget)} "
            f"(numpy would fail with a MemoryError or take minutes). {fix}"
        )
    return need


def check_fraction(value, name, *, why=""):
    """Return ``value`` as a relative tolerance: a finite float with ``0 <= value < 1``.

    Relative cut-offs compare a quantity with ``value`` times the largest one; at ``value >= 1`` even the
    largest is cut, so nothing is left.  ``why`` says what the tolerance cuts.
    """
    if isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"`{name}` must be a real number (a relative tolerance), got the boolean {value!r}.")
    if value is None or isinstance(value, (str, bytes)):
        raise InputTypeError(f"`{name}` must be a real number (a relative tolerance), got {value!r}.")
    value = check_real(value, name)
    if not 0.0 <= value < 1.0:
        raise InputValueError(
            f"`{name}` = {value:g} must satisfy 0 <= {name} < 1: it is a relative tolerance"
            + (f" ({why})" if why else "")
            + (", and at 1 or more even the largest value is cut." if value >= 1 else "; it cannot be negative.")
            + " Typical values are 1e-12 to 1e-6."
        )
    return value


def check_nonneg_array(values, name, *, max_abs=MAX_SQUARED, why="their squares overflow double precision",
                       max_size=MAX_GRID, empty_hint="give at least one value"):
    """Return ``values`` as a non-empty 1-D float array of finite numbers in ``[0, max_abs]`` with at most
    ``max_size`` entries (booleans, strings and complex numbers are type errors)."""
    arr = check_1d(values, name, what="non-negative numbers", empty_hint=empty_hint)
    if arr.size > max_size:
        raise InputValueError(f"`{name}` has {arr.size:,} entries; at most {max_size:,} are accepted.")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InputValueError(f"`{name}` must be finite and >= 0, got {arr.tolist() if arr.size <= 8 else arr}.")
    if np.any(arr > max_abs):
        raise InputValueError(
            f"`{name}` holds {arr.max():g}, above the largest usable value {max_abs:g} ({why}). Divide by a constant: "
            "only ratios matter up to the time unit."
        )
    return arr


__all__ += ["MAX_BUILD_MEMORY", "MAX_SQUARED", "format_bytes", "check_memory", "check_fraction",
            "check_nonneg_array"]


def check_number(value, name, **bounds):
    """Return ``value`` as a float like :func:`check_real` (same ``bounds``), but ``None``, strings and booleans
    are type errors (``check_real`` alone reads ``None`` as NaN)."""
    if isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"`{name}` must be a real number, got the boolean {value!r}.")
    if value is None or isinstance(value, (str, bytes)):
        raise InputTypeError(f"`{name}` must be a real number, got {value!r} ({type(value).__name__}).")
    return check_real(value, name, **bounds)


__all__ += ["check_number"]


def check_option(value, name, choices):
    """Like :func:`check_choice` for string options, but safe for any value: an array, a list or another non-string
    is refused with the list of options (``value in choices`` on a numpy array raised numpy's "truth value of an
    array is ambiguous")."""
    if not isinstance(value, str):
        valid = ", ".join(repr(c) for c in choices)
        shown = f"an array of shape {np.shape(value)}" if isinstance(value, np.ndarray) else repr(value)
        raise InputValueError(f"`{name}` must be one of {valid} (a string); got {shown}.")
    return check_choice(value, name, choices)


__all__ += ["check_option"]


def check_run_options(n_jobs, backend, subject_descriptor, stage_descriptor, progress):
    """The options every fitting/testing entry point shares; returns ``(n_jobs, backend, progress)``."""
    n_jobs = check_n_jobs(n_jobs)
    backend = check_backend(backend)
    check_descriptor_name(subject_descriptor, "subject_descriptor")
    check_descriptor_name(stage_descriptor, "stage_descriptor")
    if progress is not None:
        progress = check_bool(progress, "progress")
    return n_jobs, backend, progress


__all__ += ["check_run_options"]
