"""Why the wrong-order truth is rarely rejected: per-stage numbers on a few trials (issue 19, item 2).

For wrong-order truths (benchmarks/calibration_inference.py: simulate_wrong_order_rdms, variants "swap" and
"weak_fast") and network truths, 16 subjects, stages t = 3, 6, 12 and t = 1.5, 3, 6 (stage values 1, 2, 4):
rl.compare_widths(widths=[3]) (per-stage feature baseline, stacked scoring, leave-one-subject-out), then
 - the network's fits: rate (t = rate * stage) and lam in the training folds (median, range) and on all subjects
   (the time of each stage);
 - the whole-trajectory test (pairwise): network - baseline, jackknife SE, p;
 - the stage-resolved test (res.stages): per stage the two crossvalidated scores, their difference, jackknife SE,
   difference / SE, raw and Holm p (family: the 3 stages).

Run:  .venv/bin/python benchmarks/falsification_diagnosis.py [--trials 3] [--seed 5]
      [--out benchmarks/results/falsification_diagnosis_runs.json]
"""

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import calibration as cal  # noqa: E402
import calibration_inference as ci  # noqa: E402

CELLS = [("swap", (3.0, 6.0, 12.0)), ("swap", (1.5, 3.0, 6.0)), ("weak_fast", (3.0, 6.0, 12.0)),
         ("weak_fast", (1.5, 3.0, 6.0)), ("network", (3.0, 6.0, 12.0)), ("network", (1.5, 3.0, 6.0))]


def one(variant, times, seed, scale=None, n_times=41, stage_scale="auto"):
    import rsa_lineardyn as rl

    cell = dict(part="baseline", wrong=variant != "network", n_subjects=16, times=times, variant=variant)
    rng = np.random.default_rng(seed)
    task, data = ci._simulate(cell, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rl.compare_widths(data, task, widths=[3], random_state=seed, progress=False,
                                 n_times=n_times, stage_scale=stage_scale,
                                 **({} if scale is None else {"scale": scale}))
    net = res.folds[res.folds.model == "N_h=3"]
    fits = res.fits[res.fits.model == "N_h=3"]
    times_all = [float(10 ** th[-1]) for th in fits.theta]
    pw = res.pairwise.iloc[0]
    st = res.stages[res.stages.model_b.str.startswith("feature")]
    return dict(variant=variant, times=list(times), seed=seed, scale=scale, n_times=n_times, stage_scale=stage_scale,
                fold_rate=[float(net.rate.median()), float(net.rate.min()), float(net.rate.max())],
                fold_lam=[float(net.lam.median()), float(net.lam.min()), float(net.lam.max())],
                fold_at_edge=float(net.at_edge.mean()), fit_times=times_all,
                nc=float(res.table.noise_ceiling_lower.iloc[0]),
                stacked=dict(net=float(res.table["mean"].iloc[0]), base=float(res.table["mean"].iloc[1]),
                             diff=float(pw.mean_diff), se=float(pw["sem"]), p=float(pw["p"])),
                stages=[dict(stage=int(r.stage), net=float(r.score_a), base=float(r.score_b), diff=float(r.mean_diff),
                             se=float(r.sem), z=float(r.mean_diff / r.sem) if r.sem > 0 else float("nan"),
                             p=float(r.p), p_holm=float(r.p_corrected), sig=bool(r.significant))
                        for r in st.itertuples()])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--scale", type=float, default=None, help="compare_widths scale (default: its own, 0.1)")
    ap.add_argument("--n-times", type=int, default=41, help="compare_widths n_times (time grid of the fold fits)")
    ap.add_argument("--stage-scale", default="auto", help="compare_widths stage_scale")
    ap.add_argument("--cells", nargs="+", type=int, default=list(range(len(CELLS))), help="indices into CELLS")
    ap.add_argument("--out", default=str(ci.ROOT / "benchmarks/results/falsification_diagnosis_runs.json"))
    args = ap.parse_args(argv)
    out = []
    for v, times in [CELLS[i] for i in args.cells]:
        for t in range(args.trials):
            r = one(v, times, args.seed * 1000 + t, args.scale, args.n_times, args.stage_scale)
            out.append(r)
            s = r["stacked"]
            cal.log(f"{v:9s} t={times} scale {args.scale} n_times {args.n_times} {args.stage_scale} trial {t}: rate {r['fold_rate'][0]:.2f} [{r['fold_rate'][1]:.2f}, "
                    f"{r['fold_rate'][2]:.2f}] lam {r['fold_lam'][0]:.2f} edge {r['fold_at_edge']:.2f}; stacked "
                    f"{s['net']:.3f} vs {s['base']:.3f} d {s['diff']:+.4f} se {s['se']:.4f} p {s['p']:.3g}; "
                    + " | ".join(f"st{x['stage']}: {x['net']:.3f}/{x['base']:.3f} d {x['diff']:+.4f} se {x['se']:.4f} "
                                 f"z {x['z']:+.1f} pH {x['p_holm']:.3g}" for x in r["stages"]))
    cal.write_atomic(args.out, json.dumps(dict(git_head=cal.git_head(), runs=out), indent=1))


if __name__ == "__main__":
    main()
