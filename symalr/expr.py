"""SymPy meaning of the operator vocabulary, and a safe text <-> expression codec.

Expressions use real SymPy symbols (``symbol(name)``); protected division is the SymPy function
:class:`divide_no_nan`. Text is parsed by Lark (``expr.lark``) and built through a whitelist of
operator names — nothing reaches ``eval``/``exec``/``sympify``. ``to_text`` prints an expression
so that ``parse_expr(to_text(e)) == e``.

Contract of the semantics (see docs/optimizer-model.md), shared by every backend and the NumPy reference:
``divide_no_nan(a, b) = a / b`` where ``b != 0`` and ``0`` where ``b == 0``; ``sqrt`` / ``pow``
follow IEEE (NaN for negative bases with non-integer exponents).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

import sympy
from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import LarkError, UnexpectedInput, VisitError

from . import language
from .errors import SpecError
from .ops import OPERATORS, names, operator


class divide_no_nan(sympy.Function):  # noqa: N801 - the operator's name in the vocabulary
    """``a / b``, and ``0`` where ``b == 0`` (TensorFlow's ``tf.math.divide_no_nan``)."""

    nargs = 2
    is_real = True

    @classmethod
    def eval(cls, a, b):
        if b.is_zero:
            return sympy.S.Zero
        if a.is_zero:
            return sympy.S.Zero
        if b.is_positive or b.is_negative:  # provably nonzero (e.g. a constant): plain division
            return a / b
        return None

    def _latex(self, printer, exp=None):
        a, b = (printer._print(x) for x in self.args)
        out = OPERATORS["divide_no_nan"].latex.format(a=a, b=b)
        return out if exp is None else rf"{out}^{{{exp}}}"


@cache
def symbol(name: str, positive: bool = False) -> sympy.Symbol:
    """The SymPy symbol for a name. All symbols are real; hyperparameters are also positive."""
    if positive:
        return sympy.Symbol(name, positive=True)
    return sympy.Symbol(name, real=True)


#: Names the spec language reserves: gradient, weight, 1-based step counter.
GRAD, WEIGHT, STEP = "g", "w", "t"
RESERVED = frozenset({GRAD, WEIGHT, STEP})


#: Longest expression or phenotype text parsed, and deepest nesting of its parse tree: far above
#: anything the grammars derive (depth 64 at most), far below Python's recursion limit, which
#: the tree transformer and SymPy would otherwise meet.
MAX_TEXT = 20_000
MAX_NESTING = 200


@cache
def _parser(start: str) -> Lark:
    grammar = (Path(__file__).with_name("expr.lark")).read_text()
    grammar = grammar.replace("@IDENT@", language.IDENT).replace("@NUMBER@", language.NUMBER)
    return Lark(grammar, start=start, parser="lalr", propagate_positions=True)


def _depth(tree: Tree) -> int:
    """The depth of a parse tree, computed without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((c, d + 1) for c in node.children if isinstance(c, Tree))
    return deepest


def number(text: str) -> sympy.Expr:
    """A numeric literal: an Integer when written without point/exponent, else a Float that keeps
    the written digits (15 significant digits at least)."""
    if all(c.isdigit() for c in text):
        return sympy.Integer(int(text))
    return sympy.Float(text, max(15, sum(c.isdigit() for c in text)))


@v_args(inline=True)
class _Build(Transformer):
    def __init__(self, resolve: Callable[[str, Token], sympy.Expr], where: str, num=None):
        super().__init__()
        self._resolve = resolve
        self._where = where
        self._number = num or number

    def number(self, tok):
        return self._number(str(tok))

    def name(self, tok):
        return self._resolve(str(tok), tok)

    def call(self, tok, *args):
        name = str(tok)
        args = tuple(a for a in args if a is not None)
        try:
            op = operator(name)
        except KeyError:
            raise SpecError(f"{self._where}:{tok.line}:{tok.column}: unknown function {name!r} "
                            f"(known: {names()})") from None
        if len(args) != op.arity:
            raise SpecError(
                f"{self._where}:{tok.line}:{tok.column}: {name} takes {op.arity} argument(s), "
                f"got {len(args)}"
            )
        return op.build(*args)

    def add(self, a, b):
        return a + b

    def sub(self, a, b):
        return a - b

    def mul(self, a, b):
        return a * b

    def div(self, a, b):
        return a / b

    def neg(self, a):
        return -a

    def pow(self, a, b):
        return a**b

    def start_expr(self, e):
        return e

    def assignment(self, tok, e):
        return (str(tok), e, tok)

    def start_program(self, *assignments):
        return list(assignments)


def _run(text: str, start: str, resolve, where: str, num=None):
    if len(text) > MAX_TEXT:
        raise SpecError(f"{where}: text of {len(text)} characters is too long "
                        f"(at most {MAX_TEXT})")
    try:
        tree = _parser(start).parse(text)
    except UnexpectedInput as err:
        raise SpecError(
            f"{where}:{err.line}:{err.column}: cannot parse {text.strip()[:60]!r} here"
        ) from None
    except LarkError as err:  # pragma: no cover - other parse failures
        raise SpecError(f"{where}: cannot parse {text.strip()[:60]!r}: {err}") from None
    if _depth(tree) > MAX_NESTING:
        raise SpecError(f"{where}: expression nested deeper than {MAX_NESTING} levels")
    try:
        return _Build(resolve, where, num).transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, SpecError):
            raise err.orig_exc from None
        raise


def name_resolver(
    allowed: Iterable[str], where: str, positive: Iterable[str] = ()
) -> Callable[[str, Token], sympy.Expr]:
    """A resolver mapping the allowed names to symbols; any other name is a SpecError."""
    allowed = frozenset(allowed)
    positive = frozenset(positive)

    def resolve(name: str, tok: Token) -> sympy.Expr:
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise SpecError(f"{where}:{tok.line}:{tok.column}: unknown name {name!r} (known: {known})")
        return symbol(name, positive=name in positive)

    return resolve


def parse_expr(
    text: str,
    allowed: Iterable[str],
    where: str = "<expr>",
    positive: Iterable[str] = (),
) -> sympy.Expr:
    """Parse expression text whose free names must be in ``allowed`` (``positive`` ones become
    positive symbols, i.e. hyperparameters). Raises :class:`SpecError` with location."""
    if not isinstance(text, str):
        raise SpecError(f"{where}: expected an expression string, got {type(text).__name__}")
    return _run(text, "start_expr", name_resolver(allowed, where, positive), where)


def parse_program(text: str, resolve, where: str = "<phenotype>", num=None):
    """Parse ``NAME = expr; ...``; returns ``[(name, expr, token)]`` in order. ``num`` turns a
    numeric literal's text into an expression (default: :func:`number`)."""
    if not isinstance(text, str):
        raise SpecError(f"{where}: expected phenotype text, got {type(text).__name__}")
    return _run(text, "start_program", resolve, where, num)


def to_text(expr: sympy.Expr) -> str:
    """Print an expression in the spec language (parses back to an equal expression)."""
    return sympy.sstr(expr, order="none")


def ieee(expr: sympy.Expr) -> sympy.Expr:
    """Map SymPy's complex results onto IEEE float semantics: the imaginary unit (from the
    square root or fractional power of a provably negative value) and complex infinity become
    NaN, which then propagates through the expression as it would in float arithmetic."""
    if expr.has(sympy.I, sympy.zoo):
        return expr.xreplace({sympy.I: sympy.nan, sympy.zoo: sympy.nan})
    return expr


def free_names(expr: sympy.Expr) -> frozenset[str]:
    """Names of the free symbols of an expression."""
    return frozenset(s.name for s in expr.free_symbols)
