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
import sys
import time as _time
import warnings
from pathlib import Path

import numpy as np

from ._log import stderr_is_terminal
from ._validation import RSALinearDynError

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


def _existing_file(path, what):
    """``path`` as a Path to an existing file that can be read (else a one-line CLIError naming it)."""
    from ._validation import check_path

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
            df = pd.read_csv(p, index_col=0)
        except Exception as exc:  # pandas raises many types on malformed text
            raise CLIError(f"could not read task file {p} as CSV: {_one_line(exc)}") from None
        if df.shape[0] < 2 or df.shape[1] < 1:
            raise CLIError(f"task file {p} must have a header, one row per item (at least 2) with the item label "
                           f"in the first column and at least one feature column; got shape {df.shape}")
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


def _read_npz(path, what):
    import zipfile

    if not zipfile.is_zipfile(path):
        raise CLIError(f"{what} file {path} is not a valid .npz archive (corrupt or truncated?)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:
        raise CLIError(f"could not read {what} file {path} as .npz: {_one_line(exc)}") from None


def _one_line(exc):
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


# ----------------------------------------------------------------------------- data RDMs
def load_data_rdms(spec, labels=None):
    """Data RDMs from a file (.npy, .npz, .csv, .hdf5/.h5, .pkl) or a bundled name ``92images:<which>``.

    Matrices go through :func:`rsa_lineardyn.rdms_from_matrices` (checked square,
    symmetric, zero diagonal).  ``labels`` (list) names the conditions of a
    matrix file that carries none.
    """
    import rsa_lineardyn as rl

    if isinstance(spec, str) and spec.startswith(BUNDLED_DATA_PREFIX):
        return rl.load_92images_rdms(spec[len(BUNDLED_DATA_PREFIX):])
    p = _existing_file(spec, "data")
    suffix = p.suffix.lower()
    file_labels = None
    if suffix in (".hdf5", ".h5", ".pkl"):
        from rsatoolbox.rdm import load_rdm

        try:
            rdms = load_rdm(str(p), file_type="pkl" if suffix == ".pkl" else "hdf5")
        except Exception as exc:
            raise CLIError(f"could not read data file {p} as rsatoolbox RDMs: {_one_line(exc)}") from None
        D = rdms.get_matrices()
        if labels is None:
            for key in ("item", "conds", "label", "labels", "condition", "conditions", "stimulus"):
                if key in rdms.pattern_descriptors:
                    file_labels = [str(x) for x in rdms.pattern_descriptors[key]]
                    break
    elif suffix == ".npy":
        with open(p, "rb") as fh:
            if fh.read(6) != b"\x93NUMPY":
                raise CLIError(f"data file {p} is not a valid .npy file (corrupt or truncated?)")
        try:
            D = np.load(p, allow_pickle=False)
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
        if "labels" in arrays:
            file_labels = [str(x) for x in arrays["labels"]]
    elif suffix == ".csv":
        D, file_labels = _read_matrix_csv(p)
    else:
        raise CLIError(f"data file {p} must be .npy, .npz, .csv, .hdf5/.h5 or .pkl, got {suffix or 'no extension'}")
    D = np.asarray(D)
    if not np.issubdtype(D.dtype, np.number):
        raise CLIError(f"data file {p} must hold numbers, got dtype {D.dtype}")
    if D.ndim not in (2, 3) or D.shape[-1] != D.shape[-2]:
        raise CLIError(f"data in {p} must be one N x N matrix or a stack n x N x N, got shape {D.shape}")
    use = labels if labels is not None else file_labels
    if use is not None and len(use) != D.shape[-1]:
        raise CLIError(f"{len(use)} labels for {D.shape[-1]} conditions in {p}")
    try:
        return rl.rdms_from_matrices(D, labels=use)
    except rl.InputValueError as exc:
        raise CLIError(f"data in {p}: {_one_line(exc)}") from None


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
    print("== 1/2  Figure 1: gradient descent vs the exact solution ==")
    _progress("Figure 1 ...")
    f1_kwargs = {"t_max": 4.0} if args.quick else {}
    f1 = {"max_deviation": _figure1(out_dir / "figure1.png", args.lr, args.force, **f1_kwargs)}
    print("\n== 2/2  Semantic development: hidden representations, rich vs lazy, bottleneck vs wide ==")
    _progress("semantic development (about 20 s) ...")
    sem_kwargs = {"widths": (1, 16), "n_times": min(args.n_times, 40)} if args.quick else {"n_times": args.n_times}
    res = sem.run(out_dir=out_dir, force=True, **sem_kwargs)
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
    if args.times is not None:
        times = np.array(_parse_list(args.times, "--times"))
    else:
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
        rdms.save(str(tmp), file_type="hdf5")

    _atomic_write([(h5, save_h5), (png, lambda tmp: _plot_trajectory(traj, rdms, tmp))], args.force)
    print(f"{rdms.n_rdm} predicted RDMs ({args.representation}, {rdms.dissimilarity_measure}) of {task.name} "
          f"(P = {task.P}, n_hidden = {args.n_hidden}, lam = {args.lam:g}, init = {args.init})")
    print(f"wrote {h5}  (read with rsatoolbox.rdm.load_rdm)")
    print(f"wrote {png}")
    return 0


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
    sv = np.linalg.svd(traj.w2w1, compute_uv=False)
    s = traj.task.singular_values
    shown = min(sv.shape[1], 10)
    for k in range(shown):
        line, = ax.plot(times[fin][np.argsort(times[fin])], sv[fin][np.argsort(times[fin]), k], lw=1.5,
                        label=f"mode {k + 1}")
        if k < s.size:
            ax.axhline(s[k], color=line.get_color(), ls="--", lw=0.7)
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
    """Data RDMs, the task and the item order, as ``fit`` and ``compare`` read them."""
    import rsa_lineardyn as rl

    labels = None
    if args.labels is not None:
        labels = [x.strip() for x in args.labels.split(",")]
    data = load_data_rdms(args.data, labels)
    task_spec = args.task
    if task_spec is None:
        if args.data.startswith(BUNDLED_DATA_PREFIX):
            task_spec = "92images"
        else:
            raise CLIError("--task is required: the bundled task name or a .csv/.npz task file the network learns")
    task = load_task(task_spec)
    item_order = data
    has_labels = any(k in data.pattern_descriptors for k in ("item", "conds", "label", "labels", "condition",
                                                            "conditions", "stimulus"))
    if not has_labels:
        if data.n_cond != task.P:
            raise CLIError(f"the data RDMs have {data.n_cond} conditions but the task has {task.P} items; "
                           "give the data item labels (--labels) or a matching task")
        item_order = list(task.labels)
        data = rl.rdms_from_matrices(data.get_matrices(), labels=item_order)
    return data, task, item_order


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


def cmd_fit(args):
    import pandas as pd

    import rsa_lineardyn as rl
    from .fitting import format_interval

    data, task, item_order = _data_and_task(args)
    prefix = _prefix(args)
    out_dir = Path(args.out_dir)
    csv_path, json_path, png = (out_dir / f"{prefix}_fit.csv", out_dir / f"{prefix}_best.json",
                                out_dir / f"{prefix}_fit.png")
    _check_outputs([csv_path, json_path, png], args.force)
    widths = _parse_list(args.widths, "--widths", int)
    _check_distinct_widths(widths, args.widths)
    _progress(f"fitting n_hidden in {widths} with rl.fit_rdms ...")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rl.DegeneracyWarning)
            res = rl.fit_rdms(data, task, n_hidden=widths, lam=args.lam, method=args.method, init=args.init,
                              representation=args.representation, measure=args.measure,
                              subject_descriptor=None, stage_descriptor=None, n_boot=args.n_boot, seed=0,
                              start_check=None if args.no_start_check else "widen",
                              progress=_show_progress(args))
    except rl.InputValueError as exc:
        raise CLIError(_one_line(exc)) from None
    # one row per width: its best grid candidate; the overall best row is the refined optimum
    cand = res.table
    rows = []
    for h in widths:
        sub = cand[cand.n_hidden == h]
        if sub.empty or not np.isfinite(sub.score).any():
            raise CLIError(f"n_hidden = {h}: no feasible prediction with a defined {args.method!r} score")
        r = res.best if h == res.best["n_hidden"] else sub.loc[sub.score.idxmax()].to_dict()
        rows.append({"n_hidden": h, "lam": float(r["lam"]), "time": float(r["time"]),
                     "log10_time": float(np.log10(r["time"])), "scale": float(r["scale"]),
                     "score": float(r["score"]), "method": args.method, "representation": args.representation,
                     "measure": args.measure})
    table = pd.DataFrame(rows)
    best_i = int(np.argmax(table.score.to_numpy()))
    best = table.iloc[best_i].to_dict()
    best = {k: (v.item() if hasattr(v, "item") else v) for k, v in best.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        model = rl.LinearNetworkModel(task, n_hidden=int(best["n_hidden"]), init=res.settings["init"],
                                      representation=args.representation,
                                      measure=args.measure, lam=args.lam, scale=best["scale"],
                                      item_order=item_order, name=f"N_h={int(best['n_hidden'])}")
    model.theta_ = np.array(([best["lam"]] if model.lam is None else []) + [best["log10_time"]])
    iv = res.intervals
    intervals = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                 for r in iv.to_dict(orient="records")]
    intervals = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                 for r in intervals]
    info = {"best": best, "intervals": intervals, "level": float(res.settings["ci"]),
            "bootstrap_over": res.settings["bootstrap_over"], "n_boot": int(args.n_boot),
            "flat_tol": float(res.settings["flat_tol"]), "data": str(args.data), "n_rdm": int(data.n_rdm),
            "n_cond": int(data.n_cond), "task": task.name, "widths": widths, "fitter": "rsa_lineardyn.fit_rdms",
            "init": res.settings["init"], "start_check": res.settings.get("start_check"),
            "other_init": res.settings.get("other_init"),
            "messages": list(res.messages), "table": str(csv_path)}
    undetermined = [str(r.parameter) for r in iv.itertuples() if not r.determined]
    _atomic_write([(csv_path, lambda p: table.to_csv(p, index=False)),
                   (json_path, lambda p: p.write_text(json.dumps(info, indent=2))),
                   (png, lambda p: _plot_fit(data, model, table, p, args.method, undetermined))], args.force)
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
def _parse_widths(text):
    """``"1,4,wide,1-3"`` -> ``[1, 4, "wide", [1, 2, 3]]`` (a range is one hypothesis, chosen in each fold)."""
    out = []
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

    data, task, _ = _data_and_task(args)
    prefix = _prefix(args)
    out_dir = Path(args.out_dir)
    kind = "regimes" if args.regimes else "widths"
    csv_path, pw_path, json_path, png = (out_dir / f"{prefix}_compare_{kind}.csv",
                                         out_dir / f"{prefix}_compare_{kind}_pairwise.csv",
                                         out_dir / f"{prefix}_compare_{kind}.json",
                                         out_dir / f"{prefix}_compare_{kind}.png")
    outputs = [csv_path, pw_path, json_path, png]
    _check_outputs(outputs, args.force)
    kw = dict(method=args.method, n_boot=args.n_boot, seed=args.seed, init=args.init,
              progress=_show_progress(args))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rl.DegeneracyWarning)
            if args.regimes:
                _progress(f"rl.compare_regimes (n_hidden = {args.n_hidden or 'rank of the task'}) ...")
                res = rl.compare_regimes(data, task, n_hidden=args.n_hidden, **kw)
            else:
                widths = _parse_widths(args.widths)
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
            "n_hidden": args.n_hidden if args.regimes else None, "table": _records(table),
            "pairwise": _records(res.pairwise), "messages": list(res.messages),
            "settings": {k: v for k, v in res.settings.items() if isinstance(v, (str, int, float, bool, type(None)))},
            "csv": str(csv_path), "pairwise_csv": str(pw_path), "figure": str(png)}

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
                   (json_path, lambda p: p.write_text(json.dumps(info, indent=2, default=str))),
                   (png, write_png)], args.force)
    for p in outputs:
        print(f"wrote {p}")
    return 0


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
    sub = parser.add_subparsers(dest="command", required=True, metavar="{figure1,trajectory,fit,compare,demo}",
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
    p.add_argument("--lam", type=float, default=0.0, help="balance lambda of the initial weights (default 0)")
    p.add_argument("--scale", type=float, default=0.1, help="initial weight scale (default 0.1)")
    p.add_argument("--init", choices=("aligned", "random"), default="aligned",
                   help="task-aligned (deterministic, default) or random lambda-balanced weights")
    p.add_argument("--seed", type=int, default=0, help="seed of --init random (default 0)")
    p.add_argument("--representation", choices=("hidden", "output", "ntk", "prediction"), default="hidden")
    p.add_argument("--measure", choices=("euclidean", "cosine"), default="euclidean",
                   help="squared Euclidean (default) or cosine distance")
    p.add_argument("--times", help="comma-separated times, 'inf' allowed (default: log-spaced over learning)")
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
    p.add_argument("--widths", default="1,2,3", help="comma-separated hidden widths to compare (default 1,2,3)")
    p.add_argument("--lam", type=float, default=None, help="fix lambda instead of fitting it")
    p.add_argument("--method", default="corr", help="rsatoolbox compare method (default corr)")
    p.add_argument("--representation", choices=("hidden", "output", "ntk", "prediction"), default="hidden")
    p.add_argument("--measure", choices=("euclidean", "cosine"), default="euclidean")
    p.add_argument("--labels", help="comma-separated condition labels for matrix files without labels")
    p.add_argument("--n-boot", type=int, default=100,
                   help="bootstrap samples for the intervals (default 100; over conditions for corr/cosine; "
                        "0: no intervals, every parameter reported as not determined)")
    p.add_argument("--init", choices=("random", "aligned"), default="random",
                   help="assumed start: 'random' (default: the expected geometry over random lambda-balanced "
                        "starts) or 'aligned' (task-aligned, the task's modes present at t = 0)")
    p.add_argument("--no-start-check", action="store_true",
                   help="skip the refit under the other assumed start (faster; intervals then ignore the start)")
    p.set_defaults(func=cmd_fit)

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
    p.add_argument("--widths", default="1,wide",
                   help="comma-separated hypotheses: ints, 'wide', or a range like 1-3 (one hypothesis; the width "
                        "is chosen inside each training fold) (default 1,wide)")
    p.add_argument("--regimes", action="store_true", help="rich vs lazy (rl.compare_regimes) instead of widths")
    p.add_argument("--n-hidden", type=int, default=None, help="width of the --regimes models (default: task rank)")
    p.add_argument("--init", choices=("random", "aligned"), default="random",
                   help="assumed start of the network models (default random: expected geometry over random "
                        "lambda-balanced starts)")
    p.add_argument("--method", default="corr", help="rsatoolbox compare method (default corr)")
    p.add_argument("--labels", help="comma-separated condition labels for matrix files without labels")
    p.add_argument("--n-boot", type=int, default=0, help="bootstrap samples over units for percentile intervals "
                                                          "(default 0: t intervals only)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
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
    try:
        code = args.func(args)
        _progress(f"done in {_time.perf_counter() - start:.1f} s")
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
        undo_logging()
    return code


if __name__ == "__main__":
    sys.exit(main())
