"""The package logger and the switch for rsatoolbox's progress bars.

Messages go to ``logging.getLogger("rsa_lineardyn")``; the package adds only a
``NullHandler`` (see :mod:`rsa_lineardyn`), the command line adds a stderr handler.
"""

from __future__ import annotations

import contextlib
import logging
import sys

logger = logging.getLogger("rsa_lineardyn")

__all__ = ["logger", "progress_bars", "stderr_is_terminal"]


def stderr_is_terminal():
    """True when ``sys.stderr`` is an interactive terminal (progress bars make sense there)."""
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


class _QuietTqdm:
    """Stands in for the ``tqdm`` module inside rsatoolbox: the same bars, created with ``disable=True``."""

    def __init__(self, real):
        self._real = real

    def trange(self, *args, **kwargs):
        kwargs["disable"] = True
        return self._real.trange(*args, **kwargs)

    def tqdm(self, *args, **kwargs):
        kwargs["disable"] = True
        return self._real.tqdm(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


@contextlib.contextmanager
def progress_bars(enabled=None):
    """Turn rsatoolbox's tqdm progress bars on or off inside a ``with`` block.

    rsatoolbox's bootstrap and crossvalidation functions
    (``rsatoolbox.inference.eval_bootstrap*``, ``bootstrap_crossval``,
    ``eval_dual_bootstrap``) always draw a tqdm bar on stderr; in a log file
    that is a flood of carriage-return lines.  Inside ``with
    rl.progress_bars(False):`` they draw none.

    Parameters
    ----------
    enabled : bool or None, default None
        ``True``: leave rsatoolbox's bars as they are; ``False``: disable them;
        ``None``: disable them unless stderr is a terminal.

    Notes
    -----
    rsatoolbox calls ``tqdm.trange`` through the module attribute ``tqdm`` of
    ``rsatoolbox.inference.evaluate``; the block replaces that attribute with a
    stand-in that passes ``disable=True`` and restores it on exit.  The switch
    is process-wide while the block runs (not per thread).

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> with rl.progress_bars(False):
    ...     pass  # rsatoolbox.inference.bootstrap_crossval(...) here draws no bar
    """
    if enabled is None:
        enabled = stderr_is_terminal()
    else:
        from ._validation import check_bool

        enabled = check_bool(enabled, "enabled")
    if enabled:
        yield
        return
    from rsatoolbox.inference import evaluate

    real = evaluate.tqdm
    evaluate.tqdm = real if isinstance(real, _QuietTqdm) else _QuietTqdm(real)
    try:
        yield
    finally:
        evaluate.tqdm = real
