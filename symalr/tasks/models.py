"""The torch models of the built-in suite tasks (the paper's models are in
:mod:`symalr.train.models`). Every kernel is Glorot-uniform and every bias zero, drawn from a
generator seeded with the model's seed (:func:`symalr.train.models.init_glorot_`): the same seed
gives the same initial weights. All are ``nn.Sequential`` without buffers, so stacked training
(:mod:`symalr.train.stacked`) can train them too.
"""

from __future__ import annotations

import math

from torch import nn

from symalr.train.models import init_glorot_


def _seeded(model: nn.Sequential, seed: int) -> nn.Sequential:
    init_glorot_(model, seed)
    return model


def mlp(seed: int, shape: tuple[int, ...], hidden: tuple[int, ...] = (128,),
        outputs: int = 10, dropout: float = 0.0) -> nn.Sequential:
    """Flatten, then ``hidden`` ReLU layers (each followed by ``nn.Dropout(dropout)`` when
    ``dropout`` > 0), then ``outputs`` logits (or values)."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(shape)
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, outputs))
    return _seeded(nn.Sequential(*layers), seed)


def small_cifar_cnn(seed: int, shape: tuple[int, ...] = (3, 32, 32)) -> nn.Sequential:
    """Conv16 3x3 same, ReLU, MaxPool2, Conv32 3x3 same, ReLU, MaxPool2, Dense10 (25,578
    parameters for 32x32x3 images)."""
    c, h, w = shape
    return _seeded(nn.Sequential(
        nn.Conv2d(c, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * (h // 4) * (w // 4), 10),
    ), seed)  # fmt: skip
