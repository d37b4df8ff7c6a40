"""Thousands of conditions (issue 21, items): fit_rdms and compare_widths against rsatoolbox, side by side.

The case of the issue: a one-hot task with ``P`` items and ``n_out = 30`` random outputs (whitened), 8 subjects
whose data RDMs are squared-Euclidean RDMs of the outputs plus independent noise per subject (rsatoolbox
``calc_rdm``), widths ``[2, 8]``, every other setting a package default (``fit_rdms``: ``init="random"``,
``n_times=61``, ``n_lam=12``, ``n_boot=100``, ``start_check="widen"``; ``compare_widths``: its defaults).

For every ``P`` each case runs in a fresh Python process (one BLAS thread) that reports its wall time and its
peak resident memory (``ru_maxrss`` of the process, which includes the interpreter and imports):

* ``fit``: ``rl.fit_rdms(data, task, n_hidden=[2, 8])``;
* ``compare``: ``rl.compare_widths(data, task, widths=(2, 8))``;
* ``rsa_eval_fixed``: rsatoolbox scoring the candidate RDMs of ``fit_rdms``'s default grid (both widths x
  their ``lam`` grid x the unique times of the design) against the data: ``rsatoolbox.inference.eval_fixed``
  on a list of ``ModelFixed`` (one per candidate RDM, 61 per call; the predictions are made by this package beforehand, outside the
  timed part, a width and a ``lam`` at a time);
* ``rsa_compare``: the same candidate RDMs scored by ``rsatoolbox.rdm.compare`` (method ``corr``), 61 at a time.

Usage::

    python benchmarks/items_scale.py --sizes 200 400 700 1000
    python benchmarks/items_scale.py --sizes 200 --cases fit rsa_eval_fixed   # a quick look

Writes ``benchmarks/results/items_scale.json`` and ``items_scale.md`` (atomically); sizes already in the JSON
file and not run again are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("fit", "compare", "rsa_eval_fixed", "rsa_compare")

CHILD = r"""
import json, resource, sys, time, warnings
sys.path.insert(0, ROOT)
import numpy as np
import rsatoolbox
import rsa_lineardyn as rl

P, case = int(sys.argv[1]), sys.argv[2]
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
Y = rng.standard_normal((30, P))
task = rl.whiten(rl.Task(np.eye(P), Y, labels=[f"item{i}" for i in range(P)]))
data = []
for s in range(8):
    pats = Y.T + 1.0 * rng.standard_normal((P, 30))
    ds = rsatoolbox.data.Dataset(pats, descriptors={"subject": f"s{s}"},
                                 obs_descriptors={"item": np.array(task.labels)})
    data.append(rsatoolbox.rdm.calc_rdm(ds, method="euclidean", descriptor="item"))
data = rsatoolbox.rdm.concat(data)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {"P": P, "case": case, "n_pairs": P * (P - 1) // 2}
t0 = time.perf_counter()
if case == "fit":
    res = rl.fit_rdms(data, task, n_hidden=[2, 8])
    out["best_n_hidden"] = int(res.best["n_hidden"])
elif case == "compare":
    res = rl.compare_widths(data, task, widths=(2, 8))
    out["models"] = [str(x) for x in res.table["model"]]
else:
    from rsa_lineardyn.inference.design import _lam_values, make_design
    from rsatoolbox.inference import eval_fixed
    from rsatoolbox.model import ModelFixed
    design = make_design(data, task)
    elapsed, n_cand = 0.0, 0
    for h in (2, 8):
        m = rl.LinearNetworkModel(task, n_hidden=h, item_order=data)
        for lam in _lam_values(None, h, task, 12):
            V = m.predict_times(design.uniq, np.array([lam, 0.0]))  # (U, n_pairs): made outside the timed part
            t1 = time.perf_counter()
            if case == "rsa_eval_fixed":
                eval_fixed([ModelFixed(f"c{i}", v) for i, v in enumerate(V)], data, method="corr")
            else:
                rsatoolbox.rdm.compare(rsatoolbox.rdm.RDMs(V), data, method="corr")
            elapsed += time.perf_counter() - t1
            n_cand += V.shape[0]
            del V
    out["n_candidate_rdms"] = n_cand
t = time.perf_counter() - t0
out["seconds"] = elapsed if case.startswith("rsa") else t
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
out["setup_rss_mb"] = base / 1024.0
print(json.dumps(out))
"""


def run_case(P, case):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", CHILD.replace("ROOT", repr(str(ROOT))), str(P), case],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"P": P, "case": case, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "killed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table(results):
    by = {}
    for r in results:
        by.setdefault(r["P"], {})[r["case"]] = r
    lines = ["| P | condition pairs | candidate RDMs | fit_rdms s (peak MB) | compare_widths s (peak MB) | "
             "rsatoolbox eval_fixed s | rsatoolbox compare s | fit / eval_fixed | fit / compare | "
             "compare_widths / eval_fixed | compare_widths / compare |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]

    def cell(r):
        if r is None:
            return "-"
        if "error" in r:
            return f"failed: {r['error'][:60]}"
        return f"{r['seconds']:.1f} ({r['peak_rss_mb']:.0f})"

    def ratio(c, k, ref):
        ok = k in c and ref in c and "seconds" in c[k] and "seconds" in c[ref]
        return f"{c[k]['seconds'] / c[ref]['seconds']:.2f}x" if ok else "-"

    for P in sorted(by):
        c = by[P]
        n_c = c.get("rsa_eval_fixed", c.get("rsa_compare", {})).get("n_candidate_rdms", "-")
        lines.append(f"| {P} | {P * (P - 1) // 2:,} | {n_c} | {cell(c.get('fit'))} | {cell(c.get('compare'))} | "
                     f"{cell(c.get('rsa_eval_fixed')).split(' (')[0]} | {cell(c.get('rsa_compare')).split(' (')[0]} | "
                     f"{ratio(c, 'fit', 'rsa_eval_fixed')} | {ratio(c, 'fit', 'rsa_compare')} | "
                     f"{ratio(c, 'compare', 'rsa_eval_fixed')} | {ratio(c, 'compare', 'rsa_compare')} |")
    sizes = sorted(by)
    pairs = [(a, b) for a, b in zip(sizes, sizes[1:])]
    if 400 in by and 1000 in by and (400, 1000) not in pairs:
        pairs.append((400, 1000))
    import math

    for lo, hi in pairs:
        growth = []
        for k in CASES:
            a, b = by[lo].get(k, {}), by[hi].get(k, {})
            if "seconds" in a and "seconds" in b:
                growth.append(f"{k} P^{math.log(b['seconds'] / a['seconds']) / math.log(hi / lo):.2f}")
        if growth:
            lines.append("")
            lines.append(f"Cost growth from P = {lo} to {hi}: " + ", ".join(growth) + ".")
    return "\n".join(lines)


def _markdown(results, note=""):
    head = ("# Items scale (issue 21)\n\n"
            "One-hot task, n_out = 30, 8 subjects, widths [2, 8], package defaults; one BLAS thread, each case in a "
            "fresh process (`python benchmarks/items_scale.py`); seconds are wall time, peak MB the process's "
            "`ru_maxrss` (interpreter and imports included). The rsatoolbox columns time only rsatoolbox's "
            "scoring of the candidate RDMs of `fit_rdms`' default grid (`eval_fixed` on a list of `ModelFixed`, "
            "61 per call; `rdm.compare`, 61 RDMs per call).\n\n")
    return head + (note + "\n\n" if note else "") + _table(results) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 400, 700, 1000])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "items_scale"))
    ap.add_argument("--table-only", action="store_true", help="rewrite the .md from the .json, run nothing")
    ap.add_argument("--note", default="", help="a line for the .md (e.g. what else ran on the machine)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from rsa_lineardyn.data.files import write_text

    path = Path(args.out + ".json")
    old = json.loads(path.read_text())["results"] if path.exists() else []
    if args.table_only:
        write_text(Path(args.out + ".md"), _markdown(old, args.note))
        return
    results = [r for r in old if not (r["P"] in args.sizes and r["case"] in args.cases)]
    for P in args.sizes:
        for case in args.cases:
            r = run_case(P, case)
            print(json.dumps(r), flush=True)
            results.append(r)
            meta = {"machine": platform.platform(), "python": sys.version.split()[0], "blas_threads": 1,
                    "command": "python benchmarks/items_scale.py " + " ".join(sys.argv[1:]), "results": results}
            write_text(path, json.dumps(meta, indent=1))
            write_text(Path(args.out + ".md"), _markdown(results, args.note))


if __name__ == "__main__":
    main()
