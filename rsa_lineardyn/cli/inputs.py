"""Reading the user's files for the command line: tasks, data RDMs (matrices, stacks, rsatoolbox files),
their descriptors and condition labels; sizes and types checked before anything is read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from .._validation import repeated
from ..representations.descriptors import STAGE_NAME
from .common import BUNDLED_DATA_PREFIX, BUNDLED_TASKS, CLIError, _progress, log


#: Largest input file the command line reads (a data, task or .npz member): above it the work would not fit in
#: memory anyway.  Python users with larger data select RDMs first and call the functions directly.
MAX_INPUT_BYTES = 2**30


def _existing_file(path, what):
    """``path`` as a Path to an existing, readable regular file of at most :data:`MAX_INPUT_BYTES` bytes.

    The type and size are checked before the file is opened: a FIFO, a device or a folder is refused, never read
    (opening a FIFO would wait forever for a writer).  Errors are one-line CLIErrors naming the argument.
    """
    from .._validation import check_path, format_bytes

    try:
        st = os.stat(path)
    except OSError:
        st = None  # missing or unreachable: check_path says which
    if st is not None and not stat.S_ISDIR(st.st_mode):
        if not stat.S_ISREG(st.st_mode):
            kind = "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
            raise CLIError(f"`{what}`: {what} file {path} is {kind}, not a regular file; it is not read. Save the "
                           "data to an ordinary file and pass that.")
        if st.st_size > MAX_INPUT_BYTES:
            raise CLIError(f"`{what}`: {what} file {path} is {format_bytes(st.st_size)}, above the "
                           f"{format_bytes(MAX_INPUT_BYTES)} the command line reads; select the RDMs (or items) you "
                           "need into a smaller file, or call the rsa_lineardyn functions from Python.")
    return check_path(path, what, what=f"{what} file", error=CLIError)


def _parse_list(text, name, conv=float):
    try:
        vals = [conv(x) for x in str(text).replace(" ", "").split(",") if x != ""]
    except ValueError:
        raise CLIError(f"`{name}` must be a comma-separated list of numbers, got {text!r}") from None
    if not vals:
        raise CLIError(f"`{name}` is empty")
    return vals


# ----------------------------------------------------------------------------- tasks
def load_task(spec):
    """A bundled task by name, or a user task from a .csv (items x features) or .npz (X, Y) file.

    A CSV has one row per item: the first column holds the item labels and the
    other (numeric) columns are the target features; each item gets a one-hot,
    whitened input.  An NPZ holds ``X`` (n_in, P) and ``Y`` (n_out, P), and
    optionally ``labels`` (P,) and ``feature_names`` (n_out,).  Inputs that are
    not white are whitened (:func:`rsa_lineardyn.whiten`).
    """
    import rsa_lineardyn as rl

    if spec in BUNDLED_TASKS:
        if spec == "semantic":
            return rl.load_semantic_task()
        if spec == "semantic_item_relation":
            return rl.whiten(rl.load_semantic_task("item_relation"))
        structure = {"92images": "tree", "92images_categories": "categories", "92images_flags": "flags"}[spec]
        return rl.load_92images_task(structure)
    p = Path(spec)
    if p.suffix.lower() not in (".csv", ".npz"):
        if not p.exists():
            raise CLIError(f"task {spec!r} is neither a bundled task ({', '.join(BUNDLED_TASKS)}) nor an existing "
                           ".csv or .npz file")
        raise CLIError(f"task file {p} must be a .csv (items x features) or .npz (with X and Y) file")
    _existing_file(p, "task")
    name = p.stem
    if p.suffix.lower() == ".csv":
        import pandas as pd

        try:
            raw = pd.read_csv(p, header=None, dtype=str, keep_default_na=False)
        except Exception as exc:  # pandas raises many types on malformed text
            raise CLIError(f"could not read task file {p} as CSV: {_one_line(exc)}{_separator_hint(p)}") from None
        if raw.shape[1] < 2:  # one column: no feature, or another separator (';' or tabs)
            raise CLIError(f"task file {p} has one column: it needs the item labels and at least one feature column, "
                           f"comma-separated{_separator_hint(p)}")
        # a header row is detected, not assumed: a first row of numbers (after the label) is an item, not names,
        # unless its label cell is empty: pandas writes the index's header so (",0,1,2" for integer column names)
        has_header = raw.shape[0] > 0 and (raw.iloc[0, 0].strip() == ""
                                           or not all(_is_number(v) for v in raw.iloc[0, 1:]))
        if not has_header and raw.shape[1] > 3 and [v.strip() for v in raw.iloc[0, 1:]] == [
                str(j) for j in range(raw.shape[1] - 1)]:
            raise CLIError(f"task file {p}: its first row {','.join(raw.iloc[0, :4])},... looks like the header pandas "
                           "writes for integer column names (with a named index), but it could be an item whose "
                           "features are 0, 1, 2, ...; name the feature columns (e.g. df.columns = [f'f{j}' for j in "
                           "range(df.shape[1])] before to_csv), or write the header with an empty first cell")
        body = raw.iloc[1:] if has_header else raw
        _check_item_labels(p, [str(x) for x in body.iloc[:, 0]], first_line=2 if has_header else 1)
        columns = [str(c) for c in raw.iloc[0, 1:]] if has_header else [f"feature_{j + 1}"
                                                                        for j in range(raw.shape[1] - 1)]
        try:
            df = pd.DataFrame(body.iloc[:, 1:].to_numpy(dtype=float), index=[str(x) for x in body.iloc[:, 0]],
                              columns=columns)
        except ValueError:
            cells = body.iloc[:, 1:]
            bad = next(((r, c) for r in range(cells.shape[0]) for c in range(cells.shape[1])
                        if not _is_number(cells.iat[r, c])), (0, 0))
            raise CLIError(f"task file {p}: every column after the item labels must hold numbers (target features); "
                           f"the entry {cells.iat[bad]!r} of item {str(body.iat[bad[0], 0])!r} (feature column "
                           f"{bad[1] + 1}) is not a number (a task has no missing values){_separator_hint(p)}") from None
        _progress(f"task file {p}: " + ("header row found (feature names: "
                                         f"{', '.join(columns[:5])}{' ...' if len(columns) > 5 else ''})" if has_header
                                         else "no header row (its first row holds numbers), so every row is an item; "
                                         "features named feature_1, feature_2, ..."))
        if df.shape[0] < 2 or df.shape[1] < 1:
            raise CLIError(f"task file {p} must have one row per item (at least 2) with the item label in the first "
                           f"column and at least one feature column (a header row is optional); got shape {df.shape}")
        task = rl.task_from_dataframe(df, name=name)
    else:
        arrays = _read_npz(p, "task")
        missing = [k for k in ("X", "Y") if k not in arrays]
        if missing:
            raise CLIError(f"task file {p} must contain arrays 'X' (n_in x P) and 'Y' (n_out x P); "
                           f"missing {missing}, found {sorted(arrays)}")
        labels = arrays.get("labels")
        feats = arrays.get("feature_names")
        task = rl.Task(arrays["X"], arrays["Y"], labels=None if labels is None else [str(x) for x in labels],
                       feature_names=None if feats is None else [str(x) for x in feats], name=name)
    if not task.is_white(tol=1e-8):
        task = rl.whiten(task)
        _progress(f"task inputs were not white: {task.whitening.message}")
    return task


def _refuse_relabelling(path, pattern_desc, labels, label_keys, task_labels=None):
    """``--labels`` names the conditions of a file by position: refuse it for a file that labels them already
    (other labels, or the same ones in another order, would silently mislabel conditions).  Labels ``0, 1, ...,
    n - 1`` in order are positions (pandas' default index and header), not labels: ``--labels`` may name them --
    unless the task's own item labels are those numbers, where they are the file's labels."""
    task_set = None if task_labels is None else {str(x) for x in task_labels}
    for key in label_keys:
        if key in pattern_desc:
            own = [str(x) for x in pattern_desc[key]]
            numbered = own == [str(i) for i in range(len(own))]
            if numbered and not (task_set is not None and set(own) <= task_set):
                continue
            if own != [str(x) for x in labels]:
                why = " (the task's item labels are these numbers, so they are read as labels)" if numbered else ""
                raise CLIError(f"data file {path} already labels its conditions (pattern descriptor {key!r}: "
                               f"{', '.join(own[:4])}{', ...' if len(own) > 4 else ''}){why} and --labels gives "
                               "other labels or another order; conditions are matched by the file's labels, so drop "
                               "--labels (it is for files without labels)")


def _check_label_list(labels, text):
    """``--labels``: no empty entry (a stray or trailing comma) and no label twice, refused before any file is read."""
    empty = [i + 1 for i, lab in enumerate(labels) if lab == ""]
    if empty:
        raise CLIError(f"`--labels` has an empty label at position(s) {empty[:5]} of {len(labels)} ({_short(text)}): "
                       "a stray, doubled or trailing comma? Give one non-empty task item label per condition, "
                       "comma-separated (labels cannot contain commas)")
    dup = repeated(labels)
    if dup:
        raise CLIError(f"`--labels` names {dup[:5]} more than once ({_short(text)}); each condition is a different "
                       "task item, so give every label once, in the file's order of conditions")


def _short(text, k=80):
    text = str(text)
    return repr(text if len(text) <= k else text[:k] + "...")


def _check_item_labels(path, labels, first_line):
    """Every item label of a task CSV non-empty and given once; the error names the file lines."""
    empty = [first_line + i for i, lab in enumerate(labels) if lab.strip() == ""]
    if empty:
        raise CLIError(f"task file {path}: line(s) {empty[:5]} have an empty item label; the first column must name "
                       "every item (the labels the data's conditions are matched to). Fill in the labels, or drop "
                       "those rows")
    seen, dup = {}, []
    for i, lab in enumerate(labels):
        if lab in seen and lab not in dup:
            dup.append(lab)
        seen.setdefault(lab, first_line + i)
    if dup:
        raise CLIError(f"task file {path}: item label(s) {dup[:5]} appear on more than one line (first on line(s) "
                       f"{[seen[d] for d in dup[:5]]}); each item needs one row with its own label. Merge or rename "
                       "the repeated rows")


def _npz_member_sizes(path, what):
    """Declared sizes (bytes) of the arrays in an .npz, read from the zip and .npy headers only (nothing inflated).

    Refuses an archive whose members declare more than :data:`MAX_INPUT_BYTES` in all (an ".npz bomb": a tiny
    file that inflates to gigabytes), object arrays (they would need pickle) and members that are not .npy files.
    """
    import zipfile

    from .._validation import format_bytes

    total = 0
    sizes = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            with zf.open(info) as fh:
                try:
                    version = np.lib.format.read_magic(fh)
                    reader = {(1, 0): np.lib.format.read_array_header_1_0,
                              (2, 0): np.lib.format.read_array_header_2_0}.get(version)
                    if reader is None:
                        raise ValueError(f"unsupported .npy version {version}")
                    shape, _, dtype = reader(fh)
                except ValueError as exc:
                    raise CLIError(f"{what} file {path}: member {info.filename!r} is not a .npy array "
                                   f"({_one_line(exc)})") from None
            if dtype.hasobject:
                raise CLIError(f"{what} file {path}: array {name!r} holds Python objects, which would need pickle to "
                               "read; save numbers or fixed-width strings (np.savez with plain arrays)")
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            sizes[name] = nbytes
            total += max(nbytes, info.file_size)
    if total > MAX_INPUT_BYTES:
        big = max(sizes, key=sizes.get) if sizes else "?"
        raise CLIError(f"{what} file {path} declares {format_bytes(total)} of arrays once unpacked (largest: {big!r}, "
                       f"{format_bytes(sizes.get(big, 0))}), above the {format_bytes(MAX_INPUT_BYTES)} the command line "
                       "reads; nothing was unpacked. Save only the arrays needed (e.g. the RDMs of the subjects you "
                       "analyse).")
    return sizes


def _read_npz(path, what):
    import zipfile

    if not zipfile.is_zipfile(path):
        raise CLIError(f"{what} file {path} is not a valid .npz archive (corrupt or truncated?)")
    try:
        _npz_member_sizes(path, what)
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except CLIError:
        raise
    except Exception as exc:
        raise CLIError(f"could not read {what} file {path} as .npz: {_one_line(exc)}") from None


def _is_number(text):
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


def _one_line(exc):
    """The whole message of ``exc`` on one line (line breaks and runs of spaces folded; never cut)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# ----------------------------------------------------------------------------- data RDMs
def load_data_rdms(spec, labels=None, trust_pickle=False, task_labels=None):
    """Data RDMs from a file (.npy, .npz, .csv, .hdf5/.h5, .pkl) or a bundled name ``92images:<which>``.

    The file's own descriptors are kept: an rsatoolbox .hdf5 (or trusted .pkl) keeps its rdm, pattern and
    object descriptors; an .npz keeps every 1-D array with one entry per RDM as an rdm descriptor and one with
    one entry per condition as a pattern descriptor (``labels`` is the condition labels).  Matrices go through
    :func:`rsa_lineardyn.make_rdms` (checked square, symmetric, zero diagonal; NaN allowed off the diagonal, a
    missing dissimilarity).  ``labels`` (list) names the conditions of a file that carries none (pattern descriptor
    ``item``); without them such a file is refused later, as conditions are matched by label, never by position.

    A .pkl file is unpickled only with ``trust_pickle=True`` (unpickling runs code named in the file).
    ``task_labels``: the task's item labels; when they are ``0 .. n-1`` a file labelled so is labelled, not numbered
    by position (``--labels`` cannot rename its conditions).
    """
    import rsa_lineardyn as rl

    if isinstance(spec, str) and spec.startswith(BUNDLED_DATA_PREFIX):
        if labels is not None:
            raise CLIError(f"--labels names the conditions of a file without labels; the bundled data {spec} carry "
                           "their own condition labels, so drop --labels")
        return rl.load_92images_rdms(spec[len(BUNDLED_DATA_PREFIX):])
    p = _existing_file(spec, "data")
    suffix = p.suffix.lower()
    rdm_desc, pattern_desc, obj_desc, measure = {}, {}, {}, None
    if suffix == ".pkl" and not trust_pickle:
        raise CLIError(f"data file {p} is a pickle: unpickling runs code named in the file, so a crafted file could "
                       "do anything your account can. Save the RDMs as HDF5 (rdms.save(path, file_type='hdf5')), or "
                       "pass --trust-pickle if you wrote this file yourself")
    if suffix in (".hdf5", ".h5", ".pkl"):
        from rsatoolbox.rdm import load_rdm

        if suffix == ".pkl":
            log.warning("unpickling %s (--trust-pickle): this runs code named in the file; use it only for files "
                        "you wrote yourself", p)
        try:
            rdms = load_rdm(str(p), file_type="pkl" if suffix == ".pkl" else "hdf5")
        except Exception as exc:
            if suffix == ".pkl":
                raise CLIError(f"could not read data file {p} as rsatoolbox RDMs: {_one_line(exc)}") from None
            raise CLIError(f"could not read data file {p} as rsatoolbox RDMs ({_one_line(exc)}): an .hdf5/.h5 data file "
                           "must be one written by rsatoolbox (rdms.save(path, file_type='hdf5')); from other tools, "
                           "save the matrices as .npz with arrays 'rdms' (n x N x N), 'labels' (the N condition "
                           "labels) and one per rdm descriptor (e.g. 'subject')") from None
        D = rdms.get_matrices()
        rdm_desc = {k: v for k, v in rdms.rdm_descriptors.items() if k != "index"}
        pattern_desc = {k: v for k, v in rdms.pattern_descriptors.items() if k != "index"}
        obj_desc = dict(rdms.descriptors)
        measure = rdms.dissimilarity_measure
    elif suffix == ".npy":
        with open(p, "rb") as fh:
            if fh.read(6) != b"\x93NUMPY":
                raise CLIError(f"data file {p} is not a valid .npy file (corrupt or truncated?)")
        try:
            D = np.load(p, allow_pickle=False, mmap_mode="r")  # the header is read, the data mapped, not copied
            D = np.array(D)
        except Exception as exc:
            raise CLIError(f"could not read data file {p} as .npy: {_one_line(exc)}") from None
    elif suffix == ".npz":
        arrays = _read_npz(p, "data")
        keys = [k for k in ("rdms", "rdm", "D", "matrices") if k in arrays]
        if not keys:
            numeric = [k for k, v in arrays.items() if np.issubdtype(v.dtype, np.number) and v.ndim in (2, 3)]
            if len(numeric) != 1:
                raise CLIError(f"data file {p} must hold the matrices under 'rdms' (or one 2-D/3-D numeric array); "
                               f"found {sorted(arrays)}")
            keys = numeric
        D = arrays[keys[0]]
        rdm_desc, pattern_desc = _npz_descriptors(p, arrays, keys[0], D)
    elif suffix == ".csv":
        D, file_labels = _read_matrix_csv(p)
        if file_labels is not None:
            pattern_desc = {"item": file_labels}
    else:
        raise CLIError(f"data file {p} must be .npy, .npz, .csv, .hdf5/.h5 or .pkl, got {suffix or 'no extension'}")
    D = np.asarray(D)
    if not np.issubdtype(D.dtype, np.number):
        raise CLIError(f"data file {p} must hold numbers, got dtype {D.dtype}")
    if D.ndim not in (2, 3) or D.shape[-1] != D.shape[-2]:
        raise CLIError(f"data in {p} must be one N x N matrix or a stack n x N x N, got shape {D.shape}")
    if labels is not None:
        if len(labels) != D.shape[-1]:
            raise CLIError(f"--labels gives {len(labels)} labels for the {D.shape[-1]} conditions in {p}")
        from ..representations.descriptors import LABEL_KEYS

        _refuse_relabelling(p, pattern_desc, labels, LABEL_KEYS, task_labels)
        pattern_desc = {k: v for k, v in pattern_desc.items() if k not in LABEL_KEYS}
        pattern_desc["item"] = list(labels)
    try:
        return rl.make_rdms(D if D.ndim == 3 else D[None], dissimilarity_measure=measure, descriptors=obj_desc or None,
                            rdm_descriptors=rdm_desc or None, pattern_descriptors=pattern_desc or None)
    except (rl.InputValueError, rl.InputTypeError) as exc:
        raise CLIError(f"data in {p}: {_one_line(exc)}") from None


def _npz_descriptors(path, arrays, key, D):
    """rdm and pattern descriptors from the other 1-D arrays of a data .npz (by length; ambiguous ones refused)."""
    n_rdm = 1 if D.ndim == 2 else D.shape[0]
    n_cond = D.shape[-1]
    rdm_desc, pattern_desc = {}, {}
    for name, arr in arrays.items():
        if name == key:
            continue
        if arr.ndim != 1:
            log.info("data file %s: array %r (shape %s) is not a descriptor (not 1-D); ignored", path, name, arr.shape)
            continue
        values = [x.item() if hasattr(x, "item") else x for x in arr]
        values = [x.decode("utf-8", errors="replace") if isinstance(x, bytes) else x for x in values]  # h5py/MATLAB
        if name == "labels" and arr.size == n_cond:
            pattern_desc["labels"] = [str(x) for x in values]
        elif arr.size == n_rdm and arr.size == n_cond and n_rdm > 1:
            raise CLIError(f"data file {path}: array {name!r} has {arr.size} entries, as many as there are RDMs and "
                           f"conditions, so it cannot be told whether it describes the RDMs or the conditions; name "
                           "condition labels 'labels', or save the RDMs as rsatoolbox HDF5 (descriptors explicit)")
        elif arr.size == n_rdm:
            rdm_desc[name] = values
        elif arr.size == n_cond:
            pattern_desc[name] = values
        else:
            log.info("data file %s: array %r has %d entries, neither one per RDM (%d) nor one per condition (%d); "
                     "ignored", path, name, arr.size, n_rdm, n_cond)
    if "labels" in pattern_desc:  # 'labels' is read as the conditions' labels, under 'item'
        labels = pattern_desc.pop("labels")
        if "item" in pattern_desc and [str(x) for x in pattern_desc["item"]] != labels:
            raise CLIError(f"data file {path} holds both 'item' and 'labels' arrays, with different conditions or "
                           "orders: one of them is wrong, so the conditions cannot be matched. Keep only the "
                           "array that labels the rows of the matrices")
        pattern_desc["item"] = labels
    return rdm_desc, pattern_desc


def _read_matrix_csv(path):
    """A square matrix from CSV, with or without a header row and label column; empty cells are NaN (missing)."""
    import pandas as pd

    try:
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise CLIError(f"could not read data file {path} as CSV: {_one_line(exc)}{_separator_hint(path)}") from None

    def numeric(v):  # a number, or an empty cell (a missing value: pandas writes NaN as '')
        return v.strip() == "" or v.strip() in _NA_TEXT or _is_number(v)

    # an empty top-left cell is pandas' header of the index column: a header row and a label column
    corner = raw.shape[0] > 1 and raw.shape[1] > 1 and raw.iloc[0, 0].strip() == ""
    has_header = corner or not all(numeric(v) for v in raw.iloc[0, 1:])
    has_index = corner or not all(numeric(v) for v in raw.iloc[1 if has_header else 0:, 0])
    body = raw.iloc[1 if has_header else 0:, 1 if has_index else 0:]
    if body.shape[1] == 0 or (body.shape[0] > 1 and body.shape[1] == 1):
        raise CLIError(f"data file {path} has one column: not a comma-separated matrix{_separator_hint(path)}")
    cells = body.apply(lambda col: col.str.strip())
    bad = ~cells.isin(("",) + _NA_TEXT) & ~cells.map(_is_number)
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        raise CLIError(f"data file {path} must hold a numeric matrix (optionally with a header row and a label "
                       f"column); the entry {cells.iat[r, c]!r} (row {r + 1}, column {c + 1} of the matrix) is not a "
                       "number. A missing dissimilarity is an empty cell (or NA / NaN)" + _separator_hint(path))
    D = cells.where(~cells.isin(("",) + _NA_TEXT), "nan").to_numpy(dtype=float)
    labels = None
    if has_index:
        labels = [str(x).strip() for x in raw.iloc[1 if has_header else 0:, 0]]
    if has_header:
        header = [str(x).strip() for x in raw.iloc[0, 1 if has_index else 0:]]
        if labels is None or (_numbered(labels) and not _numbered(header)):
            labels = header  # pandas' default index (0, 1, ...) beside labelled columns: the header labels
        elif not _numbered(header) and header != labels:  # both name the conditions: one of them is wrong
            i = next((k for k, (a, b) in enumerate(zip(header, labels)) if a != b), min(len(header), len(labels)))
            raise CLIError(f"data file {path}: the header row and the label column name the conditions differently "
                           f"(first at position {i + 1}: {header[i:i + 1]} in the header, {labels[i:i + 1]} in the "
                           "column); one of them is wrong, so the conditions cannot be matched. Fix the file so both "
                           "list the conditions in the same order")
    return D, labels


def _numbered(names):
    """Whether ``names`` are ``0, 1, ..., n - 1`` in order: pandas' default index or header, positions, not labels."""
    return names == [str(i) for i in range(len(names))]


#: Text read as a missing value in a data CSV (R's write.csv writes NA; pandas and others NaN / nan).
_NA_TEXT = ("NA", "NaN", "nan", "N/A", "NULL")


def _separator_hint(path):
    """' (it looks separated by ';' / tabs: save it with commas)' when the file's first line suggests it, else ''."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            first = fh.readline()
    except OSError:
        return ""
    for sep, name in ((";", "';'"), ("\t", "tabs")):
        if first.count(sep) > first.count(","):
            return (f" (its first line is separated by {name}, not commas: save it as comma-separated values, "
                    "with '.' as the decimal point)")
    return ""


# ----------------------------------------------------------------------------- fit
def _data_and_task(args):
    """Data RDMs, the task and the descriptors, as ``fit`` and ``compare`` read them.

    Returns ``(data, task, design)``; ``design`` holds the descriptor names passed to the library
    (``subject``, ``stage``, ``condition``) and ``stage_order`` (see :func:`_resolve_descriptors`).
    """
    labels = None
    if args.labels is not None:
        labels = [x.strip() for x in args.labels.split(",")]
        _check_label_list(labels, args.labels)
    task_spec = args.task
    if task_spec is None:
        if args.data.startswith(BUNDLED_DATA_PREFIX):
            task_spec = "92images"
        else:
            raise CLIError("--task is required: the bundled task name or a .csv/.npz task file the network learns")
    task = load_task(task_spec)  # first: its item labels tell a file's labels 0..n-1 from positions
    data = load_data_rdms(args.data, labels, trust_pickle=getattr(args, "trust_pickle", False),
                          task_labels=task.labels)
    data, design = _resolve_descriptors(data, task, args)
    return data, task, design


#: rdm descriptor names read as subjects / stages without a flag (case-insensitive; ``_id`` etc. allowed).
_SUBJECT_NAME = r"(subject|subj|sub|participant|ppt)s?([_\- ]?(id|name|code|nr|no))?"


_STAGE_NAME = STAGE_NAME  # one pattern for the command line and the library's refusal (descriptors.py)


#: rdm descriptors that never group RDMs (rsatoolbox's own index).
_IGNORED_RDM_DESCRIPTORS = ("index",)


def _flag_value(text):
    """A descriptor flag's value: ``None`` for 'none', else the name; absent flag -> 'auto'."""
    if text is None:
        return "auto"
    return None if text.strip().lower() == "none" else text.strip()


def _shown_values(values, k=6):
    uniq = list(dict.fromkeys(str(v) for v in np.asarray(values).tolist()))
    return f"{len(uniq)} value(s): {', '.join(uniq[:k])}{' ...' if len(uniq) > k else ''}"


def _resolve_descriptors(data, task, args):
    """Which descriptors of the user's file name the conditions, subjects and stages; log them; never guess.

    A flag names a descriptor (or 'none'); without it a descriptor is taken only when its name says what it is
    (``participant_id`` -> subjects, ``phase`` -> stages, one pattern descriptor holding the task's item labels ->
    conditions).  Several candidates, or none where the command needs one, stop the run with the descriptors
    present and the flag to pass.  Returns ``(data, design)``.
    """
    import re

    rdm_d = {k: v for k, v in data.rdm_descriptors.items() if k not in _IGNORED_RDM_DESCRIPTORS}
    present = ", ".join(f"{k!r} ({_shown_values(v, 3)})" for k, v in rdm_d.items()) or "none"
    n_rdm = int(data.n_rdm)

    def varying(k):
        return len({str(x) for x in np.asarray(rdm_d[k]).tolist()}) > 1

    def pick(flag, name, pattern, what):
        value = _flag_value(getattr(args, name.replace("-", "_")))
        if value != "auto":
            if value is not None and value not in data.rdm_descriptors:
                raise CLIError(f"--{name} {value!r} is not an rdm descriptor of {args.data}; its rdm descriptors are "
                               f"{present} (pass one of these names, or 'none')")
            return value
        cands = [k for k in rdm_d if re.fullmatch(pattern, k.strip(), flags=re.IGNORECASE) and varying(k)]
        if len(cands) > 1:
            raise CLIError(f"several rdm descriptors of {args.data} could name the {what}: "
                           f"{', '.join(repr(c) for c in cands)}; pass --{name} with the right one (or 'none')")
        return cands[0] if cands else None

    subject = pick("subject", "subject-descriptor", _SUBJECT_NAME, "subjects")
    stage = pick("stage", "stage-descriptor", _STAGE_NAME, "stages of learning")
    if subject is not None and subject == stage:
        raise CLIError(f"rdm descriptor {subject!r} was named both as subjects and as stages; give "
                       "--subject-descriptor and --stage-descriptor different descriptors")
    # descriptors left over that group the RDMs: they may be the subjects; with none found, refuse to guess
    grouping = [k for k in rdm_d if k not in (subject, stage) and
                1 < len({str(x) for x in np.asarray(rdm_d[k]).tolist()}) < n_rdm]
    subject_flag = _flag_value(args.subject_descriptor)
    if subject is None and subject_flag == "auto" and n_rdm > 1:
        if grouping or args.command == "compare":
            why = (f"rdm descriptor(s) {', '.join(repr(k) for k in grouping)} group the {n_rdm} RDMs and may name "
                   "the subjects (units of replication)" if grouping else
                   f"the {n_rdm} RDMs carry no subject descriptor (rdm descriptors: {present}), and a hypothesis "
                   "test needs to know its independent units")
            fix = ("--subject-descriptor none (every RDM its own unit)" if args.command == "compare" else
                   "--subject-descriptor none (all RDMs pooled, bootstrap over conditions)")
            raise CLIError(f"cannot tell which descriptor names the subjects of {args.data}: {why}. Pass "
                           f"--subject-descriptor NAME, or {fix}")
    if subject is not None:
        _progress(f"subjects: rdm descriptor {subject!r} ({_shown_values(data.rdm_descriptors[subject])})")
    elif n_rdm > 1:
        _progress(f"subjects: none ({'--subject-descriptor none' if subject_flag is None else 'no descriptor'}): "
                  + ("every RDM is its own unit" if args.command == "compare" else
                     f"the {n_rdm} RDMs are pooled and intervals bootstrap over conditions"))
    stage_order = None
    if args.stage_order is not None:
        stage_order = [x.strip() for x in args.stage_order.split(",") if x.strip()]
        if stage is None:
            raise CLIError(f"--stage-order was given but no stage descriptor was found in {args.data} (rdm "
                           f"descriptors: {present}); pass --stage-descriptor NAME too")
    if stage is not None:
        vals = np.asarray(data.rdm_descriptors[stage]).tolist()
        text = not all(_is_number(v) for v in vals)
        if text and stage_order is None and len(set(map(str, vals))) > 1:
            uniq = list(dict.fromkeys(map(str, vals)))
            raise CLIError(f"the stages in rdm descriptor {stage!r} of {args.data} are the {len(uniq)} text labels "
                           f"{', '.join(sorted(uniq))} (listed alphabetically, which is not their learning order): "
                           "their learning order cannot be read from them (never alphabetically, nor from the order "
                           "of the RDMs in the file); pass --stage-order with all of them in learning order, the "
                           "first stage measured first (--stage-order FIRST,SECOND,...)")
        _progress(f"stages of learning: rdm descriptor {stage!r} ({_shown_values(vals)})"
                  + (f", in the order {', '.join(stage_order)}" if stage_order else ""))
    elif n_rdm > 1:
        _progress("stages of learning: none (one snapshot); pass --stage-descriptor NAME if the RDMs were measured at "
                  "several stages")
    for k in grouping:
        if subject is not None:
            _progress(f"rdm descriptor {k!r} ({_shown_values(rdm_d[k], 3)}) is taken as repeated measurements "
                      "within subjects (kept together with their subject); pass --stage-descriptor if these are "
                      "stages of learning")
    data, condition = _resolve_conditions(data, task, args)
    labels_from = ("--labels" if getattr(args, "labels", None) is not None else
                   f"the data file (pattern descriptor {condition!r})")
    return data, {"subject": subject, "stage": stage, "condition": condition, "stage_order": stage_order,
                  "labels_from": labels_from}


def _resolve_conditions(data, task, args):
    """The pattern descriptor with the condition labels (``--condition-descriptor`` or found by the task's labels).

    Returns ``(data, name)``.  Data without condition labels (and no ``--labels``) are refused: conditions are
    matched by label, never by position.
    """
    from ..representations.descriptors import LABEL_KEYS

    pat = {k: v for k, v in data.pattern_descriptors.items() if k != "index"}
    flag = getattr(args, "condition_descriptor", None)
    items = set(task.labels)
    if flag is not None:
        if flag not in data.pattern_descriptors:
            raise CLIError(f"--condition-descriptor {flag!r} is not a pattern descriptor of {args.data}; it has "
                           f"{sorted(pat) or 'none (besides index)'}")
        name = flag
    else:
        matching = [k for k, v in pat.items() if {str(x) for x in np.asarray(v).tolist()} <= items
                    and len({str(x) for x in np.asarray(v).tolist()}) == len(v) and len(v) > 1]
        distinct = {tuple(str(x) for x in np.asarray(pat[k]).tolist()) for k in matching}
        if len(distinct) > 1:
            raise CLIError(f"several pattern descriptors of {args.data} hold item labels of the task in different "
                           f"orders ({', '.join(repr(k) for k in matching)}); pass --condition-descriptor with the one "
                           "that labels the conditions")
        labelish = [k for k in pat if k in LABEL_KEYS]
        if matching:
            name = next((k for k in matching if k in LABEL_KEYS), matching[0])
        elif labelish:
            name = labelish[0]  # labels that are not the task's items: the library says which
        elif pat:
            raise CLIError(f"none of the pattern descriptors of {args.data} ({', '.join(map(repr, pat))}) holds the "
                           f"task's item labels ({', '.join(list(task.labels)[:4])} ...); pass --condition-descriptor "
                           "NAME, or --labels, or use the task the data were measured on")
        else:
            raise CLIError(f"data file {args.data} carries no condition labels (a .npy, a CSV without a header row "
                           f"or label column, or an .npz without 'labels'), and conditions are matched to the task's "
                           f"items by label, never by position. Pass --labels with the task item of every row, in the "
                           f"file's order ({data.n_cond} labels, comma-separated, from the pipeline that wrote the "
                           f"file; the task's items, to spell them: {_shown_values(task.labels, 8)}, in the task's "
                           "order, which need not be the file's), or save the RDMs with their labels (an rsatoolbox "
                           ".hdf5 with a pattern descriptor, an .npz with a 'labels' array, or a CSV with a header "
                           "row)")
    vals = np.asarray(data.pattern_descriptors[name]).tolist()
    _progress(f"conditions: pattern descriptor {name!r} ({_shown_values(vals, 4)}"
              f"{', from --labels' if getattr(args, 'labels', None) is not None else ''}), matched to the task's "
              "items by label")
    return data, name


#: Largest number of hidden widths one run compares (over all hypotheses); each is fitted on the full grid.
MAX_WIDTHS = 64


# ----------------------------------------------------------------------------- compare
def _parse_widths(text, task=None):
    """``"1,4,wide,1-3"`` -> ``[1, 4, "wide", [1, 2, 3]]`` (a range is one hypothesis, chosen in each fold).

    Widths are capped before anything is built: at most :data:`MAX_WIDTHS` in all, and (given ``task``) none above
    ``n_in + n_out``, where every network is already wide.
    """
    out = []
    limit = None if task is None else task.n_in + task.n_out
    for tok in str(text).replace(" ", "").split(","):
        if not tok:
            continue
        if tok == "wide":
            out.append("wide")
            continue
        try:
            if "-" in tok:
                a, b = (int(x) for x in tok.split("-", 1))
                if a < 1 or b <= a:
                    raise ValueError
                if b - a + 1 > MAX_WIDTHS:
                    raise CLIError(f"`--widths` range {tok} has {b - a + 1} widths, more than the {MAX_WIDTHS} one run "
                                   "compares; widths above the task's rank behave alike: give e.g. 1-6,wide")
                out.append(list(range(a, b + 1)))
            else:
                h = int(tok)
                if h < 1:
                    raise ValueError
                out.append(h)
        except ValueError:
            raise CLIError(f"`--widths` entries must be positive ints, 'wide', or a range like 1-3 (width chosen "
                           f"inside each fold); got {tok!r} in {text!r}") from None
    if not out:
        raise CLIError("`--widths` is empty; give e.g. 1,4,wide")
    _check_distinct_widths(out, text)
    flat = [w for tok in out if tok != "wide" for w in (tok if isinstance(tok, list) else [tok])]
    if len(flat) > MAX_WIDTHS:
        raise CLIError(f"`--widths` {text!r} lists {len(flat)} widths, more than the {MAX_WIDTHS} one run compares; "
                       "widths above the task's rank behave alike: give e.g. 1-6,wide")
    if limit is not None and flat and max(flat) > limit:
        raise CLIError(f"`--widths`: width {max(flat)} is above n_in + n_out = {limit} of task {task.name}, where "
                       "every network is already wide; use 'wide' (compare) or a width up to that")
    return out


def _check_distinct_widths(widths, text):
    """Refuse a width (or range) listed twice: it would give duplicate rows."""
    seen, rep = [], []
    for w in widths:
        (rep if w in seen and w not in rep else seen).append(w)
    if rep:
        shown = ", ".join(f"{w[0]}-{w[-1]}" if isinstance(w, list) else str(w) for w in rep)
        raise CLIError(f"`--widths` lists {shown} more than once ({text!r}); give each width once")
