"""A user's own task for symalr: a small model on data of your own, in a few lines.

    symalr benchmark --task examples/my_task.py:two_moons --optimizers adam,sign
    symalr evolve --task examples/my_task.py:two_moons

``two_moons()`` returns a :class:`symalr.tasks.Task`: a seeded data split and a seeded model.
Any module with such a function works (``--task mypackage.tasks:my_task``).
"""

import numpy as np
import torch
from torch import nn

from symalr.tasks import Split, Task, TaskData


def _moons(rng: np.random.Generator, n: int) -> Split:
    """Two interleaving half circles with noise: a classic non-linear 2-class problem."""
    angle = rng.uniform(0.0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.stack([np.cos(angle) - label, np.sin(angle) * (1 - 2 * label) + 0.4 * label], 1)
    x += rng.normal(0.0, 0.15, x.shape)
    return Split(x.astype(np.float32), label.astype(np.int64))


def data(seed: int) -> TaskData:
    rng = np.random.default_rng(seed)
    return TaskData(_moons(rng, 800), _moons(rng, 400), _moons(rng, 400))


def model(seed: int) -> nn.Module:
    torch.manual_seed(seed)  # the same seed, the same initial weights
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, 2))


def two_moons() -> Task:
    return Task("two_moons", data, model, batch_size=32, epochs=5,
                doc="Two interleaving moons, a 2-32-32-2 tanh network.")
