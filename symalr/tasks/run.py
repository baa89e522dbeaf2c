"""Train one optimizer on one task: the training every task-based score comes from.

:func:`run_task` builds the task's model from the training seed (initial weights; dropout and
the batch order also derive from it: dropout from torch's generator seeded again after the
model is built, so the masks do not depend on how many numbers the construction drew, and a
stacked member seeded alike draws the same masks), takes the task's data from the data seed,
trains with the task's loss, batch size, budget and early stopping (on the validation loss),
optionally restores the best-validation weights, and scores the test split with the task's
metric. An exception raised by the optimizer under test (or the model on its output) is
contained: the run records it and scores what the model then computes. The tensors of a
task's data are cached per process by (task, data seed, device).
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from symalr.errors import TaskError
from symalr.tasks.base import Task, TaskData
from symalr.train.algorithm import one_line
from symalr.train.trainer import (
    EpochMetrics,
    Objective,
    TrainConfig,
    evaluate,
    train,
    uses_channels_last,
)

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]


@dataclass(frozen=True)
class TaskRun:
    """One training on a task: per-epoch history, why it ended, the best validation score and
    its epoch, the test loss and score (the task's metric), an error (``None``), seconds."""

    history: tuple[EpochMetrics, ...]
    stop_reason: str
    best_epoch: int
    val_score: float
    test_loss: float
    test_score: float
    error: str | None
    seconds: float

    @property
    def curve(self) -> list[float]:
        """Validation score per epoch (0 for non-finite values)."""
        return [e.val_accuracy if math.isfinite(e.val_accuracy) else 0.0 for e in self.history]


@dataclass(frozen=True)
class TaskTensors:
    """A task's data for one seed as tensors on a device."""

    train: tuple[torch.Tensor, torch.Tensor]
    validation: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    floors: dict


@contextlib.contextmanager
def torch_threads(count: int | None):
    """Run the block with ``count`` torch intra-op threads (None: as they are), restoring the
    previous number after. Small models train fastest with one thread per process; on busy
    cores more threads spin against each other."""
    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def objective(task: Task) -> Objective:
    return Objective(task.loss, task.metric, task.decades)


def _tensor(a, dtype: torch.dtype, device: str) -> torch.Tensor:
    return torch.as_tensor(np.array(a, copy=True), dtype=dtype, device=device)


@functools.lru_cache(maxsize=16)
def _tensors(task: Task, data_seed: int, device: str) -> TaskTensors:
    data = task.data(int(data_seed))
    if not isinstance(data, TaskData):
        raise TaskError(f"task {task.name}: data({data_seed}) returned "
                        f"{type(data).__name__}, not a symalr.tasks.TaskData")
    label = torch.int64 if task.metric == "accuracy" else torch.float32

    def pair(split):
        x = _tensor(split.x, torch.float32, device)
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, _tensor(split.y, label, device)

    return TaskTensors(pair(data.train), pair(data.validation), pair(data.test),
                       {"validation": data.floor("validation"), "test": data.floor("test")})


def task_tensors(task: Task, data_seed: int = 0, device: str = "cpu") -> TaskTensors:
    """The tensors of ``task.data(data_seed)`` on ``device`` (cached per process)."""
    return _tensors(task, int(data_seed), device)


def fresh_model(task: Task, seed: int, device: str = "cpu") -> torch.nn.Module:
    """The task's model with the initial weights of ``seed``, on ``device``."""
    model = task.model(int(seed)).to(device)
    if uses_channels_last(model):
        model.to(memory_format=torch.channels_last)
    return model


def run_task(task: Task, make_optimizer: OptimizerFactory, seed: int, data_seed: int = 0, *,
             epochs: int | None = None, patience: int | None | str = "task",
             restore_best: bool = True, monitor: str = "val_loss", device: str = "cpu",
             deadline: float | None = None, data: TaskTensors | None = None) -> TaskRun:
    """Train ``make_optimizer(params)`` on ``task`` (see the module docstring). ``epochs`` and
    ``patience`` override the task's budget and early stopping (``patience=None``: none);
    ``monitor`` is the validation metric of early stopping and best-weight restore
    (``val_loss`` or ``val_accuracy``, i.e. the score); ``data`` overrides the task's tensors
    (e.g. a slice of them)."""
    start = time.monotonic()
    data = data or task_tensors(task, data_seed, device)
    goal = objective(task)
    torch.manual_seed(int(seed))
    rng = np.random.default_rng(int(seed))
    model = fresh_model(task, seed, device)
    # seeded again: dropout masks start from the seed, however many numbers the model's
    # construction drew (torch's default init does), as a stacked member's generator does
    torch.manual_seed(int(seed))
    test_initial = evaluate(model, *data.test, objective=goal)[0]
    config = TrainConfig(batch_size=task.batch_size, max_epochs=epochs or task.epochs,
                         patience=task.patience if patience == "task" else patience,
                         monitor=monitor, restore_best=restore_best)
    seen: list[EpochMetrics] = []
    error = None
    try:
        optimizer = make_optimizer(model.parameters())
        result = train(model, optimizer, data.train, data.validation, config, rng, deadline,
                       on_epoch=seen.append, objective=goal,
                       val_floor=data.floors["validation"])
        history, stop, best_epoch = result.history, result.stop_reason, result.best_epoch
    except Exception as exc:  # the optimizer under test failed: contained, recorded
        history, stop, best_epoch, error = tuple(seen), "error", 0, one_line(exc)
    test_loss, test_score = evaluate(model, *data.test, objective=goal,
                                     initial_loss=test_initial, floor=data.floors["test"])
    scores = [e.val_accuracy for e in history if math.isfinite(e.val_accuracy)]
    if not math.isfinite(test_score):
        test_score = 0.0
    return TaskRun(tuple(history), stop, best_epoch, max(scores, default=0.0), test_loss,
                   test_score, error, time.monotonic() - start)
