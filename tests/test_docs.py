"""The documentation's code runs and its pages cover the package (the Sphinx build itself runs in CI, .ci/run).

* The tutorial (``docs/tutorial_src/fit_your_own_rdms.py``, a sphinx-gallery script the docs build runs)
  runs as written and what it tells the reader to look at is there.
* Every ``.. code-block:: python`` of each user-guide page runs as written, in order.
* The API reference lists every public name of the package, by pipeline stage; the gallery covers every
  example script and the landing page shows its thumbnails; every figure a page shows exists.
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


TUTORIAL = DOCS / "tutorial_src" / "fit_your_own_rdms.py"


def test_tutorial_is_a_gallery_script_with_code_and_text():
    import ast

    text = TUTORIAL.read_text()
    doc = ast.get_docstring(ast.parse(text)).splitlines()
    assert doc[0] == "Tutorial: fit your own RDMs" and set(doc[1]) == {"="}
    assert text.count("# %%") >= 10  # text cells between the steps, rendered with the outputs
    assert (DOCS / "tutorial_src" / "GALLERY_HEADER.rst").is_file()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_tutorial_runs_as_the_docs_build_runs_it(capsys, tmp_path, monkeypatch):
    import runpy

    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the tutorial's tempfile.mkdtemp() lands here
    before = set(plt.get_fignums())
    namespace = runpy.run_path(str(TUTORIAL), run_name="__main__")
    figures = [n for n in plt.get_fignums() if n not in before]
    assert len(figures) == 3  # the fit profile and two hypothesis figures, shown under their cells
    plt.close("all")
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


GUIDE = ["width", "regime", "timecourse", "certainty"]


def test_user_guide_has_a_page_per_question():
    index = (DOCS / "guide" / "index.rst").read_text()
    for page in GUIDE + ["setting"]:
        assert f"   {page}" in index, f"docs/guide/{page}.rst is not in the guide's toctree"
    for page in GUIDE:
        assert len(_python_blocks(DOCS / "guide" / f"{page}.rst")) >= 2, f"docs/guide/{page}.rst shows no code"


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("page", GUIDE)
def test_user_guide_code_blocks_run_in_order(page, capsys):
    matplotlib.use("Agg")
    namespace = {}
    for i, code in enumerate(_python_blocks(DOCS / "guide" / f"{page}.rst")):
        try:
            exec(compile(code, f"docs/guide/{page}.rst python block {i}", "exec"), namespace)
        except Exception as exc:  # name the block, keep the traceback
            raise AssertionError(f"docs/guide/{page}.rst python block {i} failed: {exc!r}\n{code}") from exc
    assert namespace["data"].n_rdm == 18  # the stand-in: 6 subjects x 3 stages
    for name in ("hyp", "regimes"):
        if name in namespace:
            assert set(namespace[name].table["dof"]) == {5}
    if "res" in namespace:
        iv = namespace["res"].intervals
        assert ((iv["low"] <= iv["estimate"]) & (iv["estimate"] <= iv["high"])).all()


def test_api_reference_lists_only_public_names():
    """api.rst files public names by topic (docs/conf.py adds any it misses under "Other public names")."""
    text = (DOCS / "api.rst").read_text()
    listed = re.findall(r"^   ([A-Za-z_][A-Za-z0-9_]*)$", text, flags=re.M)
    assert len(listed) == len(set(listed)), "docs/api.rst lists a name twice"
    unknown = sorted(set(listed) - set(rl.__all__))
    assert not unknown, f"docs/api.rst lists {unknown}, which are not in rsa_lineardyn.__all__"
    assert len(set(listed)) >= 0.9 * len(rl.__all__), "most public names should be filed under a topic in api.rst"


def test_api_reference_follows_the_pipeline():
    text = (DOCS / "api.rst").read_text()
    stages = ["1. Task", "2. Initial weights", "3. Trajectory", "4. Representations", "5. RDMs",
              "6. Fit and inference", "7. Tables and figures"]
    where = [text.find(f"\n{s}\n") for s in stages]
    assert all(w > 0 for w in where) and where == sorted(where), "api.rst sections out of pipeline order"


def test_gallery_is_built_from_every_example_and_shown_on_the_landing_page():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    sg = conf.sphinx_gallery_conf
    assert "sphinx_gallery.gen_gallery" in conf.extensions
    assert dict(zip(sg["examples_dirs"], sg["gallery_dirs"])) == {"../examples": "gallery", "tutorial_src": "tutorial"}
    assert sg["abort_on_example_error"] and sg["filename_pattern"] == r".*\.py$"  # every script runs, errors fail
    index = (DOCS / "index.rst").read_text()
    assert ".. minigallery:: ../examples/*.py" in index  # the thumbnails of every example
    for entry in ("tutorial/fit_your_own_rdms", "guide/index", "gallery/index", "api", "performance"):
        assert f"   {entry}\n" in index, f"{entry} is not in the landing page's toctree"
    assert not (DOCS / "tutorial.rst").exists()  # replaced by the executed tutorial_src script


def test_every_figure_a_page_shows_exists():
    pages = list(DOCS.glob("*.rst")) + list((DOCS / "guide").glob("*.rst"))
    for page in pages:
        for fig in re.findall(r"^\.\. (?:image|figure):: (\S+)$", page.read_text(), flags=re.M):
            assert (page.parent / fig).resolve().is_file(), f"{page.name} shows missing {fig}"


def test_performance_page_holds_the_measured_tables():
    text = (DOCS / "performance.rst").read_text()
    for heading in ("Calibration of the inference", "Speed of fits and tests", "Accuracy and speed of the exact solver"):
        assert f"\n{heading}\n" in text
    assert text.count(".. list-table::") >= 6
    for source in ("benchmarks/calibration_inference.py", "benchmarks/inference_speed.py", "benchmarks/run.py"):
        assert source in text, f"the page does not say which script measured its numbers ({source})"


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
