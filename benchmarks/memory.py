"""Peak memory vs size: NTK trajectories and wide initialisations (issue 11, memory part).

Every case runs in a fresh Python process, so the figures do not depend on what ran before. Two
measures per case:

* ``tracemalloc`` peak: the largest total of live Python/numpy allocations during the case (numpy
  registers its buffers with tracemalloc; LAPACK work arrays are numpy buffers too);
* ``ru_maxrss`` increase: the process's peak resident set after the case minus before it (after
  imports and setup), from ``resource.getrusage``; coarse (page granularity, allocator reuse) but
  independent of tracemalloc.

Cases (``--quick`` runs the smaller sizes only):

* NTK RDMs of the 92-image task (P = 92 items, n_out = 11 outputs, so the NTK is 1012 x 1012 =
  8.2 MB per time point), exact trajectory from the task-aligned start, ``T`` time points:
  ``dense`` is the previous path (the full NTK array, then ``gram_to_rdm`` on it);
  ``trajectory_rdms`` is ``rl.trajectory_rdms(traj, "ntk")`` (the result filled block by block);
  ``stream`` iterates ``rl.ntk_series(traj)`` and turns each time point into an RDM (keeping the
  running mean only: memory independent of ``T``); ``ntk budget`` is ``rl.ntk(traj)`` with the
  default 2 GiB budget (at T = 1000 the full array would be 7.6 GiB: a clear error instead).
* Initialisations, ``n_in = 10``, ``n_out = 5``, ``lam = 0``: ``balanced_init`` +
  ``measure_balance`` (new), ``task_aligned_init`` + ``measure_balance`` (new), and the previous
  construction (full ``N_h x N_h`` random rotation, dense balance meter) at the sizes where it fits.
  ``balanced_init`` up to ``N_h = 8192`` consumes the random numbers of the full rotation (same
  seeded draws as before, ``O(N_h^2)`` time); wider, it draws only the ``N_h x 10`` block.

Usage::

    python benchmarks/memory.py            # about 1 minute on 2 shared cores
    python benchmarks/memory.py --quick    # about 20 s

Writes ``benchmarks/results/memory.json`` and ``memory.md`` (atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time, tracemalloc
sys.path.insert(0, ROOT)
import numpy as np
import rsa_lineardyn as rl
from rsa_lineardyn.dynamics.initialization import _assemble
from rsa_lineardyn.representations.geometry import _ntk_dense, hidden_rsm

case = json.loads(sys.argv[1])

def old_balanced_init(n_in, h, n_out, scale, seed):
    rng = np.random.default_rng(seed)
    G1 = rng.standard_normal((h, n_in)) * scale
    G2 = rng.standard_normal((n_out, h)) * scale
    U, a, Vt = np.linalg.svd(G2 @ G1, full_matrices=True)
    q, r = np.linalg.qr(rng.standard_normal((h, h)))
    return _assemble(U, Vt.T, q * np.sign(np.diag(r)), a, 0.0, n_in, h, n_out)

def old_measure_balance(W1, W2):
    D = W2.T @ W2 - W1 @ W1.T
    lam = np.trace(D) / D.shape[0]
    return float(np.linalg.norm(D - lam * np.eye(D.shape[0])) / (np.linalg.norm(W2.T @ W2) + np.linalg.norm(W1 @ W1.T)))

setup = {}
if case["kind"] == "ntk":
    task = rl.load_92images_task()
    W1, W2 = rl.task_aligned_init(task, 5, scale=0.1)
    traj = rl.exact_dynamics(task, W1, W2, np.geomspace(0.01, 20.0, case["T"]))
elif case["kind"] == "init" and case["method"] == "task_aligned_init":
    rng = np.random.default_rng(0)
    task = rl.Task(rng.standard_normal((10, 40)), rng.standard_normal((5, 40)))

rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
t0 = time.perf_counter()
out = {}
try:
    if case["kind"] == "ntk":
        m = case["method"]
        if m == "dense":
            X = task.X
            D = rl.gram_to_rdm(_ntk_dense(hidden_rsm(traj), traj.w2w2t, X.T @ X))
            out["result_bytes"] = D.nbytes
        elif m == "trajectory_rdms":
            try:
                D = rl.trajectory_rdms(traj, "ntk")
                out["result_bytes"] = D.nbytes
            except rl.InputValueError as exc:
                out["error"] = str(exc)
        elif m == "stream":
            acc = None
            for K in rl.ntk_series(traj):
                R = rl.gram_to_rdm(K)
                acc = R if acc is None else acc + R
            out["result_bytes"] = acc.nbytes
        elif m == "ntk budget":
            try:
                K = rl.ntk(traj)
                out["result_bytes"] = K.nbytes
            except rl.InputValueError as exc:
                out["error"] = str(exc)
    else:
        h, n_in, n_out = case["N_h"], 10, 5
        m = case["method"]
        if m == "balanced_init":
            W1, W2 = rl.balanced_init(n_in, h, n_out, 0.0, scale=0.3, seed=0)
            out["relative_deviation"] = rl.measure_balance(W1, W2).relative_deviation
        elif m == "task_aligned_init":
            W1, W2 = rl.task_aligned_init(task, h, 0.0, scale=0.3)
            out["relative_deviation"] = rl.measure_balance(W1, W2).relative_deviation
        elif m == "previous":
            W1, W2 = old_balanced_init(n_in, h, n_out, 0.3, 0)
            out["relative_deviation"] = old_measure_balance(W1, W2)
        out["result_bytes"] = W1.nbytes + W2.nbytes
except MemoryError as exc:
    out["error"] = "MemoryError: " + str(exc)
out["seconds"] = time.perf_counter() - t0
out["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out["maxrss_increase"] = (rss1 - rss0) * (1 if sys.platform == "darwin" else 1024)
print(json.dumps(out))
"""


def run_case(case):
    """Run one case in a fresh process; returns the case dict with its measurements."""
    code = CHILD.replace("ROOT", repr(str(ROOT)))
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(case)], capture_output=True, text=True, env=env,
                          check=False)
    if proc.returncode != 0:
        return {**case, "error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}"}
    return {**case, **json.loads(proc.stdout.strip().splitlines()[-1])}


def mib(n):
    return "" if n is None else f"{n / 2**20:,.1f}"


def table(rows):
    lines = [("| case | size | method | result (MiB) | tracemalloc peak (MiB) | ru_maxrss increase (MiB) | "
              "previous path would need | seconds | note |"), "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        size = f"T = {r['T']}" if r["kind"] == "ntk" else f"N_h = {r['N_h']}"
        note = ""
        if "error" in r:
            note = "error: " + r["error"].split(". ")[0][:140]
        elif "relative_deviation" in r:
            note = f"balance rel. deviation {r['relative_deviation']:.1e}"
        lines.append(
            f"| {r['kind']} | {size} | {r['method']} | {mib(r.get('result_bytes'))} | {mib(r.get('tracemalloc_peak'))} | "
            f"{mib(r.get('maxrss_increase'))} | {r['previous_need']} | {r.get('seconds', float('nan')):.2f} | {note} |")
    return "\n".join(lines)


def write_atomic(path, text):
    """Write ``text`` to ``path`` via a temporary file in its folder (see rsa_lineardyn.data.files)."""
    from rsa_lineardyn.data.files import write_text

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text(Path(path), text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes only")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "memory"),
                    help="output path without extension (.json and .md are written)")
    args = ap.parse_args(argv)

    n_cond = 11 * 92
    cases = []
    Ts = (25, 100) if args.quick else (25, 100, 1000)
    for T in Ts:
        dense_need = 8 * T * n_cond**2
        methods = ["trajectory_rdms", "stream", "ntk budget"] + (["dense"] if T <= 100 else [])
        for m in methods:
            cases.append({"kind": "ntk", "T": T, "method": m,
                          "previous_need": f"{T} x 1012^2 x 8 B = {dense_need / 2**30:.2f} GiB per array (x ~3 peak)"})
    sizes = (1000, 5000, 20000) if args.quick else (1000, 2000, 8192, 20000, 50000, 200000)
    for h in sizes:
        for m in ("balanced_init", "task_aligned_init") + (("previous",) if h <= 2000 else ()):
            cases.append({"kind": "init", "N_h": h, "method": m,
                          "previous_need": f"N_h^2 x 8 B = {8 * h * h / 2**30:.3g} GiB (rotation) + 3x for the meter"})
    t0 = time.perf_counter()
    rows = []
    for case in cases:
        r = run_case(case)
        rows.append(r)
        print(f"{case['kind']:5s} {case.get('T', case.get('N_h')):>6} {case['method']:18s} "
              f"peak {mib(r.get('tracemalloc_peak')):>10} MiB  rss+ {mib(r.get('maxrss_increase')):>10} MiB  "
              f"{r.get('seconds', float('nan')):7.2f} s {r.get('error', '')[:80]}", flush=True)
    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True,
                          check=False)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "seconds": time.perf_counter() - t0,
            "git_head": head.stdout.strip(), "python": platform.python_version(), "numpy": np.__version__,
            "cpus": os.cpu_count(), "loadavg": os.getloadavg(), "quick": args.quick, "blas_threads": 1}
    out = Path(args.out)
    write_atomic(out.with_suffix(".json"), json.dumps({"meta": meta, "rows": rows}, indent=1, default=str) + "\n")
    md = (f"# Peak memory vs size (`python benchmarks/memory.py{' --quick' if args.quick else ''}`)\n\n"
          f"{meta['date']}, code at `{meta['git_head']}`, {meta['cpus']} CPUs (load {meta['loadavg'][0]:.1f}), "
          f"numpy {meta['numpy']}, BLAS 1 thread, {meta['seconds']:.0f} s. Each case in a fresh process; "
          "seconds are under tracemalloc (slower than normal).\n\n" + table(rows) + "\n")
    write_atomic(out.with_suffix(".md"), md)
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
