"""The documentation's code runs and its pages cover the package (the Sphinx build itself runs in CI, .ci/run).

* Every ``.. code-block:: python`` of ``docs/tutorial.rst`` runs as written, in order, and what the
  tutorial tells the reader to look at is there.
* The API reference lists every public name of the package; the gallery has a page for every example
  script, and every figure it shows exists.
"""

import re
import tempfile
from pathlib import Path

import matplotlib
import pytest

import rsa_lineardyn as rl

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROOT = DOCS.parent


def _python_blocks(path):
    """The bodies of the ``.. code-block:: python`` directives of an rst file, dedented."""
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
                body.append(lines[i])
                i += 1
            indent = min(len(s) - len(s.lstrip()) for s in body if s.strip())
            blocks.append("\n".join(s[indent:] for s in body).strip() + "\n")
        else:
            i += 1
    return blocks


def test_tutorial_has_code():
    assert len(_python_blocks(DOCS / "tutorial.rst")) >= 8


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_tutorial_code_blocks_run_in_order(capsys, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the tutorial's tempfile.mkdtemp() lands here
    namespace = {}
    for i, code in enumerate(_python_blocks(DOCS / "tutorial.rst")):
        try:
            exec(compile(code, f"docs/tutorial.rst python block {i}", "exec"), namespace)
        except Exception as exc:  # name the block, keep the traceback
            raise AssertionError(f"docs/tutorial.rst python block {i} failed: {exc!r}\n{code}") from exc
    out = capsys.readouterr().out
    data, res, hyp = namespace["data"], namespace["res"], namespace["hyp"]
    # the data are what the tutorial says: 8 subjects x 3 stages, read as such
    assert data.n_rdm == 24 and res.settings["bootstrap_over"]
    assert res.subjects["subject"].nunique() == 8
    assert set(res.best["times"]) == {1, 2, 3} and "rate" in res.best
    # every reported parameter has an interval that contains it and a verdict; "not determined" has a reason
    iv = res.intervals
    assert {"n_hidden", "lam", "rate"} <= set(iv["parameter"])
    assert ((iv["low"] <= iv["estimate"]) & (iv["estimate"] <= iv["high"])).all()
    assert (iv.loc[~iv["determined"].astype(bool), "reason"].str.len() > 0).all()
    # tests over subjects: dof = n_subjects - 1, the nested hypothesis and the feature baseline are there
    assert set(hyp.table["dof"]) == {7}
    models = list(hyp.table["model"])
    assert "N_h in {1, 2}" in models and any(m.startswith("feature model") for m in models)
    assert any(m.startswith("feature model") for m in namespace["regimes"].table["model"])
    assert {"bottleneck (N_h <= 2)", "wide network", "plants vs animals"} <= set(namespace["custom"].table["model"])
    # the constants the tutorial's "Reading the verdicts" names are the ones the fit uses
    from rsa_lineardyn.inference import fitting

    assert (fitting.FLAT_TOL, fitting.SPREAD_FRACTION, fitting.MAJORITY) == (1e-3, 0.5, 0.8)
    # what the tutorial prints, the reader sees
    assert "95% intervals" in out and "crossvalidated comparison" in out


def test_api_reference_lists_only_public_names():
    """api.rst files public names by topic (docs/conf.py adds any it misses under "Other public names")."""
    text = (DOCS / "api.rst").read_text()
    listed = re.findall(r"^   ([A-Za-z_][A-Za-z0-9_]*)$", text, flags=re.M)
    assert len(listed) == len(set(listed)), "docs/api.rst lists a name twice"
    unknown = sorted(set(listed) - set(rl.__all__))
    assert not unknown, f"docs/api.rst lists {unknown}, which are not in rsa_lineardyn.__all__"
    assert len(set(listed)) >= 0.9 * len(rl.__all__), "most public names should be filed under a topic in api.rst"


def test_gallery_covers_every_example_and_its_figures_exist():
    gallery = DOCS / "gallery"
    pages = {p.stem: p.read_text() for p in gallery.glob("*.rst") if p.stem != "index"}
    for script in sorted((ROOT / "examples").glob("*.py")):
        assert script.stem in pages, f"examples/{script.name} has no gallery page docs/gallery/{script.stem}.rst"
        assert f"../../examples/{script.name}" in pages[script.stem], f"its page does not include {script.name}"
    index = (gallery / "index.rst").read_text()
    for stem, text in pages.items():
        assert stem in index, f"docs/gallery/{stem}.rst is not in the gallery's toctree"
        for fig in re.findall(r"^\.\. (?:image|figure):: (\S+)$", text, flags=re.M):
            assert (gallery / fig).resolve().is_file(), f"docs/gallery/{stem}.rst shows missing {fig}"


def test_one_version_and_citation_agree():
    """pyproject.toml reads the version from the package; CITATION.cff states the same one."""
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "rsa_lineardyn.__version__"}
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^cff-version: 1\.2\.0$", cff, flags=re.M)
    version = re.search(r"^version: \"?([^\"\n]+)\"?$", cff, flags=re.M)
    assert version and version.group(1) == rl.__version__, "CITATION.cff's version differs from rl.__version__"
    assert "CITATION.cff" in meta["tool"]["setuptools"]["license-files"]  # wheels carry it
