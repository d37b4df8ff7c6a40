"""Grid and refinement scores straight from rank-one weights (``scoring._RankOneScores``).

The reference is rsatoolbox's own ``compare`` on the explicit predicted RDMs ``max(w @ Bsq, 0)``, and the
package's direct path (``model.predict_times`` + ``score_matrix``) for whole score tensors.
"""

import warnings

import numpy as np
import pytest
from rsatoolbox.rdm import RDMs, compare

import rsa_lineardyn as rl
from rsa_lineardyn.inference.design import _rank_one_scores, make_candidates, make_design, score_tensor
from rsa_lineardyn.representations.similarity import _DIRECT_SPREAD, _PreparedData, _RankOneScores, _rank_one_factor


def _pairs(B):
    ia, ib = np.triu_indices(B.shape[1], 1)
    return (B[:, ia] - B[:, ib]) ** 2


@pytest.mark.parametrize("method", ["corr", "cosine"])
def test_rank_one_scores_equal_rsatoolbox_compare(method):
    rng = np.random.default_rng(0)
    J = P = 9
    Bsq = _pairs(np.linalg.qr(rng.standard_normal((J, P)))[0])  # orthogonal basis: uniform weights give a constant
    data = rng.uniform(0.5, 2.0, (3, Bsq.shape[1]))
    data[:, 4] = np.nan  # a missing pair (in every RDM: each RDM is scored over its own valid pairs)
    w = rng.uniform(0.1, 1.0, (6, J))
    w[1] = 0.5 + 1e-9 * rng.standard_normal(J)  # nearly uniform weights: the prediction's spread is tiny
    w[2, 0] = -1e-3  # a negative weight: the direct path (the explicit prediction is clipped at 0)
    w[3] = 0.0  # constant prediction: undefined score
    prepared = _PreparedData(data, method)
    scorer = _RankOneScores(Bsq, prepared, _rank_one_factor(Bsq, prepared.keep, method))
    got = scorer.score(w)
    if method == "corr":  # the test exercises the direct fallback: row 1's centred spread is below the threshold
        y = w[1] @ scorer.RbT
        assert np.linalg.norm(y) < _DIRECT_SPREAD * (np.abs(w[1]) @ scorer.rownorm)
    pred = np.maximum(w @ Bsq, 0.0)
    pred[:, 4] = np.nan  # rsatoolbox wants the missing pairs marked in both
    ok = np.arange(6) != 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = compare(RDMs(pred[ok]), RDMs(data), method=method)  # (rsatoolbox mishandles a constant row)
    np.testing.assert_allclose(got[ok], want, rtol=0, atol=1e-12)
    assert np.isnan(got[3]).all()  # the package's convention for a constant prediction (as score_matrix)
    assert np.isnan(rl.score_matrix(pred[3:4], data, method)).all()


def test_score_tensor_equals_direct_scores():
    """The fast grid path (random and aligned starts) equals predict_times + score_matrix for every candidate."""
    rng = np.random.default_rng(3)
    task = rl.whiten(rl.Task(rng.standard_normal((6, 10)), rng.standard_normal((3, 10))))
    truth = rl.LinearNetworkModel(task, n_hidden=2, lam=0.3, init="aligned")
    data = rl.rdms_from_matrices(np.stack([truth.predict_rdm([0.2]).get_matrices()[0],
                                           truth.predict_rdm([0.6]).get_matrices()[0]]), labels=task.labels)
    design = make_design(data, task, n_times=7)
    for init in ("random", "aligned"):
        cands = make_candidates(task, data, [1, 2, 6], None, 3, np.array([-1.0]), dict(init=init, n_draws=4))
        for method in ("corr", "cosine"):
            R = score_tensor(design, cands, method)[0]  # (n_rdm, C, G)
            c = 0
            for model, lams, lss in cands.groups:
                assert _rank_one_scores(model, _PreparedData(design.data, method)) is not None
                for lam in lams:
                    theta = np.array([lam, 0.0])
                    V = model.predict_times(design.uniq, theta)
                    want = rl.score_matrix(V, design.data, method)[design.inv[:, 0]].T  # (n_rdm, G)
                    np.testing.assert_allclose(R[:, c], want, rtol=0, atol=1e-12)
                    c += 1


def test_near_perfect_fits_scored_as_directly():
    """Noiseless data: candidates tie at a score of 1; those are decided by the direct scores, never above 1."""
    rng = np.random.default_rng(4)
    Bsq = _pairs(rng.standard_normal((6, 8)))
    w = rng.uniform(0.1, 1.0, (5, 6))
    data = np.maximum(w[2:4] @ Bsq, 0.0) * np.array([[3.0], [0.5]])  # rows 2 and 3 fit exactly
    class Recorded(_PreparedData):  # the real scorer, keeping what it was asked to score directly
        def score(self, pred):
            out = super().score(pred)
            self.calls.append((pred.copy(), out))
            return out

    V = np.maximum(w @ Bsq, 0.0)
    for method in ("corr", "cosine"):
        prepared = Recorded(data, method)
        prepared.calls = []
        got = _RankOneScores(Bsq, prepared, _rank_one_factor(Bsq, prepared.keep, method)).score(w)
        assert len(prepared.calls) == 1  # the near-perfect rows went through the direct scorer, in one call
        rows, out = prepared.calls[0]
        i2, i3 = (int(np.flatnonzero((rows == V[k]).all(axis=1))[0]) for k in (2, 3))
        assert got[2, 0] == out[i2, 0] and got[3, 1] == out[i3, 1]  # bit for bit: their direct scores
        direct = prepared.score(V)
        assert np.all(got <= 1.0 + 1e-15)
        np.testing.assert_allclose(got, direct, rtol=0, atol=1e-12)


def test_negative_weights_go_direct_only_when_a_pair_could_be_clipped():
    """A negative weight needs the explicit (clipped) prediction only if some pair's prediction can fall below 0;
    when the bound over pairs says it cannot, the rank-one path is exact and is used (equal to rsatoolbox)."""
    rng = np.random.default_rng(5)
    Bsq = _pairs(rng.standard_normal((6, 9))) + 0.5  # every pair's entry >= 0.5 in every row
    data = rng.uniform(0.5, 2.0, (3, Bsq.shape[1]))
    w = rng.uniform(0.5, 1.0, (3, 6))
    w[1, 0] = -0.01  # cannot clip: the positive weights keep every pair above 0
    rest = np.delete(w[2], 0) @ np.delete(Bsq, 0, axis=0)
    w[2, 0] = -np.quantile(rest / Bsq[0], 0.3)  # clips: about 30% of the pairs fall below 0

    class Recorded(_PreparedData):
        def score(self, pred):
            self.rows.append(pred.shape[0])
            return super().score(pred)

    prepared = Recorded(data, "corr")
    prepared.rows = []
    got = _RankOneScores(Bsq, prepared, _rank_one_factor(Bsq, prepared.keep, "corr")).score(w)
    assert prepared.rows == [1]  # only row 2 was scored directly
    pred = np.maximum(w @ Bsq, 0.0)
    assert np.all(w[1] @ Bsq > 0) and 0.2 < np.mean(w[2] @ Bsq < 0) < 0.4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = compare(RDMs(pred), RDMs(data), method="corr")
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
