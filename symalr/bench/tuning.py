"""Bayesian tuning of an optimizer's hyperparameters with scikit-optimize (see docs/benchmark.md).

:func:`tune` searches every tunable hyperparameter of a spec within its declared bounds (the
catalog and evolved specs declare [0, 1], the paper's range; ``log=True`` searches on a
log-uniform prior) with ``skopt.gp_minimize``:

- the first call probes the spec's defaults (clipped into the bounds);
- ``initial_points`` random points follow, then the Gaussian process proposes;
- ``n_calls`` counts every call, the probe included;
- the objective is maximised (skopt minimises its negative);
- ``seed`` fixes skopt's randomness, so equal objective values give equal calls.

Hyperparameters with ``tunable=False`` (epsilon) or an empty range keep their defaults. The
objective is called with a complete ``{name: value}`` dict and returns a finite score. Pure
Python over scikit-optimize; knows nothing of training.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from symalr.errors import ConfigError
from symalr.spec import HyperParam, OptimizerSpec


@dataclass(frozen=True)
class TuningResult:
    """Every call in order as (values, score); the best is the first call of highest score."""

    calls: tuple[tuple[dict[str, float], float], ...]

    @property
    def best_index(self) -> int:
        scores = [s for _, s in self.calls]
        return scores.index(max(scores))

    @property
    def best_values(self) -> dict[str, float]:
        return dict(self.calls[self.best_index][0])

    @property
    def best_score(self) -> float:
        return self.calls[self.best_index][1]


def tunable(spec: OptimizerSpec) -> tuple[HyperParam, ...]:
    """The hyperparameters the tuning searches (tunable, with a non-empty range)."""
    return tuple(h for h in spec.hyperparams if h.tunable and h.low < h.high)


def clipped_default(h: HyperParam) -> float:
    """``h.default`` clipped into ``[h.low, h.high]``."""
    return min(max(float(h.default), h.low), h.high)


def tune(
    spec: OptimizerSpec,
    objective: Callable[[dict[str, float]], float],
    n_calls: int,
    initial_points: int,
    seed: int,
) -> TuningResult:
    """Tune ``spec`` by maximising ``objective`` (see the module doc). ``n_calls >= 1``;
    ``initial_points`` is cut to ``n_calls - 1``. A spec with nothing to tune gets one call,
    its defaults."""
    if n_calls < 1:
        raise ConfigError(f"tuning needs at least one call, got {n_calls}")
    searched = tunable(spec)
    fixed = {h.name: float(h.default) for h in spec.hyperparams if h not in searched}
    calls: list[tuple[dict[str, float], float]] = []

    def evaluate(point) -> float:
        values = {**fixed, **{h.name: float(v) for h, v in zip(searched, point)}}
        values = {h.name: values[h.name] for h in spec.hyperparams}  # the spec's order
        score = float(objective(values))
        if not math.isfinite(score):
            raise ValueError(f"tuning objective returned {score} for {values}")
        calls.append((values, score))
        return -score

    if not searched:
        evaluate([])
        return TuningResult(tuple(calls))

    from skopt import gp_minimize
    from skopt.space import Real

    dimensions = [Real(h.low, h.high, prior="log-uniform" if h.log else "uniform", name=h.name)
                  for h in searched]
    with warnings.catch_warnings():
        # skopt warns when the GP proposes a point already evaluated; the call still counts.
        warnings.filterwarnings("ignore", message="The objective has been evaluated")
        gp_minimize(
            evaluate, dimensions, n_calls=n_calls,
            n_initial_points=max(0, min(initial_points, n_calls - 1)),
            x0=[clipped_default(h) for h in searched], random_state=int(seed),
        )  # fmt: skip
    return TuningResult(tuple(calls))
