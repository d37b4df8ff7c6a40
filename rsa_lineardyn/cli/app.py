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

import logging
import signal
import sys
import time as _time
import warnings


from .._validation import RSALinearDynError
from .common import _progress, _verbosity, log
from .inputs import _one_line
from .options import build_parser


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
