"""Every numpydoc Example in the package runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import rsa_lineardyn

# every module of every subpackage (the command line's modules hold no Examples; the bundled copies are data)
MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(rsa_lineardyn.__path__, "rsa_lineardyn.")
    if ".cli" not in name and "._bundled" not in name and not name.endswith("__main__")
)


def test_the_walk_reaches_the_subpackages():
    assert {"rsa_lineardyn.inference.fitting", "rsa_lineardyn.dynamics.exact", "rsa_lineardyn.plotting.fits"} <= set(
        MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
