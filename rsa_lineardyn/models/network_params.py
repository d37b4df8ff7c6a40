"""Parameters of a :class:`~rsa_lineardyn.LinearNetworkModel`: the bounds of ``lam``, time and scale, and ``theta`` read
back into (lam, scale, time) with its checks.
"""

from __future__ import annotations

import numpy as np

from .._validation import (InputValueError, NotFittedError, check_1d, check_bounds, check_lam, SCALE_RANGE)
from ..dynamics.initialization import check_feasible


class _ParamsMixin:
    """Methods of :class:`~rsa_lineardyn.LinearNetworkModel` (see its module)."""

    # -- parameters ---------------------------------------------------------
    def _make_bounds(self, lam_bounds, t_bounds, sc_bounds):
        task = self.task
        s = task.singular_values
        s_max = float(s[0]) if s.size and s[0] > 0 else 1.0
        m = min(task.n_in, self.n_hidden, task.n_out)
        rel = s[:m][s[:m] > 1e-12 * s_max]
        s_min = float(rel[-1]) if rel.size else s_max
        out = []
        if self.lam is None:
            lam_max = 4.0 * s_max
            lo = -lam_max if self.n_hidden <= task.n_in else 0.0
            hi = lam_max if self.n_hidden <= task.n_out else 0.0
            if lam_bounds is not None:
                lo, hi = _check_bounds(lam_bounds, "lam_bounds")
                check_lam(lo, "lam_bounds[0]"), check_lam(hi, "lam_bounds[1]")
                if lo < 0 and self.n_hidden > task.n_in or hi > 0 and self.n_hidden > task.n_out:
                    lo = 0.0 if self.n_hidden > task.n_in else lo
                    hi = 0.0 if self.n_hidden > task.n_out else hi
                    if lo > hi:
                        raise InputValueError(f"`lam_bounds` contains no feasible lam for n_hidden = {self.n_hidden}.")
            out.append((lo, hi))
        if t_bounds is None:
            a0 = self.scale**2
            lo_t = 1e-3 * self.tau / s_max
            hi_t = self.tau * (np.log(max(s_max / a0, np.e)) + 10.0) / (2.0 * s_min)
            t_bounds = (np.log10(lo_t), np.log10(hi_t))
        lo_t, hi_t = _check_bounds(t_bounds, "log10_time_bounds")
        if hi_t >= 308:
            raise InputValueError(
                f"`log10_time_bounds` = ({lo_t:g}, {hi_t:g}) must stay below 308 (10**308 is the largest finite time)."
            )
        out.append((lo_t, hi_t))
        if self.fit_scale:
            if sc_bounds is None:
                sc_bounds = (np.log10(self.scale) - 2.0, np.log10(self.scale) + 1.0)
            lo_s, hi_s = _check_bounds(sc_bounds, "log10_scale_bounds")
            lim = np.log10(SCALE_RANGE)
            if not (lim[0] < lo_s and hi_s < lim[1]):
                raise InputValueError(
                    f"`log10_scale_bounds` = ({lo_s:g}, {hi_s:g}) must lie inside ({lim[0]:g}, {lim[1]:g}): scales "
                    f"outside {SCALE_RANGE} overflow or underflow (each mode starts at scale**2)."
                )
            out.append((lo_s, hi_s))
        return out

    def _unpack(self, theta):
        """theta -> (lam, scale, time), validated."""
        if theta is None:
            if self.theta_ is None:
                raise NotFittedError(
                    f"model {self.name!r} is not fitted: call model.fit(data) first, or pass theta explicitly "
                    f"({self.n_param} numbers {self.param_names}; model.default_theta is a starting point). "
                    "rsatoolbox's eval_fixed predicts with theta=None: fit the model, or use eval_bootstrap/crossval "
                    "with fitting, or rl.evaluate_hypotheses."
                )
            theta = self.theta_
        th = check_1d(theta, "theta", what=f"numbers {self.param_names}",
                      empty_hint=f"give {self.n_param} numbers {self.param_names}")
        if th.size != self.n_param:
            raise InputValueError(
                f"`theta` must have {self.n_param} entries {self.param_names}, got {th.size}."
            )
        if not np.all(np.isfinite(th)):
            raise InputValueError(f"`theta` must be finite, got {th.tolist()}.")
        i = 0
        if self.lam is None:
            lam = check_lam(float(th[0]), "theta[lam]")
            check_feasible(self.task.n_in, self.n_hidden, self.task.n_out, lam)
            i = 1
        else:
            lam = self.lam
        with np.errstate(over="ignore"):
            time = 10.0 ** th[i]
            scale = 10.0 ** th[i + 1] if self.fit_scale else self.scale
        if not np.isfinite(time):
            raise InputValueError(
                f"`theta`: log10_time = {th[i]:g} gives an infinite time; it must be below 308 (use "
                "rl.fixed_point for the end of learning)."
            )
        lim = np.log10(SCALE_RANGE)
        if self.fit_scale and not lim[0] < th[i + 1] < lim[1]:
            raise InputValueError(
                f"`theta`: log10_scale = {th[i + 1]:g} must lie inside ({lim[0]:g}, {lim[1]:g}); scales outside "
                f"{SCALE_RANGE} overflow or underflow (each mode starts at scale**2)."
            )
        return lam, scale, time

    def params(self, theta=None):
        """The parameters ``theta`` stands for, by name: ``{"lam", "time", "scale"}``.

        ``theta=None`` reads ``theta_`` from the last :meth:`fit` (an unfitted model raises
        :class:`~rsa_lineardyn.NotFittedError`).  Fixed parameters (``lam=...`` at construction,
        ``scale`` without ``fit_scale``) are reported with their fixed values;
        ``time`` is in units of ``tau`` (``10 ** log10_time``).

        Examples
        --------
        >>> import numpy as np, rsa_lineardyn as rl
        >>> task = rl.Task(np.eye(3) * np.sqrt(3), np.diag([3., 2, 1]) * np.sqrt(3))
        >>> rl.LinearNetworkModel(task, n_hidden=2).params([0.5, 1.0])
        {'lam': 0.5, 'time': 10.0, 'scale': 0.1}
        """
        lam, scale, time = self._unpack(theta)
        return {"lam": float(lam), "time": float(time), "scale": float(scale)}


def _check_bounds(b, name):
    return check_bounds(b, name)
