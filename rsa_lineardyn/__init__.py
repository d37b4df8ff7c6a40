"""rsa_lineardyn: exact learning dynamics of two-layer linear networks, for RSA.

Data flow: Task -> initial weights -> Trajectory -> representations -> RDMs
-> fit and inference -> tables and figures.  One subpackage per stage, and the
import rule that keeps the arrows one way (a module imports only from its own
layer or a lower one; ``tests/test_layers.py`` checks every import, also those
inside functions, and that there are no circles):

==================== =========================================================
layer (low to high)  what it holds
==================== =========================================================
``_validation``,     input checks and errors, logging, the old flat module paths
``_log``,            (``rsa_lineardyn.fitting`` ... resolve to their new homes)
``_compat``
``dynamics``         task, initial weights, exact solver, simulator, Trajectory
``representations``  RSMs/NTK, rsatoolbox RDMs adapters, descriptors, measures
``data``             bundled datasets (checksummed), atomic output files
``models``           prediction engines and the rsatoolbox ``Model``
``inference``        design, the one scorer, fits, intervals, tests, baselines
``plotting``         figures of trajectories, fits and tests
``cli``, ``demos``   the command line and the scripts it runs
==================== =========================================================

Where a change goes: a new representation -> ``representations/geometry.py``
(and its name in ``models``' engines); a change of how predictions are scored ->
``inference/scorer.py`` only (fits, tests, the noise ceiling and the CLI all
score through it); a new hypothesis test -> ``inference/hypotheses.py`` with its
arithmetic in ``inference/crossval.py``.

The public names are imported lazily (PEP 562): ``import rsa_lineardyn`` loads
only the error types and the logger, and the first use of a name such as
``rsa_lineardyn.fit_rdms`` imports its module (and with it scipy, pandas or
rsatoolbox).  This keeps ``rsa-lineardyn --help`` fast; ``from rsa_lineardyn
import X`` and ``dir(rsa_lineardyn)`` work as usual.

Messages of the package go to the standard :mod:`logging` logger
``"rsa_lineardyn"`` (:data:`logger`), which has only a ``NullHandler``: a
program decides where they go, e.g. ``logging.basicConfig(level="INFO")``.
The command line shows them on stderr (``--quiet`` hides them, ``--verbose``
adds debug messages).
"""

import importlib as _importlib
import logging as _logging
import sys as _sys
import types as _types

from . import _compat
from ._validation import AssumptionError, InputTypeError, InputValueError, NotFittedError, RSALinearDynError

__version__ = "0.1.0"

#: The package's logger (``logging.getLogger("rsa_lineardyn")``); only a NullHandler by default.
logger = _logging.getLogger("rsa_lineardyn")
logger.addHandler(_logging.NullHandler())

# public name -> submodule that defines it (imported on first access)
_LAZY = {
    "Task": "dynamics.task", "Whitening": "dynamics.task", "whiten": "dynamics.task",
    "Balance": "dynamics.initialization", "balanced_init": "dynamics.initialization", "measure_balance": "dynamics.initialization",
    "task_aligned_init": "dynamics.initialization",
    "Trajectory": "dynamics.trajectory",
    "exact_dynamics": "dynamics.exact", "fixed_point": "dynamics.exact",
    "simulate": "dynamics.simulate",
    "DatasetError": "data.bundled", "data_dir": "data.bundled", "verify_datasets": "data.bundled",
    "load_semantic_task": "data.bundled", "load_92images_rdms": "data.bundled", "load_92images_items": "data.bundled",
    "load_92images_task": "data.bundled",
    "hierarchical_task": "dynamics.synthetic", "random_regression_task": "dynamics.synthetic", "student_teacher_task": "dynamics.synthetic",
    "gram_to_rdm": "representations.geometry", "hidden_rsm": "representations.geometry", "network_output": "representations.geometry",
    "ntk": "representations.geometry", "output_rsm": "representations.geometry", "prediction_rsm": "representations.geometry",
    "representation_gram": "representations.geometry", "trajectory_rdms": "representations.geometry",
    "NTKSeries": "representations.geometry", "ntk_series": "representations.geometry",
    "make_rdms": "representations.rdms", "rdms_from_matrices": "representations.rdms", "task_from_dataframe": "representations.rdms", "to_rdms": "representations.rdms",
    "DegeneracyWarning": "models.network", "LinearNetworkModel": "models.network", "UndefinedFitWarning": "models.network",
    "ConditionOrderWarning": "models.network",
    "compare_model": "models.single_fit", "fit_linear_network": "models.single_fit", "load_results": "models.network",
    "mode_strengths": "models.network", "model_from_dict": "models.network", "score_grid": "models.single_fit",
    "FitResult": "inference.fitting", "fit_rdms": "inference.fitting", "plot_fit_profile": "plotting", "score_matrix": "inference.fitting",
    "feature_rdms": "inference.baselines",
    "HypothesisResult": "inference.hypotheses", "compare_regimes": "inference.hypotheses", "compare_widths": "inference.hypotheses",
    "evaluate_hypotheses": "inference.hypotheses", "plot_hypotheses": "plotting", "regime_models": "inference.hypotheses",
    "width_models": "inference.hypotheses",
    "progress_bars": "_log",
}

#: Submodules reachable as attributes (``rsa_lineardyn.inference.fitting``) without an explicit import.
_SUBMODULES = frozenset({"cli", "data", "demos", "dynamics", "inference", "models", "plotting", "representations"})

# the flat module paths of older releases (``rsa_lineardyn.fitting``, ...) resolve to their new homes
_compat.install()

__all__ = [
    "AssumptionError", "InputTypeError", "InputValueError", "NotFittedError", "RSALinearDynError",
    "Task", "Whitening", "whiten",
    "Balance", "balanced_init", "measure_balance", "task_aligned_init",
    "Trajectory", "exact_dynamics", "fixed_point", "simulate",
    "DatasetError", "data_dir", "verify_datasets", "load_semantic_task",
    "load_92images_rdms", "load_92images_items", "load_92images_task",
    "hierarchical_task", "random_regression_task", "student_teacher_task",
    "gram_to_rdm", "hidden_rsm", "network_output", "ntk", "output_rsm", "prediction_rsm", "representation_gram",
    "trajectory_rdms", "NTKSeries", "ntk_series",
    "make_rdms", "rdms_from_matrices", "task_from_dataframe", "to_rdms",
    "DegeneracyWarning", "UndefinedFitWarning", "ConditionOrderWarning", "LinearNetworkModel", "compare_model", "fit_linear_network", "load_results",
    "mode_strengths", "model_from_dict", "score_grid",
    "FitResult", "fit_rdms", "plot_fit_profile", "score_matrix",
    "HypothesisResult", "compare_regimes", "compare_widths", "evaluate_hypotheses", "plot_hypotheses",
    "regime_models", "width_models", "feature_rdms",
    "logger", "progress_bars",
]


def __getattr__(name):
    """Import a public name's module on first access (PEP 562)."""
    if name in _LAZY:
        value = getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later accesses skip this function
        return value
    if name in _SUBMODULES or name in _compat.OLD_PATHS:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(_types.ModuleType):
    """Module type of the package: ``simulate`` is the function, although a submodule has its name.

    Importing the submodule ``rsa_lineardyn.simulate`` (which other modules do) makes the import
    system set the package attribute ``simulate`` to the submodule; this property keeps the public
    name bound to the function, as the eager ``from .dynamics.simulate import simulate`` did.
    """

    @property
    def simulate(self):
        from .dynamics.simulate import simulate

        return simulate

    @simulate.setter
    def simulate(self, value):
        pass  # the import system storing the submodule: ignored (it stays in sys.modules)


_sys.modules[__name__].__class__ = _Package


def __dir__():
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
