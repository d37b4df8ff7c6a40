"""The one scorer (rsa_lineardyn.inference.scorer) against direct computations, and the pieces of the tests built on it."""

import numpy as np
import pytest
from rsatoolbox.rdm import RDMs, compare

from rsa_lineardyn.inference.baselines import feature_weights
from rsa_lineardyn.inference.crossval import t_summary
from rsa_lineardyn.inference.hypotheses import correct_pvalues  # the old home still serves it
from rsa_lineardyn.inference.scorer import DataStats, StackedStats, stacked_stats


def _problem(seed=0, n_rdm=8, p=15, U=6, G=4, offset=50.0):
    rng = np.random.default_rng(seed)
    D = rng.random((n_rdm, p)) + 5.0
    D[2, 3] = np.nan
    D[5, :4] = np.nan
    stage_of = np.tile([0, 1], n_rdm // 2)
    unit_of = np.repeat(np.arange(n_rdm // 2), 2)
    V = rng.random((U, p)) + offset  # a large common part: the stacked formulas must not cancel
    idx = rng.integers(0, U, (G, 2))[:, stage_of]
    return D, V, idx, stage_of, unit_of


def _direct(V, D, idx, g, rows, weights, method, pair_w=None):
    vs, ds, ws = [], [], []
    for r, w in zip(rows, weights):
        ok = np.isfinite(D[r])
        for _ in range(int(w)):
            vs.append(V[idx[g, r]][ok])
            ds.append(D[r][ok])
            ws.append(np.ones(ok.sum()) if pair_w is None else pair_w[ok])
    v, d, pw = np.concatenate(vs), np.concatenate(ds), np.concatenate(ws)
    if method == "corr":
        v = v - np.sum(pw * v) / pw.sum()
        d = d - np.sum(pw * d) / pw.sum()
    return np.sum(pw * v * d) / np.sqrt(np.sum(pw * v * v) * np.sum(pw * d * d))


@pytest.mark.parametrize("method", ["corr", "cosine"])
@pytest.mark.parametrize("weighted_pairs", [False, True])
def test_stacked_scores_equal_direct_correlation_of_stacked_vectors(method, weighted_pairs):
    D, V, idx, stage_of, unit_of = _problem()
    pair_w = np.random.default_rng(1).integers(0, 3, D.shape[1]).astype(float) if weighted_pairs else None
    data = DataStats(D, method, pair_w)
    st = StackedStats(*stacked_stats(V, idx, data), data)
    w = np.array([1, 2, 1, 1, 0, 1, 3, 1], dtype=float)  # RDM multiplicities (a bootstrap within units)
    U = st.unit_scores(w, unit_of, 4)
    R = st.rdm_scores()
    for g in range(idx.shape[0]):
        for u in range(4):
            rows = np.flatnonzero((unit_of == u) & (w > 0))
            assert U[u, 0, g] == pytest.approx(_direct(V, D, idx, g, rows, w[rows], method, pair_w), abs=1e-12)
        for r in range(D.shape[0]):
            assert R[r, 0, g] == pytest.approx(_direct(V, D, idx, g, [r], [1], method, pair_w), abs=1e-12)


def test_separate_scores_equal_rsatoolbox_compare():
    D, V, idx, stage_of, unit_of = _problem(p=10)
    D = D[[0, 1, 3, 4, 6, 7]]  # RDMs without missing values: rsatoolbox's set-wise NaN rule is not in play
    idx = idx[:, [0, 1, 3, 4, 6, 7]]
    for method in ("corr", "cosine"):
        data = DataStats(D, method)
        R = StackedStats(*stacked_stats(V, idx, data), data).rdm_scores()
        for r in range(D.shape[0]):
            ref = compare(RDMs(V[idx[1, r]][None]), RDMs(D[r][None]), method=method)[0, 0]
            assert R[r, 0, 1] == pytest.approx(ref, abs=1e-12)


def test_stacked_scores_survive_a_huge_common_offset():
    """A near-constant prediction (a uniform start plus a tiny learned part): the centred statistics keep the
    learned part's correlation to rounding, where raw sums would lose it."""
    D, V, idx, stage_of, unit_of = _problem(offset=0.0)
    data = DataStats(D, "corr")
    a = StackedStats(*stacked_stats(V, idx, data), data).unit_scores(np.ones(8), unit_of, 4)
    b = StackedStats(*stacked_stats(V * 1e-6 + 1.0, idx, data), data).unit_scores(np.ones(8), unit_of, 4)
    np.testing.assert_allclose(a, b, atol=1e-8)


@pytest.mark.parametrize("stacked", [False, True])
@pytest.mark.parametrize("per_stage", [False, True])
def test_feature_weights_solve_the_centred_nnls(stacked, per_stage):
    """The Gram-matrix NNLS equals scipy's NNLS on the explicit centred design (up to its tiny ridge)."""
    from scipy.optimize import nnls

    rng = np.random.default_rng(4)
    K, p, nf, n_units = 3, 12, 4, 5
    F = rng.random((nf, p))
    truth = rng.random((K, nf)) if per_stage else np.tile(rng.random(nf), (K, 1))
    means = np.array([truth @ F + 0.3 * rng.standard_normal((K, p)) for _ in range(n_units)])
    counts = np.array([1, 1, 2, 0, 1.0])
    coef = feature_weights(F, means, counts, "corr", stacked=stacked, per_stage=per_stage)
    # explicit problem
    Z = means[counts > 0]
    c = counts[counts > 0]
    if stacked:
        Z = Z - Z.mean(axis=(1, 2), keepdims=True)
        Z = Z / np.linalg.norm(Z.reshape(len(Z), -1), axis=1)[:, None, None]
    else:
        Z = Z - Z.mean(axis=2, keepdims=True)
        Z = Z / np.linalg.norm(Z, axis=2, keepdims=True)
    T = np.tensordot(c, Z, axes=1) / c.sum()
    blocks = [np.kron(np.eye(K)[k], F.T) if per_stage else F.T for k in range(K)]
    A = np.vstack(blocks)
    if stacked:
        A = A - A.mean(axis=0)
    else:
        A = np.vstack([b - b.mean(axis=0) for b in blocks])
    ref, _ = nnls(A, T.ravel())
    ref = ref.reshape(K, nf) if per_stage else np.tile(ref, (K, 1))
    np.testing.assert_allclose(coef, ref, atol=2e-3 * np.abs(ref).max())
    assert np.all(coef >= 0)


def test_holm_correction():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.5])
    out = correct_pvalues(p, "holm")
    # sorted 0.01, 0.03, 0.04, 0.5 with factors 4, 3, 2, 1, running maximum
    np.testing.assert_allclose(out[[0, 2, 1, 4]], [0.04, 0.09, 0.09, 0.5])
    assert np.isnan(out[3])
    np.testing.assert_allclose(correct_pvalues(p, "bonferroni")[[0, 1]], [0.04, 0.16])
    np.testing.assert_allclose(correct_pvalues(p, "none")[[0, 1]], [0.01, 0.04])
    with pytest.raises(ValueError, match="correction"):
        correct_pvalues(p, "fdr")


def test_ties_are_p_one_not_a_tiny_p():
    """Both models at the top of the time grid: differences of ~1e-8 with a tiny spread are a tie."""
    x = -1.25e-8 + 1e-10 * np.random.default_rng(0).standard_normal(8)
    jack = x.mean() + 1e-11 * np.random.default_rng(1).standard_normal(8)
    assert t_summary(x, jack, 0.95)["p"] < 0.01  # what a plain t-test says
    tie = t_summary(x, jack, 0.95, tie_tol=1e-6)
    assert tie["p"] == 1.0 and tie["variance_method"].startswith("tie")
