"""The trainings of a benchmark (torch): one tuning call or one trial (SPEC §8).

Both train the class ``symalr export`` emits for a spec (through
:func:`symalr.train.fitness.optimizer_factory`) with :func:`symalr.train.trainer.train`, without
early stopping, monitoring validation accuracy:

- :func:`tuning_call` scores a training by its best validation accuracy;
- :func:`trial` also restores the best-validation weights and measures the test set.

A training is a pure function of its seed: the model's initial weights
(:func:`~symalr.train.models.build_model`), the batch order (a NumPy generator) and dropout
(torch's global generator, reseeded here) all derive from it. :func:`trial_stack` trains the
trials of several seeds at once, as one stack of models with one shared optimizer, to the same
results up to float32 rounding. An exception raised by the
optimizer under test (or the model on its output) is contained and recorded, as in fitness:
the training keeps what it measured before. A NaN/Inf loss ends a training (stop reason
``nonfinite``); a training with no finite validation accuracy scores 0.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from symalr.bench.config import BenchConfig
from symalr.bench.store import Training
from symalr.errors import ConfigError
from symalr.spec import OptimizerSpec
from symalr.train.algorithm import one_line
from symalr.train.datasets import benchmark_data
from symalr.train.fitness import compile_pays, optimizer_factory
from symalr.train.models import INPUT_SHAPES, build_model
from symalr.train.trainer import TrainConfig, evaluate, to_tensors, train, uses_channels_last


@dataclass(frozen=True)
class Task:
    """The benchmark's data as tensors on the device, and the model to train."""

    model: str
    device: str
    batch_size: int
    shape: tuple[int, int, int]
    train: tuple[torch.Tensor, torch.Tensor]
    validation: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]


def check_model(config: BenchConfig) -> None:
    """:class:`ConfigError` unless ``config.model_name`` exists and takes this data set's
    images (checked before any data is read)."""
    from symalr.bench.config import DATASETS

    name = config.model_name
    if name not in INPUT_SHAPES:
        raise ConfigError(f"model: unknown model {name!r}; choose one of "
                          f"{', '.join(INPUT_SHAPES)}")
    paper_model = DATASETS[config.dataset][0]
    if name != "mlp" and INPUT_SHAPES[name] != INPUT_SHAPES[paper_model]:
        raise ConfigError(f"model: {name} takes images of shape {INPUT_SHAPES[name]}, "
                          f"{config.dataset} has {INPUT_SHAPES[paper_model]}")


@functools.lru_cache(maxsize=2)
def _task(dataset, full_train, train_size, val_size, split_seed, data_dir, model, device,
          batch_size) -> Task:
    data = benchmark_data(dataset, (full_train, val_size), split_seed, data_dir)
    channels_last = model != "mlp"

    def tensors(split, n=None):
        return to_tensors(split.x[:n], split.y[:n], device, channels_last)

    # Every prefix of the stratified training split is itself stratified (datasets module).
    return Task(model, device, batch_size, tuple(data.train.x.shape[1:]),
                tensors(data.train, train_size), tensors(data.validation), tensors(data.test))


def load_task(config: BenchConfig) -> Task:
    """The split of SPEC §8 for ``config`` (cached per process): the first ``train_size``
    images of the seeded, stratified training split (its mean image is that of the whole
    split), the validation split, the official test set; on ``config.device`` resolved
    (:func:`~symalr.train.device.resolve_device`: ``auto``, or a GPU that is not there, is
    settled before any data is read)."""
    from symalr.train.device import resolve_device

    check_model(config)
    device = resolve_device(config.device)
    return _task(config.dataset, config.full_train_size, config.train_size or
                 config.full_train_size, config.val_size, config.split_seed, config.data_dir,
                 config.model_name, device, config.batch_size)


def _fresh_model(task: Task, seed: int) -> torch.nn.Module:
    """The initial model of the training of ``seed`` (weights from the seed only)."""
    model = build_model(task.model, seed, task.shape).to(task.device)
    if uses_channels_last(model):
        model.to(memory_format=torch.channels_last)
    return model


def _config(task: Task, epochs: int, restore_best: bool) -> TrainConfig:
    return TrainConfig(batch_size=task.batch_size, max_epochs=epochs, patience=None,
                       monitor="val_accuracy", restore_best=restore_best)


def _factory(task: Task, spec: OptimizerSpec, epochs: int):
    """The exported optimizer's factory, compiled when this training is long enough to pay."""
    steps = epochs * math.ceil(len(task.train[1]) / task.batch_size)
    return optimizer_factory(spec, compile_pays(task.device, steps))


def _training(history, stop: str, error: str | None, seconds: float) -> Training:
    """The stored record of a training that ran the epochs ``history``."""
    curve = [dict(epoch=e.epoch, loss=e.loss, val_loss=e.val_loss,
                  val_accuracy=e.val_accuracy, seconds=e.seconds) for e in history]
    finite = [e for e in history if math.isfinite(e.val_accuracy)]
    best = max(finite, key=lambda e: e.val_accuracy, default=None)  # first of the highest
    return Training(val_accuracy=best.val_accuracy if best else 0.0,
                    best_epoch=best.epoch if best else 0, curve=curve, stop_reason=stop,
                    error=error, seconds=seconds)


def _train(task: Task, spec: OptimizerSpec, epochs: int, seed: int, restore_best: bool):
    """(Training, model) of one training of ``spec`` (see the module doc)."""
    start = time.monotonic()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = _fresh_model(task, seed)
    seen: list = []  # epochs finished before an exception, if one comes
    error = None
    try:
        optimizer = _factory(task, spec, epochs)(model.parameters())
        result = train(model, optimizer, task.train, task.validation,
                       _config(task, epochs, restore_best), rng, on_epoch=seen.append)
        history, stop = result.history, result.stop_reason
    except Exception as exc:  # the optimizer under test failed: contained, recorded
        history, stop, error = seen, "error", one_line(exc)
    return _training(history, stop, error, time.monotonic() - start), model


def tuning_call(task: Task, spec: OptimizerSpec, epochs: int, seed: int) -> Training:
    """Train ``spec`` (tuned values as its defaults) for ``epochs``; scored by the best
    validation accuracy."""
    return _train(task, spec, epochs, seed, restore_best=False)[0]


def trial(task: Task, spec: OptimizerSpec, epochs: int, seed: int
          ) -> tuple[Training, float, float]:
    """Train ``spec`` for ``epochs``, restore the best-validation weights, and return
    (training, test accuracy, test loss). After an optimizer error the weights it left are
    tested."""
    training, model = _train(task, spec, epochs, seed, restore_best=True)
    test_loss, test_accuracy = evaluate(model, *task.test)
    return training, test_accuracy, test_loss


def stack_size(task: Task) -> int:
    """How many trials of ``task`` fit one stack (:mod:`symalr.train.stacking`, measured)."""
    from symalr.train.stacking import max_members, member_bytes

    per_member = member_bytes(_fresh_model(task, 0), task.shape, task.batch_size, task.device)
    return max_members(per_member, task.device)


def trial_stack(task: Task, spec: OptimizerSpec, epochs: int, seeds: list[int]
                ) -> list[tuple[Training, float, float]]:
    """:func:`trial` for every seed of ``seeds``, trained as one stack with one shared
    optimizer (:func:`symalr.train.stacked.train_stacked`). Trial ``k`` gets what
    ``trial(task, spec, epochs, seeds[k])`` gets up to float32 rounding: the same initial
    weights, batch order and (on CPU, bitwise) dropout masks, all from its seed (a
    discontinuous rule such as ``sign`` can turn that rounding into an image or so of test
    accuracy). Its ``seconds`` is the stack's wall time. When the optimizer under test raises (which ends the
    shared stack) the trials are run one by one by :func:`trial`, which contains and records
    the error per trial."""
    from symalr.train.stacked import Member, train_stacked

    start = time.monotonic()
    members = [Member(_fresh_model(task, seed), _factory(task, spec, epochs), task.train,
                      np.random.default_rng(seed), seed) for seed in seeds]
    try:
        outcomes = train_stacked(members, task.validation, _config(task, epochs, True),
                                 shared_optimizer=True)
    except Exception:  # the shared optimizer failed: the sequential path records it per trial
        return [trial(task, spec, epochs, seed) for seed in seeds]
    seconds = time.monotonic() - start
    out = []
    for seed, member, outcome in zip(seeds, members, outcomes):
        if isinstance(outcome, Exception):
            out.append(trial(task, spec, epochs, seed))
            continue
        test_loss, test_accuracy = evaluate(member.model, *task.test)
        out.append((_training(outcome.history, outcome.stop_reason, None, seconds),
                    test_accuracy, test_loss))
    return out
