"""Family-wise corrections of the pairwise table: Shaffer's S1 against a brute-force closed test."""

from itertools import combinations

import numpy as np
import pytest

from rsa_lineardyn.inference.multiplicity import correct_pvalues, shaffer_counts


def _partitions(items):
    """Every partition of the list ``items`` into non-empty blocks."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _partitions(rest):
        yield [[first]] + part
        for i in range(len(part)):
            yield part[:i] + [[first] + part[i]] + part[i + 1:]


def _closed_test(p, k, alpha):
    """Rejections of the closed test with Bonferroni local tests over every CONSISTENT intersection of the pairwise
    nulls of k models (a partition of the models into groups of equal means): valid by construction."""
    pairs = list(combinations(range(k), 2))
    pos = {pr: i for i, pr in enumerate(pairs)}
    rejected_sets = []
    for part in _partitions(list(range(k))):
        true = [pos[pr] for block in part for pr in combinations(sorted(block), 2)]
        if true and min(p[i] for i in true) * len(true) > alpha:
            rejected_sets.append(set(true))  # this intersection is NOT rejected: its members stay
    keep = set().union(*rejected_sets) if rejected_sets else set()
    return np.array([i not in keep for i in range(len(pairs))])


def test_shaffer_counts_are_the_partition_counts():
    for k in range(1, 7):
        brute = sorted({sum(len(b) * (len(b) - 1) // 2 for b in part) for part in _partitions(list(range(k)))})
        assert shaffer_counts(k) == tuple(brute)


@pytest.mark.parametrize("k", [3, 4, 5])
def test_shaffer_is_between_holm_and_the_closed_test(k):
    """S1 never rejects less than Holm and never more than the (valid) closed test; it rejects more than Holm
    somewhere, so the counts matter."""
    rng = np.random.default_rng(k)
    m = k * (k - 1) // 2
    gained = 0
    for _ in range(400):
        p = rng.uniform(0, 0.08, m) ** rng.uniform(0.5, 2)
        holm = correct_pvalues(p, "holm") < 0.05
        shaffer = correct_pvalues(p, "shaffer", n_models=k) < 0.05
        closed = _closed_test(p, k, 0.05)
        assert np.all(shaffer >= holm)
        assert np.all(shaffer <= closed)
        gained += int(shaffer.sum() > holm.sum())
    assert gained > 10


def test_shaffer_by_hand_and_nan_falls_back_to_holm():
    # sorted 0.01, 0.02, 0.04: multipliers 3 (three nulls could be true), then 1, 1 (once one pair differs,
    # at most one other can be equal); Holm: 3, 2, 1
    p = np.array([0.02, 0.01, 0.04])
    np.testing.assert_allclose(correct_pvalues(p, "shaffer", n_models=3), [0.03, 0.03, 0.04])
    np.testing.assert_allclose(correct_pvalues(p, "holm"), [0.04, 0.03, 0.04])
    q = np.array([0.02, np.nan, 0.04])
    np.testing.assert_allclose(correct_pvalues(q, "shaffer", n_models=3)[[0, 2]], correct_pvalues(q, "holm")[[0, 2]])
    with pytest.raises(ValueError, match="n_models"):
        correct_pvalues(p, "shaffer")
    with pytest.raises(ValueError, match="n_models"):
        correct_pvalues(p, "shaffer", n_models=4)


def test_fwer_of_shaffer_under_a_partial_null():
    """4 models, two groups of equal means (2 true nulls of 6): the false-positive rate over the true nulls stays
    <= alpha with correlated t statistics from the same subjects."""
    rng = np.random.default_rng(0)
    means = np.array([0.0, 0.0, 0.6, 0.6])
    pairs = list(combinations(range(4), 2))
    true = [i for i, (a, b) in enumerate(pairs) if means[a] == means[b]]
    from scipy import stats

    n, reps, hits = 10, 4000, 0
    for _ in range(reps):
        x = means + rng.standard_normal((n, 4)) + rng.standard_normal((n, 1))
        p = np.array([stats.ttest_rel(x[:, a], x[:, b]).pvalue for a, b in pairs])
        hits += bool(np.any(correct_pvalues(p, "shaffer", n_models=4)[true] < 0.05))
    rate = hits / reps
    assert rate <= 0.05 + 2.6 * np.sqrt(0.05 * 0.95 / reps)
