"""Calibration of the one-scorer inference (commits dbccc05..c8077f4): lam intervals, null, power, fair baseline.

Simulated truths as in benchmarks/calibration.py (whose helpers this script imports: Wilson intervals, the
rsatoolbox noise ceiling, atomic writing, the git head): every subject is its own two-layer linear network
trained by gradient descent (lr 0.01) from its OWN random lambda-balanced start, read through its own random
projection onto 100 voxels with Gaussian noise (noise 0.25 x the RMS signal at the last stage, 4 runs),
crossnobis RDMs over runs (rsa_lineardyn.inference.recovery.simulate_voxel_rdms(init="random", per_subject=True)).
Three stages at t = 3, 6, 12, labelled with stage values 1, 2, 4 (so the fits' linear time map t = rate * stage
holds for the truth, rate 3; labels 1, 2, 3 would make the time map itself misspecified).

Parts
 lam      rl.fit_rdms(data, task, n_hidden=[3], scale=<truth 1e-2>, n_boot=100, other arguments default)
          on rl.load_semantic_task() (8 items; default lam range |lam| <= 4 s_max = [-9.63, 9.63]; no bundled
          8-item task has exactly [-8, 8]; the harness's hierarchical task has [-3.74, 3.74]).  Truth N_h = 3,
          init scale 1e-2, lam in {-2, 0, 2}; 8 / 16 / 32 subjects; stage_scale default ("auto" -> "shared") and
          "separate" (8 subjects).  Coverage of the 95% lam interval (floor >= 0.85), median width (floor <= 4.0
          at 8 subjects), sign right at |lam| = 2 (floor >= 0.85), fraction determined.
 null     pure noise (simulate_noise_rdms, 3 stages), rl.compare_widths(widths=[2, "wide"]) on the harness's
          task rl.hierarchical_task(depth=3, include_root=False): any pair significant (raw p < 0.05; Holm).
 power    the harness's design: hierarchical task, truth N_h = 2 (lam 0, scale 0.1) vs wide, truth wide (14)
          vs N_h = 2; compare_widths([2, "wide"]): fraction with the true hypothesis significantly better.
 baseline 16 subjects, semantic task, N_h = 3, lam 0, scale 1e-2: compare_widths(widths=[3]) with
          baseline_weights "per_stage" (default) and "shared" on the SAME data.  (a) network truth: fraction
          with the feature baseline significantly better (floor <= 0.10); (b) wrong-order truth (below):
          fraction with the network significantly worse (floor >= 0.75).

 stages   the stage-resolved falsification test (res.stages; rsa_lineardyn.inference.hypotheses._stage_table):
          16 subjects, compare_widths(widths=[3]) once per trial, network truth and both wrong-order variants,
          stages t = 3, 6, 12 and 1.5, 3, 6, model scale 0.1 (compare_widths' default) and 1e-2 (the truth's).
          Per trial: the network significantly below the per-stage baseline at some stage (Holm over the 3
          stages x 1 pair: the falsification), at which stage, and the whole-trajectory verdict on the same data.
          "stagesfine": the same at a finer fit grid (n_lam 24, n_times 81); "stages32": 32 subjects, t = 3, 6, 12,
          the truth's scale; "stagesfinal": t = 3, 6, 12 at the package defaults, 16 and 32 subjects, wrong-order
          truths with directions="final" (the moved modes keep their learned directions: only the order changes);
          "stagescov": the 16-subject stagesfinal cells scored with method="corr_cov".  A per-stage table (medians of
          the scores, difference, jackknife SE, fitted rate and lam) follows the main table.

Wrong-order truth (simulate_wrong_order_rdms): each subject's GD network is simulated exactly as in
simulate_voxel_rdms (same random streams: with swap=False the RDMs are identical, checked by --check).  Its
first-layer weights are written in the task's input mode basis, A(t) = W1(t) V (V from task.svd()), so that
column j of A is mode j's hidden vector and H(t) = A(t) V^T X.  Progress of a mode group G at stage k is
g_G(t_k) = ||A(t_k)[:, G]||_F / ||A(t_last)[:, G]||_F.  The strongest mode (G1 = {1}) and the weakest learned
group (G2 = the modes whose singular value is within 5% of s_{N_h}: modes 3 and 4 on the semantic task,
s = 1.076, 1.062) swap time courses: A'[:, G1] = A[:, G1] g_G2 / g_G1, A'[:, G2] = A[:, G2] g_G1 / g_G2.  At
the last stage g = 1, so the final state is the network's own; earlier, the weakest group is as far along as
the strongest was and vice versa.  Voxel readout, noise and crossnobis as in simulate_voxel_rdms.  At these stage
times the swap shows at stage 1 only (t = 3: mode 1 is at ~1.0 of its final norm, modes 3-4 at ~0.3; by t = 6 both
are at >= 0.9): noise-free, the wrong-order stage-1 RDM correlates 0.58-0.72 with the network's own, stages 2-3
0.99-1.00, the stacked trajectory 0.83-0.91 (3 subjects checked).

Per cell: trials, rate, Wilson 95% CI, median lower noise ceiling (hypothesis tests: res.table's
noise_ceiling_lower, scored as the models; lam fits: rsatoolbox boot_noise_ceiling, corr, mean over stages),
median interval width.

Run:  .venv/bin/python benchmarks/calibration_inference.py [--trials 25] [--jobs 2] [--parts lam null power
      baseline] [--subjects 8 16 32] [--seed 0] [--quick] [--out benchmarks/results/calibration_inference]
      stage-resolved runs: --parts stages --trials 20 --seed 19 --out benchmarks/results/calibration_inference_stages
      (and stagesfine --seed 23, stages32 --seed 29, stagesfinal --seed 53, stagescov --seed 59 with their own --out)
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import calibration as cal  # noqa: E402  (wilson, _noise_ceiling, write_atomic, git_head, log, N_RUNS, N_VOXELS, LR)

ROOT = Path(__file__).resolve().parents[1]
TIMES = (3.0, 6.0, 12.0)
STAGE_VALUES = (1, 2, 4)  # t = 3 * stage: the linear time map of the fits holds for the truth
NOISE = 0.25
LEVEL = 0.95
FLOORS = {"coverage": 0.85, "width8": 4.0, "sign": 0.85, "fpr": 0.05, "power": 0.80, "baseline_fp": 0.10,
          "wrong_order": 0.75}
SEM_SCALE = 1e-2


_TRUTHS = ((False, None, "network truth (N_h=3 GD)"),
           (True, "swap", "wrong-order truth (modes 1 <-> 3-4 paces)"),
           (True, "weak_fast", "wrong-order truth (modes 3-4 at mode 1's pace)"))


def _stage_cells(scales, grid=None):
    """The stage-test cells: every model scale x stage set x truth (16 subjects), at ``grid`` if given."""
    cells = []
    for scale in scales:
        tag = "model scale 0.1 (default)" if scale is None else f"model scale {SEM_SCALE:g} (the truth's)"
        if grid:
            tag += f", n_lam {grid['n_lam']}, n_times {grid['n_times']}"
        for times in (TIMES, (1.5, 3.0, 6.0)):
            when = f"t = {', '.join(f'{t:g}' for t in times)}"
            for wrong, variant, what in _TRUTHS:
                cell = dict(part="stages", name=f"stages: {what}, 16 subjects, {when}, {tag}", wrong=wrong,
                            variant=variant, n_subjects=16, times=times, model_scale=scale)
                if grid:
                    cell["grid"] = dict(grid)
                cells.append(cell)
    return cells


def make_cells(parts, subjects, quick):
    cells = []
    if "lam" in parts:
        for n in subjects:
            for lam in (-2.0, 0.0, 2.0):
                cells.append(dict(part="lam", name=f"lam={lam:g}, {n} subjects, stage_scale auto", lam=lam,
                                  n_subjects=n, stage_scale="auto", trials_factor=0.6 if n >= 32 else 1.0))
        for lam in (-2.0, 0.0, 2.0) if 8 in subjects else ():
            cells.append(dict(part="lam", name=f"lam={lam:g}, 8 subjects, stage_scale separate", lam=lam,
                              n_subjects=8, stage_scale="separate", trials_cap=6))
    if "lamtime" in parts:  # how much of lam's width is the free time map: the searched times narrowed to ~3
        for lam in (-2.0, 2.0):  # time_bounds (2.999, 3.001) with stages 1, 2, 4: rate in [0.75, 3.0] (truth 3)
            cells.append(dict(part="lam", name=f"lam={lam:g}, 8 subjects, stage_scale auto, time_bounds (2.999, 3.001)",
                              lam=lam, n_subjects=8, stage_scale="auto", fit_kw={"time_bounds": (2.999, 3.001)}))
    if "defscale" in parts:  # fit_rdms's own default scale (0.1) instead of the truth's 1e-2
        for lam in (-2.0, 0.0, 2.0):
            cells.append(dict(part="lam", name=f"lam={lam:g}, 8 subjects, stage_scale auto, fit scale default (0.1)",
                              lam=lam, n_subjects=8, stage_scale="auto", default_scale=True))
    if "null" in parts:
        cells.append(dict(part="null", name="null: pure noise, compare_widths [2, wide], 3 stages", n_subjects=8,
                          trials_factor=1.6))
    if "power" in parts:
        cells += [dict(part="power", name="power: truth N_h=2 (lam 0, scale 0.1) vs wide", n_hidden=2,
                       truth="N_h=2", other="wide", n_subjects=8),
                  dict(part="power", name="power: truth wide (14) (lam 0, scale 0.1) vs N_h=2", n_hidden=14,
                       truth="wide", other="N_h=2", n_subjects=8)]
    if "baseline" in parts:
        cells += [dict(part="baseline", name="baseline: network truth (N_h=3 GD), 16 subjects", wrong=False,
                       n_subjects=16),
                  dict(part="baseline", name="baseline: wrong-order truth (modes 1 <-> 3-4 paces), 16 subjects",
                       wrong=True, n_subjects=16)]
    if "early" in parts:  # stages earlier in learning (t = 1.5, 3, 6): the swap shows at stages 1 and 2
        cells += [dict(part="baseline", name="baseline: network truth (N_h=3 GD), 16 subjects, t = 1.5, 3, 6",
                       wrong=False, n_subjects=16, times=(1.5, 3.0, 6.0)),
                  dict(part="baseline", name="baseline: wrong-order truth, 16 subjects, t = 1.5, 3, 6", wrong=True,
                       n_subjects=16, times=(1.5, 3.0, 6.0))]
    if "weakfast" in parts:  # the issue's wrong-order construction: only the weakest group at mode 1's pace
        cells.append(dict(part="baseline", name="baseline: wrong-order truth (modes 3-4 at mode 1's pace), 16 subjects",
                          wrong=True, n_subjects=16, variant="weak_fast"))
        cells.append(dict(part="baseline", name="baseline: wrong-order truth (modes 3-4 at mode 1's pace), 16 subjects, "
                          "t = 1.5, 3, 6", wrong=True, n_subjects=16, variant="weak_fast", times=(1.5, 3.0, 6.0)))
    if "stages" in parts:  # the stage-resolved falsification test (res.stages), both model scales
        cells += _stage_cells((None, SEM_SCALE))
    if "stagesfine" in parts:  # the same at a finer fit grid (n_lam 24, n_times 81): the fold fits land nearer the truth
        cells += _stage_cells((SEM_SCALE, None), grid={"n_lam": 24, "n_times": 81})
    if "stages32" in parts:  # how many subjects the stage-resolved test needs at t = 3, 6, 12 (truth's scale)
        for n in (32,):
            for wrong, variant, what in _TRUTHS:
                cells.append(dict(part="stages", name=f"stages: {what}, {n} subjects, t = 3, 6, 12, model scale "
                                  f"{SEM_SCALE:g} (the truth's)", wrong=wrong, variant=variant, n_subjects=n,
                                  times=TIMES, model_scale=SEM_SCALE))
    if "stagesfinal" in parts:  # wrong order with the moved groups' final directions (only the order changes)
        for n in (16, 32):
            for wrong, variant, what in _TRUTHS:
                what = what.replace("paces)", "paces, final directions)").replace("pace)", "pace, final directions)")
                cells.append(dict(part="stages", name=f"stages: {what}, {n} subjects, t = 3, 6, 12, defaults",
                                  wrong=wrong, variant=variant, directions="final", n_subjects=n, times=TIMES,
                                  model_scale=None, trials_factor=1.0 if n == 16 else 0.5))
    if "stagescov" in parts:  # the same as stagesfinal (16 subjects) scored with the whitened correlation
        for wrong, variant, what in _TRUTHS:
            what = what.replace("paces)", "paces, final directions)").replace("pace)", "pace, final directions)")
            cells.append(dict(part="stages", name=f"stages: {what}, 16 subjects, t = 3, 6, 12, method corr_cov",
                              wrong=wrong, variant=variant, directions="final", n_subjects=16, times=TIMES,
                              model_scale=None, method="corr_cov"))
    if "finegrid" in parts:  # null and power at the finer fit grid (n_lam 24, n_times 81)
        fine = {"n_lam": 24, "n_times": 81}
        cells += [dict(part="null", name="null: pure noise, compare_widths [2, wide], 3 stages, n_lam 24, n_times 81",
                       n_subjects=8, trials_factor=1.6, grid=fine),
                  dict(part="power", name="power: truth N_h=2 (lam 0, scale 0.1) vs wide, n_lam 24, n_times 81",
                       n_hidden=2, truth="N_h=2", other="wide", n_subjects=8, grid=fine),
                  dict(part="power", name="power: truth wide (14) (lam 0, scale 0.1) vs N_h=2, n_lam 24, n_times 81",
                       n_hidden=14, truth="wide", other="N_h=2", n_subjects=8, grid=fine)]
    if "holm" in parts:  # the power cell without the feature baseline: one pair, so Holm = raw
        cells.append(dict(part="power", name="power: truth N_h=2 vs wide, baseline=None (one pair)", n_hidden=2,
                          truth="N_h=2", other="wide", n_subjects=8, baseline=None))
    return cells


# ----------------------------------------------------------------------------
# simulation
# ----------------------------------------------------------------------------
def _groups(task, n_hidden, tol=0.05):
    s = task.singular_values
    weak = [j for j in range(len(s)) if abs(s[j] - s[n_hidden - 1]) <= tol * s[n_hidden - 1]]
    return [0], weak


def simulate_wrong_order_rdms(task, n_hidden, lam, scale, times, *, n_subjects, n_runs, n_voxels, noise, lr, seed,
                              swap=True, variant="swap", directions="own"):
    """simulate_voxel_rdms(init="random", per_subject=True) with the time courses of mode 1 and the weakest
    learned mode group swapped (module docstring).  swap=False reproduces simulate_voxel_rdms exactly.
    ``variant="weak_fast"``: the issue's construction instead -- only the weakest group is moved, to the pace of
    the strongest mode (mode 1 keeps its own course); the final state is the network's own either way.
    ``directions="own"``: a moved group keeps its hidden vectors at each stage and is rescaled (at t = 3 the weak
    group, 20-40% grown and not yet aligned, is scaled 3-5x: its start geometry is amplified with it).
    ``directions="final"``: a moved group takes its final (learned) hidden vectors scaled by the progress it is
    given, so only the order of learning changes, not how much of the start's random geometry shows."""
    import rsa_lineardyn as rl
    from rsatoolbox.rdm import concat
    from rsa_lineardyn.inference.recovery import _crossnobis, _label
    from rsa_lineardyn.simulate import simulate

    rng = np.random.default_rng(seed) if not isinstance(seed, np.random.Generator) else seed
    times = np.asarray(times, dtype=float)
    _, _, Vt = task.svd()
    g1, g2 = _groups(task, n_hidden)
    labels = np.array(task.labels)
    rdms = []
    for s in range(n_subjects):
        W1, W2 = rl.balanced_init(task.n_in, n_hidden, task.n_out, lam=lam, scale=scale, seed=rng)
        traj = simulate(task, W1, W2, times, lr=lr, method="gd")
        W = np.asarray(traj.weights[0])  # (K, n_hidden, n_in)
        if swap:
            A = W @ Vt.T  # mode coordinates: column j = mode j's hidden vector
            n1 = np.linalg.norm(A[:, :, g1], axis=(1, 2))
            n2 = np.linalg.norm(A[:, :, g2], axis=(1, 2))
            p1, p2 = n1 / n1[-1], n2 / n2[-1]
            A = A.copy()
            if directions == "final":
                A1, A2 = A[-1][:, g1].copy(), A[-1][:, g2].copy()
                if variant == "swap":
                    A[:, :, g1] = A1[None] * p2[:, None, None]
                A[:, :, g2] = A2[None] * p1[:, None, None]
            else:
                if variant == "swap":
                    A[:, :, g1] *= (p2 / p1)[:, None, None]
                A[:, :, g2] *= (p1 / p2)[:, None, None]
            W = A @ Vt
        H = W @ task.X  # (K, n_hidden, P)
        M = rng.standard_normal((n_voxels, n_hidden)) / np.sqrt(n_hidden)
        signal = M @ H
        sd = noise * np.sqrt(np.mean(signal[-1] ** 2))
        for k in range(times.size):
            rdms.append(_label(_crossnobis(signal[k].T, labels, n_runs, sd, rng), s, k + 1, traj.times[k]))
    out = concat(rdms)
    out.rdm_descriptors["index"] = np.arange(out.n_rdm)
    return out


def _relabel(data):
    relabel = dict(zip(range(1, len(STAGE_VALUES) + 1), STAGE_VALUES))
    data.rdm_descriptors["stage"] = np.array([relabel[int(k)] for k in data.rdm_descriptors["stage"]])
    return data


def _simulate(cell, rng):
    import rsa_lineardyn as rl
    from rsa_lineardyn.inference.recovery import simulate_noise_rdms, simulate_voxel_rdms

    kw = dict(n_subjects=cell["n_subjects"], n_runs=cal.N_RUNS, n_voxels=cal.N_VOXELS)
    times = cell.get("times", TIMES)
    if cell["part"] in ("null", "power"):
        task = rl.hierarchical_task(depth=3, include_root=False)
        if cell["part"] == "null":
            data = simulate_noise_rdms(task, times, seed=rng, **kw)
        else:
            data = simulate_voxel_rdms(task, cell["n_hidden"], 0.0, 0.1, times, noise=NOISE, init="random",
                                       per_subject=True, lr=cal.LR, seed=rng, **kw)
    else:
        task = rl.load_semantic_task()
        if cell["part"] in ("baseline", "stages") and cell["wrong"]:
            data = simulate_wrong_order_rdms(task, 3, 0.0, SEM_SCALE, times, noise=NOISE, lr=cal.LR, seed=rng,
                                             variant=cell.get("variant", "swap"),
                                             directions=cell.get("directions", "own"), **kw)
        else:
            data = simulate_voxel_rdms(task, 3, cell.get("lam", 0.0), SEM_SCALE, times, noise=NOISE, init="random",
                                       per_subject=True, lr=cal.LR, seed=rng, **kw)
    return task, _relabel(data)


# ----------------------------------------------------------------------------
# one trial
# ----------------------------------------------------------------------------
def _fit_trial(cell, task, data, seed, n_boot):
    import rsa_lineardyn as rl

    kw = {} if cell.get("default_scale") else {"scale": SEM_SCALE}
    kw.update(cell.get("fit_kw", {}))
    res = rl.fit_rdms(data, task, n_hidden=[3], stage_scale=cell["stage_scale"], n_boot=n_boot, random_state=seed,
                      progress=False, **kw)
    iv = res.intervals.set_index("parameter")
    lam = cell["lam"]
    lo, hi, est = (float(iv.loc["lam", c]) for c in ("low", "high", "estimate"))
    out = {"nc": cal._noise_ceiling(data), "estimate": est, "low": lo, "high": hi, "width": hi - lo,
           "covered": bool(lo <= lam <= hi), "determined": bool(iv.loc["lam", "determined"]),
           "reason": str(iv.loc["lam", "reason"]), "sign_right": bool(np.sign(est) == np.sign(lam)) if lam else None,
           "rate": float(res.best["rate"]), "rate_low": float(iv.loc["rate", "low"]),
           "rate_high": float(iv.loc["rate", "high"]), "rate_covered": bool(iv.loc["rate", "low"] <= 3.0 <= iv.loc["rate", "high"]),
           "score": float(res.best["score"])}
    st = res.start or {}
    out["start"] = {"init": st.get("init"), "rejected": st.get("rejected"), "worse_fraction": st.get("worse_fraction"),
                    "lam": (st.get("estimate") or {}).get("lam")}
    if res.bootstrap is not None and "lam" in res.bootstrap:
        b = res.bootstrap["lam"].to_numpy(dtype=float)
        out["boot_q"] = [float(q) for q in np.nanquantile(b, [0.025, 0.25, 0.5, 0.75, 0.975])]
        lmax = 4.0 * float(task.singular_values[0])
        out["boot_at_edge"] = float(np.mean(np.abs(b) >= lmax - 1e-9))
        out["boot_sign_right"] = float(np.mean(np.sign(b) == np.sign(lam))) if lam else None
    prof = res.table.groupby("lam")["score"].max()
    out["profile"] = [[float(k), float(v)] for k, v in prof.items()]
    if res.subjects is not None and "lam" in res.subjects:
        out["subject_lam_median"] = float(np.median(res.subjects["lam"]))
    return out


def _pairs(h):
    return [{"a": str(r["model_a"]), "b": str(r["model_b"]), "d": float(r["mean_diff"]), "p": float(r["p"]),
             "pc": float(r["p_corrected"]), "sig": bool(r["significant"])} for _, r in h.pairwise.iterrows()]


def _nc(h):
    return float(np.nanmedian(h.table["noise_ceiling_lower"]))


def _find(pairs, a_key, b_key):
    """The pair row with a model starting a_key and one starting b_key; d oriented as a - b."""
    for p in pairs:
        if p["a"].startswith(a_key) and p["b"].startswith(b_key):
            return dict(p)
        if p["b"].startswith(a_key) and p["a"].startswith(b_key):
            q = dict(p)
            q["a"], q["b"], q["d"] = p["b"], p["a"], -p["d"]
            return q
    return None


def _hyp_trial(cell, task, data, seed):
    import rsa_lineardyn as rl

    if cell["part"] in ("null", "power"):
        extra = dict({"baseline": None} if "baseline" in cell else {}, **(cell.get("grid") or {}))
        h = rl.compare_widths(data, task, widths=[2, "wide"], random_state=seed, progress=False, **extra)
        pairs = _pairs(h)
        out = {"nc": _nc(h), "pairs": pairs, "edge_fraction": [float(x) for x in h.table["edge_fraction"].fillna(-1)]}
        if cell["part"] == "null":
            out["any_raw"] = any(p["p"] < 0.05 for p in pairs)
            out["any_holm"] = any(p["sig"] for p in pairs)
            nn = _find(pairs, "N_h=2", "N_h=wide")
            out["nets_raw"], out["nets_holm"] = nn["p"] < 0.05, nn["sig"]
        else:
            key = {"wide": "N_h=wide", "N_h=2": "N_h=2"}
            p = _find(pairs, key[cell["truth"]], key[cell["other"]])
            out.update(pair=p, success_holm=p["d"] > 0 and p["sig"], success_raw=p["d"] > 0 and p["p"] < 0.05,
                       wrong_holm=p["d"] < 0 and p["sig"])
        return out
    if cell["part"] == "stages":
        return _stage_trial(cell, task, data, seed)
    out = {}
    for bw in ("per_stage", "shared"):
        h = rl.compare_widths(data, task, widths=[3], baseline_weights=bw, random_state=seed, progress=False)
        p = _find(_pairs(h), "N_h=3", "feature model")  # d = network - baseline
        out[bw] = {"nc": _nc(h), "pair": p, "net_worse_holm": p["d"] < 0 and p["sig"],
                   "net_worse_raw": p["d"] < 0 and p["p"] < 0.05, "net_better_holm": p["d"] > 0 and p["sig"],
                   "net_better_raw": p["d"] > 0 and p["p"] < 0.05,
                   "means": [float(x) for x in h.table["mean"]]}
    out["nc"] = out["per_stage"]["nc"]
    return out


def _stage_trial(cell, task, data, seed):
    """compare_widths([3]) once: the whole-trajectory verdict (pairwise) and the stage-resolved one (res.stages)."""
    import rsa_lineardyn as rl

    kw = dict(cell.get("grid") or {}, **({} if cell.get("model_scale") is None else {"scale": cell["model_scale"]}))
    if cell.get("method"):
        kw["method"] = cell["method"]
    h = rl.compare_widths(data, task, widths=[3], random_state=seed, progress=False, **kw)
    p = _find(_pairs(h), "N_h=3", "feature model")  # d = network - baseline
    st = h.stages[h.stages.model_a.str.startswith("N_h=3") & h.stages.model_b.str.startswith("feature model")]
    worse = st.significant & (st.mean_diff < 0)
    better = st.significant & (st.mean_diff > 0)
    net = h.folds[h.folds.model.str.startswith("N_h=3")]
    return {"nc": _nc(h), "pair": p, "stacked_worse": p["d"] < 0 and p["sig"], "stacked_better": p["d"] > 0 and p["sig"],
            "stage_worse": bool(worse.any()), "stage_better": bool(better.any()),
            "stage_worse_at": [int(x) for x in st.stage[worse]],
            "stages": [{"stage": int(r.stage), "net": float(r.score_a), "base": float(r.score_b), "d": float(r.mean_diff),
                        "se": float(r.sem), "p": float(r.p), "pc": float(r.p_corrected)} for r in st.itertuples()],
            "rate_median": float(net["rate"].median()), "lam_median": float(net["lam"].median()),
            "fails_note": any("fails at stage" in m for m in h.messages)}


def run_trial(cell, trial, seed_seq, n_boot):
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(seed_seq)
    seed = int(seed_seq.generate_state(1)[0] % (2 ** 31))
    t0 = time.perf_counter()
    out = {"cell": cell["name"], "trial": trial}
    try:
        task, data = _simulate(cell, rng)
        out.update(_fit_trial(cell, task, data, seed, n_boot) if cell["part"] == "lam" else
                   _hyp_trial(cell, task, data, seed))
    except Exception as e:  # recorded per trial
        out["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
    out["seconds"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------
# summaries
# ----------------------------------------------------------------------------
def _row(cell, ts, measure, flags, floor, upper, width=None, **extra):
    flags = [bool(f) for f in flags if f is not None]
    n, k = len(flags), sum(flags)
    lo, hi = cal.wilson(k, n)
    rate = k / n if n else float("nan")
    met = None if not n or floor is None else (rate <= floor if upper else rate >= floor)
    ncs = [t["nc"] for t in ts if "nc" in t]
    return {"part": cell["part"], "cell": cell["name"], "measure": measure, "trials": n, "k": k, "rate": rate,
            "ci_low": lo, "ci_high": hi, "floor": floor, "upper": upper, "floor_met": met,
            "median_nc": float(np.nanmedian(ncs)) if ncs else float("nan"),
            "median_width": width, "errors": sum("error" in t for t in ts),
            "error_examples": list(Counter(t["error"] for t in ts if "error" in t))[:2], **extra}


def summarise(cells, trials):
    rows = []
    for cell in cells:
        ts = [t for t in trials if t["cell"] == cell["name"]]
        ok = [t for t in ts if "error" not in t]
        if cell["part"] == "lam":
            w = float(np.median([t["width"] for t in ok])) if ok else float("nan")
            wfloor = FLOORS["width8"] if cell["n_subjects"] == 8 else None
            extra = dict(width_floor=wfloor, width_met=None if wfloor is None or not ok else bool(w <= wfloor),
                         median_estimate=float(np.median([t["estimate"] for t in ok])) if ok else float("nan"),
                         truth_below=sum(t["low"] > cell["lam"] for t in ok),
                         truth_above=sum(t["high"] < cell["lam"] for t in ok),
                         start_rejected=float(np.mean([bool(t["start"]["rejected"]) for t in ok])) if ok else float("nan"),
                         median_other_start_lam=float(np.median([t["start"]["lam"] for t in ok if t["start"]["lam"] is not None]))
                         if ok else float("nan"),
                         # the bootstrap alone: [min(q2.5, estimate), max(q97.5, estimate)], no start widening, no half step
                         median_boot_width=float(np.median([max(t["boot_q"][4], t["estimate"]) - min(t["boot_q"][0], t["estimate"])
                                                            for t in ok if "boot_q" in t])) if ok else float("nan"),
                         boot_coverage=float(np.mean([min(t["boot_q"][0], t["estimate"]) <= cell["lam"] <= max(t["boot_q"][4], t["estimate"])
                                                      for t in ok if "boot_q" in t])) if ok else float("nan"),
                         median_boot_at_edge=float(np.median([t["boot_at_edge"] for t in ok if "boot_at_edge" in t])) if ok else float("nan"),
                         median_seconds=float(np.median([t["seconds"] for t in ts])) if ts else float("nan"))
            rows.append(_row(cell, ts, "coverage of 95% lam interval", [t["covered"] for t in ok],
                             FLOORS["coverage"], False, w, **extra))
            rows.append(_row(cell, ts, "lam determined", [t["determined"] for t in ok], None, False, w))
            if cell["lam"]:
                rows.append(_row(cell, ts, "sign of lam estimate right", [t["sign_right"] for t in ok],
                                 FLOORS["sign"], False, w))
            rows.append(_row(cell, ts, "coverage of 95% rate interval (truth 3)", [t["rate_covered"] for t in ok],
                             FLOORS["coverage"], False,
                             float(np.median([t["rate_high"] - t["rate_low"] for t in ok])) if ok else None))
        elif cell["part"] == "null":
            for key, what in (("any_raw", "any pair p < 0.05 (raw)"), ("any_holm", "any pair significant (Holm)"),
                              ("nets_raw", "N_h=2 vs wide p < 0.05 (raw)"), ("nets_holm", "N_h=2 vs wide significant (Holm)")):
                rows.append(_row(cell, ts, what, [t[key] for t in ok], FLOORS["fpr"], True))
        elif cell["part"] == "power":
            rows.append(_row(cell, ts, "truth significantly better (Holm)", [t["success_holm"] for t in ok],
                             FLOORS["power"], False))
            rows.append(_row(cell, ts, "truth better, raw p < 0.05", [t["success_raw"] for t in ok], None, False))
            rows.append(_row(cell, ts, "other significantly better (Holm, wrong direction)",
                             [t["wrong_holm"] for t in ok], 0.025, True))
        elif cell["part"] == "stages":
            rows += _stage_rows(cell, ts, ok)
        else:
            for bw in ("per_stage", "shared"):
                sub = [dict(t[bw], trial=t["trial"]) for t in ok]
                tsb = [dict(t, nc=t[bw]["nc"]) if bw in t else t for t in ts]
                if cell["wrong"]:
                    main = ("net_worse_holm", "network significantly worse than baseline (Holm)",
                            FLOORS["wrong_order"] if bw == "per_stage" else None, False)
                else:
                    main = ("net_worse_holm", "baseline significantly better than network (Holm)",
                            FLOORS["baseline_fp"] if bw == "per_stage" else None, True)
                rows.append(_row(cell, tsb, f"[{bw} weights] {main[1]}", [s[main[0]] for s in sub], main[2], main[3]))
                rows.append(_row(cell, tsb, f"[{bw} weights] same, raw p < 0.05", [s["net_worse_raw"] for s in sub],
                                 None, main[3]))
                rows.append(_row(cell, tsb, f"[{bw} weights] network significantly better (Holm)",
                                 [s["net_better_holm"] for s in sub], None, False))
    return rows


def _stage_rows(cell, ts, ok):
    """Rows of a stage-resolved cell: the falsification verdict (any stage, Holm over the 3 stages), the
    whole-trajectory verdict on the same trials, either of the two, and the failing stage."""
    if cell["wrong"]:
        out = [_row(cell, ts, "network fails at some stage (stage-resolved, Holm over stages)",
                    [t["stage_worse"] for t in ok], FLOORS["wrong_order"], False),
               _row(cell, ts, "whole trajectory: network significantly worse (Holm)", [t["stacked_worse"] for t in ok],
                    None, False),
               _row(cell, ts, "either of the two", [t["stage_worse"] or t["stacked_worse"] for t in ok], None, False)]
    else:
        out = [_row(cell, ts, "baseline significantly better at some stage (stage-resolved, Holm)",
                    [t["stage_worse"] for t in ok], FLOORS["baseline_fp"], True),
               _row(cell, ts, "whole trajectory: baseline significantly better (Holm)", [t["stacked_worse"] for t in ok],
                    FLOORS["baseline_fp"], True),
               _row(cell, ts, "either of the two", [t["stage_worse"] or t["stacked_worse"] for t in ok],
                    FLOORS["baseline_fp"], True)]
    out.append(_row(cell, ts, "one Holm family (whole trajectory + stages): network significantly worse",
                    [_joint_worse(t) for t in ok], FLOORS["wrong_order"] if cell["wrong"] else FLOORS["baseline_fp"],
                    not cell["wrong"]))
    for k in sorted({s["stage"] for t in ok for s in t["stages"]}):
        out.append(_row(cell, ts, f"network significantly worse at stage {k}", [k in t["stage_worse_at"] for t in ok],
                        None, not cell["wrong"]))
    out.append(_row(cell, ts, "network significantly better at some stage (Holm)", [t["stage_better"] for t in ok],
                    None, False))
    return out


def _joint_worse(t, alpha=0.05):
    """The whole-trajectory test and the stage tests of one trial as ONE Holm family: network worse anywhere?"""
    p = np.array([t["pair"]["p"]] + [s["p"] for s in t["stages"]])
    d = np.array([t["pair"]["d"]] + [s["d"] for s in t["stages"]])
    order = np.argsort(p)
    adj = np.empty(p.size)
    adj[order] = np.minimum(np.maximum.accumulate((p.size - np.arange(p.size)) * p[order]), 1.0)
    return bool(np.any((adj < alpha) & (d < 0)))


def stage_details(cells, trials):
    """Markdown table: per stage-resolved cell and stage, median network / baseline score, difference, SE, |d|/SE,
    and the median fitted rate (truth: 3 at t = 3, 6, 12; 1.5 at t = 1.5, 3, 6) and lam."""
    out = ["| cell | stage | median net | median baseline | median diff | median SE | median diff/SE | "
           "median fold rate | median fold lam |", "|---|---|---|---|---|---|---|---|---|"]
    for cell in cells:
        ok = [t for t in trials if t["cell"] == cell["name"] and "error" not in t]
        if cell["part"] != "stages" or not ok:
            continue
        for k in sorted({s["stage"] for t in ok for s in t["stages"]}):
            rs = [s for t in ok for s in t["stages"] if s["stage"] == k]
            med = {key: float(np.median([s[key] for s in rs])) for key in ("net", "base", "d", "se")}
            z = float(np.median([s["d"] / s["se"] for s in rs if s["se"] > 0]))
            out.append(f"| {cell['name']} | {k} | {med['net']:.3f} | {med['base']:.3f} | {med['d']:+.4f} | "
                       f"{med['se']:.4f} | {z:+.2f} | {np.median([t['rate_median'] for t in ok]):.2f} | "
                       f"{np.median([t['lam_median'] for t in ok]):.2f} |")
    return "\n".join(out) + "\n"


def _f(x, spec=".2f"):
    try:
        return "" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)
    except (TypeError, ValueError):
        return str(x)


def markdown(rows, header):
    out = [header, "",
           "| part | cell | measure | trials | rate | Wilson 95% CI | floor | met | median width | median NC | errors |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        floor = "" if r["floor"] is None else (f"<= {r['floor']:g}" if r["upper"] else f">= {r['floor']:g}")
        met = {True: "yes", False: "**no**", None: ""}[r["floor_met"]]
        width = _f(r["median_width"], ".3g")
        if r.get("width_floor") is not None:
            width += f" (floor <= {r['width_floor']:g}: {'yes' if r['width_met'] else '**no**'})"
        err = str(r["errors"]) + (f" ({r['error_examples'][0][:80]})" if r["errors"] else "")
        out.append(f"| {r['part']} | {r['cell']} | {r['measure']} | {r['trials']} | {_f(r['rate'])} | "
                   f"[{_f(r['ci_low'])}, {_f(r['ci_high'])}] | {floor} | {met} | {width} | {_f(r['median_nc'])} | {err} |")
    lam_rows = [r for r in rows if r["part"] == "lam" and r["measure"].startswith("coverage of 95% lam")]
    if lam_rows:
        out += ["", "Diagnostics of the lam intervals: the start check (other start = init 'aligned'; when the subject "
                "bootstrap does not reject it, its estimate widens the interval) and the bootstrap alone "
                "([min(q2.5, estimate), max(q97.5, estimate)] of the bootstrap lam samples, no start widening, no half "
                "grid step).", "",
                "| lam cell | median estimate | truth below / above interval | start check rejected | median lam under "
                "other start | bootstrap-only median width | bootstrap-only coverage | median fraction of boot lam at range edge | "
                "median seconds |", "|---|---|---|---|---|---|---|---|---|"]
        for r in lam_rows:
            out.append(f"| {r['cell']} | {_f(r['median_estimate'])} | {r['truth_below']} / {r['truth_above']} | "
                       f"{_f(r['start_rejected'])} | {_f(r['median_other_start_lam'])} | {_f(r['median_boot_width'])} | "
                       f"{_f(r['boot_coverage'])} | {_f(r['median_boot_at_edge'])} | {_f(r['median_seconds'], '.0f')} |")
    return "\n".join(out) + "\n"


def _check():
    """simulate_wrong_order_rdms(swap=False) == simulate_voxel_rdms(init="random", per_subject=True), same seed."""
    import rsa_lineardyn as rl
    from rsa_lineardyn.inference.recovery import simulate_voxel_rdms

    task = rl.load_semantic_task()
    kw = dict(n_subjects=3, n_runs=cal.N_RUNS, n_voxels=cal.N_VOXELS, noise=NOISE, lr=cal.LR)
    a = simulate_wrong_order_rdms(task, 3, 0.0, SEM_SCALE, TIMES, seed=7, swap=False, **kw).dissimilarities
    b = simulate_voxel_rdms(task, 3, 0.0, SEM_SCALE, TIMES, init="random", per_subject=True, seed=7, **kw).dissimilarities
    c = simulate_wrong_order_rdms(task, 3, 0.0, SEM_SCALE, TIMES, seed=7, swap=True, **kw).dissimilarities
    cal.log(f"check: swap=False vs simulate_voxel_rdms max |diff| = {np.max(np.abs(a - b)):.3g}; "
            f"swap=True last stage max |diff| = {np.max(np.abs(a[2::3] - c[2::3])):.3g} (noise differs only if "
            f"streams differ), stage 1 relative change {np.linalg.norm(a[0::3] - c[0::3]) / np.linalg.norm(a[0::3]):.3g}")
    return float(np.max(np.abs(a - b)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=25, help="trials per cell (32-subject lam cells: 0.6x; null: 1.6x)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--parts", nargs="+", default=["lam", "null", "power", "baseline"],
                    choices=["lam", "null", "power", "baseline", "early", "holm", "defscale", "weakfast", "stages",
                             "stagesfine", "stages32", "stagesfinal", "stagescov", "finegrid", "lamtime"],
                    help="early: baseline cells at t = 1.5, 3, 6; holm: power without the baseline; defscale: lam cells with "
                    "fit_rdms's default scale 0.1; lamtime: lam cells with the searched times narrowed to the truth's stage-1 time (these are not in the default)")
    ap.add_argument("--subjects", nargs="+", type=int, default=[8, 16, 32], help="subjects per trial in the lam cells")
    ap.add_argument("--n-boot", type=int, default=100, help="fit_rdms n_boot (default 100, the package default)")
    ap.add_argument("--quick", action="store_true", help="2 trials per cell, 8 subjects in the lam cells, n_boot 30")
    ap.add_argument("--merge", nargs="+", help="merge the trials of these JSON runs into --out (no simulation)")
    ap.add_argument("--check", action="store_true", help="only check the wrong-order simulator against the package")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/calibration_inference"), help="path prefix")
    args = ap.parse_args(argv)
    if args.check:
        return _check()
    if args.merge:
        runs = [json.loads(Path(p).read_text()) for p in args.merge]
        parts = ["lam", "null", "power", "baseline", "early", "holm", "defscale", "weakfast", "stages", "stagesfine", "stages32"]
        cells = list({c["name"]: c for r in runs for c in r["cells"]}.values())  # a cell run twice: trials pooled
        cells = sorted(cells,  # stable: lam cells by subjects, auto before separate
                       key=lambda c: (parts.index(c["part"]), c.get("stage_scale") == "separate", bool(c.get("default_scale")),
                                      c.get("n_subjects", 0)))
        trials = [t for r in runs for t in r["trials"]]
        rows = summarise(cells, trials)
        header = (f"Inference calibration, merged from {len(runs)} runs ({', '.join(Path(p).name for p in args.merge)}): "
                  + " | ".join(f"{r['date']}, code `{r['git_head']}`, seed {r['settings']['seed']}, {r['seconds']:.0f} s "
                               f"on {r['settings']['jobs']} process(es)" for r in runs) + ". " + runs[0]["header_tail"])
        md = markdown(rows, header)
        if any(c["part"] == "stages" for c in cells):
            md += ("\nStage-resolved cells, per stage (medians over trials; diff = network - baseline, SE its "
                   "jackknife):\n\n" + stage_details(cells, trials))
        print(md)
        payload = {"runs": [{k: r[k] for k in ("settings", "seconds", "git_head", "date", "python", "cpus")} for r in runs],
                   "cells": cells, "summary": rows, "trials": trials, "seconds": sum(r["seconds"] for r in runs),
                   "git_head": cal.git_head(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
        cal.write_atomic(args.out + ".json", json.dumps(payload, indent=1, default=str))
        cal.write_atomic(args.out + ".md", md)
        return rows
    if args.quick:
        args.trials, args.subjects, args.n_boot = 2, [8], 30
    cells = make_cells(args.parts, args.subjects, args.quick)
    ss = np.random.SeedSequence(args.seed)
    jobs = []
    for c, cs in zip(cells, ss.spawn(len(cells))):
        n = max(2, int(round(args.trials * c.get("trials_factor", 1.0))))
        n = min(n, c.get("trials_cap", n)) if not args.quick else min(n, 2)
        c["trials"] = n
        jobs += [(c, i, s) for i, s in enumerate(cs.spawn(n))]
    # slow cells first so that the pool ends evenly
    jobs.sort(key=lambda j: -(j[0].get("n_subjects", 8) if j[0]["part"] == "lam" else 1))
    cal.log(f"{len(cells)} cells, {len(jobs)} trials on {args.jobs} process(es)")
    t0 = time.perf_counter()
    trials = []
    head = cal.git_head()
    with ProcessPoolExecutor(max_workers=args.jobs) as ex:
        futs = [ex.submit(run_trial, c, i, s, args.n_boot) for c, i, s in jobs]
        for n, f in enumerate(as_completed(futs), 1):
            r = f.result()
            trials.append(r)
            if n % max(1, len(jobs) // 20) == 0 or n == len(jobs) or "error" in r:
                cal.log(f"  {n}/{len(jobs)} trials, {time.perf_counter() - t0:.0f} s"
                        + (f"  [error in {r['cell']}: {r['error'][:160]}]" if "error" in r else ""))
            if n % max(1, len(jobs) // 10) == 0 and n < len(jobs):  # checkpoint
                cal.write_atomic(args.out + ".partial.md",
                                 markdown(summarise(cells, trials), f"PARTIAL: {n}/{len(jobs)} trials, code `{head}`"))
    elapsed = time.perf_counter() - t0
    order = [c["name"] for c in cells]
    trials.sort(key=lambda t: (order.index(t["cell"]), t["trial"]))
    rows = summarise(cells, trials)
    tail = (f"Each subject its own GD network "
              f"(lr {cal.LR}) from its own random lambda-balanced start, {cal.N_RUNS} runs, {cal.N_VOXELS} voxels, "
              f"noise {NOISE}, crossnobis; stages t = {', '.join(f'{t:g}' for t in TIMES)} (stage values "
              f"{STAGE_VALUES}). lam cells: semantic task, N_h = 3, scale {SEM_SCALE:g}, fit_rdms(n_hidden=[3], "
              f"scale={SEM_SCALE:g}, n_boot={args.n_boot}). null/power: hierarchical_task(3, include_root=False), "
              "scale 0.1. baseline: semantic task, 16 subjects. Verdicts use Holm `significant`; raw p also shown.")
    header = (f"Inference calibration run {time.strftime('%Y-%m-%d %H:%M')}, code at `{head}`, seed {args.seed}, "
              f"{elapsed:.0f} s on {args.jobs} process(es) (shared 2-core machine). " + tail)
    md = markdown(rows, header)
    if any(c["part"] == "stages" for c in cells):
        md += ("\nStage-resolved cells, per stage (medians over trials; diff = network - baseline, SE its jackknife):\n\n"
               + stage_details(cells, trials))
    print(md)
    payload = {"settings": dict(vars(args), times=TIMES, stage_values=STAGE_VALUES, noise=NOISE, n_runs=cal.N_RUNS,
                                n_voxels=cal.N_VOXELS, lr=cal.LR, floors=FLOORS, sem_scale=SEM_SCALE),
               "cells": cells, "summary": rows, "trials": trials, "seconds": elapsed, "git_head": head, "header_tail": tail,
               "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "python": platform.python_version(),
               "cpus": os.cpu_count()}
    cal.write_atomic(args.out + ".json", json.dumps(payload, indent=1, default=lambda o: None if o is None else
                                                    (float(o) if isinstance(o, (np.floating, np.integer)) else
                                                     bool(o) if isinstance(o, np.bool_) else str(o))))
    cal.write_atomic(args.out + ".md", md)
    if Path(args.out + ".partial.md").exists():
        os.remove(args.out + ".partial.md")
    cal.log(f"wrote {args.out}.json and {args.out}.md ({elapsed:.0f} s)")
    return rows


if __name__ == "__main__":
    main()
