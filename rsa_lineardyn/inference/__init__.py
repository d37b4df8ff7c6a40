"""Stage 6: fit and inference, around one scorer.

``design`` (which RDM belongs to which subject, stage and unit; the candidate grid), ``scorer`` (the ONE
scorer: data RDMs x predicted trajectory x stage map -> scores, used by every fit and test), ``intervals``,
``crossval`` (leave-one-subject-out scores, jackknife tests, noise ceiling), ``baselines`` (the feature
model), ``fitting`` (:func:`~rsa_lineardyn.fit_rdms`), ``hypotheses``
(:func:`~rsa_lineardyn.evaluate_hypotheses`, ``compare_*``), ``multiplicity`` (family-wise corrected p-values) and ``recovery`` (parameter-recovery studies).
Imports the layers below it only.
"""
