"""The operator vocabulary: one row per operator, read by every stage.

This is the whitelist that grammar text and spec text are checked against, and the single
statement of what each operator means and how each backend spells it. The grammar validator
reads ``arity``; the expression parser builds SymPy nodes with ``build``; the printers
(:mod:`symalr.render.printers`) spell function-like operators with ``spell[backend]``; the
torch lowering (:mod:`symalr.render.lowering`) uses ``foreach`` and the ``torch`` spellings;
the NumPy oracle (:mod:`symalr.reference`) computes with ``reference``; LaTeX uses ``latex``.
Adding an operator is one row here (plus its tests).

Spellings are format strings over the printed arguments: ``{a}``, ``{b}`` as function
arguments, ``{ao}``, ``{bo}`` as operands of ``*``/``/`` (parenthesised unless atomic), and
``{q}`` as the backend's quotient ``a / b``. Arithmetic operators (``add``, ``subtract``,
``multiply``, ``negative``) have none: SymPy turns them into sums and products, which every
printer writes infix. The powers (``pow``, ``square``, ``sqrt``) are SymPy ``Pow`` nodes; the
printers pick the row by the exponent (``1/2`` is ``sqrt``, ``2`` is ``square``).

Semantics (docs/optimizer-model.md): IEEE float32 as TensorFlow's ops. ``divide_no_nan(a, b)``
is ``a / b`` and ``0`` wherever ``b == 0``; ``sqrt`` of a negative is NaN; ``pow`` of a negative
base with a non-integer exponent is NaN; ``sign`` keeps NaN. No backend clamps.

Nothing here imports SymPy, NumPy, torch or TensorFlow at import time (the grammar layer uses
this module and knows nothing of SymPy); ``build`` and ``reference`` import on call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Backends that print spellings: torch and TensorFlow tensors, NumPy arrays, jax.numpy arrays,
#: and plain Python floats (the scalar sub-expressions of generated code).
BACKENDS = ("torch", "tf", "numpy", "jax", "python")


@dataclass(frozen=True)
class Operator:
    """One operator of the language (see the module docstring for the fields' readers).

    - ``name``/``arity``/``doc``: the language's spelling ``name(a[, b])`` and its meaning;
    - ``build``: SymPy arguments -> SymPy expression;
    - ``node``: the SymPy class ``build`` makes (``Add``, ``Mul``, ``Pow`` or a function class);
    - ``spell``: backend -> format string of a call (function-like operators only); the extra
      key ``torch_scalar_divisor`` spells ``divide_no_nan`` by a Python float in torch code,
      and ``torch_out`` / ``torch_scalar_divisor_out`` spell the operators without a
      ``foreach`` form as a torch statement writing into the tensor ``{out}`` (``{qo}``: the
      quotient ``a / b`` written there), which the lowering uses (scratch slots);
    - ``helpers``: backend (or spelling key) -> names of the helper functions the spelling
      calls (:mod:`symalr.render.runtime`);
    - ``foreach``: the torch operation with a ``torch._foreach_*`` form, or None;
    - ``reference``: NumPy arguments -> NumPy result with the IEEE semantics (function-like
      operators only);
    - ``latex``: a format string over ``{a}``, ``{b}`` where SymPy's own LaTeX does not do.
    """

    name: str
    arity: int
    doc: str
    build: Callable[..., Any]
    node: str
    spell: Mapping[str, str] = field(default_factory=dict)
    helpers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    foreach: str | None = None
    reference: Callable[..., Any] | None = None
    latex: str | None = None

    def spelling(self, backend: str) -> str:
        """This operator's call spelling for ``backend`` (KeyError for arithmetic ones)."""
        return self.spell[backend]


def _sympy():
    import sympy

    return sympy


def _np():
    import numpy

    return numpy


def _divide_no_nan(a, b):
    from .expr import divide_no_nan

    return divide_no_nan(a, b)


def _reference_divide_no_nan(a, b):
    np = _np()
    a, b = np.broadcast_arrays(a, b)
    one = np.ones((), dtype=b.dtype)
    return np.where(b == 0, np.zeros((), dtype=b.dtype), a / np.where(b == 0, one, b))


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("negative", 1, "-a", lambda a: -a, "Mul"),
        Operator("add", 2, "a + b", lambda a, b: a + b, "Add"),
        Operator("subtract", 2, "a - b", lambda a, b: a - b, "Add"),
        Operator("multiply", 2, "a * b", lambda a, b: a * b, "Mul"),
        Operator(
            "pow", 2, "a ** b (NaN for a negative base and non-integer exponent)",
            lambda a, b: a**b, "Pow",
            spell={"torch": "torch.pow({a}, {b})", "tf": "tf.pow({a}, {b})",
                   "numpy": "np.power({a}, {b})", "jax": "jnp.power({a}, {b})",
                   "python": "_pow({a}, {b})"},
            helpers={"python": ("_pow",)}, foreach="pow",
            reference=lambda a, b: _np().power(a, b),
        ),
        Operator(
            "square", 1, "a ** 2", lambda a: a**2, "Pow",
            spell={"torch": "torch.square({a})", "tf": "tf.square({a})",
                   "numpy": "np.square({a})", "jax": "jnp.square({a})", "python": "{ao}*{ao}"},
            reference=lambda a: a * a,
        ),
        Operator(
            "sqrt", 1, "sqrt(a) (NaN for a < 0)", lambda a: _sympy().sqrt(a), "Pow",
            spell={"torch": "torch.sqrt({a})", "tf": "tf.sqrt({a})", "numpy": "np.sqrt({a})",
                   "jax": "jnp.sqrt({a})", "python": "_sqrt({a})"},
            helpers={"python": ("_sqrt",)}, foreach="sqrt",
            reference=lambda a: _np().sqrt(a),
        ),
        Operator(
            "divide_no_nan", 2, "a / b, and 0 where b == 0", _divide_no_nan, "divide_no_nan",
            spell={"torch": "torch.where({b} == 0, 0.0, {q})",
                   "torch_scalar_divisor": "({a} / {b} if {b} != 0.0 else torch.zeros_like({a}))",
                   "torch_out": "{qo}.masked_fill_({b} == 0, 0.0)",
                   "torch_scalar_divisor_out": "{qo} if {b} != 0.0 else {out}.zero_()",
                   "tf": "tf.math.divide_no_nan({a}, {b})",
                   "numpy": "np.where({b} == 0, 0.0, {ao}/np.where({b} == 0, 1.0, {b}))",
                   "jax": "jnp.where({b} == 0, 0.0, {ao}/jnp.where({b} == 0, 1.0, {b}))",
                   "python": "_div0({a}, {b})"},
            helpers={"python": ("_div0",)},
            reference=_reference_divide_no_nan,
            latex=r"\operatorname{{div}}_0\!\left({a},\ {b}\right)",
        ),
        # Not offered by the ALR grammars, but part of the spec language (catalog: sign, Adam):
        Operator(
            "sign", 1, "-1, 0 or 1 (0 for 0; NaN for NaN)", lambda a: _sympy().sign(a), "sign",
            spell={"torch": "_nan_sign({a})", "torch_out": "_nan_sign_out({a}, {out})",
                   "tf": "tf.sign({a})", "numpy": "np.sign({a})", "jax": "jnp.sign({a})",
                   "python": "_sign({a})"},
            helpers={"torch": ("_nan_sign",), "torch_out": ("_nan_sign_out",),
                     "python": ("_sign",)},
            reference=lambda a: _np().sign(a),
        ),
        Operator(
            "abs", 1, "|a|", lambda a: _sympy().Abs(a), "Abs",
            spell={"torch": "torch.abs({a})", "tf": "tf.abs({a})", "numpy": "np.abs({a})",
                   "jax": "jnp.abs({a})", "python": "abs({a})"},
            foreach="abs", reference=lambda a: _np().abs(a),
        ),
    )
}

#: Function-like operators by the SymPy class name of their nodes (``Abs`` -> ``abs``).
BY_NODE: dict[str, Operator] = {
    op.node: op for op in OPERATORS.values() if op.node not in ("Add", "Mul", "Pow")
}

#: SymPy's own spellings that parse back as the vocabulary (``to_text`` prints ``Abs``).
ALIASES: dict[str, str] = {"Abs": "abs"}


def operator(name: str) -> Operator:
    """The row called ``name`` (aliases allowed); KeyError if none."""
    return OPERATORS[ALIASES.get(name, name)]


def names() -> str:
    """The operator names, sorted, comma-separated (for error messages)."""
    return ", ".join(sorted(OPERATORS))


#: The gradient symbol of the grammar language.
GRAD = "grad"

#: ALR state symbols in execution order (docs/optimizer-model.md).
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
    digits, e.g. entry 38 = ``8.92170603e-02``, entry 61 = ``9.10782940e-01``."""
    values = []
    for i in range(n):
        x = low + (high - low) * i / (n - 1)
        values.append(f"{1.0 / (1.0 + math.exp(-x)):.8e}")
    return tuple(values)
