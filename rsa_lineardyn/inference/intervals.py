"""Intervals and verdicts for :func:`rsa_lineardyn.fit_rdms`.

The searched parameter space (``_Space``: axes, edges, profiles, the
interpolated grid optimum every bootstrap sample is estimated by) and the
table of ``parameter, estimate, low, high, level, determined, reason`` rows
built from a point estimate, its bootstrap samples, its profiles and the
estimate under the other assumed start.  ``FLAT_TOL`` and
``format_interval`` are re-exported by :mod:`rsa_lineardyn.inference.fitting`.
"""

from __future__ import annotations

import warnings

import numpy as np

from .design import _nanwmean, aggregate
from .width_test import undistinguished


#: A profile (best score along one parameter, the others optimised) that varies by less than this, in score units,
#: is flat: the data do not determine the parameter.  Shared by ``fit_rdms``, the CLI and the examples.
FLAT_TOL = 1e-3
#: ``n_hidden`` is determined only if the estimate wins at least this fraction of the bootstrap samples.
MAJORITY = 0.8
#: A parameter whose interval covers more than this fraction of its searched range is not determined.
SPREAD_FRACTION = 0.5


_IV_COLS = ["parameter", "estimate", "low", "high", "level", "determined", "reason"]


def format_interval(parameter, estimate, low, high, determined, reason):
    """One line ``name = estimate [low, high] (verdict)``, shared by ``summary()``, the CLI and the examples."""
    iv = f"[{low:.3g}, {high:.3g}]" if np.isfinite(low) and np.isfinite(high) else "[no interval]"
    est = f"{int(estimate)}" if parameter == "n_hidden" else f"{estimate:.4g}"
    verdict = "determined" if determined else f"not determined: {reason}"
    if determined and parameter == "n_hidden" and reason:
        verdict += f"; {reason}"
    return f"{parameter} = {est} {iv} ({verdict})"


class _Space:
    """The searched parameter space: axes (in the coordinates the grid is regular in), edges, profiles."""

    def __init__(self, design, cand_h, cand_lam, cand_ls, lam_vals, lam_free, log10_scales, fit_scale):
        self.d = design
        self.cand_h, self.cand_lam, self.cand_ls = cand_h, cand_lam, cand_ls
        self.lam_vals, self.lam_free = lam_vals, lam_free
        self.log10_scales, self.fit_scale = log10_scales, fit_scale and log10_scales.size > 1
        d = design
        names = ["n_hidden"]
        if lam_free:
            names.append("lam")
        if d.snapshot:
            names.append("time")
        elif d.free:
            names += [f"time[{st}]" for st in d.stages]
        else:
            names.append("rate")
            if d.time_offset:
                names.append("offset")
        if self.fit_scale:
            names.append("scale")
        self.names = names

    # coordinates: lam and offset linear, times / rate / scale log10
    @staticmethod
    def to_axis(p, v):
        return v if p in ("lam", "offset", "n_hidden") else np.log10(np.maximum(v, 1e-300))

    @staticmethod
    def from_axis(p, x):
        return x if p in ("lam", "offset", "n_hidden") else 10.0 ** x

    def grid(self, p, h):
        d = self.d
        if p == "lam":
            return np.asarray(self.lam_vals[h], float)
        if p == "scale":
            return self.log10_scales
        if p == "rate":
            return np.unique(d.tparams[:, 0])
        if p == "offset":
            return np.unique(d.tparams[:, 1])
        return d.lt  # time, time[stage]

    def point(self, sc, gi, prof):
        """Grid optimum of aggregated scores, continuous parameters interpolated (vertex of a parabola)."""
        d = self.d
        c = int(np.argmax(sc))
        out = {"n_hidden": float(self.cand_h[c])}
        same_h = self.cand_h == self.cand_h[c]
        if self.lam_free:
            out["lam"] = _interp_along(sc, c, self.cand_lam, same_h & (self.cand_ls == self.cand_ls[c]))
        if self.fit_scale:
            out["scale"] = 10.0 ** _interp_along(sc, c, self.cand_ls, same_h & (self.cand_lam == self.cand_lam[c]))
        g = int(gi[c, 0])
        if d.snapshot:
            out["time"] = 10.0 ** _interp_along(prof[c], g, d.tparams[:, 0], np.ones(d.tparams.shape[0], bool))
        elif d.free:
            for k, st in enumerate(d.stages):
                out[f"time[{st}]"] = float(d.times[int(gi[c, k]), k])
        else:
            sel = np.ones(d.tparams.shape[0], bool)
            if d.time_offset:
                sel = d.tparams[:, 1] == d.tparams[g, 1]
                out["offset"] = float(d.tparams[g, 1])
            out["rate"] = 10.0 ** _interp_along(prof[c], g, d.tparams[:, 0], sel)
        return out, c

    def profiles(self, R, w, h):
        """Profile (max score over the other parameters, within width ``h``) along each parameter's grid."""
        d = self.d
        in_h = self.cand_h == h
        out = {}
        if d.free:
            stage_prof = []
            for k in range(d.K):
                sel = d.stage_of == k
                stage_prof.append(_nanwmean(R[sel][:, in_h], w[sel]).max(axis=0))  # (G,)
            for k, st in enumerate(d.stages):
                out[f"time[{st}]"] = stage_prof[k]
            sc_c = aggregate(R[:, in_h], w, d.stage_of, d.K, True)[0]
            P = None
        else:
            P = _nanwmean(R[:, in_h], w)  # (C_h, G)
            sc_c = P.max(axis=1)
            if d.snapshot:
                out["time"] = P.max(axis=0)
            else:
                pr = P.max(axis=0)
                rates = np.unique(d.tparams[:, 0])
                out["rate"] = np.array([pr[d.tparams[:, 0] == r].max() for r in rates])
                if d.time_offset:
                    offs = np.unique(d.tparams[:, 1])
                    out["offset"] = np.array([pr[d.tparams[:, 1] == o].max() for o in offs])
        lam_h, ls_h = self.cand_lam[in_h], self.cand_ls[in_h]
        if self.lam_free:
            out["lam"] = np.array([sc_c[lam_h == v].max() for v in np.unique(lam_h)])
        if self.fit_scale:
            out["scale"] = np.array([sc_c[ls_h == v].max() for v in np.unique(ls_h)])
        return out


def _interp_along(score, i, axis, sel):
    """Vertex of the parabola through ``score`` at ``i`` and its two neighbours along ``axis`` (among ``sel``)."""
    idx = np.flatnonzero(sel)
    order = idx[np.argsort(axis[idx], kind="stable")]
    pos = np.flatnonzero(order == i)
    if pos.size == 0:
        return float(axis[i])
    j = int(pos[0])
    if j == 0 or j == order.size - 1:
        return float(axis[i])
    x = axis[order[j - 1: j + 2]].astype(float)
    y = np.asarray(score)[order[j - 1: j + 2]].astype(float)
    if not np.all(np.isfinite(y)) or x[1] == x[0] or x[2] == x[1]:
        return float(axis[i])
    d1 = (y[1] - y[0]) / (x[1] - x[0])
    d2 = (y[2] - y[1]) / (x[2] - x[1])
    curv = (d2 - d1) / (x[2] - x[0])
    if curv >= 0:
        return float(axis[i])
    xv = 0.5 * (x[0] + x[1]) - d1 / (2 * curv)
    return float(np.clip(xv, x[0], x[2]))


def _half_step(grid, x, side):
    """Half the spacing of the grid cell next to ``x`` on ``side`` (-1 below, +1 above); 0 for a 1-point grid."""
    if grid.size < 2:
        return 0.0
    if side < 0:
        i = int(np.clip(np.searchsorted(grid, x, side="left"), 1, grid.size - 1))
    else:
        i = int(np.clip(np.searchsorted(grid, x, side="right"), 1, grid.size - 1))
    return 0.5 * float(grid[i] - grid[i - 1])


def _fmt(v):
    return f"{v:.3g}"


def _intervals_table(space, est, boot, alt, profs, h_best, ci, flat_tol, nh_widths, start_mode, other_init,
                     no_boot_reason, widths_equiv, boot_profs=None, width_test=None):
    """Rows ``parameter, estimate, low, high, level, determined, reason`` for one fit (group or subject).

    est : dict param -> point estimate (the reported, refined value).
    boot : DataFrame of bootstrap estimates (same estimator, interpolated grid optimum) or None.
    alt : dict param -> estimate under the other assumed start, or None.
    profs : dict param -> profile along the parameter's grid (within width ``h_best``).
    boot_profs : list of such dicts, one per bootstrap sample over units (group fits), or None.
    width_test : ``(table or None, why none)`` of :func:`rsa_lineardyn.inference.width_test.width_tests` (group
        fits over several widths), or None (no such test applies: one width, or a subject's own fit).
    """
    from types import SimpleNamespace

    from scipy.stats import norm

    q = (1 - ci) / 2
    ctx = SimpleNamespace(space=space, boot=boot, alt=alt, profs=profs, h_best=h_best, ci=ci, q=q,
                          z=float(norm.ppf(1 - q)), flat_tol=flat_tol, start_mode=start_mode, other_init=other_init,
                          no_boot_reason=no_boot_reason, boot_profs=boot_profs,
                          width_test=width_test)
    rows = []
    for p in space.names:
        if p == "n_hidden":
            rows.append(_width_row(ctx, float(est[p]), np.asarray(nh_widths, float), widths_equiv))
        else:
            rows.append(_continuous_row(ctx, p, float(est[p])))
    return rows


def _width_row(ctx, e, grid, widths_equiv):
    """The interval row of ``n_hidden``: bootstrap quantiles of the chosen width joined with the widths the
    crossvalidated test does not tell apart from it and those within ``flat_tol`` of the best score; determined only
    when that interval is the estimate alone."""
    p, reasons = "n_hidden", []
    if grid.size == 1:
        return dict(parameter=p, estimate=e, low=e, high=e, level=ctx.ci, determined=True, reason="fixed by the user")
    if len(widths_equiv) > 1:
        reasons.append(f"flat profile: widths {widths_equiv} fit within {ctx.flat_tol:g} of the best")
    if ctx.boot is None:
        lo, hi = np.nan, np.nan
        reasons.append(ctx.no_boot_reason)
    else:
        b = ctx.boot[p].to_numpy(float)
        lo = min(float(np.quantile(b, ctx.q, method="inverted_cdf")), e)
        hi = max(float(np.quantile(b, 1 - ctx.q, method="inverted_cdf")), e)
        frac = float(np.mean(b == e))
        if frac < MAJORITY:
            reasons.append(f"bootstrap majority {frac:.0%} < {MAJORITY:.0%} for n_hidden = {int(e)}")
        if grid.size > 2 and lo <= grid.min() and hi >= grid.max():
            reasons.append("bootstrap spread over all searched widths")
    lo, hi = _width_test_reasons(ctx, e, lo, hi, reasons)
    if len(widths_equiv) > 1 and np.isfinite(lo):  # the flat profile's widths, as the profile set joins lam's
        lo, hi = min(lo, float(min(widths_equiv))), max(hi, float(max(widths_equiv)))
    alt = ctx.alt
    if alt is not None and alt.get(p) is not None and alt[p] != e:
        if ctx.start_mode == "widen":
            lo, hi = (min(lo, alt[p]), max(hi, alt[p])) if np.isfinite(lo) else (lo, hi)
        reasons.append(f"depends on the assumed start: init={ctx.other_init!r} gives n_hidden = {int(alt[p])}")
    if not reasons and np.isfinite(lo) and (lo < e or hi > e):
        reasons.append(f"the {ctx.ci:.0%} interval holds n_hidden {int(lo)} to {int(hi)}")
    reasons += _few_boot_reason(ctx, p)
    return dict(parameter=p, estimate=e, low=lo, high=hi, level=ctx.ci, determined=not reasons,
                reason="; ".join(reasons) if reasons else _ok_reason(p, ctx.boot, e, ctx.width_test))


def _width_test_reasons(ctx, e, lo, hi, reasons):
    """Join the widths the crossvalidated test does not tell apart from ``e`` to ``[lo, hi]``; add the reasons."""
    if ctx.width_test is None:
        return lo, hi
    table, why = ctx.width_test
    if table is None:
        reasons.append(why)
        return lo, hi
    for h, diff, pc, better in undistinguished(table, ctx.ci):
        if better:
            reasons.append(f"crossvalidated over subjects, n_hidden = {h} predicts held-out subjects significantly "
                           f"better (difference {diff:+.3g}, Holm p = {pc:.2g})")
        else:
            reasons.append(f"crossvalidated over subjects, n_hidden = {h} is not distinguished from {int(e)} "
                           f"(difference {diff:+.3g}, Holm p = {pc:.2g})")
        if np.isfinite(lo):
            lo, hi = min(lo, h), max(hi, h)
    return lo, hi


def _continuous_row(ctx, p, e):
    """The interval row of ``lam``, a time parameter or the scale: bootstrap quantiles joined with the profile
    set, widened by the other start when asked; the reasons it is not determined."""
    space = ctx.space
    grid = space.grid(p, int(ctx.h_best))
    xe = space.to_axis(p, e)
    gmin, gmax = float(grid.min()), float(grid.max())
    prof = ctx.profs.get(p)
    reasons = _shape_reasons(ctx, p, grid, xe, prof)
    if ctx.boot is None:
        lo = hi = np.nan
        reasons.append(ctx.no_boot_reason)
    else:
        b = space.to_axis(p, ctx.boot[p].to_numpy(float))
        b = b[np.isfinite(b)]
        lo = min(float(np.quantile(b, ctx.q)), xe) if b.size else xe
        hi = max(float(np.quantile(b, 1 - ctx.q)), xe) if b.size else xe
        lo = max(lo - _half_step(grid, lo, -1), gmin)
        hi = min(hi + _half_step(grid, hi, +1), gmax)
    if np.isfinite(lo) and prof is not None and np.isfinite(prof).any() and grid.size == prof.size:
        near = _profile_set(ctx, p, grid, prof)
        if near.size:
            lo = min(lo, max(float(near.min()) - _half_step(grid, float(near.min()), -1), gmin))
            hi = max(hi, min(float(near.max()) + _half_step(grid, float(near.max()), +1), gmax))
    alt = ctx.alt
    if alt is not None and alt.get(p) is not None and np.isfinite(alt[p]):
        xa = space.to_axis(p, alt[p])
        if not (np.isfinite(lo) and lo <= xa <= hi):
            reasons.append(f"depends on the assumed start: init={ctx.other_init!r} gives {p} = {_fmt(alt[p])}")
        if ctx.start_mode == "widen" and np.isfinite(lo):
            lo, hi = min(lo, xa), max(hi, xa)
    reasons += _spread_reasons(p, lo, hi, gmin, gmax) + _few_boot_reason(ctx, p)
    lo_v = space.from_axis(p, lo) if np.isfinite(lo) else np.nan
    hi_v = space.from_axis(p, hi) if np.isfinite(hi) else np.nan
    if np.isfinite(lo_v):  # containment is exact, not up to rounding of the log/exp round trip
        lo_v, hi_v = min(lo_v, e), max(hi_v, e)
    return dict(parameter=p, estimate=e, low=lo_v, high=hi_v, level=ctx.ci, determined=not reasons,
                reason="; ".join(reasons) if reasons else _ok_reason(p, ctx.boot, e))


def _shape_reasons(ctx, p, grid, xe, prof):
    """Why the profile alone says the estimate is not determined: flat, undefined, or at a grid edge."""
    space, reasons = ctx.space, []
    gmin, gmax = float(grid.min()), float(grid.max())
    if prof is not None and np.isfinite(prof).any():
        pspan = float(np.nanmax(prof) - np.nanmin(prof[np.isfinite(prof)]))
        if pspan < ctx.flat_tol:
            reasons.append(f"flat profile: the score varies by {pspan:.2g} < {ctx.flat_tol:g} over the searched "
                           f"{p} range [{_fmt(space.from_axis(p, gmin))}, {_fmt(space.from_axis(p, gmax))}]")
    elif prof is not None:
        reasons.append("flat profile: the score is undefined over the searched range")
    if grid.size > 1:
        nearest = grid[int(np.argmin(np.abs(grid - xe)))]
        if nearest in (grid[0], grid[-1]):
            edge = "lower" if nearest == grid[0] else "upper"
            reasons.append(f"at the {edge} edge of the searched {p} range "
                           f"[{_fmt(space.from_axis(p, gmin))}, {_fmt(space.from_axis(p, gmax))}]")
    return reasons


def _profile_set(ctx, p, grid, prof):
    """Grid values whose profile score is not clearly below the best.

    Within ``flat_tol``, or within z bootstrap standard deviations of its own shortfall (max(prof_b) - prof_b(x)
    over the bootstrap over units; a test inversion that sees how consistently the data prefer the best).  The
    bootstrap of the argmax alone misses flat or skewed profiles (lam at -1: 57-60% coverage).
    """
    short = np.nanmax(prof) - prof
    tol = np.full(grid.size, ctx.flat_tol)
    if ctx.boot_profs:
        B = np.array([bp[p] for bp in ctx.boot_profs if p in bp and np.size(bp[p]) == grid.size], dtype=float)
        if B.shape[0] > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                sd = np.nanstd(np.nanmax(B, axis=1, keepdims=True) - B, axis=0, ddof=1)
            tol = np.maximum(tol, ctx.z * np.where(np.isfinite(sd), sd, 0.0))
    return grid[np.isfinite(prof) & (short <= tol)]


def _spread_reasons(p, lo, hi, gmin, gmax):
    """The interval is wider than SPREAD_FRACTION of the range, or bounded on one side only."""
    span_range = gmax - gmin
    if not (np.isfinite(lo) and span_range > 0):
        return []
    if (hi - lo) > SPREAD_FRACTION * span_range:
        why = (" (the magnitude of lam trades against training time: a larger |lam| on a faster time course predicts "
               "nearly the same geometry; see the documentation's limitations)") if p == "lam" else ""
        return [f"bootstrap interval spans {100 * (hi - lo) / span_range:.0f}% of the searched range{why}"]
    if p != "offset" and (lo <= gmin or hi >= gmax):
        # the data bound the parameter on one side only (e.g. late times of a converged network all look alike)
        side = "upper" if hi >= gmax else "lower"
        return [f"the interval reaches the {side} edge of the searched range: only a one-sided bound"]
    return []


#: Fewest bootstrap samples that may call a parameter "determined" (fewer give quantiles of a handful of values).
MIN_BOOT = 20


def _few_boot_reason(ctx, p):
    """A reason when the bootstrap has too few samples to bound ``p`` (``[]`` otherwise)."""
    n = 0 if ctx.boot is None else len(ctx.boot)
    if ctx.boot is not None and n < MIN_BOOT:
        return [f"only {n} bootstrap sample{'s' if n != 1 else ''}: too few to bound {p} (n_boot >= {MIN_BOOT}; "
                "the default is 100)"]
    return []


def _ok_reason(p, boot, e, width_test=None):
    if p == "n_hidden" and boot is not None:
        why = f"chosen in {float(np.mean(boot[p].to_numpy(float) == e)):.0%} of bootstrap samples"
        if width_test is not None and width_test[0] is not None and len(width_test[0]):
            why += (", better than every other width on held-out subjects (Holm p <= "
                    f"{float(width_test[0]['p_corrected'].max()):.2g})")
        return why
    return "bootstrap interval within the searched range, away from its edges"

