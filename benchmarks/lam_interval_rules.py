"""Why the lam interval of fit_rdms is wide: its ingredients, and other interval rules, on the issue-19 design.

fit_rdms's 95% lam interval (rsa_lineardyn/inference/intervals.py, ``_continuous_row``) joins
  (a) the bootstrap over subjects of the estimate (2.5-97.5% quantiles, plus half a grid step),
  (b) the profile set: grid values whose group score falls short of the best by no more than ``flat_tol`` (1e-3) or
      z = 1.96 bootstrap SDs of that shortfall (a test inversion), and
  (c) with start_check="widen", the estimate under the other assumed start when the data do not reject that start.
This script records (a)-(c) for every simulated study (by wrapping the private ``_intervals_table``: a diagnostic,
not an API) and recomputes the interval under other rules from the same fit:
  shipped                  what fit_rdms reports
  no start widening        (a) + (b)
  bootstrap only           (a)
  boot + profile, no floor (a) + (b) with flat_tol 0
  boot + paired profile    (a) + grid values whose score is below the best grid value's by at most z SDs of the
                           paired bootstrap difference (z 1.96 and 1.645)
  paired profile only      the estimate + that set (z 1.96)
Truth as calibration_inference.py's lam cells: semantic task (8 items), each subject its own N_h = 3 network trained by
gradient descent (lr 0.01) from its own random lambda-balanced start (scale 1e-2), 100 voxels, noise 0.25, 4 runs,
crossnobis RDMs, stages t = 3, 6, 12 (stage values 1, 2, 4); fit_rdms(n_hidden=[3], scale=1e-2, n_boot=100,
random_state=trial, other arguments default).

Run:  .venv/bin/python benchmarks/lam_interval_rules.py [--lams -2,-1,0,1,2] [--subjects 8] [--trials 40]
      [--seed 0] [--n-draws 256] [--out benchmarks/results/lam_interval_rules_8]
      .venv/bin/python benchmarks/lam_interval_rules.py --report benchmarks/results/lam_interval_rules_8.json ...
"""

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import calibration as cal  # noqa: E402  (wilson, write_atomic, git_head, log)
import calibration_inference as ci  # noqa: E402  (_simulate, SEM_SCALE: the issue-19 truths)

ROOT = Path(__file__).resolve().parents[1]
Z = float(norm.ppf(0.975))


def run_study(lam, n_subjects, trial, seed, n_draws=None):
    """One simulated study: the fit's lam interval and its ingredients."""
    import rsa_lineardyn as rl
    from rsa_lineardyn.inference import fitting

    captured = {}
    original = fitting._intervals_table

    def capture(space, est, boot, alt, profs, h_best, *a, **k):
        boot_profs = k.get("boot_profs", a[7] if len(a) > 7 else None)
        if boot_profs is not None and not captured:  # the group fit (subjects' own fits have none)
            captured.update(grid=np.asarray(space.grid("lam", int(h_best)), float), est=float(est["lam"]),
                            prof=np.asarray(profs["lam"], float), boot=boot["lam"].to_numpy(float),
                            alt=None if alt is None or alt.get("lam") is None else float(alt["lam"]),
                            boot_profs=np.array([b["lam"] for b in boot_profs], float))
        return original(space, est, boot, alt, profs, h_best, *a, **k)

    rng = np.random.default_rng(np.random.SeedSequence([seed, trial, int(round(100 * lam)) + 1000, n_subjects]))
    cell = dict(part="lam", name=f"lam={lam:g}", lam=lam, n_subjects=n_subjects, stage_scale="auto")
    task, data = ci._simulate(cell, rng)
    t0 = time.perf_counter()
    fitting._intervals_table = capture
    try:
        res = rl.fit_rdms(data, task, n_hidden=[3], scale=ci.SEM_SCALE, n_boot=100, random_state=trial,
                          n_draws=n_draws, progress=False)
    finally:
        fitting._intervals_table = original
    iv = res.intervals.set_index("parameter").loc["lam"]
    out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in captured.items()}
    out.update(lam=lam, n_subjects=n_subjects, trial=trial, low=float(iv["low"]), high=float(iv["high"]),
               reason=str(iv["reason"]), start_rejected=(res.start or {}).get("rejected"),
               seconds=time.perf_counter() - t0)
    return out


def _half(grid, x, side):
    from rsa_lineardyn.inference.intervals import _half_step  # the shipped interval's own half grid step

    return _half_step(grid, x, side)


def _boot(r):
    g, b = r["grid"], r["boot"][np.isfinite(r["boot"])]
    lo, hi = min(np.quantile(b, 0.025), r["est"]), max(np.quantile(b, 0.975), r["est"])
    return max(lo - _half(g, lo, -1), g[0]), min(hi + _half(g, hi, 1), g[-1])


def _profile(r, floor, paired, z=Z):
    g, p, B = r["grid"], r["prof"], r["boot_profs"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if paired:
            j = int(np.nanargmax(p))
            short, sd = p[j] - p, np.nanstd(B[:, [j]] - B, axis=0, ddof=1)
        else:
            short, sd = np.nanmax(p) - p, np.nanstd(np.nanmax(B, axis=1, keepdims=True) - B, axis=0, ddof=1)
    return g[np.isfinite(p) & (short <= np.maximum(floor, z * np.nan_to_num(sd)))]


def _join(iv, g, s):
    lo, hi = iv
    if s.size:
        lo = min(lo, max(s.min() - _half(g, s.min(), -1), g[0]))
        hi = max(hi, min(s.max() + _half(g, s.max(), 1), g[-1]))
    return lo, hi


RULES = {
    "shipped": lambda r: (r["low"], r["high"]),
    "no start widening": lambda r: _join(_boot(r), r["grid"], _profile(r, 1e-3, False)),
    "bootstrap only": _boot,
    "boot + profile, no floor": lambda r: _join(_boot(r), r["grid"], _profile(r, 0.0, False)),
    "boot + paired profile z 1.96": lambda r: _join(_boot(r), r["grid"], _profile(r, 0.0, True)),
    "boot + paired profile z 1.645": lambda r: _join(_boot(r), r["grid"], _profile(r, 0.0, True, 1.645)),
    "paired profile only": lambda r: _join((r["est"], r["est"]), r["grid"], _profile(r, 0.0, True)),
}


def report(studies, header):
    for r in studies:
        for k in ("grid", "prof", "boot", "boot_profs"):
            r[k] = np.asarray(r[k], float)
    cells = sorted({(r["n_subjects"], r["lam"]) for r in studies})
    out = [header, "", "Median width of the 95% lam interval and its coverage of the truth (Wilson 95% interval), "
           "per rule, from the same fits.", "",
           "| rule | " + " | ".join(f"lam = {lam:g}, {n} subjects" for n, lam in cells) + " |",
           "|---|" + "---|" * len(cells)]
    for name, rule in RULES.items():
        row = [name]
        for n, lam in cells:
            rs = [r for r in studies if r["n_subjects"] == n and r["lam"] == lam]
            ivs = np.array([rule(r) for r in rs])
            k = int(np.sum((ivs[:, 0] <= lam) & (lam <= ivs[:, 1])))
            lo, hi = cal.wilson(k, len(rs))
            row.append(f"width {np.median(ivs[:, 1] - ivs[:, 0]):.2f}, coverage {k / len(rs):.2f} "
                       f"[{lo:.2f}, {hi:.2f}] (n {len(rs)})")
        out.append("| " + " | ".join(row) + " |")
    out += ["", "| cell | sign of the estimate right | estimate within 0.25 of 0 | bootstrap 2.5-97.5% range (median) | "
            "other start not rejected (widens) |", "|---|---|---|---|---|"]
    for n, lam in cells:
        rs = [r for r in studies if r["n_subjects"] == n and r["lam"] == lam]
        sign = f"{np.mean([np.sign(r['est']) == np.sign(lam) for r in rs]):.2f}" if lam else "-"
        near0 = np.mean([abs(r["est"]) < 0.25 for r in rs])
        spread = np.median([np.ptp(np.quantile(r["boot"], [0.025, 0.975])) for r in rs])
        widen = np.mean([r["start_rejected"] is False for r in rs])
        out.append(f"| lam = {lam:g}, {n} subjects | {sign} | {near0:.2f} | {spread:.2f} | {widen:.2f} |")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lams", default="-2,-1,0,1,2")
    ap.add_argument("--subjects", type=int, default=8)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-draws", type=int, default=None, help="fit_rdms's n_draws (default: the model's, 32)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--report", nargs="+", default=None, help="only tabulate these JSON files (merged)")
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    if a.report:
        studies, headers = [], []
        for f in a.report:
            d = json.loads(Path(f).read_text())
            studies += d["studies"]
            headers.append(d["header"])
        print(report(studies, " | ".join(headers)))
        return
    lams = [float(x) for x in a.lams.split(",")]
    out = a.out or str(ROOT / f"benchmarks/results/lam_interval_rules_{a.subjects}")
    t0, studies = time.time(), []
    for lam in lams:
        for trial in range(a.trials):
            studies.append(run_study(lam, a.subjects, trial, a.seed, a.n_draws))
            cal.log(f"lam {lam:g} study {trial + 1}/{a.trials}: [{studies[-1]['low']:.2f}, {studies[-1]['high']:.2f}], "
                    f"{time.time() - t0:.0f} s")
    draws = "n_draws default (32)" if a.n_draws is None else f"n_draws {a.n_draws}"
    header = (f"lam interval rules, {a.subjects} subjects, lam {lams}, {a.trials} studies each, seed {a.seed}, {draws}, code at "
              f"{cal.git_head()}, {time.time() - t0:.0f} s. Run: .venv/bin/python benchmarks/lam_interval_rules.py "
              f"--lams {a.lams} --subjects {a.subjects} --trials {a.trials} --seed {a.seed}"
              + ("" if a.n_draws is None else f" --n-draws {a.n_draws}"))
    cal.write_atomic(out + ".json", json.dumps({"header": header, "studies": studies}))
    text = report([dict(s) for s in studies], header)
    cal.write_atomic(out + ".md", text)
    print(text)


if __name__ == "__main__":
    main()
