"""Monte-Carlo seed spread of the width comparison on the bundled 92-image data, at the package defaults.

``rl.compare_widths(data, task, widths=[2, 4, "wide"], random_state=seed)`` for seeds 0-4 (the seed drives the
Monte-Carlo draws of the expected geometry over random starts; the folds are leave-one-subject-out, so nothing
else is random).  For every pair: the SD over seeds of the mean difference divided by the mean sampling SE
(issue floor <= 0.25), and whether the Holm-corrected verdict (``significant``) and the raw p < 0.05 verdict are
the same for every seed.

Run: ``.venv/bin/python benchmarks/seed_spread.py [--data similarity_judgements hIT_subject_session]``; writes
``benchmarks/results/seed_spread.json`` and ``.md`` (atomically).
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone

import numpy as np

import rsa_lineardyn as rl

HERE = os.path.dirname(os.path.abspath(__file__))


def spread(name, seeds, widths, n_draws=None, mc_replicates=None):
    task = rl.load_92images_task()
    data = rl.load_92images_rdms(name)
    runs = []
    for seed in seeds:
        t0 = time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kw = {} if mc_replicates is None else {"mc_replicates": mc_replicates}
            res = rl.compare_widths(data, task, widths=widths, random_state=seed, n_draws=n_draws, progress=False, **kw)
        runs.append((res.pairwise, time.process_time() - t0,
                     dict(res.settings["draws"], mc_replicates_used=res.settings.get("mc_replicates_used", 1))))
        print(f"{name} seed {seed}: {runs[-1][1]:.1f} s", file=sys.stderr)
    rows = []
    for i in range(len(runs[0][0])):
        r = [run[0].iloc[i] for run in runs]
        d = np.array([x["mean_diff"] for x in r])
        se = np.array([x["sem"] for x in r])
        rows.append(dict(data=name, model_a=r[0]["model_a"], model_b=r[0]["model_b"],
                         sd_over_se=float(np.std(d, ddof=1) / np.mean(se)) if np.mean(se) > 0 else float("nan"),
                         mean_diff=[float(x) for x in d], se=[float(x) for x in se], p=[float(x["p"]) for x in r],
                         p_corrected=[float(x["p_corrected"]) for x in r],
                         same_holm=len({bool(x["significant"]) for x in r}) == 1,
                         same_raw=len({bool(x["p"] < 0.05) for x in r}) == 1,
                         mc_se=[float(x["mc_se"]) if "mc_se" in x else float("nan") for x in r],
                         replicates=[int(run[2]["mc_replicates_used"]) for run in runs]))
    return rows, [run[1] for run in runs], [run[2] for run in runs]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", default=["similarity_judgements"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--out", default=os.path.join(HERE, "results", "seed_spread"))
    ap.add_argument("--n-draws", type=int, default=None, help="Monte-Carlo draws (default: the package's)")
    ap.add_argument("--mc-replicates", default=None, help="'auto' or an int (default: the package's)")
    args = ap.parse_args(argv)
    widths = [2, 4, "wide"]
    all_rows, secs, draws = [], {}, {}
    for name in args.data:
        mcr = None if args.mc_replicates in (None, "auto") else int(args.mc_replicates)
        rows, s, d = spread(name, args.seeds, widths, args.n_draws, mcr if args.mc_replicates != "auto" else "auto")
        all_rows += rows
        secs[name] = s
        draws[name] = d
    head = subprocess.run(["git", "-C", os.path.dirname(HERE), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    secs_mean = {k: float(np.mean(v)) for k, v in secs.items()}
    meta = {"cpu_seconds_mean": secs_mean, "date": datetime.now(timezone.utc).isoformat(timespec="minutes"), "commit": head, "seeds": args.seeds,
            "widths": [str(w) for w in widths], "n_draws": args.n_draws, "draws": draws, "cpu_seconds": secs}
    what = ", ".join([f"n_draws = {args.n_draws}"] * (args.n_draws is not None)
                     + [f"mc_replicates = {args.mc_replicates}"] * (args.mc_replicates is not None)) or "the defaults"
    meta["mc_replicates"] = args.mc_replicates
    md = [f"Seed spread of compare_widths({widths}) at {what}, {meta['date']}, commit {head}, seeds "
          f"{args.seeds}", "",
          "| data | pair | SD over seeds / mean SE | mean reported mc_se / mean SE | replicates per seed | p per seed "
          "| Holm p per seed | same Holm verdict | same raw verdict |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in all_rows:
        mcr = np.nanmean(r["mc_se"]) / np.mean(r["se"]) if np.mean(r["se"]) > 0 else float("nan")
        md.append(f"| {r['data']} | {r['model_a']} vs {r['model_b']} | {r['sd_over_se']:.2f} | {mcr:.2f} | "
                  f"{', '.join(str(x) for x in r['replicates'])} | "
                  f"{', '.join(f'{p:.2g}' for p in r['p'])} | {', '.join(f'{p:.2g}' for p in r['p_corrected'])} | "
                  f"{r['same_holm']} | {r['same_raw']} |")
    write_outputs(args.out, {"meta": meta, "rows": all_rows}, md)


def write_outputs(out, payload, md):
    """``out``.json (``payload``) and ``out``.md (the lines ``md``), each written atomically; prints the table."""
    for ext, text in ((".json", json.dumps(payload, indent=1)), (".md", "\n".join(md) + "\n")):
        tmp = out + ext + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, out + ext)
    print("\n".join(md))


if __name__ == "__main__":
    main()
