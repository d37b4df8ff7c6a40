"""Adversarial trial s30c: parameters and numerical edges of the fitting and inference entry points.

Every test here failed on the code it was written against (see the trial's report); each runs in a few seconds
on a 4-item task (``rl.hierarchical_task(depth=2, include_root=False)``) with coarse grids.
"""

import warnings

import numpy as np
import pytest
import rsatoolbox

import rsa_lineardyn as rl
from rsa_lineardyn._validation import InputTypeError, InputValueError
from rsa_lineardyn.inference.recovery import simulate_voxel_rdms

GRID = dict(n_times=9, n_lam=3)
QUICK = dict(n_boot=0, start_check=None, n_times=9, n_lam=3, n_draws=8)


@pytest.fixture(scope="module")
def task():
    return rl.hierarchical_task(depth=2, include_root=False)  # 4 items, n_in 4, n_out 6


@pytest.fixture(scope="module")
def snap(task):
    return simulate_voxel_rdms(task, 2, 0.0, 0.1, [3.0], n_subjects=4, n_voxels=30, noise=0.3, init="random",
                               per_subject=True, seed=3)


@pytest.fixture(scope="module")
def scaled_copies(task):
    """4 subjects whose RDMs are one noisy RDM times 0.5, 1, 2, 3: every scale-free score is the same in every
    subject (zero variance over units), as with subjects measured at different signal-to-noise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.ConditionOrderWarning)
        M = rl.LinearNetworkModel(task, 2, init="aligned").predict_rdm([0.0, 0.3]).get_matrices()[0]
    E = np.random.default_rng(0).random(M.shape) * 0.2 * M.max()
    E = E + E.T
    np.fill_diagonal(E, 0.0)
    return rl.rdms_from_matrices(np.stack([c * (M + E) for c in (0.5, 1.0, 2.0, 3.0)]), labels=task.labels,
                                 rdm_descriptors={"subject": np.arange(4)})


# ---------------------------------------------------------------- 1. zero variance + Monte-Carlo SE --------------


def test_zero_variance_sign_test_p_is_not_replaced_by_a_t_test_on_the_mc_se(task, scaled_copies):
    """Every subject gives the same scores: t_summary falls back to the sign test (p = 2 * 0.5**4 = 0.125 with 4
    subjects), but with_mc_error then redid a t-test with se = hypot(0, mc_se ~ 2e-11): p ~ 4e-23, 'significant'.
    Without the Monte-Carlo SE (n_draws=2: too few draws to split) the same pair gets p = 0.125."""
    res = rl.compare_widths(scaled_copies, task, widths=[1, 2], **GRID)
    rows = res.pairwise[res.pairwise["variance_method"].str.startswith("sign test")]
    assert len(rows) == 2  # both networks against the feature baseline
    assert (rows["p"] >= 2 * 0.5**4 - 1e-12).all(), rows[["model_a", "model_b", "p", "variance_method"]]
    assert not rows["significant"].any()


# ---------------------------------------------------------------- 2. same-network check of `widths` ----------------


def test_float_singleton_widths_are_different_networks(task, snap):
    """[[1.0], [2.0]] (widths 1 and 2, each a list of one) was refused as 'the same network': the check keeps only
    Integral entries of a list, so both keys were the empty tuple.  2.0 is accepted as a width everywhere else."""
    res = rl.compare_widths(snap, task, widths=[[1.0], [2.0]], **GRID)
    assert len([m for m in res.table["model"] if not m.startswith("feature")]) == 2


def test_width_beside_its_float_singleton_is_refused(task, snap):
    """[2, [2.0]] ran as two hypotheses 'N_h=2' and 'N_h in {2}': a test of a network against itself, which
    [2, [2]] refuses."""
    with pytest.raises(InputValueError, match="same network"):
        rl.compare_widths(snap, task, widths=[2, [2.0]], **GRID)


@pytest.mark.parametrize("widths", [[2, 2.0], [[1, 2], [2, 1]]])
def test_same_network_error_gives_the_right_reason_and_fix(task, snap, widths):
    """[2, 2.0] and [[1, 2], [2, 1]] were refused 'because a list of one width is that width' and told to 'drop
    'wide' or 6', though neither holds a list of one width nor 'wide'."""
    with pytest.raises(InputValueError, match="`widths`") as err:
        rl.compare_widths(snap, task, widths=widths, **GRID)
    msg = str(err.value)
    assert "a list of one width is that width" not in msg, msg
    assert "'wide'" not in msg, msg


# ---------------------------------------------------------------- 3. `models=` errors name `models` -------------


@pytest.mark.parametrize("models", [[], [42], "x"])
def test_bad_models_argument_is_named_models_not_hypotheses(task, snap, models):
    """models=[] raised "`hypotheses` must be a non-empty list" (the hypotheses were given); models=[42] raised
    "hypothesis None must be an rsatoolbox model": neither names the argument at fault.  An empty list may also
    simply mean no further models."""
    hyps = rl.width_models(task, snap, [1, 2])
    try:
        res = rl.evaluate_hypotheses(snap, hyps, task, models=models, **GRID)
    except (InputTypeError, InputValueError) as err:
        assert "`models`" in str(err), str(err)
        assert "`hypotheses`" not in str(err) and "hypothesis None" not in str(err), str(err)
    else:
        assert models == [] and len(res.table) == 3


# ---------------------------------------------------------------- 4. fit_rois(backend="dask") -----------------


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_fit_rois_dask_backend_without_client_is_a_named_error(task, snap, n_jobs):
    """fit_rois(backend='dask') without a client raised joblib's raw "ValueError: Invalid backend: dask"
    (fit_rdms and compare_widths say a dask Client is needed, and fit_rois has `client=` for it)."""
    rois = rsatoolbox.rdm.concat([snap, snap])
    rois.rdm_descriptors["roi"] = np.array(["V1"] * 4 + ["IT"] * 4)
    with pytest.raises(InputValueError, match=r"(?s)backend.*dask.*client"):
        rl.fit_rois(rois, task, n_hidden=[1, 2], backend="dask", n_jobs=n_jobs, **QUICK)


# ---------------------------------------------------------------- 5. too few bootstrap samples -----------------


def test_evaluate_hypotheses_n_boot_one_is_not_a_silent_nan(task, snap):
    """n_boot=1 passed validation and gave NaN boot_ci_low/boot_ci_high in every row with no word (percentile()
    needs 2 samples); n_boot=2 gives numbers.  Refuse it with the rule, or say why the interval is missing."""
    try:
        res = rl.compare_widths(snap, task, widths=[1, 2], n_boot=1, **GRID)
    except InputValueError as err:
        assert "`n_boot`" in str(err)
    else:
        nan = res.table["boot_ci_low"].isna().any() or res.pairwise["boot_ci_low"].isna().any()
        assert not nan or any("n_boot" in m or "bootstrap" in m for m in res.messages), res.messages


def test_fit_rdms_one_bootstrap_sample_does_not_determine_a_parameter():
    """n_boot=1: one bootstrap sample made the '95% interval' of lam and rate and called both 'determined'
    ('bootstrap interval within the searched range').  One sample measures no spread."""
    t8 = rl.hierarchical_task(depth=3, include_root=False)
    d8 = simulate_voxel_rdms(t8, 2, 0.0, 0.1, [2.0, 4.0, 6.0], n_subjects=6, n_voxels=60, noise=0.3,
                             init="random", per_subject=True, seed=3)
    try:
        res = rl.fit_rdms(d8, t8, n_hidden=[2], n_boot=1, start_check=None, n_times=21, n_lam=6, n_draws=16,
                          random_state=0)
    except InputValueError as err:
        assert "`n_boot`" in str(err)
    else:
        assert not res.intervals["determined"].any(), res.intervals[["parameter", "determined", "reason"]]


# ---------------------------------------------------------------- 6. compare_regimes' scales ------------------


def test_compare_regimes_lazy_init_smaller_than_rich_is_not_silent(task, snap):
    """lazy_scale=1e-4 below rich_scale=1e-2: 'lazy (large init)' starts smaller than 'rich', and the call ran
    without a word, naming the hypotheses the wrong way round."""
    try:
        res = rl.compare_regimes(snap, task, rich_scale=1e-2, lazy_scale=1e-4, **GRID)
    except InputValueError as err:
        assert "lazy_scale" in str(err) and "rich_scale" in str(err)
    else:
        assert any("lazy_scale" in m for m in res.messages), res.messages


# ---------------------------------------------------------------- 7. scores equal up to rounding ---------------


def test_scores_equal_up_to_rounding_get_the_sign_test_not_a_t_test_on_noise(task):
    """All dissimilarities equal but one pair, whose value differs by subject: every 'corr' score is the same in
    every subject (the data vectors differ by a constant and a positive factor).  The jackknife spread is rounding
    noise (sem ~3e-12 on a difference of 1.63), just above t_summary's zero-variance threshold (1e-12 x scale),
    so one pair got a t-test with p ~ 1e-35 and the other the sign test's 0.125 -- for the same kind of pair.
    n_draws=2: no Monte-Carlo SE, so this is t_summary alone."""
    D = []
    for s in range(4):
        M = np.ones((4, 4)) - np.eye(4)
        M[0, 1] = M[1, 0] = 2.0 + 0.1 * s
        D.append(M)
    data = rl.rdms_from_matrices(np.stack(D), labels=task.labels, rdm_descriptors={"subject": np.arange(4)})
    res = rl.compare_widths(data, task, widths=[1, 2], n_draws=2, **GRID)
    rows = res.pairwise[res.pairwise["model_b"].str.startswith("feature")]
    assert (rows["p"] >= 2 * 0.5**4 - 1e-12).all(), rows[["model_a", "model_b", "sem", "p", "variance_method"]]


# ---------------------------------------------------------------- 8. strings for numbers ------------------------


@pytest.mark.parametrize("kw", [dict(scale="0.1"), dict(ci="0.9"), dict(tau="1"), dict(flat_tol="0.01"),
                                dict(time_bounds=("1", "10")), dict(lam=["0.5"])])
def test_strings_for_real_numbers_are_refused_as_for_lam_and_counts(task, snap, kw):
    """lam='0.5', n_times='9' and n_boot='3' are refused with a type error, but check_real converted '0.1' and the
    pair/sequence checks ('1', '10'), ['0.5'] went through np.asarray(float): one path refuses what the other
    takes."""
    name = next(iter(kw))
    with pytest.raises(InputTypeError, match=f"`{name}`"):
        rl.fit_rdms(snap, task, n_hidden=[1, 2], **{**QUICK, **kw})
