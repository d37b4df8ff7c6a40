"""The code of the command line's ``demo`` and ``figure1`` (and of the thin scripts in ``examples/``).

* :mod:`rsa_lineardyn.demos.figure1`: Figure 1, gradient descent against the exact solution
  (``rsa-lineardyn figure1``, ``python examples/figure1.py``).
* :mod:`rsa_lineardyn.demos.semantic_development`: hidden representations of the semantic hierarchy over
  learning, rich vs lazy, bottleneck vs wide (``rsa-lineardyn demo``,
  ``python examples/semantic_development.py``).

Both live in the package so that every install (wheel, ``pip install .``) can run them.
"""
