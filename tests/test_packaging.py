"""The built wheel carries the bundled data, the example scripts and the licence, and works
installed outside the checkout (issue 12: an editable install hides a wheel that lacks them).

The wheel is built from a copy of the files a build reads (so the checkout gets no ``build/``
folder and concurrent builds do not share one), installed with ``--no-deps`` into a fresh
venv that sees the test venv's dependencies through a ``.pth`` file, and run from a temporary
folder outside the checkout. Building, installing and running take about 20-40 s.
"""

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# what a build reads (pyproject.toml maps datasets/ and examples/ into rsa_lineardyn/_bundled/)
BUILD_INPUTS = ["pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "rsa_lineardyn", "datasets", "examples"]
BUNDLED = "rsa_lineardyn/_bundled"
DIST_INFO = "rsa_lineardyn-"
NETWORK_HINTS = ("No matching distribution", "Could not find a version", "Failed to establish", "NewConnectionError",
                 "Temporary failure in name resolution", "Network is unreachable")


def _source_files(folder):
    """Files under a repository folder, as posix paths relative to it (no caches)."""
    root = REPO / folder
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _can_build_without_isolation():
    """The test venv can build the wheel itself: setuptools >= 68 and a bdist_wheel command."""
    try:
        import setuptools
    except ImportError:
        return False
    try:
        version = tuple(int(x) for x in setuptools.__version__.split(".")[:2])
    except ValueError:
        return False
    if version < (68, 0):
        return False
    # setuptools >= 70.1 has its own bdist_wheel; older ones need the `wheel` package
    return version >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_INPUTS:
        p = REPO / name
        assert p.exists(), f"{name} is missing from the repository"
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(p, src / name)
    dist = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(dist)]
    if _can_build_without_isolation():
        cmd.append("--no-build-isolation")
    # otherwise pip fetches setuptools/wheel from the package index into an isolated build env
    # (the CI venv from `python3 -m venv` has setuptools 65 and no `wheel`)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    res = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        out = res.stdout + res.stderr
        if "--no-build-isolation" not in cmd and any(h in out for h in NETWORK_HINTS):
            pytest.skip("cannot build the wheel offline: this venv lacks setuptools>=68 + wheel for a "
                        "--no-build-isolation build, and the package index (for an isolated build) is "
                        f"unreachable:\n{out[-1500:]}")
        pytest.fail(f"`{' '.join(cmd)}` failed:\n{out[-4000:]}")
    wheels = list(dist.glob("rsa_lineardyn-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contents(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())

        # every bundled data file (data, SHA256SUMS, README, SOURCE.md with provenance and licences)
        data = _source_files("datasets")
        assert "SHA256SUMS" in data and len(data) >= 8
        for rel in data:
            arc = f"{BUNDLED}/datasets/{rel}"
            assert arc in names, f"{arc} missing from the wheel"
            assert zf.read(arc) == (REPO / "datasets" / rel).read_bytes(), f"{arc} differs from datasets/{rel}"
        sources = [n for n in names if n.startswith(f"{BUNDLED}/datasets/") and n.endswith("/SOURCE.md")]
        assert len(sources) >= 2

        # the manifest matches the copies in the wheel
        for line in zf.read(f"{BUNDLED}/datasets/SHA256SUMS").decode().splitlines():
            if line.strip():
                digest, rel = line.split(maxsplit=1)
                rel = rel.lstrip("*")
                assert hashlib.sha256(zf.read(f"{BUNDLED}/datasets/{rel}")).hexdigest() == digest, rel

        # the example scripts the CLI runs (demo, figure1) and the others
        examples = [r for r in _source_files("examples") if r.endswith(".py")]
        assert {"figure1.py", "semantic_development.py"} <= set(examples)
        for rel in examples:
            assert f"{BUNDLED}/examples/{rel}" in names, f"examples/{rel} missing from the wheel"

        # every module of the package itself (a subpackage missing from pyproject's list shows here)
        for rel in _source_files("rsa_lineardyn"):
            if rel.endswith(".py"):
                assert f"rsa_lineardyn/{rel}" in names, f"rsa_lineardyn/{rel} missing from the wheel"

        # the licence, in the metadata
        licence = [n for n in names if n.startswith(DIST_INFO) and n.endswith("/LICENSE")]
        assert licence, "LICENSE missing from the wheel's .dist-info"
        assert zf.read(licence[0]) == (REPO / "LICENSE").read_bytes()
        meta = zf.read(next(n for n in names if n.startswith(DIST_INFO) and n.endswith("/METADATA"))).decode()
        assert "License-File: LICENSE" in meta

        # nothing but the package and its metadata at the top level (no stray datasets/, tests/ ...)
        tops = {n.split("/", 1)[0] for n in names}
        assert tops == {"rsa_lineardyn", next(t for t in tops if t.startswith(DIST_INFO))}, tops
        assert "rsa-lineardyn = rsa_lineardyn.cli:main" in zf.read(
            next(n for n in names if n.endswith("/entry_points.txt"))).decode()


def _fresh_venv(where):
    """A venv without pip whose site-packages comes first and then sees this venv's packages."""
    venv.EnvBuilder(with_pip=False, symlinks=(os.name != "nt")).create(where)
    py = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    parents = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    # a path line in a .pth is appended to sys.path after the venv's own site-packages, and .pth files
    # inside it (such as the editable install's finder) are not run: the wheel's copy is the one imported
    (Path(site) / "_parent_venv.pth").write_text("\n".join(sorted(parents)) + "\n")
    return py


def test_installed_wheel_works_outside_checkout(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    py = _fresh_venv(env_dir)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "RSA_LINEARDYN_DATA", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    env["MPLBACKEND"] = "Agg"
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                          "--no-index", str(wheel)], env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr

    work = tmp_path / "elsewhere"  # outside the checkout
    work.mkdir()
    script = (
        "import rsa_lineardyn as rl, rsa_lineardyn.cli.common as cli\n"
        "from pathlib import Path\n"
        f"venv = Path({str(env_dir.resolve())!r})\n"
        "pkg = Path(rl.__file__).resolve().parent\n"
        "assert venv in pkg.parents, pkg\n"
        "assert rl.data_dir() == pkg / '_bundled' / 'datasets', rl.data_dir()\n"
        "assert cli.EXAMPLES_DIR == pkg / '_bundled' / 'examples', cli.EXAMPLES_DIR\n"
        "rl.verify_datasets()\n"
        "t = rl.load_semantic_task(); assert t.X.shape[1] == 8, t\n"
        "t = rl.load_92images_task(); assert t.X.shape[1] == 92, t\n"
        "print('ok')\n"
    )
    res = subprocess.run([str(py), "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stdout + res.stderr

    exe = env_dir / ("Scripts/rsa-lineardyn.exe" if os.name == "nt" else "bin/rsa-lineardyn")
    assert exe.exists(), "the console script was not installed"
    res = subprocess.run([str(exe), "figure1", "--out-dir", str(work / "out")], cwd=work, env=env,
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (work / "out" / "figure1.png").stat().st_size > 10_000
