"""The ``fit-rois`` subcommand: :func:`rsa_lineardyn.fit_rois` on every region of a data file.

``add_parser(subparsers)`` declares it, ``run(args)`` runs it (``rsa-lineardyn fit-rois --help``).  Writes
``<prefix>_rois.csv`` (one row per region) and ``<prefix>_rois.npz`` (the table's numeric columns as arrays, with
``roi`` and, for integer regions such as searchlight centres, ``centres``), all or none.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Declare ``fit-rois`` on the ``subparsers`` of ``rsa-lineardyn``; returns its parser."""
    p = subparsers.add_parser(
        "fit-rois", help="fit width, balance and time to every region of data RDMs (CSV, NPZ)",
        description="rl.fit_rois: rl.fit_rdms on every region (ROI or searchlight centre) of DATA, the predictions "
                    "shared across regions. DATA is an rsatoolbox .hdf5 (or trusted .pkl) RDMs file, or an .npz, whose "
                    "rdm descriptor --roi-descriptor names each RDM's region (default: roi, region or voxel_index, "
                    "the centre rsatoolbox's get_searchlight_RDMs attaches); other descriptors (subject, stage) are "
                    "read per region as `fit` reads them. Writes <prefix>_rois.csv (one row per region) and "
                    "<prefix>_rois.npz (its numeric columns, roi, centres).",
        epilog="examples:\n"
               "  rsa-lineardyn fit-rois searchlight.hdf5 --task 92images --labels a,b,c,... --n-boot 0\n"
               "  rsa-lineardyn fit-rois atlas_rdms.hdf5 --task items.csv --widths 1,2,4 --n-jobs -1",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="data RDMs of all regions: .hdf5/.pkl/.npz file")
    p.add_argument("--task", required=True, help="the task the network learns: bundled name or .csv/.npz file")
    p.add_argument("--out-dir", default="out", help="output folder (default: out)")
    p.add_argument("--prefix", help="file name prefix (default: the data file name with dots as underscores)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    loud = p.add_mutually_exclusive_group()
    loud.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                      help="debug messages, and full tracebacks on errors")
    loud.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                      help="no notices and no progress bars (warnings and errors only)")
    p.add_argument("--roi-descriptor", default="auto", help="rdm descriptor naming the regions (default: auto)")
    p.add_argument("--labels", help="comma-separated task item label of every condition, for RDMs without labels "
                                    "(a searchlight's conditions: sorted unique events)")
    p.add_argument("--widths", help="comma-separated hidden widths (default: rl.fit_rdms's)")
    p.add_argument("--lam", type=float, help="fix lambda instead of fitting it")
    p.add_argument("--method", default="corr", help="rsatoolbox compare method (default corr)")
    p.add_argument("--init", choices=("random", "aligned"), default="random", help="assumed start (default random)")
    p.add_argument("--n-boot", type=int, default=100, help="bootstrap samples per region (default 100; 0: none)")
    p.add_argument("--seed", type=int, default=0, help="the one seed (default 0; the same for every region)")
    p.add_argument("--no-start-check", action="store_true", help="skip the refit under the other assumed start")
    p.add_argument("--no-refine", action="store_true", help="grid optimum only (no continuous refinement)")
    p.add_argument("--subject-descriptor", default="auto", help="rdm descriptor naming subjects, or 'none'")
    p.add_argument("--stage-descriptor", default="auto", help="rdm descriptor naming stages, or 'none'")
    p.add_argument("--n-jobs", type=int, default=1, help="joblib workers over regions (default 1; -1: all cores)")
    p.add_argument("--trust-pickle", action="store_true", help="read a .pkl data file (only your own files)")
    p.set_defaults(func=run)
    return p


def _none(text):
    return None if text.strip().lower() == "none" else text.strip()


def run(args):
    """Run ``fit-rois``: fit, then write the table and the arrays (all or none); returns the exit code 0."""
    import numpy as np

    import rsa_lineardyn as rl

    from ..data.files import write_outputs
    from .common import CLIError, _check_outputs, _progress, _show_progress
    from .inputs import load_data_rdms, load_task

    out_dir = Path(args.out_dir)
    prefix = args.prefix or Path(args.data).name.replace(".", "_")
    csv_path, npz_path = out_dir / f"{prefix}_rois.csv", out_dir / f"{prefix}_rois.npz"
    _check_outputs([csv_path, npz_path], args.force)
    data = load_data_rdms(args.data, trust_pickle=args.trust_pickle)
    task = load_task(args.task)
    labels = None if args.labels is None else [x.strip() for x in args.labels.split(",")]
    widths = None if args.widths is None else [int(w) for w in args.widths.split(",")]
    _progress(f"fitting every region of {args.data} with rl.fit_rois ...")
    try:
        res = rl.fit_rois(data, task, n_hidden=widths, lam=args.lam, roi_descriptor=args.roi_descriptor,
                          condition_labels=labels, method=args.method, init=args.init, n_boot=args.n_boot,
                          random_state=args.seed, start_check=None if args.no_start_check else "widen",
                          refine=not args.no_refine, subject_descriptor=_none(args.subject_descriptor),
                          stage_descriptor=_none(args.stage_descriptor), n_jobs=args.n_jobs,
                          progress=_show_progress(args))
    except (rl.InputValueError, rl.InputTypeError) as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    arrays = res.arrays()
    if arrays["roi"].dtype.kind not in "iuf":
        arrays["roi"] = arrays["roi"].astype(str)
    write_outputs([(csv_path, lambda p: res.table.to_csv(p, index=False)),
                   (npz_path, lambda p: np.savez(p, **arrays))], force=args.force)
    _progress(f"{len(res.table)} region(s): wrote {csv_path} and {npz_path}")
    return 0
