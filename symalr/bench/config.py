"""Benchmark configuration: presets, overrides from a JSON file or flags, validation (SPEC §8).

A :class:`BenchConfig` is built from a preset and a mapping of overrides; every key and value
is checked, and an unknown key or a bad value is a :class:`ConfigError` naming it (and the file
it came from). Presets:

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
:func:`symalr.train.schedule.decide_stacking`: ``auto`` stacks on CUDA only) say where and how
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
from symalr.train.device import check_device_name
from symalr.train.schedule import STACKING

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

    dataset: str = "fashion-mnist"
    optimizers: tuple[str, ...] = PAPER_OPTIMIZERS
    model: str | None = None
    train_size: int | None = None
    val_size: int = VALIDATION_SIZE
    batch_size: int = 1000
    tune_calls: int = 100
    tune_initial_points: int = 10
    tune_epochs: int = 100
    trials: int = 30
    trial_epochs: int = 1000
    seed: int = 0
    split_seed: int = 0
    data_dir: str | None = None
    device: str = "cpu"
    stacking: str = "auto"

    def __post_init__(self) -> None:
        from symalr.errors import DataError
        from symalr.train.data import canonical_name

        try:
            dataset = canonical_name(str(self.dataset))
        except DataError as err:
            raise ConfigError(f"dataset: {err}") from None
        object.__setattr__(self, "dataset", dataset)
        if isinstance(self.optimizers, str) or not self.optimizers:
            raise ConfigError("optimizers: give a non-empty list of optimizer names")
        object.__setattr__(self, "optimizers", tuple(str(o) for o in self.optimizers))
        positive = ("train_size", "val_size", "batch_size", "tune_epochs", "trial_epochs")
        non_negative = ("tune_calls", "tune_initial_points", "trials", "seed", "split_seed")
        for key in positive + non_negative:
            value = getattr(self, key)
            if value is None and key == "train_size":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{key}: expected an integer, got {value!r}")
            least = 1 if key in positive else 0
            if value < least:
                raise ConfigError(f"{key}: must be at least {least}, got {value}")
        if self.train_size is not None and self.train_size > self.full_train_size:
            raise ConfigError(f"train_size: {self.train_size} is more than the "
                              f"{self.full_train_size} training images of {self.dataset}")
        if self.model is not None and not isinstance(self.model, str):
            raise ConfigError(f"model: expected a model name, got {self.model!r}")
        check_device_name(self.device)
        if self.stacking not in STACKING:
            raise ConfigError(f"stacking: choose one of {', '.join(STACKING)}, got "
                              f"{self.stacking!r}")

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

    def protocol(self) -> dict[str, Any]:
        """What makes trial results comparable: trials with equal protocols pool in tables."""
        return {
            "dataset": self.dataset, "model": self.model_name,
            "train_size": self.train_size or self.full_train_size, "val_size": self.val_size,
            "split_seed": self.split_seed, "batch_size": self.batch_size,
            "trial_epochs": self.trial_epochs,
        }  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["optimizers"] = list(self.optimizers)
        return out


_PRESET_VALUES: dict[str, dict[str, Any]] = {
    "paper": {},
    "quick": dict(train_size=10_600, tune_calls=6, tune_initial_points=3, tune_epochs=2,
                  trials=5, trial_epochs=3),
}
PRESETS = tuple(_PRESET_VALUES)
KEYS = tuple(f.name for f in fields(BenchConfig))


def build_config(
    preset: str = "quick", overrides: Mapping[str, Any] | None = None, where: str = "flags"
) -> BenchConfig:
    """The config of ``preset`` with ``overrides`` applied (keys of :class:`BenchConfig`;
    ``None`` values are ignored). ``where`` names the source in error messages."""
    if preset not in _PRESET_VALUES:
        raise ConfigError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    values = dict(_PRESET_VALUES[preset])
    for key, value in (overrides or {}).items():
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(KEYS)})")
        if value is not None:
            values[key] = value
    if isinstance(values.get("optimizers"), list):
        values["optimizers"] = tuple(values["optimizers"])
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
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a benchmark config must be a JSON object")
    return data
