"""The work bound on SymPy simplification: which expressions ``sympy.simplify`` may see, and
how much of it one spec may use (docs/simplification.md#the-bound-on-sympy-simplification).

``sympy.simplify`` has no bound of its own: a 4-operation expression such as
``x - (g + x + y)**64`` keeps it busy for seconds (it expands and cancels polynomials whose size
grows with the degree), and a spec simplifies each of its expressions again in every round.
Simplification is therefore bounded by *work measured on the expression*, never by the clock,
so the same input gives the same output on every machine, under any load and in any thread:

- an expression goes to ``sympy.simplify`` only when it is small on three measures
  (:func:`measure`): its operation count (``sympy.count_ops``), and, at every polynomial level
  (the expression itself and each argument of a function or of a power with a symbolic
  exponent), the total degree and the number of terms its numerator and denominator would have
  fully expanded (upper bounds, computed without expanding);
- one spec's simplification spends at most :data:`SPEC_BUDGET` work units (an expression costs
  its tree size plus the expanded terms of all its levels, :attr:`Size.cost`); an expression
  whose cost does not fit in what is left keeps its form;
- an expression already simplified within the same spec is answered from a memo and costs
  nothing (``sympy.simplify`` is a pure function of the expression, so this changes no result).

:class:`Work` holds one spec's budget and memo; :meth:`Work.simplify` is the bounded call.
Every decision depends only on the expressions and the order they are met in, which the
simplification passes fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy

#: Most operations (``sympy.count_ops``) of an expression given to ``sympy.simplify``.
MAX_OPS = 40
#: Most total degree (numerator plus denominator) at any polynomial level of such an expression.
MAX_DEGREE = 12
#: Most terms (numerator plus denominator, fully expanded) at any polynomial level.
MAX_TERMS = 64
#: Work units one spec's simplification may spend (see :meth:`Work.simplify`).
SPEC_BUDGET = 300

#: The decisions :attr:`Work.counts` tallies.
COUNTS = ("simplified", "memo", "over_ops", "over_size", "over_budget")

#: Saturation value of the degree and term counts (far above every limit).
_CAP = 1 << 40


@dataclass(frozen=True)
class Size:
    """What :func:`measure` finds: the operation count; over the polynomial levels, the
    largest total degree and the largest expanded term count; and the work units a
    ``sympy.simplify`` of the expression is charged: its tree size (nodes) plus the expanded
    terms of all its levels. The last three are only computed when ``ops`` is within
    :data:`MAX_OPS` (otherwise they are 0: the expression is not simplified anyway)."""

    ops: int
    degree: int = 0
    terms: int = 0
    cost: int = 0

    @property
    def fits(self) -> bool:
        """Whether the expression is small enough for ``sympy.simplify``."""
        return self.ops <= MAX_OPS and self.degree <= MAX_DEGREE and self.terms <= MAX_TERMS


def _sat(n: int) -> int:
    return n if n < _CAP else _CAP


def _power_terms(t: int, n: int) -> int:
    """Terms of ``(t-term sum)**n`` fully expanded: ``C(t + n - 1, n)``, saturated."""
    if t <= 1 or n <= 1:
        return t if n >= 1 else 1
    k, top, value = min(n, t - 1), t + n - 1, 1
    for i in range(k):
        value = value * (top - i) // (i + 1)
        if value >= _CAP:
            return _CAP
    return value


def _level(e: sympy.Expr, inner: list) -> tuple[int, int, int, int]:
    """``(numerator degree, denominator degree, numerator terms, denominator terms)`` of ``e``
    brought over one denominator and expanded, as upper bounds. Sub-expressions that are
    generators at this level (functions, powers with symbolic or fractional exponents) count as
    one variable; their arguments are appended to ``inner``, the next levels."""
    if e.is_Number:
        return (0, 0, 1, 1)
    if e.is_Atom:
        return (1, 0, 1, 1)
    if e.is_Add or e.is_Mul:
        parts = [_level(a, inner) for a in e.args]
        dd = _sat(sum(p[1] for p in parts))
        td = _sat(math.prod(p[3] for p in parts))
        if e.is_Mul:
            return (_sat(sum(p[0] for p in parts)), dd, _sat(math.prod(p[2] for p in parts)), td)
        dn = max(p[0] + dd - p[1] for p in parts)
        tn = sum(p[2] * (td // p[3]) for p in parts)
        return (_sat(dn), dd, _sat(tn), td)
    if e.is_Pow and e.exp.is_Rational and abs(e.exp) >= 1:
        n = min(abs(e.exp.p) // e.exp.q, _CAP)
        dn, dd, tn, td = _level(e.base, inner)
        if not e.exp.is_Integer:  # b**(5/2) = b**2 * sqrt(b): sqrt(b) is a generator
            inner.append(e.base)
            dn += 1
        if e.exp < 0:
            dn, dd, tn, td = dd, dn, td, tn
        return (_sat(n * dn), _sat(n * dd), _power_terms(tn, n), _power_terms(td, n))
    inner.extend(a for a in e.args if not a.is_Atom)
    return (1, 0, 1, 1)


def measure(e: sympy.Expr) -> Size:
    """The :class:`Size` of ``e`` (linear in the size of ``e``; nothing is expanded)."""
    ops = int(sympy.count_ops(e))
    if ops > MAX_OPS:
        return Size(ops)
    degree = terms = total = 0
    todo = [e]
    while todo:
        inner: list = []
        for x in todo:
            dn, dd, tn, td = _level(x, inner)
            degree = max(degree, _sat(dn + dd))
            terms = max(terms, _sat(tn + td))
            total = _sat(total + tn + td)
        todo = inner
    nodes = sum(1 for _ in sympy.preorder_traversal(e))
    return Size(ops, degree, terms, _sat(nodes + total))


class Work:
    """The work one spec's simplification may still spend, and what it already simplified.

    Not shared between specs or threads: make one per :func:`symalr.simplify.simplify` call.
    ``counts`` tallies the decisions of :meth:`simplify` on non-atomic expressions:
    ``simplified`` (``sympy.simplify`` ran), ``memo`` (answered from the memo), and the
    refusals: ``over_ops`` (more than :data:`MAX_OPS` operations), ``over_size`` (degree or
    terms above :data:`MAX_DEGREE` / :data:`MAX_TERMS`), ``over_budget`` (too little budget
    left)."""

    def __init__(self, budget: int = SPEC_BUDGET) -> None:
        self.left = budget
        self.counts = dict.fromkeys(COUNTS, 0)
        self._memo: dict[sympy.Expr, sympy.Expr] = {}

    def simplify(self, e: sympy.Expr) -> sympy.Expr:
        """``sympy.simplify(e, ratio=1)`` if ``e`` fits (:attr:`Size.fits`) and its cost fits in
        what is left of the budget (which it then uses up), else ``e``. A result that went
        through complex numbers where ``e`` did not, or that has more operations than ``e``,
        is refused (``e`` is returned)."""
        if e.is_Atom:
            return e
        hit = self._memo.get(e)
        if hit is not None:
            self.counts["memo"] += 1
            return hit
        size = measure(e)
        refusal = ("over_ops" if size.ops > MAX_OPS else "over_size" if not size.fits
                   else "over_budget" if size.cost > self.left else None)
        if refusal:
            self.counts[refusal] += 1
            return e
        self.left -= size.cost
        self.counts["simplified"] += 1
        out = sympy.simplify(e, ratio=1.0)
        odd = (sympy.I, sympy.zoo, sympy.nan)
        if (out.has(*odd) and not e.has(*odd)) or sympy.count_ops(out) > size.ops:
            out = e
        self._memo[e] = out
        return out
