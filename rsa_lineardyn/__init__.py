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

__version__ = "0.1.0"

__all__ = [
    "AssumptionError", "InputTypeError", "InputValueError", "RSALinearDynError",
    "Task", "Whitening", "whiten",
    "Balance", "balanced_init", "measure_balance", "task_aligned_init",
    "Trajectory", "exact_dynamics", "fixed_point", "simulate",
]
