"""Cost of the Monte-Carlo blocks: one ``compare_widths([2, 4, "wide"])`` call on the bundled 92-image data with
``mc_replicates=1`` (one block of draws: the behaviour before) and the default ``"auto"``, side by side.

Calls alternate (1, auto, 1, auto, ...) so that load on the machine hits both alike; one BLAS thread; CPU seconds
(``time.process_time``) and wall seconds, median over ``--repeats``.  Run:
``.venv/bin/python benchmarks/seed_spread_cost.py``; writes ``benchmarks/results/seed_spread_cost.{json,md}``.
"""

import argparse
import os
import subprocess
import time
import warnings
from datetime import datetime, timezone

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import rsa_lineardyn as rl  # noqa: E402
from seed_spread import write_outputs  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=["similarity_judgements", "hIT_subject_session"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "seed_spread_cost"))
    args = ap.parse_args(argv)
    task = rl.load_92images_task()
    rows = []
    for name in args.data:
        data = rl.load_92images_rdms(name)
        t = {1: [], "auto": []}
        used = {}
        for rep in range(args.repeats):
            for mc in (1, "auto"):
                c0, w0 = time.process_time(), time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = rl.compare_widths(data, task, widths=[2, 4, "wide"], random_state=rep, mc_replicates=mc,
                                            progress=False)
                t[mc].append((time.process_time() - c0, time.perf_counter() - w0))
                used.setdefault(str(mc), []).append(int(res.settings["mc_replicates_used"]))
        med = {k: np.median(np.array(v), axis=0) for k, v in t.items()}
        rows.append(dict(data=name, cpu_one=float(med[1][0]), cpu_auto=float(med["auto"][0]),
                         wall_one=float(med[1][1]), wall_auto=float(med["auto"][1]),
                         ratio_cpu=float(med["auto"][0] / med[1][0]), blocks_used=used))
    head = subprocess.run(["git", "-C", os.path.dirname(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    date = datetime.now(timezone.utc).isoformat(timespec="minutes")
    md = [f"Cost of one compare_widths([2, 4, 'wide']) call, mc_replicates=1 vs 'auto', {date}, commit {head}, "
          f"median of {args.repeats} alternating calls, one BLAS thread (2 shared cores)", "",
          "| data | CPU s, 1 block | CPU s, auto | ratio | wall s, 1 block | wall s, auto | blocks used (auto) |",
          "|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['data']} | {r['cpu_one']:.2f} | {r['cpu_auto']:.2f} | {r['ratio_cpu']:.1f}x | "
                  f"{r['wall_one']:.2f} | {r['wall_auto']:.2f} | {', '.join(map(str, r['blocks_used']['auto']))} |")
    write_outputs(args.out, {"date": date, "commit": head, "rows": rows}, md)


if __name__ == "__main__":
    main()
