"""CPU time of the default fits and tests, this checkout vs another checkout, side by side in one run.

Each case runs in a fresh subprocess per checkout (``PYTHONPATH`` set to the checkout; one BLAS thread), the two
checkouts interleaved, best of ``--repeat``; times are ``time.process_time`` of the call, so other load on a
shared machine disturbs them less than wall time.  Cases (defaults of the checkout being timed):

* ``hIT fit``: ``rl.fit_rdms(hIT, task92, n_boot=0)`` (one mean RDM; all widths);
* ``judgements compare``: ``rl.compare_widths(judgements, task92, widths=[2, 4, "wide"])`` (16 subjects);
* ``staged fit``: ``rl.fit_rdms(data, semantic, n_hidden=[3], scale=0.01, n_boot=100)`` on 8 simulated subjects
  x 3 stages (the calibration's lam cell).

Run: ``.venv/bin/python benchmarks/inference_speed.py --baseline /tmp/base [--repeat 2]`` (e.g.
``git worktree add /tmp/base defcbf2``); writes ``benchmarks/results/inference_speed.json`` and ``.md``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CASE = r'''
import sys, time, warnings, json
import numpy as np
from threadpoolctl import threadpool_limits
warnings.simplefilter("ignore")
import rsa_lineardyn as rl
case = sys.argv[1]
if case == "staged fit":
    from rsa_lineardyn.inference.recovery import simulate_voxel_rdms
    task = rl.load_semantic_task()
    data = simulate_voxel_rdms(task, 3, 2.0, 0.01, (3.0, 6.0, 12.0), noise=0.25, init="random", per_subject=True,
                               lr=0.01, seed=np.random.default_rng(5), n_subjects=8, n_runs=4, n_voxels=100)
else:
    task = rl.load_92images_task()
    data = rl.load_92images_rdms("hIT" if case == "hIT fit" else "similarity_judgements")
with threadpool_limits(1):
    t0 = time.process_time()
    if case == "hIT fit":
        out = rl.fit_rdms(data, task, n_boot=0).best["score"]
    elif case == "judgements compare":
        out = float(rl.compare_widths(data, task, widths=[2, 4, "wide"]).table["mean"].iloc[0])
    else:
        out = rl.fit_rdms(data, task, n_hidden=[3], scale=0.01, n_boot=100).best["score"]
    print(json.dumps({"seconds": time.process_time() - t0, "value": float(out)}))
'''


def run(path, case):
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:  # not inside either checkout: the import comes from PYTHONPATH
        out = subprocess.run([sys.executable, "-c", CASE, case], cwd=tmp, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{case} in {path} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="path of the other checkout")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "inference_speed"))
    args = ap.parse_args(argv)
    rows = []
    for case in ("hIT fit", "judgements compare", "staged fit"):
        best = {"this": None, "baseline": None}
        for _ in range(args.repeat):
            for who, path in (("baseline", args.baseline), ("this", ROOT)):
                r = run(path, case)
                if best[who] is None or r["seconds"] < best[who]["seconds"]:
                    best[who] = r
        row = {"case": case, "this_s": best["this"]["seconds"], "baseline_s": best["baseline"]["seconds"],
               "ratio": best["this"]["seconds"] / best["baseline"]["seconds"], "this_value": best["this"]["value"],
               "baseline_value": best["baseline"]["value"]}
        rows.append(row)
        print(f"{case}: {row['this_s']:.2f} s vs {row['baseline_s']:.2f} s ({row['ratio']:.2f}x)", file=sys.stderr)
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    base = subprocess.run(["git", "-C", args.baseline, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    meta = {"date": datetime.now(timezone.utc).isoformat(timespec="minutes"), "this": head.stdout.strip(),
            "baseline": base.stdout.strip(), "repeat": args.repeat, "cpus": os.cpu_count()}
    md = [f"Inference speed, {meta['date']}: this checkout {meta['this']} vs {meta['baseline']} (CPU seconds, best of "
          f"{args.repeat}, one BLAS thread, subprocesses interleaved)", "",
          "| case | this | baseline | ratio |", "|---|---|---|---|"]
    md += [f"| {r['case']} | {r['this_s']:.2f} s | {r['baseline_s']:.2f} s | {r['ratio']:.2f}x |" for r in rows]
    for ext, text in ((".json", json.dumps({"meta": meta, "rows": rows}, indent=1)), (".md", "\n".join(md) + "\n")):
        tmp = args.out + ext + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.out + ext)


if __name__ == "__main__":
    main()
