"""Pre-registered unseen problem P4 (written 2026-12-02 before the noise change was built):
three interleaved spirals, a 2-64-64-3 tanh network, batch 16, 8 epochs."""

import numpy as np
import torch
from torch import nn

from symalr.tasks import Split, Task, TaskData


def _spirals(rng, n):
    label = rng.integers(0, 3, n)
    r = rng.uniform(0.1, 1.0, n)
    angle = 3.0 * np.pi * r + label * 2.0 * np.pi / 3.0
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], 1) + rng.normal(0.0, 0.05, (n, 2))
    return Split(x.astype(np.float32), label.astype(np.int64))


def data(seed):
    rng = np.random.default_rng(seed)
    return TaskData(_spirals(rng, 1500), _spirals(rng, 500), _spirals(rng, 1000))


def model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                         nn.Linear(64, 3))


def spirals():
    return Task("spirals", data, model, batch_size=16, epochs=8,
                doc="Three spirals, 2-64-64-3 tanh, batch 16.")
