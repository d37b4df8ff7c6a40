"""Calibration of fit_rdms' verdict on n_hidden: the crossvalidated width test (issue 19, "identifiable" verdicts).

fit_rdms calls a width "determined" only when every other searched width predicts held-out subjects significantly
worse (leave-one-subject-out on the fit's own score tensor, jackknife t-test, Holm over the other widths:
rsa_lineardyn/inference/width_test.py) and the bootstrap over subjects agrees.  Before, a bootstrap majority of the
in-sample choice (>= 80%) sufficed; the "old rule" column recomputes that verdict from the same fit (majority >= 80%
and none of the other reasons: flat profile, bootstrap spread over all widths, depends on the assumed start).

Truths (each subject its own network trained by gradient descent from its own random lambda-balanced start, lam 0,
scale 0.1, read through 100 random voxels with Gaussian noise, 4 runs, crossnobis RDMs:
rsa_lineardyn.inference.recovery.simulate_voxel_rdms(init="random", per_subject=True)):
 tiny    3 items x 2 features (the trial's task: size 1, 0, 0.5; alive 1, 1, 0), truth N_h = 2, widths [1, 2],
         stages t = 2, 4, noise 0.2, 8 subjects (the new-user trial found N_h = 1 "determined" in 4 of 8 studies)
 hier    the harness's task rl.hierarchical_task(depth=3, include_root=False) (8 items; singular values 0.94 x2,
         0.61 x2, 0.35 x4), truth N_h = 2, 4 or 8, widths [2, 4, 8], stages t = 1.5, 3, 6, noise 0.25, 8 and 16 subjects
 null    pure noise RDMs (simulate_noise_rdms), hierarchical task, widths [2, 4, 8], 8 subjects
Measures per cell: fraction of studies with a width determined and WRONG (floor: <= 0.05), determined and right
(power), Wilson 95% intervals; the same under the old rule.

Run:  .venv/bin/python benchmarks/calibration_width_verdict.py [--trials 20] [--jobs 1] [--seed 0]
      [--out benchmarks/results/calibration_width_verdict]
"""

import argparse
import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import calibration as cal  # noqa: E402  (wilson, write_atomic, git_head)

ROOT = Path(__file__).resolve().parents[1]
CELLS = [dict(name="tiny: 3 items, truth N_h=2, widths [1, 2], 8 subjects", task="tiny", truth=2, widths=[1, 2],
              times=(2.0, 4.0), noise=0.2, n_subjects=8)]
for _n in (8, 16):
    for _h in (2, 4, 8):
        CELLS.append(dict(name=f"hier: truth N_h={_h}, widths [2, 4, 8], {_n} subjects", task="hier", truth=_h,
                          widths=[2, 4, 8], times=(1.5, 3.0, 6.0), noise=0.25, n_subjects=_n))
CELLS.append(dict(name="null: pure noise, widths [2, 4, 8], 8 subjects", task="hier", truth=None, widths=[2, 4, 8],
                  times=(1.5, 3.0, 6.0), noise=None, n_subjects=8))


def _task(name):
    import pandas as pd

    import rsa_lineardyn as rl

    if name == "tiny":
        feats = pd.DataFrame({"size": [1.0, 0.0, 0.5], "alive": [1, 1, 0]}, index=["cat", "dog", "rock"])
        return rl.task_from_dataframe(feats)
    return rl.hierarchical_task(depth=3, include_root=False)


def _old_rule(iv, dist):
    """The verdict before the width test: bootstrap majority >= 80% and none of the other reasons."""
    frac = float(dist.get(iv["estimate"], 0.0)) if dist is not None else 0.0
    other = ("flat profile", "bootstrap spread over all", "depends on the assumed start")
    return frac >= 0.8 and not any(o in str(iv["reason"]) for o in other)


def run_trial(args):
    cell, trial, seed = args
    warnings.simplefilter("ignore")
    import rsa_lineardyn as rl
    from rsa_lineardyn.inference.recovery import simulate_noise_rdms, simulate_voxel_rdms

    rng = np.random.default_rng(np.random.SeedSequence([seed, trial, CELLS.index(cell)]))
    task = _task(cell["task"])
    kw = dict(n_subjects=cell["n_subjects"], n_voxels=100, n_runs=4, seed=rng)
    t0 = time.perf_counter()
    if cell["truth"] is None:
        data = simulate_noise_rdms(task, cell["times"], **kw)
    else:
        data = simulate_voxel_rdms(task, cell["truth"], 0.0, 0.1, cell["times"], noise=cell["noise"], init="random",
                                   per_subject=True, **kw)
    res = rl.fit_rdms(data, task, n_hidden=cell["widths"], random_state=trial, progress=False)
    iv = res.intervals.set_index("parameter").loc["n_hidden"]
    est = int(iv["estimate"])
    wt = res.width_tests
    return {"cell": cell["name"], "trial": trial, "estimate": est, "truth": cell["truth"],
            "determined": bool(iv["determined"]), "old_determined": _old_rule(iv, res.n_hidden_distribution),
            "low": float(iv["low"]), "high": float(iv["high"]), "reason": str(iv["reason"]),
            "p_corrected": {int(r.n_hidden_b): float(r.p_corrected) for r in wt.itertuples()},
            "mean_diff": {int(r.n_hidden_b): float(r.mean_diff) for r in wt.itertuples()},
            "seconds": time.perf_counter() - t0}


def summarise(trials):
    rows = []
    for cell in CELLS:
        ts = [t for t in trials if t["cell"] == cell["name"]]
        if not ts:
            continue
        n = len(ts)
        row = {"cell": cell["name"], "trials": n}
        for rule, key in (("new", "determined"), ("old", "old_determined")):
            wrong = sum(t[key] and t["estimate"] != t["truth"] for t in ts)
            right = sum(t[key] and t["estimate"] == t["truth"] for t in ts)
            row[f"{rule}_wrong"] = (wrong / n, cal.wilson(wrong, n))
            row[f"{rule}_right"] = (right / n, cal.wilson(right, n)) if cell["truth"] is not None else None
        row["estimate_right"] = (sum(t["estimate"] == t["truth"] for t in ts) / n) if cell["truth"] is not None else None
        row["covered"] = (sum(t["low"] <= t["truth"] <= t["high"] for t in ts) / n) if cell["truth"] is not None else None
        rows.append(row)
    return rows


def _ci(v):
    if v is None:
        return "-"
    r, (lo, hi) = v
    return f"{r:.2f} [{lo:.2f}, {hi:.2f}]"


def markdown(rows, header):
    out = [header, "", "| cell | trials | determined and WRONG (new) | determined and right (new) | determined and WRONG "
           "(old rule) | determined and right (old rule) | in-sample choice right | interval covers the truth |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        f = (lambda x: "-" if x is None else f"{x:.2f}")
        out.append(f"| {r['cell']} | {r['trials']} | {_ci(r['new_wrong'])} | {_ci(r['new_right'])} | "
                   f"{_ci(r['old_wrong'])} | {_ci(r['old_right'])} | {f(r['estimate_right'])} | {f(r['covered'])} |")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/calibration_width_verdict"))
    a = ap.parse_args(argv)
    jobs = [(c, t, a.seed) for t in range(a.trials) for c in CELLS]
    t0 = time.time()
    trials = []
    with ProcessPoolExecutor(a.jobs) as ex:
        for k, r in enumerate(ex.map(run_trial, jobs), 1):
            trials.append(r)
            if k % 10 == 0:
                cal.log(f"{k}/{len(jobs)} trials, {time.time() - t0:.0f} s")
    rows = summarise(trials)
    header = (f"n_hidden verdict of fit_rdms (crossvalidated width test), {a.trials} trials per cell, seed {a.seed}, "
              f"code at {cal.git_head()}, {time.time() - t0:.0f} s on {a.jobs} process(es); defaults of fit_rdms "
              "(n_boot 100, start check). Run: .venv/bin/python benchmarks/calibration_width_verdict.py "
              f"--trials {a.trials} --seed {a.seed}")
    cal.write_atomic(a.out + ".md", markdown(rows, header))
    cal.write_atomic(a.out + ".json", json.dumps({"header": header, "rows": rows, "trials": trials}, indent=1))
    print(markdown(rows, header))


if __name__ == "__main__":
    main()
