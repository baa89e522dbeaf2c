"""Helper functions that generated modules carry: real Python, copied into them as source.

The printers call some of these by name (the ``helpers`` of :mod:`symalr.ops` rows and the
scalar division ``_div``); the torch skeleton always carries ``_check`` and ``_buckets``.
:func:`symalr.render.helpers.helper_source` reads this file's text and cuts out the requested
functions with :mod:`ast` — this module is never imported by rendering, so rendering never
loads torch. Linters and tests see this code like any other (tests import it and call it).

Every function here is TorchScript-compatible where generated per-tensor code calls it, and
uses only ``math`` and ``torch`` (imported by the generated module).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _nan_sign(x: Tensor) -> Tensor:
    """``sign(x)`` that keeps NaN (``torch.sign`` maps NaN to 0)."""
    return torch.where(torch.isnan(x), x, torch.sign(x))


def _div(a: float, b: float) -> float:
    """``a / b`` with IEEE results (inf, NaN) where Python raises ZeroDivisionError."""
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _div0(a: float, b: float) -> float:
    """``divide_no_nan``: ``a / b``, and 0 where ``b == 0``."""
    return a / b if b != 0.0 else 0.0


def _sqrt(a: float) -> float:
    """IEEE square root: NaN for a negative or NaN argument."""
    return math.sqrt(a) if a >= 0.0 else math.nan


def _sign(a: float) -> float:
    """-1, 0 or 1; NaN for NaN."""
    if a > 0.0:
        return 1.0
    if a < 0.0:
        return -1.0
    return a


def _pow(a: float, b: float) -> float:
    """IEEE ``a ** b``: NaN for a negative base and non-integer exponent, inf on overflow or
    for zero to a negative power (Python would raise or return a complex number)."""
    if math.isfinite(a) and math.isfinite(b):
        odd = b == math.floor(b) and math.fmod(b, 2.0) != 0.0
        if a == 0.0 and b < 0.0:
            return -math.inf if odd and math.copysign(1.0, a) < 0.0 else math.inf
        if a < 0.0 and b != math.floor(b):
            return math.nan
        if a != 0.0 and b * math.log(abs(a)) > 700.0:
            return -math.inf if odd and a < 0.0 else math.inf
    return a**b


def _check(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        bound = f">= {low:g}" if high == float("inf") else f"in [{low:g}, {high:g}]"
        raise ValueError(f"Invalid {name} value: {value!r} (must be {bound})")


def _buckets(params: list[Tensor], steps: list[int], by_step: bool) -> list[list[int]]:
    """Indices of the parameters that share device and dtype (and step, if the rule reads it)."""
    found: dict[tuple, list[int]] = {}
    for i, (p, s) in enumerate(zip(params, steps)):
        found.setdefault((p.device, p.dtype, s if by_step else 0), []).append(i)
    return list(found.values())
