"""Data files: checksums, lookup order, errors, download, readers, preprocessing and splits.

Real data from ``$SYMALR_DATA_DIR`` (CI: ``../shared/data``), else ``<repo>/../shared/data``.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest

from symalr.errors import ConfigError, DataError
from symalr.train import data as D
from symalr.train.datasets import (
    benchmark_data,
    fitness_data,
    split_images,
    split_indices,
    stratified_order,
)
from tests.support import DATA_DIR


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No env data dir, an empty user cache, downloads off."""
    monkeypatch.delenv("SYMALR_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("SYMALR_NO_DOWNLOAD", "1")
    return tmp_path


def _link_fashion(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in D.FASHION_MNIST_SHA256:
        (folder / name).symlink_to(DATA_DIR / "fashion-mnist" / name)
    return folder


def test_embedded_checksums_are_those_of_shared_data():
    listed = {}
    for line in (DATA_DIR / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split()
        listed[path] = digest
    embedded = {f"fashion-mnist/{k}": v for k, v in D.FASHION_MNIST_SHA256.items()}
    embedded |= {f"cifar-10-batches-py/{k}": v for k, v in D.CIFAR10_SHA256.items()}
    assert embedded == listed
    for path, digest in listed.items():
        assert D.sha256_file(DATA_DIR / path) == digest


def test_fashion_mnist_reads_official_shapes_and_balanced_labels(isolated):
    raw = D.load_raw("fashion_mnist", DATA_DIR)
    assert raw.train_x.shape == (60_000, 1, 28, 28) and raw.train_x.dtype == np.uint8
    assert raw.test_x.shape == (10_000, 1, 28, 28)
    assert np.bincount(raw.train_y).tolist() == [6000] * 10
    assert np.bincount(raw.test_y).tolist() == [1000] * 10
    assert raw.train_y[:5].tolist() == [9, 0, 0, 3, 0]  # official order
    assert raw.source == str(DATA_DIR / "fashion-mnist")


def test_cifar10_reads_folder_and_tarball_alike(isolated):
    raw = D.load_raw("cifar10", DATA_DIR)
    assert raw.train_x.shape == (50_000, 3, 32, 32) and raw.test_x.shape == (10_000, 3, 32, 32)
    assert np.bincount(raw.train_y).tolist() == [5000] * 10
    assert np.bincount(raw.test_y).tolist() == [1000] * 10
    tar_path = isolated / "cifar.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(DATA_DIR / D.CIFAR10_DIR, arcname=D.CIFAR10_DIR)
    from_tar = D.read_cifar10(tar_path)
    assert np.array_equal(from_tar.train_x, raw.train_x)
    assert np.array_equal(from_tar.test_y, raw.test_y)


def test_lookup_order(isolated, monkeypatch):
    cache = isolated / "cache" / "symalr"
    monkeypatch.setenv("SYMALR_DATA_DIR", "/env/dir")
    assert D.candidates("fashion-mnist", "/explicit") == [
        ("folder", Path("/explicit/fashion-mnist")), ("folder", Path("/explicit")),
        ("folder", cache / "fashion-mnist"), ("folder", D.DEBIAN_FASHION_MNIST)]
    assert D.candidates("fashion-mnist")[0] == ("folder", Path("/env/dir/fashion-mnist"))
    assert D.candidates("cifar-10", "/x") == [
        ("folder", Path("/x/cifar-10-batches-py")), ("folder", Path("/x")),
        ("tarball", Path("/x/cifar-10-python.tar.gz")),
        ("folder", cache / "cifar-10-batches-py"), ("tarball", cache / "cifar-10-python.tar.gz")]
    monkeypatch.delenv("SYMALR_DATA_DIR")
    assert D.candidates("fashion-mnist")[0] == ("folder", cache / "fashion-mnist")


def test_explicit_dir_wins_then_env_then_cache(isolated, monkeypatch):
    good = _link_fashion(isolated / "good" / "fashion-mnist").parent
    monkeypatch.setenv("SYMALR_DATA_DIR", str(isolated / "empty"))
    assert D.load_raw("fashion-mnist", good).source == str(good / "fashion-mnist")
    monkeypatch.setenv("SYMALR_DATA_DIR", str(good / "fashion-mnist"))  # the folder itself
    assert D.load_raw("fashion-mnist").source == str(good / "fashion-mnist")
    monkeypatch.delenv("SYMALR_DATA_DIR")
    cached = _link_fashion(isolated / "cache" / "symalr" / "fashion-mnist")
    assert D.load_raw("fashion-mnist").source == str(cached)


def test_missing_everywhere_is_one_error_naming_every_place(isolated):
    with pytest.raises(DataError) as err:
        D.load_raw("fashion-mnist", isolated / "nowhere")
    msg = str(err.value)
    assert "\n" not in msg
    for _, path in D.candidates("fashion-mnist", isolated / "nowhere"):
        assert str(path) in msg
    assert "download disabled" in msg and "SYMALR_DATA_DIR" in msg


def test_corrupt_file_is_named_and_skipped_for_a_good_copy(isolated):
    bad = _link_fashion(isolated / "bad" / "fashion-mnist")
    (bad / "train-labels-idx1-ubyte.gz").unlink()
    (bad / "train-labels-idx1-ubyte.gz").write_bytes(b"not the labels")
    with pytest.raises(DataError, match="checksum mismatch in train-labels-idx1-ubyte.gz"):
        D.load_raw("fashion-mnist", bad.parent)
    (bad / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-images-idx3-ubyte.gz"):
        D.load_raw("fashion-mnist", bad.parent)
    _link_fashion(isolated / "cache" / "symalr" / "fashion-mnist")
    assert "cache" in D.load_raw("fashion-mnist", bad.parent).source


def test_download_streams_verifies_and_renames_into_the_cache(isolated):
    mirror = (DATA_DIR / "fashion-mnist").as_uri() + "/"
    where = D.download("fashion-mnist", base_url=mirror)
    assert where == isolated / "cache" / "symalr" / "fashion-mnist"
    assert sorted(p.name for p in where.iterdir()) == sorted(D.FASHION_MNIST_SHA256)
    assert D.load_raw("fashion-mnist", isolated / "nowhere", download=False).source == str(where)


def test_download_with_wrong_checksum_leaves_nothing(isolated):
    src = isolated / "mirror"
    src.mkdir()
    (src / D.CIFAR10_TARBALL).write_bytes(b"not CIFAR-10")
    with pytest.raises(DataError, match="checksum mismatch"):
        D.download("cifar-10", base_url=src.as_uri() + "/")
    cache = isolated / "cache" / "symalr"
    assert not cache.exists() or list(cache.iterdir()) == []
    with pytest.raises(DataError, match="failed"):
        D.download("cifar-10", base_url=(isolated / "none").as_uri() + "/")


def test_unknown_dataset_name():
    with pytest.raises(DataError, match="unknown data set 'mnist'"):
        D.canonical_name("mnist")


def test_stratified_split_sizes_disjoint_balanced_and_seeded():
    labels = np.repeat(np.arange(10), 6000)
    parts = split_indices(labels, (53_000, 3_500, 3_500), seed=3)
    assert [len(p) for p in parts] == [53_000, 3_500, 3_500]
    assert len(np.unique(np.concatenate(parts))) == 60_000
    assert np.bincount(labels[parts[1]]).tolist() == [350] * 10
    for k in range(5):  # every chunk of the training part is stratified too
        counts = np.bincount(labels[parts[0][k * 10_600:(k + 1) * 10_600]], minlength=10)
        assert counts.min() >= 1059 and counts.max() <= 1061
    again = split_indices(labels, (53_000, 3_500, 3_500), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    other = split_indices(labels, (53_000, 3_500, 3_500), seed=4)
    assert not np.array_equal(parts[1], other[1])


def test_stratified_order_keeps_proportions_of_unbalanced_labels():
    labels = np.array([0] * 900 + [1] * 100)
    order = stratified_order(labels, np.random.default_rng(0))
    for stop in (100, 250, 500):
        assert abs(int((labels[order[:stop]] == 1).sum()) - stop // 10) <= 1


def test_split_sizes_are_checked():
    with pytest.raises(ConfigError, match="more than the 100 images"):
        split_indices(np.zeros(100, int), (90, 20), 0)


def test_fitness_data_is_algorithm_1_split(isolated):
    data = fitness_data("fashion-mnist", seed=0, data_dir=str(DATA_DIR))
    assert [len(c) for c in data.chunks] == [10_600] * 5
    assert (len(data.validation), len(data.fitness)) == (3_500, 3_500)
    for part in (*data.chunks, data.validation, data.fitness):
        assert part.x.dtype == np.float32 and not part.x.flags.writeable
        assert np.bincount(part.y).tolist() == [len(part) // 10] * 10
    train_x = np.concatenate([c.x for c in data.chunks])
    assert abs(float(train_x.mean(axis=0).max())) < 1e-5  # training-part mean removed
    raw = D.load_raw("fashion-mnist", DATA_DIR)
    train_idx = split_indices(raw.train_y, (53_000, 3_500, 3_500), 0)[0]
    mean = raw.train_x[train_idx].mean(axis=0) / 255.0
    first = raw.train_x[train_idx[0]] / 255.0  # scaled to [0, 1], then the mean removed
    assert np.allclose(data.chunks[0].x[0], first - mean, atol=1e-6)
    assert np.allclose(data.fitness.x, raw.train_x[split_indices(
        raw.train_y, (53_000, 3_500, 3_500), 0)[2]] / 255.0 - mean, atol=1e-6)
    split_images.cache_clear()
    again = fitness_data("fashion-mnist", seed=0, data_dir=str(DATA_DIR))
    assert again is not data and np.array_equal(again.fitness.x, data.fitness.x)
    assert np.array_equal(again.chunks[4].y, data.chunks[4].y)


def test_benchmark_data_uses_the_official_test_set(isolated):
    data = benchmark_data("fashion-mnist", (53_000, 7_000), seed=1, data_dir=str(DATA_DIR))
    assert (len(data.train), len(data.validation), len(data.test)) == (53_000, 7_000, 10_000)
    raw = D.load_raw("fashion-mnist", DATA_DIR)
    assert np.array_equal(data.test.y, raw.test_y)
