"""Bundled datasets: real files, descriptors, values, and clear errors on bad files."""

from __future__ import annotations

import hashlib
import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import rsa_lineardyn as rl
import rsa_lineardyn.data.bundled  # noqa: F401  (rl.data.bundled below)
from rsa_lineardyn.data.bundled import DATA_ENV_VAR

REPO_DATA = Path(__file__).resolve().parents[1] / "datasets"
SEM = "rumelhart_todd_semantic_8items"
IMG = "kriegeskorte2008_92images"
VENDORED = [
    f"{IMG}/items_92.csv",
    f"{IMG}/rdms_92.npz",
    f"{SEM}/item_by_attribute.csv",
    f"{SEM}/patterns_long.csv",
    f"{SEM}/original/sem_attributes.txt",
    f"{SEM}/original/sem_data.txt",
    f"{SEM}/original/sem_items.txt",
    f"{SEM}/original/sem_relations.txt",
]


def _lines(relpath):
    return [ln.strip() for ln in (REPO_DATA / relpath).read_text().splitlines() if ln.strip()]


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of the datasets folder, selected through the environment variable."""
    root = tmp_path / "data"
    shutil.copytree(REPO_DATA, root)
    for p in root.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    monkeypatch.setenv(DATA_ENV_VAR, str(root))
    # a private copy of the built-in checksums too: _rehash edits it (restored after the test)
    monkeypatch.setattr(rl.data.bundled, "EXPECTED_FILES", dict(rl.data.bundled.EXPECTED_FILES))
    return root


def _rehash(root, relpath):
    """Update the built-in checksum and size and the manifest entry of ``relpath``, as a maintainer who replaces a
    file does (only inside a test, through the ``data_copy`` fixture): the format checks behind the checksum run."""
    manifest = root / "SHA256SUMS"
    data = (root / relpath).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    rl.data.bundled.EXPECTED_FILES[relpath] = (digest, len(data))
    lines = [f"{digest}  {relpath}" if ln.endswith("  " + relpath) else ln for ln in manifest.read_text().splitlines()]
    manifest.write_text("\n".join(lines) + "\n")


def _write_npz(root, **changes):
    path = root / IMG / "rdms_92.npz"
    with np.load(path, allow_pickle=False) as d:
        arrays = {k: d[k] for k in d.files}
    arrays.update(changes)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.write_bytes(buf.getvalue())
    _rehash(root, f"{IMG}/rdms_92.npz")


# ---------------------------------------------------------------------------
# Files, provenance, location
# ---------------------------------------------------------------------------
def test_vendored_files_provenance_and_manifest():
    assert sorted(rl.verify_datasets()) == sorted(VENDORED)
    for folder in (SEM, IMG):
        text = (REPO_DATA / folder / "SOURCE.md").read_text()
        assert "License" in text and "Papers" in text and "vendors" in text
    assert not list(REPO_DATA.rglob("*.mat")), "the big .mat originals are not vendored"
    # the manifest agrees with the files and with the hashes recorded in SOURCE.md
    sem_source = (REPO_DATA / SEM / "SOURCE.md").read_text()
    for rel in VENDORED:
        digest = hashlib.sha256((REPO_DATA / rel).read_bytes()).hexdigest()
        assert f"{digest}  {rel}" in (REPO_DATA / "SHA256SUMS").read_text()
        if "/original/" in rel:
            assert digest in sem_source


def test_data_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    assert rl.data_dir() == REPO_DATA
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(rl.DatasetError, match=f"does not exist.*{DATA_ENV_VAR}"):
        rl.load_semantic_task()
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(rl.DatasetError, match="SHA256SUMS"):
        rl.data_dir()


def test_loaders_are_fast():
    rl.load_92images_rdms("mIT")  # warm up: the first call imports rsatoolbox (seconds, once)
    start = time.perf_counter()
    rl.load_semantic_task()
    rl.load_semantic_task("item_relation")
    rl.load_92images_task()
    for which in ("hIT", "hIT_subject_session", "mIT", "similarity_judgements", "models"):
        rl.load_92images_rdms(which)
    assert time.perf_counter() - start < 5.0  # measured about 0.05 s in total; loose on purpose


# ---------------------------------------------------------------------------
# Semantic hierarchy
# ---------------------------------------------------------------------------
def test_semantic_items_task_is_white_and_labelled():
    task = rl.load_semantic_task()
    assert (task.n_in, task.n_out, task.P) == (8, 36, 8)
    assert task.is_white(tol=1e-12)
    np.testing.assert_allclose(task.X, np.sqrt(8) * np.eye(8))
    assert list(task.labels) == _lines(f"{SEM}/original/sem_items.txt")
    assert list(task.feature_names) == _lines(f"{SEM}/original/sem_attributes.txt")
    assert set(np.unique(task.Y)) == {0.0, 1.0}
    Y = dict(zip(task.feature_names, task.Y))
    assert Y["Living thing"].tolist() == [1] * 8
    assert Y["Plant"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert Y["Bird"].tolist() == [0, 0, 0, 0, 1, 1, 0, 0]
    # shared attributes follow the hierarchy: same pair > same kingdom > across kingdoms
    S = task.Y.T @ task.Y
    pine, oak, rose, robin = (task.labels.index(x) for x in ("Pine", "Oak", "Rose", "Robin"))
    assert S[pine, oak] > S[pine, rose] > S[pine, robin]
    canary, salmon = task.labels.index("Canary"), task.labels.index("Salmon")
    assert S[robin, canary] > S[robin, salmon] > S[robin, pine]


def test_semantic_item_relation_matches_original_file_and_needs_whitening():
    task = rl.load_semantic_task("item_relation")
    raw = np.loadtxt(REPO_DATA / SEM / "original" / "sem_data.txt")
    assert raw.shape == (32, 48)
    np.testing.assert_array_equal(task.X, raw[:, :12].T)
    np.testing.assert_array_equal(task.Y, raw[:, 12:].T)
    assert task.labels[:5] == ("Pine:ISA", "Pine:Is", "Pine:Can", "Pine:Has", "Oak:ISA")
    assert not task.is_white()
    white = rl.whiten(task)
    assert white.is_white() and white.n_in == 11 and white.whitening.dropped == 1
    # the items form is the OR over relations of this form
    items = rl.load_semantic_task()
    merged = task.Y.reshape(36, 8, 4).max(axis=2)
    np.testing.assert_array_equal(merged, items.Y)


def test_semantic_bad_form():
    with pytest.raises(rl.InputValueError, match="`form` must be one of 'items', 'item_relation'"):
        rl.load_semantic_task("relations")


# ---------------------------------------------------------------------------
# 92 images
# ---------------------------------------------------------------------------
CATEGORY_COUNTS = {"human bodypart": 12, "human face": 12, "nonhuman bodypart": 12, "nonhuman face": 12,
                   "natural inanimate": 23, "artificial inanimate": 21}


def test_92_hit_is_mean_of_subject_sessions():
    hit = rl.load_92images_rdms("hIT")
    subs = rl.load_92images_rdms("hIT_subject_session")
    assert (hit.n_rdm, hit.n_cond, subs.n_rdm) == (1, 92, 8)
    assert hit.dissimilarity_measure == subs.dissimilarity_measure == "1 - Pearson r"
    assert hit.rdm_descriptors["subject"].tolist() == ["mean"]
    assert subs.rdm_descriptors["subject"].tolist() == ["BE", "BE", "KO", "KO", "SN", "SN", "TI", "TI"]
    assert subs.rdm_descriptors["session"].tolist() == [1, 2] * 4
    assert subs.rdm_descriptors["name"][0] == "hIT | BE | session 1"
    mean = subs.get_matrices().mean(axis=0)
    np.testing.assert_allclose(hit.get_matrices()[0], mean, atol=1e-6)  # subject RDMs are float32
    assert 1.1 < hit.dissimilarities.max() < 1.2


def test_92_mit_equals_model_monkeyit_and_models_are_what_they_say():
    mit = rl.load_92images_rdms("mIT")
    models = rl.load_92images_rdms("models")
    names = models.rdm_descriptors["name"].tolist()
    assert names == ["animacy", "FaceBodyManmadeNatobj", "monkeyIT", "EVA", "HMAX", "V1", "Silhouette", "RADON"]
    assert mit.dissimilarity_measure == "1 - Pearson r"
    np.testing.assert_array_equal(mit.get_matrices()[0], models.get_matrices()[names.index("monkeyIT")])
    assert len(models.rdm_descriptors["measure"]) == 8
    cat = models.pattern_descriptors["category"]
    animate = np.array([c in ("human bodypart", "human face", "nonhuman bodypart", "nonhuman face") for c in cat])
    np.testing.assert_array_equal(models.get_matrices()[0], animate[:, None] != animate[None, :])
    four = np.array(["face" if "face" in c else "body" if "body" in c else c for c in cat])
    np.testing.assert_array_equal(models.get_matrices()[1], four[:, None] != four[None, :])


def test_92_pattern_and_object_descriptors():
    rdms = rl.load_92images_rdms("similarity_judgements")
    assert rdms.n_rdm == 16
    assert rdms.rdm_descriptors["subject"].tolist() == [f"subject{i}" for i in range(1, 17)]
    items = rdms.pattern_descriptors["item"].tolist()
    assert len(set(items)) == 92
    assert items[0] == "human_body_00" and items[12] == "human_face_00" and items[91] == "artificial_object_20"
    cats = rdms.pattern_descriptors["category"].tolist()
    assert {c: cats.count(c) for c in set(cats)} == CATEGORY_COUNTS
    assert rdms.pattern_descriptors["animacy"].tolist().count("animate") == 48
    assert rdms.descriptors["dataset"] == IMG and "Kriegeskorte" in rdms.descriptors["citation"]
    assert "Mur et al. 2013" in rdms.dissimilarity_measure
    # correlation of the mean judgement RDM with hIT, as stated in SOURCE.md (Spearman 0.39)
    from scipy.stats import spearmanr
    hit = rl.load_92images_rdms("hIT").dissimilarities[0]
    rho = spearmanr(rdms.dissimilarities.mean(axis=0), hit).statistic
    assert 0.35 < rho < 0.43


def test_92_bad_which_lists_choices():
    with pytest.raises(rl.InputValueError, match="`which` must be one of 'hIT'.*'models'"):
        rl.load_92images_rdms("V1")
    with pytest.raises(rl.InputTypeError, match="`which`"):
        rl.load_92images_rdms(3)


def test_92_items_table_agrees_with_rdm_descriptors():
    items = rl.load_92images_items()
    rdms = rl.load_92images_rdms("mIT")
    assert items.shape[0] == 92
    assert items["item"].tolist() == rdms.pattern_descriptors["item"].tolist()
    assert items["category"].tolist() == rdms.pattern_descriptors["category"].tolist()
    assert items["cv_animate"].sum() == 48 and items["cv_face"].sum() == 24
    assert (items["animal"] == items["cv_animate"]).all()


def test_92_task_tree_and_options():
    task = rl.load_92images_task()
    assert (task.n_in, task.P, task.n_out) == (92, 92, 11) and task.is_white(tol=1e-12)
    sums = dict(zip(task.feature_names, task.Y.sum(axis=1)))
    assert sums == {"object": 92, "animate": 48, "inanimate": 44, "human": 24, "nonhuman": 24, "natural": 23,
                    "artificial": 21, "human_face": 12, "human_body": 12, "nonhuman_face": 12, "nonhuman_body": 12}
    assert list(task.labels) == rl.load_92images_items()["item"].tolist()
    assert rl.load_92images_task(include_root=False).n_out == 10
    # rank: the six leaves of the category tree
    assert task.rank() == 6

    flat = rl.load_92images_task("categories")
    assert flat.n_out == 6 and np.all(flat.Y.sum(axis=0) == 1)
    flags = rl.load_92images_task("flags")
    assert list(flags.feature_names) == ["animate", "human", "face", "natural"]
    assert flags.Y.sum(axis=1).tolist() == [48, 24, 24, 71]
    full = rl.load_92images_task(item_features=True)
    assert full.n_out == 11 + 92 and full.rank() == 92

    with pytest.raises(rl.InputValueError, match="`structure` must be one of"):
        rl.load_92images_task("hierarchy")
    with pytest.raises(rl.InputTypeError, match="`include_root`"):
        rl.load_92images_task(include_root="yes")


# ---------------------------------------------------------------------------
# Corrupted, truncated and wrongly formatted files
# ---------------------------------------------------------------------------
def test_truncated_npz_fails_checksum(data_copy):
    path = data_copy / IMG / "rdms_92.npz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(rl.DatasetError, match=r"rdms_92\.npz failed its checksum.*truncated"):
        rl.load_92images_rdms("hIT")
    with pytest.raises(rl.DatasetError, match=r"(?s)1 dataset file\(s\) failed.*rdms_92\.npz"):
        rl.verify_datasets()
    # the other datasets still load
    assert rl.load_semantic_task().P == 8


def test_tampered_csv_fails_checksum(data_copy):
    path = data_copy / SEM / "item_by_attribute.csv"
    text = path.read_text()
    path.write_text(text.replace("Pine,1,1,0", "Pine,1,0,0", 1))
    with pytest.raises(rl.DatasetError, match=r"item_by_attribute\.csv failed its checksum"):
        rl.load_semantic_task()
    assert isinstance(pytest.raises(ValueError, rl.load_semantic_task).value, rl.InputValueError)


def test_missing_file_and_bad_manifest(data_copy):
    (data_copy / SEM / "patterns_long.csv").unlink()
    with pytest.raises(rl.DatasetError, match=r"patterns_long\.csv is missing"):
        rl.load_semantic_task("item_relation")
    (data_copy / "SHA256SUMS").write_text("not a checksum line\n")
    with pytest.raises(rl.DatasetError, match=r"SHA256SUMS, line 1, is not in `sha256sum` format"):
        rl.load_semantic_task()


def test_truncated_npz_with_matching_manifest_gives_format_error(data_copy):
    rel = f"{IMG}/rdms_92.npz"
    path = data_copy / rel
    path.write_bytes(path.read_bytes()[:50_000])
    _rehash(data_copy, rel)
    with pytest.raises(rl.DatasetError, match=r"rdms_92\.npz is not a readable \.npz archive"):
        rl.load_92images_rdms("mIT")


@pytest.mark.parametrize(
    "change, which, message",
    [
        (lambda m: m.__setitem__((0, 1), m[0, 1] + 0.5) or m, "hIT", r"`hIT` is not symmetric"),
        (lambda m: m + np.eye(92), "hIT", r"`hIT` is not zero on the diagonal"),
        (lambda m: np.where(np.eye(92, dtype=bool), 0, np.nan), "hIT", r"`hIT` contains NaN"),
        (lambda m: m[:50, :50], "hIT", r"`hIT` must have shape \(92, 92\), got \(50, 50\)"),
    ],
)
def test_wrong_rdm_content_with_matching_manifest(data_copy, change, which, message):
    with np.load(data_copy / IMG / "rdms_92.npz") as d:
        m = d["hIT"].copy()
    _write_npz(data_copy, hIT=change(m))
    with pytest.raises(rl.DatasetError, match=r"rdms_92\.npz: " + message):
        rl.load_92images_rdms(which)


def test_npz_missing_array_and_bad_category(data_copy):
    with np.load(data_copy / IMG / "rdms_92.npz") as d:
        cats = d["category"].copy()
    cats[3] = "vegetable"
    _write_npz(data_copy, category=cats)
    with pytest.raises(rl.DatasetError, match=r"unknown item categories \['vegetable'\]"):
        rl.load_92images_rdms("hIT")
    path = data_copy / IMG / "rdms_92.npz"
    with np.load(path) as d:
        arrays = {k: d[k] for k in d.files if k != "mIT"}
    np.savez(path, **arrays)
    _rehash(data_copy, f"{IMG}/rdms_92.npz")
    with pytest.raises(rl.DatasetError, match=r"lacks the array\(s\) \['mIT'\]"):
        rl.load_92images_rdms("mIT")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("Pine,1,1,0", "Pine,1,2,0", 1), r"line 2, column 'Plant': value 2 is not 0 or 1"),
        (lambda t: t.replace("Pine,1,1,0", "Pine,1,x,0", 1), r"non-integer entry"),
        (lambda t: t.rsplit("\n", 2)[0][:-10] + "\n", r"line 8, has 32 fields; the header has 37. The file is truncated"),
        (lambda t: t.replace("item,", "thing,", 1), r"wrong header: it must start with columns \['item'\]"),
        (lambda t: t.replace("\nOak,", "\nPine,", 1), r"repeats item names: \['Pine'\]"),
        (lambda t: "", r"is empty"),
        (lambda t: t.split("\n")[0] + "\n", r"header but no data rows"),
    ],
)
def test_wrong_csv_content_with_matching_manifest(data_copy, edit, message):
    rel = f"{SEM}/item_by_attribute.csv"
    path = data_copy / rel
    path.write_text(edit(path.read_text()))
    _rehash(data_copy, rel)
    with pytest.raises(rl.DatasetError, match=message):
        rl.load_semantic_task()


def test_items_92_flags_must_match_category(data_copy):
    rel = f"{IMG}/items_92.csv"
    path = data_copy / rel
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("0,human bodypart,1,0", "0,human bodypart,1,1", 1)
    path.write_text("\n".join(lines) + "\n")
    _rehash(data_copy, rel)
    with pytest.raises(rl.DatasetError, match=r"items_92\.csv, item 0: flag `face` = 1 contradicts"):
        rl.load_92images_task()
