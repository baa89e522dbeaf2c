"""Helper functions that generated modules carry: real Python, copied into them as source.

The printers call some of these by name (the ``helpers`` of :mod:`symalr.ops` rows and the
scalar division ``_div``); the Keras skeleton carries ``_check``, the torch skeleton the
functions from ``_checked`` on (validation, hyperparameter aliases, buckets, scratch buffers).
:func:`symalr.render.helpers.helper_source` reads this file's text and cuts out the requested
functions with :mod:`ast` — this module is never imported by rendering, so rendering never
loads torch. Linters and tests see this code like any other (tests import it and call it).

Every function here is TorchScript-compatible where generated per-tensor code calls it, and
uses only ``math`` and ``torch`` (imported by the generated module).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor


def _nan_sign(x: Tensor) -> Tensor:
    """``sign(x)`` that keeps NaN (``torch.sign`` maps NaN to 0)."""
    return torch.where(torch.isnan(x), x, torch.sign(x))


def _nan_sign_out(x: Tensor, out: Tensor) -> Tensor:
    """``sign(x)`` that keeps NaN, written into ``out`` (``out`` must not be ``x``)."""
    torch.sign(x, out=out)
    return torch.where(torch.isnan(x), x, out, out=out)


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


def _checked(name: str, value, low: float, high: float):
    """``value`` as a group stores it: a real number (NumPy scalars too) as a Python float, a
    one-element real tensor as itself; ``ValueError`` naming ``name`` for anything else and
    for a value outside ``[low, high]``."""
    bound = f">= {low:g}" if high == float("inf") else f"in [{low:g}, {high:g}]"
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
            raise ValueError(f"Invalid {name} value: {value!r} (a tensor {name} must hold one "
                             "real number)")
        number = float(value.detach())
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = value = float(value)
    else:
        raise ValueError(f"Invalid {name} value: {value!r} (must be a real number {bound}, "
                         "or a one-element tensor)")
    if not low <= number <= high:
        raise ValueError(f"Invalid {name} value: {value!r} (must be {bound})")
    return value


def _alias_parts(alias: str, value, keys: tuple[str, ...], is_tuple: bool) -> tuple:
    """The spec hyperparameters' values an alias value stands for (``betas=(b1, b2)`` ->
    ``(b1, b2)``, ``eps=e`` -> ``(e,)``); ``ValueError`` for a tuple of the wrong length."""
    if not is_tuple:
        return (value,)
    if not isinstance(value, (tuple, list)) or len(value) != len(keys):
        raise ValueError(f"Invalid {alias} value: {value!r} (must be a tuple of {len(keys)} "
                         f"numbers: {', '.join(keys)})")
    return tuple(value)


def _alias_value(group: dict, keys: tuple[str, ...], is_tuple: bool):
    """An alias's value made of the group's spec hyperparameters."""
    return tuple(group[k] for k in keys) if is_tuple else group[keys[0]]


def _resolve_aliases(values: dict, given: dict, aliases: tuple, defaults: dict) -> None:
    """Constructor arguments: the spec hyperparameters in ``values`` take the values of the
    aliases in ``given`` that are not None; a spec argument set to another value than its
    default and than the alias's is a ``ValueError``."""
    for alias, keys, is_tuple in aliases:
        if given.get(alias) is None:
            continue
        for k, v in zip(keys, _alias_parts(alias, given[alias], keys, is_tuple)):
            if values[k] != defaults[k] and values[k] != v:
                raise ValueError(f"{alias}={given[alias]!r} and {k}={values[k]!r} disagree; "
                                 f"give only one of them")
            values[k] = v


def _group_aliases(group: dict, aliases: tuple, defaults: dict) -> None:
    """A new parameter group: fill the spec hyperparameters from an alias it gives, or the
    alias from the spec hyperparameters it gives (the others from ``defaults``);
    ``ValueError`` where both are given and disagree."""
    for alias, keys, is_tuple in aliases:
        if alias in group:
            for k, v in zip(keys, _alias_parts(alias, group[alias], keys, is_tuple)):
                if k in group and group[k] != v:
                    raise ValueError(f"parameter group gives {alias}={group[alias]!r} and "
                                     f"{k}={group[k]!r}; give only one of them")
                group[k] = v
        elif any(k in group for k in keys):
            group[alias] = _alias_value({**defaults, **group}, keys, is_tuple)


def _sync_aliases(group: dict, aliases: tuple, seen: dict | None, bounds: dict) -> dict:
    """Make each alias of ``group`` and its spec hyperparameters agree before a step: where
    they differ, the side that changed since the last sync (``seen``: the aliases' values
    then) wins — the alias when that is unknown. Returns the aliases' values now."""
    now = {}
    for alias, keys, is_tuple in aliases:
        value = group[alias]
        mine = _alias_value(group, keys, is_tuple)
        if value != mine:
            if seen is None or seen.get(alias) != value:
                parts = _alias_parts(alias, value, keys, is_tuple)
                for k, v in zip(keys, parts):
                    group[k] = _checked(k, v, *bounds[k])
            else:
                group[alias] = mine
        now[alias] = group[alias]
    return now


def _buckets(params: list[Tensor], steps: list[int] | None) -> list[list[int]]:
    """Indices of the parameters that share device and dtype (and step, when ``steps`` is
    given: the rule reads the step)."""
    found: dict[tuple, list[int]] = {}
    for i, p in enumerate(params):
        found.setdefault((p.device, p.dtype, steps[i] if steps is not None else 0),
                         []).append(i)
    return list(found.values())


def _work_dtype(p: Tensor) -> torch.dtype:
    """The dtype of a parameter's states and of its update's arithmetic: float32 for
    float16/bfloat16 parameters (as mixed-precision training keeps them), else its own."""
    return torch.float32 if p.dtype in (torch.float16, torch.bfloat16) else p.dtype


def _scratch(states: list[dict] | None, like: list[Tensor], keys: list,
             dtype: torch.dtype) -> list[list[Tensor]]:
    """Per key of ``keys``, one ``dtype`` buffer shaped like each tensor of ``like``: kept in
    the ``_scratch`` entry of the matching optimizer state of ``states`` and reused by every
    step (made again when the parameter's shape or the dtype changes), or new ones when
    ``states`` is None."""
    if states is None:
        return [[torch.empty_like(x, dtype=dtype, memory_format=torch.preserve_format)
                 for x in like] for _ in keys]
    out: list[list[Tensor]] = [[] for _ in keys]
    for state, x in zip(states, like):
        buffers = state.get("_scratch")
        if buffers is None or buffers["shape"] != x.shape or buffers["dtype"] != dtype:
            buffers = state["_scratch"] = {"shape": x.shape, "dtype": dtype}
        for found, key in zip(out, keys):
            b = buffers.get(key)
            if b is None:
                b = buffers[key] = torch.empty_like(x, dtype=dtype,
                                                    memory_format=torch.preserve_format)
            found.append(b)
    return out


def _without_scratch(state: dict) -> dict:
    """Optimizer state without the ``_scratch`` buffers (what ``state_dict`` and pickling
    keep)."""
    return {k: v if not isinstance(v, dict) or "_scratch" not in v else
            {n: x for n, x in v.items() if n != "_scratch"} for k, v in state.items()}
