"""Adapters to and from rsatoolbox: trajectories as RDMs, user tables as tasks, user matrices as RDMs.

Everything that becomes an ``rsatoolbox.rdm.RDMs`` goes through one gate,
:func:`make_rdms`, which checks that each matrix is square, symmetric and
zero on the diagonal, copies every descriptor dict it is given (rsatoolbox
keeps references and mutates them), and stores the upper triangle itself
(rsatoolbox's own ``squareform(checks=False)`` would silently drop an
asymmetric half or a non-zero diagonal).
"""

from __future__ import annotations

import copy

import numpy as np

from .._validation import InputTypeError, InputValueError, check_not_complex, check_option, check_real, repeated
from .geometry import DEFAULT_RCOND, MEASURES, REPRESENTATIONS, condition_labels, trajectory_rdms
from ..dynamics.task import Task
from ..dynamics.trajectory import Trajectory

__all__ = ["to_rdms", "make_rdms", "rdms_from_matrices", "task_from_dataframe", "MEASURE_NAMES"]

#: The ``dissimilarity_measure`` strings written into RDMs, by ``measure``.
MEASURE_NAMES = {
    "euclidean": "squared euclidean",
    "cosine": "cosine",
    "correlation": "correlation",
}


def _copy_desc(desc, name):
    if desc is None:
        return {}
    if not isinstance(desc, dict):
        raise InputTypeError(f"`{name}` must be a dict, got {type(desc).__name__}.")
    bad = [k for k in desc if not isinstance(k, str)]
    if bad:
        raise InputTypeError(
            f"`{name}` must be keyed by descriptor names (strings); got the key(s) {bad[:5]}. Use e.g. str(key)."
        )
    return copy.deepcopy(desc)


def _as_float_array(matrices):
    if matrices is None or isinstance(matrices, (str, bytes)):
        raise InputTypeError(f"`matrices` must be an array of numbers, shape (N, N) or (n, N, N), got {type(matrices).__name__}.")
    check_not_complex(matrices, "matrices")
    try:
        return np.asarray(matrices, dtype=float)
    except (TypeError, ValueError):
        raise InputTypeError(
            "`matrices` must be an array of numbers, shape (N, N) or (n, N, N); it could not be converted to float "
            "(strings, ragged lists or objects?)."
        ) from None


def _check_missing(D):
    """NaN (a missing dissimilarity) only off the diagonal, in mirrored pairs, and not a whole RDM; no inf."""
    inf = np.isinf(D)
    if inf.any():
        k, i, j = np.argwhere(inf)[0]
        raise InputValueError(
            f"`matrices` contains inf (first in matrix {k}, entry ({i}, {j})); a dissimilarity is a finite number, or "
            "NaN where it is missing. Replace the inf (e.g. with np.nan if that value was not measured)."
        )
    nan = np.isnan(D)
    if not nan.any():
        return
    diag = np.diagonal(nan, axis1=1, axis2=2)
    if diag.any():
        k, i = np.argwhere(diag)[0]
        raise InputValueError(
            f"`matrices` has NaN on the diagonal (first in matrix {k}, condition {i}); the diagonal of a "
            "dissimilarity matrix is 0 (NaN is allowed off the diagonal only, for a missing dissimilarity). Set the "
            "diagonal to 0, or drop that condition."
        )
    odd = nan != np.swapaxes(nan, 1, 2)
    if odd.any():
        k, i, j = np.argwhere(odd)[0]
        raise InputValueError(
            f"`matrices` must be symmetric; matrix {k} has NaN at ({i}, {j}) or ({j}, {i}) but not at both. A "
            "missing dissimilarity is missing in both halves; set both to NaN, or both to the measured value."
        )
    N = D.shape[1]
    empty = np.flatnonzero(nan.sum(axis=(1, 2)) == N * (N - 1))
    if empty.size:
        raise InputValueError(
            f"`matrices`: matrix {empty[0]} is NaN everywhere off the diagonal ({empty.size} such matrix(es)); an "
            "RDM with no dissimilarity carries no data. Drop it."
        )


def make_rdms(matrices, labels=None, *, dissimilarity_measure=None, descriptors=None, rdm_descriptors=None,
              pattern_descriptors=None, label_key="item", atol=0.0, rtol=1e-8):
    """The one gate into rsatoolbox: check dissimilarity matrices and build ``RDMs``.

    Parameters
    ----------
    matrices : array_like, shape (n, N, N)
        A stack of ``n`` dissimilarity matrices (use :func:`rdms_from_matrices`
        for a single (N, N) matrix).
    labels : sequence of str, optional
        Names of the N conditions, stored as pattern descriptor ``label_key``.
    dissimilarity_measure : str, optional
    descriptors, rdm_descriptors, pattern_descriptors : dict, optional
        Copied (deeply) before use; the caller's dicts are never modified.
        ``rdm_descriptors`` values must have length ``n``, pattern ones ``N``.
    label_key : str, default "item"
    atol, rtol : float, default 0 and 1e-8
        Tolerances of the symmetry and zero-diagonal checks (NaN, a missing
        dissimilarity, is allowed off the diagonal, in both halves, never a
        whole matrix; inf is refused): an entry may
        differ from its mirror image (and the diagonal from 0) by
        ``atol + rtol * max|D|`` (per matrix).  The default is purely
        relative, so the check does not depend on the data's units (a matrix
        of magnitude 1e-12 with a 5x asymmetry is refused).  The stored
        matrices are the upper triangles (so tiny asymmetries within
        tolerance disappear).

    Returns
    -------
    rsatoolbox.rdm.RDMs
        ``pattern_descriptors`` has ``"index"`` (0..N-1) and ``label_key``.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> D = np.array([[[0., 1, 2], [1, 0, 3], [2, 3, 0]]])
    >>> rdms = rl.make_rdms(D, ["a", "b", "c"], dissimilarity_measure="squared euclidean")
    >>> rdms.n_rdm, rdms.n_cond, rdms.pattern_descriptors["item"].tolist()
    (1, 3, ['a', 'b', 'c'])
    """
    from rsatoolbox.rdm import RDMs

    atol = check_real(atol, "atol", minimum=0)
    rtol = check_real(rtol, "rtol", minimum=0)
    D = _as_float_array(matrices)
    if D.ndim != 3 or D.shape[1] != D.shape[2]:
        raise InputValueError(
            f"`matrices` must be a stack of square matrices, shape (n, N, N), got {D.shape}."
        )
    n, N = D.shape[0], D.shape[1]
    if n == 0:
        raise InputValueError(
            f"`matrices` holds no matrices (shape {D.shape}); give at least one (N, N) dissimilarity matrix."
        )
    if N < 2:
        raise InputValueError(f"`matrices` must have at least 2 conditions, got N = {N}.")
    _check_missing(D)
    with np.errstate(invalid="ignore"):
        scale = np.nanmax(np.abs(D), axis=(1, 2))
    tol = atol + rtol * scale
    asym = np.nanmax(np.abs(D - np.swapaxes(D, 1, 2)), axis=(1, 2))
    bad = np.flatnonzero(asym > tol)
    if bad.size:
        raise InputValueError(
            f"`matrices` must be symmetric; matrix {bad[0]} has max |D - D^T| = {asym[bad[0]]:.3g}. "
            "Dissimilarity matrices are symmetric; symmetrise with (D + D.T) / 2 if the asymmetry is noise."
        )
    diag = np.max(np.abs(np.diagonal(D, axis1=1, axis2=2)), axis=1)
    bad = np.flatnonzero(diag > tol)
    if bad.size:
        raise InputValueError(
            f"`matrices` must be zero on the diagonal; matrix {bad[0]} has max |diagonal| = {diag[bad[0]]:.3g}. "
            "Did you pass a similarity (RSM) instead of a dissimilarity? Convert it, e.g. with rl.gram_to_rdm."
        )
    iu = np.triu_indices(N, k=1)
    # C order, as rsatoolbox stores its own vectors: a strided copy would sum in another order downstream (BLAS),
    # so the same RDMs built here and read by rsatoolbox would be fitted a few ulps apart
    vectors = np.ascontiguousarray(D[:, iu[0], iu[1]])
    descriptors = _copy_desc(descriptors, "descriptors")
    rdm_desc = _copy_desc(rdm_descriptors, "rdm_descriptors")
    pat_desc = _copy_desc(pattern_descriptors, "pattern_descriptors")
    for key, val in rdm_desc.items():
        val = np.asarray(val)
        if val.ndim != 1 or val.shape[0] != n:
            raise InputValueError(f"`rdm_descriptors[{key!r}]` must have one value per matrix ({n}), got shape {val.shape}.")
        rdm_desc[key] = val
    for key, val in pat_desc.items():
        val = np.asarray(val)
        if val.ndim != 1 or val.shape[0] != N:
            raise InputValueError(
                f"`pattern_descriptors[{key!r}]` must have one value per condition ({N}), got shape {val.shape}."
            )
        pat_desc[key] = val
    if labels is not None:
        if isinstance(labels, str):
            raise InputTypeError("`labels` must be a sequence of N strings, not a single string.")
        labels = np.asarray([str(x) for x in labels])
        if labels.shape[0] != N:
            raise InputValueError(f"`labels` must have {N} entries (one per condition), got {labels.shape[0]}.")
        if len(set(labels.tolist())) != N:
            raise InputValueError("`labels` must be unique; each condition needs its own name.")
        pat_desc[label_key] = labels
    pat_desc.setdefault("index", np.arange(N))
    rdm_desc.setdefault("index", np.arange(n))
    return RDMs(vectors, dissimilarity_measure=dissimilarity_measure, descriptors=descriptors,
                rdm_descriptors=rdm_desc, pattern_descriptors=pat_desc)


def rdms_from_matrices(matrices, labels=None, *, dissimilarity_measure=None, descriptors=None,
                       rdm_descriptors=None, label_key="item", atol=0.0, rtol=1e-8):
    """Build rsatoolbox ``RDMs`` from your own (N, N) matrix or (n, N, N) stack, with condition labels.

    A 2-D input is always read as *one* N x N matrix.  (rsatoolbox's
    ``RDMs`` reads a 2-D array as a stack of vectors instead; to pass
    vectors, use ``rsatoolbox.rdm.RDMs`` directly.)  A non-square 2-D input
    is rejected rather than guessed at.

    Parameters
    ----------
    matrices : array_like, shape (N, N) or (n, N, N)
        NaN off the diagonal marks a missing dissimilarity (in both halves); the
        fits and tests leave it out of its own RDM's score.
    labels : sequence of str, optional
        Condition names; they become pattern descriptor ``label_key`` so
        that :class:`rsa_lineardyn.LinearNetworkModel` can match items.
    dissimilarity_measure, descriptors, rdm_descriptors, label_key, atol, rtol
        As in :func:`make_rdms`.

    Returns
    -------
    rsatoolbox.rdm.RDMs

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> D = np.array([[0., 1, 2], [1, 0, 3], [2, 3, 0]])
    >>> rdms = rl.rdms_from_matrices(D, labels=["dog", "cat", "oak"])
    >>> rdms.n_rdm, rdms.dissimilarities.tolist()
    (1, [[1.0, 2.0, 3.0]])
    """
    D = _as_float_array(matrices)
    if D.ndim == 2:
        if D.shape[0] != D.shape[1]:
            raise InputValueError(
                f"`matrices` is 2-D but not square ({D.shape}); a 2-D input must be one N x N dissimilarity "
                "matrix. For vectorised RDMs (n_rdm x N(N-1)/2) use rsatoolbox.rdm.RDMs(vectors) directly."
            )
        D = D[None]
    elif D.ndim != 3:
        raise InputValueError(f"`matrices` must have shape (N, N) or (n, N, N), got {D.shape}.")
    return make_rdms(D, labels, dissimilarity_measure=dissimilarity_measure, descriptors=descriptors,
                     rdm_descriptors=rdm_descriptors, label_key=label_key, atol=atol, rtol=rtol)


def to_rdms(traj, representation="hidden", measure="euclidean", *, rcond=DEFAULT_RCOND, descriptors=None):
    """Predicted RDMs of a trajectory, one per time point, as rsatoolbox ``RDMs``.

    Parameters
    ----------
    traj : Trajectory
        From :func:`rsa_lineardyn.exact_dynamics` or :func:`rsa_lineardyn.simulate`.
    representation : {"hidden", "output", "ntk", "prediction"}
        See :mod:`rsa_lineardyn.representations.geometry`.
    measure : {"euclidean", "cosine", "correlation"}
        ``"euclidean"`` is the squared Euclidean distance.  ``"correlation"``
        is refused for exact trajectories (the hidden basis is not defined).
    rcond : float
        Pseudo-inverse cut-off for ``"output"``.
    descriptors : dict, optional
        Extra object descriptors (copied), keyed by strings; they may not
        replace the ones set from the trajectory (``task``, ``method``,
        ``representation``, ``measure``, ``n_hidden``, ``lam``, ``tau``).

    Returns
    -------
    rsatoolbox.rdm.RDMs
        ``rdm_descriptors``: ``time``, ``lam``, ``n_hidden``,
        ``representation``, ``method``, ``index``.  ``pattern_descriptors``:
        ``item`` (the task's labels; ``"feature:item"`` for the NTK) and
        ``index``.  ``dissimilarity_measure`` is ``"squared euclidean"``,
        ``"cosine"`` or ``"correlation"``.  Select times with
        ``rdms.subset("time", t)``.

    Examples
    --------
    >>> import numpy as np, rsa_lineardyn as rl
    >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2, 1]) * np.sqrt(3), labels=["a", "b", "c"])
    >>> W1, W2 = rl.task_aligned_init(task, n_hidden=2, scale=0.1)
    >>> rdms = rl.to_rdms(rl.simulate(task, W1, W2, [0.0, 1.0, 5.0], method="flow"))
    >>> rdms.n_rdm, rdms.rdm_descriptors["time"].tolist(), rdms.dissimilarity_measure
    (3, [0.0, 1.0, 5.0], 'squared euclidean')
    """
    if not isinstance(traj, Trajectory):
        raise InputTypeError(f"`traj` must be an rl.Trajectory, got {type(traj).__name__}.")
    check_option(representation, "representation", REPRESENTATIONS)
    check_option(measure, "measure", MEASURES)
    rcond = check_real(rcond, "rcond", minimum=0, maximum=1)
    D = trajectory_rdms(traj, representation, measure, rcond=rcond)
    T = traj.times.size
    desc = {"task": traj.task.name, "method": traj.method, "representation": representation,
            "measure": measure, "n_hidden": traj.n_hidden, "lam": traj.lam, "tau": traj.tau}
    extra = _copy_desc(descriptors, "descriptors")
    clash = sorted(set(extra) & set(desc))
    if clash:
        raise InputValueError(
            f"`descriptors` must not replace the descriptors to_rdms sets from the trajectory ({sorted(desc)}); got "
            f"{clash}. Use other names (e.g. 'model_{clash[0]}'), or rename the task with rl.Task(..., name=...)."
        )
    desc.update(extra)
    rdm_desc = {
        "time": traj.times.copy(),
        "lam": np.full(T, traj.lam),
        "n_hidden": np.full(T, traj.n_hidden),
        "representation": np.array([representation] * T),
        "method": np.array([traj.method] * T),
    }
    return make_rdms(D, condition_labels(traj.task, representation),
                     dissimilarity_measure=MEASURE_NAMES[measure], descriptors=desc, rdm_descriptors=rdm_desc,
                     atol=1e-9, rtol=1e-7)


def task_from_dataframe(features, inputs=None, *, name="task"):
    """Build a :class:`~rsa_lineardyn.Task` from an item-by-feature table.

    Parameters
    ----------
    features : pandas.DataFrame, shape (P, n_out)
        One row per item (the index gives the item labels), one numeric
        column per target feature (column names become ``feature_names``).
    inputs : None or pandas.DataFrame, shape (P, n_in)
        Input features per item, matched to ``features`` by index (item
        label).  ``None`` (default) gives each item its own one-hot input,
        scaled by ``sqrt(P)`` so that the inputs are white (``Sxx = I``), the
        standard setting of the exact theory.
    name : str

    Returns
    -------
    Task

    Examples
    --------
    >>> import pandas as pd, rsa_lineardyn as rl
    >>> df = pd.DataFrame({"grow": [1, 1, 1], "fly": [1, 0, 0]}, index=["canary", "salmon", "oak"])
    >>> task = rl.task_from_dataframe(df)
    >>> task.labels, task.feature_names, task.is_white()
    (('canary', 'salmon', 'oak'), ('grow', 'fly'), True)
    """
    import pandas as pd

    if not isinstance(features, pd.DataFrame):
        raise InputTypeError(
            f"`features` must be a pandas DataFrame (items as rows, features as columns), got {type(features).__name__}."
        )
    labels = [str(x) for x in features.index]
    _check_unique_index(labels, "features")
    Y = _numeric_block(features, "features").T
    P = Y.shape[1]
    if inputs is None:
        X = np.eye(P) * np.sqrt(P)
    else:
        if not isinstance(inputs, pd.DataFrame):
            raise InputTypeError(f"`inputs` must be None or a pandas DataFrame, got {type(inputs).__name__}.")
        in_labels = [str(x) for x in inputs.index]
        _check_unique_index(in_labels, "inputs")
        missing = sorted(set(labels) - set(in_labels))
        if missing:
            raise InputValueError(
                f"`inputs` has no row for item(s) {missing[:5]}; its index must contain every item of `features`."
            )
        pos = {lab: i for i, lab in enumerate(in_labels)}
        X = _numeric_block(inputs, "inputs")[[pos[lab] for lab in labels]].T
    return Task(X, Y, labels=labels, feature_names=[str(c) for c in features.columns], name=name)


def _check_unique_index(labels, name):
    """Every item label (as a string) once in the index of DataFrame ``name``; the error names the repeats."""
    dup = repeated(labels)
    if dup:
        raise InputValueError(
            f"`{name}` index must name each item once; it has repeated labels {dup[:5]}"
            f"{' ...' if len(dup) > 5 else ''}. "
            f"Drop or aggregate the duplicate rows first, e.g. {name}.groupby(level=0).mean()."
        )


def _numeric_block(df, name):
    try:
        arr = df.to_numpy(dtype=float)
    except (TypeError, ValueError):
        import pandas as pd

        bad = [c for c in df.columns if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))]
        raise InputTypeError(f"`{name}` must hold numbers only; non-numeric column(s): {bad[:5]}.") from None
    if arr.size == 0:
        raise InputValueError(f"`{name}` is empty.")
    if not np.all(np.isfinite(arr)):
        raise InputValueError(f"`{name}` contains NaN or inf; fill or drop those entries first.")
    return arr
