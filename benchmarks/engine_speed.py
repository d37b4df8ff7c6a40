"""Fit time of ``rl.fit_rdms`` with ``init="aligned"`` vs ``init="random"`` (92 images), side by side.

Also the Monte Carlo error of ``init="random"`` for several ``n_draws``: the relative RMS difference of the
predicted hidden RDM (hIT items, a few widths, lam and times) from a 256-draw reference.

Run: ``.venv/bin/python benchmarks/engine_speed.py``; writes ``benchmarks/results/engine_speed.json``.
"""

import json
import os
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import rsa_lineardyn as rl

HERE = os.path.dirname(os.path.abspath(__file__))


def fit_time(data, task, init, repeat=1):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = rl.fit_rdms(data, task, method="corr", n_boot=0, init=init)
        best = min(best, time.perf_counter() - t0)
    return best, res.best


def mc_error(task, n_draws_list=(4, 8, 16, 32), ref_draws=256):
    cases = [(2, 0.0), (4, -1.0), (6, 0.5), (92, -0.5), (92, 0.0)]
    times = np.logspace(-1, 1.3, 5)
    out = {}
    with threadpool_limits(1):
        refs = {c: rl.LinearNetworkModel(task, n_hidden=c[0], lam=c[1], n_draws=ref_draws, seed=1000)
                .predict_times(times) for c in cases}
        for nd in n_draws_list:
            errs = []
            for c in cases:
                for seed in range(4):
                    v = rl.LinearNetworkModel(task, n_hidden=c[0], lam=c[1], n_draws=nd, seed=seed).predict_times(times)
                    errs.append(np.linalg.norm(v - refs[c], axis=1) / np.linalg.norm(refs[c], axis=1))
            out[nd] = float(np.sqrt(np.mean(np.concatenate(errs) ** 2)))
    return out


def main():
    task = rl.load_92images_task()
    rows = []
    for name in ("hIT", "similarity_judgements"):
        data = rl.load_92images_rdms(name)
        ta, ba = fit_time(data, task, "aligned")
        tr, br = fit_time(data, task, "random")
        rows.append({"data": name, "n_rdm": int(data.n_rdm), "aligned_s": ta, "random_s": tr, "ratio": tr / ta,
                     "best_aligned": {k: v for k, v in ba.items() if isinstance(v, (int, float, str))},
                     "best_random": {k: v for k, v in br.items() if isinstance(v, (int, float, str))}})
    print(f"{'data':24s} {'n_rdm':>5s} {'aligned [s]':>11s} {'random [s]':>10s} {'ratio':>6s}")
    for r in rows:
        print(f"{r['data']:24s} {r['n_rdm']:5d} {r['aligned_s']:11.2f} {r['random_s']:10.2f} {r['ratio']:6.2f}")
    mc = mc_error(task)
    print("MC error of init='random' (relative RMS of the predicted hidden RDM vs 256 draws):")
    for nd, e in mc.items():
        print(f"  n_draws = {nd:3d}: {e:.4f}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "engine_speed.json"), "w") as f:
        json.dump({"fit_rdms": rows, "mc_error_rel_rms": {str(k): v for k, v in mc.items()},
                   "load": os.getloadavg()}, f, indent=2, default=str)


if __name__ == "__main__":
    main()
