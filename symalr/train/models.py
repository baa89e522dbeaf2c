"""The torch models that fitness and benchmarks train (see docs/fitness.md).

Two paper models, layer for layer as the Keras examples the paper used, and small proxies for
CPU-sized presets:

========== ============================== ============ =====================================
name        input (N, C, H, W)             parameters   layers
========== ============================== ============ =====================================
mnist_cnn   (N, 1, 28, 28)                 1,199,882    Conv32 3x3 relu, Conv64 3x3 relu,
                                                        MaxPool2, Dropout .25, Dense128 relu,
                                                        Dropout .5, Dense10
cifar_cnn   (N, 3, 32, 32)                 1,250,858    Conv32 same, Conv32 valid, MaxPool,
                                                        Dropout .25, Conv64 same, Conv64 valid,
                                                        MaxPool, Dropout .25, Dense512,
                                                        Dropout .5, Dense10 (relu after each)
mlp         any image, flattened (784)     101,770      Dense128 relu, Dense10
small_cnn   (N, 1, 28, 28)                 43,610       Conv16 3x3 relu, MaxPool2,
                                                        Dense16 relu, Dense10
========== ============================== ============ =====================================

Every kernel is Glorot-uniform (Keras' default, ``xavier_uniform_`` in torch: the fan of a
convolution counts its receptive field on both sides, as Keras does) and every bias is zero.
Models output logits; the loss is ``cross_entropy`` on logits, which equals Keras' softmax plus
categorical cross-entropy. Flattening follows torch's (C, H, W) order; with random initial
weights the order of a flattened vector does not change what the model can learn.

Initial weights are a pure function of the seed given to :func:`build_model` (a private
``torch.Generator``; the global torch RNG is not touched).
"""

from __future__ import annotations

import torch
from torch import nn

from symalr.errors import ConfigError
from symalr.train.shapes import INPUT_SHAPES  # the one table of model names and shapes

#: Parameter counts stated by the paper's Keras models (checked by the tests).
PAPER_PARAMETER_COUNTS: dict[str, int] = {"mnist_cnn": 1_199_882, "cifar_cnn": 1_250_858}


def _mnist_cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),
        nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(12 * 12 * 64, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10),
    )  # fmt: skip


def _cifar_cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(6 * 6 * 64, 512), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(512, 10),
    )  # fmt: skip


def _mlp(in_features: int) -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, 128), nn.ReLU(), nn.Linear(128, 10))


def _small_cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(13 * 13 * 16, 16), nn.ReLU(), nn.Linear(16, 10),
    )  # fmt: skip


def model_names() -> tuple[str, ...]:
    """The names :func:`build_model` accepts."""
    return tuple(INPUT_SHAPES)


def build_model(
    name: str, seed: int, input_shape: tuple[int, int, int] | None = None
) -> nn.Sequential:
    """A freshly initialised model ``name`` whose weights depend only on ``seed``.

    ``input_shape`` (C, H, W) matters only for ``mlp``, which accepts any image size (default:
    28x28 greyscale). Raises :class:`ConfigError` for an unknown name.
    """
    if name not in INPUT_SHAPES:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(model_names())}")
    with torch.random.fork_rng(devices=[]):  # torch's default init draws from the global RNG
        if name == "mnist_cnn":
            model = _mnist_cnn()
        elif name == "cifar_cnn":
            model = _cifar_cnn()
        elif name == "mlp":
            c, h, w = input_shape or INPUT_SHAPES["mlp"]
            model = _mlp(c * h * w)
        else:
            model = _small_cnn()
    init_glorot_(model, seed)
    return model


def init_glorot_(model: nn.Module, seed: int) -> None:
    """Glorot-uniform kernels and zero biases for every Linear/Conv2d of ``model``, drawn in
    module order from a generator seeded with ``seed``."""
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_uniform_(module.weight, generator=gen)
                if module.bias is not None:
                    module.bias.zero_()


def parameter_count(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
