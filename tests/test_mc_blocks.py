"""Monte-Carlo error of the random-start geometry in the hypothesis tests: blocks of draws, their jackknife SE.

Real rsatoolbox RDMs on a small task, real LinearNetworkModels (``init="random"``), no mocks.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from rsatoolbox.rdm import RDMs

import rsa_lineardyn as rl
from rsa_lineardyn.inference.crossval import MC_GROUPS, block_jackknife_se, mc_blocks, with_mc_error


@pytest.fixture(scope="module")
def tree():
    return rl.hierarchical_task(depth=3, include_root=False)


@pytest.fixture(scope="module")
def data(tree):
    """Eight subjects' noisy RDMs of a rich N_h = 2 learner at one time (one stage)."""
    truth = rl.LinearNetworkModel(tree, n_hidden=2, lam=0.0, init="aligned")
    v = truth.predict_times([1.5], [0.0])[0]
    rng = np.random.default_rng(7)
    vecs = np.array([v + rng.normal(0, 0.6 * v.std(), v.size) for _ in range(8)])
    return RDMs(vecs, rdm_descriptors={"subject": np.array([f"s{i}" for i in range(8)])},
                pattern_descriptors={"item": np.array(tree.labels)})


def _compare(data, tree, seed, mc, n_draws=16):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rl.compare_widths(data, tree, widths=[2, "wide"], random_state=seed, n_draws=n_draws,
                                 mc_replicates=mc, n_lam=4, n_times=15, progress=False)


def test_blocks_are_recorded_and_pool_the_draws(tree, data):
    res = _compare(data, tree, 0, 4)
    s = res.settings
    assert s["mc_replicates"] == 4 and s["mc_replicates_used"] == 4
    rec = s["draws"]["N_h=2"]
    assert rec["blocks"] == 4 and rec["total_draws"] == 4 * 16 and rec["n_draws"] == 16
    assert rec["block_seeds"][0] == 0 and len(set(rec["block_seeds"])) == 4  # block 0: the model's own seed
    # the Monte-Carlo SE sits beside the sampling SE, finite and positive for the networks, zero for the baseline
    assert list(res.table.columns[:5]) == ["model", "kind", "mean", "sem", "mc_se"]
    mc = res.table.set_index("model")["mc_se"]
    assert mc["N_h=2"] > 0 and np.isfinite(mc["N_h=2"])
    assert mc[res.table["model"].iloc[-1]] == 0.0  # the feature baseline has no draws
    assert "mc_se" in res.pairwise and np.all(np.isfinite(res.pairwise["mc_se"]))
    # the fitted network predicts the pooled geometry: the mean of the blocks' predictions
    fit = res.fits[res.fits.model == "N_h=2"].iloc[0]
    pooled = fit.object.predict(fit.theta)
    own = []
    for seed in rec["block_seeds"]:
        m = rl.LinearNetworkModel(tree, n_hidden=2, n_draws=16, seed=seed, item_order=data)
        own.append(m._engine.rank_one(*m._unpack(fit.theta)[:2], np.array([10 ** fit.theta[-1]]), 1.0)[0])
    w_pooled = fit.object._engine.rank_one(*fit.object._unpack(fit.theta)[:2], np.array([10 ** fit.theta[-1]]),
                                           1.0)[0]
    np.testing.assert_allclose(w_pooled, np.mean(own, axis=0), rtol=1e-12, atol=0)
    assert np.all(np.isfinite(pooled))


def test_one_block_carries_its_own_monte_carlo_se(tree, data):
    res = _compare(data, tree, 0, 1)
    assert res.settings["mc_replicates_used"] == 1 and res.settings["mc_groups"] == MC_GROUPS
    # the point estimates are the one draw set's; its Monte-Carlo SE comes from leaving out groups of its draws
    mc = res.table.set_index("model")["mc_se"]
    assert mc["N_h=2"] > 0 and mc["N_h=wide (14)"] > 0 and mc[res.table["model"].iloc[-1]] == 0.0
    assert np.all(np.isfinite(res.pairwise["mc_se"])) and (res.pairwise["mc_se"] > 0).any()
    assert res.pairwise["variance_method"].str.contains("Monte-Carlo SE").any()
    note = next(m for m in res.messages if "one Monte-Carlo draw set" in m)
    assert f"leaving out each of {MC_GROUPS} groups" in note and "mc_replicates='auto'" in note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = rl.compare_widths(data, tree, widths=[2, "wide"], random_state=0, n_draws=16, n_lam=4,
                                    n_times=15, progress=False)
    assert default.settings["mc_replicates_used"] == 1
    pd.testing.assert_frame_equal(default.pairwise, res.pairwise)
    assert not any("one Monte-Carlo draw set" in m for m in _compare(data, tree, 0, 4).messages)
    # too few draws to split into groups of antithetic pairs: no Monte-Carlo SE, and the note says so
    few = _compare(data, tree, 0, 1, n_draws=4)
    assert few.pairwise["mc_se"].isna().all() and few.settings["mc_groups"] is None
    assert any("the p-values leave its error out" in m for m in few.messages)


def test_a_subset_of_the_draws_is_the_estimate_over_those_draws(tree):
    """The leave-a-group-out geometry is exactly the estimator run on the kept draws alone: keeping the first k
    antithetic pairs of 16 equals a fresh engine with 2k draws of the same seed (the same stream); keeping all the
    draws in their layout equals the full estimate."""
    from rsa_lineardyn.inference.crossval import split_keep
    from rsa_lineardyn.models.random_starts import _RandomStartEngine

    times = np.array([0.0, 0.5, 2.0, 8.0])
    for rep, lam in (("hidden", 0.0), ("hidden", -1.5), ("ntk", 1.0), ("output", 0.5)):
        full = _RandomStartEngine(tree, 2, rep, 1e-10, 32, 5)
        w = full._diagonals(lam, 0.1, times, 1.0)
        same = full.subset(np.arange(32))._diagonals(lam, 0.1, times, 1.0)
        for a, b in zip(w, same):
            assert (a is None and b is None) or np.array_equal(a, b)
        k = 12
        sub = full.subset(np.concatenate([np.arange(k), np.arange(k) + 16]))._diagonals(lam, 0.1, times, 1.0)
        fresh = _RandomStartEngine(tree, 2, rep, 1e-10, 2 * k, 5)._diagonals(lam, 0.1, times, 1.0)
        for a, b in zip(sub, fresh):
            assert (a is None and b is None) or np.allclose(a, b, rtol=1e-12, atol=1e-14 * np.abs(b).max())
        assert not np.allclose(sub[0] if sub[0] is not None else sub[1], w[0] if w[0] is not None else w[1])
    # the groups: antithetic pairs kept whole, in the layout the estimator pairs
    keep = split_keep(32, True, 4, 1)
    np.testing.assert_array_equal(keep, np.r_[0:4, 8:16, 16:20, 24:32])
    np.testing.assert_array_equal(split_keep(9, True, 2, 0), [2, 3, 4, 7, 8])  # bases 2-3, unpaired 4, partners
    np.testing.assert_array_equal(split_keep(8, False, 4, 3), np.arange(6))


def test_blocks_shrink_the_seed_spread_and_the_se_bounds_it(tree, data):
    """What fails without the fix: one draw set per seed moves the mean difference by more than the pooled
    blocks do, and the reported Monte-Carlo SE covers the spread over seeds."""
    seeds = [0, 1, 2, 3]
    one = [_compare(data, tree, s, 1).pairwise.set_index(["model_a", "model_b"]) for s in seeds]
    pooled = [_compare(data, tree, s, 8).pairwise.set_index(["model_a", "model_b"]) for s in seeds]
    key = ("N_h=2", "N_h=wide (14)")
    d1 = np.array([r.loc[key, "mean_diff"] for r in one])
    d8 = np.array([r.loc[key, "mean_diff"] for r in pooled])
    assert np.std(d8, ddof=1) < np.std(d1, ddof=1)
    mc = np.array([r.loc[key, "mc_se"] for r in pooled])
    assert np.all(mc > 0)
    # every seed's estimate lies within 4 of its own Monte-Carlo SEs of the mean over seeds
    assert np.all(np.abs(d8 - d8.mean()) <= 4 * np.max(mc))
    # and the p-values count the Monte-Carlo error: p with it >= p of the sampling SE alone
    for r in pooled:
        row = r.loc[key]
        st = with_mc_error(dict(mean=row["mean_diff"], sem=row["sem"], ci_low=0, ci_high=0, p=0.0, dof=row["dof"],
                                variance_method="t-test"), 0.0, 0.95)
        assert st["p"] == 0.0  # zero Monte-Carlo SE leaves the row as it is
        assert row["ci_high"] - row["ci_low"] >= 0


def test_auto_stops_when_the_mc_error_is_small_and_doubles_otherwise():
    """mc_blocks's rule on a synthetic run whose Monte-Carlo SE falls as 1 / sqrt(blocks)."""
    n_units, asked = 10, []
    base = np.linspace(0.0, 1.0, n_units)

    def run(R, noise):
        asked.append(R)
        rng = np.random.default_rng(R)
        S = np.column_stack([base + 0.5, base])  # difference 0.5 in every unit: sampling SE 0 -> tie guard
        S[:, 0] += rng.normal(0, 0.1, n_units)  # sampling spread of the difference
        J = np.column_stack([S[:, 0].mean() + rng.normal(0, 0.02, n_units), np.full(n_units, base.mean())])
        loo = [S + np.array([noise / np.sqrt(R) * rng.standard_normal(), 0.0]) for _ in range(R)]
        return dict(S=S, J=J, loo=loo)

    out = mc_blocks(lambda R: run(R, 1e-6), "auto", 0.95)
    assert out["blocks"] == 4 and asked == [4]
    asked.clear()
    out = mc_blocks(lambda R: run(R, 10.0), "auto", 0.95)
    assert asked == [4, 8, 16] and out["blocks"] == 16
    asked.clear()
    out = mc_blocks(lambda R: run(R, 10.0), 3, 0.95)
    assert asked == [3] and out["blocks"] == 3


def test_block_jackknife_se_formula():
    rng = np.random.default_rng(0)
    S_loo = [rng.normal(size=(5, 3)) for _ in range(6)]
    model_se, pair_se = block_jackknife_se(S_loo, 3)
    m = np.array([S[:, 0].mean() - S[:, 2].mean() for S in S_loo])
    assert pair_se[1] == pytest.approx(np.sqrt(5 / 6 * np.sum((m - m.mean()) ** 2)), rel=1e-12)
    m0 = np.array([S[:, 0].mean() for S in S_loo])
    assert model_se[0] == pytest.approx(np.sqrt(5 / 6 * np.sum((m0 - m0.mean()) ** 2)), rel=1e-12)
    assert np.all(np.isnan(block_jackknife_se(S_loo[:1], 3)[1]))


def test_aligned_networks_have_nothing_to_replicate(tree, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rl.compare_widths(data, tree, widths=[2, "wide"], init="aligned", mc_replicates=8, n_lam=4,
                                n_times=15)
    assert res.settings["mc_replicates_used"] == 1 and res.settings["mc_replicates"] == 1


@pytest.mark.parametrize("bad, match", [("many", "mc_replicates"), (0, "mc_replicates"), (1.5, "mc_replicates"),
                                        (10**6, "mc_replicates")])
def test_bad_mc_replicates(tree, data, bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        rl.compare_widths(data, tree, widths=[2], mc_replicates=bad)


def test_pooled_models_survive_parallel_scoring(tree, data):
    """joblib pickles the pooled models to its workers: the same tables as in one process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(widths=[2, "wide"], n_draws=16, mc_replicates=4, n_lam=4, n_times=15, progress=False)
        par = rl.compare_widths(data, tree, n_jobs=2, **kw).pairwise
        ser = rl.compare_widths(data, tree, n_jobs=1, **kw).pairwise
    cols = ["mean_diff", "sem", "mc_se", "p"]
    np.testing.assert_array_equal(par[cols].to_numpy(), ser[cols].to_numpy())
