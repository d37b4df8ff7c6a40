"""
Gradient descent against the exact solution
===========================================

A two-layer linear network with ``N_h = 2`` hidden units learns a 3-input, 3-output task from small
lambda-balanced weights, for three balances ``lam`` in {-1, 0, 1}.  Every entry of
``QQ^T`` (``Q = [W1^T; W2]``) is one curve: coloured for gradient descent (learning rate 0.01),
black dotted for the exact solution (:func:`rsa_lineardyn.exact_dynamics`).  The key on the right says
which colour is which entry (blues: ``W1^T W1``, oranges: ``W2 W1``, greens: ``W2 W2^T``).  Time is in
units of the time constant ``tau`` (gradient-descent step ``k`` is at ``t = k lr tau``).

The same figure from the command line: ``rsa-lineardyn figure1 --out-dir out``.
"""

# %%
# Draw the figure.  :func:`rsa_lineardyn.demos.figure1.make_figure` runs gradient descent at the learning
# rate ``lr``, ``lr/2`` and ``lr/4`` from the same start and compares each run with the exact solution.
import numpy as np

from rsa_lineardyn.demos.figure1 import make_figure

fig, deviations = make_figure(lr=0.01)

# %%
# How close is gradient descent to the exact solution?  The largest deviation over all entries and times
# shrinks linearly with the learning rate (gradient descent is a first-order method): halving ``lr``
# halves it (ratios near 2).
for lam, (full, half, quarter) in deviations.items():
    print(f"lam = {lam:+g}: lr 0.01: {full:.2e}, lr/2: {half:.2e}, lr/4: {quarter:.2e} "
          f"(ratios {full / half:.2f}, {half / quarter:.2f})")
print(f"largest deviation at lr = 0.01: {max(d[0] for d in deviations.values()):.2e}")
assert np.all([d[0] > d[1] > d[2] for d in deviations.values()])
