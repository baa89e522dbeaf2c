"""P12 of the fifth round, written 2026-12-03 before any result of the change it judges:
Fashion-MNIST, a 32-64 CNN with dropout 0.3 before and after its 128-unit hidden layer,
3,000 training images, batch 32, 2 epochs."""

import torch
from torch import nn

from symalr.tasks.images import image_task


def _model(seed, shape):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(shape[0], 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * (shape[1] // 4) * (shape[2] // 4), 128),
        nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


def fmnist_dropout_cnn():
    return image_task("fmnist_dropout_cnn", "fashion-mnist", _model, (3000, 1000),
                      batch_size=32, epochs=2,
                      doc="Fashion-MNIST, 32-64 CNN with dropout 0.3, batch 32, 2 epochs.")
