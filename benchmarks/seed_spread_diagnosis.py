"""Why the width comparison moves with the Monte-Carlo seed: fold choices, training-score gaps, left-out scores.

For ``compare_widths(data, task, widths=[2, 4, "wide"], random_state=seed)`` (seeds 0-4) on the bundled 92-image
data, rebuilds the crossvalidation of :func:`rsa_lineardyn.evaluate_hypotheses` from its parts (the score tensors
of every network hypothesis, per seed) and reports, per network and leave-one-subject-out fold:

* the ``(lam, time)`` each seed's fit picks on the training subjects;
* the training-score gap, under one seed's draws, between its own choice and the other seeds' choices
  (``gap``: how much better, on the training subjects, the chosen point is than the point another seed chose),
  beside the Monte-Carlo SD of the training score itself (SD over seeds of the training profile at a point);
* the left-out score at each seed's choice, and what it would be at another seed's choice.

It then splits the SD over seeds of every pair's mean crossvalidated difference into

* ``actual``: each seed's choices scored under its own draws (what ``compare_widths`` reports);
* ``fixed choice``: every seed scored at one reference choice (the choices of a 512-draw reference fit, or of
  the settings under test), i.e. the Monte-Carlo noise of the prediction at fixed parameters;
* ``choice only``: each seed's own choices scored under the 512-draw reference prediction, i.e. the noise that
  comes from which parameters the folds pick.

Run: ``.venv/bin/python benchmarks/seed_spread_diagnosis.py [--data ...] [--ref-draws 512]``; writes
``benchmarks/results/seed_spread_diagnosis.json`` (the numbers behind ``seed_spread_diagnosis.md``).
"""

import argparse
import json
import os
import sys
import warnings

import numpy as np

import rsa_lineardyn as rl
from rsa_lineardyn.inference import hypotheses as H
from rsa_lineardyn.inference.baselines import unit_stage_means
from rsa_lineardyn.inference.crossval import jackknife, run_cv, unit_folds
from rsa_lineardyn.inference.design import _nanwmean

HERE = os.path.dirname(os.path.abspath(__file__))


def build(name, seed, n_draws=None, extra=None):
    """Hypotheses, design, rows, score tensors and crossvalidation context of one compare_widths call."""
    task = rl.load_92images_task()
    data = rl.load_92images_rdms(name)
    kw = {"seed": seed} if n_draws is None else {"seed": seed, "n_draws": n_draws}
    hyps_d = H._nested(task, data, [2, 4, "wide"], kw)
    args = dict(method="corr", baseline="modes", baseline_weights="per_stage", models=None, subject_descriptor="auto",
                stage_descriptor="auto", condition_descriptor="auto", stage_order=None, time_map="linear",
                time_offset=False, time_bounds=None, n_times=41, n_lam=8, stage_scale="auto", n_folds=None, n_boot=0,
                ci=0.95, correction="holm", sigma_k=None, random_state=0, mc_replicates=1, n_jobs=1, backend=None,
                progress=False,
                seed=H.UNSET)
    args.update(extra or {})
    a = H._Args(data, hyps_d, task, args)
    hyps = H._build_hypotheses(a, hyps_d, None)
    design, rows = H._design(a, hyps)
    tensors = H._score_hypotheses(a, hyps, design, rows)
    means = unit_stage_means(design.data, design.stage_of, rows.rdm_unit, rows.n_units, design.K)
    folds, _ = unit_folds(rows.n_units, None, None)
    return dict(a=a, hyps=hyps, design=design, rows=rows, tensors=tensors, ctx=(design, rows, means, "corr", None),
                folds=folds)


def fold_profiles(run, j):
    """Training profile (C, G) per fold of network hypothesis ``j`` and the test rows of each fold."""
    rows, R = run["rows"], run["tensors"][j]
    out = []
    for test_units in run["folds"]:
        w = np.ones(rows.n_units)
        w[test_units] = 0.0
        prof = _nanwmean(R, w[rows.unit])  # snapshot: (C, G)
        test_rows = np.flatnonzero(np.isin(rows.unit, test_units))
        out.append((prof, test_rows))
    return out


def cv_at(R, rows, folds, choices):
    """Per-unit crossvalidated score when fold ``f`` uses candidate/time ``choices[f] = (c, g)`` on tensor R."""
    S = np.full(rows.n_units, np.nan)
    for f, test_units in enumerate(folds):
        c, g = choices[f]
        test_rows = np.flatnonzero(np.isin(rows.unit, test_units))
        for u in test_units:
            v = R[test_rows[rows.unit[test_rows] == u], c, g]
            S[u] = np.nanmean(v)
    return S


def diagnose(name, seeds, ref_draws):
    runs = [build(name, s) for s in seeds]
    ref = build(name, 1000, n_draws=ref_draws)
    base = runs[0]
    hyps = base["hyps"]
    nets = [j for j, h in enumerate(hyps) if h.kind == "network"]
    folds, rows, design = base["folds"], base["rows"], base["design"]
    lt = np.log10(design.times[:, 0])
    per_fold = []
    choices = {}  # (j, seed index or "ref") -> [(c, g)] per fold
    for j in nets:
        cands = hyps[j].cands
        profs = [fold_profiles(r, j) for r in runs]
        rprof = fold_profiles(ref, j)
        choices[(j, "ref")] = [np.unravel_index(np.argmax(p), p.shape) for p, _ in rprof]
        for i in range(len(seeds)):
            choices[(j, i)] = [np.unravel_index(np.argmax(p), p.shape) for p, _ in profs[i]]
        for f in range(len(folds)):
            P = np.stack([profs[i][f][0] for i in range(len(seeds))])  # (S, C, G)
            mc_sd = np.std(P, axis=0, ddof=1)  # Monte-Carlo SD of the training score at every point
            test_rows = profs[0][f][1]
            for i in range(len(seeds)):
                c, g = choices[(j, i)][f]
                own = P[i, c, g]
                gaps = [float(own - P[i][choices[(j, k)][f]]) for k in range(len(seeds))]
                left = [float(np.nanmean(runs[i]["tensors"][j][test_rows][:, choices[(j, k)][f][0],
                                                                          choices[(j, k)][f][1]]))
                        for k in range(len(seeds))]
                # how many grid points are within 2 Monte-Carlo SDs of the best, and how far apart they lie
                near = P[i] >= own - 2 * mc_sd
                nc, ng = np.nonzero(near)
                per_fold.append(dict(
                    data=name, model=hyps[j].name, fold=f, seed=seeds[i], lam=float(cands.lam[c]),
                    log10_time=float(lt[g]), train=float(own), mc_sd_train_at_choice=float(mc_sd[c, g]),
                    median_mc_sd_train=float(np.median(mc_sd[np.isfinite(mc_sd)])),
                    gap_to_other_seeds=gaps, left_out_at_other_seeds_choices=left,
                    left_out=float(left[i]), n_near=int(near.sum()),
                    near_lam_range=[float(cands.lam[nc].min()), float(cands.lam[nc].max())],
                    near_log10_time_range=[float(lt[ng].min()), float(lt[ng].max())],
                    ref_choice=[float(cands.lam[choices[(j, "ref")][f][0]]), float(lt[choices[(j, "ref")][f][1]])],
                    ref_train_at_choice=float(rprof[f][0][c, g]),
                    ref_train_best=float(rprof[f][0].max())))
    # decomposition of the spread of every pair's mean difference
    feat = [j for j, h in enumerate(hyps) if h.kind != "network"]
    Sfeat = {j: run_cv([hyps[j]], [None], base["ctx"], np.ones(rows.n_units, dtype=int), folds, None)[:, 0]
             for j in feat}

    def unit_scores(j, mode, i):
        if j in Sfeat:
            return Sfeat[j]
        if mode == "actual":
            return cv_at(runs[i]["tensors"][j], rows, folds, choices[(j, i)])
        if mode == "fixed choice (reference's)":
            return cv_at(runs[i]["tensors"][j], rows, folds, choices[(j, "ref")])
        if mode == "fixed choice (seed 0's)":
            return cv_at(runs[i]["tensors"][j], rows, folds, choices[(j, 0)])
        return cv_at(ref["tensors"][j], rows, folds, choices[(j, i)])  # choice only

    modes = ["actual", "fixed choice (reference's)", "fixed choice (seed 0's)", "choice only"]
    # sampling SE of every pair (jackknife, seed 0's run, as compare_widths computes it)
    J = jackknife(hyps, base["tensors"], base["ctx"], rows.n_units, folds)
    S0 = run_cv(hyps, base["tensors"], base["ctx"], np.ones(rows.n_units, dtype=int), folds, None)
    pairs = []
    for x in range(len(hyps)):
        for y in range(x + 1, len(hyps)):
            n = rows.n_units
            jd = J[:, x] - J[:, y]
            se = float(np.sqrt((n - 1) / n * np.sum((jd - jd.mean()) ** 2)))
            row = dict(data=name, pair=f"{hyps[x].name} vs {hyps[y].name}", se_seed0=se,
                       mean_diff_seed0=float(np.nanmean(S0[:, x] - S0[:, y])))
            for mode in modes:
                d = [float(np.nanmean(unit_scores(x, mode, i) - unit_scores(y, mode, i))) for i in range(len(seeds))]
                row[mode] = dict(mean_diff=d, sd_over_se=float(np.std(d, ddof=1) / se))
            pairs.append(row)
    return per_fold, pairs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=["similarity_judgements", "hIT_subject_session"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--ref-draws", type=int, default=512)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "seed_spread_diagnosis.json"))
    args = ap.parse_args(argv)
    per_fold, pairs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in args.data:
            f, p = diagnose(name, args.seeds, args.ref_draws)
            per_fold += f
            pairs += p
            print(name, "done", file=sys.stderr)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"seeds": args.seeds, "ref_draws": args.ref_draws, "per_fold": per_fold, "pairs": pairs}, fh,
                  indent=1)
    os.replace(tmp, args.out)
    for p in pairs:
        print(p["data"], p["pair"], " ".join(f"{m}: {p[m]['sd_over_se']:.2f}" for m in
                                             ("actual", "fixed choice (reference's)", "fixed choice (seed 0's)",
                                              "choice only")))


if __name__ == "__main__":
    main()
