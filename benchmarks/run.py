"""Benchmarks of the exact solver: accuracy, speed against the alternatives, cost scaling, rsatoolbox overhead.

    python benchmarks/run.py [--quick] [--out results.json] [--only accuracy,speed,scaling,rsatoolbox]

Prints one table per section and writes every number (with date and machine) to JSON.
All comparisons are made side by side in the same run, as ratios, because the machines are
shared and noisy.  See benchmarks/README.md for what is measured and why.
"""

import argparse
import datetime
import json
import math
import os
import platform
import resource
import sys
import time
import tracemalloc
import warnings


def _blas_threads_from_argv(argv):
    """``--blas-threads`` must act before numpy is imported (OpenBLAS reads it at load time)."""
    for i, a in enumerate(argv):
        if a.startswith("--blas-threads"):
            val = a.split("=", 1)[1] if "=" in a else (argv[i + 1] if i + 1 < len(argv) else "1")
            return val
    return "1"


BLAS_THREADS = _blas_threads_from_argv(sys.argv[1:])
if BLAS_THREADS != "default":
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = BLAS_THREADS

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))

import rsa_lineardyn as rl  # noqa: E402
from _invariants import _orth, f_matrix, fixed_point_formula  # noqa: E402
from _reference import direct_closed_form, reference_qqt, rel_err  # noqa: E402


def now():
    return time.perf_counter()


def fmt(x, spec=".1e"):
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else "nan"
    return format(x, spec)


def table(headers, rows):
    cols = list(zip(*([headers] + [[str(c) for c in r] for r in rows])))
    widths = [max(len(str(c)) for c in col) for col in cols]
    line = "  ".join(str(h).rjust(w) for h, w in zip(headers, widths))
    out = [line, "-" * len(line)]
    for r in rows:
        out.append("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
    return "\n".join(out)


def make_task(n_in, n_out, s, rng):
    """Whitened task (X = sqrt(P) I) whose Syx has singular values ``s``."""
    m = min(n_in, n_out)
    U, V = _orth(rng, n_out), _orth(rng, n_in)
    syx = (U[:, :m] * np.asarray(s, float)[:m]) @ V[:, :m].T
    X = np.eye(n_in) * np.sqrt(n_in)
    return rl.Task(X, syx @ X)


def draw_weights(task, n_hidden, lam, scale, rng):
    """Balanced weights, redrawn while they lie on an invariant manifold; returns (W1, W2, n_excluded)."""
    excluded = 0
    while True:
        W1, W2 = rl.balanced_init(task.n_in, n_hidden, task.n_out, lam=lam, scale=scale, seed=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                rl.exact_dynamics(task, W1, W2, [0.0])
                return W1, W2, excluded
            except RuntimeWarning:
                excluded += 1


# ------------------------------------------------------------------------------------------- accuracy


def wide_shape(lam):
    # wider than min(n_in, n_out); lam = 0 even wider than n_in + n_out (thin-factor path)
    return (4, 3, 2) if lam < 0 else (2, 3, 4) if lam > 0 else (2, 6, 3)


def bench_accuracy(quick, seed=0):
    lams = [-5.0, 0.0, 5.0] if quick else [-5.0, -1.0, 0.0, 1.0, 5.0]
    n_seeds = 1 if quick else 2
    times = [0.0, 0.1, 1.0, 10.0, 100.0, 1e3] + ([] if quick else [1e4]) + [math.inf]
    shapes = {"bottleneck": lambda lam: (4, 2, 3), "square": lambda lam: (3, 3, 3), "wide": wide_shape}
    rng = np.random.default_rng(seed)
    worst = {t: {"exact": 0.0, "direct": 0.0} for t in times}
    worst_shape = {k: 0.0 for k in shapes}
    excluded = 0
    ref_seconds = 0.0
    ref_seconds_largest_t = 0.0
    n_cases = 0
    inf_modes = {"closed_form": 0, "reference_far": 0}
    for shape_name, shape_of in shapes.items():
        for lam in lams:
            for k in range(n_seeds):
                n_in, h, n_out = shape_of(lam)
                s = np.sort(rng.uniform(0.2, 1.5, min(n_in, n_out)))[::-1]
                task = make_task(n_in, n_out, s, rng)
                W1, W2, exc = draw_weights(task, h, lam, float(10 ** rng.uniform(-3, 0)), rng)
                excluded += exc
                n_cases += 1
                ex = rl.exact_dynamics(task, W1, W2, times).qqt
                for t, P in zip(times, ex):
                    if t == times[-2] and k > 0:
                        continue  # the largest finite t: one seed per (shape, lam) (cost of the reference)
                    if math.isinf(t):
                        R = fixed_point_formula(f_matrix(task.sigma_yx, lam), h)
                        if R is not None:
                            inf_modes["closed_form"] += 1
                        else:  # tie at the boundary: the reference far past convergence
                            t0, t_far = now(), 100.0
                            R = reference_qqt(task.sigma_yx, W1, W2, lam, t_far)
                            while True:  # double t until the reference stops changing
                                R2 = reference_qqt(task.sigma_yx, W1, W2, lam, 2 * t_far)
                                if rel_err(R, R2) <= 1e-16 or t_far >= 1e4:
                                    break
                                R, t_far = R2, 2 * t_far
                            R = R2
                            ref_seconds += now() - t0
                            inf_modes["reference_far"] += 1
                            inf_modes["reference_far_t"] = max(inf_modes.get("reference_far_t", 0), 2 * t_far)
                        D = direct_closed_form(task.sigma_yx, W1, W2, lam, 1e300)
                    else:
                        t0 = now()
                        R = reference_qqt(task.sigma_yx, W1, W2, lam, t)
                        dt = now() - t0
                        ref_seconds += dt
                        if t == times[-2]:
                            ref_seconds_largest_t += dt
                        D = direct_closed_form(task.sigma_yx, W1, W2, lam, t)
                    e_ex, e_d = rel_err(P, R), rel_err(D, R)
                    worst[t]["exact"] = max(worst[t]["exact"], e_ex)
                    worst[t]["direct"] = max(worst[t]["direct"], e_d)
                    worst_shape[shape_name] = max(worst_shape[shape_name], e_ex)
    rows = []
    for t in times:
        w = worst[t]
        ratio = w["direct"] / max(w["exact"], 1e-17)
        rows.append([("inf" if math.isinf(t) else f"{t:g}"), fmt(w["exact"]), fmt(w["direct"]), fmt(ratio, ".0e")])
    overall = max(w["exact"] for w in worst.values())
    print("\n[1] Accuracy: worst normwise relative error of QQ^T(t) vs mpmath reference")
    print(f"    shapes bottleneck (4,2,3), square (3,3,3), wide (lam<0: 4,3,2; lam>0: 2,3,4; lam=0: 2,6,3);"
          f" lam in {lams}; {n_cases} cases")
    print(table(["t", "exact_dynamics", "direct formula", "direct/exact"], rows))
    print("    worst per shape (exact): " + ", ".join(f"{k} {fmt(v)}" for k, v in worst_shape.items()))
    print(f"    t = inf: {inf_modes['closed_form']} vs the closed-form fixed point, {inf_modes['reference_far']} "
          f"(ties at the boundary) vs the reference at t <= {inf_modes.get('reference_far_t', 0):g} "
          "(doubled until it stops changing)")
    print(f"    excluded {excluded} draws on an invariant manifold (redrawn); reference cost {ref_seconds:.0f} s "
          f"({ref_seconds_largest_t:.0f} s at t = {times[-2]:g}); target <= 1e-10: "
          f"{'met' if overall <= 1e-10 else 'NOT met'} (worst {fmt(overall)})")
    return {
        "times": [("inf" if math.isinf(t) else t) for t in times],
        "worst_exact": [worst[t]["exact"] for t in times],
        "worst_direct": [worst[t]["direct"] for t in times],
        "worst_per_shape": worst_shape,
        "lams": lams,
        "cases": n_cases,
        "excluded_invariant_manifold": excluded,
        "inf_comparisons": inf_modes,
        "reference_seconds": ref_seconds,
        "reference_seconds_largest_t": ref_seconds_largest_t,
        "worst_overall": overall,
        "target_met": overall <= 1e-10,
    }


# ------------------------------------------------------------------------------------------- speed


def _traj_err(K, R):
    """max_t ||K K^T(t) - R R^T(t)|| / max_t ||R R^T(t)|| from factors (T, n, r), one time point at a time
    (dense QQ^T for all time points would not fit in memory at n = 2000)."""
    num = den = 0.0
    for k, r in zip(K, R):
        P, Q = k @ k.T, r @ r.T
        num, den = max(num, np.linalg.norm(P - Q)), max(den, np.linalg.norm(Q))
    return num / den


def bench_speed(quick, seed=1, target=1e-6, n_times=60):
    sizes = [(10, 5), (100, 50)] + ([] if quick else [(1000, 100)])
    rows, out = [], []
    flow_rtol_found = None
    gd_c_found = None
    for N, h in sizes:
        rng = np.random.default_rng(seed)
        # the learned modes well separated from the rest, so that the trajectory converges in finite time
        s = np.concatenate([np.linspace(2.0, 1.0, h), np.linspace(0.5, 0.1, N - h)])
        task = make_task(N, N, s, rng)
        W1, W2, _ = draw_weights(task, h, 0.0, 1e-3, rng)
        # times spread to convergence: first grid time where ||P - P(inf)|| <= 1e-6 ||P(inf)||
        probe = np.concatenate([np.linspace(0, 200, 101), [np.inf]])
        Pp = rl.exact_dynamics(task, W1, W2, probe).factors
        Pinf = Pp[-1] @ Pp[-1].T
        T_end = next((t for t, K in zip(probe[:-1], Pp) if np.linalg.norm(K @ K.T - Pinf) <= 1e-6 * np.linalg.norm(Pinf)),
                     probe[-2])
        times = np.linspace(0.0, T_end, n_times)
        rec = {"N": N, "n_hidden": h, "T_end": float(T_end), "n_times": n_times}
        # exact
        reps = 3 if N <= 100 else 1
        best = math.inf
        for _ in range(reps):
            t0 = now()
            ex = rl.exact_dynamics(task, W1, W2, times)
            best = min(best, now() - t0)
        rec["exact_s"] = best
        Rq = ex.factors
        # gradient flow: loosest rtol in a ladder that reaches the target
        flow_s = flow_err = None
        ladder = [1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]
        if N == 1000 and flow_rtol_found is not None:
            ladder = [flow_rtol_found]
        w = float(np.max(np.abs(np.concatenate([W1.ravel(), W2.ravel()]))))
        for rtol in ladder:
            t0 = now()
            sim = rl.simulate(task, W1, W2, times, method="flow", rtol=rtol, atol=rtol * 1e-3 * w)
            dt = now() - t0
            err = _traj_err(sim.factors, Rq)
            if err <= target or rtol == ladder[-1]:
                flow_s, flow_err, rec["flow_rtol"] = dt, err, rtol
                break
        if N < 1000:
            flow_rtol_found = rec["flow_rtol"]
        rec["flow_s"], rec["flow_err"] = flow_s, flow_err
        # gradient descent: error = c * lr (first order); estimate c from two runs, then lr* = target / c
        lr_max = 0.5 / s[0]
        if N < 1000:
            errs = []
            for lr in (lr_max / 4, lr_max / 8):
                t0 = now()
                gd = rl.simulate(task, W1, W2, times, lr=lr)
                dt = now() - t0
                R_at = rl.exact_dynamics(task, W1, W2, gd.times).factors  # exact at the times GD reached
                errs.append((lr, _traj_err(gd.factors, R_at), dt, int(gd.info["steps"].max())))
            (lr1, e1, _, _), (lr2, e2, dt2, steps2) = errs
            order = math.log(e1 / e2) / math.log(lr1 / lr2)
            c = e2 / lr2
            gd_c_found = c
            per_step = dt2 / steps2
            rec.update(gd_order=order, gd_c=c)
        else:
            c = gd_c_found
            t0 = now()
            rl.simulate(task, W1, W2, [200 * lr_max / 8], lr=lr_max / 8)
            per_step = (now() - t0) / 200
            rec["gd_c_from"] = "N=100"
        lr_star = target / c
        steps = int(math.ceil(T_end / lr_star))
        gd_est = steps * per_step
        rec.update(gd_lr=lr_star, gd_steps=steps, gd_s_per_step=per_step, gd_s=gd_est, gd_measured=False)
        if gd_est <= 30:  # cheap enough to run and confirm
            t0 = now()
            gd = rl.simulate(task, W1, W2, times, lr=lr_star)
            rec["gd_s"] = now() - t0
            R_at = rl.exact_dynamics(task, W1, W2, gd.times).factors
            rec["gd_err"] = _traj_err(gd.factors, R_at)
            rec["gd_measured"] = True
        rec["speedup_flow"] = rec["flow_s"] / rec["exact_s"]
        rec["speedup_gd"] = rec["gd_s"] / rec["exact_s"]
        out.append(rec)
        rows.append([
            N, h, f"{T_end:g}", f"{rec['exact_s']:.3g}",
            f"{flow_s:.3g}", f"{rec['flow_rtol']:.0e}", fmt(flow_err),
            f"{rec['gd_s']:.3g}{'' if rec['gd_measured'] else ' (est)'}", f"{lr_star:.1e}", fmt(rec.get("gd_err")),
            f"{rec['speedup_flow']:.2g}x", f"{rec['speedup_gd']:.2g}x",
        ])
        print(f"    ... N={N} done", flush=True)
    print(f"\n[2] Same trajectory ({n_times} time points in [0, T_end], T_end = converged to 1e-6), lam = 0, "
          f"init scale 1e-3, Syx singular values linspace(2, 1, n_hidden) then linspace(0.5, 0.1, N - n_hidden), "
          f"matched accuracy {target:g}")
    print(table(["N=n_in=n_out", "n_hidden", "T_end", "exact s", "flow s", "flow rtol", "flow err",
                 "GD s", "GD lr", "GD err", "flow/exact", "GD/exact"], rows))
    for r in out:
        if "gd_order" in r:
            print(f"    N={r['N']}: GD error order in lr = {r['gd_order']:.2f} (1 = first order), err ~ {r['gd_c']:.2g} * lr")
    print("    (est) = steps needed x measured time per step; at N=1000 the GD constant is taken from N=100 and "
          "the flow tolerance from the N=100 ladder (one run)")
    return out


# ------------------------------------------------------------------------------------------- scaling


def _timed(fn):
    tracemalloc.start()
    t0 = now()
    res = fn()
    dt = now() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return res, dt, peak


def _per_point(task, W1, W2, t=1.0, k=16, reps=2):
    """Setup time (a 1-point call) and cost per extra time point ((1+k points - 1 point) / k), best of
    ``reps``; peak traced memory of the (1+k)-point call."""
    t1 = tk = math.inf
    peak = 0
    for _ in range(reps):
        _, d1, p1 = _timed(lambda: rl.exact_dynamics(task, W1, W2, [t]))
        _, dk, pk = _timed(lambda: rl.exact_dynamics(task, W1, W2, np.full(k + 1, t)))
        t1, tk, peak = min(t1, d1), min(tk, dk), max(peak, p1, pk)
    return t1, max(tk - t1, 0.0) / k, peak


def _fit_exponent(xs, ys):
    xs, ys = np.log(np.asarray(xs, float)), np.log(np.maximum(np.asarray(ys, float), 1e-9))
    return float(np.polyfit(xs, ys, 1)[0])


def bench_scaling(quick, seed=2):
    rng = np.random.default_rng(seed)
    res = {}
    # (a) cost per time point vs t
    n_half, h = (50, 20)
    task = make_task(n_half, n_half, np.linspace(2, 0.5, n_half), rng)
    W1, W2, _ = draw_weights(task, h, 0.0, 1e-3, rng)
    tlist = [1.0, 1e5, 1e7, 1e300, math.inf]
    k = 40
    per_t = {}
    rl.exact_dynamics(task, W1, W2, np.full(k, 1.0))  # warm-up
    for t in tlist:
        best = math.inf
        for _ in range(3):
            t0 = now()
            rl.exact_dynamics(task, W1, W2, np.full(k, t))
            best = min(best, now() - t0)
        per_t[t] = best / k
    res["per_point_vs_t"] = {("inf" if math.isinf(t) else f"{t:g}"): v for t, v in per_t.items()}
    print(f"\n[3a] Cost per time point vs t (n_in = n_out = {n_half}, n_hidden = {h}, {k} points per call, best of 3)")
    print(table(["t", "ms / point", "ratio to t=1"],
                [[("inf" if math.isinf(t) else f"{t:g}"), f"{1e3 * v:.3g}", f"{v / per_t[1.0]:.2f}"] for t, v in per_t.items()]))

    # (b) scaling with n_in + n_out at fixed n_hidden
    hb = 10
    ns = [250, 500, 1000] + ([] if quick else [2000, 4000])
    rows, rec_n = [], []
    for n in ns:
        task = make_task(n // 2, n // 2, np.linspace(2, 0.5, n // 2), rng)
        W1, W2, _ = draw_weights(task, hb, 0.5, 1e-3, rng)
        setup, pp, peak = _per_point(task, W1, W2, reps=3 if n <= 1000 else 1)
        rec_n.append({"n": n, "setup_s": setup, "per_point_s": pp, "peak_MB": peak / 2**20})
        rows.append([n, f"{setup:.3g}", f"{1e3 * pp:.3g}", f"{peak / 2**20:.0f}"])
        print(f"    ... n={n} done", flush=True)
    e_setup = _fit_exponent([r["n"] for r in rec_n[-3:]], [r["setup_s"] for r in rec_n[-3:]])
    e_pp = _fit_exponent([r["n"] for r in rec_n[-3:]], [r["per_point_s"] for r in rec_n[-3:]])
    res["vs_n"] = {"n_hidden": hb, "rows": rec_n, "exponent_setup": e_setup, "exponent_per_point": e_pp}
    print(f"\n[3b] Scaling with n = n_in + n_out (n_in = n_out, n_hidden = {hb}, lam = 0.5)")
    print(table(["n", "setup s (1 point)", "ms / extra point", "peak MB"], rows))
    print(f"    growth exponent (largest 3 sizes): setup n^{e_setup:.2f}, per point n^{e_pp:.2f}")

    # (c) scaling with n_hidden at fixed n
    nc = 1000
    hs = [10, 30, 100] + ([] if quick else [300, 1000])
    task = make_task(nc // 2, nc // 2, np.linspace(2, 0.5, nc // 2), rng)
    rows, rec_h = [], []
    for hh in hs:
        W1, W2, _ = draw_weights(task, hh, 0.0, 1e-3, rng)
        kk, reps = (16, 3) if hh <= 30 else (4, 2) if hh <= 100 else (2, 1)
        setup, pp, peak = _per_point(task, W1, W2, k=kk, reps=reps)
        rec_h.append({"n_hidden": hh, "setup_s": setup, "per_point_s": pp, "peak_MB": peak / 2**20})
        rows.append([hh, f"{setup:.3g}", f"{1e3 * pp:.4g}", f"{peak / 2**20:.0f}"])
        print(f"    ... n_hidden={hh} done", flush=True)
    e_h = _fit_exponent([r["n_hidden"] for r in rec_h[-3:]], [r["per_point_s"] for r in rec_h[-3:]])
    res["vs_hidden"] = {"n": nc, "rows": rec_h, "exponent": e_h}
    print(f"\n[3c] Scaling with n_hidden (n = n_in + n_out = {nc}, lam = 0)")
    print(table(["n_hidden", "setup s (1 point)", "ms / extra point", "peak MB"], rows))
    print(f"    growth exponent (largest 3 widths): time per point ~ n_hidden^{e_h:.2f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    res["max_rss_MB"] = rss
    print(f"    process peak RSS so far: {rss:.0f} MB")
    return res


# ------------------------------------------------------------------------------------------- rsatoolbox


def _per_call(fn, n, reps=3):
    """Best of ``reps`` mean time per call of ``fn(i)`` over ``n`` calls."""
    best = math.inf
    for r in range(reps):
        t0 = now()
        for i in range(n):
            fn(r * n + i)
        best = min(best, (now() - t0) / n)
    return best


def _crossval_time(models, data, sets, reps, method="corr"):
    """Best-of-``reps`` time of one rsatoolbox ``crossval`` over the folds ``sets``, and mean test scores."""
    from rsatoolbox.inference import crossval

    train, test, ceil = sets
    best, res = math.inf, None
    for _ in range(reps):
        t0 = now()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = crossval(models, data, train, test, ceil_set=ceil, method=method, pattern_descriptor="item")
        best = min(best, now() - t0)
    ev = np.asarray(res.evaluations, float).reshape(len(models), -1)
    return best, [float(np.nanmean(e)) for e in ev]


def _bootcv_time(models, data, n_boot, seed, method="corr"):
    from rsatoolbox.inference import bootstrap_crossval

    from rsa_lineardyn import progress_bars

    np.random.seed(seed)  # rsatoolbox draws from the global generator
    t0 = now()
    with warnings.catch_warnings(), progress_bars(False):
        warnings.simplefilter("ignore")
        res = bootstrap_crossval(models, data, method=method, k_pattern=3, k_rdm=2, N=n_boot,
                                 pattern_descriptor="item", rdm_descriptor="subject", boot_type="both")
    dt = now() - t0
    ev = np.asarray(res.evaluations, float)
    ev = np.moveaxis(ev, 1, 0).reshape(len(models), -1)
    return dt, [float(np.nanmean(e)) for e in ev]


def bench_rsatoolbox(quick, seed=5):
    """Overhead of LinearNetworkModel inside rsatoolbox, side by side with rsatoolbox's own models."""
    from rsatoolbox.inference import sets_k_fold
    from rsatoolbox.model import ModelFixed, ModelInterpolate, ModelWeighted
    from rsatoolbox.model.fitter import fit_regress
    from rsatoolbox.rdm import concat

    task = rl.load_92images_task()
    data = rl.load_92images_rdms("hIT_subject_session")
    wide = task.n_out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        ours = [rl.LinearNetworkModel(task, n_hidden=h, item_order=data) for h in (2, wide)]
    m2 = ours[0]
    lo, hi = m2.bounds[-1]
    # rsatoolbox's own models over the same predictions: a fixed RDM, and 1-parameter-family stand-ins
    # (interpolation / weighted sum of the model's RDMs at 4 times) that rsatoolbox fits itself
    grid = np.linspace(lo, hi, 4)
    bases = [concat([m.predict_rdm([0.0, t]) for t in grid]) for m in ours]
    fixed = [ModelFixed(f"fixed {m.name}", m.predict_rdm([0.0, 0.5 * (lo + hi)])) for m in ours]
    interp = [ModelInterpolate(f"interp {m.name}", b) for m, b in zip(ours, bases)]
    weighted = [ModelWeighted(f"weighted {m.name}", b) for m, b in zip(ours, bases)]  # default fitter fit_optimize
    regress = [ModelWeighted(f"regress {m.name}", b) for m, b in zip(ours, bases)]
    for m in regress:
        m.default_fitter = fit_regress

    # (a) one predict_rdm at P = 92
    n = 100 if quick else 300
    step = (hi - lo) / (4 * n)
    res = {"P": int(data.n_cond), "n_rdm": int(data.n_rdm), "widths": [m.n_hidden for m in ours]}
    pred = {
        "LinearNetworkModel, new theta": _per_call(lambda i: m2.predict_rdm([0.0, lo + step * (i + 1)]), n),
        "LinearNetworkModel, cached theta": _per_call(lambda i: m2.predict_rdm([0.0, lo]), n),
        "ModelFixed": _per_call(lambda i: fixed[0].predict_rdm(), n),
        "ModelInterpolate, new theta": _per_call(
            lambda i: interp[0].predict_rdm(np.array([1.0, 0, 0, 0]) + 1e-6 * i), n),
        "ModelWeighted, new theta": _per_call(
            lambda i: weighted[0].predict_rdm(np.array([1.0, 0, 0, 0]) + 1e-6 * i), n),
    }
    ref = pred["ModelWeighted, new theta"]
    res["predict_rdm_s"] = pred
    print(f"\n[5a] One predict_rdm, 92-image task (P = {data.n_cond}, {task.n_out} features), hidden representation, "
          f"h = {m2.n_hidden}, lam free (mean of {n} calls, best of 3)")
    print(table(["model", "us / call", "ratio to ModelWeighted"],
                [[k, f"{1e6 * v:.3g}", f"{v / ref:.3g}"] for k, v in pred.items()]))

    # (b) one crossvalidated comparison of two widths on the 8 hIT subject/session RDMs
    np.random.seed(seed)
    sets = sets_k_fold(data, k_rdm=2, k_pattern=3, random=True, pattern_descriptor="item", rdm_descriptor="subject")
    n_folds = len(sets[0])
    reps = 1 if quick else 3
    cv = {}
    for label, ms, r in [("LinearNetworkModel (fit_linear_network)", ours, reps),
                         ("ModelFixed (no fit)", fixed, reps),
                         ("ModelInterpolate (fit_interpolate)", interp, reps),
                         ("ModelWeighted (fit_regress)", regress, reps)] + \
            ([] if quick else [("ModelWeighted (fit_optimize, default)", weighted, 1)]):
        dt, sc = _crossval_time(ms, data, sets, r)
        cv[label] = {"seconds": dt, "scores": sc}
        print(f"    ... crossval {label} done ({dt:.2f} s)", flush=True)
    n_boot = 3 if quick else 5
    boot = {}
    for label, ms in [("LinearNetworkModel (fit_linear_network)", ours), ("ModelFixed (no fit)", fixed),
                      ("ModelInterpolate (fit_interpolate)", interp), ("ModelWeighted (fit_regress)", regress)]:
        dt, sc = _bootcv_time(ms, data, n_boot, seed)
        boot[label] = {"seconds": dt, "scores": sc}
        print(f"    ... bootstrap_crossval {label} done ({dt:.2f} s)", flush=True)
    res["crossval"] = {"k_rdm": 2, "k_pattern": 3, "n_folds": n_folds, "method": "corr", "models": cv}
    res["bootstrap_crossval"] = {"N": n_boot, "k_rdm": 2, "k_pattern": 3, "boot_type": "both", "models": boot}
    base = cv["ModelInterpolate (fit_interpolate)"]["seconds"]
    bbase = boot["ModelInterpolate (fit_interpolate)"]["seconds"]
    rows = []
    for k, v in cv.items():
        b = boot.get(k)
        rows.append([k, f"{v['seconds']:.3g}", f"{v['seconds'] / base:.3g}",
                     "-" if b is None else f"{b['seconds']:.3g}", "-" if b is None else f"{b['seconds'] / bbase:.3g}",
                     " / ".join(f"{s:.3f}" for s in v["scores"])])
    print(f"\n[5b] Crossvalidated comparison of two widths (h = 2, {wide}) on the 8 hIT subject/session RDMs, "
          f"method corr: crossval over {n_folds} folds (sets_k_fold k_rdm=2 by subject, k_pattern=3; best of {reps}), "
          f"and bootstrap_crossval N={n_boot} (boot_type both)")
    print(table(["models", "crossval s", "ratio", f"boot N={n_boot} s", "ratio", "mean test corr (h=2 / wide)"],
                rows))
    print("    ratio = time / ModelInterpolate's; rsatoolbox's models interpolate or weight our predicted RDMs "
          "at 4 fixed times (lam = 0); ours fits lam and time")
    return res


# ------------------------------------------------------------------------------------------- main


def machine():
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "numpy": np.__version__,
        "scipy": __import__("scipy").__version__,
        "mpmath": __import__("mpmath").__version__,
        "rsa_lineardyn": rl.__version__,
        "blas_threads": BLAS_THREADS,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description="rsa_lineardyn benchmarks")
    ap.add_argument("--quick", action="store_true", help="smaller sizes and t <= 1e3 (about 2 minutes)")
    ap.add_argument("--out", default="results.json", help="JSON output file (default results.json)")
    ap.add_argument("--only", default="accuracy,speed,scaling,rsatoolbox", help="comma-separated sections to run")
    ap.add_argument("--blas-threads", default="1",
                    help="BLAS threads (default 1: on shared machines multithreaded OpenBLAS makes small LAPACK "
                         "calls up to 20x slower and the ratios noisy); 'default' leaves the environment alone")
    args = ap.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    info = machine()
    print(f"rsa_lineardyn benchmarks {'(quick) ' if args.quick else ''}{info['date']}  "
          f"cpus={info['cpu_count']} blas_threads={BLAS_THREADS} numpy={info['numpy']} scipy={info['scipy']} "
          f"load={tuple(round(x, 1) for x in info['load_average'])}")
    results = {"machine": info, "quick": args.quick}
    t0 = now()
    funcs = {"accuracy": bench_accuracy, "speed": bench_speed, "scaling": bench_scaling,
             "rsatoolbox": bench_rsatoolbox}
    for name in sections:
        if name not in funcs:
            ap.error(f"unknown section {name!r}; choose from {', '.join(funcs)}")
        s0 = now()
        results[name] = funcs[name](args.quick)
        results[f"{name}_seconds"] = now() - s0
    results["total_seconds"] = now() - t0
    print(f"\ntotal {results['total_seconds']:.0f} s")
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
