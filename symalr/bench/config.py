"""Benchmark configuration: presets, overrides from a JSON file or flags, validation (see docs/benchmark.md).

A :class:`BenchConfig` is built from a preset and a mapping of overrides; every key and value
is declared with its bounds (:mod:`symalr.settings`, see docs/inputs.md), and an unknown key or
a bad value is a one-line :class:`ConfigError` naming the file (or ``flags``), the key, the
value and the bound. Presets:

``paper``
    the paper's protocol: the full training split (53,000 Fashion-MNIST / 43,000 CIFAR-10
    images), 7,000 validation images, the official 10,000 test images; 100 tuning calls of
    100 epochs with 10 random initial points after the defaults probe; 30 trials of 1,000
    epochs; batch 1,000 (Table 1's batch size; the paper does not state the benchmark's).
``quick`` (default)
    a CPU-sized version (about half an hour on two cores for five optimizers on
    Fashion-MNIST): 10,600 training images (the size of one of the evolution's chunks), the same
    validation and test sets, 6 tuning calls (defaults + 3 random + 2 guided) of 2 epochs, and
    5 trials of 3 epochs (an epoch of ``mnist_cnn`` on these images takes ~10 s there).

No early stopping anywhere (as in the paper); the tuning objective is the best validation
accuracy of a training, and trials keep the best-validation weights for the test.

``device`` (``cpu``, ``cuda``, ``cuda:N``, ``auto``) and ``stacking`` (``auto``, ``on``, ``off``;
:func:`symalr.train.stacking.decide_stacking`: ``auto`` stacks on CUDA only) say where and how
trainings run; they are not part of the protocol (stacked trials equal sequential ones up to
float32 rounding).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from symalr.errors import ConfigError
from symalr.settings import (
    MAX_PATH_CHARS,
    MAX_SEED,
    bound_error,
    check_fields,
    check_layer,
    setting,
    show,
)
from symalr.train.device import check_device_name
from symalr.train.stacking import STACKING

#: Canonical data set name -> (paper model, paper training size).
DATASETS: dict[str, tuple[str, int]] = {
    "fashion-mnist": ("mnist_cnn", 53_000),
    "cifar-10": ("cifar_cnn", 43_000),
}
#: The paper's validation split size (from the official training images).
VALIDATION_SIZE = 7_000
#: The optimizers of the paper's Tables 2 and 3.
PAPER_OPTIMIZERS = ("ades", "sign", "adam", "rmsprop", "nesterov")


@dataclass(frozen=True)
class BenchConfig:
    """Everything that decides what a benchmark computes (stored with every benchmark).

    ``train_size=None`` means the paper's full training split; ``model=None`` the paper's model
    for the data set. ``tune_calls`` counts every training of the tuning, the defaults probe
    included; ``tune_initial_points`` random points follow the probe (at most
    ``tune_calls - 1``), then the Gaussian process proposes. ``tune_calls=0`` skips tuning and
    trains the defaults. ``seed`` drives the tuning and the trial seeds; ``split_seed`` the
    train/validation split.
    """

    dataset: str = setting("fashion-mnist", min_len=1, max_len=100, why="a data set name")
    optimizers: tuple[str, ...] = setting(PAPER_OPTIMIZERS, min_len=1, max_len=100,
                                          why="each is tuned and trialled in turn")
    model: str | None = setting(None, min_len=1, max_len=100, why="a model name")
    train_size: int | None = setting(None, low=1, high=max(n for _, n in DATASETS.values()),
                                     why="at most the paper's training split")
    val_size: int = setting(VALIDATION_SIZE, low=1, high=VALIDATION_SIZE,
                            why="the images the paper's training split leaves")
    batch_size: int | None = setting(None, low=1, high=60_000,
                                     why="at most the data; none: the paper's or the task's")
    tune_calls: int = setting(100, low=0, high=10_000, why="trainings; paper: 100")
    tune_initial_points: int = setting(10, low=0, high=10_000, why="paper: 10")
    tune_epochs: int | None = setting(None, low=1, high=100_000,
                                      why="paper: 100; none: the paper's or the task's")
    trials: int = setting(30, low=0, high=10_000, why="paper: 30")
    trial_epochs: int | None = setting(None, low=1, high=100_000,
                                       why="paper: 1,000; none: the paper's or the task's")
    seed: int = setting(0, low=0, high=MAX_SEED, why="stored as a signed 64-bit integer")
    split_seed: int = setting(0, low=0, high=MAX_SEED, why="stored as a signed 64-bit integer")
    data_dir: str | None = setting(None, min_len=1, max_len=MAX_PATH_CHARS, why="a path")
    device: str = setting("cpu", min_len=1, max_len=100, why="cpu, cuda, cuda:N or auto")
    stacking: str = setting("auto", choices=STACKING)
    task: str | None = setting(None, min_len=1, max_len=MAX_PATH_CHARS,
                               why="a built-in task or module:function")

    def __post_init__(self) -> None:
        from symalr.errors import DataError
        from symalr.train.data import canonical_name

        check_fields(self)
        try:
            dataset = canonical_name(self.dataset)
        except DataError as err:
            raise ConfigError(f"dataset: {err}") from None
        object.__setattr__(self, "dataset", dataset)
        if self.train_size is not None and self.train_size > self.full_train_size:
            raise bound_error("train_size", self.train_size,
                              f"at most {self.full_train_size}, the training images of "
                              f"{self.dataset}")
        if self.task is not None and (self.model is not None or self.train_size is not None):
            raise ConfigError("task: a task brings its own model and data; drop model and "
                              "train_size")
        check_device_name(self.device)

    @property
    def full_train_size(self) -> int:
        """The paper's training split size for this data set."""
        return DATASETS[self.dataset][1]

    @property
    def model_name(self) -> str:
        return self.model or DATASETS[self.dataset][0]

    @property
    def initial_points(self) -> int:
        """Random points after the defaults probe (skopt needs them to fit in the calls)."""
        return max(0, min(self.tune_initial_points, self.tune_calls - 1))

    @property
    def label(self) -> str:
        """What the benchmark is on: the data set, or the task's name."""
        return self.task or self.dataset

    def budget(self, task=None) -> tuple[int, int, int]:
        """(batch size, tuning epochs, trial epochs): the configured values, else the task's
        (``task``: the :class:`~symalr.tasks.Task` of ``self.task``), else the paper's (batch
        1,000, 100 tuning epochs, 1,000 trial epochs)."""
        defaults = (task.batch_size, task.epochs, task.epochs) if task else (1000, 100, 1000)
        given = (self.batch_size, self.tune_epochs, self.trial_epochs)
        return tuple(g if g is not None else d for g, d in zip(given, defaults))

    def protocol(self, task=None) -> dict[str, Any]:
        """What makes trial results comparable: trials with equal protocols pool in tables.
        ``task`` is the loaded :class:`~symalr.tasks.Task` when ``self.task`` is set."""
        batch_size, _, trial_epochs = self.budget(task)
        if task is not None:
            return {"dataset": task.name, "task": task.key, "split_seed": self.split_seed,
                    "batch_size": batch_size, "trial_epochs": trial_epochs}
        return {
            "dataset": self.dataset, "model": self.model_name,
            "train_size": self.train_size or self.full_train_size, "val_size": self.val_size,
            "split_seed": self.split_seed, "batch_size": batch_size,
            "trial_epochs": trial_epochs,
        }  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["optimizers"] = list(self.optimizers)
        return out


_PRESET_VALUES: dict[str, dict[str, Any]] = {
    "paper": dict(batch_size=1000, tune_epochs=100, trial_epochs=1000),
    "quick": dict(train_size=10_600, batch_size=1000, tune_calls=6, tune_initial_points=3,
                  tune_epochs=2, trials=5, trial_epochs=3),
}
#: Preset values that size the paper's data and training; a task brings its own.
_PAPER_ONLY = ("train_size", "batch_size", "tune_epochs", "trial_epochs")
PRESETS = tuple(_PRESET_VALUES)
KEYS = tuple(f.name for f in fields(BenchConfig))


def build_config(
    preset: str = "quick", overrides: Mapping[str, Any] | None = None, where: str = "flags"
) -> BenchConfig:
    """The config of ``preset`` with ``overrides`` applied (keys of :class:`BenchConfig`;
    ``None`` values are ignored). ``where`` names the source in error messages."""
    if preset not in _PRESET_VALUES:
        raise ConfigError(f"preset = {show(preset)}: expected one of "
                          f"{', '.join(map(repr, PRESETS))}")
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    preset_values = dict(_PRESET_VALUES[preset])
    if given.get("task") is not None:
        preset_values = {k: v for k, v in preset_values.items() if k not in _PAPER_ONLY}
    values = {**preset_values, **check_layer(BenchConfig, given, where)}
    try:
        return BenchConfig(**values)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


def load_overrides(path: str | Path) -> dict[str, Any]:
    """The overrides in a JSON config file (an object whose keys are :data:`KEYS`), read by
    :func:`symalr.fileio.read_input_text` (a regular UTF-8 file of bounded size)."""
    from symalr.fileio import read_input_text

    where = str(path)
    text = read_input_text(path, "benchmark config", ConfigError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{where}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    except RecursionError:
        raise ConfigError(f"{where}: invalid JSON: nested too deeply") from None
    except ValueError:  # Python's limit on the digits of an integer literal
        raise ConfigError(f"{where}: invalid JSON: a number has too many digits") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a benchmark config must be a JSON object")
    return data
