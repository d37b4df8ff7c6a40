"""Every numpydoc Example in the package runs and prints what it says."""

import doctest
import importlib
import pkgutil

import pytest

import rsa_lineardyn

MODULES = sorted(
    name for _, name, _ in pkgutil.iter_modules(rsa_lineardyn.__path__, "rsa_lineardyn.")
    if not name.endswith("cli")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
