"""P8 of the third round, written 2026-12-03 before any result of step normalisation on it:
CIFAR-10 with a linear softmax classifier on the raw pixels (a convex, badly conditioned
problem; no linear model is in the search, the held-out tasks or the earlier problems),
3,000 training images, batch 64, 4 epochs."""

import torch
from torch import nn

from symalr.tasks.images import image_task


def _model(seed, shape):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(shape[0] * shape[1] * shape[2], 10))


def cifar_linear():
    return image_task("cifar_linear", "cifar-10", _model, (3000, 1000), batch_size=64, epochs=4,
                      doc="CIFAR-10, linear softmax on raw pixels, batch 64, 4 epochs.")
