"""Seeded random lambda-balanced starts and the LRU caches of the engines over them.

``_base_draws`` gives the scale- and lam-free part of ``n_draws`` successive ``balanced_init`` draws;
``_DrawEngine`` holds what the engines over such draws share (settings, LRU caches bounded by entries and by
bytes).  Used by :class:`rsa_lineardyn.models.engines._AverageEngine` and
:class:`rsa_lineardyn.models.random_starts._RandomStartEngine`; pure numerical code.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..dynamics.initialization import _random_orthogonal


def _lru_get(cache, key, stats=None, kind=None):
    """``cache[key]`` marked most recently used, or ``None``; counts ``<kind>_hits`` / ``<kind>_misses`` in ``stats``."""
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
    if stats is not None:
        stats[f"{kind}_{'hits' if hit is not None else 'misses'}"] += 1
    return hit


#: Bytes of arrays an engine's LRU caches hold at most (besides their entry counts): per-draw states and controls
#: are ``n_draws x n_in x ...`` (tens of MB each at 1000 one-hot items), so a count alone would let them grow to GBs.
_CACHE_BYTES = 128 * 2**20


def _nbytes(value):
    """Bytes of the numpy arrays in ``value`` (an array, or tuples / lists of them, nested)."""
    if isinstance(value, np.ndarray):
        return 0 if value.base is not None and value.strides and 0 in value.strides else value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 0


def _lru_put(cache, key, value, size, max_bytes=_CACHE_BYTES):
    """Store ``value`` under ``key``, evicting the least recently used entries beyond ``size`` entries or
    ``max_bytes`` bytes of arrays (the new entry always stays); returns ``value``."""
    sizes = cache.__dict__.setdefault("_nbytes", {})  # bytes per key, counted once (not at every put)
    cache[key] = value
    sizes[key] = _nbytes(value)
    while len(cache) > size:
        sizes.pop(cache.popitem(last=False)[0], None)
    if max_bytes is not None:
        total = sum(sizes.get(k, 0) for k in cache)
        while total > max_bytes and len(cache) > 1:
            total -= sizes.pop(cache.popitem(last=False)[0], 0)
    return value


def _base_draws(task, n_hidden, n_draws, seed, antithetic=False):
    """Scale- and lam-free part ``(U, a, V, R)`` of ``n_draws`` successive ``balanced_init`` draws.

    The same random stream as ``n_draws`` calls of
    ``rl.balanced_init(n_in, n_hidden, n_out, lam, scale, seed=rng)`` with
    ``rng = np.random.default_rng(seed)``: a draw at ``(lam, scale)`` is
    ``_assemble(U, V, R, a * scale**2, lam, ...)``.

    ``antithetic=True``: the first ``p = ceil(n_draws / 2)`` draws of that stream, then the antithetic partners
    ``(-U, a, V, R)`` of the first ``n_draws - p`` of them (the start ``(W1, -W2)``: also lambda-balanced, with
    the same balance, and equally likely, since the law of ``balanced_init`` is invariant under ``W2 -> -W2``).
    Draw ``k < n_draws - p`` and draw ``k + p`` form a pair; every draw still has the law of ``balanced_init``.
    """
    h = n_hidden
    rng = np.random.default_rng(seed)
    base = []
    if antithetic:
        p = (n_draws + 1) // 2
        base = _base_draws(task, n_hidden, p, seed)
        return base + [(-U, a, V, R) for U, a, V, R in base[: n_draws - p]]
    for _ in range(n_draws):
        G1 = rng.standard_normal((h, task.n_in))
        G2 = rng.standard_normal((task.n_out, h))
        U, a, Vt = np.linalg.svd(G2 @ G1, full_matrices=True)
        R = _random_orthogonal(h, rng, max(min(h, task.n_in), min(h, task.n_out)))  # thin: O(h) memory
        base.append((U, a, Vt.T, R))
    return base


class _DrawEngine:
    """What the engines over seeded random starts share: the settings and their LRU caches."""

    def __init__(self, task, n_hidden, representation, rcond, n_draws, seed, cache_size, result_cache_size):
        self.task = task
        self.n_hidden = n_hidden
        self.representation = representation
        self.rcond = rcond
        self.n_draws = n_draws
        self.seed = seed
        self._cache = OrderedDict()  # (lam, scale) -> per-draw factors / state
        self._cache_size = cache_size
        self._results = OrderedDict()  # (lam, scale, tau, times) -> results
        self._result_cache_size = result_cache_size
        self._spectra = OrderedDict()  # lam -> spectrum
