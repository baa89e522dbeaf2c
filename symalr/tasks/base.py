"""What an optimizer is trained on: :class:`Task` (docs/tasks.md).

A task is a frozen value that a user can write in a few lines:

- ``name``, ``version`` (bump it when the task changes: cached baselines and fitness keys
  carry it) and ``doc`` (what it tests and why);
- ``data(seed) -> TaskData``: a deterministic split from a seed into train, validation and
  test arrays (``x`` float32 of any shape ``(N, ...)``; ``y`` int64 class labels for
  ``metric="accuracy"``, float32 targets for ``metric="loss"``);
- ``model(seed) -> torch.nn.Module``: a freshly built model whose initial weights depend only
  on the seed (the same seed, the same weights);
- ``loss``: ``"cross_entropy"`` (logits against labels) or ``"mse"``;
- ``metric``: ``"accuracy"``, or ``"loss"`` for tasks without classes, scored in decades of
  loss reduction: ``clip(log10((L0 - floor) / (L - floor)) / decades, 0, 1)`` with ``L0`` the
  initial model's loss on that split and ``floor`` the known minimum (``TaskData.floors``,
  default 0) — 1.0 means ``decades`` orders of magnitude closer to the minimum;
- ``batch_size``, ``epochs`` (the budget) and ``patience`` (early stopping on the validation
  loss; ``None`` trains every epoch).

Every score is higher-better and lies in ``[0, 1]``, so it can be stated as a ratio to tuned
Adam's. This module imports neither torch nor NumPy-heavy code at import time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from symalr.errors import TaskError

LOSSES = ("cross_entropy", "mse")
METRICS = ("accuracy", "loss")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` and targets ``y`` of one split (NumPy arrays, first axis = examples)."""

    x: Any
    y: Any

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class TaskData:
    """A task's data for one seed. ``floors`` holds the known minimum loss of the validation
    and test splits (``metric="loss"`` tasks with a known minimum); absent means 0."""

    train: Split
    validation: Split
    test: Split
    floors: Mapping[str, float] = field(default_factory=dict)

    def floor(self, split: str) -> float:
        return float(self.floors.get(split, 0.0))


@dataclass(frozen=True)
class Task:
    """A training problem (see the module docstring)."""

    name: str
    data: Callable[[int], TaskData]
    model: Callable[[int], Any]
    loss: str = "cross_entropy"
    metric: str = "accuracy"
    batch_size: int = 100
    epochs: int = 5
    patience: int | None = None
    decades: float = 3.0
    version: int = 1
    doc: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise TaskError(f"task name {self.name!r}: use 1-64 letters, digits and '_ . -', "
                            "starting with a letter")
        where = f"task {self.name}"
        if not callable(self.data) or not callable(self.model):
            raise TaskError(f"{where}: 'data' and 'model' must be callables of a seed")
        if self.loss not in LOSSES:
            raise TaskError(f"{where}: loss must be one of {', '.join(LOSSES)}, got "
                            f"{self.loss!r}")
        if self.metric not in METRICS:
            raise TaskError(f"{where}: metric must be one of {', '.join(METRICS)}, got "
                            f"{self.metric!r}")
        if self.metric == "accuracy" and self.loss != "cross_entropy":
            raise TaskError(f"{where}: metric 'accuracy' needs loss 'cross_entropy'")
        for key, low, high in (("batch_size", 1, 1_000_000), ("epochs", 1, 100_000),
                               ("version", 0, 2**31)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise TaskError(f"{where}: {key} must be an integer in [{low}, {high}], got "
                                f"{value!r}")
        if self.patience is not None and (isinstance(self.patience, bool)
                                          or not isinstance(self.patience, int)
                                          or self.patience < 1):
            raise TaskError(f"{where}: patience must be a positive integer or None")
        if not (isinstance(self.decades, (int, float)) and math.isfinite(self.decades)
                and self.decades > 0):
            raise TaskError(f"{where}: decades must be a positive number")

    @property
    def key(self) -> str:
        """``name@version``: what cached results of this task are filed under."""
        return f"{self.name}@{self.version}"


def loss_score(loss: float, initial: float, floor: float, decades: float) -> float:
    """Decades of loss reduction towards ``floor``, divided by ``decades``, in ``[0, 1]``
    (0 for a non-finite loss or no progress)."""
    if not (math.isfinite(loss) and math.isfinite(initial)):
        return 0.0
    gap0, gap = initial - floor, loss - floor
    if gap0 <= 0:
        return 1.0 if gap <= 0 else 0.0
    if gap <= gap0 * 10.0 ** -decades:
        return 1.0
    return max(0.0, min(1.0, math.log10(gap0 / gap) / decades))
