"""Loaders for the bundled real datasets (offline, checksummed, validated).

Two datasets come with the repository's top-level ``datasets/`` folder. Each has
a ``SOURCE.md`` with its provenance, licence and the papers to cite:

* ``rumelhart_todd_semantic_8items``: the 8-item semantic hierarchy
  (Rumelhart & Todd 1993; McClelland & Rogers 2003). Load it with
  :func:`load_semantic_task`.
* ``kriegeskorte2008_92images``: the 92-image RDMs (Kriegeskorte et al. 2008;
  Mur et al. 2013). Load them with :func:`load_92images_rdms`,
  :func:`load_92images_items` and :func:`load_92images_task`.

Every load checks that the file is a regular file inside the data folder with the
expected size, reads it once, checks its sha256 against the checksums built into
this module (:data:`EXPECTED_FILES`; ``datasets/SHA256SUMS`` is only a copy for
``sha256sum -c``, and must agree with them) and then checks its structure: columns, shapes, 0/1 values, and RDMs that are
square, symmetric, finite, non-negative and zero on the diagonal. A missing,
truncated, edited or wrongly formatted file raises :class:`DatasetError`. The
message names the file and says what is wrong.

The folder is ``$RSA_LINEARDYN_DATA`` if that environment variable is set (another
folder with the same layout), else the repository's top-level ``datasets/`` when
the package runs from a source checkout (editable install), else the copy that
wheels and ``pip install .`` place inside the package
(``rsa_lineardyn/_bundled/datasets``). See :func:`data_dir`.

Timing: reading and checking a file takes a few milliseconds (the semantic
task needs about 1 ms, the 92-image RDMs about 10-30 ms). The first call to
:func:`load_92images_rdms` in a session also imports rsatoolbox, which takes a
few seconds once.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import stat
import zipfile
from pathlib import Path

import numpy as np

from .._validation import InputTypeError, InputValueError, check_choice, check_path
from ..dynamics.task import Task

__all__ = [
    "DatasetError",
    "DATA_ENV_VAR",
    "data_dir",
    "verify_datasets",
    "load_semantic_task",
    "load_92images_rdms",
    "load_92images_items",
    "load_92images_task",
    "EXPECTED_FILES",
]

#: The bundled files and their expected ``(sha256, size in bytes)``, relative to :func:`data_dir`.  They live in the
#: code, not beside the data, so a file replaced together with its manifest entry is still caught.  Generated from
#: ``datasets/SHA256SUMS`` (``sha256sum``); a maintainer who updates a file updates this table and the manifest.
EXPECTED_FILES = {
    "kriegeskorte2008_92images/items_92.csv": (
        "ff31bf10079b61eb4f12d7b4ec03150f49f1cfefc3bdbc26d48cf193d3241004", 5019),
    "kriegeskorte2008_92images/rdms_92.npz": (
        "023e8558b454fdbe47075f0bf04cc1429a5a70b7ebd59541f1089b44fc80c683", 1314391),
    "rumelhart_todd_semantic_8items/item_by_attribute.csv": (
        "b75755d005191a9bece6bc6aa62dfc24418f38ff5facbba2fb89cf74f0662afe", 858),
    "rumelhart_todd_semantic_8items/patterns_long.csv": (
        "e572d8cd8ccb49f4368d3ea620289ca074a90dcecbe2cdb84a33a477de6d5b6f", 2883),
    "rumelhart_todd_semantic_8items/original/sem_attributes.txt": (
        "7d9b60878ea4d6914ee5c69282170a4d7b0646b8c32051f139e96ca7a0421de1", 219),
    "rumelhart_todd_semantic_8items/original/sem_data.txt": (
        "a51f58ef00276e6f6c9cafc02cfa30369093673fafa7e8d165a033de9e1fde01", 3071),
    "rumelhart_todd_semantic_8items/original/sem_items.txt": (
        "31b7e9c042af712feb2db9247e6dead74760a0abe190d231b43a7171c355621e", 48),
    "rumelhart_todd_semantic_8items/original/sem_relations.txt": (
        "18499f846da13272eeefa55c14ad3a0dcce622643714332c59cc0479d9e11fba", 15),
}
#: Largest file read from the data folder (the manifest included): the bundled files are far smaller.
MAX_DATA_FILE_BYTES = 64 * 2**20

DATA_ENV_VAR = "RSA_LINEARDYN_DATA"
_MANIFEST = "SHA256SUMS"
_SEMANTIC = "rumelhart_todd_semantic_8items"
_IMAGES = "kriegeskorte2008_92images"
_RESTORE = (
    "Restore the file from the repository (e.g. `git checkout -- datasets/`) or point "
    f"the environment variable {DATA_ENV_VAR} at a good copy of the datasets folder."
)


class DatasetError(InputValueError):
    """A bundled data file is missing, truncated, modified or wrongly formatted."""


# ----------------------------------------------------------------------------
# Locating and verifying files
# ----------------------------------------------------------------------------
#: The package folder (this module is ``rsa_lineardyn/data/bundled.py``).
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: Where wheels and ``pip install .`` put the bundled data (mapped from the top-level
#: ``datasets/`` at build time, see ``[tool.setuptools.package-dir]`` in pyproject.toml).
def _installed_data():
    """The installed data folder, located through :mod:`importlib.resources` (the package's own resources).

    ``rsa_lineardyn/_bundled/datasets`` inside the installed package (the bundled files are plain files
    on disk, so the resource is a real folder).
    """
    from importlib import resources

    return Path(str(resources.files("rsa_lineardyn") / "_bundled" / "datasets"))


_INSTALLED_DATA = _installed_data()


def _checkout_dir(name):
    """``<repository>/<name>`` if the package runs from a source checkout, else None.

    A checkout is recognised by ``pyproject.toml`` next to the package folder, so a
    stray ``site-packages/datasets`` of some other distribution is never picked up.
    """
    repo = _PACKAGE_DIR.parent
    try:
        if (repo / "pyproject.toml").is_file() and (repo / name).is_dir():
            return repo / name
    except OSError:  # a folder above the package we may not look into: not a checkout we can use
        pass
    return None


def data_dir():
    """Folder that holds the bundled datasets.

    In this order: ``$RSA_LINEARDYN_DATA`` if that variable is set and not empty;
    the repository's ``datasets/`` if the package runs from a source checkout
    (editable install); otherwise the copy installed with the package
    (``rsa_lineardyn/_bundled/datasets``, carried by wheels and ``pip install .``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DatasetError
        If the folder does not exist or has no ``SHA256SUMS`` manifest.
    """
    env = os.environ.get(DATA_ENV_VAR, "").strip()
    checkout = _checkout_dir("datasets")
    if env:
        root = Path(env).expanduser()
        origin = f"from the environment variable {DATA_ENV_VAR}"
        hint = f"Point {DATA_ENV_VAR} at a copy of the repository's `datasets/` folder, or unset it."
    elif checkout is not None:
        root = checkout
        origin = "the source checkout next to the rsa_lineardyn package"
        hint = _RESTORE
    else:
        root = _INSTALLED_DATA
        origin = "installed with the rsa_lineardyn package"
        hint = (
            "This installation lacks the bundled data: reinstall rsa_lineardyn from a wheel or "
            f"sdist of this version (or `pip install -e .` from a checkout), or set {DATA_ENV_VAR} "
            "to the repository's `datasets/` folder."
        )
    try:
        exists = root.exists()
    except OSError:  # a folder above it cannot be searched: check_path says so below
        exists = True
    if not exists:
        raise DatasetError(f"Dataset folder {root} ({origin}) does not exist. {hint}")
    check_path(root, DATA_ENV_VAR if env else "data_dir()", what=f"dataset folder ({origin})", kind="dir",
               error=DatasetError)
    if not (root / _MANIFEST).is_file():
        raise DatasetError(
            f"Dataset folder {root} ({origin}) has no `{_MANIFEST}` checksum manifest, so its "
            f"files cannot be verified. {_RESTORE}"
        )
    return root


_MANIFEST_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](\S.*)$")


def _confined(root, relpath, what):
    """``root / relpath`` if ``relpath`` is a plain relative path that stays inside ``root`` (symlinks resolved)."""
    parts = relpath.replace("\\", "/").split("/")
    if not relpath or os.path.isabs(relpath) or relpath.startswith(("/", "\\")) or ".." in parts or "" in parts:
        raise DatasetError(
            f"{what} names {relpath!r}, which is not a plain relative path inside the data folder {root} (absolute "
            f"paths, '..' and empty parts are refused). {_RESTORE}"
        )
    path = root / relpath
    try:
        real_root, real = root.resolve(), path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise DatasetError(f"{what}: {path} cannot be resolved ({exc}). {_RESTORE}") from None
    if real != real_root and real_root not in real.parents:
        raise DatasetError(
            f"{what}: {path} points outside the data folder {root} (to {real}, through a symlink); only files "
            f"inside the folder are read. {_RESTORE}"
        )
    return path


def _read_regular(path, what, max_bytes, expected_size=None):
    """Bytes of ``path`` if it is a regular file of at most ``max_bytes`` (and ``expected_size``) bytes.

    The size and type are checked before any byte is read; the file is opened without blocking and checked again
    on the open descriptor, so a FIFO, a device or a folder is refused rather than opened for reading.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise DatasetError(f"Data file {path} is missing. {_RESTORE}") from None
    except PermissionError:
        raise DatasetError(f"{what} {path} cannot be reached (permission denied on a folder above it); fix the folder "
                           "permissions (chmod u+rx) or copy it somewhere readable.") from None
    except OSError as exc:
        raise DatasetError(f"Data file {path} cannot be accessed ({exc.strerror or exc}). {_RESTORE}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
                else "a device or socket")
        raise DatasetError(f"{what} {path} is {kind}, not a regular file; it is not read. {_RESTORE}")
    if expected_size is not None and st.st_size != expected_size:
        raise DatasetError(
            f"{what} {path} failed its checksum: it has {st.st_size} bytes, the bundled file {expected_size} (so it "
            f"was not read); it is truncated, corrupted or was edited. {_RESTORE}"
        )
    if st.st_size > max_bytes:
        raise DatasetError(f"{what} {path} has {st.st_size} bytes, more than the {max_bytes} accepted. {_RESTORE}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError:
        raise DatasetError(f"{what} {path} cannot be read (permission denied); fix its permissions (chmod u+r) or "
                           "copy it somewhere readable.") from None
    except OSError as exc:
        raise DatasetError(f"{what} {path} could not be read ({exc.strerror or exc}); check its permissions.") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # replaced between the two checks
            raise DatasetError(f"{what} {path} is not a regular file; it is not read. {_RESTORE}")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DatasetError(f"{what} {path} grew beyond {max_bytes} bytes while being read. {_RESTORE}")
    return data


def _manifest(root):
    """The manifest's entries, checked: `sha256sum` format, confined paths, the same as :data:`EXPECTED_FILES`."""
    path = root / _MANIFEST
    try:
        text = _read_regular(path, "Checksum manifest", 2**20).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"Checksum manifest {path} could not be read ({exc}). {_RESTORE}") from None
    entries = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _MANIFEST_LINE.match(line.rstrip())
        if match is None:
            raise DatasetError(
                f"Checksum manifest {path}, line {lineno}, is not in `sha256sum` format "
                f"('<64 hex digits>  <relative path>'): {line[:80]!r}. {_RESTORE}"
            )
        _confined(root, match.group(2), f"Checksum manifest {path}, line {lineno},")
        entries[match.group(2)] = match.group(1).lower()
    want = {rel: digest for rel, (digest, _) in EXPECTED_FILES.items()}
    if entries != want:
        diff = sorted(set(entries.items()) ^ set(want.items()))
        names = sorted({rel for rel, _ in diff})
        raise DatasetError(
            f"Checksum manifest {path} disagrees with the checksums built into rsa_lineardyn for {names[:4]}"
            f"{' ...' if len(names) > 4 else ''}: it was edited, or the data folder belongs to another version. "
            f"{_RESTORE}"
        )
    return entries


def _read_verified(relpath):
    """Bytes of ``datasets/<relpath>`` after checking them against :data:`EXPECTED_FILES`."""
    root = data_dir()
    _manifest(root)
    if relpath not in EXPECTED_FILES:
        raise DatasetError(f"`{relpath}` is not a bundled data file of rsa_lineardyn, so it cannot be verified.")
    path = _confined(root, relpath, "Data file")
    want, size = EXPECTED_FILES[relpath]
    data = _read_regular(path, "Data file", MAX_DATA_FILE_BYTES, size)
    got = hashlib.sha256(data).hexdigest()
    if got != want:
        raise DatasetError(
            f"Data file {path} failed its checksum: sha256 is {got[:16]}..., rsa_lineardyn expects "
            f"{want[:16]}... The file ({len(data)} bytes) is truncated, corrupted or was edited. {_RESTORE}"
        )
    return path, data


def verify_datasets():
    """Check every bundled file against the checksum and size built into the package.

    Returns
    -------
    list of str
        The relative paths that were checked (all passed).

    Raises
    ------
    DatasetError
        Lists every file that is missing or fails its checksum; or the manifest ``SHA256SUMS`` disagrees with
        the built-in checksums.

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> "rumelhart_todd_semantic_8items/item_by_attribute.csv" in rl.verify_datasets()
    True
    """
    root = data_dir()
    _manifest(root)
    problems = []
    checked = []
    for relpath in EXPECTED_FILES:
        try:
            _read_verified(relpath)
        except DatasetError as exc:
            problems.append(str(exc).split(" Restore the file")[0])
        else:
            checked.append(relpath)
    if problems:
        raise DatasetError(
            f"{len(problems)} dataset file(s) failed verification:\n  - " + "\n  - ".join(problems) + f"\n{_RESTORE}"
        )
    return checked


# ----------------------------------------------------------------------------
# Parsing helpers (every failure names the file)
# ----------------------------------------------------------------------------
def _read_csv(path, data, required_first):
    """Header and rows of a CSV file; the header must start with ``required_first``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"Data file {path} is not UTF-8 text ({exc}); expected a CSV table.") from None
    rows = [row for row in csv.reader(io.StringIO(text)) if row]
    if not rows:
        raise DatasetError(f"Data file {path} is empty; expected a CSV table with a header row.")
    header, body = rows[0], rows[1:]
    if tuple(header[: len(required_first)]) != tuple(required_first):
        raise DatasetError(
            f"Data file {path} has the wrong header: it must start with columns {list(required_first)}, "
            f"got {header[: len(required_first)]}."
        )
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise DatasetError(f"Data file {path} has repeated column names: {dup[:5]}.")
    if not body:
        raise DatasetError(f"Data file {path} has a header but no data rows.")
    for lineno, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DatasetError(
                f"Data file {path}, line {lineno}, has {len(row)} fields; the header has {len(header)}. "
                "The file is truncated or malformed."
            )
    return header, body


def _binary_block(path, header, body, first_col):
    """Columns ``first_col:`` of a CSV body as a 0/1 int array."""
    try:
        values = np.array([[int(v) for v in row[first_col:]] for row in body], dtype=np.int64)
    except ValueError as exc:
        raise DatasetError(f"Data file {path} has a non-integer entry in its 0/1 columns ({exc}).") from None
    bad = ~np.isin(values, (0, 1))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DatasetError(
            f"Data file {path}, line {r + 2}, column {header[first_col + c]!r}: value {values[r, c]} "
            "is not 0 or 1."
        )
    return values


def _unique(path, values, what):
    seen = set()
    dup = [v for v in values if v in seen or seen.add(v)]
    if dup:
        raise DatasetError(f"Data file {path} repeats {what}: {sorted(set(dup))[:5]}.")


# ----------------------------------------------------------------------------
# Semantic hierarchy (Rumelhart & Todd; McClelland & Rogers 2003)
# ----------------------------------------------------------------------------
def load_semantic_task(form="items"):
    """The 8-item semantic hierarchy as a :class:`Task`.

    The items are Pine, Oak, Rose, Daisy, Robin, Canary, Sunfish and Salmon. The
    hierarchy is plant {tree {pine, oak}, flower {rose, daisy}} and animal
    {bird {robin, canary}, fish {sunfish, salmon}}. There are 36 binary
    attributes: ISA (living thing, plant, ..., the 8 item names), IS, CAN and
    HAS. This is the progressive-differentiation task of Rumelhart & Todd (1993),
    as in McClelland & Rogers (2003), from the copy that the NYU Computational
    Cognitive Modeling course distributes. See
    ``datasets/rumelhart_todd_semantic_8items/SOURCE.md``. It is not
    confirmed to match the matrix of Saxe et al. (2019) entry by entry.

    Parameters
    ----------
    form : {"items", "item_relation"}, default "items"
        ``"items"``: 8 items x 36 attributes. An attribute is 1 if it is true of
        the item under any relation (each attribute belongs to one relation, so
        nothing is lost). The inputs are one-hot items scaled to
        ``X = sqrt(8) * I``, so ``Sxx = X X^T / P = I``: the task is **white**
        and ready for the exact solver. ``Y`` is the 36 x 8 item-attribute matrix.

        ``"item_relation"``: the original network's 32 patterns (item, relation)
        -> attributes. The inputs are the item one-hot (8 rows) stacked on the
        relation one-hot (4 rows), as raw 0/1 values, so ``X`` is 12 x 32. This
        task is **not white**: ``Sxx`` is not ``I``, and it has rank 11 because
        the item bits and the relation bits both sum to 1. Pass it through
        :func:`rsa_lineardyn.whiten` before using the exact solver. That drops
        one input direction and gives ``n_in = 11``. Item labels read
        ``"Pine:ISA"``, and the targets are the attributes that the relation
        picks out.

    Returns
    -------
    Task
        With item ``labels`` and ``feature_names`` (the attribute names).

    Raises
    ------
    DatasetError
        If the data file is missing, fails its checksum or is malformed.

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> task = rl.load_semantic_task()
    >>> task.n_in, task.n_out, task.P, task.is_white()
    (8, 36, 8, True)
    >>> task.labels[:3]
    ('Pine', 'Oak', 'Rose')
    >>> rl.whiten(rl.load_semantic_task("item_relation")).n_in
    11
    """
    check_choice(form, "form", ("items", "item_relation"))
    if form == "items":
        path, data = _read_verified(f"{_SEMANTIC}/item_by_attribute.csv")
        header, body = _read_csv(path, data, ["item"])
        if len(header) < 2:
            raise DatasetError(f"Data file {path} has no attribute columns after 'item'.")
        items = [row[0].strip() for row in body]
        _unique(path, items, "item names")
        Y = _binary_block(path, header, body, 1).T.astype(float)
        P = len(items)
        X = np.sqrt(P) * np.eye(P)
        return Task(X, Y, labels=items, feature_names=header[1:], name="semantic_8items")

    path, data = _read_verified(f"{_SEMANTIC}/patterns_long.csv")
    header, body = _read_csv(path, data, ["item", "relation"])
    if len(header) < 3:
        raise DatasetError(f"Data file {path} has no attribute columns after 'item', 'relation'.")
    pairs = [(row[0].strip(), row[1].strip()) for row in body]
    _unique(path, pairs, "(item, relation) pairs")
    items = list(dict.fromkeys(p[0] for p in pairs))
    relations = list(dict.fromkeys(p[1] for p in pairs))
    X = np.zeros((len(items) + len(relations), len(pairs)))
    for j, (item, rel) in enumerate(pairs):
        X[items.index(item), j] = 1.0
        X[len(items) + relations.index(rel), j] = 1.0
    Y = _binary_block(path, header, body, 2).T.astype(float)
    labels = [f"{item}:{rel}" for item, rel in pairs]
    return Task(X, Y, labels=labels, feature_names=header[2:], name="semantic_item_relation")


# ----------------------------------------------------------------------------
# 92 images (Kriegeskorte et al. 2008)
# ----------------------------------------------------------------------------
# category string in the files -> short slug used in item labels and features
_CATEGORIES = {
    "human bodypart": "human_body",
    "human face": "human_face",
    "nonhuman bodypart": "nonhuman_body",
    "nonhuman face": "nonhuman_face",
    "natural inanimate": "natural_object",
    "artificial inanimate": "artificial_object",
}
_ANIMATE = {"human bodypart", "human face", "nonhuman bodypart", "nonhuman face"}

# tree node -> categories below it (in the order of the features)
_TREE = {
    "object": tuple(_CATEGORIES),
    "animate": ("human bodypart", "human face", "nonhuman bodypart", "nonhuman face"),
    "inanimate": ("natural inanimate", "artificial inanimate"),
    "human": ("human bodypart", "human face"),
    "nonhuman": ("nonhuman bodypart", "nonhuman face"),
    "natural": ("natural inanimate",),
    "artificial": ("artificial inanimate",),
    "human_face": ("human face",),
    "human_body": ("human bodypart",),
    "nonhuman_face": ("nonhuman face",),
    "nonhuman_body": ("nonhuman bodypart",),
}
_FLAGS = {  # the four per-stimulus flags of the source, derived from the category
    "animate": _ANIMATE,
    "human": {"human bodypart", "human face"},
    "face": {"human face", "nonhuman face"},
    "natural": set(_CATEGORIES) - {"artificial inanimate"},
}

_MODEL_MEASURES = {
    "animacy": "binary: 0 same animacy, 1 different",
    "FaceBodyManmadeNatobj": "binary: 0 same category (face, body, natural, artificial), 1 different",
    "monkeyIT": "1 - Pearson r",
    "EVA": "not documented in the source (human early visual cortex fMRI RDM)",
    "HMAX": "not documented in the source (image-computable model)",
    "V1": "not documented in the source (image-computable model)",
    "Silhouette": "not documented in the source (image-computable model)",
    "RADON": "not documented in the source (image-computable model)",
}

_RDM_CHOICES = ("hIT", "hIT_subject_session", "mIT", "similarity_judgements", "models")
_CITATION_92 = (
    "Kriegeskorte N, Mur M, Ruff DA, et al. (2008) Matching categorical object representations in "
    "inferior temporal cortex of man and monkey. Neuron 60(6):1126-1141."
)


def _item_labels(categories):
    counts = {}
    labels = []
    for cat in categories:
        slug = _CATEGORIES[cat]
        labels.append(f"{slug}_{counts.get(slug, 0):02d}")
        counts[slug] = counts.get(slug, 0) + 1
    return labels


def _check_categories(path, categories):
    unknown = sorted(set(categories) - set(_CATEGORIES))
    if unknown:
        raise DatasetError(
            f"Data file {path} has unknown item categories {unknown[:5]}; expected only {sorted(_CATEGORIES)}."
        )


def _load_npz(keys):
    path, data = _read_verified(f"{_IMAGES}/rdms_92.npz")
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
        missing = [k for k in keys if k not in archive.files]
        if missing:
            raise DatasetError(
                f"Data file {path} lacks the array(s) {missing}; it holds {sorted(archive.files)}. {_RESTORE}"
            )
        arrays = {k: archive[k] for k in keys}
    except DatasetError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        raise DatasetError(
            f"Data file {path} is not a readable .npz archive ({type(exc).__name__}: {exc}). {_RESTORE}"
        ) from None
    categories = arrays.get("category")
    if categories is not None:
        if categories.ndim != 1:
            raise DatasetError(f"Data file {path}: `category` must be 1-D, got shape {categories.shape}.")
        categories = [str(c) for c in categories]
        _check_categories(path, categories)
        arrays["category"] = categories
    return path, arrays


def _check_rdm_stack(path, key, arr, n_items, lead_shape):
    """``arr`` must have shape lead_shape + (n, n) and hold valid dissimilarities."""
    want = tuple(lead_shape) + (n_items, n_items)
    if arr.shape != want:
        raise DatasetError(f"Data file {path}: `{key}` must have shape {want}, got {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.number):
        raise DatasetError(f"Data file {path}: `{key}` must be numeric, got dtype {arr.dtype}.")
    mats = np.asarray(arr, dtype=float).reshape(-1, n_items, n_items)
    for i, m in enumerate(mats):
        where = f"`{key}`" + (f" (matrix {i})" if len(mats) > 1 else "")
        if not np.all(np.isfinite(m)):
            raise DatasetError(f"Data file {path}: {where} contains NaN or inf.")
        scale = max(np.max(np.abs(m)), 1.0)
        asym = np.max(np.abs(m - m.T))
        if asym > 1e-6 * scale:
            raise DatasetError(f"Data file {path}: {where} is not symmetric (max |D - D^T| = {asym:.3g}).")
        diag = np.max(np.abs(np.diag(m)))
        if diag > 1e-6 * scale:
            raise DatasetError(f"Data file {path}: {where} is not zero on the diagonal (max |diag| = {diag:.3g}).")
        if np.min(m) < 0:
            raise DatasetError(f"Data file {path}: {where} has negative dissimilarities (min {np.min(m):.3g}).")
    return mats


def _check_names(path, key, arr, n):
    if arr.shape != (n,):
        raise DatasetError(f"Data file {path}: `{key}` must have shape ({n},), got {arr.shape}.")
    return [str(v) for v in arr]


def load_92images_rdms(which="hIT"):
    """RDMs of the 92-image set (Kriegeskorte et al. 2008) as rsatoolbox ``RDMs``.

    Parameters
    ----------
    which : str, default "hIT"
        ``"hIT"``
            Human IT fMRI RDM, 316 voxels. This is the RDM of Figure 1 and the
            mean of the 8 subject/session RDMs. One RDM; its ``subject`` and
            ``session`` are ``"mean"``.
        ``"hIT_subject_session"``
            8 RDMs, one per subject (BE, KO, SN, TI) and session (1, 2). They
            are float32 in the source.
        ``"mIT"``
            Monkey IT RDM, 674 neurons (Kiani et al. 2007); ``subject`` and
            ``session`` are ``"pooled"``.
        ``"similarity_judgements"``
            16 RDMs of judged dissimilarity, one per subject (Mur et al. 2013),
            as scaled in the source; ``session`` is ``"n/a"``.
        ``"models"``
            The toolbox's 8 model RDMs: animacy, FaceBodyManmadeNatobj,
            monkeyIT (equal to ``"mIT"``), EVA (human early visual cortex),
            HMAX, V1, Silhouette and RADON. Their measures differ, so each one
            is given in ``rdm_descriptors["measure"]``.

    Returns
    -------
    rsatoolbox.rdm.RDMs
        Built through :func:`rsa_lineardyn.make_rdms`, so descriptor values are
        numpy arrays. ``rdm_descriptors``: ``name``, ``subject``, ``session`` (and ``measure``
        for models). ``pattern_descriptors``: ``item`` (unique labels such as
        ``"human_body_00"`` or ``"artificial_object_20"``), ``index`` (0-91),
        ``category`` (the source's six categories) and ``animacy``.
        ``descriptors``: ``dataset``, ``which`` and ``citation``.
        ``dissimilarity_measure`` is ``"1 - Pearson r"`` for the brain RDMs.

    Raises
    ------
    DatasetError
        If the file is missing, fails its checksum or is malformed.

    Notes
    -----
    Reading and checking the file takes about 10-30 ms. The first call in a
    session also imports rsatoolbox, which takes a few seconds.

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> rdms = rl.load_92images_rdms("hIT_subject_session")
    >>> rdms.n_rdm, rdms.n_cond, rdms.rdm_descriptors["subject"][:2].tolist()
    (8, 92, ['BE', 'BE'])
    """
    if not isinstance(which, str):
        raise InputTypeError(f"`which` must be a string, one of {', '.join(_RDM_CHOICES)}; got {type(which).__name__}.")
    check_choice(which, "which", _RDM_CHOICES)
    key = {
        "hIT": "hIT",
        "hIT_subject_session": "hIT_subject_session",
        "mIT": "mIT",
        "similarity_judgements": "behav_simjudge",
        "models": "model_rdms",
    }[which]
    extra = {
        "hIT_subject_session": ["hIT_subjects", "hIT_sessions"],
        "similarity_judgements": ["behav_names"],
        "models": ["model_names"],
    }.get(which, [])
    path, arrays = _load_npz([key, "category"] + extra)
    categories = arrays["category"]
    n = len(categories)
    arr = arrays[key]

    if which in ("hIT", "mIT"):
        mats = _check_rdm_stack(path, key, arr, n, ())
        names = [which]
        subjects = sessions = ["mean" if which == "hIT" else "pooled"]
        measure = "1 - Pearson r"
    elif which == "hIT_subject_session":
        subj = _check_names(path, "hIT_subjects", arrays["hIT_subjects"], arrays["hIT_subjects"].size)
        sess_arr = arrays["hIT_sessions"]
        if sess_arr.ndim != 1 or not np.issubdtype(sess_arr.dtype, np.integer):
            raise DatasetError(f"Data file {path}: `hIT_sessions` must be a 1-D integer array, got {sess_arr.dtype} {sess_arr.shape}.")
        mats = _check_rdm_stack(path, key, arr, n, (len(subj), sess_arr.size))
        subjects = [s for s in subj for _ in sess_arr]
        sessions = [int(k) for _ in subj for k in sess_arr]
        names = [f"hIT | {s} | session {k}" for s, k in zip(subjects, sessions)]
        measure = "1 - Pearson r"
    elif which == "similarity_judgements":
        names = _check_names(path, "behav_names", arrays["behav_names"], arr.shape[0] if arr.ndim == 3 else -1)
        mats = _check_rdm_stack(path, key, arr, n, (len(names),))
        subjects = [nm.split("|")[-1].strip() for nm in names]
        sessions = ["n/a"] * len(names)
        measure = "judged dissimilarity (Mur et al. 2013), scaled"
    else:
        names = _check_names(path, "model_names", arrays["model_names"], arr.shape[0] if arr.ndim == 3 else -1)
        mats = _check_rdm_stack(path, key, arr, n, (len(names),))
        subjects = ["n/a"] * len(names)
        sessions = ["n/a"] * len(names)
        measure = "model-specific; see rdm_descriptors['measure']"

    rdm_descriptors = {"name": list(names), "subject": list(subjects), "session": list(sessions)}
    if which == "models":
        rdm_descriptors["measure"] = [_MODEL_MEASURES.get(nm, "not documented in the source") for nm in names]
    pattern_descriptors = {
        "item": _item_labels(categories),
        "index": list(range(n)),
        "category": list(categories),
        "animacy": ["animate" if c in _ANIMATE else "inanimate" for c in categories],
    }
    descriptors = {"dataset": _IMAGES, "which": which, "citation": _CITATION_92}

    from ..representations.rdms import make_rdms  # the package's one gate into rsatoolbox (imports it lazily)

    return make_rdms(
        mats,
        dissimilarity_measure=measure,
        descriptors=descriptors,
        rdm_descriptors=rdm_descriptors,
        pattern_descriptors=pattern_descriptors,
    )


def _read_items_92():
    path, data = _read_verified(f"{_IMAGES}/items_92.csv")
    flags = ["human", "face", "animal", "natural"]
    header, body = _read_csv(path, data, ["index", "category"] + flags)
    try:
        index = [int(row[0]) for row in body]
    except ValueError as exc:
        raise DatasetError(f"Data file {path} has a non-integer `index` ({exc}).") from None
    if index != list(range(len(body))):
        raise DatasetError(f"Data file {path}: `index` must run 0, 1, ..., {len(body) - 1} in order.")
    categories = [row[1].strip() for row in body]
    _check_categories(path, categories)
    values = _binary_block(path, header, body, 2)
    # the stored flags must agree with the category strings
    derived = {
        "human": _FLAGS["human"],
        "face": _FLAGS["face"],
        "animal": _FLAGS["animate"],
        "natural": _FLAGS["natural"],
    }
    for j, flag in enumerate(flags):
        expected = np.array([c in derived[flag] for c in categories], dtype=np.int64)
        if not np.array_equal(values[:, j], expected):
            bad = int(np.flatnonzero(values[:, j] != expected)[0])
            raise DatasetError(
                f"Data file {path}, item {bad}: flag `{flag}` = {values[bad, j]} contradicts its "
                f"category {categories[bad]!r}."
            )
    return path, header, categories, values


def load_92images_items():
    """Table of the 92 images: label, index, category and the source's flags.

    Returns
    -------
    pandas.DataFrame
        One row per image, in the order used by every RDM. Columns: ``item``
        (the unique label used in the RDMs' pattern descriptors), ``index``,
        ``category`` (six categories), ``animacy``, the binary flags ``human``,
        ``face``, ``animal`` and ``natural``, and the 12 ``cv_*`` columns of the
        source's ``categoryVectors``. ``cv_rand24``, ``cv_rand48``,
        ``cv_other48`` and ``cv_monkeyape`` are subsets used in the paper, not
        semantic categories.

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> items = rl.load_92images_items()
    >>> items.shape[0], items["category"].nunique()
    (92, 6)
    """
    import pandas as pd

    _, header, categories, values = _read_items_92()
    table = pd.DataFrame(values, columns=header[2:])
    table.insert(0, "animacy", ["animate" if c in _ANIMATE else "inanimate" for c in categories])
    table.insert(0, "category", categories)
    table.insert(0, "index", np.arange(len(categories)))
    table.insert(0, "item", _item_labels(categories))
    return table


def load_92images_task(structure="tree", include_root=True, item_features=False):
    """The category structure of the 92 images as a white :class:`Task`.

    The inputs are one-hot items, ``X = sqrt(92) * I``, so ``Sxx = I``. The
    targets are binary category features, one row per feature, chosen by
    ``structure``.

    Parameters
    ----------
    structure : {"tree", "categories", "flags"}, default "tree"
        ``"tree"``: one feature per node of the hierarchy

        * object (the root, if ``include_root``)
        * animate: human (human_face, human_body) and nonhuman
          (nonhuman_face, nonhuman_body)
        * inanimate: natural, artificial

        The features are object, animate, inanimate, human, nonhuman,
        natural, artificial, human_face, human_body, nonhuman_face and
        nonhuman_body. The tree is deeper on the animate side (3 levels)
        than on the inanimate side (2 levels).

        ``"categories"``: the six categories as a flat one-hot code
        (human_body, human_face, nonhuman_body, nonhuman_face,
        natural_object, artificial_object).

        ``"flags"``: the four cross-cutting binary features of the source,
        animate, human, face and natural. ``natural`` is 1 for everything
        except artificial objects, so it includes the animate items.
    include_root : bool, default True
        Only for ``"tree"``: whether to add the ``object`` feature, which is 1
        for every item. It adds a uniform mode, as "living thing" does in the
        semantic task.
    item_features : bool, default False
        Add one identity feature per item: the leaves of the tree, like the
        item names in the semantic task. This makes ``Syx`` full rank.

    Returns
    -------
    Task
        ``labels`` are the item labels of :func:`load_92images_items`, and
        ``feature_names`` are the category features.

    Examples
    --------
    >>> import rsa_lineardyn as rl
    >>> task = rl.load_92images_task()
    >>> task.P, task.n_out, task.is_white()
    (92, 11, True)
    """
    check_choice(structure, "structure", ("tree", "categories", "flags"))
    for name, value in (("include_root", include_root), ("item_features", item_features)):
        if not isinstance(value, (bool, np.bool_)):
            raise InputTypeError(f"`{name}` must be True or False, got {value!r}.")
    _, _, categories, _ = _read_items_92()
    if structure == "tree":
        nodes = {k: v for k, v in _TREE.items() if include_root or k != "object"}
    elif structure == "categories":
        nodes = {slug: (cat,) for cat, slug in _CATEGORIES.items()}
    else:
        nodes = dict(_FLAGS)
    Y = np.array([[1.0 if c in members else 0.0 for c in categories] for members in nodes.values()])
    names = list(nodes)
    labels = _item_labels(categories)
    P = len(categories)
    if item_features:
        Y = np.vstack([Y, np.eye(P)])
        names += labels
    X = np.sqrt(P) * np.eye(P)
    return Task(X, Y, labels=labels, feature_names=names, name=f"92images_{structure}")
