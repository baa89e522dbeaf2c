"""Preprocessed, split data: the arrays that training sees (see docs/fitness.md).

Preprocessing: pixels scaled to [0, 1] (float32), then the per-pixel mean of the *training
portion* subtracted from every split alike.

Splits are seeded and stratified: :func:`stratified_order` puts the official training images
into an order in which every prefix, and every run of consecutive images, holds the classes in
(nearly) the proportions of the whole; consecutive slices of that order are the splits, and the
training slice cut into equal consecutive chunks gives the disjoint, stratified chunks of
Algorithm 1. The order depends only on the labels and the seed, so every individual of a run
(and every worker process) gets the same split.

Results are cached per process (the arrays are read-only), keyed by every argument.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from symalr.errors import ConfigError
from symalr.tasks.base import Split, TaskData
from symalr.train.data import canonical_name, load_raw


@dataclass(frozen=True)
class FitnessData:
    """Algorithm 1's data: disjoint training chunks (one per evaluation), the evolutionary
    validation set and the fitness-assignment set, all from the official training images."""

    chunks: tuple[Split, ...]
    validation: Split
    fitness: Split


@dataclass(frozen=True)
class BenchmarkData:
    """The benchmark protocol's data (docs/benchmark.md): train and validation from the official training images, the official
    test set untouched."""

    train: Split
    validation: Split
    test: Split


def stratified_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation of ``range(len(labels))`` in which any run of consecutive positions holds
    each class within about one item of its overall proportion.

    Each class is shuffled, its k-th item (of n) is given the key ``(k + u) / n`` with one
    uniform offset ``u`` per class, and all items are sorted by key (ties broken at random).
    """
    labels = np.asarray(labels)
    keys = np.empty(len(labels), dtype=np.float64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        keys[idx] = (np.arange(len(idx)) + rng.random()) / len(idx)
    tiebreak = rng.random(len(labels))
    return np.lexsort((tiebreak, keys))


def split_indices(
    labels: np.ndarray, sizes: tuple[int, ...], seed: int
) -> tuple[np.ndarray, ...]:
    """Disjoint, stratified index arrays of the given ``sizes`` (in order), from one seeded
    stratified order. Their sum may be less than ``len(labels)``; the rest is unused."""
    if any(s <= 0 for s in sizes):
        raise ConfigError(f"split sizes must be positive, got {tuple(sizes)}")
    if sum(sizes) > len(labels):
        raise ConfigError(f"split sizes {tuple(sizes)} add up to {sum(sizes)}, more than the "
                          f"{len(labels)} images available")
    order = stratified_order(labels, np.random.default_rng(seed))
    bounds = np.cumsum((0, *sizes))
    return tuple(order[a:b] for a, b in zip(bounds, bounds[1:]))


def mean_image(images: np.ndarray) -> np.ndarray:
    """The per-pixel mean of uint8 ``images`` on the [0, 1] scale (float64 sums, float32 out)."""
    return (images.mean(axis=0, dtype=np.float64) / 255.0).astype(np.float32)


def preprocess(images: np.ndarray, mean: np.ndarray) -> np.ndarray:
    out = images.astype(np.float32) / np.float32(255.0)
    out -= mean
    out.setflags(write=False)
    return out


def readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=8)
def split_images(dataset: str, sizes: tuple[int, ...], test: str, seed: int,
                 data_dir: str | None = None) -> TaskData:
    """The one split of a real image data set, seeded and stratified (module docstring):

    - ``test="train"``: train, validation and test all from the official training images,
      consecutive slices of one stratified order of sizes ``sizes`` (Algorithm 1's split);
    - ``test="official"``: train and validation (``sizes[:2]``) from the official training
      images; the test split is the official test set, or a stratified subset of
      ``sizes[2]`` of it drawn with the same seed.

    Every split is preprocessed with the mean image of the train split. Cached per process."""
    raw = load_raw(canonical_name(dataset), data_dir)
    if test == "train":
        train_idx, val_idx, test_idx = split_indices(raw.train_y, tuple(sizes), seed)
        test_x, test_y = raw.train_x[test_idx], raw.train_y[test_idx]
    elif test == "official":
        train_idx, val_idx = split_indices(raw.train_y, tuple(sizes[:2]), seed)
        test_x, test_y = raw.test_x, raw.test_y
        if len(sizes) > 2 and sizes[2] < len(test_y):
            (keep,) = split_indices(test_y, (sizes[2],), seed)
            test_x, test_y = test_x[keep], test_y[keep]
    else:
        raise ValueError(f"test must be 'train' or 'official', got {test!r}")
    mean = mean_image(raw.train_x[train_idx])

    def split(x, y):
        return Split(preprocess(x, mean), readonly(y))

    return TaskData(split(raw.train_x[train_idx], raw.train_y[train_idx]),
                    split(raw.train_x[val_idx], raw.train_y[val_idx]), split(test_x, test_y))


def fitness_data(
    dataset: str = "fashion-mnist",
    sizes: tuple[int, int, int] = (53_000, 3_500, 3_500),
    n_chunks: int = 5,
    seed: int = 0,
    data_dir: str | None = None,
) -> FitnessData:
    """Algorithm 1's split of the official training images (:func:`split_images` with
    ``test="train"``): ``sizes`` = (training, validation, fitness); the training part is cut
    into ``n_chunks`` equal consecutive chunks (a remainder of fewer than ``n_chunks`` images
    is dropped)."""
    if n_chunks < 1 or sizes[0] // n_chunks < 1:
        raise ConfigError(f"cannot cut {sizes[0]} training images into {n_chunks} chunks")
    data = split_images(dataset, tuple(sizes), "train", seed, data_dir)
    chunk = sizes[0] // n_chunks
    x, y = data.train.x, data.train.y
    return FitnessData(
        chunks=tuple(Split(x[k * chunk:(k + 1) * chunk], y[k * chunk:(k + 1) * chunk])
                     for k in range(n_chunks)),
        validation=data.validation,
        fitness=data.test,
    )


def benchmark_data(
    dataset: str = "fashion-mnist",
    sizes: tuple[int, int] = (53_000, 7_000),
    seed: int = 0,
    data_dir: str | None = None,
) -> BenchmarkData:
    """The benchmark's split (:func:`split_images` with ``test="official"``): train and
    validation from the official training images, the official test set."""
    data = split_images(dataset, tuple(sizes), "official", seed, data_dir)
    return BenchmarkData(train=data.train, validation=data.validation, test=data.test)
