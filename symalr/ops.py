"""The operator vocabulary, as data.

This is the whitelist that grammar text and spec text are checked against: an identifier in a
grammar or a spec is either one of these operator names, one of the ALR symbols, or an error.
Nothing here imports SymPy, torch or TensorFlow; the SymPy meaning of each name lives in
:mod:`symalr.expr`, and each backend printer maps the SymPy nodes onto its own functions.

Semantics (SPEC §1): IEEE float32 as TensorFlow's ops. ``divide_no_nan(a, b)`` is ``a / b`` and
``0`` wherever ``b == 0``; ``sqrt`` of a negative is NaN; ``pow`` of a negative base with a
non-integer exponent is NaN. No backend clamps.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    """One operator of the grammar language: its name, number of arguments and meaning."""

    name: str
    arity: int
    doc: str


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("negative", 1, "-a"),
        Operator("add", 2, "a + b"),
        Operator("subtract", 2, "a - b"),
        Operator("multiply", 2, "a * b"),
        Operator("pow", 2, "a ** b (NaN for a negative base and non-integer exponent)"),
        Operator("square", 1, "a ** 2"),
        Operator("sqrt", 1, "sqrt(a) (NaN for a < 0)"),
        Operator("divide_no_nan", 2, "a / b, and 0 where b == 0"),
        # Not offered by the ALR grammars, but part of the spec language (catalog: sign, Adam):
        Operator("sign", 1, "-1, 0 or 1 (0 for 0; NaN for NaN)"),
        Operator("abs", 1, "|a|"),
    )
}

#: The gradient symbol of the grammar language.
GRAD = "grad"

#: ALR state symbols in execution order (SPEC §1).
ALR_STATES: tuple[str, ...] = ("x", "y", "z")

#: Assignment targets of an ALR phenotype, in execution order: state name -> function name.
ALR_FUNCTIONS: dict[str, str] = {
    "x": "x_func",
    "y": "y_func",
    "z": "z_func",
    "w": "weight_func",
}

#: Every plain (non-call) identifier a grammar's terminals may contain.
GRAMMAR_SYMBOLS: frozenset[str] = frozenset((GRAD, *ALR_STATES))

#: Punctuation a grammar's terminals may contain.
GRAMMAR_PUNCTUATION: frozenset[str] = frozenset({"(", ")", ",", "=", ";"})


def constant_table(n: int = 100, low: float = -10.0, high: float = 10.0) -> tuple[str, ...]:
    """The ALR constant table as printed text: ``sigmoid(linspace(low, high, n))``, 9 significant
    digits, e.g. entry 38 = ``8.92170603e-02``, entry 61 = ``9.10782940e-01`` (SPEC §1)."""
    import math

    values = []
    for i in range(n):
        x = low + (high - low) * i / (n - 1)
        values.append(f"{1.0 / (1.0 + math.exp(-x)):.8e}")
    return tuple(values)
