"""Static rejection: specs that cannot train are scored without training (issue 4, SPEC §6).

A spec is rejected when its weight update cannot depend on the gradient (through any state,
over time), or when, on probe steps with realistic gradients (float32, N(0, 0.01) gradients,
N(0, 0.05) weights), its update is non-finite anywhere or stays exactly zero everywhere.
"""

from __future__ import annotations

import numpy as np

from .reference import ReferenceStepper
from .simplify import depends_on_gradient
from .spec import OptimizerSpec

SCREEN_STEPS = 5
SCREEN_SIZE = 512


def static_rejection(spec: OptimizerSpec, seed: int = 7) -> str | None:
    """``None`` if the spec may be trained, else a one-line reason."""
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
            return f"weight update is non-finite on probe step {k}"
        moved = moved or bool(np.any(d != 0))
        prev = w.copy()
    if not moved:
        return f"weight update stays zero over {SCREEN_STEPS} probe steps"
    return None
