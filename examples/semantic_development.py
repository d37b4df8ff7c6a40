"""Semantic development: hidden representations of linear networks learning the semantic hierarchy.

A thin script: the code is :mod:`rsa_lineardyn.demos.semantic_development` (inside the package, so every install can run
it; the command line uses it too). Its functions are re-exported here.

Run:  python examples/semantic_development.py [--out-dir out] [--n-times 300] [--force]
"""

import sys

from rsa_lineardyn.demos.semantic_development import *  # noqa: F403  (the demo's functions, e.g. for `import`)
from rsa_lineardyn.demos.semantic_development import main

if __name__ == "__main__":
    sys.exit(main())
