"""Stage 6: fit and inference, around one scorer.

``design`` (which RDM belongs to which subject, stage and unit; the candidate grid), ``scorer`` (the ONE
scorer: data RDMs x predicted trajectory x stage map -> scores, used by every fit and test), ``intervals``,
``crossval`` (leave-one-subject-out scores, jackknife tests, noise ceiling), ``baselines`` (the feature
model), ``fitting`` (:func:`~rsa_lineardyn.fit_rdms`), ``hypotheses``
(:func:`~rsa_lineardyn.evaluate_hypotheses`, ``compare_*``), ``multiplicity`` (family-wise corrected p-values) and ``recovery`` (parameter-recovery studies).
Imports the layers below it only.
"""

_MODULES = frozenset({"baselines", "crossval", "design", "fitting", "hypotheses", "intervals", "multiplicity",
                      "recovery", "rois", "scorer", "settings"})


def __getattr__(name):
    """``rl.inference.fitting.FLAT_TOL`` and the like work without importing the module first (imported on use)."""
    if name in _MODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
