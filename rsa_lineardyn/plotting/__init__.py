"""Figures.  Each function takes a result (and an optional ``ax``) and draws it; computation never plots.

* :mod:`~rsa_lineardyn.plotting.qqt`: the entries of ``QQ^T`` over training time and their key (Figure 1);
* :mod:`~rsa_lineardyn.plotting.rdms`: RDM panels on one shared colour scale;
* :mod:`~rsa_lineardyn.plotting.fits`: the profile of a fit (:func:`plot_fit_profile`);
* :mod:`~rsa_lineardyn.plotting.hypotheses`: a hypothesis test (:func:`plot_hypotheses`) and its stage-resolved
  tests (:func:`plot_stage_tests`), every mark from its tables.

Layout rules every figure function keeps (``tests/test_figures.py`` checks them): no artist outside the
figure, keys (legends) beside the data rather than over it, marks (stars, brackets) inside their axes, error
bars named in a label, and one colour scale shared by the panels that are compared.
"""

from .fits import plot_fit_profile
from .hypotheses import plot_hypotheses, plot_stage_tests
from .rdms import plot_rdm, shared_limits
from .qqt import BLOCK_CMAPS, BLOCK_LABELS, plot_qqt_entries, plot_qqt_key, qqt_entry_colors, qqt_entry_names

__all__ = ["plot_fit_profile", "plot_hypotheses", "plot_stage_tests", "plot_qqt_entries", "plot_qqt_key", "qqt_entry_colors",
           "qqt_entry_names", "plot_rdm", "shared_limits", "BLOCK_CMAPS",
           "BLOCK_LABELS"]
