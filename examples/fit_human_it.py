"""
Fitting human IT and similarity judgements
==========================================

Which linear network, balance and training time best match the human IT RDM of the 92 images
(Kriegeskorte et al. 2008)?  And does a learning network explain the IT RDMs and the similarity
judgements (Mur et al. 2013) better than the category structure alone, or than a flexible feature model?

The network learns the images' category structure (:func:`rsa_lineardyn.load_92images_task`: one-hot
images -> the category tree), and its hidden-layer RDM over training is compared with the data.  The code
is :mod:`rsa_lineardyn.demos.fit_human_it`; ``python -m rsa_lineardyn.demos.fit_human_it --out-dir out``
runs it at full size (100 bootstrap samples, widths 1-6 and wide in the tests) and writes the figures and
tables.  Here the settings are small, to keep the documentation build short: 20 bootstrap samples (over
images) for the intervals of the fit, a coarser landscape grid and the widths 1, 2, 4 and wide in the tests.
"""

# %%
# The data and one model per hidden width.  Each :class:`rsa_lineardyn.LinearNetworkModel` predicts the
# expected hidden RDM over random lambda-balanced starts (the default ``init="random"``), in the data's
# item order, and has two free parameters: the balance ``lam`` and ``log10`` of the training time.
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import rsa_lineardyn as rl
from rsa_lineardyn.demos import fit_human_it as demo
from rsa_lineardyn.inference.fitting import format_interval

task = rl.load_92images_task()
data = rl.load_92images_rdms("hIT")
models = demo.make_models(task, data, widths=(1, 2, 3, 4, 6))
table = demo.fit_widths(models, data)
with pd.option_context("display.width", 160, "display.float_format", "{:.4g}".format):
    print(table.drop(columns=["method"]).to_string(index=False))

# %%
# The fit landscape of every width: the score (``corr`` with the human IT RDM) over ``lam`` and training
# time, on one colour scale for all widths; the star is the fitted point.  A flat landscape means that
# ``lam`` and the time are not determined by these data.
flat, fig = demo.plot_landscape(models, data, table, None, n_lam=21, n_time=31)

# %%
# The data next to the best network's hidden RDM at a quarter of, at, and at four times the fitted time,
# and at convergence, all as percentiles of the dissimilarities (what ``corr`` compares, up to a monotone map).
best = models[int(table.score.to_numpy().argmax())]
fig = demo.plot_rdms(data, [best], None, flat)

# %%
# Intervals and verdicts: :func:`rsa_lineardyn.fit_rdms` over the same widths, with a bootstrap over the
# images (20 samples here; 100 by default) and every interval widened by a refit under the task-aligned
# start.  Read "not determined" as a range, not a point.
fit = demo.verdicts(task, data, widths=(1, 2, 3, 4, 6), n_boot=20)
for r in fit.intervals.itertuples():
    print(format_interval(r.parameter, r.estimate, r.low, r.high, r.determined, r.reason))

# %%
# Hypothesis tests over subjects (leave one subject out): the network, its width chosen inside each training
# fold among 1, 2, 4 and wide; the animacy model RDM (fixed); the feature model with non-negative weights on
# the task's mode RDMs.  First the similarity judgements of 16 subjects.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", rl.DegeneracyWarning)
    hyp = {key: demo.hypothesis_test(task, rl.load_92images_rdms(which), widths=(1, 2, 4, "wide"))
           for key, (which, _) in demo.HYP_DATA.items()}
demo.print_hypotheses(hyp["behaviour"], demo.HYP_DATA["behaviour"][1])
fig = demo.plot_hypothesis_result(hyp["behaviour"], demo.HYP_DATA["behaviour"][1])

# %%
# The human IT RDMs, 4 subjects with 2 sessions each (the sessions of a subject stay together, so there
# are 3 degrees of freedom).
demo.print_hypotheses(hyp["hit"], demo.HYP_DATA["hit"][1])
fig = demo.plot_hypothesis_result(hyp["hit"], demo.HYP_DATA["hit"][1])
plt.show()
