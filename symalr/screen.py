"""Static rejection: specs that cannot train are scored without training (docs/simplification.md).

A spec is rejected when its weight update cannot depend on the gradient (through any state,
over time), or when, on probe steps with realistic gradients (float32, N(0, 0.01) gradients,
N(0, 0.05) weights), its update is non-finite anywhere or stays exactly zero everywhere.

``strict`` (the task-based discovery search) adds two screens of rules that cannot descend
whatever their step size: the update is the same for the gradients and for their negation
(it cannot tell downhill from uphill), or, under a constant gradient, the weights move uphill.
It also rejects rules that are unsafe without a learning-rate warm-up, which an exported rule
does not have: a start-up burst (:func:`symalr.startup.startup_burst`, the first step over
the settled step) above :data:`symalr.startup.MAX_STARTUP_BURST`. Algorithm 1 keeps the
original screens, so its results stay as they always were.
"""

from __future__ import annotations

import numpy as np

from .reference import ReferenceStepper
from .simplify import depends_on_gradient
from .spec import OptimizerSpec

SCREEN_STEPS = 5
SCREEN_SIZE = 512
#: How the reason for a non-finite update starts.
NONFINITE = "weight update is non-finite"


def static_rejection(spec: OptimizerSpec, seed: int = 7, strict: bool = False,
                     startup: bool = True, sizes: np.ndarray | None = None) -> str | None:
    """``None`` if the spec may be trained, else a one-line reason (see the module doc).

    ``startup=False`` leaves out the start-up screen of ``strict`` (the slowest screen: 1,000
    reference steps), for a caller that screens a simplified form of the same rule next.
    ``sizes``: the start-up measure's :func:`~symalr.startup.step_sizes` of ``spec`` or of a
    positive multiple of it, when the caller has them (the burst does not depend on the
    scale)."""
    if not depends_on_gradient(spec):
        return "weight update does not depend on the gradient"
    rng = np.random.default_rng(seed)
    w0 = rng.normal(0.0, 0.05, SCREEN_SIZE).astype(np.float32)
    st = ReferenceStepper(spec, w0)
    prev = st.w.copy()
    moved = False
    for k in range(1, SCREEN_STEPS + 1):
        g = rng.normal(0.0, 0.01, SCREEN_SIZE).astype(np.float32)
        w = st.step(g)
        with np.errstate(all="ignore"):
            d = w - prev
        if not np.all(np.isfinite(w)):
            return f"{NONFINITE} on probe step {k}"
        moved = moved or bool(np.any(d != 0))
        prev = w.copy()
    if not moved:
        return f"weight update stays zero over {SCREEN_STEPS} probe steps"
    if not strict:
        return None
    reason = _direction_rejection(spec, seed)
    if reason is None and startup:
        reason = startup_rejection(spec, sizes)
    return reason


def startup_rejection(spec: OptimizerSpec, sizes: np.ndarray | None = None) -> str | None:
    """A reason if ``spec``'s start-up burst is above :data:`~symalr.startup.MAX_STARTUP_BURST`,
    else ``None`` (also when it is not measurable: the other screens and training judge those)."""
    from .startup import MAX_STARTUP_BURST, burst_of, step_sizes

    burst = burst_of(step_sizes(spec) if sizes is None else sizes)
    if burst is not None and burst > MAX_STARTUP_BURST:
        return (f"first step is {burst:.1f}x the settled step (start-up burst above "
                f"{MAX_STARTUP_BURST:g}x: it would need a warm-up)")
    return None


def _trajectory(spec: OptimizerSpec, w0: np.ndarray, grads) -> np.ndarray:
    st = ReferenceStepper(spec, w0)
    with np.errstate(all="ignore"):
        return np.array([st.step(g).copy() for g in grads]) - w0


def _direction_rejection(spec: OptimizerSpec, seed: int) -> str | None:
    rng = np.random.default_rng(seed + 1)
    w0 = rng.normal(0.0, 0.05, SCREEN_SIZE).astype(np.float32)
    grads = [rng.normal(0.0, 0.01, SCREEN_SIZE).astype(np.float32) for _ in range(SCREEN_STEPS)]
    plus = _trajectory(spec, w0, grads)
    minus = _trajectory(spec, w0, [-g for g in grads])
    if np.all(np.isfinite(plus)) and np.allclose(plus, minus, rtol=1e-6, atol=0.0):
        return "weight update is the same for the gradients and their negation"
    g0 = rng.normal(0.0, 0.01, SCREEN_SIZE).astype(np.float32)
    constant = [g0 + rng.normal(0.0, 0.001, SCREEN_SIZE).astype(np.float32)
                for _ in range(2 * SCREEN_STEPS)]
    moved = _trajectory(spec, w0, constant)[-1]
    if np.all(np.isfinite(moved)) and float(np.dot(moved.astype(np.float64), g0)) > 0:
        return "weights move uphill under a constant gradient"
    return None
