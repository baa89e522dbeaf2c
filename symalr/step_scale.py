"""Step normalisation: the discovery search trains every rule at the same settled step size.

An update rule is a direction and a step size. The grammars carry the step size in the rule's
constants (``dw = k * sign(m)`` with ``k`` one of 100 values from 4.5e-5 to 1), so without
normalisation two rules that differ only in that constant are different candidates, each
trained under the same few step multipliers: one is lucky, the other is judged at steps 1,000x
off, and the search spends its trainings on rules that differ only in their step.

With normalisation (``[search] normalise_step``, on in the discovery presets) each rule is
scaled, before it is fingerprinted, screened and trained, so that its settled step on the
start-up measure's gradient stream (:func:`symalr.startup.step_sizes`: a persistent signal of
size 0.01 plus noise of the same size) is :data:`TARGET_STEP`. Then

- a rule and any positive multiple of it become the same spec up to float rounding, so they
  share one fingerprint and one training (the fitness cache works on directions);
- the step multipliers (x0.3, x1, x3 ...) are relative to a comparable step for every rule:
  on that stream the catalog's Adam at lr 1e-3 takes 7.2e-4 per coordinate, its momentum at
  lr 0.01 1.0e-3, its sign at 9e-4, plain SGD at lr 0.01 1.4e-4 (normalised: lr 0.07).

The scale enters the spec as the step-scale hyperparameter of
:meth:`~symalr.spec.OptimizerSpec.with_step_scale`, so the stored spec is the rule as trained
at x1, and the exported rule carries it (times the multiplier the search chose). ALR rules
cannot read the weights, so a scaled rule takes exactly the scaled steps: the normalisation
changes the step size and nothing else.
"""

from __future__ import annotations

import numpy as np

from .spec import OptimizerSpec
from .startup import settled_step, step_sizes

#: The settled step (root mean square per coordinate) every normalised rule takes at x1.
TARGET_STEP = 1e-3


def step_normaliser(spec: OptimizerSpec, sizes: np.ndarray | None = None) -> float | None:
    """The factor that brings ``spec``'s settled step to :data:`TARGET_STEP`; ``None`` when
    the step is not measurable (not finite, or zero: the screens and training judge those).
    ``sizes``: ``spec``'s :func:`~symalr.startup.step_sizes`, when the caller has them."""
    settled = settled_step(step_sizes(spec) if sizes is None else sizes)
    return None if settled is None else TARGET_STEP / settled


def normalised(spec: OptimizerSpec, sizes: np.ndarray | None = None) -> OptimizerSpec:
    """``spec`` scaled to the target settled step (itself when it is not measurable)."""
    factor = step_normaliser(spec, sizes)
    return spec if factor is None else spec.with_step_scale(factor)
