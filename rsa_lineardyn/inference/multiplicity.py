"""Family-wise corrected p-values of a pairwise comparison table: Holm, Shaffer, Bonferroni.

Plain functions on arrays; :func:`rsa_lineardyn.evaluate_hypotheses` calls ``correct_pvalues`` on its pairwise
table (every pair of the compared models once).
"""

from __future__ import annotations

from functools import lru_cache
from math import comb

import numpy as np

from .._validation import check_choice

__all__ = ["CORRECTIONS", "correct_pvalues", "shaffer_counts"]

#: Family-wise corrections of :func:`correct_pvalues` (and ``evaluate_hypotheses(correction=)``).
CORRECTIONS = ("holm", "shaffer", "bonferroni", "none")


@lru_cache(maxsize=None)
def shaffer_counts(k):
    """The numbers of true null hypotheses possible among all pairwise equalities of ``k`` means (sorted tuple).

    A configuration of the ``k`` means is a partition of the models into groups of equal means; a group of ``j``
    models makes ``C(j, 2)`` pairwise nulls true.  So the possible counts are ``S(k) = union over j = 1..k of
    {C(j, 2) + x : x in S(k - j)}``, ``S(0) = S(1) = {0}`` (Shaffer 1986, J. Am. Stat. Assoc. 81:826).

    Examples
    --------
    >>> from rsa_lineardyn.inference.multiplicity import shaffer_counts
    >>> shaffer_counts(3), shaffer_counts(4)
    ((0, 1, 3), (0, 1, 2, 3, 6))
    """
    k = int(k)
    if k <= 1:
        return (0,)
    out = set()
    for j in range(1, k + 1):
        out.update(comb(j, 2) + x for x in shaffer_counts(k - j))
    return tuple(sorted(out))


def _step_down(p, ok, factors):
    """Adjusted p-values of a step-down procedure: ``max_{j <= i} min(1, factors[j] p_(j))`` in sorted order."""
    out = np.full_like(p, np.nan)
    order = ok[np.argsort(p[ok], kind="stable")]
    out[order] = np.maximum.accumulate(np.minimum(np.asarray(factors, dtype=float) * p[order], 1.0))
    return out


def correct_pvalues(p, method="holm", n_models=None):
    """Family-wise corrected p-values; NaN entries are left out (and stay NaN).

    Parameters
    ----------
    p : array_like (m,)
        Raw p-values of one family.
    method : {"holm", "shaffer", "bonferroni", "none"}, default "holm"
        ``"holm"``: Holm's step-down.  ``"shaffer"``: Shaffer's S1 step-down for ALL pairwise comparisons of
        ``n_models`` models (``p`` must then hold one p-value per pair, ``m = n_models (n_models - 1) / 2``): at
        step ``i`` the multiplier is the largest number of nulls that can still be true when ``i - 1`` are
        false (:func:`shaffer_counts`: equal means are transitive, so with 3 models, once one pair differs at
        most one other pair can be equal).  It controls the family-wise error rate as Holm does (any dependence
        between the tests) and never rejects less.  When a p-value is NaN the family is no longer all pairs
        and the logical counts do not apply: Holm is used on the rest.
    n_models : int, optional
        Number of compared models; required for ``"shaffer"``.

    Returns
    -------
    ndarray (m,)

    Examples
    --------
    >>> from rsa_lineardyn.inference.multiplicity import correct_pvalues
    >>> correct_pvalues([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> correct_pvalues([0.01, 0.04, 0.03], "shaffer", n_models=3).round(3).tolist()
    [0.03, 0.04, 0.03]
    """
    check_choice(method, "correction", CORRECTIONS)
    p = np.asarray(p, dtype=float)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return np.full_like(p, np.nan)
    if method == "none":
        return np.where(np.isfinite(p), p, np.nan)
    if method == "bonferroni":
        return np.where(np.isfinite(p), np.minimum(p * m, 1.0), np.nan)
    holm = m - np.arange(m)
    if method == "holm" or m < p.size:
        return _step_down(p, ok, holm)
    if n_models is None or comb(int(n_models), 2) != p.size:
        raise ValueError(
            f"correction='shaffer' needs one p-value per pair of the n_models compared models: got {p.size} "
            f"p-values and n_models={n_models!r}. Pass n_models (the family must be every pair), or use 'holm'.")
    counts = np.asarray(shaffer_counts(int(n_models)))
    factors = [counts[counts <= m - i].max() for i in range(m)]
    return _step_down(p, ok, factors)
