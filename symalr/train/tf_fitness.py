"""Fitness with the TensorFlow backend: Algorithm 1 training the Keras models under XLA.

Same algorithm, data, split, seeds and result contract as the torch backend
(:mod:`symalr.train.algorithm`); the model is :func:`build_keras_model`'s, the optimizer the
Keras class ``symalr export --backend tf`` emits, and training runs ``model.fit`` after
``model.compile(jit_compile=True)`` (``config.compile=False`` turns XLA off). One callback
applies the torch trainer's rules, so both backends stop alike: patience on the monitored
validation metric, best-weight restore on request, a non-finite loss ends training, the
deadline is checked after every batch. Dropout and shuffling draw from Keras' global seed,
set from ``config.seed`` for each evaluation.

Selected with ``FitnessConfig(backend="tf")``. XLA only pays on an accelerator; on the 2-core
CPUs the torch backend is faster (see docs/decisions.md).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable

import numpy as np

from symalr.errors import ConfigError
from symalr.train.algorithm import Evaluation, evaluation_seeds, run_algorithm
from symalr.train.allocator import configure_allocator
from symalr.train.config import FitnessConfig
from symalr.train.datasets import fitness_data
from symalr.train.early_stopping import IMPROVED, NONFINITE, STOP, EarlyStopping
from symalr.train.keras_models import build_keras_model, keras
from symalr.train.models import INPUT_SHAPES
from symalr.types import EvalResult

KerasOptimizerFactory = Callable[[], "keras.optimizers.Optimizer"]


def _nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


@functools.lru_cache(maxsize=2)
def _arrays(dataset, splits, n_chunks, seed, data_dir):
    data = fitness_data(dataset, splits, n_chunks, seed, data_dir)
    return (tuple((_nhwc(c.x), c.y) for c in data.chunks),
            (_nhwc(data.validation.x), data.validation.y),
            (_nhwc(data.fitness.x), data.fitness.y),
            tuple(data.validation.x.shape[1:]))


class _Control(keras.callbacks.Callback):
    """Early stopping, best-weight restore, NaN guard and deadline, as the torch trainer."""

    def __init__(self, config: FitnessConfig, deadline: float | None):
        super().__init__()
        self.config, self.deadline = config, deadline
        self.stop_reason = "max_epochs"
        self.epochs = 0
        self.rule = EarlyStopping(config.monitor, config.patience)
        self.best_weights = None

    def _halt(self, reason: str) -> None:
        self.stop_reason = reason
        self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        if not math.isfinite(float(logs["loss"])):
            self._halt("nonfinite")
        elif self.deadline is not None and time.monotonic() > self.deadline:
            self._halt("time_limit")

    def on_epoch_end(self, epoch, logs=None):
        self.epochs = epoch + 1
        if self.stop_reason != "max_epochs":
            return
        verdict = self.rule.update(epoch + 1, float(logs["val_loss"]),
                                   float(logs["val_accuracy"]))
        if verdict == IMPROVED and self.config.restore_best:
            self.best_weights = self.model.get_weights()
        if verdict in (STOP, NONFINITE):
            self._halt(verdict)

    def on_train_end(self, logs=None):
        if self.config.restore_best and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def accuracy(model, x: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
    """Accuracy of ``model``; rows of non-finite logits count as wrong."""
    logits = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    finite = np.isfinite(logits).all(axis=1)
    return float(((logits.argmax(axis=1) == y) & finite).mean())


def evaluate_keras_factory(make_optimizer: KerasOptimizerFactory,
                           config: FitnessConfig) -> EvalResult:
    """Algorithm 1 for any Keras optimizer: ``make_optimizer()`` builds a fresh one for each
    evaluation. See :mod:`symalr.train.algorithm` for the result's contract."""
    configure_allocator()
    if config.model not in INPUT_SHAPES:
        raise ConfigError(f"unknown model {config.model!r}; choose one of "
                          f"{', '.join(INPUT_SHAPES)}")
    chunks, validation, fitness, shape = _arrays(config.dataset, config.splits,
                                                 config.n_evaluations, config.seed,
                                                 config.data_dir)
    if config.model != "mlp" and INPUT_SHAPES[config.model] != shape:
        raise ConfigError(f"model {config.model} takes images of shape "
                          f"{INPUT_SHAPES[config.model]}, data set {config.dataset} has {shape}")

    def run_one(k: int, deadline: float | None) -> Evaluation:
        _, framework_seed = evaluation_seeds(config.seed, k)
        keras.utils.set_random_seed(framework_seed)
        model = build_keras_model(config.model, config.seed, shape)
        model.compile(optimizer=make_optimizer(),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], jit_compile=config.compile is not False)
        control = _Control(config, deadline)
        model.fit(*chunks[k], batch_size=config.batch_size, epochs=config.max_epochs,
                  validation_data=validation, shuffle=True, verbose=0, callbacks=[control])
        score = accuracy(model, *fitness) if control.stop_reason != "time_limit" else 0.0
        return Evaluation(score, control.epochs, control.stop_reason)

    return run_algorithm(run_one, config)


def keras_spec_factory(spec, config: FitnessConfig) -> KerasOptimizerFactory:
    """The factory of the Keras class ``symalr export --backend tf`` emits for ``spec``."""
    from symalr.pipeline import module_source
    from symalr.train.generated import keras_optimizer_class

    cls = keras_optimizer_class(module_source(spec, "tf"))
    return lambda: cls()
