"""Thousands of conditions (issue 21, items): memory that grows like the data, bootstraps from precomputed moments.

* The random-start engine's pair basis is one row per tied group of modes (:class:`rsa_lineardyn.models.network._PairBasis`):
  a 1000-item one-hot task keeps 31 rows of its 499,500 pairs, not 1000 (4 GB before); rows that do not fit
  are rebuilt chunk by chunk with the same numbers; predictions are sized before they are allocated.
* The condition bootstrap scores rank-one candidates from weighted moments of those rows
  (:class:`rsa_lineardyn.inference.scorer.BootMoments`), checked here against the explicit weighted scores and against a
  long-double reference.
* The engine's group means and byte-bounded caches, and the feature baseline's chunked null-space RDM.
"""

import warnings

import numpy as np
import pytest
import rsatoolbox

import rsa_lineardyn as rl
from rsa_lineardyn.models import network as model_mod
from rsa_lineardyn.inference.baselines import _item_index, feature_rdms
from rsa_lineardyn.inference.design import make_candidates, make_design, score_tensor
from rsa_lineardyn.models.draws import _lru_put
from rsa_lineardyn.models.random_kernels import _GroupMeans, _group_labels, _group_mean_matrix
from rsa_lineardyn.inference.scorer import BootMoments, boot_pair_weights, condition_boot_tensor
from rsa_lineardyn.representations.similarity import _weighted_fast


def _onehot(P, n_out=6, seed=0):
    Y = np.random.default_rng(seed).standard_normal((n_out, P))
    return rl.whiten(rl.Task(np.eye(P), Y, labels=[f"item{i}" for i in range(P)]))


def _data(task, n_sub=3, seed=1):
    rng = np.random.default_rng(seed)
    out = []
    for s in range(n_sub):
        ds = rsatoolbox.data.Dataset(task.Y.T + rng.standard_normal(task.Y.T.shape),
                                     descriptors={"subject": f"s{s}"},
                                     obs_descriptors={"item": np.array(task.labels)})
        out.append(rsatoolbox.rdm.calc_rdm(ds, method="euclidean", descriptor="item"))
    return rsatoolbox.rdm.concat(out)


def _model(task, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rl.DegeneracyWarning)
        return rl.LinearNetworkModel(task, item_order=list(task.labels), **kw)


def _explicit(model, lam, times, pairs):
    """``sum_j w_j (B_ja - B_jb)^2`` over every basis row, at the given pairs (the definition, row by row)."""
    w, B = model._engine.rank_one(lam, model.scale, times, model.tau)
    ia, ib = model._full.ia[pairs], model._full.ib[pairs]
    return np.maximum(w @ (B[:, ia] - B[:, ib]) ** 2, 0.0)


def test_thousand_one_hot_items_keep_one_pair_row_per_group():
    """1000 one-hot items, 30 outputs: 31 group rows (30 modes + the null space) of 499,500 pairs (124 MB)."""
    task = _onehot(1000, n_out=30)
    m = _model(task, n_hidden=2, n_draws=4)
    times = np.array([0.05, 2.0])
    v = m.predict_times(times, np.array([-0.4, 0.0]))
    basis = m._full.basis
    assert basis.n_groups == 31 and m._full.Bsq.shape == (31, 499_500)
    pairs = np.random.default_rng(0).choice(499_500, size=400, replace=False)
    want = _explicit(m, -0.4, times, pairs)
    np.testing.assert_allclose(v[:, pairs], want, rtol=1e-13, atol=0)


@pytest.mark.parametrize("measure", ["euclidean", "cosine"])
@pytest.mark.parametrize("representation", ["hidden", "output"])
def test_rows_rebuilt_per_call_give_the_same_predictions(monkeypatch, measure, representation):
    task = rl.whiten(rl.hierarchical_task(3))
    m = _model(task, n_hidden=3, measure=measure, representation=representation, n_draws=6)
    theta = np.array([-0.3, 0.0])
    times = np.logspace(-2, 2, 9)
    kept = m.predict_times(times, theta)
    assert m._full.basis.cached
    monkeypatch.setattr(model_mod, "_PAIR_CACHE_BYTES", 0)
    monkeypatch.setattr(model_mod, "_PAIR_CHUNK_ELEMENTS", 7)  # several chunks of pairs
    m2 = _model(task, n_hidden=3, measure=measure, representation=representation, n_draws=6)
    rebuilt = m2.predict_times(times, theta)
    assert not m2._full.basis.cached and m2._full.basis.rows is None
    # the same terms summed in another order (BLAS blocking): within G eps of the sum of their sizes
    basis = m._full.basis
    wg = basis.weights(m._engine.rank_one(-0.3, m.scale, times, m.tau)[0])
    size = np.abs(wg) @ np.abs(basis.rows)
    if measure == "cosine":  # 1 - G_ab / sqrt(G_aa G_bb): the terms relative to the smallest squared norm
        size = size / np.min(np.abs(wg) @ basis.diag, axis=1, keepdims=True)
    assert np.all(np.abs(rebuilt - kept) <= 4 * basis.n_groups * np.finfo(float).eps * size)


def test_grouped_rows_equal_the_per_row_form():
    """Tied modes (a hierarchical task has groups of equal singular values): group sums = row-by-row sums."""
    task = rl.whiten(rl.hierarchical_task(3))
    m = _model(task, n_hidden=4, n_draws=6)
    assert m._full.basis.n_groups < task.n_in  # some groups have several modes
    times = np.logspace(-2, 2, 7)
    v = m.predict_times(times, np.array([-0.5, 0.0]))
    np.testing.assert_allclose(v, _explicit(m, -0.5, times, np.arange(v.shape[1])), rtol=1e-13, atol=0)


def test_a_prediction_too_large_is_refused_with_the_estimate():
    m = _model(_onehot(400), n_hidden=2, n_draws=2)
    with pytest.raises(ValueError, match=r"predictions of model .*1,000,000 times x 79,800 condition pairs.* [GT]iB"
                                         r".*fewer times"):
        m.predict_times(np.logspace(-2, 2, 10**6), np.array([0.0, 0.0]))


# ----------------------------------------------------------------------------
# the condition bootstrap from moments
# ----------------------------------------------------------------------------
def _counts(n, B, seed=3):
    rng = np.random.default_rng(seed)
    return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(B)]).astype(float)


def _long_double_scores(V, D, W, method):
    """Weighted corr/cosine of every row of ``V`` with every row of ``D`` under each row of ``W``, in long double."""
    V, D, W = (np.asarray(x, dtype=np.longdouble) for x in (V, D, W))
    sw = W.sum(axis=1)[:, None, None]
    if method == "corr":
        Vc = V[None] - (W[:, None] * V[None]).sum(axis=2, keepdims=True) / sw
        Dc = D[None] - (W[:, None] * D[None]).sum(axis=2, keepdims=True) / sw
    else:
        Vc, Dc = np.broadcast_to(V, (W.shape[0],) + V.shape), np.broadcast_to(D, (W.shape[0],) + D.shape)
    WV = W[:, None] * Vc
    cov = np.einsum("bup,brp->bur", WV, Dc)
    vv = np.einsum("bup,bup->bu", WV, Vc)
    dd = np.einsum("brp,brp->br", W[:, None] * Dc, Dc)
    return (cov / np.sqrt(vv[:, :, None] * dd[:, None, :])).astype(float)


@pytest.mark.parametrize("init", ["random", "aligned"])
@pytest.mark.parametrize("method", ["corr", "cosine"])
def test_boot_moments_are_as_accurate_as_the_explicit_weighted_scores(init, method):
    task = _onehot(40, n_out=5)
    data = _data(task)
    D = data.get_vectors()
    counts = _counts(task.P, 6)
    W = boot_pair_weights(counts)
    m = _model(task, n_hidden=2, init=init, n_draws=8)
    times = np.logspace(-3, 2, 15)  # from the near-isotropic start (nearly constant RDMs) to the end
    mom = BootMoments(counts, D, method, m._full.Bsq)
    for lam in (-0.5, 0.0):
        w = m._engine.rank_one(lam, m.scale, times, m.tau)[0]
        wg = m._full.group_weights(w)
        got = mom.scores(wg)
        V = np.maximum(wg @ m._full.Bsq, 0.0)
        explicit = _weighted_fast(V, D, W, method)
        # the reference: the prediction wg @ rows itself (in long double; the float64 V rounds each pair by
        # eps |v|, which near the isotropic start is far more than eps of its centred part)
        exact = np.asarray(wg, dtype=np.longdouble) @ np.asarray(m._full.Bsq, dtype=np.longdouble)
        ref = _long_double_scores(exact, D, W, method)
        err_got = np.abs(got - ref).max(axis=(0, 2))
        err_explicit = np.abs(explicit - ref).max(axis=(0, 2))
        assert np.all(err_got <= 2.0 * err_explicit + 1e-14), (err_got, err_explicit)


def test_boot_moments_score_clipped_predictions_from_the_explicit_ones():
    """Negative group weights that make some dissimilarity negative: the prediction is clipped at 0 first."""
    task = _onehot(30, n_out=4)
    D = _data(task).get_vectors()
    counts = _counts(task.P, 4)
    m = _model(task, n_hidden=2, n_draws=4)
    rows = m._full.Bsq
    mom = BootMoments(counts, D, "corr", rows)
    wg = np.abs(np.random.default_rng(5).standard_normal((3, rows.shape[0])))
    wg[1, 0] = -50.0 * wg[1].max()  # row 1 goes negative on some pairs
    wg[2, 1] = -1e-6 * wg[2].max()  # row 2: a negative weight, no negative pair
    V = wg @ rows
    assert V[1].min() < 0 < V[2].min()
    np.testing.assert_array_equal(mom._clipped(wg), [False, True, False])
    want = _weighted_fast(np.maximum(V, 0.0), D, boot_pair_weights(counts), "corr")
    np.testing.assert_allclose(mom.scores(wg), want, rtol=0, atol=1e-12)


def test_condition_boot_tensor_equals_the_explicit_score_tensor():
    task = _onehot(36, n_out=5)
    data = _data(task, n_sub=2)
    design = make_design(data, task, n_times=9)
    cands = make_candidates(task, data, [2, 4], None, 3, np.array([-1.0]),
                            dict(init="random", n_draws=6, representation="hidden", measure="euclidean"))
    counts = _counts(task.P, 5)
    got = condition_boot_tensor(design, cands, "corr", None, counts)
    want = score_tensor(design, cands, "corr", pair_weights=boot_pair_weights(counts))
    assert got.shape == want.shape == (5, design.n_rdm, len(cands), design.tparams.shape[0])
    # agreement within the conditioning of each prediction: a correlation moves by ~eps |v| / |v - mean(v)|
    # when the pairs are rounded relative to |v| (nearly constant RDMs at the earliest times are ill-conditioned)
    kappa = np.empty((len(cands), design.tparams.shape[0]))
    for c in range(len(cands)):
        model = cands.model_of(c)
        V = model.predict_times(design.uniq, np.array([cands.lam[c], 0.0]))[design.inv[:, 0]]
        kappa[c] = np.linalg.norm(V, axis=1) / np.linalg.norm(V - V.mean(axis=1, keepdims=True), axis=1)
    assert kappa.max() > 1e4  # the check covers ill-conditioned predictions
    assert np.all(np.abs(got - want) <= 2 * np.finfo(float).eps * kappa[None, None] + 1e-14)


def _cosine_case():
    """A small task, its design and the candidates of one aligned model with cosine-distance predictions."""
    task = _onehot(12, n_out=3)
    data = _data(task, n_sub=2)
    design = make_design(data, task, n_times=5)
    cands = make_candidates(task, data, [2], None, 2, np.array([-1.0]),
                            dict(init="aligned", n_draws=2, representation="hidden", measure="cosine"))
    return task, design, cands


def test_condition_boot_tensor_scores_other_models_explicitly():
    """Cosine-distance predictions are not squared-Euclidean pair rows: scored on the explicit pair weights."""
    task, design, cands = _cosine_case()
    counts = _counts(task.P, 3)
    got = condition_boot_tensor(design, cands, "corr", None, counts)
    want = score_tensor(design, cands, "corr", pair_weights=boot_pair_weights(counts))
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------
# engine parts
# ----------------------------------------------------------------------------
def test_group_means_equal_the_group_mean_matrix():
    s = np.array([3.0, 2.0, 2.0, 1.0, 0.0, 0.0, 0.0])
    labels = _group_labels(s, 9)
    x = np.random.default_rng(0).standard_normal((4, 5, 9))
    np.testing.assert_allclose(_GroupMeans(labels)(x), x @ _group_mean_matrix(labels), rtol=1e-15, atol=1e-15)


def test_engine_caches_are_bounded_by_bytes():
    from collections import OrderedDict

    cache = OrderedDict()
    for k in range(5):
        _lru_put(cache, k, (np.zeros(1000), np.zeros(1000)), size=32, max_bytes=40_000)
    assert list(cache) == [3, 4]  # 16 kB per entry: two fit in 40 kB
    _lru_put(cache, "big", np.zeros(10_000), size=32, max_bytes=40_000)
    assert list(cache) == ["big"]  # alone above the bound, it still stays


def test_feature_null_space_rdm_summed_in_chunks_equals_the_direct_sum():
    task = _onehot(50, n_out=4)
    data = _data(task, n_sub=1)
    names, vecs = feature_rdms(task, data, kind="modes")
    assert names[-1] == "outside the modes"
    _, _, Vt = task.svd()
    rest = (Vt @ task.X)[task.rank():][:, _item_index(task, data)]  # in the data's condition order
    ia, ib = np.triu_indices(task.P, k=1)
    np.testing.assert_allclose(vecs[-1], np.sum((rest[:, ia] - rest[:, ib]) ** 2, axis=0), rtol=1e-13)


def test_explicit_bootstrap_pair_weights_are_sized_first():
    """A model without rank-one pair rows needs (n_boot x n_pairs) weights: refused with the estimate and the fix."""
    task, design, cands = _cosine_case()
    counts = np.broadcast_to(np.ones(task.P), (10**8, task.P))  # no memory: only its shape is read
    with pytest.raises(ValueError, match=r"pair weights .*100,000,000 samples x 66 condition pairs.*Lower n_boot"):
        condition_boot_tensor(design, cands, "corr", None, counts)


@pytest.mark.parametrize("method", ["corr", "cosine"])
def test_stacked_condition_bootstrap_from_moments_equals_the_explicit_one(method):
    """Trajectories (stages stacked per subject): unit scores from the moments = from DataStats per sample."""
    from rsa_lineardyn.inference.scorer import DataStats, _group_boot_scores, _groups, candidate_boot_scores

    task = _onehot(30, n_out=4)
    rng = np.random.default_rng(2)
    rdms = []
    for s in range(2):
        for k, stage in enumerate(["early", "mid", "late"]):
            ds = rsatoolbox.data.Dataset((0.3 + k) * task.Y.T + rng.standard_normal(task.Y.T.shape),
                                         descriptors={"subject": f"s{s}", "stage": stage},
                                         obs_descriptors={"item": np.array(task.labels)})
            rdms.append(rsatoolbox.rdm.calc_rdm(ds, method="euclidean", descriptor="item"))
    data = rsatoolbox.rdm.concat(rdms)
    design = make_design(data, task, n_times=7, stage_order=["early", "mid", "late"])
    assert design.K == 3 and len(design.subjects) == 2
    cands = make_candidates(task, data, [2, 3], None, 2, np.array([-1.0]),
                            dict(init="random", n_draws=6, representation="hidden", measure="euclidean"))
    counts = _counts(task.P, 4)
    unit_of, n_units = design.subject_of, 2
    got = candidate_boot_scores(design, cands, method, counts, unit_of, n_units)
    datas = [DataStats(design.data, method, w, _groups(design)) for w in boot_pair_weights(counts)]
    want = np.concatenate([_group_boot_scores(design, model, lams, lss, datas, unit_of, n_units)
                           for model, lams, lss in cands.groups], axis=2)
    assert got.shape == want.shape == (4, 2, len(cands), design.tparams.shape[0])
    # measured: 1.6e-10 (corr; the nearly constant predictions of the earliest times, whose scores are
    # ill-conditioned: see test_condition_boot_tensor_equals_the_explicit_score_tensor), 8e-16 (cosine)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_moments_too_large_for_the_budget_take_the_explicit_path(monkeypatch):
    from rsa_lineardyn.inference import scorer

    task = _onehot(20, n_out=3)
    data = _data(task, n_sub=2)
    design = make_design(data, task, n_times=5)
    cands = make_candidates(task, data, [2], None, 2, np.array([-1.0]),
                            dict(init="random", n_draws=4, representation="hidden", measure="euclidean"))
    counts = _counts(task.P, 3)
    model = cands.groups[0][0]
    assert scorer._rank_one_rows(model, design, "corr", 3) is not None
    monkeypatch.setattr(scorer, "_BOOT_MOMENT_BYTES", 1000)
    assert scorer._rank_one_rows(model, design, "corr", 3) is None
    got = condition_boot_tensor(design, cands, "corr", None, counts)
    want = score_tensor(design, cands, "corr", pair_weights=boot_pair_weights(counts))
    np.testing.assert_array_equal(got, want)  # the explicit path itself
