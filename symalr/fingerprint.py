"""Fingerprints of specs: the key of the fitness cache (see docs/simplification.md).

Two specs get the same fingerprint when they compute the same weight updates on a fixed
numeric probe: the same number of steps on fixed random tensors whose gradient scales span
1e-3 .. 1, in float64, rounded to 7 significant digits (NaN and infinities kept as such).
Simplification makes equal rules textually equal in most cases (:func:`canonical_text`); the
probe also catches equal rules that simplification left in different shapes. Values of the
hyperparameters (the defaults) are part of the behaviour, hence of the fingerprint.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .reference import ReferenceStepper
from .spec import OptimizerSpec

PROBE_STEPS = 8
PROBE_SIZE = 48
_SCALES = (1e-3, 1e-2, 1e-1, 1.0)


def probe_inputs(steps: int = PROBE_STEPS, size: int = PROBE_SIZE, seed: int = 20240601):
    """The fixed probe: initial weights and one gradient per step (float64)."""
    rng = np.random.default_rng(seed)
    w0 = rng.normal(0.0, 0.1, size)
    scales = np.resize(np.array(_SCALES), size)
    grads = [rng.normal(0.0, 1.0, size) * scales for _ in range(steps)]
    return w0, grads


def probe_deltas(spec: OptimizerSpec, steps: int = PROBE_STEPS) -> np.ndarray:
    """Weight changes on the probe, shape ``(steps, PROBE_SIZE)``, float64."""
    w0, grads = probe_inputs(steps)
    st = ReferenceStepper(spec, w0, dtype=np.float64)
    out, prev = [], st.w.copy()
    for g in grads:
        w = st.step(g)
        with np.errstate(all="ignore"):
            out.append(w - prev)
        prev = w.copy()
    return np.array(out)


def _canonical_bytes(values: np.ndarray) -> bytes:
    flat = values.ravel()
    with np.errstate(all="ignore"):
        rounded = np.array([float(f"{v:.6e}") if np.isfinite(v) else v for v in flat])
    rounded[rounded == 0] = 0.0  # -0.0 -> 0.0
    text = ",".join("nan" if np.isnan(v) else repr(float(v)) for v in rounded)
    return text.encode()


def fingerprint(spec: OptimizerSpec) -> str:
    """A 16-hex-digit key: equal for specs with the same probe behaviour."""
    d = probe_deltas(spec)
    return hashlib.sha256(_canonical_bytes(d)).hexdigest()[:16]
