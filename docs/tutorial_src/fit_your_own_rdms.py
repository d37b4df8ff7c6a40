"""
Tutorial: fit your own RDMs
===========================

This tutorial takes measured representational dissimilarity matrices (RDMs) -- several subjects,
several stages of learning -- and asks two questions of them:

1. *Fit*: which linear network (hidden width ``n_hidden``, balance ``lam``), trained for how long,
   best reproduces the RDMs, and how well do the data pin each of these down?
2. *Test*: is a bottleneck network a better account than a wide one, rich learning better than lazy
   learning, and does any learning network beat a flexible feature model?

Every code block on this page runs as written, in order, and what it prints and draws is shown below
it (the documentation build runs this page, ``docs/tutorial_src/fit_your_own_rdms.py``, and so does the
test suite, ``tests/test_docs.py``).  To keep that fast the bootstrap is small (``n_boot=20``); use the
default (100) or more for results you report.
"""

# %%
# What you need
# -------------
#
# * **The task** your subjects learned: which items they saw (the conditions of your RDMs) and what
#   they had to learn about each item, as an item-by-feature table.
# * **Your RDMs**: one ``N x N`` dissimilarity matrix per subject (and per stage of learning, and per
#   session or run if you have several), with the item of each row.  Anything symmetric with a zero
#   diagonal will do: crossnobis distances from fMRI, 1 - correlation, dissimilarity judgements.
#
# Step 1: describe the task
# -------------------------
#
# One row per item, one column per feature to be learned.  The items' inputs default to one-hot
# vectors, scaled so that the inputs are white (``Sxx = I``, what the exact solution assumes; see
# :func:`rsa_lineardyn.whiten` for other inputs).
import numpy as np
import pandas as pd
import rsa_lineardyn as rl

features = pd.DataFrame(
    {
        "grow":   [1, 1, 1, 1, 1, 1, 1, 1],
        "roots":  [1, 1, 1, 1, 0, 0, 0, 0],
        "move":   [0, 0, 0, 0, 1, 1, 1, 1],
        "bark":   [1, 1, 0, 0, 0, 0, 0, 0],
        "petals": [0, 0, 1, 1, 0, 0, 0, 0],
        "wings":  [0, 0, 0, 0, 1, 1, 0, 0],
        "gills":  [0, 0, 0, 0, 0, 0, 1, 1],
        "tall":   [1, 0, 0, 0, 0, 0, 0, 0],
        "red":    [0, 0, 1, 0, 1, 0, 0, 1],
        "yellow": [0, 0, 0, 1, 0, 1, 1, 0],
        "sing":   [0, 0, 0, 0, 1, 1, 0, 0],
    },
    index=["pine", "oak", "rose", "daisy", "robin", "canary", "sunfish", "salmon"],
)
task = rl.task_from_dataframe(features, name="plants and animals")
print(task)                      # 8 items, 11 features, inputs white
print(task.singular_values)      # strengths of the task's modes, learned strongest first

# %%
# Step 2: your RDMs, with subjects and stages
# -------------------------------------------
#
# Here a stand-in for real data is simulated: 8 subjects, each its own two-layer network of width 2
# trained by gradient descent from its own small random start, measured at three stages of learning
# (training times 2, 4 and 6) through 100 noisy "voxels", as crossnobis RDMs.  The matrices are
# saved to a file, as your own would be; from the file on, everything is what you would do with your
# data.
import tempfile
from pathlib import Path

from rsa_lineardyn.inference.recovery import simulate_voxel_rdms

sim = simulate_voxel_rdms(task, n_hidden=2, lam=0.0, scale=0.1, times=[2.0, 4.0, 6.0], n_subjects=8,
                          n_voxels=100, noise=0.2, init="random", per_subject=True, seed=1)
folder = Path(tempfile.mkdtemp())
np.savez(folder / "my_rdms.npz", matrices=sim.get_matrices(), subject=sim.rdm_descriptors["subject"],
         stage=sim.rdm_descriptors["stage"], items=sim.pattern_descriptors["item"])

# %%
# Load the matrices, shape ``(n_rdms, N, N)``, and say for every matrix which subject and which stage
# it belongs to, and for every row which item it is.  :func:`rsa_lineardyn.rdms_from_matrices` checks
# that each matrix is square, symmetric and zero on the diagonal and returns rsatoolbox ``RDMs``.
saved = np.load(folder / "my_rdms.npz")
data = rl.rdms_from_matrices(
    saved["matrices"],
    labels=saved["items"],                  # row/column order of your matrices: any order works
    rdm_descriptors={"subject": saved["subject"], "stage": saved["stage"]},
)
print(data.n_rdm, "RDMs of", data.n_cond, "items")   # 24 RDMs = 8 subjects x 3 stages

# %%
# How the descriptors are read:
#
# * **Subjects** (rdm descriptor ``subject``, ``participant``, ``subj`` or ``sub``) are the
#   independent units.  Everything a subject contributes -- sessions, runs, stages -- stays together
#   in every bootstrap sample and every crossvalidation fold, and tests have ``n_subjects - 1``
#   degrees of freedom.  Several RDMs of one subject and stage (sessions, runs) are repeated
#   measurements of one state; a descriptor named ``session`` is never read as a stage.
# * **Stages** (rdm descriptor ``stage``, ``epoch`` or ``time``) are points on the learning axis.
#   Numbers are positions on that axis (stage 2 is twice as far into training as stage 1); text
#   stages need ``stage_order=`` (e.g. ``["pre", "post"]``; an error otherwise, never alphabetical),
#   which places them at 1, 2, ...  By default all stages share one time map
#   ``t = rate * stage`` (one free parameter); ``time_offset=True`` adds an offset and
#   ``time_map="free"`` fits one non-decreasing time per stage.  With no stage descriptor (or
#   ``stage_descriptor=None``) the data are one snapshot and one training time is fitted.
# * **Items** are matched by label, so the data may hold any subset of the task's items, in any order.
#
# Step 3: fit, with an interval and a verdict for every parameter
# ---------------------------------------------------------------
#
# :func:`rsa_lineardyn.fit_rdms` searches widths x ``lam`` x time (here the rate of the time map) on a
# grid, scoring every prediction against every RDM once, then refines the best point.  The default
# prediction is the *expected* geometry over random small starts (``init="random"``), what a learner
# from unknown small weights looks like.
res = rl.fit_rdms(data, task, n_hidden=[1, 2, 3, 4], method="corr", n_boot=20, random_state=0)
print(res.summary())

# %%
# In this stand-in the truth is known -- width 2, ``lam = 0``, time ``t = 2 * stage`` (rate 2) -- so you
# can hold the intervals below against it; with your data you cannot, which is why every parameter
# comes with an interval and a verdict.  ``summary()`` prints the best fit and then one line per parameter: the estimate, its 95% interval
# and the verdict.  The same numbers as tables:
print(res.best["n_hidden"], res.best["lam"], res.best["rate"], res.best["times"])
print(res.intervals[["parameter", "estimate", "low", "high", "determined", "reason"]].to_string())
print(res.n_hidden_distribution)     # how often each width won in the bootstrap over subjects

# %%
# Every subject is also fitted on its own, with its own intervals (a bootstrap within the subject):
print(res.subjects[["subject", "n_hidden", "lam", "score"]].to_string())
print(res.subject_intervals.groupby("parameter")["determined"].sum())   # subjects with a verdict "determined"

# %%
# And the profile of the fit over ``lam``, one line per width:
ax = rl.plot_fit_profile(res)

# %%
# Reading the verdicts of a fit
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# Each interval contains its estimate by construction: it joins the bootstrap over subjects (the
# same estimator rerun on resampled subjects), the estimate itself, half a grid step on each side,
# the *profile set* (grid values whose score is within 1.96 bootstrap standard deviations of the best)
# and, by default, the estimate under the other assumed start (``start_check="widen"``).
# ``determined=True`` says the data pin the parameter down (its ``reason`` says why, e.g. "bootstrap
# interval within the searched range, away from its edges").  ``determined=False`` lists every reason
# that applies, separated by ``;``:
#
# ``flat profile: ...``
#     The score changes by less than ``rl.inference.fitting.FLAT_TOL`` (1e-3) over the parameter (for
#     ``n_hidden``: several widths fit within that of the best): the data do not see it.
# ``at the lower/upper edge of the searched ... range``
#     The best value is at the border of the grid; widen the search (``lam=``, ``time_bounds=``) or
#     read it as "at least"/"at most".
# ``the interval reaches the lower/upper edge of the searched range: only a one-sided bound``
#     The estimate is inside, but the interval is open on one side.
# ``bootstrap interval spans N% of the searched range``
#     The interval covers more than half (``rl.inference.fitting.SPREAD_FRACTION``) of what was searched: not
#     informative.  For ``lam`` the reason adds why: its magnitude trades against training time (a larger
#     ``|lam|`` on a faster time course predicts nearly the same geometry; :doc:`../limitations`).
# ``bootstrap majority N% < 80% for n_hidden = k`` (or ``bootstrap spread over all searched widths``)
#     No width wins in at least 80% (``rl.inference.fitting.MAJORITY``) of the bootstrap samples
#     (``res.n_hidden_distribution``).
# ``crossvalidated over subjects, n_hidden = j is not distinguished from k`` (or ``... significantly better``)
#     Refitted on all subjects but one, width ``j`` predicts the held-out subjects not significantly worse
#     than the chosen ``k`` (``res.width_tests``: jackknife t-test, Holm over the other widths); ``j`` joins the
#     interval of ``n_hidden``.  With fewer than 3 subjects: ``no crossvalidated test of the width``.
# ``depends on the assumed start: init=... gives ...``
#     Fitting under the other start (``init="aligned"`` instead of the expected geometry over random
#     starts, or the reverse) gives another value: the answer rests on an assumption about the unknown
#     initial weights.
# ``uncertainty not measured (...)``
#     ``n_boot=0`` (or, per subject, ``subject_boot=False``).
#
# With ``corr`` RDMs ``lam`` trades off against training time, and a network that has converged looks
# the same at every later time: expect "not determined" for ``lam`` and the time parameters unless the
# data are rich (several stages, many subjects).  Report such parameters as ranges, not points.
#
# Step 4: test hypotheses
# -----------------------
#
# A fit says which parameters fit best; a test says whether one *hypothesis* explains held-out subjects
# better than another.  :func:`rsa_lineardyn.compare_widths` compares widths; a list inside ``widths``
# is one hypothesis whose width is chosen inside each training fold ("a bottleneck of any width up to
# 2"):
hyp = rl.compare_widths(data, task, widths=[1, 2, [1, 2], "wide"])
print(hyp.summary())
fig, ax, _ = rl.plot_hypotheses(hyp)

# %%
# Every hypothesis's free parameters (``lam``, the stage-time map, the width of a nested hypothesis) are
# fitted to the training subjects of each fold (leave one subject out) and the held-out subject is
# scored.  All stages of a subject are compared on the whole trajectory.  The results are tables:
print(hyp.table[["model", "mean", "ci_low", "ci_high", "p_zero", "noise_ceiling_lower", "dof"]].to_string())
print(hyp.pairwise[["model_a", "model_b", "mean_diff", "p", "p_corrected", "significant", "dof"]].to_string())
print(hyp.unit_scores)          # the crossvalidated score of every subject under every hypothesis
print(hyp.folds.head())         # what each hypothesis chose in each training fold
for note in hyp.messages:
    print("note:", note)

# %%
# Rich or lazy learning, at one width: :func:`rsa_lineardyn.compare_regimes` compares a rich network
# (small start, ``lam = 0``) with two lazy ones (a large balance ``lam``; a large start).
regimes = rl.compare_regimes(data, task, n_hidden=2)
print(regimes.summary())

# %%
# Your own hypotheses: :func:`rsa_lineardyn.evaluate_hypotheses` takes a dict name -> model(s):
# a :class:`rsa_lineardyn.LinearNetworkModel` (its parameters fitted in each fold), a list of them
# (one hypothesis, the best chosen in each fold) or a fixed rsatoolbox model, here a
# category model in which plants differ from animals:
from rsatoolbox.model import ModelFixed

kingdom = np.array([0, 0, 0, 0, 1, 1, 1, 1])
plants_vs_animals = rl.rdms_from_matrices(
    (kingdom[:, None] != kingdom[None, :]).astype(float), labels=features.index)
custom = rl.evaluate_hypotheses(
    data,
    {
        "bottleneck (N_h <= 2)": rl.width_models(task, data, [1, 2]),
        "wide network": rl.width_models(task, data, ["wide"])[0],
        "plants vs animals": ModelFixed("plants vs animals", plants_vs_animals),
    },
    task,
)
print(custom.summary())
fig, ax, _ = rl.plot_hypotheses(custom)

# %%
# Every comparison adds the **feature baseline** (the row named ``feature model (k mode RDMs)``):
# non-negative weights on the task's mode RDMs, fitted by non-negative least squares in each training
# fold (``baseline=None`` leaves it out).  Every learning network's hidden RDM is such a weighted
# combination, so the baseline is at least as flexible as any network; a network can only beat it by
# being more constrained -- by predicting *which* weights, at *which* stage.
#
# Reading the verdicts of a test
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
#
# * ``table``: the mean crossvalidated score of each hypothesis over subjects, its t interval
#   (``ci_low``, ``ci_high``) and ``p_zero`` (one-sided, score > 0); ``noise_ceiling_lower`` /
#   ``noise_ceiling_upper`` bound what any hypothesis can reach given the variability between subjects.
# * ``pairwise``: every pair once, the mean difference, its interval and a two-sided ``p`` from a
#   t-test over subjects with ``dof = n_subjects - 1`` and a jackknife standard error (the
#   crossvalidation rerun without each subject); ``p_corrected`` is corrected over all pairs (Holm by
#   default, ``correction="shaffer"`` available) and ``significant`` is ``p_corrected < 0.05``: read
#   that column.  ``variance_method`` names the test used; when the differences have zero variance,
#   identical predictions give ``p = 1`` and a constant non-zero difference the exact sign test --
#   never ``p = 0``.
# * The networks' predictions here use one Monte-Carlo draw set (the default ``mc_replicates=1``; a
#   note in ``messages`` says so).  The p-values count its Monte-Carlo SE (``mc_se``, from 4 groups of
#   its draws), a rough one, so a verdict near the threshold can change with ``random_state``.  For
#   results you report pass ``mc_replicates="auto"`` (pooled blocks of draws, 13-18x the cost;
#   :doc:`../guide/certainty`).
# * ``messages``: when no pair of network hypotheses differs, a note says that *the data cannot
#   decide* between them: report that, not the ranking of their means.
# * The question most studies want answered is in the rows against the feature baseline: a network
#   that does not beat ``feature model (...)`` shows that the task's features explain the data, not that
#   learning dynamics do.
# * Power is modest: with 8 subjects, three stages and a noise ceiling of about 0.8, a width-2 network
#   was significantly preferred to a wide one in 0.84 [0.65, 0.94] of 25 simulated studies at the
#   defaults, Holm-corrected (``benchmarks/results/calibration_inference_mcsplit.md``;
#   :doc:`../performance`), and less with fewer subjects.  A non-significant difference is not evidence
#   of equality.
#
# Where next
# ----------
#
# * The :doc:`../gallery/index` runs the same analyses on the bundled human IT and
#   similarity-judgement data (``examples/fit_human_it.py``).
# * Every option of :func:`rsa_lineardyn.fit_rdms` and :func:`rsa_lineardyn.evaluate_hypotheses`
#   is in the :doc:`../api`.
