"""Figure 1: simulation vs exact solution, N_h = 2, N_i = N_o = 3, lam in {-1, 0, 1}.

Writes ``figure1.png`` and prints the largest deviation between gradient descent
and the exact solution, for the learning rate ``lr`` and for ``lr/2`` and ``lr/4``
(it shrinks linearly with ``lr``: gradient descent is a first-order method).

Every entry of ``QQ^T`` (``Q = [W1^T; W2]``) is one curve: coloured for
gradient descent, black dotted for the exact solution; the key on the right
says which colour is which entry (blues: ``W1^T W1``, oranges: ``W2 W1``,
greens: ``W2 W2^T``).  Time is in units of the time constant ``tau``
(gradient descent step ``k`` is at ``t = k lr tau``).

Run:  python examples/figure1.py [--out out/figure1.png] [--lr 0.01] [--force]
An existing output file is not overwritten without ``--force``.
"""

import argparse
import warnings
import sys
from pathlib import Path

import numpy as np


def figure1_task(seed=0):
    import rsa_lineardyn as rl

    rng = np.random.default_rng(seed)
    P = 3
    X = np.eye(3) * np.sqrt(P)  # whitened: Sxx = X X^T / P = I
    Y = rng.standard_normal((3, 3)) * np.sqrt(P) / np.sqrt(3) + np.diag([2.0, 1.0, 0.5]) * np.sqrt(P)
    return rl.Task(X, Y, labels=["a", "b", "c"], name="figure1")


def make_figure(lr=0.01, t_max=12.0, seed=0, scale=0.35):
    """Compute and draw Figure 1; returns ``(fig, deviations)`` (no file is written).

    ``deviations`` maps each lam to the largest ``|QQ^T_sim - QQ^T_exact|`` at ``lr``, ``lr/2``, ``lr/4``.
    """
    import matplotlib.pyplot as plt

    import rsa_lineardyn as rl
    from rsa_lineardyn.plotting import plot_qqt_entries, plot_qqt_key

    task = figure1_task(seed)
    lams = (-1.0, 0.0, 1.0)
    times = np.linspace(0, t_max, 241)
    s_max = float(task.singular_values[0])
    # gradient descent near the solution is stable only for lr < 2 / (largest Hessian eigenvalue), which is
    # sqrt(lam^2 + 4 s^2) for a mode of strength s with balance lam (linearisation at the fixed point)
    lr_stable = min(2.0 / np.hypot(lam, 2.0 * s_max) for lam in lams)
    if not lr <= t_max / 4:
        # every requested time rounds to step 0 (or 1): the "simulation" would be the initial weights, equal to the
        # exact solution at t = 0 to rounding, and the reported agreement (~1e-15) would mean nothing
        why = (f"gradient descent diverges at this learning rate (it is stable only below about {lr_stable:.3g} "
               "for this task), and ") if lr > lr_stable else ""
        raise rl.InputValueError(
            f"Figure 1 at `lr` = {lr:g}: {why}its steps of {lr:g} time units (tau = 1) exceed a quarter of the "
            f"figure's time span t_max = {t_max:g}, so the runs at lr, lr/2 and lr/4 take at most one step and there "
            f"is no trajectory to compare. Use a learning rate well below {min(lr_stable, t_max / 4):.3g} (the "
            "default is 0.01)."
        )
    fig = plt.figure(figsize=(15, 4.3))
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 1, 0.62], wspace=0.25)
    axes = [fig.add_subplot(grid[0, 0])]
    axes += [fig.add_subplot(grid[0, k], sharey=axes[0]) for k in (1, 2)]
    worst = {}
    for ax, lam in zip(axes, lams):
        W1, W2 = rl.balanced_init(3, 2, 3, lam, scale=scale, seed=seed + 1)
        exact = rl.exact_dynamics(task, W1, W2, times)
        devs = []
        for k, step in enumerate((lr, lr / 2, lr / 4)):
            with warnings.catch_warnings():  # rounding to whole steps is expected: compared at the times reached
                warnings.filterwarnings("ignore", message="gradient descent moves in whole steps")
                try:
                    sim = rl.simulate(task, W1, W2, times, lr=step)
                except rl.InputValueError as exc:
                    if "diverged" not in str(exc):
                        raise
                    raise rl.InputValueError(
                        f"Figure 1 at `lr` = {lr:g}: gradient descent diverged (lam = {lam:g}, run at lr = {step:g}), "
                        f"so there is no agreement with the exact solution to report. Use a learning rate well "
                        f"below {lr_stable:.3g} (the stability limit of gradient descent on this task; the "
                        f"default is 0.01). Detail: {exc}"
                    ) from None
            ref = exact if np.array_equal(sim.times, exact.times) else rl.exact_dynamics(task, W1, W2, sim.times)
            devs.append(float(np.max(np.abs(sim.qqt - ref.qqt))))
            if k == 0:
                plot_qqt_entries(exact, sim, ax=ax, title=rf"$\lambda$ = {lam:g}")
        worst[lam] = devs
    for ax in axes[1:]:
        ax.set_ylabel("")
        ax.tick_params(labelleft=False)
    plot_qqt_key(task.n_in, task.n_out, ax=fig.add_subplot(grid[0, 3]))
    fig.suptitle(r"Exact learning dynamics, $N_h=2$, $N_i=N_o=3$ "
                 f"(colour: gradient descent, lr = {lr:g}; black dotted: exact solution)", y=0.99)
    fig.subplots_adjust(left=0.05, right=0.98, bottom=0.13, top=0.84)
    return fig, worst


def _save_new(fig, out, force):
    """Write the PNG to a temporary file beside ``out`` and move it into place (refuse to replace without force)."""
    from rsa_lineardyn.data.files import write_outputs

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_outputs([(out, lambda tmp: fig.savefig(tmp, dpi=120))], force=force)


def run(out="figure1.png", lr=0.01, t_max=12.0, seed=0, scale=0.35, verbose=True, force=True):
    """Draw Figure 1 into ``out``; returns ``{"out", "deviations", "max_deviation"}``.

    With ``force=False`` an existing ``out`` raises ``FileExistsError`` (checked before any work).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    if not force and out.exists():
        raise FileExistsError(f"output file {out} exists; use --force to overwrite it")
    fig, worst = make_figure(lr=lr, t_max=t_max, seed=seed, scale=scale)
    try:
        _save_new(fig, out, force)
    finally:
        plt.close(fig)
    overall = max(max(v) for v in worst.values())
    if verbose:
        print(f"Figure 1 written to {out}")
        print("largest |QQ^T_sim - QQ^T_exact| over t in [0, %g] (units of tau):" % t_max)
        for lam, (a, b, c) in worst.items():
            print(f"  lam = {lam:+g}:  lr = {lr:g}: {a:.3e}   lr/2: {b:.3e}   lr/4: {c:.3e}   "
                  f"(ratios {a / b:.2f}, {b / c:.2f}; linear in lr -> 2)")
        print(f"largest simulation-vs-theory deviation (lr = {lr:g}): {max(v[0] for v in worst.values()):.3e}")
    return {"out": str(out), "deviations": worst, "max_deviation": overall}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/figure1.png", help="output PNG (default: out/figure1.png)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate of gradient descent (default 0.01)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing output file")
    args = parser.parse_args(argv)
    from rsa_lineardyn import InputValueError

    try:
        run(out=args.out, lr=args.lr, force=args.force)
    except (FileExistsError, InputValueError) as exc:  # e.g. a diverging --lr: one line, exit status 1
        print(f"figure1.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
