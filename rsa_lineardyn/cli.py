"""Command line: ``rsa-lineardyn <subcommand>``; see ``rsa-lineardyn --help``.

Subcommands
-----------
``figure1``     the paper's Figure 1 (gradient descent vs the exact solution);
``trajectory``  predicted RDM trajectories for a bundled or user task
                (-> rsatoolbox hdf5 + PNG);
``fit``         fit hidden width, balance and training time to data RDMs
                (-> CSV table, JSON best fit, PNG);
``compare``     crossvalidated hypothesis test of widths or regimes over subjects
                (-> CSV tables, JSON, PNG);
``demo``        Figure 1 and the semantic development example on the bundled data.

Conventions: outputs are never overwritten without ``--force``; notices (what
runs, whitened inputs, timing) are ``logging`` records of the ``rsa_lineardyn``
logger, which the command line prints on stderr whether or not it is a terminal
(``--quiet``: warnings only; ``--verbose``: also debug records); progress bars
are drawn only when stderr is a terminal (never with ``--quiet``); an error is
one line on stderr and a non-zero exit code (2 for bad usage, 1 otherwise);
``--verbose`` shows the full traceback instead.

The module imports only the standard library and numpy at the top, so that
``rsa-lineardyn --help`` stays fast; each subcommand imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import stat
import sys
import time as _time
import warnings
from pathlib import Path

import numpy as np

from ._log import stderr_is_terminal
from ._validation import RSALinearDynError
from .descriptors import STAGE_NAME

log = logging.getLogger("rsa_lineardyn.cli")

_PACKAGE_DIR = Path(__file__).resolve().parent


def _examples_dir():
    """Folder of the example scripts (thin scripts over :mod:`rsa_lineardyn.demos`, plus ``fit_human_it.py``).

    The repository's ``examples/`` when the package runs from a source checkout
    (``pyproject.toml`` next to the package folder, as in an editable install), else
    the copy wheels and ``pip install .`` place in the package
    (``rsa_lineardyn/_bundled/examples``, see ``[tool.setuptools.package-dir]``).
    The command line itself runs the demo code from :mod:`rsa_lineardyn.demos`.
    """
    repo = _PACKAGE_DIR.parent
    try:
        if (repo / "pyproject.toml").is_file() and (repo / "examples").is_dir():
            return repo / "examples"
    except OSError:  # a folder above the package we may not look into
        pass
    return _PACKAGE_DIR / "_bundled" / "examples"


EXAMPLES_DIR = _examples_dir()

#: Bundled task names accepted by ``trajectory`` and ``fit --task``.
BUNDLED_TASKS = ("semantic", "semantic_item_relation", "92images", "92images_categories", "92images_flags")
#: Prefix of bundled data RDMs for ``fit``: ``92images:hIT`` etc.
BUNDLED_DATA_PREFIX = "92images:"


class CLIError(RSALinearDynError):
    """A user-facing error of the command line (printed as one line)."""


# ----------------------------------------------------------------------------- defaults: one source
#: Where each option's default comes from: ``(command, option dest) -> (module, function, parameter)``.  The value
#: is read from that function's signature (never restated here), so the command line and Python agree.
API_DEFAULTS = {
    ("trajectory", "init"): ("model", "LinearNetworkModel", "init"),
    ("trajectory", "scale"): ("model", "LinearNetworkModel", "scale"),
    ("trajectory", "seed"): ("model", "LinearNetworkModel", "seed"),
    ("trajectory", "representation"): ("model", "LinearNetworkModel", "representation"),
    ("trajectory", "measure"): ("model", "LinearNetworkModel", "measure"),
    ("trajectory", "lam"): ("initialization", "task_aligned_init", "lam"),
    ("fit", "widths"): ("fitting", "fit_rdms", "n_hidden"),
    ("fit", "lam"): ("fitting", "fit_rdms", "lam"),
    ("fit", "method"): ("fitting", "fit_rdms", "method"),
    ("fit", "representation"): ("fitting", "fit_rdms", "representation"),
    ("fit", "measure"): ("fitting", "fit_rdms", "measure"),
    ("fit", "init"): ("fitting", "fit_rdms", "init"),
    ("fit", "n_boot"): ("fitting", "fit_rdms", "n_boot"),
    ("fit", "seed"): ("fitting", "fit_rdms", "random_state"),
    ("fit", "n_draws"): ("fitting", "fit_rdms", "n_draws"),
    ("compare", "widths"): ("hypotheses", "compare_widths", "widths"),
    ("compare", "n_hidden"): ("hypotheses", "compare_regimes", "n_hidden"),
    ("compare", "method"): ("hypotheses", "compare_widths", "method"),
    ("compare", "n_boot"): ("hypotheses", "compare_widths", "n_boot"),
    ("compare", "seed"): ("hypotheses", "compare_widths", "random_state"),
    ("compare", "n_draws"): ("hypotheses", "compare_widths", "n_draws"),
}

_SIGNATURES = {}


def api_default(command, dest):
    """The default of option ``dest`` of ``command``: the default of the parameter in :data:`API_DEFAULTS`.

    Read from the function's source with :mod:`ast` (no import: ``--help`` stays fast); a test checks it against
    ``inspect.signature`` of the imported function.
    """
    import ast

    module, func, param = API_DEFAULTS[(command, dest)]
    key = (module, func)
    if key not in _SIGNATURES:
        try:
            source = (_PACKAGE_DIR / f"{module}.py").read_text(encoding="utf-8")
        except OSError:  # no readable source (bytecode-only install, permissions): the imported signature
            import importlib
            import inspect

            obj = getattr(importlib.import_module(f"rsa_lineardyn.{module}"), func)
            _SIGNATURES[key] = {n: p.default for n, p in inspect.signature(obj).parameters.items()
                                if p.default is not inspect.Parameter.empty}
            return _SIGNATURES[key][param]
        tree = ast.parse(source)
        node = None
        for top in tree.body:
            if isinstance(top, ast.FunctionDef) and top.name == func:
                node = top
            elif isinstance(top, ast.ClassDef) and top.name == func:
                node = next(n for n in top.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
        if node is None:
            raise LookupError(f"{func} not found in rsa_lineardyn/{module}.py")
        a = node.args
        pos = a.posonlyargs + a.args
        found = dict(zip([x.arg for x in pos[len(pos) - len(a.defaults):]], a.defaults))
        found.update({x.arg: d for x, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
        _SIGNATURES[key] = {k: ast.literal_eval(v) for k, v in found.items()
                            if isinstance(v, (ast.Constant, ast.Tuple, ast.List, ast.UnaryOp))}
    return _SIGNATURES[key][param]


def _shown_default(command, dest):
    module, func, param = API_DEFAULTS[(command, dest)]
    value = api_default(command, dest)
    if isinstance(value, (tuple, list)):
        value = ",".join(map(str, value))
    return f"default {value}, as {func}'s {param}"


# ----------------------------------------------------------------------------- helpers
def _progress(msg):
    """A notice: an INFO record of the package logger (the CLI prints it on stderr unless --quiet)."""
    log.info(msg)


class _StderrHandler(logging.Handler):
    """Writes records to the current ``sys.stderr`` (looked up at each record, so redirections apply)."""

    def emit(self, record):
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging's own convention
            self.handleError(record)


class _Formatter(logging.Formatter):
    def format(self, record):
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            msg = f"{record.levelname.lower()}: {msg}"
        elif record.levelno < logging.INFO:
            msg = f"debug ({record.name}): {msg}"
        return f"[rsa-lineardyn] {msg}"


def _verbosity(args):
    """``"quiet"``, ``"normal"`` or ``"verbose"`` from the parsed ``--quiet`` / ``--verbose`` flags."""
    if getattr(args, "quiet", False):
        return "quiet"
    return "verbose" if getattr(args, "verbose", False) else "normal"


def _configure_logging(verbosity):
    """Attach a stderr handler to the ``rsa_lineardyn`` logger; returns a function that undoes it.

    ``normal``: INFO and above (the notices); ``quiet``: WARNING and above; ``verbose``: DEBUG and above.
    Python warnings shown during the run become one-line WARNING records of the ``py.warnings``
    logger too (``Category: message``, line breaks folded).  The records do not propagate to the root logger while the
    command runs (no duplicates when a program that called :func:`main` configured logging itself).
    """
    level = {"quiet": logging.WARNING, "normal": logging.INFO, "verbose": logging.DEBUG}[verbosity]
    handler = _StderrHandler(level)
    handler.setFormatter(_Formatter())
    loggers = [logging.getLogger("rsa_lineardyn"), logging.getLogger("py.warnings")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(level)
        lg.propagate = False
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        loggers[1].warning("%s: %s", category.__name__, text)

    warnings.showwarning = show

    def undo():
        warnings.showwarning = shown
        for lg, (lvl, prop) in zip(loggers, saved):
            lg.removeHandler(handler)
            lg.setLevel(lvl)
            lg.propagate = prop

    return undo


def _show_progress(args):
    """Progress bars for this run: only when stderr is a terminal, and never with ``--quiet``."""
    return _verbosity(args) != "quiet" and stderr_is_terminal()


def _check_outputs(paths, force):
    """Refuse to overwrite existing files unless ``force`` (before any work); create parent folders."""
    from .outputs import check_new

    check_new(paths, force)
    for p in paths:
        Path(p).parent.mkdir(parents=True, exist_ok=True)


def _load_example(name):
    """The demo module ``name`` (``figure1``, ``semantic_development``): code inside the package."""
    import importlib

    return importlib.import_module(f"rsa_lineardyn.demos.{name}")


#: Largest input file the command line reads (a data, task or .npz member): above it the work would not fit in
#: memory anyway.  Python users with larger data select RDMs first and call the functions directly.
MAX_INPUT_BYTES = 2**30


def _existing_file(path, what):
    """``path`` as a Path to an existing, readable regular file of at most :data:`MAX_INPUT_BYTES` bytes.

    The type and size are checked before the file is opened: a FIFO, a device or a folder is refused, never read
    (opening a FIFO would wait forever for a writer).  Errors are one-line CLIErrors naming the argument.
    """
    from ._validation import check_path, format_bytes

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
            raise CLIError(f"could not read task file {p} as CSV: {_one_line(exc)}") from None
        # a header row is detected, not assumed: a first row of numbers (after the label) is an item, not names
        has_header = raw.shape[0] > 0 and not all(_is_number(v) for v in raw.iloc[0, 1:])
        body = raw.iloc[1:] if has_header else raw
        columns = [str(c) for c in raw.iloc[0, 1:]] if has_header else [f"feature_{j + 1}"
                                                                        for j in range(raw.shape[1] - 1)]
        try:
            df = pd.DataFrame(body.iloc[:, 1:].to_numpy(dtype=float), index=[str(x) for x in body.iloc[:, 0]],
                              columns=columns)
        except ValueError:
            raise CLIError(f"task file {p}: every column after the item labels must hold numbers (target features); "
                           "some entries are not numbers") from None
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


def _npz_member_sizes(path, what):
    """Declared sizes (bytes) of the arrays in an .npz, read from the zip and .npy headers only (nothing inflated).

    Refuses an archive whose members declare more than :data:`MAX_INPUT_BYTES` in all (an ".npz bomb": a tiny
    file that inflates to gigabytes), object arrays (they would need pickle) and members that are not .npy files.
    """
    import zipfile

    from ._validation import format_bytes

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
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# ----------------------------------------------------------------------------- data RDMs
def load_data_rdms(spec, labels=None, trust_pickle=False):
    """Data RDMs from a file (.npy, .npz, .csv, .hdf5/.h5, .pkl) or a bundled name ``92images:<which>``.

    The file's own descriptors are kept: an rsatoolbox .hdf5 (or trusted .pkl) keeps its rdm, pattern and
    object descriptors; an .npz keeps every 1-D array with one entry per RDM as an rdm descriptor and one with
    one entry per condition as a pattern descriptor (``labels`` is the condition labels).  Matrices go through
    :func:`rsa_lineardyn.make_rdms` (checked square, symmetric, zero diagonal).  ``labels`` (list) names the
    conditions of a file that carries none (pattern descriptor ``item``).

    A .pkl file is unpickled only with ``trust_pickle=True`` (unpickling runs code named in the file).
    """
    import rsa_lineardyn as rl

    if isinstance(spec, str) and spec.startswith(BUNDLED_DATA_PREFIX):
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
            raise CLIError(f"could not read data file {p} as rsatoolbox RDMs: {_one_line(exc)}") from None
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
        from .descriptors import LABEL_KEYS

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
        if name == "labels" and arr.size == n_cond:
            pattern_desc["item"] = [str(x) for x in values]
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
    return rdm_desc, pattern_desc


def _read_matrix_csv(path):
    """A square matrix from CSV, with or without a header row and label column."""
    import pandas as pd

    try:
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise CLIError(f"could not read data file {path} as CSV: {_one_line(exc)}") from None

    def numeric(v):
        try:
            float(v)
            return True
        except ValueError:
            return False

    has_header = not all(numeric(v) for v in raw.iloc[0, 1:])
    has_index = not all(numeric(v) for v in raw.iloc[1 if has_header else 0:, 0])
    body = raw.iloc[1 if has_header else 0:, 1 if has_index else 0:]
    try:
        D = body.to_numpy(dtype=float)
    except ValueError:
        raise CLIError(f"data file {path} must hold a numeric matrix (optionally with a header row and a label "
                       "column); some entries are not numbers") from None
    labels = None
    if has_index:
        labels = [str(x) for x in raw.iloc[1 if has_header else 0:, 0]]
    elif has_header:
        labels = [str(x) for x in raw.iloc[0, :]]
    return D, labels


# ----------------------------------------------------------------------------- figure1 / demo
def cmd_figure1(args):
    out = Path(args.out_dir) / "figure1.png"
    _check_outputs([out], args.force)
    _progress("simulating gradient descent at 3 learning rates and 3 balances ...")
    _figure1(out, args.lr, args.force)
    return 0


def _figure1(out, lr, force, **kwargs):
    """Compute Figure 1, check simulation against theory, and only then write the PNG (nothing on failure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mod = _load_example("figure1")
    fig, worst = mod.make_figure(lr=lr, **kwargs)
    try:
        first = max(v[0] for v in worst.values())
        if not first < 0.1:
            raise CLIError(f"simulation and theory differ by {first:.3g} (> 0.1) at --lr {lr:g}; no figure written; "
                           "try a smaller --lr")
        mod._save_new(fig, out, force)
    finally:
        plt.close(fig)
    print(f"Figure 1 written to {out} (largest |QQ^T_sim - QQ^T_exact| at lr = {lr:g}: {first:.3e})")
    return first


def cmd_demo(args):
    out_dir = Path(args.out_dir)
    sem = _load_example("semantic_development")
    names = ["figure1.png"] + [f"semantic_rdms_{r}.png" for r in sem.regimes()] + [
        "semantic_modes.png", "semantic_rdm_trajectories.png"]
    _check_outputs([out_dir / n for n in names], args.force)
    from .outputs import staged_folder

    # every figure is drawn into a temporary folder beside the targets and moved into place only when all succeeded
    with staged_folder(out_dir, names, args.force) as stage:
        print("== 1/2  Figure 1: gradient descent vs the exact solution ==")
        _progress("Figure 1 ...")
        f1_kwargs = {"t_max": 4.0} if args.quick else {}
        f1 = {"max_deviation": _figure1(stage / "figure1.png", args.lr, True, **f1_kwargs)}
        print("\n== 2/2  Semantic development: hidden representations, rich vs lazy, bottleneck vs wide ==")
        _progress("semantic development (about 20 s) ...")
        sem_kwargs = {"widths": (1, 16), "n_times": min(args.n_times, 40)} if args.quick else {"n_times": args.n_times}
        res = sem.run(out_dir=stage, force=True, **sem_kwargs)
    print(f"wrote {len(names)} figures to {out_dir}")
    worst = max(f1["max_deviation"], res["max_sim_deviation"])
    print(f"\nlargest simulation-vs-theory deviation: {worst:.3e} "
          f"(Figure 1, gradient descent lr = {args.lr:g}, max |QQ^T_sim - QQ^T_exact|: {f1['max_deviation']:.3e}; "
          f"semantic, gradient flow, relative hidden-RSM error: {res['max_sim_deviation']:.3e})")
    return 0


# ----------------------------------------------------------------------------- trajectory
def _default_times(task, scale, n_times):
    s = task.singular_values
    s = s[s > 1e-12 * max(s[0], 1e-300)] if s.size else s
    if s.size == 0:
        raise CLIError("the task's targets are all zero (Syx = 0): there is nothing to learn")
    a0 = scale**2
    t_hi = (np.log(max(s[0] / a0, np.e)) + 5.0) / (2.0 * s[-1])
    t_lo = 0.05 / s[0]
    return np.concatenate([[0.0], np.logspace(np.log10(t_lo), np.log10(t_hi), n_times - 2), [np.inf]])


def _initial_weights(task, args):
    import rsa_lineardyn as rl

    if args.init == "aligned":
        return rl.task_aligned_init(task, n_hidden=args.n_hidden, lam=args.lam, scale=args.scale)
    return rl.balanced_init(task.n_in, args.n_hidden, task.n_out, lam=args.lam, scale=args.scale, seed=args.seed)


def cmd_trajectory(args):
    import rsa_lineardyn as rl

    from ._validation import MAX_WIDTH, check_grid_size, check_lam, check_positive_int, check_scale

    check_scale(args.scale, "--scale")
    check_lam(args.lam, "--lam")
    check_grid_size(args.n_times, "--n-times", minimum=3)
    _check_run_numbers(args)
    times = None
    if args.times is not None:
        from ._validation import MAX_GRID, check_times

        times = check_times(_parse_list(args.times, "--times"), "--times")
        if times.size > MAX_GRID:
            raise CLIError(f"`--times` has {times.size} values; at most {MAX_GRID} are accepted")
    if args.n_hidden is not None:
        check_positive_int(args.n_hidden, "--n-hidden", maximum=MAX_WIDTH,
                           why="the weights would not fit in memory; any width >= n_in + n_out is already 'wide'")
    task = load_task(args.task)
    prefix = _check_prefix(args.prefix or task.name)
    out_dir = Path(args.out_dir)
    h5, png = out_dir / f"{prefix}_rdms.hdf5", out_dir / f"{prefix}_rdms.png"
    _check_outputs([h5, png], args.force)
    if args.n_hidden is None:
        args.n_hidden = min(task.n_in, task.n_out)
    if times is None:
        if args.n_times < 3:
            raise CLIError(f"--n-times must be >= 3, got {args.n_times}")
        times = _default_times(task, args.scale, args.n_times)
    _progress(f"exact dynamics of {task!r} with n_hidden = {args.n_hidden}, lam = {args.lam:g} at {times.size} times")
    W1, W2 = _initial_weights(task, args)
    traj = rl.exact_dynamics(task, W1, W2, times)
    rdms = rl.to_rdms(traj, args.representation, args.measure,
                      descriptors={"init": args.init, "scale": args.scale, "seed": -1 if args.seed is None else args.seed})
    def save_h5(tmp):
        tmp.unlink()  # rsatoolbox refuses to write over a file, even the empty temporary one
        save_rdms_hdf5(rdms, tmp)

    _atomic_write([(h5, save_h5), (png, lambda tmp: _plot_trajectory(traj, rdms, tmp))], args.force)
    print(f"{rdms.n_rdm} predicted RDMs ({args.representation}, {rdms.dissimilarity_measure}) of {task.name} "
          f"(P = {task.P}, n_hidden = {args.n_hidden}, lam = {args.lam:g}, init = {args.init})")
    print(f"wrote {h5}  (read with rsatoolbox.rdm.load_rdm)")
    print(f"wrote {png}")
    return 0


def save_rdms_hdf5(rdms, path):
    """``rdms.save(path, file_type="hdf5")``, but text descriptors with non-ASCII characters survive.

    rsatoolbox stores text arrays as ASCII bytes (``astype('S')``: an ascii codec error on ``"Bär"``); here such
    descriptors are written as UTF-8 string attributes, which ``rsatoolbox.rdm.load_rdm`` reads back as text.
    """
    from rsatoolbox.io.hdf5 import write_dict_hdf5

    def fix(d):
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out[k] = fix(v)
            elif isinstance(v, np.ndarray) and v.dtype.kind == "U" and v.ndim == 1 and v.size and \
                    not all(str(x).isascii() for x in v):
                out[k] = tuple(str(x) for x in v)  # a sequence of str: stored as UTF-8 attributes
            else:
                out[k] = v
        return out

    write_dict_hdf5(str(path), fix(rdms.to_dict()))


def _plot_trajectory(traj, rdms, out=None, n_snap=5):
    """The ``trajectory`` PNG: RDM snapshots with item (or category) labels and the singular values of W2 W1.

    Written to ``out``; with ``out=None`` the matplotlib Figure is returned instead.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = traj.times
    order = np.argsort(times)
    pick = order[np.unique(np.linspace(0, times.size - 1, min(n_snap, times.size)).round().astype(int))]
    D = rdms.get_matrices()
    labels = [str(x) for x in rdms.pattern_descriptors.get("item", range(rdms.n_cond))]
    n = len(pick)
    fig, axes = plt.subplots(1, n + 1, figsize=(3.1 * n + 4.4, 3.9), layout="constrained")
    show_labels = len(labels) <= 24
    cats = rdms.pattern_descriptors.get("category")
    if cats is None and not show_labels:
        cats = _label_groups(labels)
    measure = f"{_measure_name(rdms.dissimilarity_measure)} distance"
    for ax, k in zip(axes, pick):
        top = float(np.max(D[k]))
        im = ax.imshow(D[k] / top if top > 0 else D[k], cmap="viridis", vmin=0, vmax=1)
        when = r"t = $\infty$" if not np.isfinite(times[k]) else f"t = {times[k]:.3g}"
        ax.set_title(f"{when}, max {top:.3g}", fontsize=9)
        if show_labels:
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(labels)))
            ax.set_yticklabels(labels if ax is axes[0] else [], fontsize=6)
        elif cats is not None:  # many items: label the category blocks
            _category_ticks(ax, [str(c) for c in cats], first=ax is axes[0])
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    cb = fig.colorbar(im, ax=list(axes[:n]), shrink=0.8, pad=0.01)
    cb.set_label(f"{measure} / panel max", fontsize=8)
    cb.ax.tick_params(labelsize=6)
    ax = axes[-1]
    fin = np.isfinite(times) & (times > 0)
    if not fin.any():  # e.g. --times 0 or 0,inf: no time to put on a log axis
        ax.text(0.5, 0.5, "no finite time t > 0\nto plot", ha="center", va="center", transform=ax.transAxes)
        fin = None
    sv = np.linalg.svd(traj.w2w1, compute_uv=False)
    s = traj.task.singular_values
    shown = min(sv.shape[1], 10) if fin is not None else 0
    for k in range(shown):
        line, = ax.plot(times[fin][np.argsort(times[fin])], sv[fin][np.argsort(times[fin]), k], lw=1.5,
                        label=f"mode {k + 1}")
        if k < s.size:
            ax.axhline(s[k], color=line.get_color(), ls="--", lw=0.7)
    if fin is not None:
        ax.set_xscale("log")
    ax.set_xlabel(r"training time t (units of $\tau$)")
    ax.set_ylabel("singular value", fontsize=8)
    ax.set_title("singular values of $W_2W_1(t)$\n(dashed: those of $\\Sigma_{yx}$, the targets)", fontsize=9)
    if shown:
        ax.legend(fontsize=6, loc="lower right", ncol=2 if shown > 5 else 1)
    fig.suptitle(f"{traj.task.name}: predicted {rdms.rdm_descriptors['representation'][0]} RDMs "
                 f"({rdms.dissimilarity_measure}), $N_h$ = {traj.n_hidden}, $\\lambda$ = {traj.lam:g}; "
                 r"t in units of $\tau$; colour scaled per panel", fontsize=10)
    if out is None:
        return fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


def _measure_name(measure):
    """Readable name of a dissimilarity measure for axis labels (the package's "euclidean" is squared)."""
    return {"euclidean": "squared Euclidean", "squared euclidean": "squared Euclidean"}.get(measure, str(measure))


def _label_groups(labels, max_groups=24):
    """Groups of item labels that differ only by a trailing number (``human_body_00`` -> ``human_body``).

    ``None`` unless that gives at most ``max_groups`` runs of equal groups (labels for the blocks of a large RDM).
    """
    import re

    groups = [re.sub(r"[_\s.-]*\d+$", "", str(x)) or str(x) for x in labels]
    runs = sum(1 for i in range(len(groups)) if i == 0 or groups[i] != groups[i - 1])
    return groups if runs <= max_groups and runs < len(groups) else None


def _category_ticks(ax, cats, first=True):
    """Ticks at the centres of runs of equal category labels (e.g. the 92 images); y labels only if ``first``."""
    n = len(cats)
    starts = [i for i in range(n) if i == 0 or cats[i] != cats[i - 1]]
    centres = [(a + b - 1) / 2 for a, b in zip(starts, starts[1:] + [n])]
    ax.set_xticks(centres)
    ax.set_xticklabels([cats[a] for a in starts], rotation=90, fontsize=6)
    ax.set_yticks(centres)
    ax.set_yticklabels([cats[a] for a in starts] if first else [], fontsize=6)


# ----------------------------------------------------------------------------- fit
def _data_and_task(args):
    """Data RDMs, the task and the descriptors, as ``fit`` and ``compare`` read them.

    Returns ``(data, task, design)``; ``design`` holds the descriptor names passed to the library
    (``subject``, ``stage``, ``condition``) and ``stage_order`` (see :func:`_resolve_descriptors`).
    """
    labels = None
    if args.labels is not None:
        labels = [x.strip() for x in args.labels.split(",")]
    data = load_data_rdms(args.data, labels, trust_pickle=getattr(args, "trust_pickle", False))
    task_spec = args.task
    if task_spec is None:
        if args.data.startswith(BUNDLED_DATA_PREFIX):
            task_spec = "92images"
        else:
            raise CLIError("--task is required: the bundled task name or a .csv/.npz task file the network learns")
    task = load_task(task_spec)
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
            raise CLIError(f"the stages in rdm descriptor {stage!r} of {args.data} are text labels {sorted(uniq)}: "
                           "their learning order cannot be read from them (never alphabetically); pass --stage-order "
                           f"with them in learning order, e.g. --stage-order {','.join(uniq)}")
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
    return data, {"subject": subject, "stage": stage, "condition": condition, "stage_order": stage_order}


def _resolve_conditions(data, task, args):
    """The pattern descriptor with the condition labels (``--condition-descriptor`` or found by the task's labels).

    Returns ``(data, name)``; ``data`` gets labels ``item`` in task order when the file carries none and its
    size matches the task (logged).
    """
    import rsa_lineardyn as rl
    from .descriptors import LABEL_KEYS

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
            if data.n_cond != task.P:
                raise CLIError(f"the data RDMs have {data.n_cond} conditions but the task has {task.P} items; "
                               "give the data item labels (--labels) or a matching task")
            _progress(f"conditions: {args.data} carries no condition labels: its {data.n_cond} conditions are taken "
                      "as the task's items in task order (pass --labels to say otherwise)")
            return rl.make_rdms(data.get_matrices(), labels=list(task.labels),
                                dissimilarity_measure=data.dissimilarity_measure,
                                rdm_descriptors={k: v for k, v in data.rdm_descriptors.items() if k != "index"},
                                descriptors=dict(data.descriptors) or None), "item"
    vals = np.asarray(data.pattern_descriptors[name]).tolist()
    _progress(f"conditions: pattern descriptor {name!r} ({_shown_values(vals, 4)}), matched to the task's items "
              "by label")
    return data, name


def _prefix(args):
    """``--prefix``, else derived from the whole input name, so inputs never share outputs.

    ``92images:hIT`` -> ``92images_hIT``; a file ``rdm.npy`` -> ``rdm_npy`` (``rdm.csv`` -> ``rdm_csv``).
    """
    if args.prefix:
        return _check_prefix(args.prefix)
    name = args.data.replace(":", "_") if args.data.startswith(BUNDLED_DATA_PREFIX) else Path(args.data).name
    return _check_prefix(name.replace(".", "_"))


def _check_prefix(prefix):
    """A file name prefix that keeps outputs inside --out-dir (no folders, not '.' or '..')."""
    if Path(prefix).name != prefix or prefix in ("", ".", "..") or "/" in prefix or "\\" in prefix:
        raise CLIError(f"--prefix must be a plain file name prefix (no folders), got {prefix!r}")
    return prefix


def fit_kwargs(args, design):
    """Keyword arguments of ``rl.fit_rdms``, ``rl.compare_widths`` and ``rl.compare_regimes`` (the same names in
    Python) from the parsed options and the resolved descriptors."""
    kw = {"subject_descriptor": design["subject"], "stage_descriptor": design["stage"],
          "condition_descriptor": design["condition"], "stage_order": design["stage_order"],
          "n_boot": args.n_boot, "random_state": args.seed}
    if args.n_draws is not None:
        kw["n_draws"] = args.n_draws
    return kw


compare_kwargs = fit_kwargs  # the tests take the same data-in options under the same names


def _check_run_numbers(args):
    """Seeds, bootstrap and draw counts: checked before any file is read (one-line errors naming the flag)."""
    from ._validation import MAX_BOOT, MAX_GRID, check_positive_int

    if getattr(args, "seed", None) is not None:
        check_positive_int(args.seed, "--seed", minimum=0, maximum=2**63 - 1,
                           why="seeds are stored as 64-bit integers; any smaller non-negative integer will do")
    if getattr(args, "n_boot", None) is not None:
        check_positive_int(args.n_boot, "--n-boot", minimum=0, maximum=MAX_BOOT,
                           why="a few hundred to a few thousand samples are typical")
    if getattr(args, "n_draws", None) is not None:
        check_positive_int(args.n_draws, "--n-draws", minimum=1, maximum=MAX_GRID,
                           why="each draw is one exact solve; 16 to 64 are typical")


def _default_fit_widths(task):
    """rl.fit_rdms's n_hidden=None, spelled out for the table: 1 ... rank(task) and one wide network."""
    r = max(task.rank(), 1)
    wide = max(task.n_in, task.n_out)
    return list(range(1, r + 1)) + ([wide] if wide > r else [])


#: Largest number of hidden widths one run compares (over all hypotheses); each is fitted on the full grid.
MAX_WIDTHS = 64


def _check_memory(n_widths, task, data, command, text):
    """Estimate the prediction grids of ``n_widths`` widths before any work; refuse beyond the memory budget."""
    import inspect

    import rsa_lineardyn as rl
    from ._validation import check_memory

    func = rl.fit_rdms if command == "fit" else rl.evaluate_hypotheses
    params = inspect.signature(func).parameters
    n_times, n_lam = params["n_times"].default, params["n_lam"].default
    n_pairs = data.n_cond * (data.n_cond - 1) // 2
    try:
        check_memory(float(n_widths) * n_times * n_lam * max(n_pairs, 1),
                     f"--widths {text or '(default)'}: {n_widths} width(s) x {n_lam} lam x {n_times} times x "
                     f"{n_pairs} dissimilarities of predictions",
                     "Give fewer widths (widths above the task's rank behave alike; 'wide' stands for all of them).")
    except rl.InputValueError as exc:
        raise CLIError(_one_line(exc)) from None


def cmd_fit(args):
    import pandas as pd

    import rsa_lineardyn as rl
    from .fitting import format_interval

    _check_run_numbers(args)
    if args.widths is not None:  # syntax, duplicates and caps before any file is read
        _check_distinct_widths([w for tok in _parse_widths(args.widths, allow_wide=False) for w in
                                (tok if isinstance(tok, list) else [tok])], args.widths)
    data, task, design = _data_and_task(args)
    prefix = _prefix(args)
    out_dir = Path(args.out_dir)
    csv_path, json_path, png = (out_dir / f"{prefix}_fit.csv", out_dir / f"{prefix}_best.json",
                                out_dir / f"{prefix}_fit.png")
    _check_outputs([csv_path, json_path, png], args.force)
    if args.widths is None:
        widths = _default_fit_widths(task)
    else:
        widths = [w for tok in _parse_widths(args.widths, task, allow_wide=False) for w in
                  (tok if isinstance(tok, list) else [tok])]
        _check_distinct_widths(widths, args.widths)
    _check_memory(len(widths), task, data, "fit", args.widths)
    item_order = data
    _progress(f"fitting n_hidden in {widths} with rl.fit_rdms ...")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rl.DegeneracyWarning)
            res = rl.fit_rdms(data, task, n_hidden=widths, lam=args.lam, method=args.method, init=args.init,
                              representation=args.representation, measure=args.measure,
                              **fit_kwargs(args, design),
                              start_check=None if args.no_start_check else "widen",
                              progress=_show_progress(args))
    except (rl.InputValueError, rl.InputTypeError) as exc:
        raise CLIError(_one_line(exc)) from None
    # one row per width: its best grid candidate; the overall best row is the refined optimum
    cand = res.table
    rows = []
    for h in widths:
        sub = cand[cand.n_hidden == h]
        if sub.empty or not np.isfinite(sub.score).any():
            raise CLIError(f"n_hidden = {h}: no feasible prediction with a defined {args.method!r} score")
        r = res.best if h == res.best["n_hidden"] else sub.loc[sub.score.idxmax()].to_dict()
        stage_times = {k: float(v) for k, v in r.items() if str(k).startswith("time[")}
        # several stages: the table shows every stage's time; "time" is the last stage's (the figure shows it)
        t_last = float(r["time"]) if "time" in r else list(stage_times.values())[-1]
        rows.append({"n_hidden": h, "lam": float(r["lam"]), "time": t_last,
                     "log10_time": float(np.log10(t_last)), "scale": float(r["scale"]),
                     **{k: float(r[k]) for k in ("rate", "offset") if k in r and not stage_times == {}},
                     **stage_times,
                     "score": float(r["score"]), "method": args.method, "representation": args.representation,
                     "measure": args.measure})
    table = pd.DataFrame(rows)
    best_i = int(np.argmax(table.score.to_numpy()))
    best = table.iloc[best_i].to_dict()
    best = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        from .descriptors import with_condition_labels

        model = rl.LinearNetworkModel(task, n_hidden=int(best["n_hidden"]), init=res.settings["init"],
                                      representation=args.representation,
                                      measure=args.measure, lam=args.lam, scale=best["scale"],
                                      item_order=with_condition_labels(item_order, design["condition"]),
                                      name=f"N_h={int(best['n_hidden'])}")
    model.theta_ = np.array(([best["lam"]] if model.lam is None else []) + [best["log10_time"]])
    iv = res.intervals
    intervals = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                 for r in iv.to_dict(orient="records")]
    intervals = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                 for r in intervals]
    info = {"best": best, "intervals": intervals, "level": float(res.settings["ci"]),
            "bootstrap_over": res.settings["bootstrap_over"], "n_boot": int(args.n_boot), "seed": args.seed,
            "subject_descriptor": design["subject"], "stage_descriptor": design["stage"],
            "condition_descriptor": design["condition"], "stage_order": design["stage_order"],
            "flat_tol": float(res.settings["flat_tol"]), "data": str(args.data), "n_rdm": int(data.n_rdm),
            "n_cond": int(data.n_cond), "task": task.name, "widths": widths, "fitter": "rsa_lineardyn.fit_rdms",
            "init": res.settings["init"], "start_check": res.settings.get("start_check"),
            "other_init": res.settings.get("other_init"),
            "messages": list(res.messages), "table": str(csv_path)}
    undetermined = [str(r.parameter) for r in iv.itertuples() if not r.determined]
    _atomic_write([(csv_path, lambda p: table.to_csv(p, index=False)),
                   (json_path, lambda p: p.write_text(json.dumps(info, indent=2))),
                   (png, lambda p: _plot_fit(with_condition_labels(data, design["condition"]), model, table, p,
                                             args.method, undetermined))], args.force)
    with_pd = table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    print(_start_line(res.settings["init"], res.settings.get("other_init")))
    print(with_pd)
    print(f"best ({args.method} = {best['score']:.4f}; {100 * res.settings['ci']:.0f}% intervals, bootstrap over "
          f"{res.settings['bootstrap_over'] or 'nothing (--n-boot 0)'}):")
    for r in iv.itertuples():
        print("  " + format_interval(r.parameter, r.estimate, r.low, r.high, r.determined, r.reason))
    for p in (csv_path, json_path, png):
        print(f"wrote {p}")
    return 0


# ----------------------------------------------------------------------------- compare
def _parse_widths(text, task=None, allow_wide=True):
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
            if not allow_wide:
                raise CLIError("`--widths`: 'wide' is for `compare`; `fit` takes numbers (its default includes a "
                               "wide network)")
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


def _atomic_write(items, force):
    """All outputs of a run or none (see :mod:`rsa_lineardyn.outputs`)."""
    from .outputs import write_outputs

    write_outputs(items, force)


def _records(df):
    recs = df.to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else (v.item() if hasattr(v, "item") else v))
             for k, v in r.items()} for r in recs]


def cmd_compare(args):
    import rsa_lineardyn as rl

    from ._validation import check_comparison_method

    _check_run_numbers(args)
    try:
        check_comparison_method(args.method, "--method")
    except rl.InputValueError as exc:
        raise CLIError(_one_line(exc)) from None
    drawable = _plottable(args.method)
    if not args.regimes:
        _parse_widths(args.widths)  # syntax and caps before any file is read
    data, task, design = _data_and_task(args)
    kw = dict(method=args.method, init=args.init, progress=_show_progress(args), **compare_kwargs(args, design))
    prefix = _prefix(args)
    out_dir = Path(args.out_dir)
    kind = "regimes" if args.regimes else "widths"
    csv_path, pw_path, json_path, png = (out_dir / f"{prefix}_compare_{kind}.csv",
                                         out_dir / f"{prefix}_compare_{kind}_pairwise.csv",
                                         out_dir / f"{prefix}_compare_{kind}.json",
                                         out_dir / f"{prefix}_compare_{kind}.png")
    outputs = [csv_path, pw_path, json_path] + ([png] if drawable else [])
    if not drawable:
        log.warning("no figure: rsatoolbox's plot_model_comparison cannot draw --method %s; the tables and JSON are "
                    "written (pick e.g. corr or cosine for a figure)", args.method)
    _check_outputs(outputs, args.force)
    if args.regimes:
        if args.n_hidden is not None:
            from ._validation import MAX_WIDTH, check_positive_int

            check_positive_int(args.n_hidden, "--n-hidden", maximum=min(MAX_WIDTH, task.n_in + task.n_out),
                               why="every network is already wide at n_in + n_out")
    else:
        widths = _parse_widths(args.widths, task)
        n_w = len({w for tok in widths for w in (tok if isinstance(tok, list) else [tok])})
        _check_memory(n_w, task, data, "compare", args.widths)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rl.DegeneracyWarning)
            if args.regimes:
                _progress(f"rl.compare_regimes (n_hidden = {args.n_hidden or 'rank of the task'}) ...")
                res = rl.compare_regimes(data, task, n_hidden=args.n_hidden, **kw)
            else:
                _progress(f"rl.compare_widths with widths {widths} ...")
                res = rl.compare_widths(data, task, widths=widths, **kw)
    except (rl.InputValueError, rl.InputTypeError) as exc:
        raise CLIError(_one_line(exc)) from None
    table = res.table
    cols = [c for c in ("model", "mean", "ci_low", "ci_high", "n_units", "dof", "variance_method") if c in table]
    pcols = [c for c in ("model_a", "model_b", "mean_diff", "p", "dof", "variance_method") if c in res.pairwise]
    print(_start_line(args.init))
    print(f"crossvalidated {args.method} over {res.settings['n_units']} units ({res.settings['unit_descriptor']!r}), "
          f"{res.settings['cv']}; {res.settings['n_stages']} stage(s); {int(100 * res.settings.get('ci', 0.95))}% "
          "t intervals")
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    order = {m: i for i, m in enumerate(table["model"])}
    once = res.pairwise[[order[a] < order[b] for a, b in zip(res.pairwise["model_a"], res.pairwise["model_b"])]]
    print("pairwise (each pair once; two-sided, H0: equal mean crossvalidated score):")
    print(once[pcols].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    for m in res.messages:
        print(f"note: {m}")
    info = {"kind": kind, "data": str(args.data), "task": task.name, "init": args.init, "method": args.method,
            "n_boot": int(args.n_boot), "seed": args.seed, "widths": None if args.regimes else args.widths,
            "subject_descriptor": design["subject"], "stage_descriptor": design["stage"],
            "condition_descriptor": design["condition"],
            "n_hidden": args.n_hidden if args.regimes else None, "table": _records(table),
            "pairwise": _records(res.pairwise), "messages": list(res.messages),
            "settings": {k: v for k, v in res.settings.items() if isinstance(v, (str, int, float, bool, type(None)))},
            "csv": str(csv_path), "pairwise_csv": str(pw_path), "figure": str(png) if drawable else None}

    def write_png(path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, _, _ = rl.plot_hypotheses(res)
        fig.suptitle(f"{args.data}: {kind} ({args.method}, init = {args.init})", fontsize=10)
        fig.savefig(path, dpi=110, format="png", bbox_inches="tight")
        plt.close(fig)

    _atomic_write([(csv_path, lambda p: table.to_csv(p, index=False)),
                   (pw_path, lambda p: res.pairwise.to_csv(p, index=False)),
                   (json_path, lambda p: p.write_text(json.dumps(info, indent=2, default=str)))]
                  + ([(png, write_png)] if drawable else []), args.force)
    for p in outputs:
        print(f"wrote {p}")
    return 0


def _plottable(method):
    """Whether rsatoolbox's ``plot_model_comparison`` can draw results of ``method`` (it has a y label for it)."""
    try:
        from rsatoolbox.vis.model_plot import _get_y_label
    except ImportError:  # another rsatoolbox layout: the methods its plot labels today
        return method in ("cosine", "cosine_cov", "spearman", "corr", "corr_cov", "kendall", "tau-b", "tau-a",
                          "neg_riem_dist", "rho-a")
    try:
        _get_y_label(method)
    except ValueError:
        return False
    return True


_START_TEXT = {
    "random": "the expected geometry over random lambda-balanced starts (a learner from unknown small weights)",
    "aligned": "a task-aligned start (the task's modes are present, small, at t = 0)",
    "average": "the average geometry over random lambda-balanced starts",
}


def _start_line(init, other=None):
    line = f"start: init = {init!r}: the predictions assume {_START_TEXT.get(init, init)}"
    if other is not None:
        line += f"; intervals widened by a refit under init = {other!r}"
    return line


def _plot_fit(data, model, table, out, method, undetermined=()):
    """The ``fit`` PNG: data and best-fit RDMs with labels and colour-bar labels, and the score per width.

    Written to ``out``; with ``out=None`` the matplotlib Figure is returned instead.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.spatial.distance import squareform

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8))
    dm = data.get_matrices().mean(axis=0)
    pred = squareform(model.predict(), checks=False)
    par = model.params()
    labels = None
    for key in ("item", "conds", "label", "labels", "condition", "conditions", "stimulus"):
        if key in data.pattern_descriptors:
            labels = [str(x) for x in data.pattern_descriptors[key]]
            break
    cats = data.pattern_descriptors.get("category")
    if cats is None and labels is not None and len(labels) > 40:
        cats = _label_groups(labels)
    data_cb = f"data dissimilarity ({data.dissimilarity_measure})" if data.dissimilarity_measure else \
        "data dissimilarity (as given)"
    for ax, D, title, cb in ((axes[0], dm, f"data (mean of {data.n_rdm} RDM(s))", data_cb),
                             (axes[1], pred, f"best fit: {model.name}, $\\lambda$ = {par['lam']:.3g}, "
                              f"t = {par['time']:.3g} $\\tau$, init = {model.init}"
                              + (f"\nnot determined: {', '.join(undetermined)}" if undetermined else ""),
                              f"predicted {model.representation} dissimilarity ({_measure_name(model.measure)})")):
        im = ax.imshow(D, cmap="viridis")
        ax.set_title(title, fontsize=9)
        n = D.shape[0]
        if cats is not None:  # category blocks (e.g. the 92 images)
            _category_ticks(ax, [str(c) for c in cats])
        elif labels is not None and n <= 40:
            ax.set_xticks(range(n))
            ax.set_xticklabels(labels, rotation=90, fontsize=6)
            ax.set_yticks(range(n))
            ax.set_yticklabels(labels, fontsize=6)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label=cb)
    axes[2].bar([str(h) for h in table.n_hidden], table.score, color="C0")
    axes[2].set_xlabel("hidden width $N_h$")
    axes[2].set_ylabel(f"{method} (fitted)")
    axes[2].set_title("score per width", fontsize=9)
    fig.tight_layout()
    if out is None:
        return fig
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return None


# ----------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_FMT = argparse.RawDescriptionHelpFormatter


def descriptor_options(p):
    """The options of ``fit`` and ``compare`` that read the user's file: descriptors, stage order, pickles."""
    g = p.add_argument_group("descriptors of the data file (logged; never guessed when unclear)")
    g.add_argument("--subject-descriptor", metavar="NAME",
                   help="rdm descriptor naming the subjects (units of replication), or 'none' (default: the one "
                        "named like subject/participant(_id), if exactly one)")
    g.add_argument("--stage-descriptor", metavar="NAME",
                   help="rdm descriptor naming stages of learning, or 'none' (default: the one named like "
                        "stage/epoch/phase/time, if exactly one)")
    g.add_argument("--condition-descriptor", metavar="NAME",
                   help="pattern descriptor holding the condition labels (default: the one whose values are the "
                        "task's item labels)")
    g.add_argument("--stage-order", metavar="A,B,...",
                   help="the stage values in learning order, comma-separated (needed for text stages, e.g. pre,post)")
    g.add_argument("--trust-pickle", action="store_true",
                   help="read a .pkl data file (unpickling runs code named in the file: only for your own files)")


def build_parser():
    parser = _Parser(
        prog="rsa-lineardyn",
        description="Exact learning dynamics of two-layer linear networks, as predictions for RSA.",
        epilog=(
            "examples:\n"
            "  rsa-lineardyn demo --out-dir out\n"
            "  rsa-lineardyn figure1 --out-dir out --lr 0.01\n"
            "  rsa-lineardyn trajectory semantic --n-hidden 3 --out-dir out\n"
            "  rsa-lineardyn trajectory my_items.csv --lam 0 --representation hidden --out-dir out\n"
            "  rsa-lineardyn fit 92images:hIT --widths 1,2,3,4 --out-dir out\n"
            "  rsa-lineardyn fit my_rdms.npy --task my_items.csv --labels a,b,c,d --out-dir out\n"
            "  rsa-lineardyn compare 92images:hIT_subject_session --widths 1,4,wide --out-dir out\n\n"
            "Existing outputs are never overwritten without --force. Use `rsa-lineardyn <command> --help` for details."
        ),
        formatter_class=_FMT,
    )
    loud = parser.add_mutually_exclusive_group()
    loud.add_argument("--verbose", action="store_true", help="debug messages, and full tracebacks on errors")
    loud.add_argument("--quiet", action="store_true", help="no notices and no progress bars (warnings and errors only)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{figure1,trajectory,fit,fit-rois,compare,demo}",
                                parser_class=_Parser)

    def common(p, out_default="out"):
        p.add_argument("--out-dir", default=out_default, help=f"output folder (default: {out_default})")
        p.add_argument("--force", action="store_true", help="overwrite existing output files")
        loud = p.add_mutually_exclusive_group()
        loud.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                          help="debug messages, and full tracebacks on errors")
        loud.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                          help="no notices and no progress bars (warnings and errors only)")

    p = sub.add_parser("figure1", help="reproduce Figure 1 (simulation vs exact) into a PNG",
                       description="Figure 1 of the paper: gradient descent vs the exact solution, N_h = 2, "
                                   "N_i = N_o = 3, lam in {-1, 0, 1}. Writes <out-dir>/figure1.png.",
                       epilog="examples:\n  rsa-lineardyn figure1 --out-dir out\n"
                              "  rsa-lineardyn figure1 --out-dir out --lr 0.005 --force",
                       formatter_class=_FMT)
    common(p)
    p.add_argument("--lr", type=float, default=0.01, help="learning rate of gradient descent (default 0.01)")
    p.set_defaults(func=cmd_figure1)

    p = sub.add_parser("trajectory", help="predicted RDM trajectory of a task (hdf5 + PNG)",
                       description="Predicted RDMs of a network's representation over training, from the exact "
                                   "solution. TASK is a bundled task (" + ", ".join(BUNDLED_TASKS) + "), a CSV "
                                   "item x feature table (first column: item labels; other columns: numeric "
                                   "target features; inputs are one-hot) or an .npz with X (n_in x P) and Y "
                                   "(n_out x P) (optional: labels, feature_names). Writes "
                                   "<out-dir>/<prefix>_rdms.hdf5 (rsatoolbox RDMs, one per time, with rdm "
                                   "descriptor 'time') and <prefix>_rdms.png.",
                       epilog="examples:\n"
                              "  rsa-lineardyn trajectory semantic --n-hidden 3 --out-dir out\n"
                              "  rsa-lineardyn trajectory semantic --lam 20 --measure cosine --times 0.01,0.1,1,inf\n"
                              "  rsa-lineardyn trajectory items.csv --n-hidden 2 --init random --seed 1\n"
                              "  rsa-lineardyn trajectory task.npz --representation output --prefix mytask",
                       formatter_class=_FMT)
    p.add_argument("task", help="bundled task name, or a .csv / .npz task file")
    common(p)
    p.add_argument("--prefix", help="file name prefix (default: the task name)")
    p.add_argument("--n-hidden", type=int, default=None, help="hidden width (default: min(n_in, n_out))")
    t = "trajectory"
    p.add_argument("--lam", type=float, default=api_default(t, "lam"),
                   help=f"balance lambda of the initial weights ({_shown_default(t, 'lam')})")
    p.add_argument("--scale", type=float, default=api_default(t, "scale"),
                   help=f"initial weight scale ({_shown_default(t, 'scale')})")
    p.add_argument("--init", choices=("random", "aligned"), default=api_default(t, "init"),
                   help="random lambda-balanced weights (one draw, --seed) or task-aligned (deterministic) "
                        f"({_shown_default(t, 'init')})")
    p.add_argument("--seed", type=int, default=api_default(t, "seed"),
                   help=f"seed of --init random ({_shown_default(t, 'seed')})")
    p.add_argument("--representation", choices=("hidden", "output", "ntk", "prediction"),
                   default=api_default(t, "representation"), help=_shown_default(t, "representation"))
    p.add_argument("--measure", choices=("euclidean", "cosine"), default=api_default(t, "measure"),
                   help=f"squared Euclidean or cosine distance ({_shown_default(t, 'measure')})")
    p.add_argument("--times", help="comma-separated times >= 0, 'inf' allowed (default: log-spaced over learning)")
    p.add_argument("--n-times", type=int, default=25, help="number of default times (default 25)")
    p.set_defaults(func=cmd_trajectory)

    p = sub.add_parser("fit", help="fit width, balance and time to data RDMs (CSV, JSON, PNG)",
                       description="Fit LinearNetworkModel (exact solution; by default the expected geometry over "
                                   "random lambda-balanced starts, --init aligned for a task-aligned start) for each hidden "
                                   "width to data RDMs: the balance lambda and the training time are fitted by "
                                   "rsa_lineardyn.fit_rdms (one snapshot; all RDMs pooled). DATA is a .npy / .npz / .csv matrix "
                                   "(N x N, or a stack n x N x N), an rsatoolbox .hdf5 / .pkl RDMs file, or a "
                                   "bundled RDM set '92images:<which>' (hIT, hIT_subject_session, mIT, "
                                   "similarity_judgements). Conditions are matched to the task's items by label "
                                   "(from the file, or --labels); without labels they are taken in task order. "
                                   "Writes <prefix>_fit.csv (one row per width), <prefix>_best.json and "
                                   "<prefix>_fit.png.",
                       epilog="examples:\n"
                              "  rsa-lineardyn fit 92images:hIT --widths 1,2,3,4,6 --out-dir out\n"
                              "  rsa-lineardyn fit rdms.hdf5 --task 92images --method cosine\n"
                              "  rsa-lineardyn fit rdm.csv --task items.csv --widths 1,2 --lam 0\n"
                              "  rsa-lineardyn fit rdms.npy --task task.npz --labels a,b,c,d,e",
                       formatter_class=_FMT)
    p.add_argument("data", help="data RDMs: .npy/.npz/.csv/.hdf5/.pkl file or 92images:<which>")
    p.add_argument("--task", help="the task the network learns: bundled name or .csv/.npz file "
                                  "(default for 92images:* data: 92images)")
    common(p)
    p.add_argument("--prefix", help="file name prefix (default: the whole data file name with dots as underscores, e.g. rdm_npy)")
    f = "fit"
    p.add_argument("--widths", default=api_default(f, "widths"),
                   help="comma-separated hidden widths, or ranges like 1-4 (default: rl.fit_rdms's n_hidden=None, "
                        "i.e. 1 ... rank of the task and one wide network)")
    p.add_argument("--lam", type=float, default=api_default(f, "lam"), help="fix lambda instead of fitting it")
    p.add_argument("--method", default=api_default(f, "method"),
                   help=f"rsatoolbox compare method ({_shown_default(f, 'method')})")
    p.add_argument("--representation", choices=("hidden", "output", "ntk", "prediction"),
                   default=api_default(f, "representation"), help=_shown_default(f, "representation"))
    p.add_argument("--measure", choices=("euclidean", "cosine"), default=api_default(f, "measure"),
                   help=_shown_default(f, "measure"))
    p.add_argument("--labels", help="comma-separated condition labels for matrix files without labels")
    p.add_argument("--n-boot", type=int, default=api_default(f, "n_boot"),
                   help=f"bootstrap samples for the intervals ({_shown_default(f, 'n_boot')}; over subjects, or over "
                        "conditions for corr/cosine with one unit; 0: no intervals, every parameter reported as "
                        "not determined)")
    p.add_argument("--init", choices=("random", "aligned"), default=api_default(f, "init"),
                   help="assumed start: 'random' (the expected geometry over random lambda-balanced starts) or "
                        f"'aligned' (task-aligned, the task's modes present at t = 0) ({_shown_default(f, 'init')})")
    p.add_argument("--seed", type=int, default=api_default(f, "seed"),
                   help=f"the one seed of the run: bootstrap and random starts ({_shown_default(f, 'seed')})")
    p.add_argument("--n-draws", type=int, default=api_default(f, "n_draws"),
                   help="Monte-Carlo draws of the expectation over random starts (default: the model's own)")
    descriptor_options(p)
    p.add_argument("--no-start-check", action="store_true",
                   help="skip the refit under the other assumed start (faster; intervals then ignore the start)")
    p.set_defaults(func=cmd_fit)
    from .cli_rois import add_parser as add_fit_rois  # fit-rois lives in cli_rois.py

    add_fit_rois(sub)

    p = sub.add_parser("compare", help="hypothesis test: which widths (or regimes) explain the data best",
                       description="Crossvalidated hypothesis test over subjects (rl.compare_widths, or "
                                   "rl.compare_regimes with --regimes): every hypothesis is fitted in each training "
                                   "fold and scored on the left-out subject; a flexible feature model (non-negative "
                                   "weights on the task's mode RDMs) is always added as a baseline. DATA and --task "
                                   "as for `fit`. Writes <prefix>_compare_<widths|regimes>.csv (one row per "
                                   "hypothesis), _pairwise.csv, .json and .png (all or none).",
                       epilog="examples:\n"
                              "  rsa-lineardyn compare 92images:hIT_subject_session --widths 1,4,wide --out-dir out\n"
                              "  rsa-lineardyn compare 92images:similarity_judgements --widths 1-6,wide\n"
                              "  rsa-lineardyn compare 92images:hIT_subject_session --regimes --n-hidden 4",
                       formatter_class=_FMT)
    p.add_argument("data", help="data RDMs: .npy/.npz/.csv/.hdf5/.pkl file or 92images:<which>")
    p.add_argument("--task", help="the task the network learns (default for 92images:* data: 92images)")
    common(p)
    p.add_argument("--prefix", help="file name prefix (default: the whole data file name with dots as underscores, e.g. rdm_npy)")
    c = "compare"
    p.add_argument("--widths", default=",".join(map(str, api_default(c, "widths"))),
                   help="comma-separated hypotheses: ints, 'wide', or a range like 1-3 (one hypothesis; the width "
                        f"is chosen inside each training fold) ({_shown_default(c, 'widths')})")
    p.add_argument("--regimes", action="store_true", help="rich vs lazy (rl.compare_regimes) instead of widths")
    p.add_argument("--n-hidden", type=int, default=api_default(c, "n_hidden"),
                   help="width of the --regimes models (default: task rank, as rl.compare_regimes's n_hidden=None)")
    p.add_argument("--init", choices=("random", "aligned"), default="random",
                   help="assumed start of the network models (default random, as rl.LinearNetworkModel's: the "
                        "expected geometry over random lambda-balanced starts)")
    p.add_argument("--method", default=api_default(c, "method"),
                   help=f"rsatoolbox compare method ({_shown_default(c, 'method')})")
    p.add_argument("--labels", help="comma-separated condition labels for matrix files without labels")
    p.add_argument("--n-boot", type=int, default=api_default(c, "n_boot"),
                   help=f"bootstrap samples over units for percentile intervals ({_shown_default(c, 'n_boot')}: "
                        "0 means t intervals only)")
    p.add_argument("--seed", type=int, default=api_default(c, "seed"),
                   help=f"the one seed of the run ({_shown_default(c, 'seed')})")
    p.add_argument("--n-draws", type=int, default=api_default(c, "n_draws"),
                   help="Monte-Carlo draws of the expectation over random starts (default: the model's own)")
    descriptor_options(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("demo", help="one-shot demo on the bundled data (Figure 1 + semantic development)",
                       description="Figure 1 and the semantic development example on the bundled semantic "
                                   "hierarchy; prints the largest simulation-vs-theory deviation. Takes about "
                                   "half a minute.",
                       epilog="examples:\n  rsa-lineardyn demo --out-dir out\n  rsa-lineardyn demo --force\n"
                              "  rsa-lineardyn demo --quick --out-dir smoke",
                       formatter_class=_FMT)
    common(p)
    p.add_argument("--lr", type=float, default=0.01, help="learning rate of the Figure 1 simulation (default 0.01)")
    p.add_argument("--n-times", type=int, default=300, help="time points of the semantic example (default 300)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: shorter Figure 1 run, widths 1 and 16 only, at most 40 time points")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    """Entry point; returns the exit code (0 success, 1 error, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verbose and args.quiet:  # one at the top level, the other after the subcommand
        parser.error("--quiet and --verbose exclude each other")
    start = _time.perf_counter()
    undo_logging = _configure_logging(_verbosity(args))
    log.debug("arguments: %s", {k: v for k, v in vars(args).items() if k != "func"})
    undo_signal = _handle_sigterm()
    try:
        code = args.func(args)
        _progress(f"done in {_time.perf_counter() - start:.1f} s")
    except Terminated:
        print("rsa-lineardyn: terminated (SIGTERM); no output written", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("rsa-lineardyn: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every error becomes one line unless --verbose
        if args.verbose:
            raise
        known = isinstance(exc, (RSALinearDynError, ValueError, TypeError, OSError))
        msg = _one_line(exc)
        if not known:
            msg = f"unexpected {type(exc).__name__}: {msg} (rerun with --verbose for the traceback)"
        print(f"rsa-lineardyn {args.command}: error: {msg}", file=sys.stderr)
        return 1
    finally:
        undo_signal()
        undo_logging()
    return code


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwinds like Ctrl-C, so every temporary file is removed on the way out."""


def _handle_sigterm():
    """Turn SIGTERM into :class:`Terminated` while a command runs (main thread only); returns the undo."""
    def on_term(signum, frame):
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except (ValueError, OSError):  # not the main thread (e.g. main() called from a worker): leave it alone
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
