"""The ``fit-rois`` subcommand: :func:`rsa_lineardyn.fit_rois` on every region of a data file.

Its options are declared in the one option table (:data:`rsa_lineardyn.cli.options.COMMANDS`); ``run(args)`` runs it
(``rsa-lineardyn fit-rois --help``).  Writes
``<prefix>_rois.csv`` (one row per region), ``<prefix>_rois.npz`` (the table's numeric columns as arrays, with
``roi`` and, for integer regions such as searchlight centres, ``centres``) and ``<prefix>_rois.json`` (the settings,
among them the seed and the Monte-Carlo draws, and the messages), all or none.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["run"]


def _none(text):
    return None if text.strip().lower() == "none" else text.strip()


def _stage_order(text):
    """``--stage-order A,B,C`` as a list (None when not given)."""
    return None if text is None else [x.strip() for x in text.split(",") if x.strip()]


def run(args):
    """Run ``fit-rois``: fit, then write the table and the arrays (all or none); returns the exit code 0."""
    import numpy as np

    import rsa_lineardyn as rl

    from ..data.files import write_outputs
    import json

    from .common import CLIError, _check_outputs, _plain, _progress, _show_progress
    from .inputs import _one_line, load_data_rdms, load_task

    from .commands import _check_run_numbers, _prefix

    _check_run_numbers(args)  # --seed, --n-boot, --n-draws: errors that name the flag, before any file is read
    out_dir = Path(args.out_dir)
    prefix = _prefix(args)  # a plain file name inside --out-dir (92images:hIT -> 92images_hIT), as fit and compare
    csv_path, npz_path, json_path = (out_dir / f"{prefix}_rois.{ext}" for ext in ("csv", "npz", "json"))
    _check_outputs([csv_path, npz_path, json_path], args.force)
    data = load_data_rdms(args.data, trust_pickle=args.trust_pickle)
    task = load_task(args.task)
    labels = None if args.labels is None else [x.strip() for x in args.labels.split(",")]
    if labels is not None:
        from .inputs import _check_label_list

        _check_label_list(labels, args.labels)
    widths = None
    if args.widths is not None:  # as `fit --widths`: ints, ranges like 1-3 and 'wide' (max(n_in, n_out) of the task)
        from .commands import _check_wide_clash, _flat_widths
        from .inputs import _check_distinct_widths, _parse_widths

        _check_wide_clash(_parse_widths(args.widths, task), task, args.widths, ranges=True)
        widths = _flat_widths(args.widths, task)
        _check_distinct_widths(widths, args.widths)
    _progress(f"fitting every region of {args.data} with rl.fit_rois ...")
    try:
        res = rl.fit_rois(data, task, n_hidden=widths, lam=args.lam, roi_descriptor=args.roi_descriptor,
                          condition_labels=labels, method=args.method, init=args.init, n_boot=args.n_boot,
                          random_state=args.seed, start_check=None if args.no_start_check else "widen",
                          refine=not args.no_refine, subject_descriptor=_none(args.subject_descriptor),
                          stage_descriptor=_none(args.stage_descriptor), stage_order=_stage_order(args.stage_order),
                          condition_descriptor=args.condition_descriptor.strip(), n_jobs=args.n_jobs,
                          on_error=args.on_error, progress=_show_progress(args),
                          **({} if args.n_draws is None else {"n_draws": args.n_draws}))
    except (rl.InputValueError, rl.InputTypeError) as exc:
        raise CLIError(_one_line(exc)) from None
    arrays = res.arrays()
    if arrays["roi"].dtype.kind not in "iuf":
        arrays["roi"] = arrays["roi"].astype(str)
    record = {"data": str(args.data), "task": task.name, "seed": args.seed,
              "condition_labels_from": "--labels" if labels is not None else "the data file",
              "lam": "fitted" if args.lam is None else args.lam, "refine": not args.no_refine,
              "settings": _plain(res.settings),
              "messages": list(res.messages), "csv": str(csv_path), "npz": str(npz_path)}
    write_outputs([(csv_path, lambda p: res.table.to_csv(p, index=False)),
                   (npz_path, lambda p: np.savez(p, **arrays)),
                   (json_path, lambda p: p.write_text(json.dumps(record, indent=2)))], force=args.force)
    for m in res.messages:
        _progress(m)
    _progress(f"{len(res.table)} region(s): wrote {csv_path}, {npz_path} and {json_path}")
    return 0
