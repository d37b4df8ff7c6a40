"""Stage 1-3 of the pipeline: the task, the initial weights and the learning trajectory.

``task`` (:class:`~rsa_lineardyn.Task`, whitening), ``synthetic`` (task generators), ``initialization``
(lambda-balanced starts), ``trajectory`` (:class:`~rsa_lineardyn.Trajectory`, the one result type of both
solvers), ``exact`` (the exact Riccati solution, any hidden width) and ``simulate`` (gradient descent and
gradient flow, the ground truth).  Imports only :mod:`rsa_lineardyn._validation` and :mod:`rsa_lineardyn._log`.
"""
