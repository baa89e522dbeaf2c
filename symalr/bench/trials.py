"""The trainings of a benchmark (torch): one tuning call or one trial (docs/benchmark.md).

Both train the class ``symalr export`` emits for a spec (through
:func:`symalr.train.fitness.optimizer_factory`) on the benchmark's task with
:func:`symalr.tasks.run.run_task`, without early stopping, monitoring the validation score
(accuracy for classification):

- :func:`tuning_call` scores a training by its best validation score;
- :func:`trial` also restores the best-validation weights and scores the test split.

A training is a pure function of its seed: the model's initial weights (the task's
``model(seed)``), the batch order (a NumPy generator) and dropout (torch's global generator,
reseeded) all derive from it. :func:`trial_stack` trains the
trials of several seeds at once, as one stack of models with one shared optimizer, to the same
results up to float32 rounding. An exception raised by the
optimizer under test (or the model on its output) is contained and recorded, as in fitness:
the training keeps what it measured before. A NaN/Inf loss ends a training (stop reason
``nonfinite``); a training with no finite validation accuracy scores 0.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from symalr.bench.config import BenchConfig
from symalr.bench.store import Training
from symalr.errors import ConfigError
from symalr.spec import OptimizerSpec
from symalr.tasks.base import Task
from symalr.tasks.run import TaskRun, TaskTensors, fresh_model, run_task, task_tensors
from symalr.train.fitness import compile_pays, optimizer_factory
from symalr.train.models import INPUT_SHAPES
from symalr.train.trainer import TrainConfig, evaluate


@dataclass(frozen=True)
class BenchSetup:
    """What a benchmark trains on: the :class:`~symalr.tasks.Task`, its data as tensors on the
    device (for the paper's data sets, the training split cut to ``train_size``), the batch
    size and epochs, and the protocol trials are pooled by."""

    task: Task
    data: TaskTensors
    device: str
    batch_size: int
    tune_epochs: int
    trial_epochs: int
    protocol: dict

    @property
    def label(self) -> str:
        return self.protocol["dataset"]


def check_model(config: BenchConfig) -> None:
    """:class:`ConfigError` unless ``config.model_name`` exists and takes this data set's
    images (checked before any data is read; a task is checked by :func:`load_setup`)."""
    from symalr.bench.config import DATASETS

    if config.task is not None:
        return
    name = config.model_name
    if name not in INPUT_SHAPES:
        raise ConfigError(f"model: unknown model {name!r}; choose one of "
                          f"{', '.join(INPUT_SHAPES)}")
    paper_model = DATASETS[config.dataset][0]
    if name != "mlp" and INPUT_SHAPES[name] != INPUT_SHAPES[paper_model]:
        raise ConfigError(f"model: {name} takes images of shape {INPUT_SHAPES[name]}, "
                          f"{config.dataset} has {INPUT_SHAPES[paper_model]}")


def paper_task(config: BenchConfig) -> Task:
    """The paper's benchmark set-up of ``config.dataset`` as a task: ``config.model_name`` on
    the full training split and ``config.val_size`` validation images from the official
    training images, the official test set."""
    from symalr.tasks.images import image_task
    from symalr.train.models import build_model

    def model(seed: int, shape: tuple[int, ...]):
        return build_model(config.model_name, seed, shape)

    batch_size, epochs, _ = config.budget()
    return image_task(config.dataset, config.dataset, model,
                      (config.full_train_size, config.val_size), "official",
                      batch_size=batch_size, epochs=epochs, data_dir=config.data_dir)


def load_setup(config: BenchConfig) -> BenchSetup:
    """The task and data of ``config`` on ``config.device`` resolved (``auto``, or a GPU that
    is not there, is settled before any data is read); a user task is checked
    (:func:`symalr.tasks.check_task`) before anything is trained."""
    from symalr.tasks import check_task, get_task
    from symalr.train.device import resolve_device

    check_model(config)
    device = resolve_device(config.device)
    if config.task is None:
        task = paper_task(config)
        full = task_tensors(task, config.split_seed, device)
        n = config.train_size or config.full_train_size
        # Every prefix of the stratified training split is itself stratified.
        data = TaskTensors((full.train[0][:n], full.train[1][:n]), full.validation, full.test,
                           full.floors)
        batch_size, tune_epochs, trial_epochs = config.budget()
        protocol = config.protocol()
    else:
        task = get_task(config.task, config.data_dir)
        check_task(task, config.split_seed)
        data = task_tensors(task, config.split_seed, device)
        batch_size, tune_epochs, trial_epochs = config.budget(task)
        protocol = config.protocol(task)
    return BenchSetup(task, data, device, batch_size, tune_epochs, trial_epochs, protocol)


def _factory(setup: BenchSetup, spec: OptimizerSpec, epochs: int):
    """The exported optimizer's factory, compiled when this training is long enough to pay."""
    steps = epochs * math.ceil(len(setup.data.train[1]) / setup.batch_size)
    return optimizer_factory(spec, compile_pays(setup.device, steps))


def _training(history, stop: str, error: str | None, seconds: float) -> Training:
    """The stored record of a training that ran the epochs ``history``."""
    curve = [dict(epoch=e.epoch, loss=e.loss, val_loss=e.val_loss,
                  val_accuracy=e.val_accuracy, seconds=e.seconds) for e in history]
    finite = [e for e in history if math.isfinite(e.val_accuracy)]
    best = max(finite, key=lambda e: e.val_accuracy, default=None)  # first of the highest
    return Training(val_accuracy=best.val_accuracy if best else 0.0,
                    best_epoch=best.epoch if best else 0, curve=curve, stop_reason=stop,
                    error=error, seconds=seconds)


def _run(setup: BenchSetup, spec: OptimizerSpec, epochs: int, seed: int,
         restore_best: bool) -> TaskRun:
    """One training of ``spec`` on the setup's task (see the module doc)."""
    return run_task(dataclasses.replace(setup.task, batch_size=setup.batch_size),
                    _factory(setup, spec, epochs), seed, epochs=epochs, patience=None,
                    restore_best=restore_best, monitor="val_accuracy", device=setup.device,
                    data=setup.data)


def tuning_call(setup: BenchSetup, spec: OptimizerSpec, epochs: int, seed: int) -> Training:
    """Train ``spec`` (tuned values as its defaults) for ``epochs``; scored by the best
    validation score (accuracy for classification)."""
    run = _run(setup, spec, epochs, seed, restore_best=False)
    return _training(run.history, run.stop_reason, run.error, run.seconds)


def trial(setup: BenchSetup, spec: OptimizerSpec, epochs: int, seed: int
          ) -> tuple[Training, float, float]:
    """Train ``spec`` for ``epochs``, restore the best-validation weights, and return
    (training, test score, test loss). After an optimizer error the weights it left are
    tested."""
    run = _run(setup, spec, epochs, seed, restore_best=True)
    return _training(run.history, run.stop_reason, run.error, run.seconds), run.test_score, \
        run.test_loss


def can_stack(setup: BenchSetup) -> bool:
    """Whether the setup's trials can train as a stack (classification of ``nn.Sequential``
    models without buffers: what :mod:`symalr.train.stacked` supports)."""
    model = fresh_model(setup.task, 0, "cpu")
    return (setup.task.metric == "accuracy" and isinstance(model, torch.nn.Sequential)
            and not any(True for _ in model.buffers()))


def stack_size(setup: BenchSetup) -> int:
    """How many trials of ``setup`` fit one stack (:mod:`symalr.train.stacking`, measured)."""
    from symalr.train.stacking import max_members, member_bytes

    per_member = member_bytes(fresh_model(setup.task, 0, setup.device),
                              tuple(setup.data.train[0].shape[1:]), setup.batch_size,
                              setup.device)
    return max_members(per_member, setup.device)


def trial_stack(setup: BenchSetup, spec: OptimizerSpec, epochs: int, seeds: list[int]
                ) -> list[tuple[Training, float, float]]:
    """:func:`trial` for every seed of ``seeds``, trained as one stack with one shared
    optimizer (:func:`symalr.train.stacked.train_stacked`). Trial ``k`` gets what
    ``trial(setup, spec, epochs, seeds[k])`` gets up to float32 rounding: the same initial
    weights, batch order and (on CPU, bitwise) dropout masks, all from its seed (a
    discontinuous rule such as ``sign`` can turn that rounding into an image or so of test
    accuracy). Its ``seconds`` is the stack's wall time. When the optimizer under test raises (which ends the
    shared stack) the trials are run one by one by :func:`trial`, which contains and records
    the error per trial."""
    from symalr.train.stacked import Member, train_stacked

    start = time.monotonic()
    members = [Member(fresh_model(setup.task, seed, setup.device), _factory(setup, spec, epochs),
                      setup.data.train, np.random.default_rng(seed), seed) for seed in seeds]
    config = TrainConfig(batch_size=setup.batch_size, max_epochs=epochs, patience=None,
                         monitor="val_accuracy", restore_best=True)
    try:
        outcomes = train_stacked(members, setup.data.validation, config, shared_optimizer=True)
    except Exception:  # the shared optimizer failed: the sequential path records it per trial
        return [trial(setup, spec, epochs, seed) for seed in seeds]
    seconds = time.monotonic() - start
    out = []
    for seed, member, outcome in zip(seeds, members, outcomes):
        if isinstance(outcome, Exception):
            out.append(trial(setup, spec, epochs, seed))
            continue
        test_loss, test_accuracy = evaluate(member.model, *setup.data.test)
        out.append((_training(outcome.history, outcome.stop_reason, None, seconds),
                    test_accuracy, test_loss))
    return out
