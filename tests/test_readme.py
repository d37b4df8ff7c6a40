"""The README's Python examples run as written (on the bundled data)."""

import re
from pathlib import Path

import matplotlib
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert len(_blocks()) >= 3


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_readme_python_blocks_run_in_order():
    matplotlib.use("Agg")
    namespace = {}
    for i, code in enumerate(_blocks()):
        try:
            exec(compile(code, f"README.md python block {i}", "exec"), namespace)
        except Exception as exc:  # name the block, keep the traceback
            raise AssertionError(f"README python block {i} failed: {exc!r}") from exc
    assert namespace["hyp"].table["dof"].iloc[0] == 3
    assert (namespace["res"].intervals["low"] <= namespace["res"].intervals["estimate"]).all()
