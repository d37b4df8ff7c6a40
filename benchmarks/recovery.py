"""Parameter recovery study: can fit_rdms recover N_h and lam from noisy voxel RDMs?

Ground truth: networks trained by gradient descent (rl.simulate, never the exact solver) from the
task-aligned lambda-balanced start at known (N_h, lam, scale) on a hierarchical task (binary tree,
depth 3, no root feature: 8 items, singular values 0.94 x2, 0.61 x2, 0.35 x4, so widths 2, 4 and 8
cut the spectrum between degenerate groups).  The hidden layer is read through a random projection
onto voxels per subject plus Gaussian noise per run (noise level = SD relative to the RMS signal);
data RDMs are crossnobis RDMs over runs (rsatoolbox.data.calc_rdm).  Each trial is fitted with
rl.fit_rdms (corr, scale fixed at its true value) once with all 4 stages (shared linear time map)
and once with one snapshot (the 3rd stage).  This older study keeps the task-aligned start and no bootstrap
(recovery_trial(init="aligned", n_boot=0)); benchmarks/calibration.py is the study from random starts, with
intervals and tests.

Run:  .venv/bin/python benchmarks/recovery.py [--reps 3] [--json out/recovery.json] [--quick]
Prints a markdown table; writes the trials and the summary as JSON.
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import rsa_lineardyn as rl
from rsa_lineardyn.data.files import write_text
from rsa_lineardyn.inference.recovery import recovery_trial

TRUE_WIDTHS = (2, 4, 8)
TRUE_LAMS = (-1.0, 0.0, 1.0)
CANDIDATES = [2, 4, 8]
SCALE = 0.1
TIMES = (1.5, 3.0, 4.5, 6.0)  # stage k at t = 1.5 k


def run(noise_levels, reps, seed=0, n_subjects=4, n_runs=4, n_voxels=100, widths=TRUE_WIDTHS, lams=TRUE_LAMS):
    task = rl.hierarchical_task(depth=3, include_root=False)
    ss = np.random.SeedSequence(seed)
    rows = []
    for noise in noise_levels:
        for h in widths:
            for lam in lams:
                for rep, child in zip(range(reps), ss.spawn(reps)):
                    for stages in (True, False):
                        r = recovery_trial(task, h, lam, SCALE, TIMES, CANDIDATES, noise=noise, stages=stages,
                                           n_subjects=n_subjects, n_runs=n_runs, n_voxels=n_voxels,
                                           init="aligned", n_boot=0,
                                           seed=np.random.default_rng(child))
                        r["rep"] = rep
                        rows.append(r)
    return pd.DataFrame(rows)


def summarise(df, nc_floor=0.8):
    """Rows per (data, noise level), plus per data type the trials whose noise ceiling is >= nc_floor."""
    hi = df[df["noise_ceiling_lower"] >= nc_floor].copy()
    hi["noise"] = -1.0  # marker: pooled over noise levels
    df = pd.concat([df, hi], ignore_index=True)
    g = df.groupby(["stages", "noise"])
    out = g.agg(trials=("correct_n_hidden", "size"), nc_lower=("noise_ceiling_lower", "mean"),
                n_hidden_recovered=("correct_n_hidden", "mean"), lam_abs_error_median=("lam_error", "median"),
                lam_abs_error_mean=("lam_error", "mean"), lam_identifiable=("lam_identifiable", "mean"))
    out = out.reset_index()
    out["data"] = np.where(out["stages"], "4 stages", "1 snapshot")
    return out[["data", "noise", "trials", "nc_lower", "n_hidden_recovered", "lam_abs_error_median",
                "lam_abs_error_mean", "lam_identifiable"]]


def markdown(summary):
    """The summary as a markdown table (noise -1 marks the pooled NC >= 0.8 row)."""
    lines = ["| data | noise | trials | noise ceiling (lower) | N_h recovered | median abs lam error | mean abs lam error | lam identifiable |",
             "|---|---|---|---|---|---|---|---|"]
    for _, r in summary.iterrows():
        noise = "trials with NC >= 0.8" if r["noise"] < 0 else f"{r['noise']:g}"
        lines.append(f"| {r['data']} | {noise} | {r['trials']} | {r['nc_lower']:.2f} | {r['n_hidden_recovered']:.0%} "
                     f"| {r['lam_abs_error_median']:.2f} | {r['lam_abs_error_mean']:.2f} | {r['lam_identifiable']:.0%} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--noise", type=float, nargs="+", default=[0.1, 0.25, 0.5, 1.0, 2.0])
    ap.add_argument("--json", default="out/recovery.json")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="1 rep, 2 noise levels")
    args = ap.parse_args(argv)
    if args.quick:
        args.reps, args.noise = 1, [0.25, 1.0]
    warnings.simplefilter("ignore", rl.DegeneracyWarning)
    t0 = time.perf_counter()
    df = run(args.noise, args.reps, seed=args.seed)
    summary = summarise(df)
    elapsed = time.perf_counter() - t0
    print(markdown(summary))
    print(f"\n{len(df)} fits in {elapsed:.1f} s (true N_h in {list(TRUE_WIDTHS)}, lam in {list(TRUE_LAMS)}, "
          f"candidates {CANDIDATES}, seed {args.seed})")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, json.dumps({"settings": vars(args), "summary": summary.to_dict(orient="records"),
                                "trials": df.to_dict(orient="records"), "seconds": elapsed}, indent=1, default=float))
    print(f"wrote {path}")
    return summary


if __name__ == "__main__":
    main()
