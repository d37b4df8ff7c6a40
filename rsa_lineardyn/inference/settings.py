"""Small settings objects shared by the fitting and testing entry points.

:func:`~rsa_lineardyn.fit_rdms`, :func:`~rsa_lineardyn.evaluate_hypotheses` (and ``compare_*``),
:func:`~rsa_lineardyn.fit_rois` and the command line take the same options under the same names, as plain keyword
arguments (scikit-learn's convention).  Their defaults live in exactly one place, the entry point's signature
(the command line reads them from there, see :mod:`rsa_lineardyn.cli.options`).  Once checked, the options are
grouped here by what they are about, each group checked by one function that every entry point calls:

- :class:`DataReading`: which descriptors of the data RDMs name subjects, stages and conditions, and the order of
  the stages;
- :class:`TimeGrid`: how stages map to training time and how finely time and ``lam`` are searched;
- :class:`Resampling`: bootstrap samples, the interval level and the one seed of the run;
- :class:`Execution`: parallel jobs, their backend and progress bars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._log import stderr_is_terminal
from .._validation import (MAX_BOOT, UNSET, InputValueError, check_bool, check_bounds, check_choice, check_descriptor_name,
                           check_grid_size, check_positive_int, check_real, check_run_options, resolve_random_state)

TIME_MAPS = ("linear", "free")

__all__ = ["DataReading", "TimeGrid", "Resampling", "Execution", "TIME_MAPS"]


@dataclass(frozen=True)
class DataReading:
    """How the data RDMs are read (each ``"auto"``: the one descriptor named so, refused when unclear)."""

    subject_descriptor: object
    stage_descriptor: object
    condition_descriptor: object
    stage_order: object

    @classmethod
    def checked(cls, subject_descriptor, stage_descriptor, condition_descriptor, stage_order):
        check_descriptor_name(subject_descriptor, "subject_descriptor")
        check_descriptor_name(stage_descriptor, "stage_descriptor")
        # condition_descriptor: checked against the data's pattern descriptors (descriptors.condition_key)
        return cls(subject_descriptor, stage_descriptor, condition_descriptor, stage_order)


@dataclass(frozen=True)
class TimeGrid:
    """Stages -> training time (``time_map``, ``time_offset``) and the searched grid of time and ``lam``."""

    time_map: str
    time_offset: bool
    time_bounds: object
    n_times: int
    n_lam: int

    @classmethod
    def checked(cls, time_map, time_offset, time_bounds, n_times, n_lam):
        check_choice(time_map, "time_map", TIME_MAPS)
        if time_bounds is not None:
            time_bounds = check_bounds(time_bounds, "time_bounds", minimum=0, strict_min=True, strict_order=True)
        return cls(time_map, check_bool(time_offset, "time_offset"), time_bounds,
                   check_grid_size(n_times, "n_times", minimum=3), check_grid_size(n_lam, "n_lam"))


@dataclass(frozen=True)
class Resampling:
    """Bootstrap samples, interval level and the run's one seed (``rng``: bootstrap and folds; ``draw_seed``:
    the Monte-Carlo draws of the expected geometry; ``random_state``: what results record)."""

    n_boot: int
    ci: float
    random_state: object
    draw_seed: int
    rng: np.random.Generator

    @classmethod
    def checked(cls, n_boot, ci, random_state, seed=UNSET, where="this function"):
        n_boot = check_positive_int(n_boot, "n_boot", minimum=0, maximum=MAX_BOOT)
        if n_boot == 1:  # one sample has no spread: every interval would be that sample (or NaN)
            raise InputValueError("`n_boot` must be 0 (no bootstrap) or at least 2 (an interval needs a spread; "
                                  "at least 20 for a verdict, default 100), got 1.")
        ci = check_real(ci, "ci", minimum=0, maximum=1, strict_min=True)
        if ci >= 1:
            raise InputValueError(f"`ci` must be below 1, got {ci}.")
        rng, draw_seed, recorded = resolve_random_state(random_state, seed, where)
        return cls(n_boot, ci, recorded, draw_seed, rng)


@dataclass(frozen=True)
class Execution:
    """Parallel jobs (``n_jobs``, ``backend``) and whether progress bars are drawn."""

    n_jobs: int
    backend: object
    progress: bool

    @classmethod
    def checked(cls, n_jobs, backend, progress, subject_descriptor="auto", stage_descriptor="auto"):
        n_jobs, backend, progress = check_run_options(n_jobs, backend, subject_descriptor, stage_descriptor, progress)
        return cls(n_jobs, backend, stderr_is_terminal() if progress is None else progress)
