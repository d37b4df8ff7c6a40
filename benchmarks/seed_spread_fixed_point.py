"""Monte-Carlo SD of one prediction's score at fixed parameters, over draw seeds 0-4, at 32 / 128 / 512 draws.

The points ``(width, lam, log10 time)`` are fold choices of the seed-spread diagnosis
(``benchmarks/results/seed_spread_diagnosis.md``); the score is the mean correlation of the predicted RDM with the
data RDMs.  Run: ``.venv/bin/python benchmarks/seed_spread_fixed_point.py`` (prints a table).
"""

import time
import warnings

import numpy as np

import rsa_lineardyn as rl
from rsa_lineardyn.representations.similarity import _score_matrix

POINTS = {"hIT_subject_session": [(4, -5.41, 1.2), (4, 5.41, 1.09), (2, 0.0, 1.31)],
          "similarity_judgements": [(2, 3.51, -0.24), (2, -5.41, 0.2), ("wide", 0.0, 0.2), (4, -0.24, 1.31)]}


def main():
    warnings.simplefilter("ignore")
    task = rl.load_92images_task()
    print("| data | N_h | lam | log10 t | draws | mean score | SD over seeds | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for name, pts in POINTS.items():
        data = rl.load_92images_rdms(name)
        D = data.get_vectors()
        for h, lam, lt in pts:
            for nd in (32, 128, 512):
                t0 = time.process_time()
                sc = []
                for seed in range(5):
                    m = rl.width_models(task, data, [h], n_draws=nd, seed=seed)[0]
                    v = m.predict(np.array([lam, lt]))
                    sc.append(_score_matrix(v[None], D, "corr", None)[0].mean())
                print(f"| {name} | {h} | {lam} | {lt} | {nd} | {np.mean(sc):.4f} | {np.std(sc, ddof=1):.5f} | "
                      f"{time.process_time() - t0:.1f} |")


if __name__ == "__main__":
    main()
