"""Time to fit one 92-condition RDM (hIT, 92 images) over N_h = 1..12, lam and time.

Compares rl.fit_rdms (closed-form per-mode dynamics of the task-aligned start, vectorised over a
log time grid) with the same grid search done by training the networks with gradient descent
(rl.simulate from the same task-aligned start, recording the hidden layer at the grid times).
The gradient-descent search is timed on a subset of the candidates and extrapolated.

Run:  .venv/bin/python benchmarks/fit_speed.py [--n-jobs 2] [--repeats 3]
Target: <= 10 s on a 2-core machine.
"""

import argparse
import os
import time
import warnings

import numpy as np

import rsa_lineardyn as rl


def fit_once(data, task, n_jobs):
    t0 = time.perf_counter()
    res = rl.fit_rdms(data, task, n_hidden=list(range(1, 13)), method="corr", n_boot=0, seed=0, n_jobs=n_jobs,
                      progress=False)
    return time.perf_counter() - t0, res


def gd_search(data, task, widths, lams, times, lr=0.01):
    """Grid search with networks trained by gradient descent: one training run per (N_h, lam)."""
    from threadpoolctl import threadpool_limits

    best = (-np.inf, None)
    D = data.get_vectors()
    t0 = time.perf_counter()
    n = 0
    with threadpool_limits(1):
        for h in widths:
            for lam in lams:
                W1, W2 = rl.task_aligned_init(task, h, lam=lam, scale=0.1)
                traj = rl.simulate(task, W1, W2, times, lr=lr)
                rdms = rl.to_rdms(traj, "hidden", "euclidean")
                # follow the data's condition order
                pos = {lab: i for i, lab in enumerate(rdms.pattern_descriptors["item"])}
                order = [pos[lab] for lab in data.pattern_descriptors["item"]]
                M = rdms.get_matrices()[:, order][:, :, order]
                iu = np.triu_indices(len(order), 1)
                sc = rl.score_matrix(M[:, iu[0], iu[1]], D, "corr")[:, 0]
                n += 1
                if np.nanmax(sc) > best[0]:
                    best = (float(np.nanmax(sc)), (h, lam, float(times[np.nanargmax(sc)])))
    return time.perf_counter() - t0, n, best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gd-candidates", type=int, default=6, help="(N_h, lam) pairs actually trained by GD")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", rl.DegeneracyWarning)
    task = rl.load_92images_task(item_features=True)
    data = rl.load_92images_rdms("hIT")
    print(f"task {task}, data: {data.n_rdm} RDM x {data.n_cond} conditions, cores available: {os.cpu_count()}")
    fit_once(data, task, args.n_jobs)  # warm-up (imports, caches)
    secs = []
    for _ in range(args.repeats):
        s, res = fit_once(data, task, args.n_jobs)
        secs.append(s)
    n_cand = len(res.table)
    n_t = res.settings["n_times"]
    print(f"rl.fit_rdms: {np.median(secs):.2f} s median of {args.repeats} (min {min(secs):.2f}, max {max(secs):.2f}); "
          f"{n_cand} (N_h, lam) candidates x {n_t} log-spaced times + refinement, n_jobs={args.n_jobs}")
    print(f"  best: N_h = {res.best['n_hidden']}, lam = {res.best['lam']:.3g}, time = {res.best['time']:.3g}, "
          f"corr = {res.best['score']:.4f}")
    # gradient descent on a subset of the same grid, extrapolated to all candidates
    lo, hi = res.settings["time_bounds"]
    times = np.logspace(np.log10(max(lo, 0.01)), np.log10(hi), n_t)
    lams = res.table[res.table["n_hidden"] == 12]["lam"].to_numpy()
    pick = [(h, lam) for h in (1, 6, 12) for lam in lams[[0, len(lams) // 2]]][: args.gd_candidates]
    total = 0.0
    for h, lam in pick:
        s, _, _ = gd_search(data, task, [h], [lam], times)
        total += s
    per = total / len(pick)
    print(f"gradient descent (lr = 0.01, t up to {hi:.3g}, i.e. {int(hi / 0.01)} steps per candidate): "
          f"{per:.2f} s per candidate, ~{per * n_cand:.0f} s for the same {n_cand} candidates "
          f"({per * n_cand / np.median(secs):.0f}x slower; measured on {len(pick)} candidates)")


if __name__ == "__main__":
    main()
