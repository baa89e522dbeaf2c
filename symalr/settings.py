"""Declared, bounded settings: the one checker of every configuration shape.

A configuration shape (:class:`symalr.sge.SGEConfig`, :class:`symalr.train.config.FitnessConfig`,
:class:`symalr.evolve.config.ExecutorConfig`, :class:`symalr.evolve.config.EvolveConfig`,
:class:`symalr.bench.config.BenchConfig`) is a frozen dataclass whose fields are declared with
:func:`setting`: the annotation gives the type, the :class:`Limits` the bounds. Two entry points
read the declaration, so a bound is written once:

- :func:`check_layer` checks a partial mapping (a TOML/JSON file, flags, a preset) against a
  shape: unknown keys and bad values raise :class:`~symalr.errors.ConfigError`, one line naming
  where the layer came from, the key, the value and the bound;
- :func:`check_fields`, called by each shape's ``__post_init__``, checks and normalises the
  fields of a constructed value (so a value built in Python obeys the same bounds).

Types understood: ``int``, ``float`` (finite only), ``bool``, ``str``, ``X | None`` (``None`` or
the string ``"none"``: TOML has no null), ``str | bool`` with declared choices, fixed tuples
(``tuple[int, int, int]``), variable tuples (``tuple[str, ...]``), ``float | Mapping[str, float]``
(a rate, or a table of rates) and a nested shape (a table). Integers are never truncated from
floats (``17.9`` and ``17.0`` are refused for an integer); NaN and infinities are refused.
Why each bound is what it is: see docs/inputs.md.

Nothing here recurses deeper than the shapes nest (two levels), and values are shown in
messages through a bounded ``reprlib`` (a huge or deeply nested value prints short).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import reprlib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

from symalr.errors import ConfigError

#: Largest seed anywhere: seeds are stored as SQLite INTEGERs (signed 64-bit).
MAX_SEED = 2**63 - 1
#: Longest string in a list or a table key (optimizer names, non-terminal names).
MAX_ITEM_CHARS = 1000
#: Longest path or address.
MAX_PATH_CHARS = 4096

_METADATA_KEY = "symalr.limits"


@dataclass(frozen=True)
class Limits:
    """The bounds of one field.

    ``low``/``high`` (inclusive) bound a number, or each number of a tuple or rate table;
    ``choices`` lists the accepted values (strings or booleans); ``min_len``/``max_len`` bound a
    string's characters or a list's / table's entries; ``why`` is the documented reason.
    """

    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    min_len: int = 0
    max_len: int | None = None
    why: str = ""


def setting(default: Any, *, low: float | None = None, high: float | None = None,
            choices: tuple = (), min_len: int = 0, max_len: int | None = None,
            why: str = "") -> Any:
    """A dataclass field with ``default`` and declared :class:`Limits`."""
    limits = Limits(low, high, tuple(choices), min_len, max_len, why)
    return dataclasses.field(default=default, metadata={_METADATA_KEY: limits})


def limits_of(field: dataclasses.Field) -> Limits | None:
    """The declared limits of a field (None for an undeclared one)."""
    return field.metadata.get(_METADATA_KEY)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def _fields(cls: type) -> dict[str, tuple[Any, Limits]]:
    """name -> (type hint, limits) of a shape."""
    hints = _hints(cls)
    return {f.name: (hints[f.name], limits_of(f) or Limits()) for f in dataclasses.fields(cls)}


_SHOW = reprlib.Repr()
_SHOW.maxlevel = 2
_SHOW.maxstring = 60
_SHOW.maxother = 60
_SHOW.maxlong = 40
_SHOW.maxlist = _SHOW.maxtuple = _SHOW.maxdict = 6


def show(value: Any) -> str:
    """A short, one-line ``repr`` of any value (bounded length and nesting)."""
    return _SHOW.repr(value)


def _num(x: float) -> str:
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    if isinstance(x, int) and x == MAX_SEED:
        return "2**63-1"
    return f"{x:_}" if isinstance(x, int) else f"{x:g}"


def _range(limits: Limits) -> str:
    return f"[{_num(limits.low)}, {_num(limits.high)}]"


def _union_args(hint: Any) -> tuple[Any, ...]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return ()


def _fail(key: str, value: Any, expected: str, where: str) -> ConfigError:
    head = f"{where}: " if where else ""
    return ConfigError(f"{head}{key} = {show(value)}: expected {expected}")


def check_value(key: str, value: Any, hint: Any, limits: Limits, where: str = "") -> Any:
    """``value`` checked against the type ``hint`` and ``limits``, normalised (tuples for
    tuples, ``float`` for floats, ``None`` for ``"none"``); :class:`ConfigError` else."""
    args = _union_args(hint)
    if type(None) in args:
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        inner = [a for a in args if a is not type(None)]
        rest = inner[0] if len(inner) == 1 else typing.Union[tuple(inner)]
        try:
            return check_value(key, value, rest, limits, where)
        except ConfigError as err:
            raise ConfigError(f"{err} or \"none\"") from None
    if limits.choices:
        ok = any(type(value) is type(c) and value == c for c in limits.choices)
        if not ok:
            raise _fail(key, value, "one of " + ", ".join(map(repr, limits.choices)), where)
        return value
    if args and float in args and any(typing.get_origin(a) is Mapping for a in args):
        if isinstance(value, Mapping):
            return _check_table(key, value, limits, where)
        return _check_number(key, value, float, limits, where)
    if hint in (int, float):
        return _check_number(key, value, hint, limits, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise _fail(key, value, "true or false", where)
        return value
    if hint is str:
        if not isinstance(value, str) or not limits.min_len <= len(value) <= _max_len(limits):
            raise _fail(key, value, _str_rule(limits), where)
        return value
    if typing.get_origin(hint) is tuple:
        return _check_tuple(key, value, typing.get_args(hint), limits, where)
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, Mapping):
            raise _fail(key, value, f"a table ([{key}])", where)
        return check_layer(hint, value, where, f"{key}.")
    raise TypeError(f"{key}: unsupported setting type {hint!r}")  # a bug in a declaration


def _max_len(limits: Limits) -> int:
    if limits.max_len is None:
        raise TypeError("a string or list setting needs max_len")  # a declaration bug
    return limits.max_len


def _str_rule(limits: Limits) -> str:
    least = " non-empty" if limits.min_len else ""
    return f"a{least} string of at most {_num(_max_len(limits))} characters"


def _check_number(key: str, value: Any, kind: type, limits: Limits, where: str) -> Any:
    if limits.low is None or limits.high is None:
        raise TypeError(f"{key}: a number setting needs low and high")  # a declaration bug
    if kind is int:
        ok = isinstance(value, Integral) and not isinstance(value, bool)
        expected = f"an integer in {_range(limits)}"
    else:
        ok = (isinstance(value, Real) and not isinstance(value, bool)
              and math.isfinite(float(value)))
        expected = f"a finite number in {_range(limits)}"
    if not ok or not limits.low <= value <= limits.high:
        raise _fail(key, value, expected, where)
    return int(value) if kind is int else float(value)


def _check_table(key: str, value: Mapping, limits: Limits, where: str) -> dict[str, float]:
    if len(value) > _max_len(limits):
        raise _fail(key, value, f"a table of at most {_num(limits.max_len)} entries", where)
    out = {}
    for name, rate in value.items():
        if not isinstance(name, str) or not 0 < len(name) <= MAX_ITEM_CHARS:
            raise _fail(key, name, f"table keys of 1 to {MAX_ITEM_CHARS} characters", where)
        out[name] = _check_number(f"{key}.{name}", rate, float, limits, where)
    return out


def _check_tuple(key: str, value: Any, items: tuple, limits: Limits, where: str) -> tuple:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise _fail(key, value, "a list", where)
    if len(items) == 2 and items[1] is Ellipsis:
        kind = items[0]
        if not limits.min_len <= len(value) <= _max_len(limits):
            raise _fail(key, value, f"a list of {limits.min_len} to {_num(limits.max_len)} "
                                    f"entries", where)
        item_limits = Limits(min_len=1, max_len=MAX_ITEM_CHARS) if kind is str else limits
        return tuple(check_value(f"{key}[{i}]", v, kind, item_limits, where)
                     for i, v in enumerate(value))
    if len(value) != len(items):
        raise _fail(key, value, f"a list of {len(items)}", where)
    return tuple(check_value(f"{key}[{i}]", v, kind, limits, where)
                 for i, (v, kind) in enumerate(zip(value, items)))


def check_layer(cls: type, data: Mapping[str, Any], where: str, prefix: str = "",
                skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A partial layer of shape ``cls``: every key known (``skip`` lists extra keys the caller
    checks itself, returned unchecked), every value checked; the normalised copy."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: {prefix.rstrip('.') or 'the configuration'} must be a "
                          f"table of settings, got {show(data)}")
    declared = _fields(cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in skip:
            out[key] = value
            continue
        if key not in declared:
            known = ", ".join(sorted([*declared, *skip]))
            section = f" in [{prefix.rstrip('.')}]" if prefix else ""
            raise ConfigError(f"{where}: unknown key {prefix}{_key_text(key)} "
                              f"(known{section}: {known})")
        hint, limits = declared[key]
        out[key] = check_value(f"{prefix}{key}", value, hint, limits, where)
    return out


def _key_text(key: Any) -> str:
    text = show(key)
    return text[1:-1] if isinstance(key, str) else text


def check_fields(obj: Any, prefix: str = "") -> None:
    """Check every field of the shape instance ``obj`` against its declaration and store the
    normalised values (for ``__post_init__`` of frozen dataclasses)."""
    for name, (hint, limits) in _fields(type(obj)).items():
        value = getattr(obj, name)
        checked = check_value(f"{prefix}{name}", value, hint, limits)
        if checked is not value:
            object.__setattr__(obj, name, checked)


def bound_error(key: str, value: Any, bound: str, where: str = "") -> ConfigError:
    """The one-line error of a value that breaks a bound involving other settings."""
    return _fail(key, value, bound, where)


def declared(cls: type) -> dict[str, tuple[Any, Limits]]:
    """name -> (type hint, limits) of every field of a shape (docs and tests read it)."""
    return dict(_fields(cls))
