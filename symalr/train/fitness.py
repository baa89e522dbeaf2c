"""Fitness with the torch backend: Algorithm 1 (:mod:`symalr.train.algorithm`) training the
paper's torch models with a torch optimizer (see docs/fitness.md).

:func:`evaluate_factory` takes any optimizer factory (``torch.optim.Adam`` for tests and
benchmarks); :func:`spec_factory` makes the factory of the very class ``symalr export`` emits
for a spec. Use :func:`symalr.train.candidate.evaluate_spec` to score a spec.

Deterministic on CPU: the same factory and config give the same result (split, initial
weights, shuffling and dropout all derive from ``config.seed``; torch's global generator is
reseeded for each evaluation). Loaded data are cached per process.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

from symalr.errors import ConfigError
from symalr.train.algorithm import Evaluation, evaluation_seeds, run_algorithm
from symalr.train.allocator import configure_allocator
from symalr.train.config import FitnessConfig
from symalr.train.datasets import fitness_data
from symalr.train.device import resolve_device
from symalr.train.models import INPUT_SHAPES, build_model
from symalr.train.trainer import TrainConfig, evaluate, to_tensors, train, uses_channels_last
from symalr.types import EvalResult

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]

#: With ``compile="auto"`` on an accelerator, compile when at least this many optimizer steps
#: may run (compiling costs seconds; a step saves well under a millisecond).
COMPILE_MIN_STEPS = 5000


@dataclass(frozen=True)
class _Tensors:
    chunks: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    validation: tuple[torch.Tensor, torch.Tensor]
    fitness: tuple[torch.Tensor, torch.Tensor]
    shape: tuple[int, int, int]


def fitness_task(config: FitnessConfig):
    """Algorithm 1's task: ``config.model`` on ``config.dataset``, whose train, validation and
    test splits (``config.splits``, all from the official training images) are the training
    images, the evolutionary validation set and the fitness-assignment set
    (:func:`symalr.tasks.images.image_task` with ``test="train"``)."""
    from symalr.tasks.images import image_task

    def model(seed: int, shape: tuple[int, ...]):
        return build_model(config.model, seed, shape)

    return image_task("algorithm1", config.dataset, model, config.splits, test="train",
                      batch_size=config.batch_size, epochs=config.max_epochs,
                      patience=config.patience, data_dir=config.data_dir)


@functools.lru_cache(maxsize=2)
def _tensors(dataset, splits, n_chunks, seed, data_dir, device, channels_last) -> _Tensors:
    data = fitness_data(dataset, splits, n_chunks, seed, data_dir)

    def conv(s):
        return to_tensors(s.x, s.y, device, channels_last)

    return _Tensors(tuple(conv(c) for c in data.chunks), conv(data.validation),
                    conv(data.fitness), tuple(data.validation.x.shape[1:]))


def load_tensors(config: FitnessConfig) -> _Tensors:
    """The split of ``config`` as tensors on its device (cached per process); checks that the
    model fits the data."""
    if config.model not in INPUT_SHAPES:
        raise ConfigError(f"unknown model {config.model!r}; choose one of "
                          f"{', '.join(INPUT_SHAPES)}")
    cl = config.channels_last and config.model != "mlp"
    t = _tensors(config.dataset, config.splits, config.n_evaluations, config.seed,
                 config.data_dir, resolve_device(config.device), cl)
    if config.model != "mlp" and INPUT_SHAPES[config.model] != t.shape:
        raise ConfigError(f"model {config.model} takes images of shape "
                          f"{INPUT_SHAPES[config.model]}, data set {config.dataset} has {t.shape}")
    return t


def train_config(config: FitnessConfig) -> TrainConfig:
    """The per-evaluation training settings of ``config``."""
    return TrainConfig(batch_size=config.batch_size, max_epochs=config.max_epochs,
                       patience=config.patience, monitor=config.monitor,
                       restore_best=config.restore_best, channels_last=config.channels_last)


def evaluate_factory(make_optimizer: OptimizerFactory, config: FitnessConfig) -> EvalResult:
    """Algorithm 1 for any torch optimizer: ``make_optimizer(params)`` builds a fresh one for
    each evaluation. See :mod:`symalr.train.algorithm` for the result's contract."""
    configure_allocator()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    data = load_tensors(config)
    tcfg = train_config(config)
    device = resolve_device(config.device)

    def run_one(k: int, deadline: float | None) -> Evaluation:
        rng, torch_seed = evaluation_seeds(config.seed, k)
        torch.manual_seed(torch_seed)
        model = fitness_task(config).model(config.seed).to(device)
        if config.channels_last and uses_channels_last(model):
            model.to(memory_format=torch.channels_last)
        optimizer = make_optimizer(model.parameters())
        run = train(model, optimizer, data.chunks[k], data.validation, tcfg, rng, deadline)
        accuracy = evaluate(model, *data.fitness)[1] if run.stop_reason != "time_limit" else 0.0
        return Evaluation(accuracy, run.epochs, run.stop_reason)

    return run_algorithm(run_one, config)


def compile_pays(device: str, steps: int) -> bool:
    """Whether fusing the optimizer with ``torch.compile`` pays for its compile time: only on an
    accelerator, and only for trainings of at least :data:`COMPILE_MIN_STEPS` steps."""
    return resolve_device(device).startswith("cuda") and steps >= COMPILE_MIN_STEPS


def resolve_compile(config: FitnessConfig) -> bool:
    """Whether the generated optimizer is fused with ``torch.compile`` under ``config``."""
    if config.compile != "auto":
        return bool(config.compile)
    steps = config.n_evaluations * config.max_epochs * math.ceil(config.chunk_size
                                                                 / config.batch_size)
    return compile_pays(config.device, steps)


def optimizer_class(spec) -> type:
    """The ``torch.optim.Optimizer`` class ``symalr export`` emits for ``spec`` (its torch
    source, imported once per process)."""
    from symalr.pipeline import module_source
    from symalr.train.generated import torch_optimizer_class

    return torch_optimizer_class(module_source(spec, "torch"))


def optimizer_factory(spec, compiled: bool) -> OptimizerFactory:
    """The factory of the class ``symalr export`` emits for ``spec``: the foreach path, or the
    compiled one when ``compiled``."""
    cls = optimizer_class(spec)
    return lambda params: cls(params, foreach=True, compile=compiled)


def spec_factory(spec, config: FitnessConfig) -> OptimizerFactory:
    """:func:`optimizer_factory` with the path chosen by :func:`resolve_compile`."""
    return optimizer_factory(spec, resolve_compile(config))
