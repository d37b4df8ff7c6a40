"""Simulated measurements for parameter-recovery studies (ground truth from gradient descent).

:func:`simulate_voxel_rdms` trains a network with :func:`rsa_lineardyn.simulate`
(gradient descent, never the exact solver), reads its hidden layer through
noisy "voxels" (a random projection per subject plus Gaussian noise per
run) and turns the patterns into crossnobis RDMs with
``rsatoolbox.data.calc_rdm`` (crossvalidated over runs).  With ``init="random", per_subject=True``
every subject is its own network, trained from its own random
lambda-balanced start.  :func:`simulate_noise_rdms` is the null: the same
pipeline with no signal.
:func:`recovery_trial` fits such data with :func:`rsa_lineardyn.fit_rdms`
and reports what was recovered.  ``benchmarks/recovery.py`` runs the study.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import InputTypeError, InputValueError, check_choice, check_positive_int, check_real, check_rng
from ..dynamics.initialization import balanced_init, task_aligned_init
from ..dynamics.simulate import simulate

__all__ = ["simulate_voxel_rdms", "simulate_noise_rdms", "recovery_trial"]


def _check_times(times):
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if times.ndim != 1 or times.size == 0:
        raise InputValueError(f"`times` must be a non-empty 1-D array of training times, got shape {times.shape}.")
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise InputValueError(f"`times` must be finite and >= 0, got {times.tolist()}.")
    return times


def _crossnobis(patterns, labels, n_runs, noise_sd, rng):
    """Crossnobis RDM (over runs) of ``patterns`` (P, n_voxels) plus fresh Gaussian noise per run."""
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    P, n_vox = patterns.shape
    pats = np.concatenate([patterns + noise_sd * rng.standard_normal((P, n_vox)) for _ in range(n_runs)])
    ds = Dataset(pats, obs_descriptors={"item": np.tile(labels, n_runs), "run": np.repeat(np.arange(n_runs), P)})
    with warnings.catch_warnings():  # rsatoolbox casts NaN into its string descriptors
        warnings.simplefilter("ignore", RuntimeWarning)
        return calc_rdm(ds, method="crossnobis", descriptor="item", cv_descriptor="run")


def _label(r, subject, stage, true_time):
    r.rdm_descriptors["subject"] = np.array([f"sub{subject}"])
    r.rdm_descriptors["stage"] = np.array([stage])
    r.rdm_descriptors["true_time"] = np.array([float(true_time)])
    return r


def simulate_voxel_rdms(task, n_hidden, lam, scale, times, *, n_subjects=4, n_runs=4, n_voxels=40, noise=1.0,
                        init="aligned", lr=0.01, seed=None, per_subject=False, nuisance=0.0):
    """Crossnobis RDMs of a gradient-descent-trained network's hidden layer, seen through noisy voxels.

    Parameters
    ----------
    task : Task
    n_hidden, lam, scale
        The true network: lambda-balanced start of this width, balance and scale.
    times : array_like (K,)
        Training times of the measured stages (one per stage).
    n_subjects, n_runs, n_voxels : int
        Each subject has its own Gaussian projection of the hidden units onto
        ``n_voxels`` voxels; each run adds fresh Gaussian noise.
    noise : float
        Noise standard deviation per voxel, relative to the RMS of the
        projected signal at the last time (per subject).
    init : {"aligned", "random"}
        ``"aligned"``: :func:`task_aligned_init` (the model's own start);
        ``"random"``: :func:`balanced_init` (random modes at this scale, seeded).
    lr : float
        Learning rate of the gradient descent (step ``k`` is time ``k * lr``).
        The default 0.01 keeps GD close to gradient flow: on these tasks the
        largest deviation of ``QQ^T`` from the flow is ~3e-2 at ``lr = 0.01``
        and halves with each halving of ``lr`` (README, Figure 1).
    seed : None, int or Generator
    per_subject : bool, default False
        ``True`` (needs ``init="random"``): every subject is its own network,
        trained from an independent random lambda-balanced start
        (:func:`balanced_init` at ``lam``, ``scale``), so the data vary over
        starts as well as over projections and noise.  ``False``: one
        network shared by all subjects (the behaviour before this option).
    nuisance : float, default 0
        Signal the network does not explain: each subject's voxels also carry
        an item-specific Gaussian pattern, the same in every run and stage,
        with this standard deviation relative to the RMS of the projected
        signal at the last time.  Real regions carry such signal (e.g. visual
        features of the items); it adds roughly the same amount to every
        distance, which ``corr`` ignores and ``cosine`` reads as geometry
        (``benchmarks/calibration.py``, part g).

    Returns
    -------
    rsatoolbox.rdm.RDMs
        One RDM per (subject, stage), rdm descriptors ``subject``, ``stage``
        (1..K) and ``true_time`` (the time GD actually reached); pattern
        descriptor ``item``.
    """
    from rsatoolbox.rdm import concat

    check_choice(init, "init", ("aligned", "random"))
    if not isinstance(per_subject, (bool, np.bool_)):
        raise InputTypeError(f"`per_subject` must be True or False, got {per_subject!r}.")
    if per_subject and init != "random":
        raise InputValueError("`per_subject=True` gives each subject its own random start; it needs init='random'.")
    n_hidden = check_positive_int(n_hidden, "n_hidden")
    lam = check_real(lam, "lam")
    scale = check_real(scale, "scale", minimum=0)
    n_subjects = check_positive_int(n_subjects, "n_subjects")
    n_runs = check_positive_int(n_runs, "n_runs", minimum=2)
    n_voxels = check_positive_int(n_voxels, "n_voxels")
    noise = check_real(noise, "noise", minimum=0)
    nuisance = check_real(nuisance, "nuisance", minimum=0)
    lr = check_real(lr, "lr", minimum=0, strict_min=True)
    times = _check_times(times)
    rng = check_rng(seed)

    def train():
        if init == "aligned":
            W1, W2 = task_aligned_init(task, n_hidden, lam=lam, scale=scale)
        else:
            W1, W2 = balanced_init(task.n_in, n_hidden, task.n_out, lam=lam, scale=scale, seed=rng)
        traj = simulate(task, W1, W2, times, lr=lr, method="gd")
        return traj.weights[0] @ task.X, traj.times  # (K, n_hidden, P)

    shared = None if per_subject else train()
    labels = np.array(task.labels)
    rdms = []
    for s in range(n_subjects):
        H, reached = train() if per_subject else shared
        M = rng.standard_normal((n_voxels, n_hidden)) / np.sqrt(n_hidden)
        signal = M @ H  # (K, n_voxels, P)
        rms = np.sqrt(np.mean(signal[-1] ** 2))
        sd = noise * rms
        if (noise > 0 or nuisance > 0) and rms == 0:
            raise InputValueError("the hidden layer is zero at the last time; there is no signal to add noise to.")
        if nuisance > 0:  # item-specific, fixed over runs and stages; drawn only when asked (seeded streams unchanged)
            signal = signal + nuisance * rms * rng.standard_normal(signal.shape[1:])
        for k in range(times.size):
            r = _crossnobis(signal[k].T, labels, n_runs, sd, rng)
            rdms.append(_label(r, s, k + 1, reached[k]))
    out = concat(rdms)
    out.rdm_descriptors["index"] = np.arange(out.n_rdm)
    return out


def simulate_noise_rdms(task, times, *, n_subjects=4, n_runs=4, n_voxels=40, noise=1.0, seed=None):
    """The null of :func:`simulate_voxel_rdms`: the same pipeline with no signal at all.

    Every voxel pattern is Gaussian noise (SD ``noise``) drawn afresh per
    run, turned into crossnobis RDMs over runs, so every dissimilarity is 0
    in expectation and no hypothesis about the geometry is true.

    Parameters
    ----------
    task : Task
        Only its item labels are used.
    times : array_like (K,)
        One stage per entry (recorded as ``true_time``; nothing is trained).
    n_subjects, n_runs, n_voxels, noise, seed
        As in :func:`simulate_voxel_rdms` (``noise`` is absolute here and
        must be > 0).

    Returns
    -------
    rsatoolbox.rdm.RDMs
        Descriptors ``subject``, ``stage``, ``true_time``, ``index`` as in
        :func:`simulate_voxel_rdms`.
    """
    from rsatoolbox.rdm import concat

    n_subjects = check_positive_int(n_subjects, "n_subjects")
    n_runs = check_positive_int(n_runs, "n_runs", minimum=2)
    n_voxels = check_positive_int(n_voxels, "n_voxels")
    noise = check_real(noise, "noise", minimum=0, strict_min=True)
    times = _check_times(times)
    rng = check_rng(seed)
    labels = np.array(task.labels)
    zero = np.zeros((len(labels), n_voxels))
    rdms = []
    for s in range(n_subjects):
        for k in range(times.size):
            rdms.append(_label(_crossnobis(zero, labels, n_runs, noise, rng), s, k + 1, times[k]))
    out = concat(rdms)
    out.rdm_descriptors["index"] = np.arange(out.n_rdm)
    return out


def recovery_trial(task, n_hidden, lam, scale, times, candidate_widths, *, noise=1.0, n_subjects=4, n_runs=4,
                   n_voxels=40, stages=True, method="corr", init="random", n_lam=10, n_times=41, n_boot=200,
                   seed=None, n_draws=None):
    """Simulate data at known parameters, fit them, and report the recovery.

    With ``stages=False`` only the stage nearest the middle of ``times`` is
    fitted (one snapshot).  The init scale is fixed at its true value.
    ``init="random"`` (default): every subject is its own network from its
    own random lambda-balanced start (:func:`simulate_voxel_rdms` with
    ``per_subject=True``); ``"aligned"``: one network from the task-aligned
    start for all subjects.  ``n_boot`` bootstrap samples give ``lam``'s
    interval (0: no interval, so ``lam_identifiable`` is False).  ``n_draws``
    is :func:`fit_rdms`'s (None: its default).

    Returns
    -------
    dict
        True and fitted ``n_hidden``/``lam``, ``correct_n_hidden``,
        ``lam_error`` (absolute), ``lam_low``/``lam_high`` (interval of
        ``fit_rdms``), ``lam_covered``, ``lam_identifiable``, ``score`` and
        the noise ceiling (rsatoolbox ``boot_noise_ceiling``, mean over
        stages).
    """
    from rsatoolbox.inference import boot_noise_ceiling

    from .fitting import fit_rdms

    rng = check_rng(seed)
    data = simulate_voxel_rdms(task, n_hidden, lam, scale, times, n_subjects=n_subjects, n_runs=n_runs,
                               n_voxels=n_voxels, noise=noise, init=init, per_subject=init == "random", seed=rng)
    if not stages:
        mid = int(np.asarray(times).size // 2) + 1
        data = data.subset("stage", mid)
    nc = []
    for st in np.unique(data.rdm_descriptors["stage"]):
        sub = data.subset("stage", st)
        if sub.n_rdm > 1:
            nc.append(boot_noise_ceiling(sub, method=method, rdm_descriptor="subject")[0])
    res = fit_rdms(data, task, n_hidden=candidate_widths, method=method, scale=scale, n_boot=n_boot, n_lam=n_lam,
                   n_times=n_times, stage_descriptor="stage" if stages else None, random_state=0, progress=False,
                   n_draws=n_draws)
    b = res.best
    iv = res.intervals.set_index("parameter")
    lo, hi = (float(iv.loc["lam", "low"]), float(iv.loc["lam", "high"])) if "lam" in iv.index else (np.nan, np.nan)
    return {
        "true_n_hidden": n_hidden, "true_lam": lam, "noise": noise, "stages": bool(stages),
        "fit_n_hidden": b["n_hidden"], "fit_lam": b["lam"], "correct_n_hidden": b["n_hidden"] == n_hidden,
        "lam_error": abs(b["lam"] - lam), "lam_low": lo, "lam_high": hi, "lam_covered": bool(lo <= lam <= hi),
        "lam_identifiable": bool(res.identifiable["lam"][0]),
        "score": b["score"], "noise_ceiling_lower": float(np.mean(nc)) if nc else np.nan,
    }
