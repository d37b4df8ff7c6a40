"""Saving and restoring a :class:`~rsa_lineardyn.LinearNetworkModel` as a plain dict (rsatoolbox's ``Result.save``
reads it back as a ``ModelFixed``; :func:`~rsa_lineardyn.model_from_dict` restores it fully); no pickling.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import InputTypeError, InputValueError
from ..dynamics.task import Task
from .notices import DegeneracyWarning


class _SavingMixin:
    """Methods of :class:`~rsa_lineardyn.LinearNetworkModel` (see its module)."""

    # -- saving ------------------------------------------------------------------
    def to_dict(self):
        """A dict that rsatoolbox's ``load_results`` reads back (as ``ModelFixed``) and ours restores fully."""
        spec = {
            "X": self.task.X, "Y": self.task.Y,
            "labels": np.array(self.task.labels), "feature_names": np.array(self.task.feature_names),
            "task_name": self.task.name,
            "n_hidden": self.n_hidden, "representation": self.representation, "measure": self.measure,
            "lam": "free" if self.lam is None else float(self.lam),
            "scale": self.scale, "fit_scale": int(self.fit_scale), "init": self.init, "tau": self.tau,
            "item_order": np.array([self.task.labels[i] for i in self.items]), "label_key": self.label_key,
            "n_draws": self.n_draws, "seed": self.seed, "rcond": self.rcond,
            "degeneracy_rtol": self.degeneracy_rtol,
            "bounds": np.array(self.bounds, dtype=float),
            "theta": "none" if self.theta_ is None else np.asarray(self.theta_, dtype=float),
        }
        blocks = getattr(self, "mc_blocks_", None)  # pooled blocks of draws (evaluate_hypotheses' mc_replicates)
        if blocks is not None and list(blocks) != [self.seed]:
            spec["mc_blocks"] = np.array([int(b) for b in blocks], dtype=np.int64)
        # an unfitted model is stored with its prediction at default_theta (rsatoolbox reads this RDM back)
        rdm = self.predict_rdm(self.default_theta if self.theta_ is None else None).to_dict()
        return {"rdm": rdm, "name": self.name, "type": "ModelFixed", "rsa_lineardyn": spec}

    @classmethod
    def from_dict(cls, model_dict):
        """Rebuild a model from :meth:`to_dict` output (also after an hdf5 or pickle round trip)."""
        spec = model_dict.get("rsa_lineardyn") if isinstance(model_dict, dict) else None
        if spec is None:
            raise InputValueError("`model_dict` was not written by LinearNetworkModel.to_dict (no 'rsa_lineardyn' key).")
        if not isinstance(spec, dict):
            raise InputTypeError(f"`model_dict['rsa_lineardyn']` must be a dict, got {type(spec).__name__}.")
        try:
            return cls._from_spec(model_dict, spec)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise InputValueError(
                f"`model_dict` is not a complete LinearNetworkModel.to_dict() record ({type(exc).__name__}: "
                f"{str(exc)[:200]}); it was damaged or written by another version. Re-save the model with to_dict()."
            ) from None

    @classmethod
    def _from_spec(cls, model_dict, spec):
        g = lambda k: _scalar(spec[k])  # noqa: E731
        task = Task(np.asarray(spec["X"]), np.asarray(spec["Y"]), labels=[str(x) for x in spec["labels"]],
                    feature_names=[str(x) for x in spec["feature_names"]], name=str(g("task_name")))
        lam = g("lam")
        lam = None if isinstance(lam, str) else float(lam)
        bounds = np.asarray(spec["bounds"], dtype=float)
        i = 0
        lam_b = None
        if lam is None:
            lam_b = tuple(bounds[0])
            i = 1
        t_b = tuple(bounds[i])
        fit_scale = bool(int(g("fit_scale")))
        sc_b = tuple(bounds[i + 1]) if fit_scale else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegeneracyWarning)
            model = cls(task, int(g("n_hidden")), str(g("representation")), str(g("measure")), lam=lam,
                        scale=float(g("scale")), fit_scale=fit_scale, init=str(g("init")), tau=float(g("tau")),
                        item_order=[str(x) for x in spec["item_order"]], label_descriptor=str(g("label_key")),
                        n_draws=int(g("n_draws")), seed=int(g("seed")), rcond=float(g("rcond")),
                        lam_bounds=lam_b, log10_time_bounds=t_b, log10_scale_bounds=sc_b,
                        name=str(_scalar(model_dict["name"])), degeneracy_rtol=float(g("degeneracy_rtol")))
        if "mc_blocks" in spec:
            _pool_blocks(model, [int(b) for b in np.atleast_1d(np.asarray(spec["mc_blocks"]))])
        theta = spec["theta"]
        if not isinstance(_scalar(theta), str):
            model.theta_ = np.atleast_1d(np.asarray(theta, dtype=float))
        return model


def _pool_blocks(model, seeds):
    """``model`` predicting the mean over blocks of ``n_draws`` draws with these ``seeds`` (as the hypothesis tests'
    pooled models do), its own draws' engine reused for its own seed."""
    from collections import OrderedDict

    from .random_starts import _PooledEngine

    make = type(model._engine)  # the model's own kind of random-start engine, over the draws of another seed
    engines = [model._engine if s == model.seed else make(
        model.task, model.n_hidden, model.representation, model.rcond, model.n_draws, s) for s in seeds]
    model._engine = _PooledEngine(engines)
    model._pred_cache = OrderedDict()
    model.mc_blocks_ = list(seeds)


def _scalar(v):
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return v.item()
    if isinstance(v, bytes):
        return v.decode()
    return v
