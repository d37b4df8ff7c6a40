"""The README: short, its two commands as CI runs them, its links and figure resolve, its Python runs as written."""

import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: The two commands of the quick start: the main job on the bundled data, and the tests (.ci/run runs the
#: latter's pytest call; the wheel step runs the former's demo).
COMMANDS = [
    'python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/rsa-lineardyn demo --out-dir out',
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest -q',
]


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_is_short_and_has_the_two_commands():
    text = README.read_text()
    assert len(text.encode()) <= 12 * 1024, "the README grew past 12 KB: move detail into docs/"
    for command in COMMANDS:
        assert f"\n{command}\n" in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert ".venv/bin/python -m pytest -q" in ci and "rsa-lineardyn\" demo --out-dir out" in ci


def test_readme_links_and_its_one_figure_resolve():
    text = README.read_text()
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link for link in links if not link.startswith(("http://", "https://", "#"))]
    assert local, "the README links into the docs"
    for link in local:
        assert (ROOT / link).exists(), f"README links to {link}, which does not exist"
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)
    assert len(images) == 1 and images[0].startswith("docs/figures/")  # the same file the docs' landing page shows
    assert images[0].removeprefix("docs/") in (ROOT / "docs" / "index.rst").read_text()
    for page in ("docs/guide/width.rst", "docs/guide/regime.rst", "docs/guide/timecourse.rst",
                 "docs/guide/certainty.rst", "docs/performance.rst", "docs/tutorial_src/fit_your_own_rdms.py"):
        assert f"({page})" in text, f"the README does not link {page}"


def test_readme_has_python_examples():
    assert len(_blocks()) >= 3


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch):
    import tempfile

    matplotlib.use("Agg")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the own-data stand-in file lands here
    namespace = {}
    for i, code in enumerate(_blocks()):
        try:
            exec(compile(code, f"README.md python block {i}", "exec"), namespace)
        except Exception as exc:  # name the block, keep the traceback
            raise AssertionError(f"README python block {i} failed: {exc!r}") from exc
    assert namespace["hyp"].table["dof"].iloc[0] == 3
    assert (namespace["res"].intervals["low"] <= namespace["res"].intervals["estimate"]).all()
    assert namespace["res"].settings["subject_descriptor"] == "participant_id"
    assert namespace["rdms"].n_rdm == 51
