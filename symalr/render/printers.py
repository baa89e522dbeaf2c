"""SymPy code printers: spec expressions -> torch, TensorFlow, JAX, NumPy and plain-float Python
text.

Each backend is a thin subclass of SymPy's Python code printer that swaps a mapping table
(:attr:`ExprPrinter.table`). All of them print an expression the way the NumPy reference stepper
(:class:`symalr.reference.Evaluator`) evaluates it, so that results agree to about one ulp:

- sums and products keep SymPy's argument order and associate to the left;
- inside a product, a factor ``b**-k`` (``k`` a positive number) and a rational ``1/q`` divide:
  ``a*b**-1*c -> a*c/b``; ``b**(1/2)`` is a square root, ``b**2`` a square, ``b**-1`` is
  ``1.0/b``;
- any sub-expression without symbols is printed as one float literal, its value computed as
  the reference computes it (IEEE: NaN, not a complex number, for ``(-1/2)**sqrt(2)``).

Operators are spelled from their rows in :mod:`symalr.ops` (``spell[backend]``), which also
name the helper functions a spelling calls; protected semantics (docs/optimizer-model.md) live
there: ``divide_no_nan(a, b)`` is 0 where ``b == 0`` (whatever ``a`` is), ``sign`` keeps NaN
(``torch.sign`` maps NaN to 0, so torch code calls the helper ``_nan_sign``), ``sqrt``/``pow``
are IEEE. :class:`ScalarPrinter` prints for plain Python floats, where ``/``, ``**`` and
``math.sqrt`` raise instead of returning inf/NaN; it calls small TorchScript-compatible
helpers whose source is in :mod:`symalr.render.runtime`.

Printers are strict: a node outside the vocabulary raises :class:`~symalr.errors.ExportError`
naming it. They know names only through the ``names`` mapping (symbol name -> identifier), and
record in :attr:`ExprPrinter.helpers` / :attr:`ExprPrinter.imports` what the text needs.
Nothing here imports torch, TensorFlow or JAX.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from string import Formatter
from typing import ClassVar

import numpy as np
import sympy
from sympy.printing.pycode import PythonCodePrinter

from .. import expr as expr_module
from .. import ops
from ..errors import ExportError
from ..expr import to_text
from ..reference import Evaluator


def _node_class(name: str) -> type:
    return getattr(expr_module, name, None) or getattr(sympy, name)


#: Node classes every printer supports: the arithmetic and power nodes, the function-like
#: operators of :mod:`symalr.ops`, numbers and IEEE's special values.
SUPPORTED_NODES: tuple[type, ...] = (
    sympy.Symbol, sympy.Number, sympy.Add, sympy.Mul, sympy.Pow,
    *(_node_class(name) for name in ops.BY_NODE),
    type(sympy.nan), type(sympy.zoo), type(sympy.oo), type(sympy.S.NegativeInfinity),
)  # fmt: skip


def check_supported(expr: sympy.Basic, backend: str) -> None:
    """Raise :class:`ExportError` naming the first node outside :data:`SUPPORTED_NODES`."""
    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, SUPPORTED_NODES):
            kind = type(node).__name__
            raise ExportError(
                f"cannot export to {backend}: unsupported operation {kind!r} in "
                f"{to_text(expr)[:80]} (supported: {ops.names()}, numbers)"
            )


def number_value(expr: sympy.Expr) -> float:
    """The value of a symbol-free expression as the reference stepper computes it (IEEE, in
    float64): NaN where SymPy would give a complex number, e.g. ``(-1/2)**sqrt(2)``."""
    return float(Evaluator(np.float64)(expr, {}))


def _is_negative_term(e: sympy.Expr) -> bool:
    if e.is_Number:
        return bool(e < 0)
    return bool(e.is_Mul and e.args[0].is_Number and e.args[0] < 0)


def _negated(e: sympy.Expr) -> sympy.Expr:
    """``-e`` for a negative term, keeping the argument order of a product."""
    if e.is_Number:
        return -e
    coeff, rest = e.args[0], e.args[1:]
    if coeff == -1:
        return rest[0] if len(rest) == 1 else sympy.Mul(*rest, evaluate=False)
    return sympy.Mul(-coeff, *rest, evaluate=False)


def split_product(e: sympy.Mul) -> tuple[list[sympy.Expr], list[sympy.Expr]]:
    """Numerator and denominator factors of a product, as the reference stepper divides."""
    num, den = [], []
    for a in e.args:
        if a.is_Pow and a.exp.is_Number and a.exp.is_negative:
            den.append(a.base if a.exp == -1 else sympy.Pow(a.base, -a.exp))
        elif a.is_Rational and not a.is_Integer and a.p == 1:
            den.append(sympy.Integer(a.q))
        else:
            num.append(a)
    return num, den


class ExprPrinter(PythonCodePrinter):
    """Base printer: the reference evaluation order, literals, strictness.

    ``names`` maps every symbol name the expressions may use to the identifier to print.
    Subclasses set :attr:`backend` and :attr:`table` (operation -> backend spelling; keys
    ``sqrt``, ``square``, ``abs``, ``sign``, ``pow``, ``nan``, ``inf``).
    """

    backend: ClassVar[str] = "python"
    table: ClassVar[dict[str, str]] = {}
    #: imports any printed text needs (e.g. ``torch`` for ``torch.sqrt``)
    base_imports: ClassVar[frozenset[str]] = frozenset()

    _default_settings = {**PythonCodePrinter._default_settings, "strict": True}

    def __init__(self, names: Mapping[str, str], settings: dict | None = None):
        super().__init__(settings or {})
        self.names = dict(names)
        self.helpers: set[str] = set()
        self.imports: set[str] = set(self.base_imports)

    # ------------------------------------------------------------------ entry point

    def doprint(self, expr, assign_to=None) -> str:  # noqa: D401 - SymPy's signature
        """Print ``expr`` (``assign_to`` is not supported)."""
        if assign_to is not None:
            raise TypeError("symalr printers print expressions only")
        expr = sympy.sympify(expr)
        check_supported(expr, self.backend)
        return self._print(expr)

    def _print(self, expr, **kwargs) -> str:
        if isinstance(expr, sympy.Expr) and not expr.is_Atom and not expr.free_symbols:
            return self._literal(number_value(expr))
        return super()._print(expr, **kwargs)

    def _print_not_supported(self, expr):
        raise ExportError(
            f"cannot export to {self.backend}: unsupported operation {type(expr).__name__!r}"
        )

    _print_Basic = _print_not_supported

    # ------------------------------------------------------------------ atoms

    def _literal(self, value: float) -> str:
        if math.isnan(value):
            return self.table["nan"]
        if math.isinf(value):
            return self.table["inf"] if value > 0 else f"-{self.table['inf']}"
        return repr(float(value))

    def _print_Number(self, expr) -> str:
        return self._literal(number_value(expr))

    _print_Integer = _print_Rational = _print_Float = _print_Half = _print_Number
    _print_One = _print_Zero = _print_NegativeOne = _print_Number
    _print_NaN = _print_ComplexInfinity = _print_Infinity = _print_Number
    _print_NegativeInfinity = _print_Number

    def _print_Symbol(self, expr) -> str:
        try:
            return self.names[expr.name]
        except KeyError:
            raise ExportError(
                f"cannot export to {self.backend}: no identifier for symbol {expr.name!r}"
            ) from None

    # ------------------------------------------------------------------ operators

    def _operand(self, e: sympy.Expr) -> str:
        """``e`` printed as an operand of ``*`` or ``/`` (parenthesised unless atomic)."""
        text = self._print(e)
        atomic = e.is_Symbol or (not e.free_symbols and not text.startswith("-"))
        if atomic or e.is_Function or (e.is_Pow and self._pow_is_call(e)):
            return text
        return f"({text})"

    def _pow_is_call(self, e: sympy.Pow) -> bool:
        return e.exp != -1 and e.exp != -sympy.S.Half

    def _print_Add(self, expr, order=None) -> str:
        out = ""
        for i, term in enumerate(expr.args):
            if i and _is_negative_term(term):
                out += " - " + self._term(_negated(term))
            else:
                out += (" + " if i else "") + self._term(term)
        return out

    def _term(self, e: sympy.Expr) -> str:
        text = self._print(e)
        return f"({text})" if e.is_Add else text

    def _print_Mul(self, expr) -> str:
        num, den = split_product(expr)
        if not num:
            if not den:
                return self._literal(1.0)
            text = self._divide_number(self._literal(1.0), den[0])
            den = den[1:]
        elif len(num) > 1 and num[0] == -1:
            text = "-" + "*".join(self._operand(a) for a in num[1:])
        elif num[0].is_Number and not num[0].free_symbols and den and len(num) == 1:
            text = self._divide_number(self._print(num[0]), den[0])
            den = den[1:]
        else:
            text = "*".join(self._operand(a) for a in num)
        for d in den:
            text += "/" + self._operand(d)
        return text

    def _divide_number(self, number: str, den: sympy.Expr) -> str:
        """A number literal divided by an expression (backends differ when the literal is a
        Python float and the denominator a tensor)."""
        return f"{number}/{self._operand(den)}"

    def _print_Pow(self, expr, rational=False) -> str:
        base, exp = expr.args
        if exp == sympy.S.Half:
            return self._call("sqrt", base)
        if exp == -sympy.S.Half:
            return f"{self._literal(1.0)}/{self._call('sqrt', base)}"
        if exp == 2:
            return self._square(base)
        if exp == -1:
            return self._divide_number(self._literal(1.0), base)
        return self._call("pow", base, exp)

    def _square(self, base: sympy.Expr) -> str:
        return self._call("square", base)

    def _call(self, name: str, *args: sympy.Expr) -> str:
        """Operator ``name`` applied to ``args``, spelled by its row of :mod:`symalr.ops`."""
        op = ops.OPERATORS[name]
        spelling = op.spelling(self.backend)
        self.helpers.update(op.helpers.get(self.backend, ()))
        wanted = {field for _, field, _, _ in Formatter().parse(spelling) if field}
        fields = {}
        for key, e in zip("ab", args):
            if key in wanted:
                fields[key] = self._argument(e)
            if key + "o" in wanted:
                fields[key + "o"] = self._operand(e)
        if "q" in wanted:
            fields["q"] = self._quotient(*args)
        return spelling.format(**fields)

    def _argument(self, e: sympy.Expr) -> str:
        """``e`` printed as a function argument."""
        return self._print(e)

    def _quotient(self, a: sympy.Expr, b: sympy.Expr) -> str:
        """``a / b`` as this backend divides."""
        if not a.free_symbols:
            return self._divide_number(self._print(a), b)
        return f"{self._operand(a)}/{self._operand(b)}"

    def _print_Function(self, expr) -> str:
        op = ops.BY_NODE.get(type(expr).__name__)
        if op is None:
            return self._print_not_supported(expr)
        return self._call(op.name, *expr.args)

    _print_Abs = _print_sign = _print_divide_no_nan = _print_Function


class TorchPrinter(ExprPrinter):
    """Tensor expressions for torch. Symbols are tensors (0-d tensors for hyperparameters)."""

    backend = "torch"
    base_imports = frozenset({"torch"})
    table = {"div": "torch.div", "nan": 'float("nan")', "inf": 'float("inf")'}

    def _divide_number(self, number: str, den: sympy.Expr) -> str:
        # float / Tensor is reciprocal(x) * float in torch; torch.div divides exactly.
        return f"{self.table['div']}({number}, {self._print(den)})"


class TFPrinter(ExprPrinter):
    """Tensor expressions for TensorFlow. ``dtype`` names the variable holding the dtype that
    literal function arguments are created in."""

    backend = "tf"
    base_imports = frozenset({"tf"})
    table = {"nan": 'float("nan")', "inf": 'float("inf")'}

    def __init__(self, names: Mapping[str, str], dtype: str = "dtype", settings=None):
        super().__init__(names, settings)
        self.dtype = dtype

    def _argument(self, e: sympy.Expr) -> str:
        text = self._print(e)
        if not e.free_symbols:  # a Python float would become float32 whatever the variable
            return f"tf.constant({text}, {self.dtype})"
        return text


class JaxPrinter(ExprPrinter):
    """Array expressions for ``jax.numpy`` (``jnp``), the reference's semantics.

    Literals print as Python floats (NaN and inf as ``jnp.nan`` / ``jnp.inf``, also Python
    floats). JAX types Python scalars weakly: they take the dtype of the array they meet, so
    float32 arithmetic stays float32, as in the reference, with or without ``jax_enable_x64``.
    """

    backend = "jax"
    base_imports = frozenset({"jnp"})
    table = {"nan": "jnp.nan", "inf": "jnp.inf"}


class NumPyPrinter(ExprPrinter):
    """Array expressions for NumPy (``np``), the reference stepper's semantics."""

    backend = "numpy"
    base_imports = frozenset({"np"})
    table = {"nan": "np.nan", "inf": "np.inf"}


class ScalarPrinter(ExprPrinter):
    """Plain Python float expressions (hyperparameters and the step), IEEE through helpers.

    Used for the sub-expressions that do not depend on any tensor, computed once per step.
    """

    backend = "python"
    table = {"div": "_div", "nan": "math.nan", "inf": "math.inf"}

    def _literal(self, value: float) -> str:
        text = super()._literal(value)
        if "math." in text:
            self.imports.add("math")
        return text

    def _pow_is_call(self, e: sympy.Pow) -> bool:
        return e.exp != 2

    def _divide_number(self, number: str, den: sympy.Expr) -> str:
        self.helpers.add(self.table["div"])
        return f"{self.table['div']}({number}, {self._print(den)})"

    def _print_Mul(self, expr) -> str:
        num, den = split_product(expr)
        if not num:
            text = self._literal(1.0)
        elif len(num) > 1 and num[0] == -1:
            text = "-" + "*".join(self._operand(a) for a in num[1:])
        else:
            text = "*".join(self._operand(a) for a in num)
        for d in den:
            text = self._divide_text(text, self._print(d))
        return text

    def _divide_text(self, num: str, den: str) -> str:
        self.helpers.add(self.table["div"])
        return f"{self.table['div']}({num}, {den})"

    def _print_Pow(self, expr, rational=False) -> str:
        base, exp = expr.args
        if exp == -sympy.S.Half:
            return self._divide_text(self._literal(1.0), self._call("sqrt", base))
        return super()._print_Pow(expr)
