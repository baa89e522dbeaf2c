"""Data set files: where they are looked for, how they are verified, downloaded and read.

Two data sets, each known by its files and their SHA-256 sums (embedded here, never read from
the folder being checked):

- ``fashion-mnist``: the four official IDX ``.gz`` files (byte-identical to Zalando's release
  and to Debian's ``dataset-fashion-mnist``).
- ``cifar-10``: the "python version" batches, either as the folder ``cifar-10-batches-py/``
  or as the official tarball ``cifar-10-python.tar.gz`` (read in place, nothing extracted).
  A folder is accepted when every file matches the project's reference copy (``shared/data``,
  rebuilt from a JPEG export, see its README) or the official release; the official batch
  files are identified by the MD5 sums their publisher lists, since no SHA-256 list of the
  extracted files is published (the tarball itself is checked by SHA-256).

Lookup order (see docs/fitness.md), first verified copy wins:

1. the explicit ``data_dir`` argument (``--data-dir``), else ``$SYMALR_DATA_DIR``: the data
   set's sub-folder (``fashion-mnist/``, ``cifar-10-batches-py/`` or the tarball), or the
   files directly inside it;
2. the user cache ``$XDG_CACHE_HOME/symalr`` (``~/.cache/symalr``), same layout;
3. Debian's ``/usr/share/datasets/fashion-mnist`` (Fashion-MNIST only);
4. a download from the official location into the user cache (streamed, verified, then
   renamed into place atomically), unless ``download=False`` or ``$SYMALR_NO_DOWNLOAD=1``.

A copy that is missing a file or has a file whose checksum does not match is skipped; when
nothing verifies, one :class:`DataError` names every place tried and what was wrong there.
Pickles are only unpickled after their bytes matched a known checksum.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symalr.errors import DataError

FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_TARBALL = "cifar-10-python.tar.gz"
CIFAR10_TARBALL_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
#: The reference copy in shared/data (rebuilt from a JPEG export of CIFAR-10).
CIFAR10_SHA256 = {
    "batches.meta": "2dbdaa4e95c808f316e6e8231a8ab22f7829486ffa2614b9e95a359295bb70df",
    "data_batch_1": "e1a18996463b1b5aed5a4cd8f66c65e6f12f8c3b2350545827820c0fdb077624",
    "data_batch_2": "14b9b1dc7d95399e28704c7e00a854dbf7fa1acdd6a8548d2814afc0ffdfd5ac",
    "data_batch_3": "d1d9e5614d5dfa2a4fc2560ca647f724bb04364e13a0a13943d17b00f0464b0d",
    "data_batch_4": "7fedd6e5c408f79787502219d8dcd43f371d4dcc013668bb90a220eca7d8eb96",
    "data_batch_5": "b850065db87ef0c71dcd94833484ed0ef49bbb19a5788f7b98dfc8ab4caae7c8",
    "test_batch": "cb7277bc060b354d7d72e5de4960b2580ea06faa886ee85c927e07c35ac6abff",
}
#: The official release's extracted files, by the MD5 sums published with it.
CIFAR10_OFFICIAL_MD5 = {
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
DATASET_NAMES = ("fashion-mnist", "cifar-10")
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist",
            "cifar10": "cifar-10", "cifar_10": "cifar-10"}  # fmt: skip


@dataclass(frozen=True)
class RawData:
    """A data set as stored: uint8 images ``(N, C, H, W)``, int64 labels, and where it came from.

    The training part keeps the official order (the split is made later, by seed)."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    source: str


def canonical_name(name: str) -> str:
    """``fashion-mnist`` or ``cifar-10`` for any accepted spelling; else :class:`DataError`."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in DATASET_NAMES:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASET_NAMES)}")
    return key


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/symalr``, or ``~/.cache/symalr`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symalr"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download_enabled(download: bool | None) -> bool:
    if download is not None:
        return download
    return os.environ.get("SYMALR_NO_DOWNLOAD", "").strip() in ("", "0")


def explicit_root(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder given by the user: ``data_dir`` if not None, else ``$SYMALR_DATA_DIR``."""
    explicit = data_dir if data_dir is not None else os.environ.get("SYMALR_DATA_DIR") or None
    return None if explicit is None else Path(explicit).expanduser()


# --------------------------------------------------------------------------- verification


def _check_folder(folder: Path, names: dict[str, str], alt_md5: dict[str, str] | None) -> str:
    """'' if every file of ``names`` in ``folder`` verifies, else what is wrong (short)."""
    present = [n for n in names if (folder / n).is_file()]
    if not present:
        return "not found"
    if len(present) < len(names):
        return "missing " + ", ".join(n for n in names if n not in present)
    bad = [n for n, digest in names.items() if sha256_file(folder / n) != digest]
    if bad and alt_md5 is not None and all(_md5_file(folder / n) == alt_md5[n] for n in names):
        return ""
    return "checksum mismatch in " + ", ".join(bad) if bad else ""


def _check_tarball(path: Path) -> str:
    if not path.is_file():
        return "not found"
    return "" if sha256_file(path) == CIFAR10_TARBALL_SHA256 else "checksum mismatch"


def candidates(name: str, data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Every place looked at for data set ``name`` (canonical), in lookup order, as
    (kind, path) with kind ``"folder"`` or ``"tarball"``; the download comes after them."""
    out: list[tuple[str, Path]] = []
    explicit = explicit_root(data_dir)
    for root in ([explicit] if explicit is not None else []) + [user_cache_dir()]:
        if name == "fashion-mnist":
            out.append(("folder", root / name))
            if root == explicit:
                out.append(("folder", root))
        else:
            out.append(("folder", root / CIFAR10_DIR))
            if root == explicit:
                out.append(("folder", root))
            out.append(("tarball", root / CIFAR10_TARBALL))
    if name == "fashion-mnist":
        out.append(("folder", DEBIAN_FASHION_MNIST))
    return out


def _locate(name: str, data_dir, download: bool | None) -> tuple[str, Path]:
    """(kind, path) of the first verified copy, downloading as the last resort."""
    tried: list[str] = []
    for kind, path in candidates(name, data_dir):
        if kind == "tarball":
            problem = _check_tarball(path)
        elif name == "fashion-mnist":
            problem = _check_folder(path, FASHION_MNIST_SHA256, None)
        else:
            problem = _check_folder(path, CIFAR10_SHA256, CIFAR10_OFFICIAL_MD5)
        if not problem:
            return kind, path
        tried.append(f"{path} ({problem})")
    if _download_enabled(download):
        try:
            return _download(name)
        except DataError as err:
            tried.append(str(err))
    else:
        tried.append("download disabled (download=False or SYMALR_NO_DOWNLOAD=1)")
    raise DataError(
        f"{name}: no verified copy found; tried: " + "; ".join(tried)
        + ". Point --data-dir or SYMALR_DATA_DIR at a folder holding it, or allow the download"
    )


# --------------------------------------------------------------------------- download


def download_file(url: str, dest: Path, sha256: str, timeout: float = 60.0) -> Path:
    """Stream ``url`` to ``dest`` (via a temporary file beside it), verify its SHA-256, then
    rename it into place atomically. Raises :class:`DataError` naming the URL on any failure;
    nothing is left at ``dest`` unless it verified."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    except OSError as err:
        raise DataError(f"download {url}: cannot write into {dest.parent}: {err}") from None
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        request = urllib.request.Request(url, headers={"User-Agent": "symalr"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as r:
            for block in iter(lambda: r.read(1 << 20), b""):
                h.update(block)
                out.write(block)
        if h.hexdigest() != sha256:
            raise DataError(f"download {url}: checksum mismatch (got {h.hexdigest()[:12]}...)")
        os.replace(tmp, dest)
    except OSError as err:
        raise DataError(f"download {url} failed: {err}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _download(name: str, base_url: str | None = None) -> tuple[str, Path]:
    cache = user_cache_dir()
    if name == "fashion-mnist":
        base = base_url or FASHION_MNIST_URL
        for fname, digest in FASHION_MNIST_SHA256.items():
            target = cache / name / fname
            if not (target.is_file() and sha256_file(target) == digest):
                download_file(base + fname, target, digest)
        return "folder", cache / name
    base = base_url or CIFAR10_URL
    return "tarball", download_file(base + CIFAR10_TARBALL, cache / CIFAR10_TARBALL,
                                    CIFAR10_TARBALL_SHA256)


def download(name: str, base_url: str | None = None) -> Path:
    """Download data set ``name`` into the user cache from ``base_url`` (default: the official
    location) and return where it now lies. Files already there and verified are kept."""
    return _download(canonical_name(name), base_url)[1]


# --------------------------------------------------------------------------- readers


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_fashion_mnist(folder: Path) -> RawData:
    """Read the four IDX files in ``folder`` (no verification: see :func:`load_raw`)."""
    def images(fname):
        return _read_idx(folder / fname)[:, None, :, :]

    return RawData(
        name="fashion-mnist",
        train_x=images("train-images-idx3-ubyte.gz"),
        train_y=_read_idx(folder / "train-labels-idx1-ubyte.gz").astype(np.int64),
        test_x=images("t10k-images-idx3-ubyte.gz"),
        test_y=_read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64),
        source=str(folder),
    )


def read_cifar10(path: Path) -> RawData:
    """Read the python batches from folder ``path`` or from the tarball ``path``, in place.

    Unpickles: only for files already verified (see :func:`load_raw`)."""
    batches: dict[str, dict] = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    if path.is_dir():
        for n in names:
            with open(path / n, "rb") as f:
                batches[n] = pickle.load(f, encoding="bytes")  # verified bytes only
    else:
        with tarfile.open(path, "r:*") as tar:
            for n in names:
                member = tar.extractfile(f"{CIFAR10_DIR}/{n}")
                batches[n] = pickle.load(member, encoding="bytes")  # verified tarball only

    def join(keys):
        x = np.concatenate([batches[k][b"data"] for k in keys]).reshape(-1, 3, 32, 32)
        y = np.concatenate([np.asarray(batches[k][b"labels"], dtype=np.int64) for k in keys])
        return x, y

    train_x, train_y = join(names[:5])
    test_x, test_y = join(names[5:])
    return RawData("cifar-10", train_x, train_y, test_x, test_y, str(path))


def load_raw(
    name: str, data_dir: str | os.PathLike | None = None, download: bool | None = None
) -> RawData:
    """Find, verify and read data set ``name`` (see the module doc for the lookup order).

    ``download=None`` follows ``$SYMALR_NO_DOWNLOAD``. Raises :class:`DataError` when no
    verified copy can be found or fetched.
    """
    name = canonical_name(name)
    _, path = _locate(name, data_dir, download)
    return read_fashion_mnist(path) if name == "fashion-mnist" else read_cifar10(path)
