"""The command line's options, built from one table.

:data:`COMMANDS` lists every subcommand with its options.  An option that mirrors a parameter of the Python API
names it (``api=(module, function, parameter)``): its default is read from that function's signature (with
:mod:`ast`, so ``--help`` stays fast; never restated here) and its help says so, and its flags include the Python
spelling (``--random-state`` beside ``--seed``, ``--n-hidden`` beside ``fit --widths``).  :func:`build_parser`
only walks the table.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from .commands import cmd_compare, cmd_demo, cmd_figure1, cmd_fit, cmd_trajectory
from .common import BUNDLED_TASKS, _PACKAGE_DIR
from ..inference.multiplicity import CORRECTIONS
from .rois import run as run_fit_rois


@dataclass(frozen=True)
class Opt:
    """One option (or positional argument) of a subcommand: argparse's keywords plus where its default lives."""

    flags: tuple
    help: str = ""
    api: tuple | None = None  # (module below rsa_lineardyn, function or class, parameter)
    kw: dict = field(default_factory=dict)
    group: str | None = None

    @property
    def dest(self):
        return self.kw.get("dest") or self.flags[0].lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class Command:
    """One subcommand: its texts, its options (in help order) and the function that runs it."""

    name: str
    help: str
    description: str
    examples: tuple
    func: object
    options: tuple


def _auto_or_int(text):
    """``--mc-replicates``: ``auto`` or a positive int (checked again by the Python API)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'auto' or a positive int, got {text!r}") from None


def _pair(text):
    """``--time-bounds`` / ``--lam-bounds LOW,HIGH``: two numbers (checked again by the Python API)."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be two comma-separated numbers LOW,HIGH (a negative LOW with '=': --lam-bounds=-12,12), got "
            f"{text!r}") from None
    return lo, hi


_NET = "models.network", "LinearNetworkModel"
_FIT = "inference.fitting", "fit_rdms"
_WIDTHS = "inference.hypotheses", "compare_widths"
_ROIS = "inference.rois", "fit_rois"
_DATA_HELP = "data RDMs: .npy/.npz/.csv/.hdf5/.pkl file or 92images:<which>"
_PREFIX_HELP = "file name prefix (default: the whole data file name with dots as underscores, e.g. rdm_npy)"
_REPRESENTATIONS = ("hidden", "output", "ntk", "prediction")
_LABELS_HELP = ("comma-separated task item label of every condition, in the file's order (needed for files "
                "without labels: .npy, a CSV without header row or label column, an .npz without 'labels'; refused "
                "for a file whose own labels differ)")
_DESCRIPTORS = "descriptors of the data file (logged; never guessed when unclear)"

#: Options of ``fit`` and ``compare`` that read the user's file: descriptors, stage order, pickles.
DESCRIPTOR_OPTIONS = (
    Opt(("--subject-descriptor",), "rdm descriptor naming the subjects (units of replication), or 'none' (default: "
        "the one named like subject/participant(_id), if exactly one)", kw={"metavar": "NAME"}, group=_DESCRIPTORS),
    Opt(("--stage-descriptor",), "rdm descriptor naming stages of learning, or 'none' (default: the one named like "
        "stage/epoch/phase/time, if exactly one)", kw={"metavar": "NAME"}, group=_DESCRIPTORS),
    Opt(("--condition-descriptor",), "pattern descriptor holding the condition labels (default: the one whose "
        "values are the task's item labels)", kw={"metavar": "NAME"}, group=_DESCRIPTORS),
    Opt(("--stage-order",), "the stage values in learning order, comma-separated (needed for text stages, e.g. "
        "pre,post)", kw={"metavar": "A,B,..."}, group=_DESCRIPTORS),
    Opt(("--trust-pickle",), "read a .pkl data file (unpickling runs code named in the file: only for your own "
        "files)", kw={"action": "store_true"}, group=_DESCRIPTORS),
)

COMMANDS = (
    Command(
        "figure1", "reproduce Figure 1 (simulation vs exact) into a PNG",
        "Figure 1 of the paper: gradient descent vs the exact solution, N_h = 2, N_i = N_o = 3, lam in {-1, 0, 1}. "
        "Writes <out-dir>/figure1.png.",
        ("figure1 --out-dir out", "figure1 --out-dir out --lr 0.005 --force"), cmd_figure1,
        (Opt(("--lr",), "learning rate of gradient descent (default 0.01)", kw={"type": float, "default": 0.01}),),
    ),
    Command(
        "trajectory", "predicted RDM trajectory of a task (hdf5 + PNG)",
        "Predicted RDMs of a network's representation over training, from the exact solution. TASK is a bundled "
        "task (" + ", ".join(BUNDLED_TASKS) + "), a CSV item x feature table (first column: item labels; other "
        "columns: numeric target features; inputs are one-hot) or an .npz with X (n_in x P) and Y (n_out x P) "
        "(optional: labels, feature_names). Writes <out-dir>/<prefix>_rdms.hdf5 (rsatoolbox RDMs, one per time, "
        "with rdm descriptor 'time') and <prefix>_rdms.png.",
        ("trajectory semantic --n-hidden 3 --out-dir out",
         "trajectory semantic --lam 20 --measure cosine --times 0.01,0.1,1,inf",
         "trajectory items.csv --n-hidden 2 --init random --seed 1",
         "trajectory task.npz --representation output --prefix mytask"),
        cmd_trajectory,
        (Opt(("task",), "bundled task name, or a .csv / .npz task file"),
         Opt(("--prefix",), "file name prefix (default: the task name)"),
         Opt(("--n-hidden",), "hidden width (default: min(n_in, n_out))", kw={"type": int, "default": None}),
         Opt(("--lam",), "balance lambda of the initial weights", ("dynamics.initialization", "task_aligned_init",
                                                                   "lam"), kw={"type": float}),
         Opt(("--scale",), "initial weight scale", (*_NET, "scale"), kw={"type": float}),
         Opt(("--init",), "random lambda-balanced weights (one draw, --seed) or task-aligned (deterministic)",
             (*_NET, "init"), kw={"choices": ("random", "aligned")}),
         Opt(("--seed",), "seed of --init random", (*_NET, "seed"), kw={"type": int}),
         Opt(("--representation",), "", (*_NET, "representation"), kw={"choices": _REPRESENTATIONS}),
         Opt(("--measure",), "squared Euclidean or cosine distance", (*_NET, "measure"),
             kw={"choices": ("euclidean", "cosine")}),
         Opt(("--times",), "comma-separated times >= 0, 'inf' allowed (default: log-spaced over learning)"),
         Opt(("--n-times",), "number of default times (default 25)", kw={"type": int, "default": 25})),
    ),
    Command(
        "fit", "fit width, balance and time to data RDMs (CSV, JSON, PNG)",
        "Fit LinearNetworkModel (exact solution; by default the expected geometry over random lambda-balanced "
        "starts, --init aligned for a task-aligned start) for each hidden width to data RDMs: the balance lambda and "
        "the training time are fitted by rsa_lineardyn.fit_rdms (stages scored jointly, subjects as units). DATA is "
        "a .npy / .npz / .csv matrix (N x N, or a stack n x N x N), an rsatoolbox .hdf5 / .pkl RDMs file, or a "
        "bundled RDM set '92images:<which>' (hIT, hIT_subject_session, mIT, similarity_judgements). Conditions are "
        "matched to the task's items by label (from the file, or --labels), never by position: a file without labels "
        "(.npy, a CSV without header row or label column, an .npz without 'labels') needs --labels. Writes <prefix>_fit.csv (one row per width), <prefix>_best.json and <prefix>_fit.png.",
        ("fit 92images:hIT --widths 1,2,3,4,6 --out-dir out", "fit rdms.hdf5 --task 92images --method cosine",
         "fit rdm.csv --task items.csv --widths 1,2 --lam 0", "fit rdms.npy --task task.npz --labels a,b,c,d,e"),
        cmd_fit,
        (Opt(("data",), _DATA_HELP),
         Opt(("--task",), "the task the network learns: bundled name or .csv/.npz file (default for 92images:* "
             "data: 92images)"),
         Opt(("--prefix",), _PREFIX_HELP),
         Opt(("--widths", "--n-hidden"), "comma-separated hidden widths, ranges like 1-4, or 'wide' (max(n_in, "
             "n_out)) (None: 1 ... rank of the task and one wide network)", (*_FIT, "n_hidden")),
         Opt(("--lam",), "fix lambda instead of fitting it (None: fitted)", (*_FIT, "lam"), kw={"type": float}),
         Opt(("--method",), "rsatoolbox compare method", (*_FIT, "method")),
         Opt(("--representation",), "", (*_FIT, "representation"), kw={"choices": _REPRESENTATIONS}),
         Opt(("--measure",), "", (*_FIT, "measure"), kw={"choices": ("euclidean", "cosine")}),
         Opt(("--labels",), _LABELS_HELP),
         Opt(("--n-boot",), "bootstrap samples for the intervals (over subjects, or over conditions for corr/cosine "
             "with one unit; 0: no intervals, every parameter reported as not determined)", (*_FIT, "n_boot"),
             kw={"type": int}),
         Opt(("--init",), "assumed start: 'random' (the expected geometry over random lambda-balanced starts) or "
             "'aligned' (task-aligned, the task's modes present at t = 0)", (*_FIT, "init"),
             kw={"choices": ("random", "aligned")}),
         Opt(("--seed", "--random-state"), "the one seed of the run: bootstrap and random starts",
             (*_FIT, "random_state"), kw={"type": int}),
         Opt(("--n-draws",), "Monte-Carlo draws of the expectation over random starts (None: the model's own)",
             (*_FIT, "n_draws"), kw={"type": int}),
         *DESCRIPTOR_OPTIONS,
         Opt(("--no-start-check",), "skip the refit under the other assumed start (faster; intervals then ignore "
             "the start)", kw={"action": "store_true"})),
    ),
    Command(
        "compare", "hypothesis test: which widths (or regimes) explain the data best",
        "Crossvalidated hypothesis test over subjects (rl.compare_widths, or rl.compare_regimes with --regimes): "
        "every hypothesis is fitted in each training fold and scored on the left-out subject; a flexible feature "
        "model (non-negative weights on the task's mode RDMs, free per stage) is always added as a baseline. DATA "
        "and --task as for `fit`. Writes <prefix>_compare_<widths|regimes>.csv (one row per hypothesis), "
        "_pairwise.csv, .json and .png (all or none).",
        ("compare 92images:hIT_subject_session --widths 1,4,wide --out-dir out",
         "compare 92images:similarity_judgements --widths 1-6,wide",
         "compare 92images:hIT_subject_session --regimes --n-hidden 4"),
        cmd_compare,
        (Opt(("data",), _DATA_HELP),
         Opt(("--task",), "the task the network learns (default for 92images:* data: 92images)"),
         Opt(("--prefix",), _PREFIX_HELP),
         Opt(("--widths",), "comma-separated hypotheses: ints, 'wide', or a range like 1-3 (one hypothesis; the "
             "width is chosen inside each training fold)", (*_WIDTHS, "widths")),
         Opt(("--regimes",), "rich vs lazy (rl.compare_regimes) instead of widths", kw={"action": "store_true"}),
         Opt(("--n-hidden",), "width of the --regimes models (None: the task's rank)",
             ("inference.hypotheses", "compare_regimes", "n_hidden"), kw={"type": int}),
         Opt(("--init",), "assumed start of the network models (random: the expected geometry over random "
             "lambda-balanced starts)", (*_NET, "init"), kw={"choices": ("random", "aligned")}),
         Opt(("--method",), "rsatoolbox compare method", (*_WIDTHS, "method")),
         Opt(("--labels",), _LABELS_HELP),
         Opt(("--n-boot",), "bootstrap samples over units for percentile intervals (0 means t intervals only)",
             (*_WIDTHS, "n_boot"), kw={"type": int}),
         Opt(("--seed", "--random-state"), "the one seed of the run", (*_WIDTHS, "random_state"), kw={"type": int}),
         Opt(("--correction",), "family-wise correction of the pairwise p-values (p_corrected, significant); "
             "shaffer: Holm with the logical constraints of pairwise equalities",
             ("inference.hypotheses", "evaluate_hypotheses", "correction"), kw={"choices": CORRECTIONS}),
         Opt(("--n-draws",), "Monte-Carlo draws of the expectation over random starts (None: the model's own)",
             (*_WIDTHS, "n_draws"), kw={"type": int}),
         Opt(("--mc-replicates",), "blocks of --n-draws draws pooled for the random-start networks, 'auto' (4-16, "
             "until the Monte-Carlo SE is below 0.2 of the sampling SE) or an int; 1: one block, its Monte-Carlo SE from 4 "
             "groups of its draws",
             ("inference.hypotheses", "evaluate_hypotheses", "mc_replicates"), kw={"type": _auto_or_int}),
         Opt(("--lam-bounds",), "LOW,HIGH: the lam range the network fits search (None: 4 x the task's largest "
             "singular value on each side; a negative LOW with '=', e.g. --lam-bounds=-12,12)",
             ("inference.hypotheses", "evaluate_hypotheses", "lam_bounds"), kw={"type": _pair}),
         Opt(("--time-bounds",), "LOW,HIGH: the searched training times (None: from the task's spectrum)",
             ("inference.hypotheses", "evaluate_hypotheses", "time_bounds"), kw={"type": _pair}),
         *DESCRIPTOR_OPTIONS),
    ),
    Command(
        "fit-rois", "fit width, balance and time to every region of data RDMs (CSV, NPZ)",
        "rl.fit_rois: rl.fit_rdms on every region (ROI or searchlight centre) of DATA, the predictions shared across "
        "regions. DATA is an rsatoolbox .hdf5 (or trusted .pkl) RDMs file, or an .npz, whose rdm descriptor "
        "--roi-descriptor names each RDM's region (default: roi, region or voxel_index, the centre rsatoolbox's "
        "get_searchlight_RDMs attaches); other descriptors (subject, stage) are read per region as `fit` reads them. "
        "Writes <prefix>_rois.csv (one row per region), <prefix>_rois.npz (its numeric columns, roi, centres) and "
        "<prefix>_rois.json (settings with the seed and draws, messages), all or none.",
        ("fit-rois searchlight.hdf5 --task 92images --labels a,b,c,... --n-boot 0",
         "fit-rois atlas_rdms.hdf5 --task items.csv --widths 1,2,4 --n-jobs -1",
         "fit-rois rois.hdf5 --task items.csv --stage-order early,mid,late --condition-descriptor stim_id"),
        run_fit_rois,
        (Opt(("data",), "data RDMs of all regions: .hdf5/.pkl/.npz file"),
         Opt(("--task",), "the task the network learns: bundled name or .csv/.npz file", kw={"required": True}),
         Opt(("--prefix",), "file name prefix (default: the data file name with dots as underscores)"),
         Opt(("--roi-descriptor",), "rdm descriptor naming the regions", (*_ROIS, "roi_descriptor")),
         Opt(("--labels",), "comma-separated task item label of every condition, for RDMs without labels "
             "(searchlight RDMs)"),
         Opt(("--widths", "--n-hidden"), "comma-separated hidden widths, ranges like 1-4, or 'wide' (max(n_in, "
             "n_out)) (None: fit_rdms's widths)",
             (*_ROIS, "n_hidden")),
         Opt(("--lam",), "fix lambda instead of fitting it (None: fitted)", (*_ROIS, "lam"), kw={"type": float}),
         Opt(("--method",), "rsatoolbox compare method", (*_FIT, "method")),
         Opt(("--init",), "assumed start", (*_FIT, "init"), kw={"choices": ("random", "aligned")}),
         Opt(("--n-boot",), "bootstrap samples per region (0: none)", (*_FIT, "n_boot"), kw={"type": int}),
         Opt(("--seed", "--random-state"), "the one seed (the same for every region)", (*_FIT, "random_state"),
             kw={"type": int}),
         Opt(("--n-draws",), "Monte-Carlo draws of the expectation over random starts (None: the model's own)",
             (*_FIT, "n_draws"), kw={"type": int}),
         Opt(("--no-start-check",), "skip the refit under the other assumed start", kw={"action": "store_true"}),
         Opt(("--no-refine",), "grid optimum only (no continuous refinement)", kw={"action": "store_true"}),
         Opt(("--subject-descriptor",), "rdm descriptor naming subjects, or 'none'", (*_FIT, "subject_descriptor")),
         Opt(("--stage-descriptor",), "rdm descriptor naming stages, or 'none'", (*_FIT, "stage_descriptor")),
         Opt(("--stage-order",), "the stage values in learning order, comma-separated (needed for text stages, e.g. "
             "pre,post)", (*_FIT, "stage_order"), kw={"metavar": "A,B,..."}),
         Opt(("--condition-descriptor",), "pattern descriptor holding the condition labels ('auto': the one named "
             "item/label/condition/...)", (*_FIT, "condition_descriptor"), kw={"metavar": "NAME"}),
         Opt(("--n-jobs",), "joblib workers over regions (-1: all cores)", (*_ROIS, "n_jobs"), kw={"type": int}),
         Opt(("--on-error",), "a region whose data cannot be fitted (e.g. constant RDMs at a mask edge): stop "
             "(raise) or record its error in the table's error column and go on (record)", (*_ROIS, "on_error"),
             kw={"choices": ("raise", "record")}),
         Opt(("--trust-pickle",), "read a .pkl data file (unpickling runs code named in the file: only your own "
             "files)", kw={"action": "store_true"})),
    ),
    Command(
        "demo", "one-shot demo on the bundled data (Figure 1 + semantic development)",
        "Figure 1 and the semantic development example on the bundled semantic hierarchy; prints the largest "
        "simulation-vs-theory deviation. Takes about half a minute.",
        ("demo --out-dir out", "demo --force", "demo --quick --out-dir smoke"), cmd_demo,
        (Opt(("--lr",), "learning rate of the Figure 1 simulation (default 0.01)", kw={"type": float, "default": 0.01}),
         Opt(("--n-times",), "time points of the semantic example (default 300)", kw={"type": int, "default": 300}),
         Opt(("--quick",), "smoke test: shorter Figure 1 run, widths 1 and 16 only, at most 40 time points",
             kw={"action": "store_true"})),
    ),
)

#: Where each option's default comes from: ``(command, option dest) -> (module, function, parameter)``, collected
#: from :data:`COMMANDS` (the value itself is read from that function's signature, never restated).
API_DEFAULTS = {(c.name, o.dest): o.api for c in COMMANDS for o in c.options if o.api is not None}


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
            source = (_PACKAGE_DIR / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
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


# ----------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_FMT = argparse.RawDescriptionHelpFormatter
_LOUD = (("--verbose", "debug messages, and full tracebacks on errors"),
         ("--quiet", "no notices and no progress bars (warnings and errors only)"))


def _add_option(target, command, opt):
    """``opt`` on ``target`` (a parser or group); an API-backed option gets its default from the signature."""
    kw = dict(opt.kw)
    help_text = opt.help
    if opt.api is not None:
        kw["default"] = api_default(command, opt.dest)
        if isinstance(kw["default"], (tuple, list)):  # a list default is shown and parsed as comma-separated text
            kw["default"] = ",".join(map(str, kw["default"]))
        help_text = f"{help_text} ({_shown_default(command, opt.dest)})" if help_text else _shown_default(
            command, opt.dest)
    if not opt.flags[0].startswith("-"):
        kw.pop("dest", None)
    target.add_argument(*opt.flags, help=help_text, **kw)


def _add_command(sub, command):
    p = sub.add_parser(command.name, help=command.help, description=command.description,
                       epilog="examples:\n" + "\n".join(f"  rsa-lineardyn {e}" for e in command.examples),
                       formatter_class=_FMT)
    groups = {}
    for opt in command.options:
        if opt.group is not None:
            target = groups.setdefault(opt.group, p.add_argument_group(opt.group))
        else:
            target = p
        _add_option(target, command.name, opt)
    p.add_argument("--out-dir", default="out", help="output folder (default: out)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    loud = p.add_mutually_exclusive_group()
    for flag, text in _LOUD:
        loud.add_argument(flag, action="store_true", default=argparse.SUPPRESS, help=text)
    p.set_defaults(func=command.func)


def build_parser():
    """The ``rsa-lineardyn`` parser, built from :data:`COMMANDS`."""
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
    for flag, text in _LOUD:
        loud.add_argument(flag, action="store_true", help=text)
    names = ",".join(c.name for c in COMMANDS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + names + "}", parser_class=_Parser)
    for command in COMMANDS:
        _add_command(sub, command)
    return parser
