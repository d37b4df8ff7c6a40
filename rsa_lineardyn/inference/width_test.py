"""The crossvalidated test behind ``fit_rdms``' verdict on ``n_hidden``: the chosen width against every other one.

A bootstrap of the in-sample argmax cannot see overfitting: with few conditions one width can win the in-sample
fit of nearly every bootstrap sample and still predict held-out subjects no better (3 items, truth N_h = 2: the
wrong N_h = 1 was "determined" by the bootstrap alone in 8 of 16 simulated studies, crossvalidated Holm p 0.1-1;
benchmarks/results/calibration_width_verdict.md).  This module scores every searched width on held-out
subjects with :mod:`rsa_lineardyn.inference.crossval` -- the crossvalidation, jackknife and t-test of
:func:`rsa_lineardyn.evaluate_hypotheses` -- on the fit's own score tensor (no new predictions), so a fit and a
test of the same widths use one scorer.  Plain functions on arrays.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .crossval import TIE_TOL, jackknife, run_cv, t_summary, unit_folds
from .multiplicity import correct_pvalues
from .scorer import Rows

#: Fewest units (subjects) for the crossvalidated width test: the jackknife t-test has ``n - 1`` degrees of freedom.
MIN_UNITS = 3

WIDTH_TEST_COLUMNS = ["n_hidden_a", "n_hidden_b", "score_a", "score_b", "mean_diff", "sem", "ci_low", "ci_high", "p",
                      "p_corrected", "correction", "significant"]


def width_tests(R, design, unit_of, n_units, shared, cand_h, widths, best_h, ci):
    """Leave-one-unit-out comparison of width ``best_h`` with every other searched width.

    Parameters
    ----------
    R : ndarray (n_rows, C, G)
        The fit's score tensor: rows are units (``shared``, stacked trajectories) or data RDMs.
    design : Design
        The design the rows of ``R`` follow (``stage_of``, ``K``, ``free``).
    unit_of : ndarray (n_rdm,)
        Unit of every data RDM.
    n_units : int
    shared : bool
        Whether the rows of ``R`` are units.
    cand_h : ndarray (C,)
        Width of every candidate.
    widths : sequence of int
        The searched widths.
    best_h : int
        The fit's width.
    ci : float
        Level of the intervals; the test is significant at ``1 - ci`` after Holm's correction over the other widths.

    Returns
    -------
    pandas.DataFrame
        One row per other width: ``n_hidden_a`` (= ``best_h``), ``n_hidden_b``, their mean crossvalidated scores,
        ``mean_diff`` (a - b), jackknife ``sem``, interval, raw and Holm-corrected ``p``, ``significant``.
    """
    import pandas as pd

    others = [int(h) for h in widths if int(h) != int(best_h)]
    order = [int(best_h)] + others
    tensors = [R[:, np.asarray(cand_h) == h, :] for h in order]
    hyps = [SimpleNamespace(kind="network") for _ in order]
    rows = Rows(design, unit_of, n_units, shared)
    ctx = (design, rows, None, None, None)  # means, method and sigma_k serve only feature baselines
    folds, _ = unit_folds(n_units, None, None)
    S = run_cv(hyps, tensors, ctx, np.ones(n_units, dtype=int), folds, None)
    J = jackknife(hyps, tensors, ctx, n_units, folds)
    out = []
    with np.errstate(invalid="ignore"):
        for j, h in enumerate(others, start=1):
            st = t_summary(S[:, 0] - S[:, j], J[:, 0] - J[:, j], ci, tie_tol=TIE_TOL)
            out.append({"n_hidden_a": int(best_h), "n_hidden_b": h, "score_a": float(np.nanmean(S[:, 0])),
                        "score_b": float(np.nanmean(S[:, j])), "mean_diff": st["mean"], "sem": st["sem"],
                        "ci_low": st["ci_low"], "ci_high": st["ci_high"], "p": st["p"]})
    table = pd.DataFrame(out, columns=WIDTH_TEST_COLUMNS)
    if len(table):
        table["p_corrected"] = correct_pvalues(table["p"].to_numpy(float), "holm")
        table["correction"] = "holm"
        table["significant"] = table["p_corrected"] < 1 - ci
    return table


def undistinguished(table, ci):
    """The widths the test does not show to be worse than ``n_hidden_a``:
    ``[(width, mean_diff, p_corrected, better)]``, ``better`` when the width predicts held-out subjects
    significantly better than the in-sample choice."""
    out = []
    for r in table.itertuples():
        significant = bool(r.significant)
        if not (significant and r.mean_diff > 0):
            out.append((int(r.n_hidden_b), float(r.mean_diff), float(r.p_corrected), significant))
    return out


def format_width_test(r):
    """One line of a width test row (``summary()`` and the CLI print it the same way)."""
    return (f"held-out subjects: n_hidden {r.n_hidden_a} vs {r.n_hidden_b}: difference {r.mean_diff:+.4f} "
            f"(SE {r.sem:.2g}), p = {r.p:.2g}, Holm p = {r.p_corrected:.2g}")
