"""Shared pieces of the command line: its error type, bundled names, notices and atomic output."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .._log import stderr_is_terminal
from .._validation import RSALinearDynError


log = logging.getLogger("rsa_lineardyn.cli")


#: The package folder (this module is ``rsa_lineardyn/cli/common.py``).
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


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


# ----------------------------------------------------------------------------- helpers
def _progress(msg):
    """A notice: an INFO record of the package logger (the CLI prints it on stderr unless --quiet)."""
    log.info(msg)


def _verbosity(args):
    """``"quiet"``, ``"normal"`` or ``"verbose"`` from the parsed ``--quiet`` / ``--verbose`` flags."""
    if getattr(args, "quiet", False):
        return "quiet"
    return "verbose" if getattr(args, "verbose", False) else "normal"


def _show_progress(args):
    """Progress bars for this run: only when stderr is a terminal, and never with ``--quiet``."""
    return _verbosity(args) != "quiet" and stderr_is_terminal()


def _check_outputs(paths, force):
    """Refuse to overwrite existing files unless ``force`` (before any work); create parent folders."""
    from ..data.files import check_new

    check_new(paths, force)
    for folder in dict.fromkeys(Path(p).parent for p in paths):
        _writable_folder(folder)


def _writable_folder(folder):
    """Create ``folder`` (the ``--out-dir``) if missing and check a file can be written in it; one-line CLIError
    naming ``--out-dir`` and the reason otherwise (a file in the way, no permission, a read-only system)."""
    import tempfile

    fix = "pass a folder you can write to (it is created if missing)"
    blocker = next((q for q in (folder, *folder.parents) if q.exists() and not q.is_dir()), None)
    if blocker is not None:
        where = "it is a file" if blocker == folder else f"{blocker} is a file"
        raise CLIError(f"--out-dir {folder}: {where}, not a folder; {fix}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--out-dir {folder}: the output folder cannot be created ({exc.strerror or exc}); "
                       f"{fix}") from None
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise CLIError(f"--out-dir {folder}: no file can be written in the output folder ({exc.strerror or exc}); "
                       f"{fix}") from None


def _load_example(name):
    """The demo module ``name`` (``figure1``, ``semantic_development``): code inside the package."""
    import importlib

    return importlib.import_module(f"rsa_lineardyn.demos.{name}")


def _atomic_write(items, force):
    """All outputs of a run or none (see :mod:`rsa_lineardyn.data.files`)."""
    from ..data.files import write_outputs

    write_outputs(items, force)


def _plain(value):
    """``value`` with JSON's types only: dicts, lists (from tuples and arrays), numbers (numpy scalars unwrapped,
    non-finite floats as None), strings, booleans and None; anything else as its ``str``."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _records(df):
    recs = df.to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else (v.item() if hasattr(v, "item") else v))
             for k, v in r.items()} for r in recs]
