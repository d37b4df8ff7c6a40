"""Tried and not shipped (issue 19, Monte-Carlo floor): Latin-hypercube stratified random starts.

Each task mode's input- and output-side overlap norms (chi with N_h degrees of freedom, independent over modes
for a Gaussian start in the task's basis) are stratified over the draws (``lhs``), and in ``lhs3`` also the angle
between the two overlap vectors; every draw keeps the law of ``balanced_init`` (a Latin hypercube keeps each
draw's marginal), so the estimate stays unbiased.  Measured: the SD over draw seeds of the mean score at fixed
parameters (the seed-spread diagnosis' fold choices), 32 draws, against the shipped draws (``plain``).

Run: ``.venv/bin/python benchmarks/mc_stratified_starts.py [plain|lhs|lhs3] [n_seeds]`` (prints one row per point;
the three variants side by side: ``benchmarks/results/mc_stratified_starts.md``).
"""
import sys
import time
import warnings
import numpy as np
from scipy.stats import chi2
import rsa_lineardyn as rl
import rsa_lineardyn.models.random_starts as rs
import rsa_lineardyn.models.draws as dr
from rsa_lineardyn.dynamics.initialization import _random_orthogonal
from rsa_lineardyn.representations.similarity import _score_matrix

orig = dr._base_draws
MODE = sys.argv[1] if len(sys.argv) > 1 else "plain"

def lhs_base_draws(task, n_hidden, n_draws, seed, antithetic=False):
    if antithetic:
        p = (n_draws + 1) // 2
        base = lhs_base_draws(task, n_hidden, p, seed)
        return base + [(-U, a, V, R) for U, a, V, R in base[: n_draws - p]]
    h = n_hidden
    rng = np.random.default_rng(seed)
    Ut, s, Vt = task.svd()
    K = int(np.sum(s > 1e-10 * s[0]))
    # stratified chi_h norms for the K task modes, rows of A (out) and columns of B (in)
    def strat():
        u = (np.stack([rng.permutation(n_draws) for _ in range(K)], 1) + rng.random((n_draws, K))) / n_draws
        return np.sqrt(chi2.ppf(u, h))
    nA, nB = strat(), strat()
    if MODE == "lhs_in":
        nA = None
    from scipy.stats import beta as _beta
    uc = (np.stack([rng.permutation(n_draws) for _ in range(K)], 1) + rng.random((n_draws, K))) / n_draws
    cos = 2 * _beta.ppf(uc, (h - 1) / 2, (h - 1) / 2) - 1 if h > 1 else np.sign(uc - 0.5)
    base = []
    for k in range(n_draws):
        B = rng.standard_normal((h, task.n_in))
        A = rng.standard_normal((task.n_out, h))
        Bk = B[:, :K]; Bk /= np.linalg.norm(Bk, axis=0); Bk *= nB[k]
        if nA is not None:
            Ak = A[:K]; Ak /= np.linalg.norm(Ak, axis=1)[:, None]; Ak *= nA[k][:, None]
        if MODE == "lhs3":
            for al in range(K):
                ah = A[al] / np.linalg.norm(A[al])
                w = rng.standard_normal(h); w -= (w @ ah) * ah; w /= np.linalg.norm(w) if h > 1 else 1
                d = cos[k, al] * ah + (np.sqrt(max(0, 1 - cos[k, al] ** 2)) * w if h > 1 else 0)
                B[:, al] = nB[k, al] * d
        G1 = B @ Vt
        G2 = Ut @ A
        U, a, V2 = np.linalg.svd(G2 @ G1, full_matrices=True)
        R = _random_orthogonal(h, rng, max(min(h, task.n_in), min(h, task.n_out)))
        base.append((U, a, V2.T, R))
    return base

if MODE.startswith("lhs"):
    rs._base_draws = lhs_base_draws

POINTS = {"hIT_subject_session": [(4, -5.41, 1.2), (4, 5.41, 1.09), (2, 0.0, 1.31)],
          "similarity_judgements": [(2, 3.51, -0.24), (2, -5.41, 0.2), ("wide", 0.0, 0.2), (4, -0.24, 1.31)]}
warnings.simplefilter("ignore")
task = rl.load_92images_task()
nseeds = int(sys.argv[2]) if len(sys.argv) > 2 else 12
for name, pts in POINTS.items():
    data = rl.load_92images_rdms(name)
    D = data.get_vectors()
    for h, lam, lt in pts:
        t0 = time.time()
        sc = []
        for seed in range(nseeds):
            m = rl.width_models(task, data, [h], n_draws=32, seed=seed)[0]
            v = m.predict(np.array([lam, lt]))
            sc.append(_score_matrix(v[None], D, "corr", None)[0].mean())
        print(f"{MODE} | {name} | {h} | {lam} | {lt} | {np.mean(sc):.4f} | {np.std(sc, ddof=1):.5f} | {time.time()-t0:.1f}", flush=True)
