"""P10 of the fourth round, written 2026-12-03 before any result of the change it judges:
CIFAR-10, an MLP of four hidden layers of 256 ReLU units with dropout 0.2 after each (dropout
noise is in no search task, held-out task or earlier problem), 3,000 training images,
batch 32, 3 epochs."""

import torch
from torch import nn

from symalr.tasks.images import image_task


def _model(seed, shape):
    torch.manual_seed(seed)
    layers, width = [nn.Flatten()], shape[0] * shape[1] * shape[2]
    for _ in range(4):
        layers += [nn.Linear(width, 256), nn.ReLU(), nn.Dropout(0.2)]
        width = 256
    return nn.Sequential(*layers, nn.Linear(width, 10))


def cifar_dropout():
    return image_task("cifar_dropout", "cifar-10", _model, (3000, 1000), batch_size=32,
                      epochs=3, doc="CIFAR-10, 4x256 ReLU MLP with dropout 0.2, batch 32, 3 epochs.")
