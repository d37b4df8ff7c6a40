"""
Semantic development in rich and lazy networks
==============================================

Two-layer linear networks with a bottleneck (``N_h`` = 1, 2, 3) or a wide hidden layer (``N_h`` = 16)
learn the 8-item semantic hierarchy (Rumelhart & Todd 1993; McClelland & Rogers 2003;
:func:`rsa_lineardyn.load_semantic_task`) in the rich regime (small initial weights: modes are learned
one after the other, strongest first) and in two lazy regimes (a large balance ``|lam|``: all modes are
learned together).

The code is :mod:`rsa_lineardyn.demos.semantic_development` (inside the package, so every install runs it:
``rsa-lineardyn demo --out-dir out`` writes these figures at full resolution, 300 time points).  Here the
time axis has 120 points, to keep the documentation build short.
"""

# %%
# Compute the exact trajectories for every regime and width, from the task-aligned start, and the expected
# geometry over random lambda-balanced starts (the package's default model).
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rsa_lineardyn.demos import semantic_development as demo

res = demo.compute(widths=(1, 2, 3, 16), n_times=120)
print("singular values of Syx (strengths of the task's modes):", np.round(res["s"], 3))

# %%
# When is each mode learned?  Time to half strength of each mode (rows), for each regime and width
# (columns); ``inf``: never learned (a bottleneck of ``N_h`` units learns only the ``N_h`` strongest modes).
table = res["table"]
half = table.pivot_table(index="mode", columns=["regime", "n_hidden"], values="half_time")
with pd.option_context("display.width", 160, "display.float_format", "{:.3g}".format):
    print(half.reindex(range(1, res["s"].size + 1)).fillna(np.inf).to_string())

# %%
# Hidden RDMs over learning, rich regime.  Rows "aligned": the task-aligned start (the modes are present,
# tiny, at ``t = 0``); last row: the expected RDM over random starts of the wide network, which begins
# undifferentiated.  Every panel is on one colour scale, so the growth of the distances is visible:
# plants vs animals first, then birds vs fish and trees vs flowers, then the items.
fig = demo.plot_snapshots(res, "rich", None)

# %%
# Lazy regime with ``lam > 0``: every mode is learned at once, on one time scale ``~ 1/|lam|``, and the
# hidden layer stays small.
fig = demo.plot_snapshots(res, "lazy_pos", None)

# %%
# Singular values of ``W2 W1(t)`` (solid) against those of ``Syx`` (dashed), the time at which each mode
# reaches half its final strength (dots), and (right) that half time against the mode's strength, with the
# closed form.
fig = demo.plot_modes(res, None)

# %%
# Mean hidden distance between items that differ at each level of the hierarchy, over training time
# (solid: task-aligned start; dashed: expected over random starts; grey dotted: mean RSM diagonal, right
# axis).  The axes start at zero.  Rich learning differentiates the levels one after the other (stage-like);
# lazy learning differentiates them together.
fig = demo.plot_trajectories(res, None)

# %%
# Check the theory against a simulation: gradient flow (``rl.simulate(..., method="flow")``) and the exact
# solution give the same hidden RSM.
dev = demo.simulation_check(res["task"], n_hidden=3)
print(f"largest relative deviation, hidden RSM, gradient flow vs exact: {dev:.1e}")
plt.show()
