"""The start-up burst of an update rule: how much larger its first step is than its later ones.

Rules whose moving averages start at zero and are divided by a slowly moving second moment —
RMSprop or Adam without bias correction, which is what the ALR grammars can express (they have
no step counter) — take first steps far larger than their settled steps: with a second-moment
rate ``c`` the first step is about ``1/sqrt(c)`` times too large. Small networks survive that;
large ones may not (benchmarks/discovery.md: an evolved Adam form with a 12x burst collapsed on
``cifar_cnn``). Adam's bias correction removes most of it.

The measure (docs/discovery.md), deterministic and independent of the step scale:

    burst = |first step| / mean |step| over steps STEADY_FROM .. STEPS

(root mean square over the coordinates), on ``STEPS`` float64 steps of the NumPy reference from
zero state, with gradients that have a constant mean (magnitude ``SIGNAL``, a fixed random sign
per coordinate) plus independent noise of the same size — a descent direction that persists,
as in training. SGD and sign updates score about 1.0, momentum less (its steps grow), the
catalog's bias-corrected Adam 1.4, its RMSprop (``rho = 0.9``, no correction) 3.1. ``None``
when the rule's steps are not finite or never move. Averages slower than about 1/500 per
step have not settled by step 500, so for them the measure is a lower bound.
"""

from __future__ import annotations

import numpy as np

from .reference import ReferenceStepper
from .spec import OptimizerSpec

STEPS = 1000
STEADY_FROM = 500
SIZE = 512
SIGNAL = 0.01
#: Above this burst a rule needs a learning-rate warm-up: the discovery search's strict screens
#: reject it (:func:`symalr.screen.startup_rejection`) and the descriptions advise a warm-up.
MAX_STARTUP_BURST = 3.0


def step_sizes(spec: OptimizerSpec, seed: int = 3) -> np.ndarray:
    """The root-mean-square size of each of ``spec``'s first ``STEPS`` steps at its defaults,
    on the gradient stream of the module docstring (float64; non-finite where the steps are)."""
    rng = np.random.default_rng(seed)
    mean = SIGNAL * rng.choice([-1.0, 1.0], SIZE)
    w0 = rng.normal(0.0, 0.05, SIZE)
    stepper = ReferenceStepper(spec, w0, dtype=np.float64)
    prev = stepper.w.copy()
    sizes = np.empty(STEPS)
    with np.errstate(all="ignore"):
        for k in range(STEPS):
            w = stepper.step(mean + rng.normal(0.0, SIGNAL, SIZE))
            sizes[k] = np.sqrt(np.mean((w - prev) ** 2))
            prev = w.copy()
    return sizes


def settled_step(sizes: np.ndarray) -> float | None:
    """The settled step of :func:`step_sizes`: their mean over steps ``STEADY_FROM .. STEPS``;
    ``None`` when a step is not finite or the settled steps are zero."""
    steady = float(np.mean(sizes[STEADY_FROM:]))
    if not np.all(np.isfinite(sizes)) or steady == 0.0:
        return None
    return steady


def burst_of(sizes: np.ndarray) -> float | None:
    """The start-up burst of :func:`step_sizes` (the same for a rule and its multiples)."""
    steady = settled_step(sizes)
    return None if steady is None else float(sizes[0] / steady)


def startup_burst(spec: OptimizerSpec, seed: int = 3) -> float | None:
    """The start-up burst of ``spec`` at its defaults (see the module docstring)."""
    return burst_of(step_sizes(spec, seed))


def describe_startup(spec: OptimizerSpec) -> str:
    """One phrase for reports, ``show`` and export docstrings."""
    burst = startup_burst(spec)
    if burst is None:
        return "start-up burst not measurable (the steps are not finite or stay zero)"
    text = f"start-up burst {burst:.1f}x (first step / settled step)"
    if burst > MAX_STARTUP_BURST:
        text += "; consider a learning-rate warm-up on large networks"
    return text
