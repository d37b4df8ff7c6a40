"""Simulated measurements for parameter-recovery studies (ground truth from gradient descent).

:func:`simulate_voxel_rdms` trains a network with :func:`rsa_lineardyn.simulate`
(gradient descent, never the exact solver), reads its hidden layer through
noisy "voxels" (a random projection per subject plus Gaussian noise per
run) and turns the patterns into crossnobis RDMs with
``rsatoolbox.data.calc_rdm`` (crossvalidated over runs).
:func:`recovery_trial` fits such data with :func:`rsa_lineardyn.fit_rdms`
and reports what was recovered.  ``benchmarks/recovery.py`` runs the study.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._validation import InputValueError, check_choice, check_positive_int, check_real, check_rng
from .initialization import balanced_init, task_aligned_init
from .simulate import simulate

__all__ = ["simulate_voxel_rdms", "recovery_trial"]


def simulate_voxel_rdms(task, n_hidden, lam, scale, times, *, n_subjects=4, n_runs=4, n_voxels=40, noise=1.0,
                        init="aligned", lr=0.01, seed=None):
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
        projected signal at the last time.
    init : {"aligned", "random"}
        ``"aligned"``: :func:`task_aligned_init` (the model's own start);
        ``"random"``: :func:`balanced_init` (random modes at this scale, seeded).
    lr : float
        Learning rate of the gradient descent.
    seed : None, int or Generator

    Returns
    -------
    rsatoolbox.rdm.RDMs
        One RDM per (subject, stage), rdm descriptors ``subject``, ``stage``
        (1..K) and ``true_time``; pattern descriptor ``item``.
    """
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, concat

    check_choice(init, "init", ("aligned", "random"))
    n_subjects = check_positive_int(n_subjects, "n_subjects")
    n_runs = check_positive_int(n_runs, "n_runs", minimum=2)
    n_voxels = check_positive_int(n_voxels, "n_voxels")
    noise = check_real(noise, "noise", minimum=0)
    rng = check_rng(seed)
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if init == "aligned":
        W1, W2 = task_aligned_init(task, n_hidden, lam=lam, scale=scale)
    else:
        W1, W2 = balanced_init(task.n_in, n_hidden, task.n_out, lam=lam, scale=scale, seed=rng)
    traj = simulate(task, W1, W2, times, lr=lr, method="gd")
    H = traj.weights[0] @ task.X  # (K, n_hidden, P)
    labels = np.array(task.labels)
    rdms = []
    for s in range(n_subjects):
        M = rng.standard_normal((n_voxels, n_hidden)) / np.sqrt(n_hidden)
        signal = M @ H  # (K, n_voxels, P)
        sd = noise * np.sqrt(np.mean(signal[-1] ** 2))
        if noise > 0 and sd == 0:
            raise InputValueError("the hidden layer is zero at the last time; there is no signal to add noise to.")
        for k in range(times.size):
            pats = np.concatenate([signal[k].T + sd * rng.standard_normal((task.P, n_voxels)) for _ in range(n_runs)])
            ds = Dataset(pats, obs_descriptors={"item": np.tile(labels, n_runs),
                                                "run": np.repeat(np.arange(n_runs), task.P)})
            with warnings.catch_warnings():  # rsatoolbox casts NaN into its string descriptors
                warnings.simplefilter("ignore", RuntimeWarning)
                r = calc_rdm(ds, method="crossnobis", descriptor="item", cv_descriptor="run")
            r.rdm_descriptors["subject"] = np.array([f"sub{s}"])
            r.rdm_descriptors["stage"] = np.array([k + 1])
            r.rdm_descriptors["true_time"] = np.array([float(traj.times[k])])
            rdms.append(r)
    out = concat(rdms)
    out.rdm_descriptors["index"] = np.arange(out.n_rdm)
    return out


def recovery_trial(task, n_hidden, lam, scale, times, candidate_widths, *, noise=1.0, n_subjects=4, n_runs=4,
                   n_voxels=40, stages=True, method="corr", init="aligned", n_lam=10, n_times=41, seed=None):
    """Simulate data at known parameters, fit them, and report the recovery.

    With ``stages=False`` only the stage nearest the middle of ``times`` is
    fitted (one snapshot).  The init scale is fixed at its true value.

    Returns
    -------
    dict
        True and fitted ``n_hidden``/``lam``, ``correct_n_hidden``,
        ``lam_error`` (absolute), ``lam_identifiable``, ``score`` and the
        noise ceiling (rsatoolbox ``boot_noise_ceiling``, mean over stages).
    """
    from rsatoolbox.inference import boot_noise_ceiling

    from .fitting import fit_rdms

    rng = check_rng(seed)
    data = simulate_voxel_rdms(task, n_hidden, lam, scale, times, n_subjects=n_subjects, n_runs=n_runs,
                               n_voxels=n_voxels, noise=noise, init=init, seed=rng)
    if not stages:
        mid = int(np.asarray(times).size // 2) + 1
        data = data.subset("stage", mid)
    nc = []
    for st in np.unique(data.rdm_descriptors["stage"]):
        sub = data.subset("stage", st)
        if sub.n_rdm > 1:
            nc.append(boot_noise_ceiling(sub, method=method, rdm_descriptor="subject")[0])
    res = fit_rdms(data, task, n_hidden=candidate_widths, method=method, scale=scale, n_boot=0, n_lam=n_lam,
                   n_times=n_times, stage_descriptor="stage" if stages else None, seed=0, progress=False)
    b = res.best
    return {
        "true_n_hidden": n_hidden, "true_lam": lam, "noise": noise, "stages": bool(stages),
        "fit_n_hidden": b["n_hidden"], "fit_lam": b["lam"], "correct_n_hidden": b["n_hidden"] == n_hidden,
        "lam_error": abs(b["lam"] - lam), "lam_identifiable": bool(res.identifiable["lam"][0]),
        "score": b["score"], "noise_ceiling_lower": float(np.mean(nc)) if nc else np.nan,
    }
