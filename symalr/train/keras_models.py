"""The same models as :mod:`symalr.train.models`, in Keras 3, for the TensorFlow backend.

Layer for layer the Keras examples the paper used (``mnist_cnn``: 1,199,882 parameters,
``cifar_cnn``: 1,250,858), plus the proxies ``mlp`` and ``small_cnn``. Inputs are
channels-last ``(N, H, W, C)``, Keras' default; outputs are logits (train with
``SparseCategoricalCrossentropy(from_logits=True)``). Kernels are Glorot-uniform and biases
zero, each kernel seeded from the ``seed`` given, so a model's initial weights depend only on
it. Dropout layers draw from Keras' global seed (``keras.utils.set_random_seed``).
"""

from __future__ import annotations

import os

import numpy as np

from symalr.errors import ConfigError
from symalr.train.models import INPUT_SHAPES

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notices, not errors

import keras  # noqa: E402  (the backend must be chosen before the import)
from keras import layers  # noqa: E402


def build_keras_model(
    name: str, seed: int, input_shape: tuple[int, int, int] | None = None
) -> keras.Sequential:
    """Keras model ``name`` with initial weights from ``seed``; ``input_shape`` is (C, H, W)
    as for the torch models (only ``mlp`` takes another than its default)."""
    if name not in INPUT_SHAPES:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(INPUT_SHAPES)}")
    c, h, w = input_shape if (input_shape and name == "mlp") else INPUT_SHAPES[name]
    seeds = iter(np.random.SeedSequence(int(seed)).generate_state(8))

    def conv(filters, padding="valid"):
        init = keras.initializers.GlorotUniform(seed=int(next(seeds) >> 1))
        return layers.Conv2D(filters, 3, padding=padding, activation="relu",
                             kernel_initializer=init)

    def dense(units, activation=None):
        init = keras.initializers.GlorotUniform(seed=int(next(seeds) >> 1))
        return layers.Dense(units, activation=activation, kernel_initializer=init)

    if name == "mnist_cnn":
        body = [conv(32), conv(64), layers.MaxPooling2D(2), layers.Dropout(0.25),
                layers.Flatten(), dense(128, "relu"), layers.Dropout(0.5), dense(10)]
    elif name == "cifar_cnn":
        body = [conv(32, "same"), conv(32), layers.MaxPooling2D(2), layers.Dropout(0.25),
                conv(64, "same"), conv(64), layers.MaxPooling2D(2), layers.Dropout(0.25),
                layers.Flatten(), dense(512, "relu"), layers.Dropout(0.5), dense(10)]
    elif name == "mlp":
        body = [layers.Flatten(), dense(128, "relu"), dense(10)]
    else:
        body = [conv(16), layers.MaxPooling2D(2), layers.Flatten(), dense(16, "relu"),
                dense(10)]
    return keras.Sequential([keras.Input((h, w, c)), *body], name=name)
