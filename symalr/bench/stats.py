"""Statistics of trial results: mean, standard deviation, Mann-Whitney U between optimizers.

Standard deviations are sample standard deviations (``ddof=1``); with one trial it is NaN.
Mann-Whitney U is two-sided (``scipy.stats.mannwhitneyu``, its default method) and needs at
least one value on each side. "Best" means the highest mean test accuracy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation of ``n`` values."""

    n: int
    mean: float
    sd: float


@dataclass(frozen=True)
class MannWhitney:
    """A two-sided Mann-Whitney U test of ``a`` against ``b``."""

    a: str
    b: str
    u: float
    p: float


def summarize(values: Sequence[float]) -> Summary:
    """Mean and sample standard deviation (NaN for a mean of nothing or an sd of one value)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return Summary(0, math.nan, math.nan)
    sd = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    return Summary(int(arr.size), float(arr.mean()), sd)


def mann_whitney(a: str, xs: Sequence[float], b: str, ys: Sequence[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U of ``xs`` (optimizer ``a``) against ``ys`` (``b``)."""
    from scipy.stats import mannwhitneyu

    if not xs or not ys:
        return MannWhitney(a, b, math.nan, math.nan)
    res = mannwhitneyu(np.asarray(xs, float), np.asarray(ys, float), alternative="two-sided")
    return MannWhitney(a, b, float(res.statistic), float(res.pvalue))


def pairwise(groups: Mapping[str, Sequence[float]]) -> list[MannWhitney]:
    """Mann-Whitney U for every unordered pair of groups, in the groups' order."""
    return [mann_whitney(a, groups[a], b, groups[b])
            for a, b in itertools.combinations(groups, 2)]


def best_two(means: Mapping[str, float]) -> tuple[str, ...]:
    """The (at most) two labels of highest mean, best first; NaN means rank last."""
    ranked = sorted(means, key=lambda k: -means[k] if math.isfinite(means[k]) else math.inf)
    return tuple(k for k in ranked[:2] if math.isfinite(means[k]))
