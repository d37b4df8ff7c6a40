"""Warnings of the model layer (defined below :mod:`.network` and :mod:`.single_fit`, which both raise them)."""

__all__ = ["DegeneracyWarning", "ConditionOrderWarning", "UndefinedFitWarning"]


class DegeneracyWarning(UserWarning):
    """``Syx`` has (near-)degenerate singular values where the hidden width cuts the spectrum."""


class ConditionOrderWarning(UserWarning):
    """A prediction whose condition order was not given: rsatoolbox compares by position."""


class UndefinedFitWarning(UserWarning):
    """The fitter's score is undefined for every candidate (constant data or predictions on the given pairs)."""
