"""Synthetic tasks generated from the seed: data whose difficulty is known by construction.

- :func:`ill_conditioned_data`: a Gaussian-mixture classification problem whose feature scales
  span ``decades`` orders of magnitude, so the loss's curvature differs by that much between
  parameters: one global step size cannot suit every weight;
- :func:`regression_data`: noisy linear regression with correlated, unevenly scaled features;
  its minimum test loss is known exactly (least squares on the split), so progress is scored
  in decades towards it.
"""

from __future__ import annotations

import functools

import numpy as np

from symalr.tasks.base import Split, TaskData


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=8)
def ill_conditioned_data(seed: int, sizes: tuple[int, int, int] = (2000, 1000, 2000),
                         features: int = 30, classes: int = 5, decades: float = 4.0
                         ) -> TaskData:
    """Classes are Gaussian clusters with random means in ``features`` dimensions; feature
    ``j`` is then scaled by ``10 ** (decades * (j / (features - 1) - 0.5))``. The scaling keeps
    the classes exactly as separable; only the conditioning changes."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x111]))
    means = rng.normal(0.0, 1.0, (classes, features))
    scales = 10.0 ** (decades * (np.arange(features) / (features - 1) - 0.5))

    def draw(n: int) -> Split:
        y = rng.integers(0, classes, n)
        x = (means[y] + rng.normal(0.0, 1.2, (n, features))) * scales
        return Split(_readonly(x.astype(np.float32)), _readonly(y.astype(np.int64)))

    return TaskData(*(draw(n) for n in sizes))


@functools.lru_cache(maxsize=8)
def regression_data(seed: int, sizes: tuple[int, int, int] = (2000, 1000, 2000),
                    features: int = 40, noise: float = 0.1) -> TaskData:
    """``y = x @ w* + noise`` with ``x`` correlated (a random mixing of unit Gaussians) and its
    columns scaled over two decades. ``floors`` are each split's mean squared error under the
    least-squares fit (with bias) of the *training* split: the exact minimum a linear model
    trained on that split reaches."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x222]))
    mixing = rng.normal(0.0, 1.0, (features, features)) / np.sqrt(features)
    mixing += np.eye(features)
    scales = 10.0 ** np.linspace(-1.0, 1.0, features)
    w_star = rng.normal(0.0, 0.1, features)
    bias = 0.1 * rng.normal()
    raw = []
    for n in sizes:
        x = ((rng.normal(0.0, 1.0, (n, features)) @ mixing) * scales).astype(np.float32)
        y = (x.astype(np.float64) @ w_star + bias + rng.normal(0.0, noise, n)).astype(np.float32)
        raw.append((x, y))

    def design(x: np.ndarray) -> np.ndarray:
        return np.hstack([x.astype(np.float64), np.ones((len(x), 1))])

    coef, *_ = np.linalg.lstsq(design(raw[0][0]), raw[0][1].astype(np.float64), rcond=None)
    floors = {name: float(np.mean((design(x) @ coef - y) ** 2))
              for name, (x, y) in zip(("train", "validation", "test"), raw)}
    return TaskData(*(Split(_readonly(x), _readonly(y)) for x, y in raw), floors=floors)
