"""Output files that cannot mislead: written to temporary files beside their targets, moved into place together.

Used by the command line, the example scripts and the benchmarks.  A run that fails or is interrupted leaves
no new file that looks complete; without ``force`` a target name is claimed atomically (``os.link`` fails if the
name exists), so two concurrent runs cannot both succeed, and a run that loses a claim takes back the files it
had already placed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["OutputExistsError", "staged_outputs", "staged_folder", "write_outputs", "write_text"]


class OutputExistsError(FileExistsError):
    """An output file exists already and ``force`` was not given."""


def _temporary_beside(path):
    """A new empty temporary file in ``path``'s folder, with the usual permissions and ``path``'s suffix."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600
    return Path(tmp)


def check_new(paths, force):
    """Raise :class:`OutputExistsError` naming the first of ``paths`` that exists (unless ``force``)."""
    if force:
        return
    for p in map(Path, paths):
        if p.exists():
            raise OutputExistsError(f"output file {p} already exists; use --force to overwrite it, or choose "
                                    "another output folder")


@contextlib.contextmanager
def staged_outputs(paths, force=False):
    """Write several outputs all or none.

    Yields one temporary path per target (same folder, same suffix, so writers that infer the format from the
    name work); when the ``with`` block ends without an exception the temporary files are moved into place
    together, else they are removed.

    Parameters
    ----------
    paths : sequence of str or Path
        The targets; their folders must exist.
    force : bool, default False
        Replace existing targets.  Without it an existing target (also one that appears while the block runs)
        raises :class:`OutputExistsError` and no target of this run is left behind.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from rsa_lineardyn.data.files import staged_outputs
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with staged_outputs([d / "a.txt", d / "b.txt"]) as (a, b):
    ...     _ = a.write_text("1"), b.write_text("2")
    >>> sorted(p.name for p in d.iterdir())
    ['a.txt', 'b.txt']
    """
    paths = [Path(p) for p in paths]
    check_new(paths, force)
    tmps = []
    try:
        for p in paths:
            tmps.append(_temporary_beside(p))
        yield list(tmps)
        _move_into_place(paths, tmps, force)
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def _move_into_place(paths, tmps, force):
    if force:
        return _replace_all(paths, tmps)
    placed = []
    for path, tmp in zip(paths, tmps):
        try:
            os.link(tmp, path)  # claims the name; fails if it exists
        except FileExistsError:
            for done in placed:  # all files of a run or none: take back what this run placed
                done.unlink(missing_ok=True)
            raise OutputExistsError(f"output file {path} already exists (written by another run?); use --force "
                                    "to overwrite it, or choose another output folder") from None
        placed.append(path)
        tmp.unlink()


def _replace_all(paths, tmps):
    """``force``: replace the targets all or none -- each existing target is set aside first and put back if a
    later one fails, so a failed run never leaves its new files beside an older run's."""
    blocked = [p for p in paths if os.path.lexists(p) and not p.is_file()]
    if blocked:
        raise OutputExistsError(f"output {blocked[0]} exists and is not a file (a folder?), so --force cannot "
                                "replace it; remove it or choose another output folder")
    moved = []  # (target, its set-aside copy or None)
    try:
        for path, tmp in zip(paths, tmps):
            aside = None
            if os.path.lexists(path):
                aside = _temporary_beside(path)
                os.replace(path, aside)
            moved.append((path, aside))
            os.replace(tmp, path)
    except BaseException:
        for path, aside in reversed(moved):
            if aside is not None:
                os.replace(aside, path)
            else:
                path.unlink(missing_ok=True)
        raise
    for _, aside in moved:
        if aside is not None:
            aside.unlink(missing_ok=True)


@contextlib.contextmanager
def staged_folder(target_dir, names, force=False):
    """Write files named ``names`` into a temporary folder beside them; move them into ``target_dir`` together.

    For writers that take a folder (the demo's figures).  When the ``with`` block ends without an exception and
    every name was written, the files are moved into place all or none (as :func:`staged_outputs`); otherwise,
    and always at the end, the temporary folder (hidden, ``.staging-*``) is removed with whatever it holds.
    """
    import shutil

    target_dir = Path(target_dir)
    targets = [target_dir / n for n in names]
    check_new(targets, force)
    target_dir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", suffix=".tmp", dir=target_dir))
    try:
        yield stage
        missing = [n for n in names if not (stage / n).is_file()]
        if missing:
            raise FileNotFoundError(f"the run did not write {missing}; nothing was placed in {target_dir}")
        _move_into_place(targets, [stage / n for n in names], force)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_outputs(items, force=False):
    """``items``: ``(path, writer)`` pairs, ``writer(tmp_path)`` writes one file; all are placed or none."""
    items = list(items)
    with staged_outputs([p for p, _ in items], force) as tmps:
        for (_, writer), tmp in zip(items, tmps):
            writer(tmp)


def write_text(path, text, force=True):
    """Write ``text`` to ``path`` atomically (replacing it by default)."""
    write_outputs([(path, lambda p: Path(p).write_text(text))], force=force)
