"""Hoisting: name the scalar sub-expressions of a spec (torch backend; see docs/code-generation.md).

Every sub-expression that depends only on hyperparameters, the group learning rate and the
step ``t`` moves out of the per-element work: it becomes a named scalar (``_s0``, ...),
computed once per step as a Python float (or packed into a tensor for the compiled path). Sums
and products get at most one scalar argument, first; everything else keeps SymPy's argument
order (built with ``evaluate=False``), so the printers still follow the reference's order.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..expr import GRAD, STEP, WEIGHT
from ..spec import OptimizerSpec

#: Symbol name of the group learning rate that multiplies ``delta`` in specs without ``lr``.
LR_MULTIPLIER = "_lr"


@dataclass(frozen=True)
class Hoisted:
    """A spec with its scalar sub-expressions named.

    ``scalars``: ``(name, expression)`` over hyperparameters, ``t`` and :data:`LR_MULTIPLIER`,
    in dependency order. ``updates``: the state statements. ``weight``: the term added to ``w``
    (``delta``, times the group lr where the spec has none). ``used``: the scalar names the
    tensor code reads (hyperparameters, ``t``, the lr multiplier, hoisted names), in a fixed
    order. ``tensor_names``: ``g``, ``w`` and the states.
    """

    scalars: tuple[tuple[str, sympy.Expr], ...]
    updates: tuple[tuple[str, sympy.Expr], ...]
    weight: sympy.Expr
    used: tuple[str, ...]
    tensor_names: frozenset[str]


def weight_term(spec: OptimizerSpec) -> sympy.Expr:
    """What is added to ``w``: ``delta``, multiplied by the group lr when the spec has no lr."""
    if spec.has_lr:
        return spec.delta
    return sympy.Mul(sympy.Symbol(LR_MULTIPLIER, real=True), spec.delta)


def hoist(spec: OptimizerSpec) -> Hoisted:
    """Name the scalar sub-expressions of ``spec`` (see the module docstring)."""
    tensor_names = frozenset({GRAD, WEIGHT, *spec.states})
    h = _Hoister(tensor_names)
    updates = tuple((s, h(e)) for s, e in spec.updates)
    weight = h(weight_term(spec))
    free = set().union(*(e.free_symbols for _, e in updates), weight.free_symbols)
    used_names = {s.name for s in free} - tensor_names
    order = [LR_MULTIPLIER, *(p.name for p in spec.hyperparams), STEP, *(n for n, _ in h.defs)]
    return Hoisted(
        scalars=tuple(h.defs),
        updates=updates,
        weight=weight,
        used=tuple(n for n in order if n in used_names),
        tensor_names=tensor_names,
    )


class _Hoister:
    def __init__(self, tensor_names: frozenset[str]):
        self.tensor_names = tensor_names
        self.defs: list[tuple[str, sympy.Expr]] = []
        self.by_expr: dict[sympy.Expr, sympy.Symbol] = {}

    def is_scalar(self, e: sympy.Expr) -> bool:
        return not any(s.name in self.tensor_names for s in e.free_symbols)

    def name(self, e: sympy.Expr) -> sympy.Expr:
        if e.is_Symbol or not e.free_symbols:
            return e
        if e not in self.by_expr:
            sym = sympy.Symbol(f"_s{len(self.defs)}", real=True)
            self.by_expr[e] = sym
            self.defs.append((sym.name, e))
        return self.by_expr[e]

    def __call__(self, e: sympy.Expr) -> sympy.Expr:
        if self.is_scalar(e):
            return self.name(e)
        if e.is_Symbol:
            return e
        if e.is_Add or e.is_Mul:
            scalar = [a for a in e.args if self.is_scalar(a)]
            args = [self(a) for a in e.args if not self.is_scalar(a)]
            if scalar:
                args.insert(0, self.name(e.func(*scalar)))
            return args[0] if len(args) == 1 else e.func(*args, evaluate=False)
        return e.func(*(self(a) for a in e.args), evaluate=False)
