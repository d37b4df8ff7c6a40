"""Accuracy of ``rl.exact_dynamics`` against the mpmath reference as the initial weights shrink (issue 11).

    python benchmarks/accuracy_scale.py [--quick] [--seeds 1] [--out benchmarks/results/accuracy_scale]

For each init scale (1e-2 .. 1e-12: products of singular values down to 1e-24), shape (bottleneck,
square, wide) and lam (< 0, 0, > 0), draws a random whitened task and lambda-balanced weights, evaluates
``QQ^T(t)`` on a time grid from 0 through the learning transitions to convergence plus ``t = inf``, and
records the worst relative error of each block separately (``W1^T W1``, ``W2 W1``, ``W2 W2^T``, each
``||A - R||_F / ||R||_F`` against its own reference block).  The reference is ``tests/_reference.py``
(``reference_qqt``: the closed form in mpmath with enough digits that its cancellation is exact) at finite
t, and at ``t = inf`` the closed-form fixed point (top eigenpairs of F; the shapes are chosen without a tie
at the boundary).  Writes ``<out>.md`` and ``<out>.json`` atomically.
"""

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

import rsa_lineardyn as rl  # noqa: E402
from _invariants import _orth, f_matrix, fixed_point_formula  # noqa: E402
from _reference import reference_qqt  # noqa: E402

BLOCKS = ("W1^T W1", "W2 W1", "W2 W2^T")
SCALES = [1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12]
LAMS = [-1.0, 0.0, 1.0]


def shapes(lam):
    """(n_in, n_hidden, n_out) per shape name; the wide shapes have no tie at the boundary of the fixed point."""
    wide = (5, 5, 2) if lam < 0 else (2, 5, 5) if lam > 0 else (2, 6, 3)
    return {"bottleneck": (5, 2, 4), "square": (4, 4, 4), "wide": wide}


def make_task(n_in, n_out, rng):
    m = min(n_in, n_out)
    s = np.sort(rng.uniform(0.3, 1.5, m))[::-1]
    U, V = _orth(rng, n_out), _orth(rng, n_in)
    syx = (U[:, :m] * s) @ V[:, :m].T
    X = np.eye(n_in) * np.sqrt(n_in)
    return rl.Task(X, syx @ X)


def draw_weights(task, n_hidden, lam, scale, rng):
    """Balanced weights, redrawn while they lie on an invariant manifold (``run.draw_weights``)."""
    sys.path.insert(0, HERE)
    from run import draw_weights as _draw

    return _draw(task, n_hidden, lam, scale, rng)[:2]


def time_grid(task, n_hidden, lam, scale, n_mid):
    """0, two tiny times, then geometric to past the slowest learned mode's transition, and inf."""
    F = f_matrix(task.sigma_yx, lam)
    d = np.sort(np.linalg.eigvalsh(F))[::-1]
    k = min(n_hidden, int(np.sum(d > 1e-12)))
    slowest = d[k - 1]
    t_end = (2 * math.log(1 / scale) + 30) / (2 * slowest)  # transition at ~ln(1/scale^2)/(2 d), then 1e-13
    return [0.0, 1e-9, 1e-4] + list(np.geomspace(0.05, t_end, n_mid)) + [math.inf]


def block_errors(P, R, n_in):
    out = []
    for sl in ((slice(0, n_in), slice(0, n_in)), (slice(n_in, None), slice(0, n_in)), (slice(n_in, None), slice(n_in, None))):
        a, r = P[sl], R[sl]
        nr = np.linalg.norm(r)
        out.append(float(np.linalg.norm(a - r) / nr) if nr > 0 else float(np.linalg.norm(a)))
    return out


def run(seeds, n_mid, seed0=0):
    rng = np.random.default_rng(seed0)
    records = []
    t0 = time.perf_counter()
    for scale in SCALES:
        for lam in LAMS:
            for shape_name, (n_in, h, n_out) in shapes(lam).items():
                for _ in range(seeds):
                    task = make_task(n_in, n_out, rng)
                    W1, W2 = draw_weights(task, h, lam, scale, rng)
                    times = time_grid(task, h, lam, scale, n_mid)
                    tr = rl.exact_dynamics(task, W1, W2, times)
                    worst, worst_t = [0.0, 0.0, 0.0], [None, None, None]
                    for t, P in zip(times, tr.qqt):
                        if math.isinf(t):
                            R = fixed_point_formula(f_matrix(task.sigma_yx, lam), h)
                            if R is None:
                                raise RuntimeError(f"tie at the boundary for {shape_name} lam={lam}: pick another shape")
                        else:
                            R = reference_qqt(task.sigma_yx, W1, W2, tr.lam, t)
                        for b, e in enumerate(block_errors(P, R, n_in)):
                            if e > worst[b]:
                                worst[b], worst_t[b] = e, t
                    records.append({"scale": scale, "lam": lam, "shape": shape_name, "dims": [n_in, h, n_out],
                                    "n_times": len(times), "t_end": times[-2], "worst": worst,
                                    "worst_t": [("inf" if (x is not None and math.isinf(x)) else x) for x in worst_t]})
    return records, time.perf_counter() - t0


def summarise(records, seconds, args):
    lines = ["# Accuracy vs init scale (issue 11)", "",
             f"`python benchmarks/accuracy_scale.py{' --quick' if args.quick else ''} --seeds {args.seeds}` "
             f"({datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M')} UTC, "
             f"{seconds:.0f} s, numpy {np.__version__}, {platform.machine()}).", "",
             "Worst relative error `||A - R||_F / ||R||_F` of each block of `QQ^T(t)`, measured against its own "
             "reference block, over shapes bottleneck (5,2,4), square (4,4,4), wide (lam<0: 5,5,2; lam=0: 2,6,3; "
             f"lam>0: 2,5,5), lam in {LAMS}, {args.seeds} random task/weights per case, and t in {{0, 1e-9, "
             f"1e-4, {args.n_mid} points geometric from 0.05 to past the slowest learned transition, inf}}. "
             "Reference: `tests/_reference.py::reference_qqt` (mpmath) at finite t, the closed-form fixed "
             "point at t = inf. Target <= 1e-10.", ""] + ([args.note, ""] if args.note else [])
    head = "| init scale | " + " | ".join(BLOCKS) + " | worst case (block, shape, lam, t) |"
    lines += [head, "|" + "---|" * (len(BLOCKS) + 2)]
    by_scale = {}
    for r in records:
        by_scale.setdefault(r["scale"], []).append(r)
    for scale in SCALES:
        rs = by_scale.get(scale, [])
        if not rs:
            continue
        w = [max(r["worst"][b] for r in rs) for b in range(3)]
        b = int(np.argmax(w))
        rw = max(rs, key=lambda r: r["worst"][b])
        lines.append(f"| {scale:.0e} | " + " | ".join(f"{x:.1e}" for x in w)
                     + f" | {BLOCKS[b]}, {rw['shape']}, lam={rw['lam']:g}, t={rw['worst_t'][b]} |")
    lines += ["", "Per shape and lam at the smallest scale:", "", "| shape | lam | " + " | ".join(BLOCKS) + " |",
              "|---|---|---|---|---|"]
    smallest = min(r["scale"] for r in records)
    for r in records:
        if r["scale"] == smallest:
            lines.append(f"| {r['shape']} {tuple(r['dims'])} | {r['lam']:g} | " + " | ".join(f"{x:.1e}" for x in r["worst"]) + " |")
    overall = max(max(r["worst"]) for r in records)
    lines += ["", f"Overall worst: {overall:.1e} (target <= 1e-10: {'met' if overall <= 1e-10 else 'NOT met'})."]
    return "\n".join(lines) + "\n", overall


def write_atomic(path, text):
    """Write ``text`` to ``path`` via a temporary file in its folder (rsa_lineardyn.data.files)."""
    from rsa_lineardyn.data.files import write_text

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_text(path, text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer time points (8 instead of 16)")
    ap.add_argument("--seeds", type=int, default=1, help="random tasks/weights per (scale, lam, shape)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "accuracy_scale"), help="output path without suffix")
    ap.add_argument("--note", default="", help="a line added under the title (e.g. which code was measured)")
    args = ap.parse_args(argv)
    args.n_mid = 8 if args.quick else 16
    records, seconds = run(args.seeds, args.n_mid)
    md, overall = summarise(records, seconds, args)
    print(md)
    payload = {"note": args.note, "command": " ".join(["python", "benchmarks/accuracy_scale.py"] + (argv if argv is not None else sys.argv[1:])),
               "seconds": seconds, "blocks": list(BLOCKS), "scales": SCALES, "lams": LAMS,
               "worst_overall": overall, "target_met": overall <= 1e-10, "records": records,
               "numpy": np.__version__, "python": platform.python_version()}
    write_atomic(args.out + ".md", md)
    write_atomic(args.out + ".json", json.dumps(payload, indent=1) + "\n")


if __name__ == "__main__":
    main()
