"""Many regions at once: rl.fit_rois against a loop of rl.fit_rdms (issue 21, "Regions").

500 regions of the 92-image task, 4 subjects each (one RDM per subject).  Region RDMs are noisy mixtures of the
bundled hIT subject/session RDMs: subject j of region r is ``|sum_k a_rk D_k + noise|`` with Dirichlet weights
``a_r`` over the 8 subject/session RDMs (shared by the region's subjects, so regions differ) plus subject noise.

Side by side in one run, one BLAS thread, for two option sets:

* ``point``: point estimates (``n_boot=0``; refinement and start check on, as the defaults; fit_rdms still fits
  every subject, fit_rois does not: ``subject_fits=False``);
* ``default``: the package defaults (``n_boot=100``, start check, refinement).  ``fit_rdms`` also fits and
  bootstraps every subject; ``fit_rois`` reports the regions' group fits and intervals only
  (``subject_fits=False``), which do not depend on that work.

The ``fit_rdms`` loop is timed on a subset of regions (``--n-loop``, default 20) and scaled to all regions; its
best fits are compared with ``fit_rois``'s on those regions (N_h, lam, time, score).  The ``point`` call is
repeated on a dask ``LocalCluster`` (one worker, one thread, ``processes=False``) and its table compared with the
serial one.

Run:  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/rois.py [--n-roi 500] [--n-loop 20]
Writes benchmarks/results/rois.{json,md}.  Floor (issue 21): fit_rois >= 5x the throughput of the loop.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import rsa_lineardyn as rl

HERE = Path(__file__).resolve().parent
OPTIONS = {"point": dict(n_boot=0), "default": dict()}


def simulate_regions(n_roi, n_sub=4, noise=0.3, seed=0):
    """RDMs of ``n_roi`` regions x ``n_sub`` subjects (rdm descriptors ``roi``, ``subject``), 92 images."""
    from rsatoolbox.rdm import RDMs

    src = rl.load_92images_rdms("hIT_subject_session")
    D = src.get_vectors().astype(float)
    rng = np.random.default_rng(seed)
    vecs, roi, subj = [], [], []
    for r in range(n_roi):
        a = rng.dirichlet(np.full(D.shape[0], 0.5))
        base = a @ D
        for s in range(n_sub):
            vecs.append(np.abs(base + rng.normal(0, noise * base.std(), base.size)))
            roi.append(r)
            subj.append(f"s{s}")
    return RDMs(np.array(vecs), dissimilarity_measure=src.dissimilarity_measure,
                rdm_descriptors={"roi": np.array(roi), "subject": np.array(subj)},
                pattern_descriptors={"item": np.asarray(src.pattern_descriptors["item"])})


def compare_rows(table, fits):
    """Largest differences between fit_rois rows and fit_rdms fits of the same regions."""
    out = {"n_checked": len(fits), "same_n_hidden": 0, "max_abs_diff": {}}
    for k in ("lam", "time", "score"):
        out["max_abs_diff"][k] = 0.0
    for r, fit in fits.items():
        row = table.set_index("roi").loc[r]
        out["same_n_hidden"] += int(row["n_hidden"] == fit.best["n_hidden"])
        for k in ("lam", "time", "score"):
            out["max_abs_diff"][k] = max(out["max_abs_diff"][k], abs(float(row[k]) - float(fit.best[k])))
    return out


def run_option(name, data, task, n_loop, dask_check):
    opts = dict(OPTIONS[name], random_state=0, progress=False)
    n_roi = len(np.unique(data.rdm_descriptors["roi"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        res = rl.fit_rois(data, task, **opts)
        t_rois = time.perf_counter() - t0
        loop_rois = list(range(n_loop))
        fits = {}
        t0 = time.perf_counter()
        for r in loop_rois:
            fits[r] = rl.fit_rdms(data.subset("roi", r), task, **opts)
        t_loop = time.perf_counter() - t0
    per_loop = t_loop / n_loop
    out = {"options": {k: v for k, v in opts.items() if k != "progress"}, "n_roi": n_roi,
           "fit_rois_s": t_rois, "fit_rois_s_per_region": t_rois / n_roi,
           "loop_regions_timed": n_loop, "loop_s_timed": t_loop, "loop_s_per_region": per_loop,
           "loop_s_scaled": per_loop * n_roi, "throughput_ratio": per_loop * n_roi / t_rois,
           "agreement": compare_rows(res.table, fits),
           "n_hidden_counts": {int(k): int(v) for k, v in res.table["n_hidden"].value_counts().sort_index().items()}}
    if dask_check:
        out["dask"] = dask_run(data, task, opts, res.table)
    return out


def dask_run(data, task, opts, serial_table):
    from dask.distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            t0 = time.perf_counter()
            res = rl.fit_rois(data, task, client=client, **opts)
            t = time.perf_counter() - t0
    try:
        pd.testing.assert_frame_equal(serial_table, res.table)
        same = True
    except AssertionError:
        same = False
    return {"cluster": "LocalCluster(n_workers=1, threads_per_worker=1, processes=False)", "fit_rois_s": t,
            "same_table": same}


def report(results, args):
    lines = ["# fit_rois vs a loop of fit_rdms (benchmarks/rois.py)", "",
             f"{args.n_roi} regions of the 92-image task (rl.load_92images_task()), 4 subjects each (noisy Dirichlet "
             "mixtures of the bundled hIT subject/session RDMs), one BLAS thread, one process, side by side in one run. "
             f"The fit_rdms loop is timed on the first {args.n_loop} regions and scaled to {args.n_roi}.", "",
             "| options | fit_rois (s) | per region (s) | fit_rdms loop per region (s) | loop scaled (s) | "
             "throughput ratio | same N_h (checked) | max diff lam / time / score |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        a = r["agreement"]
        d = a["max_abs_diff"]
        lines.append(f"| {name} ({json.dumps(r['options'])}) | {r['fit_rois_s']:.1f} | {r['fit_rois_s_per_region']:.3f} | "
                     f"{r['loop_s_per_region']:.2f} | {r['loop_s_scaled']:.0f} | **{r['throughput_ratio']:.1f}x** | "
                     f"{a['same_n_hidden']}/{a['n_checked']} | {d['lam']:.1e} / {d['time']:.1e} / {d['score']:.1e} |")
    for name, r in results.items():
        if "dask" in r:
            lines += ["", f"dask ({name}): {r['dask']['cluster']}: {r['dask']['fit_rois_s']:.1f} s, same table as "
                          f"serial: {r['dask']['same_table']}"]
    lines += ["", "Floor (issue 21): >= 5x, same best N_h on every region checked.", "",
              f"Machine: {platform.platform()}, Python {platform.python_version()}; "
              f"`OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/rois.py --n-roi {args.n_roi} "
              f"--n-loop {args.n_loop}`"]
    return "\n".join(lines) + "\n"


def main(argv=None):
    from threadpoolctl import threadpool_limits

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-roi", type=int, default=500)
    ap.add_argument("--n-loop", type=int, default=20)
    ap.add_argument("--options", default="point,default", help="comma-separated option sets: point, default")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results" / "rois"))
    args = ap.parse_args(argv)
    task = rl.load_92images_task()
    data = simulate_regions(args.n_roi)
    results = {}
    with threadpool_limits(1):
        for i, name in enumerate(args.options.split(",")):
            results[name] = run_option(name, data, task, args.n_loop, dask_check=(i == 0 and not args.no_dask))
            print(name, json.dumps(results[name], default=str), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from rsa_lineardyn.data.files import write_text

    write_text(args.out + ".json", json.dumps({"n_roi": args.n_roi, "n_loop": args.n_loop, "results": results},
                                              indent=2, default=str))
    write_text(args.out + ".md", report(results, args))
    print(report(results, args))


if __name__ == "__main__":
    main()
