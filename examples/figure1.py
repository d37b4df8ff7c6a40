"""Figure 1: simulation vs exact solution, N_h = 2, N_i = N_o = 3, lam in {-1, 0, 1}.

A thin script: the code is :mod:`rsa_lineardyn.demos.figure1` (inside the package, so every install can run
it; the command line uses it too). Its functions are re-exported here.

Run:  python examples/figure1.py [--out out/figure1.png] [--lr 0.01] [--force]
"""

import sys

from rsa_lineardyn.demos.figure1 import *  # noqa: F403  (the demo's functions, e.g. for `import`)
from rsa_lineardyn.demos.figure1 import main

if __name__ == "__main__":
    sys.exit(main())
