"""Cost of ``rl.exact_dynamics`` on weights on an invariant manifold vs generic weights (issue 11).

    python benchmarks/manifold_cost.py [--sizes 200,400] [--times 8] [--blas-threads 1]
                                       [--out benchmarks/results/manifold_cost]

lam = 0 square networks (``n_in = n_out = n_hidden = N``) on one random whitened task: about half of the
balanced draws have ``det(W2 W1)`` of the other sign than ``det(Syx)``, which leaves one growing mode
without a component (the rounding-level rule warns; the output never learns that mode).  For each ``N``
the first generic and the first manifold seed are timed on the same task and the same times (``--times``
points at moderate t, where the LAPACK path applies, and at long t, 1e3..1e7, where the graded QR does;
best of ``--reps`` calls), per time point and for the one-time set-up (spectrum, rule, assumption checks: a call
with a single time point).  Writes ``<out>.md`` and ``<out>.json`` atomically.
"""

import argparse
import datetime
import json
import os
import sys
import time
import warnings


def _blas_threads(argv):
    for i, a in enumerate(argv):
        if a == "--blas-threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--blas-threads="):
            return a.split("=", 1)[1]
    return "1"


_THREADS = _blas_threads(sys.argv[1:])
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = _THREADS

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import rsa_lineardyn as rl  # noqa: E402


def _task(N, seed=0):
    rng = np.random.default_rng(seed)
    X = np.eye(N) * np.sqrt(N)
    return rl.Task(X, rng.standard_normal((N, N)) * 0.7 * np.sqrt(N))


def _on_manifold(task, W1, W2):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        tr = rl.exact_dynamics(task, W1, W2, [0.0])
    return tr.info["unlearned_modes"] > 0 and any("invariant manifold" in str(w.message) for w in rec)


def _best(fn, reps=2):
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(N, n_times, hidden=None, reps=2):
    h = N if hidden is None else hidden
    task = _task(N)
    task.svd()
    seeds = {}
    for seed in range(40):
        W1, W2 = rl.balanced_init(N, h, N, 0.0, scale=0.1, seed=seed)
        kind = "manifold" if _on_manifold(task, W1, W2) else "generic"
        seeds.setdefault(kind, (seed, W1, W2))
        if len(seeds) == 2:
            break
    d_max = float(np.linalg.svd(task.sigma_yx, compute_uv=False)[0])
    grids = {"moderate": np.linspace(0.5, 250.0 / d_max, n_times),  # row scales below e^300: LAPACK path
             "long": np.geomspace(1e3, 1e7, n_times)}  # graded QR
    out = {"N": N, "n": 2 * N, "n_hidden": h, "n_times": n_times, "moderate_t_max": 250.0 / d_max}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for kind, (seed, W1, W2) in seeds.items():
            setup = _best(lambda: rl.exact_dynamics(task, W1, W2, [1.0]), reps)
            out[kind] = {"seed": seed, "setup_s": setup}
            for g, times in grids.items():
                full = _best(lambda: rl.exact_dynamics(task, W1, W2, times), reps)
                out[kind][g + "_total_s"] = full
                out[kind][g + "_per_point_s"] = max(full - setup, 0.0) / max(n_times - 1, 1)
    if "manifold" in out and "generic" in out:
        for g in grids:
            out["ratio_" + g] = out["manifold"][g + "_total_s"] / out["generic"][g + "_total_s"]
    return out


def write_atomic(path, text):
    """Write ``text`` to ``path`` via a temporary file in its folder (rsa_lineardyn.data.files)."""
    from rsa_lineardyn.data.files import write_text

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_text(path, text)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200,400", help="comma-separated N (n_in = n_out = n_hidden)")
    ap.add_argument("--times", type=int, default=8, help="time points per call")
    ap.add_argument("--hidden", type=int, default=None, help="n_hidden (default N)")
    ap.add_argument("--reps", type=int, default=2, help="calls per measurement (best of)")
    ap.add_argument("--blas-threads", default="1", help="BLAS threads (set before numpy loads)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "manifold_cost"), help="output path without suffix")
    args = ap.parse_args(argv)
    rows = [measure(int(N), args.times, args.hidden, args.reps) for N in args.sizes.split(",")]
    load = os.getloadavg()
    lines = ["# Cost on an invariant manifold vs generic weights (issue 11)", "",
             f"`python benchmarks/manifold_cost.py {' '.join(argv)}` "
             f"({datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M')} UTC, BLAS threads "
             f"{_THREADS}, load {load[0]:.1f} on {os.cpu_count()} cores, numpy {np.__version__}).", "",
             f"lam = 0, n_in = n_out = N, n_hidden = {args.hidden or 'N'}, one random whitened task; the first generic and the first "
             "manifold seed (one growing mode without a component: warned, never learned). Set-up = a call with "
             f"one time point; per point = (call with {args.times} points - set-up) / {args.times - 1}; best of {args.reps}. "
             "Two grids: moderate t (0.5 .. 250 / s_max, row scales below e^300: LAPACK path) and long t "
             "(1e3 .. 1e7: graded QR). Ratio = manifold / generic for the whole call.", "",
             "| N (n = 2N) | set-up s (generic / manifold) | per point, moderate t (generic / manifold) | ratio "
             "| per point, long t (generic / manifold) | ratio |", "|---|---|---|---|---|---|"]
    for r in rows:
        g, m = r.get("generic"), r.get("manifold")
        if g is None or m is None:
            lines.append(f"| {r['N']} | (no {'manifold' if m is None else 'generic'} seed in 40 draws) | | | | |")
            continue
        lines.append(f"| {r['N']} | {g['setup_s']:.3f} / {m['setup_s']:.3f} | {g['moderate_per_point_s']:.3f} / "
                     f"{m['moderate_per_point_s']:.3f} | {r['ratio_moderate']:.2f}x | {g['long_per_point_s']:.3f} / "
                     f"{m['long_per_point_s']:.3f} | {r['ratio_long']:.2f}x |")
    md = "\n".join(lines) + "\n"
    print(md)
    write_atomic(args.out + ".md", md)
    write_atomic(args.out + ".json", json.dumps({"command": "python benchmarks/manifold_cost.py " + " ".join(argv),
                                                  "blas_threads": _THREADS, "load": load, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
