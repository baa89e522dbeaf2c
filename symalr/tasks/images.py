"""Image-classification tasks on the real data sets (Fashion-MNIST, CIFAR-10).

:func:`image_task` builds a :class:`~symalr.tasks.base.Task` whose data are seeded, stratified
splits made exactly as the evolution's and the benchmark's splits (:mod:`symalr.train.datasets`:
pixels scaled to [0, 1], the training portion's mean image subtracted from every split):

- ``test="train"``: train, validation and test all from the official training images, in
  that order of one stratified order (Algorithm 1's split: its "fitness set" is the test split);
- ``test="official"``: train and validation from the official training images, the test split
  the official test images (all of them, or a stratified subset of ``sizes[2]``).

Data are found through the data folder lookup (``--data-dir``, ``$SYMALR_DATA_DIR``, the user
cache, ...) when ``data(seed)`` is first called, not when the task is built.
"""

from __future__ import annotations

from collections.abc import Callable

from symalr.tasks.base import Task, TaskData


def image_data(dataset: str, sizes: tuple[int, ...], test: str, seed: int,
               data_dir: str | None = None) -> TaskData:
    """The split of the module docstring (:func:`symalr.train.datasets.split_images`)."""
    from symalr.train.datasets import split_images

    return split_images(dataset, tuple(sizes), test, seed, data_dir)


def image_task(name: str, dataset: str, model: Callable[[int, tuple[int, ...]], object],
               sizes: tuple[int, ...], test: str = "official", *, batch_size: int,
               epochs: int, patience: int | None = None, doc: str = "", version: int = 1,
               data_dir: str | None = None) -> Task:
    """A classification task on ``dataset`` (``fashion-mnist`` or ``cifar-10``).

    ``model(seed, input_shape)`` builds the model; ``sizes`` are (train, validation[, test])
    image counts; ``test`` is ``"official"`` or ``"train"`` (module docstring)."""
    shape = {"fashion-mnist": (1, 28, 28), "cifar-10": (3, 32, 32)}[dataset]
    sizes = tuple(int(s) for s in sizes)

    def data(seed: int) -> TaskData:
        return image_data(dataset, sizes, test, int(seed), data_dir)

    def build(seed: int):
        return model(int(seed), shape)

    return Task(name, data, build, batch_size=batch_size, epochs=epochs, patience=patience,
                version=version, doc=doc)
