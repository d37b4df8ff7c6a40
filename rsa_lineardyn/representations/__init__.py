"""Stage 4-5: from a trajectory to representational geometry and RDMs.

``geometry`` (hidden and output RSMs, the network function, the NTK), ``rdms`` (adapters to rsatoolbox
``RDMs``), ``descriptors`` (condition, subject and stage labels of RDMs) and ``similarity`` (the RDM
comparison measures on plain arrays).  Imports only :mod:`~rsa_lineardyn.dynamics` below it.
"""

import importlib as _importlib


def __getattr__(name):
    """Names of ``rsa_lineardyn.representations`` when it was one module (now :mod:`.geometry`), for old imports."""
    geometry = _importlib.import_module(".geometry", __name__)
    if name in geometry.__all__:
        return getattr(geometry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
