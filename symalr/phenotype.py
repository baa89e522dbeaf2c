"""ALR phenotype text -> raw :class:`~symalr.spec.OptimizerSpec` (see docs/spec-language.md).

A phenotype assigns the four evolved functions, e.g.
``x_func = subtract(x, grad); y_func = grad; z_func = 4.53978687e-05; weight_func = negative(y)``.
The raw spec follows the ALR convention literally::

    x <- x - f_x ;  y <- y - f_y ;  z <- z - f_z ;  w <- w - f_w

A missing function is 0 (its state stays 0). Every positive numeric literal becomes its own
positive hyperparameter ``c_1, c_2, ...`` (in order of appearance) whose default is the
literal's value, so SymPy never folds constants before simplification decides what to keep.
Text is parsed by Lark through the whitelist in :mod:`symalr.expr`; nothing is executed.
"""

from __future__ import annotations

import sympy

from . import expr, ops
from .errors import GenotypeError, SpecError
from .expr import ieee, number, parse_program, symbol
from .ops import ALR_FUNCTIONS, ALR_STATES
from .spec import HyperParam, OptimizerSpec

_FUNC_TO_STATE = {f: s for s, f in ALR_FUNCTIONS.items()}


def spec_from_phenotype(
    text: str, name: str = "individual", where: str = "<phenotype>"
) -> OptimizerSpec:
    """Build the raw ALR spec of a phenotype; bad text is a GenotypeError with line/column."""
    constants: list[float] = []

    def resolve(ident, tok):
        if ident == ops.GRAD:  # the grammar's "grad" is the spec language's "g"
            return symbol(expr.GRAD)
        if ident in ALR_STATES:
            return symbol(ident)
        raise SpecError(
            f"{where}:{tok.line}:{tok.column}: unknown name {ident!r} "
            f"(known: {ops.GRAD}, {', '.join(ALR_STATES)})"
        )

    def lift(literal: str) -> sympy.Expr:
        value = float(literal)
        if not value > 0:
            return number(literal)
        constants.append(value)
        return symbol(f"c_{len(constants)}", positive=True)

    try:
        assignments = parse_program(text, resolve, where, num=lift)
    except SpecError as err:
        raise GenotypeError(str(err)) from None

    funcs: dict[str, sympy.Expr] = {}
    for target, e, tok in assignments:
        if target not in _FUNC_TO_STATE:
            raise GenotypeError(
                f"{where}:{tok.line}:{tok.column}: unknown function {target!r} "
                f"(known: {', '.join(ALR_FUNCTIONS.values())})"
            )
        if target in funcs:
            raise GenotypeError(f"{where}:{tok.line}:{tok.column}: {target} assigned twice")
        funcs[target] = e

    updates = tuple(
        (s, ieee(symbol(s) - funcs.get(ALR_FUNCTIONS[s], sympy.S.Zero))) for s in ALR_STATES
    )
    delta = ieee(-funcs.get(ALR_FUNCTIONS["w"], sympy.S.Zero))
    hps = tuple(
        HyperParam(f"c_{i + 1}", v, low=0.0, high=max(1.0, v)) for i, v in enumerate(constants)
    )
    return OptimizerSpec(
        name=name, updates=updates, delta=delta, hyperparams=hps
    )
