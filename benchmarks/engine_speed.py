"""Fit time of ``rl.fit_rdms`` with ``init="aligned"`` vs ``init="random"`` (92 images), side by side.

Also the Monte Carlo error of ``init="random"`` for several ``n_draws``: the relative RMS difference of the
predicted hidden RDM (hIT items, a few widths, lam and times) from a 256-draw reference.

Times are CPU seconds of this process (``time.process_time``, one BLAS thread), best of ``--repeat``, so other
load on a shared machine disturbs them less than wall time.  ``--baseline PATH`` also times the default fit of
another checkout of the package (e.g. ``git worktree add /tmp/base 6e7f99b``, the commit issue 10 measured)
in a subprocess, interleaved with the runs here, for the ratio "init-robust fit today / aligned fit then".

Run: ``.venv/bin/python benchmarks/engine_speed.py [--baseline /tmp/base] [--repeat 2]``; writes
``benchmarks/results/engine_speed.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import rsa_lineardyn as rl

HERE = os.path.dirname(os.path.abspath(__file__))


def fit_time(data, task, init, repeat=1):
    best = np.inf
    kw = {} if init is None else {"init": init}
    for _ in range(repeat):
        t0 = time.process_time()
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore")
            res = rl.fit_rdms(data, task, method="corr", n_boot=0, **kw)
        best = min(best, time.process_time() - t0)
    return best, res.best


_BASELINE = """
import sys, time, warnings, json
import rsa_lineardyn as rl
from threadpoolctl import threadpool_limits
task = rl.load_92images_task()
data = rl.load_92images_rdms(sys.argv[1])
best = float("inf")
for _ in range(int(sys.argv[2])):
    t0 = time.process_time()
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        res = rl.fit_rdms(data, task, method="corr", n_boot=0)
    best = min(best, time.process_time() - t0)
print(json.dumps({"seconds": best, "score": float(res.best["score"]), "file": rl.__file__}))
"""


def baseline_time(path, name, repeat):
    """CPU time of the default ``fit_rdms`` of the checkout at ``path`` (its own defaults), in a subprocess."""
    env = dict(os.environ, PYTHONPATH=str(path), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", _BASELINE, name, str(repeat)], env=env, cwd=str(path),
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def mc_error(task, n_draws_list=(4, 8, 16, 32), ref_draws=256):
    cases = [(2, 0.0), (4, -1.0), (6, 0.5), (92, -0.5), (92, 0.0)]
    times = np.logspace(-1, 1.3, 5)
    out = {}
    with threadpool_limits(1):
        refs = {c: rl.LinearNetworkModel(task, n_hidden=c[0], lam=c[1], n_draws=ref_draws, seed=1000)
                .predict_times(times) for c in cases}
        for nd in n_draws_list:
            errs = []
            for c in cases:
                for seed in range(4):
                    v = rl.LinearNetworkModel(task, n_hidden=c[0], lam=c[1], n_draws=nd, seed=seed).predict_times(times)
                    errs.append(np.linalg.norm(v - refs[c], axis=1) / np.linalg.norm(refs[c], axis=1))
            out[nd] = float(np.sqrt(np.mean(np.concatenate(errs) ** 2)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="path of another checkout whose default fit_rdms is timed too")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-mc", action="store_true", help="skip the Monte Carlo error table")
    args = ap.parse_args(argv)
    task = rl.load_92images_task()
    rows = []
    for name in ("hIT", "similarity_judgements"):
        data = rl.load_92images_rdms(name)
        row = {"data": name, "n_rdm": int(data.n_rdm)}
        if args.baseline:
            base = baseline_time(args.baseline, name, args.repeat)
            row.update(baseline_s=base["seconds"], baseline_score=base["score"], baseline=str(args.baseline))
        ta, ba = fit_time(data, task, "aligned", args.repeat)
        tr, br = fit_time(data, task, "random", args.repeat)
        row.update(aligned_s=ta, random_s=tr, ratio=tr / ta,
                   best_aligned={k: v for k, v in ba.items() if isinstance(v, (int, float, str))},
                   best_random={k: v for k, v in br.items() if isinstance(v, (int, float, str))})
        if args.baseline:
            row["ratio_to_baseline"] = tr / row["baseline_s"]
        rows.append(row)
    print(f"{'data':24s} {'n_rdm':>5s} {'aligned [s]':>11s} {'random [s]':>10s} {'ratio':>6s} "
          f"{'baseline [s]':>12s} {'random/baseline':>15s}")
    for r in rows:
        print(f"{r['data']:24s} {r['n_rdm']:5d} {r['aligned_s']:11.2f} {r['random_s']:10.2f} {r['ratio']:6.2f} "
              f"{r.get('baseline_s', np.nan):12.2f} {r.get('ratio_to_baseline', np.nan):15.2f}")
    mc = {} if args.no_mc else mc_error(task)
    print("MC error of init='random' (relative RMS of the predicted hidden RDM vs 256 draws):")
    for nd, e in mc.items():
        print(f"  n_draws = {nd:3d}: {e:.4f}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "engine_speed.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"fit_rdms": rows, "mc_error_rel_rms": {str(k): v for k, v in mc.items()},
                   "load": os.getloadavg(), "clock": "process_time (CPU s), best of --repeat",
                   "commit": _commit(), "date": time.strftime("%Y-%m-%d %H:%M")}, f, indent=2, default=str)
    os.replace(tmp, path)  # atomic: a reader never sees a half-written file


def _commit():
    """The git commit of the code measured (``None`` outside a git checkout)."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                             check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rsa_lineardyn"], cwd=os.path.dirname(HERE),
                               capture_output=True, text=True, check=True).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


if __name__ == "__main__":
    main()
