"""Speed of rl.compare_widths against rsatoolbox's own bootstrap of two fixed models, on the 92-images hIT data.

Side by side, in one process, on rl.load_92images_rdms("hIT_subject_session") (4 subjects x 2 sessions, 92
images) with rl.load_92images_task():

 (i)   rsatoolbox.inference.bootstrap_crossval of two rsatoolbox.model.ModelFixed (the N_h=1 and N_h=4
       predictions of rl.LinearNetworkModel at lam = 0, t = 1, via model.predict_rdm), N = n_boot,
       method "corr", rdm_descriptor "subject", pattern_descriptor "item" (rsatoolbox's defaults otherwise);
 (ii)  rl.compare_widths(data, task, widths=[1, 4], method="corr", n_boot=n_boot, seed=0);
 (iii) the same with method "tau-a" and "rho-a";
 (iv)  the README's recipe: rsatoolbox.inference.bootstrap_crossval called directly on two
       rl.LinearNetworkModel (widths 1 and 4, fitted by their own fitter in every fold), N = 4, once with the
       default BLAS threads and once inside threadpoolctl.threadpool_limits(1): the models limit their own
       threads, so the two should take about the same time (the issue measured 26 s vs 5.7 s).

All calls run with BLAS limited to one thread (compare_widths does that itself; (i) is wrapped in
threadpoolctl.threadpool_limits(1) so both see the same BLAS) and rsatoolbox's global numpy seed fixed.
Ratios: (ii)/(i) (target <= 5x) and rank methods / corr of compare_widths (target <= 10x).

Run:  .venv/bin/python benchmarks/hypothesis_speed.py [--n-boot 100] [--out benchmarks/results/hypothesis_speed.json]
Progress goes to stderr; the JSON is written atomically.
"""

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np

import rsa_lineardyn as rl

ROOT = Path(__file__).resolve().parents[1]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def quiet_rsatoolbox():
    """Silence rsatoolbox's tqdm bar (it costs a little and clutters stderr)."""
    import rsatoolbox.inference.evaluate as ev

    old = ev.tqdm
    ev.tqdm = types.SimpleNamespace(trange=lambda *a, **k: range(*a), tqdm=lambda it, *a, **k: it)
    try:
        yield
    finally:
        ev.tqdm = old


def fixed_models(data, task, widths=(1, 4), log10_time=0.0):
    from rsatoolbox.model import ModelFixed

    out = []
    for h in widths:
        m = rl.LinearNetworkModel(task, n_hidden=h, lam=0.0, item_order=data, name=f"N_h={h}")
        rdm = m.predict_rdm(np.array([log10_time]))
        out.append(ModelFixed(f"N_h={h} (fixed)", rdm))
    return out


def time_rsatoolbox(data, models, n_boot):
    from rsatoolbox.inference import bootstrap_crossval
    from threadpoolctl import threadpool_limits

    state = np.random.get_state()
    np.random.seed(0)
    try:
        with threadpool_limits(1), quiet_rsatoolbox(), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            t0 = time.perf_counter()
            res = bootstrap_crossval(models, data, method="corr", N=n_boot, rdm_descriptor="subject",
                                     pattern_descriptor="item")
            dt = time.perf_counter() - t0
    finally:
        np.random.set_state(state)
    return dt, [float(x) for x in res.get_means()]


def time_compare_widths(data, task, method, n_boot):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hyp = rl.compare_widths(data, task, widths=[1, 4], method=method, n_boot=n_boot, seed=0, progress=False)
    dt = time.perf_counter() - t0
    tab = hyp.table
    return dt, {str(r["model"]): float(r["mean"]) for _, r in tab.iterrows()}, sorted(map(str, tab.columns))


def time_network_models(data, task, n_boot, limit):
    """(iv): bootstrap_crossval on LinearNetworkModels, default BLAS threads (limit False) or one thread."""
    from rsatoolbox.inference import bootstrap_crossval
    from threadpoolctl import threadpool_limits

    models = [rl.LinearNetworkModel(task, n_hidden=h, lam=0.0, item_order=data, name=f"N_h={h}") for h in (1, 4)]
    state = np.random.get_state()
    np.random.seed(0)
    try:
        with (threadpool_limits(1) if limit else contextlib.nullcontext()), quiet_rsatoolbox(), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            bootstrap_crossval(models, data, method="corr", N=n_boot, rdm_descriptor="subject",
                               pattern_descriptor="item")
            return time.perf_counter() - t0
    finally:
        np.random.set_state(state)


def git_head():
    try:
        return subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def write_atomic(path, text):
    """Write ``text`` to ``path`` via a temporary file in its folder (see rsa_lineardyn.data.files)."""
    from rsa_lineardyn.data.files import write_text

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text(Path(path), text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-boot", type=int, default=100)
    ap.add_argument("--methods", nargs="+", default=["corr", "tau-a", "rho-a"])
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/hypothesis_speed.json"))
    args = ap.parse_args(argv)

    data = rl.load_92images_rdms("hIT_subject_session")
    task = rl.load_92images_task()
    models = fixed_models(data, task)
    log(f"(i) rsatoolbox bootstrap_crossval, 2 ModelFixed, N={args.n_boot}, corr ...")
    t_rsa, means_rsa = time_rsatoolbox(data, models, args.n_boot)
    log(f"    {t_rsa:.2f} s")
    rows = {}
    for method in args.methods:
        log(f"rl.compare_widths(widths=[1, 4], method={method!r}, n_boot={args.n_boot}) ...")
        dt, means, cols = time_compare_widths(data, task, method, args.n_boot)
        rows[method] = {"seconds": dt, "means": means}
        log(f"    {dt:.2f} s")
    log("(iv) rsatoolbox bootstrap_crossval on 2 LinearNetworkModels, N=4, default threads / one thread ...")
    t_default = time_network_models(data, task, 4, limit=False)
    t_one = time_network_models(data, task, 4, limit=True)
    log(f"    {t_default:.2f} s / {t_one:.2f} s")
    ratios = {}
    if "corr" in rows:
        ratios["compare_widths_corr / rsatoolbox_fixed"] = rows["corr"]["seconds"] / t_rsa
        for m in args.methods:
            if m != "corr":
                ratios[f"compare_widths_{m} / compare_widths_corr"] = rows[m]["seconds"] / rows["corr"]["seconds"]
    targets = {"compare_widths_corr / rsatoolbox_fixed": 5.0}
    targets.update({k: 10.0 for k in ratios if k != "compare_widths_corr / rsatoolbox_fixed"})
    print("| run | seconds | ratio | target |\n|---|---|---|---|")
    print(f"| (iv) bootstrap_crossval on 2 LinearNetworkModels, N=4: default threads / one thread | {t_default:.2f} / "
          f"{t_one:.2f} | {t_default / t_one:.2f}x | (issue: 26 s / 5.7 s) |")
    print(f"| (i) rsatoolbox bootstrap_crossval, 2 ModelFixed, corr | {t_rsa:.2f} | 1 | |")
    for m, r in rows.items():
        key = ("compare_widths_corr / rsatoolbox_fixed" if m == "corr" else f"compare_widths_{m} / compare_widths_corr")
        print(f"| rl.compare_widths {m} | {r['seconds']:.2f} | {ratios.get(key, float('nan')):.2f}x "
              f"({'vs (i)' if m == 'corr' else 'vs corr'}) | <= {targets.get(key, float('nan')):g}x |")
    out = {
        "settings": {"n_boot": args.n_boot, "methods": args.methods, "data": "hIT_subject_session", "widths": [1, 4],
                     "fixed_models": "LinearNetworkModel(n_hidden=h, lam=0).predict_rdm([log10_time=0])"},
        "rsatoolbox_fixed": {"seconds": t_rsa, "means": means_rsa},
        "compare_widths": rows, "ratios": ratios, "targets": targets,
        "network_models_bootstrap_crossval_n4": {"default_threads_s": t_default, "one_thread_s": t_one},
        "met": {k: bool(v <= targets[k]) for k, v in ratios.items()},
        "git_head": git_head(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    write_atomic(args.out, json.dumps(out, indent=1))
    log(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
