"""Replacement for the pre-registered P6 (its command could not run: the built-in small_cnn
takes Fashion-MNIST's shape only), written 2026-12-02 19:26 UTC before any result of the
final configuration on it: CIFAR-10, a three-stage CNN with batch normalisation (no model
of this kind is in the search, the held-out tasks or the other problems), 2,000 training
images, batch 16, 2 epochs."""

import torch
from torch import nn

from symalr.tasks.images import image_task


def _model(seed, shape):
    torch.manual_seed(seed)
    layers = []
    channels = shape[0]
    for width in (16, 32, 64):
        layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                   nn.MaxPool2d(2)]
        channels = width
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(64 * 4 * 4, 10))


def cifar_bn():
    return image_task("cifar_bn", "cifar-10", _model, (2000, 1000), batch_size=16, epochs=2,
                      doc="CIFAR-10, a 16-32-64 CNN with batch norm, batch 16, 2 epochs.")
