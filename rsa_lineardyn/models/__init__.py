"""Stage 5 as rsatoolbox models: predicted RDM trajectories of a network family.

``engines`` (closed-form per-mode dynamics for task-aligned starts, the shared draw machinery),
``random_starts`` (the expected geometry over random lambda-balanced starts), ``network``
(:class:`~rsa_lineardyn.LinearNetworkModel`, an rsatoolbox ``Model``) and ``single_fit`` (one model's fit
and score against RDMs: rsatoolbox's fitter signature).  Imports the layers below it only.
"""
