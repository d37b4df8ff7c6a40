"""Figure 1: simulation vs exact solution, N_h = 2, N_i = N_o = 3, lam in {-1, 0, 1}.

Writes ``figure1.png`` and prints the largest deviation between gradient descent
and the exact solution, for the learning rate ``lr`` and for ``lr/2`` and ``lr/4``
(it shrinks linearly with ``lr``: gradient descent is a first-order method).

Run:  python examples/figure1.py [--out out/figure1.png] [--lr 0.01]
"""

import argparse
from pathlib import Path

import numpy as np


def figure1_task(seed=0):
    import rsa_lineardyn as rl

    rng = np.random.default_rng(seed)
    P = 3
    X = np.eye(3) * np.sqrt(P)  # whitened: Sxx = X X^T / P = I
    Y = rng.standard_normal((3, 3)) * np.sqrt(P) / np.sqrt(3) + np.diag([2.0, 1.0, 0.5]) * np.sqrt(P)
    return rl.Task(X, Y, labels=["a", "b", "c"], name="figure1")


def run(out="figure1.png", lr=0.01, t_max=12.0, seed=0, scale=0.35, verbose=True):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import rsa_lineardyn as rl
    from rsa_lineardyn.plotting import plot_qqt_entries

    task = figure1_task(seed)
    lams = (-1.0, 0.0, 1.0)
    times = np.linspace(0, t_max, 241)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    worst = {}
    for ax, lam in zip(axes, lams):
        W1, W2 = rl.balanced_init(3, 2, 3, lam, scale=scale, seed=seed + 1)
        exact = rl.exact_dynamics(task, W1, W2, times)
        devs = []
        for k, step in enumerate((lr, lr / 2, lr / 4)):
            sim = rl.simulate(task, W1, W2, times, lr=step)
            devs.append(float(np.max(np.abs(sim.qqt - exact.qqt))))
            if k == 0:
                plot_qqt_entries(exact, sim, ax=ax, title=rf"$\lambda$ = {lam:g}")
        worst[lam] = devs
    fig.suptitle(r"Exact learning dynamics, $N_h=2$, $N_i=N_o=3$ "
                 f"(colour: gradient descent, lr = {lr:g}; black dotted: exact solution)")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    overall = max(max(v) for v in worst.values())
    if verbose:
        print(f"Figure 1 written to {out}")
        print("largest |QQ^T_sim - QQ^T_exact| over t in [0, %g]:" % t_max)
        for lam, (a, b, c) in worst.items():
            print(f"  lam = {lam:+g}:  lr = {lr:g}: {a:.3e}   lr/2: {b:.3e}   lr/4: {c:.3e}   "
                  f"(ratios {a / b:.2f}, {b / c:.2f}; linear in lr -> 2)")
        print(f"largest simulation-vs-theory deviation (lr = {lr:g}): {max(v[0] for v in worst.values()):.3e}")
    return {"out": str(out), "deviations": worst, "max_deviation": overall}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/figure1.png")
    parser.add_argument("--lr", type=float, default=0.01)
    args = parser.parse_args(argv)
    run(out=args.out, lr=args.lr)


if __name__ == "__main__":
    main()
