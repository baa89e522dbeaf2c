"""Helper functions copied into generated JAX modules (``templates/jax_module.py.j2``).

Like :mod:`symalr.render.runtime` for torch and Keras: real Python, which linters and tests see
like any other code; :func:`symalr.render.helpers.helper_source` cuts the functions out of this
file's text without importing it (it imports jax), so rendering never loads JAX.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _check(name: str, value, low: float, high: float) -> None:
    """Raise ``ValueError`` unless ``value`` is a real number in ``[low, high]``. A JAX scalar
    counts by its value; a traced one (inside ``jax.jit``, as ``optax.inject_hyperparams``
    passes them) was checked where it was concrete."""
    if isinstance(value, jax.Array) and value.ndim == 0 and jnp.issubdtype(value.dtype,
                                                                           jnp.number):
        try:
            value = value.item()
        except jax.errors.ConcretizationTypeError:
            return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        bound = f">= {low:g}" if high == float("inf") else f"in [{low:g}, {high:g}]"
        raise ValueError(f"Invalid {name} value: {value!r} (must be {bound})")
