"""Monte Carlo error of ``init="random"``: old estimator (plain mean) vs new (antithetic pairs + control variates).

(a) Relative error of the predicted hidden RDM, centred (its mean dissimilarity removed: what a correlation
    comparison sees), against a high-draw reference (the new estimator at ``--ref-draws`` draws, its own seed),
    for ``n_draws`` in 8, 16, 32, 64 at ``t * s_max`` in 1e-3 .. 10, on the semantic task and the 92-image task.
    RMS over ``--seeds`` draw seeds.  Also the uncentred relative error.
(b) ``evaluate_hypotheses`` on the width models ``N_h = 2, 4, wide`` (the models of ``rl.compare_widths``,
    built here with ``n_draws`` and ``seed``) on the bundled similarity judgements, for draw seeds 0-4: per pair,
    the SD across seeds of the mean difference over its mean sampling SE, and whether the p < 0.05 verdict is
    the same for every seed.
(c) Cost: seconds per model build + one prediction grid, and per comparison (b), old vs new.

Writes ``benchmarks/results/mc_error.json`` and ``.md``.  ``python benchmarks/mc_error.py`` (a few minutes).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import rsa_lineardyn as rl
from rsa_lineardyn.models.random_starts import _RandomStartEngine

OUT = Path(__file__).parent / "results"
T_UNITS = np.array([1e-3, 1e-2, 0.1, 1.0, 10.0])
OLD, NEW = "plain", "cv"


def _rdm(eng, w):
    Z = eng.Z_items
    G = (Z.T[None] * w[:, None, :]) @ Z
    dg = np.einsum("tii->ti", G)
    R = dg[:, :, None] + dg[:, None, :] - 2 * G
    iu = np.triu_indices(Z.shape[1], 1)
    return R[:, iu[0], iu[1]]


def _err(r, ref, centred):
    if centred:
        r, ref = r - r.mean(1, keepdims=True), ref - ref.mean(1, keepdims=True)
    return np.linalg.norm(r - ref, axis=1) / np.linalg.norm(ref, axis=1)


def part_a(draws, seeds, ref_draws, scale=0.1):
    tasks = {"semantic": (rl.load_semantic_task(), [(4, 5.0), (4, 0.0), (2, -3.0), (8, -3.0)]),
             "92images": (rl.load_92images_task(), [(4, 5.0), (4, 0.0), (2, -3.0), (92, -3.0)])}
    out = {}
    for name, (task, cases) in tasks.items():
        times = T_UNITS / task.svd()[1][0]
        for h, lam in cases:
            ref_eng = _RandomStartEngine(task, h, "hidden", 1e-10, ref_draws, 1000, mc=NEW)
            ref = _rdm(ref_eng, ref_eng.rank_one(lam, scale, times, 1.0)[0])
            row = {}
            for mc in (OLD, NEW):
                for nd in draws:
                    ec, eu = [], []
                    for seed in range(seeds):
                        eng = _RandomStartEngine(task, h, "hidden", 1e-10, nd, seed, mc=mc)
                        r = _rdm(eng, eng.rank_one(lam, scale, times, 1.0)[0])
                        ec.append(_err(r, ref, True))
                        eu.append(_err(r, ref, False))
                    row[f"{mc}/{nd}"] = {"centred": np.sqrt(np.mean(np.square(ec), 0)).tolist(),
                                         "uncentred": np.sqrt(np.mean(np.square(eu), 0)).tolist()}
            out[f"{name} h={h} lam={lam}"] = row
            print(name, h, lam, {k: np.round(v["centred"], 4).tolist() for k, v in row.items() if "/16" in k},
                  flush=True)
    return out


def _models(task, data, n_draws, seed, mc):
    models = []
    for w in (2, 4, "wide"):
        h = max(task.n_in, task.n_out) if w == "wide" else w
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = rl.LinearNetworkModel(task, n_hidden=h, item_order=data, n_draws=n_draws, seed=seed,
                                      name=f"N_h={w}" if w != "wide" else f"N_h=wide ({h})")
        if mc != NEW:  # the old estimator: replace the engine (same draws settings)
            m._engine = _RandomStartEngine(task, h, m.representation, m.rcond, n_draws, seed, mc=mc)
        models.append(m)
    return models


def part_b(n_seeds, n_draws_list):
    data = rl.load_92images_rdms("similarity_judgements")
    task = rl.load_92images_task()
    out = {}
    for mc in (OLD, NEW):
        for nd in n_draws_list:
            rows, cost = [], []
            for seed in range(n_seeds):
                t0 = time.process_time()
                models = _models(task, data, nd, seed, mc)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = rl.evaluate_hypotheses(data, models, task, method="corr")
                cost.append(time.process_time() - t0)
                rows.append(res.pairwise[["model_a", "model_b", "mean_diff", "sem", "p"]])
            pairs = {}
            for i in range(len(rows[0])):
                a, b = rows[0].iloc[i]["model_a"], rows[0].iloc[i]["model_b"]
                md = np.array([r.iloc[i]["mean_diff"] for r in rows])
                se = np.array([r.iloc[i]["sem"] for r in rows])
                p = np.array([r.iloc[i]["p"] for r in rows])
                sig = p < 0.05
                pairs[f"{a} vs {b}"] = {"mean_diff": md.tolist(), "sem": se.tolist(), "p": p.tolist(),
                                        "sd_over_se": float(np.std(md, ddof=1) / np.mean(se)),
                                        "same_verdict": bool(np.all(sig) or not np.any(sig))}
            out[f"{mc}/{nd}"] = {"pairs": pairs, "seconds_per_comparison": float(np.mean(cost))}
            print(mc, nd, {k: (round(v["sd_over_se"], 3), v["same_verdict"]) for k, v in pairs.items()},
                  f"{np.mean(cost):.2f} s", flush=True)
    return out


def part_c(n_draws_list, repeat=3):
    data = rl.load_92images_rdms("similarity_judgements")
    task = rl.load_92images_task()
    out = {}
    for mc in (OLD, NEW):
        for nd in n_draws_list:
            ts = []
            for r in range(repeat):
                t0 = time.process_time()
                for m in _models(task, data, nd, r, mc):
                    rl.score_grid(m, data, np.linspace(*m.bounds[1], 20), lams=np.linspace(*m.bounds[0], 8), method="corr")
                ts.append((time.process_time() - t0) / 3)
            out[f"{mc}/{nd}"] = float(np.median(ts))
            print("cost per model build + 8-lam score grid", mc, nd, f"{out[f'{mc}/{nd}']:.2f} s", flush=True)
    return out


def write_md(res, path):
    L = ["# Monte Carlo error of init='random': old (plain mean) vs new (antithetic + control variates)", "",
         f"Reference: new estimator, {res['settings']['ref_draws']} draws, seed 1000. RMS over "
         f"{res['settings']['seeds']} seeds. Centred relative error of the hidden RDM (mean dissimilarity "
         "removed) at t * s_max = " + ", ".join(f"{t:g}" for t in T_UNITS) + ".", ""]
    L += ["| case | n_draws | old | new |", "|---|---|---|---|"]
    for case, row in res["a"].items():
        for nd in res["settings"]["draws"]:
            fmt = lambda v: " / ".join(f"{x:.2g}" for x in v)  # noqa: E731
            L.append(f"| {case} | {nd} | {fmt(row[f'{OLD}/{nd}']['centred'])} | {fmt(row[f'{NEW}/{nd}']['centred'])} |")
    L += ["", "## Similarity judgements: N_h = 2, 4, wide (corr), draw seeds 0-4", "",
          "| estimator / n_draws | pair | SD over seeds / mean SE | p per seed | same p<0.05 verdict |",
          "|---|---|---|---|---|"]
    for k, v in res["b"].items():
        for pair, d in v["pairs"].items():
            L.append(f"| {k} | {pair} | {d['sd_over_se']:.3f} | {', '.join(f'{p:.3g}' for p in d['p'])} | "
                     f"{d['same_verdict']} |")
    L += ["", "## Cost (CPU seconds)", "", "| estimator / n_draws | per comparison (3 models) | per model build + "
          "8-lam score grid |", "|---|---|---|"]
    for k, v in res["b"].items():
        L.append(f"| {k} | {v['seconds_per_comparison']:.2f} | {res['c'].get(k, float('nan')):.2f} |")
    path.write_text("\n".join(L) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--ref-draws", type=int, default=512)
    ap.add_argument("--draws", type=int, nargs="+", default=[8, 16, 32, 64])
    ap.add_argument("--b-draws", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--out", default=str(OUT / "mc_error"))
    args = ap.parse_args(argv)
    with threadpool_limits(1):
        res = {"settings": vars(args) | {"t_times_smax": T_UNITS.tolist()}}
        res["a"] = part_a(args.draws, args.seeds, args.ref_draws)
        res["b"] = part_b(5, args.b_draws)
        res["c"] = part_c(args.b_draws)
    Path(args.out + ".json").write_text(json.dumps(res, indent=1))
    write_md(res, Path(args.out + ".md"))
    print("wrote", args.out + ".json/.md")


if __name__ == "__main__":
    main()
