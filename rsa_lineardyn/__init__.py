"""rsa_lineardyn: exact learning dynamics of two-layer linear networks, for RSA.

Data flow: Task -> initial weights -> Trajectory -> representations -> RDMs
-> fit and inference -> tables and figures.
"""

from ._validation import AssumptionError, InputTypeError, InputValueError, RSALinearDynError
from .task import Task, Whitening, whiten
from .initialization import Balance, balanced_init, measure_balance, task_aligned_init
from .trajectory import Trajectory
from .exact import exact_dynamics, fixed_point
from .simulate import simulate
from .datasets import (
    DatasetError, data_dir, verify_datasets, load_semantic_task,
    load_92images_rdms, load_92images_items, load_92images_task,
)
from .synthetic import hierarchical_task, random_regression_task, student_teacher_task
from .representations import NTKSeries, gram_to_rdm, hidden_rsm, network_output, ntk, ntk_series, output_rsm, prediction_rsm, representation_gram, trajectory_rdms
from .rsa import make_rdms, rdms_from_matrices, task_from_dataframe, to_rdms
from .model import DegeneracyWarning, LinearNetworkModel, UndefinedFitWarning, compare_model, fit_linear_network, load_results, mode_strengths, model_from_dict, score_grid
from .fitting import FitResult, fit_rdms, plot_fit_profile, score_matrix
from .baselines import feature_rdms
from .hypotheses import HypothesisResult, compare_regimes, compare_widths, evaluate_hypotheses, plot_hypotheses, regime_models, width_models

__version__ = "0.1.0"

__all__ = [
    "AssumptionError", "InputTypeError", "InputValueError", "RSALinearDynError",
    "Task", "Whitening", "whiten",
    "Balance", "balanced_init", "measure_balance", "task_aligned_init",
    "Trajectory", "exact_dynamics", "fixed_point", "simulate",
    "DatasetError", "data_dir", "verify_datasets", "load_semantic_task",
    "load_92images_rdms", "load_92images_items", "load_92images_task",
    "hierarchical_task", "random_regression_task", "student_teacher_task",
    "gram_to_rdm", "hidden_rsm", "network_output", "ntk", "output_rsm", "prediction_rsm", "representation_gram",
    "trajectory_rdms", "ntk_series", "NTKSeries",
    "make_rdms", "rdms_from_matrices", "task_from_dataframe", "to_rdms",
    "DegeneracyWarning", "UndefinedFitWarning", "LinearNetworkModel", "compare_model", "fit_linear_network", "load_results",
    "mode_strengths", "model_from_dict", "score_grid",
    "FitResult", "fit_rdms", "plot_fit_profile", "score_matrix",
    "HypothesisResult", "compare_regimes", "compare_widths", "evaluate_hypotheses", "plot_hypotheses",
    "regime_models", "width_models", "feature_rdms",
]
