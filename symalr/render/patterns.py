"""Shapes of hoisted expressions that the torch lowering turns into fused operations.

Pure pattern matching over SymPy trees, no allocation decisions (those are
:mod:`symalr.render.lowering`'s): which factors of a product are tensors, which term of a sum
can be added with one ``add(alpha=)`` / ``addcmul`` / ``addcdiv``, when a sum is a ``lerp``,
and what the leading operand of an accumulation is. A :class:`Shapes` knows which symbol names
are tensors (the gradient, the weight and the states); everything else is a scalar.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy


def split_product(e: sympy.Mul) -> tuple[list[sympy.Expr], list[sympy.Expr]]:
    """Numerator and denominator factors of a product, as the reference stepper divides:
    ``b**-k`` (``k`` a positive number) and a rational ``1/q`` go to the denominator."""
    num, den = [], []
    for a in e.args:
        if a.is_Pow and a.exp.is_Number and a.exp.is_negative:
            den.append(a.base if a.exp == -1 else sympy.Pow(a.base, -a.exp))
        elif a.is_Rational and not a.is_Integer and a.p == 1:
            den.append(sympy.Integer(a.q))
        else:
            num.append(a)
    return num, den


@dataclass(frozen=True)
class Shapes:
    """Pattern matchers for expressions whose tensors are the symbols in ``tensor_names``."""

    tensor_names: frozenset[str]

    def is_tensor(self, e: sympy.Expr) -> bool:
        return any(s.name in self.tensor_names for s in e.free_symbols)

    @staticmethod
    def reads(e: sympy.Expr, state: str) -> bool:
        """Whether ``e`` is the symbol ``state`` itself."""
        return e.is_Symbol and e.name == state

    def ordered_tensor_args(self, node: sympy.Expr, state: str | None = None) -> list[sympy.Expr]:
        """Tensor arguments of a sum; with two of them, the state's own first (exact)."""
        tensors = [a for a in node.args if self.is_tensor(a)]
        if state is not None and len(tensors) == 2 and self.reads(tensors[1], state):
            tensors.reverse()
        return tensors

    def factors(self, e: sympy.Mul, state: str | None = None):
        """Tensor numerator and denominator factors of a product (scalars excluded); with two
        numerator factors, the state's own first (exact)."""
        num, den = split_product(e)
        num = [a for a in num if self.is_tensor(a)]
        if state is not None and len(num) == 2 and self.reads(num[1], state):
            num.reverse()
        return num, [d for d in den if self.is_tensor(d)]

    def coefficient(self, e: sympy.Mul) -> sympy.Expr | None:
        """The product's scalar factor, or None (after hoisting there is at most one)."""
        scalars = [a for a in e.args if not self.is_tensor(a)]
        return scalars[0] if scalars else None

    def term_pattern(self, term: sympy.Expr):
        """``(fn, operands, coefficient)`` to add ``term`` with one fused op, or None."""
        if not term.is_Mul:
            return None
        c = self.coefficient(term)
        if c is not None and c.is_Rational and not c.is_Integer and c.p == 1:
            return None  # a division by a number: the reference divides
        num, den = self.factors(term)
        if len(num) == 1 and not den and num[0].is_Pow and num[0].exp == 2:
            return ("addcmul", [num[0].base, num[0].base], c)
        if len(num) == 1 and not den:
            return ("add", [num[0]], c)
        if len(num) == 2 and not den:
            return ("addcmul", num, c)
        if len(num) == 1 and len(den) == 1:
            return ("addcdiv", [num[0], den[0]], c)
        return None

    def product_operands(self, e: sympy.Expr) -> list[sympy.Expr] | None:
        """``[a, b]`` for a product of two tensors ``a*b`` (or a square ``a**2``) without a
        scalar factor or a divisor, else None."""
        if e.is_Pow and e.exp == 2 and self.is_tensor(e.base):
            return [e.base, e.base]
        pattern = self.term_pattern(e)
        if pattern is not None and pattern[0] == "addcmul" and pattern[2] is None:
            return list(pattern[1])
        return None

    def match_lerp(self, node: sympy.Add):
        """``S + c*(X - S)`` -> ``(S, X, c)`` (``torch.lerp(S, X, c)``), else None."""
        args = node.args
        if len(args) != 2:
            return None
        for s, other in ((args[0], args[1]), (args[1], args[0])):
            if not (s.is_Symbol and self.is_tensor(s) and other.is_Mul and len(other.args) == 2):
                continue
            c, inner = other.args
            if self.is_tensor(c):
                c, inner = inner, c
            if self.is_tensor(c) or not inner.is_Add or len(inner.args) != 2:
                continue
            for x, neg in ((inner.args[0], inner.args[1]), (inner.args[1], inner.args[0])):
                if neg == -s and self.is_tensor(x) and s not in x.free_symbols:
                    return s, x, c
        return None

    def spine_parts(self, node: sympy.Expr, state: str):
        """``(lead, other operands)`` of ``node`` as the lowering would read them, or None when
        the node has no operand it could compute in place."""
        if node.is_Add:
            lerp = self.match_lerp(node)
            if lerp is not None:
                return lerp[0], [lerp[1]]
            tensors = self.ordered_tensor_args(node, state)
            others = []
            for term in tensors[1:]:
                pattern = self.term_pattern(term)
                others.extend(pattern[1] if pattern else [term])
            return tensors[0], others
        if node.is_Mul:
            num, den = self.factors(node, state)
            if not num:
                return None
            return num[0], [*num[1:], *den]
        if node.is_Pow:
            others = [node.exp] if self.is_tensor(node.exp) else []
            return (node.base, others) if self.is_tensor(node.base) else None
        if isinstance(node, sympy.Abs):
            return node.args[0], []
        return None
