"""Train and evaluate a torch model with any optimizer (docs/fitness.md, docs/tasks.md).

Contract of :func:`train`:

- minibatches of ``batch_size`` from a fresh permutation each epoch, drawn from the ``rng``
  passed in (dropout uses torch's global generator: the caller seeds it);
- loss: the :class:`Objective`'s — by default cross-entropy on logits (Keras' softmax +
  categorical cross-entropy), or mean squared error;
- after every epoch, validation loss and score (accuracy by default) in eval mode under
  ``inference_mode``;
- early stopping by :class:`symalr.train.early_stopping.EarlyStopping` (Keras'
  ``EarlyStopping(min_delta=0)``; ``patience=None`` trains all ``max_epochs``); with
  ``restore_best`` the weights of the best epoch are put back at the end, whatever ended the
  training;
- a non-finite training loss (NaN/Inf) or validation loss ends training at once (Keras'
  ``TerminateOnNaN``), stop reason ``"nonfinite"``;
- a wall-clock ``deadline`` (``time.monotonic()`` value) is checked after every batch; past
  it training ends with stop reason ``"time_limit"``;
- convolutional models and their inputs use the channels-last memory format on request (the
  fastest eager layout on the 2-core CPUs, benchmarks/README.md);
- the process's malloc is tuned once (:func:`symalr.train.allocator.configure_allocator`).

Exceptions raised by the optimizer or the model propagate; containing them is the caller's job
(:mod:`symalr.train.fitness` does).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from symalr.errors import ConfigError
from symalr.train.allocator import configure_allocator
from symalr.train.early_stopping import IMPROVED, MONITORS, NONFINITE, STOP, EarlyStopping


@dataclass(frozen=True)
class TrainConfig:
    """How one training runs (all counts are positive; ``patience=None`` disables stopping)."""

    batch_size: int = 1000
    max_epochs: int = 100
    patience: int | None = 5
    monitor: str = "val_loss"
    restore_best: bool = False
    channels_last: bool = True
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.monitor not in MONITORS:
            raise ConfigError(f"monitor must be one of {', '.join(MONITORS)}, got "
                              f"{self.monitor!r}")
        for key in ("batch_size", "max_epochs", "eval_batch_size"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be at least 1 or None, got {self.patience}")


@dataclass(frozen=True)
class EpochMetrics:
    """One epoch: mean training loss over its batches, validation loss and score (accuracy for
    classification; see :class:`Objective`), seconds.
    An epoch cut short by a non-finite loss has ``loss`` NaN/Inf and NaN validation values."""

    epoch: int
    loss: float
    val_loss: float
    val_accuracy: float
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    """The per-epoch history, why training ended, and the 1-based best epoch (0: none)."""

    history: tuple[EpochMetrics, ...]
    stop_reason: str
    best_epoch: int

    @property
    def epochs(self) -> int:
        """Epochs started (an epoch cut short counts)."""
        return len(self.history)


def uses_channels_last(model: nn.Module) -> bool:
    """True when ``model`` has 2-D convolutions (only those gain from channels-last)."""
    return any(isinstance(m, nn.Conv2d) for m in model.modules())


def to_tensors(
    x: np.ndarray, y: np.ndarray, device: str = "cpu", channels_last: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels as torch tensors on ``device`` (a copy; inputs may be read-only)."""
    tx = torch.tensor(x, dtype=torch.float32, device=device)
    if channels_last and tx.dim() == 4:
        tx = tx.contiguous(memory_format=torch.channels_last)
    return tx, torch.tensor(y, dtype=torch.int64, device=device)


@dataclass(frozen=True)
class Objective:
    """What a training minimises and how a split is scored (a task's ``loss``, ``metric`` and
    ``decades``, :mod:`symalr.tasks.base`). The default is classification: cross-entropy on
    logits, scored by accuracy."""

    loss: str = "cross_entropy"
    metric: str = "accuracy"
    decades: float = 3.0

    def loss_value(self, out: torch.Tensor, y: torch.Tensor, reduction: str = "mean"
                   ) -> torch.Tensor:
        if self.loss == "mse":
            return F.mse_loss(out.reshape(y.shape), y, reduction=reduction)
        return F.cross_entropy(out, y, reduction=reduction)


CLASSIFICATION = Objective()


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000,
    objective: Objective = CLASSIFICATION, initial_loss: float | None = None,
    floor: float = 0.0,
) -> tuple[float, float]:
    """(mean loss, score) of ``model`` in eval mode. Classification scores accuracy: a row of
    logits that is not all finite counts as a wrong prediction (NaN weights predict nothing).
    ``metric="loss"`` scores decades of loss reduction from ``initial_loss`` towards ``floor``
    (:func:`symalr.tasks.base.loss_score`; NaN without ``initial_loss``)."""
    model.eval()
    loss_sum = 0.0
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(y), batch_size):
            out = model(x[start:start + batch_size])
            yb = y[start:start + batch_size]
            loss_sum += float(objective.loss_value(out, yb, reduction="sum"))
            if objective.metric == "accuracy":
                finite = torch.isfinite(out).all(dim=1)
                correct += int(((out.argmax(dim=1) == yb) & finite).sum())
    n = max(len(y), 1)
    loss = loss_sum / n
    if objective.metric == "accuracy":
        return loss, correct / n
    if initial_loss is None:
        return loss, math.nan
    from symalr.tasks.base import loss_score

    return loss, loss_score(loss, initial_loss, floor, objective.decades)


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    train_data: tuple[torch.Tensor, torch.Tensor],
    val_data: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    rng: np.random.Generator,
    deadline: float | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    objective: Objective = CLASSIFICATION,
    val_floor: float = 0.0,
) -> TrainResult:
    """Train ``model`` in place with ``optimizer`` (see the module doc for the contract).

    ``train_data``/``val_data`` are (inputs, targets) tensors on the model's device, images in
    channels-last format when ``config.channels_last`` and the model is convolutional.
    ``on_epoch`` is called with each finished epoch's metrics. ``objective`` says what is
    minimised and scored (default: classification); an epoch's ``val_accuracy`` is its score
    (accuracy, or the loss score against the initial validation loss and ``val_floor``).
    """
    configure_allocator()
    x, y = train_data
    channels_last = config.channels_last and uses_channels_last(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    n = len(y)
    val_initial = (evaluate(model, *val_data, config.eval_batch_size, objective)[0]
                   if objective.metric == "loss" else None)
    history: list[EpochMetrics] = []
    rule = EarlyStopping(config.monitor, config.patience)
    best_state: dict[str, torch.Tensor] | None = None
    stop = "max_epochs"
    for epoch in range(1, config.max_epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.from_numpy(rng.permutation(n)).to(y.device)
        loss_sum, seen = 0.0, 0
        batch_stop = None
        for start in range(0, n, config.batch_size):
            idx = perm[start:start + config.batch_size]
            optimizer.zero_grad(set_to_none=True)
            xb = x.index_select(0, idx)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            loss = objective.loss_value(model(xb), y.index_select(0, idx))
            loss.backward()
            value = loss.item()
            if not math.isfinite(value):
                loss_sum, batch_stop = value, "nonfinite"
                break
            optimizer.step()
            loss_sum, seen = loss_sum + value * len(idx), seen + len(idx)
            if deadline is not None and time.monotonic() > deadline:
                batch_stop = "time_limit"
                break
        if batch_stop == "nonfinite":
            history.append(EpochMetrics(epoch, loss_sum, math.nan, math.nan,
                                        time.perf_counter() - t0))
            stop = batch_stop
            break
        val_loss, val_acc = evaluate(model, *val_data, config.eval_batch_size, objective,
                                     val_initial, val_floor)
        seconds = time.perf_counter() - t0
        metrics = EpochMetrics(epoch, loss_sum / max(seen, 1), val_loss, val_acc, seconds)
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
        if batch_stop is not None:
            stop = batch_stop
            break
        verdict = rule.update(epoch, val_loss, val_acc)
        if verdict == IMPROVED and config.restore_best:
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if verdict in (STOP, NONFINITE):
            stop = verdict
            break
        if deadline is not None and time.monotonic() > deadline:
            stop = "time_limit"
            break
    if config.restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return TrainResult(tuple(history), stop, rule.best_epoch)
