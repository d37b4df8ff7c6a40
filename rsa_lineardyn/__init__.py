"""rsa_lineardyn: exact learning dynamics of two-layer linear networks, for RSA.

Data flow: Task -> initial weights -> Trajectory -> representations -> RDMs
-> fit and inference -> tables and figures.

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

from ._validation import AssumptionError, InputTypeError, InputValueError, RSALinearDynError

__version__ = "0.1.0"

#: The package's logger (``logging.getLogger("rsa_lineardyn")``); only a NullHandler by default.
logger = _logging.getLogger("rsa_lineardyn")
logger.addHandler(_logging.NullHandler())

# public name -> submodule that defines it (imported on first access)
_LAZY = {
    "Task": "task", "Whitening": "task", "whiten": "task",
    "Balance": "initialization", "balanced_init": "initialization", "measure_balance": "initialization",
    "task_aligned_init": "initialization",
    "Trajectory": "trajectory",
    "exact_dynamics": "exact", "fixed_point": "exact",
    "simulate": "simulate",
    "DatasetError": "datasets", "data_dir": "datasets", "verify_datasets": "datasets",
    "load_semantic_task": "datasets", "load_92images_rdms": "datasets", "load_92images_items": "datasets",
    "load_92images_task": "datasets",
    "hierarchical_task": "synthetic", "random_regression_task": "synthetic", "student_teacher_task": "synthetic",
    "gram_to_rdm": "representations", "hidden_rsm": "representations", "network_output": "representations",
    "ntk": "representations", "output_rsm": "representations", "prediction_rsm": "representations",
    "representation_gram": "representations", "trajectory_rdms": "representations",
    "NTKSeries": "representations", "ntk_series": "representations",
    "make_rdms": "rsa", "rdms_from_matrices": "rsa", "task_from_dataframe": "rsa", "to_rdms": "rsa",
    "DegeneracyWarning": "model", "LinearNetworkModel": "model", "UndefinedFitWarning": "model",
    "ConditionOrderWarning": "model",
    "compare_model": "fitters", "fit_linear_network": "fitters", "load_results": "model",
    "mode_strengths": "model", "model_from_dict": "model", "score_grid": "fitters",
    "FitResult": "fitting", "fit_rdms": "fitting", "plot_fit_profile": "fitting", "score_matrix": "fitting",
    "feature_rdms": "baselines",
    "RoiFitResult": "rois", "fit_rois": "rois",
    "HypothesisResult": "hypotheses", "compare_regimes": "hypotheses", "compare_widths": "hypotheses",
    "evaluate_hypotheses": "hypotheses", "plot_hypotheses": "hypotheses", "regime_models": "hypotheses",
    "width_models": "hypotheses",
    "progress_bars": "_log",
}

#: Submodules reachable as attributes (``rsa_lineardyn.fitting``) without an explicit import.
_SUBMODULES = frozenset({
    "baselines", "cli", "crossval", "datasets", "demos", "design", "engines", "exact", "fitters", "fitting",
    "hypotheses", "initialization", "intervals", "model", "outputs", "plotting", "random_starts", "recovery",
    "representations", "rois", "rsa", "scoring", "simulate", "synthetic", "task", "trajectory",
})

__all__ = [
    "AssumptionError", "InputTypeError", "InputValueError", "RSALinearDynError",
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
    "FitResult", "fit_rdms", "plot_fit_profile", "score_matrix", "RoiFitResult", "fit_rois",
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
    if name in _SUBMODULES:
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(_types.ModuleType):
    """Module type of the package: ``simulate`` is the function, although a submodule has its name.

    Importing the submodule ``rsa_lineardyn.simulate`` (which other modules do) makes the import
    system set the package attribute ``simulate`` to the submodule; this property keeps the public
    name bound to the function, as the eager ``from .simulate import simulate`` did.
    """

    @property
    def simulate(self):
        from .simulate import simulate

        return simulate

    @simulate.setter
    def simulate(self, value):
        pass  # the import system storing the submodule: ignored (it stays in sys.modules)


_sys.modules[__name__].__class__ = _Package


def __dir__():
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
