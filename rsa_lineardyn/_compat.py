"""The flat module paths of releases before the subpackages, for users' imports and old pickles.

``rsa_lineardyn.fitting`` and friends moved into subpackages by pipeline stage
(``rsa_lineardyn.inference.fitting``, ...).  A finder on :data:`sys.meta_path` answers an import of an old
path with a small alias module that forwards every attribute to the module(s) that now define it, so
``from rsa_lineardyn.model import LinearNetworkModel`` and pickles naming ``rsa_lineardyn.engines`` keep
working.  Nothing inside the package imports an old path (``tests/test_layers.py`` checks it), so the
aliases never take part in the package's own import graph.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

#: old module (below ``rsa_lineardyn.``) -> the modules that now hold its names, searched in order
OLD_PATHS = {
    "task": ("dynamics.task",),
    "synthetic": ("dynamics.synthetic",),
    "initialization": ("dynamics.initialization",),
    "trajectory": ("dynamics.trajectory",),
    "exact": ("dynamics.exact",),
    "simulate": ("dynamics.simulate",),
    "rsa": ("representations.rdms",),
    "descriptors": ("representations.descriptors",),
    "scoring": ("representations.similarity",),
    "datasets": ("data.bundled",),
    "outputs": ("data.files",),
    "engines": ("models.engines", "models.random_starts"),
    "random_starts": ("models.random_starts",),
    "model": ("models.network", "models.single_fit"),
    "fitters": ("models.single_fit",),
    "design": ("inference.design",),
    "scorer": ("inference.scorer",),
    "intervals": ("inference.intervals",),
    "crossval": ("inference.crossval",),
    "baselines": ("inference.baselines",),
    "fitting": ("inference.fitting",),
    "hypotheses": ("inference.hypotheses",),
    "recovery": ("inference.recovery",),
}

_PACKAGE = __name__.rpartition(".")[0]


class _AliasModule(types.ModuleType):
    """An old module path: attribute access reads the first new module that defines the name."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        for target in self.__targets__:
            module = importlib.import_module(f"{_PACKAGE}.{target}")
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self):
        names = set()
        for target in self.__targets__:
            names |= set(dir(importlib.import_module(f"{_PACKAGE}.{target}")))
        return sorted(names)


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``rsa_lineardyn.<old>`` for the names in :data:`OLD_PATHS` (and nothing else)."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, old = fullname.rpartition(".")
        if package != _PACKAGE or old not in OLD_PATHS:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        module = _AliasModule(spec.name, f"Old path of {', '.join(OLD_PATHS[spec.name.rpartition('.')[2]])}.")
        module.__targets__ = OLD_PATHS[spec.name.rpartition(".")[2]]
        return module

    def exec_module(self, module):
        names = []
        for target in module.__targets__:
            names += list(getattr(importlib.import_module(f"{_PACKAGE}.{target}"), "__all__", ()))
        module.__all__ = list(dict.fromkeys(names))


def install():
    """Put the alias finder on :data:`sys.meta_path` (once)."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
