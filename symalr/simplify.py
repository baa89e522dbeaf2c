"""Simplification of specs (see docs/simplification.md): fewer states, smaller expressions, named constants.

``simplify(spec)`` returns an equivalent spec (under SymPy's real-number algebra; see below) by
repeating, until nothing changes:

1. **zero states** — a state that starts at 0 and whose update maps "all such states are 0" to 0
   stays 0 forever (greatest fixpoint); it is replaced by 0;
2. **inlining** — a state with no memory (its update never sees its own or a later state's
   previous value in a way that matters) is substituted into its uses;
3. **dead states** — states that cannot influence the weight update, through time (transitive
   closure over all steps, not only within one), are dropped;
4. **SymPy simplification** of each expression, bounded by work measured on the expressions
   (:mod:`symalr.simplify_work`), never by time, and never accepting a longer result;
5. **constant folding** — sub-expressions made only of lifted literals (``c_k``) become one new
   constant (a negative value is written ``-c``), and unused hyperparameters are dropped.

Finally lifted constants are renamed ``beta_1, beta_2, ...`` in order of first appearance.
The result is a function of the input spec alone: the same on every machine, under any load
and in any thread (no signals, no clocks).
Semantics: SymPy treats symbols as real numbers, so rewrites like ``sqrt(x)**2 -> x`` can change
where NaN appears compared with the raw phenotype; results SymPy can only express with complex
numbers (``sqrt`` of a provably negative constant) become NaN, as in float arithmetic. What is trained and exported is always the
simplified spec, so every backend still agrees with the reference stepper on it.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import sympy

from .expr import GRAD, STEP, free_names, ieee, symbol, to_text
from .reference import Evaluator
from .simplify_work import Work
from .spec import HyperParam, OptimizerSpec

_LIFTED = re.compile(r"^c_\d+$")


# ----------------------------------------------------------------------------- analysis


def references(e: sympy.Expr, spec: OptimizerSpec) -> set[str]:
    """State names an expression reads."""
    states = set(spec.states)
    return {n for n in free_names(e) if n in states}


def live_states(spec: OptimizerSpec) -> set[str]:
    """States that can influence the weight update at some step (closure through time)."""
    exprs = dict(spec.updates)
    live: set[str] = set()
    todo = list(references(spec.delta, spec))
    while todo:
        s = todo.pop()
        if s in live:
            continue
        live.add(s)
        todo.extend(references(exprs[s], spec) - live)
    return live


def depends_on_gradient(spec: OptimizerSpec) -> bool:
    """Whether the weight update can depend on ``g``, directly or through any live state."""
    exprs = dict(spec.updates)
    if GRAD in free_names(spec.delta):
        return True
    return any(GRAD in free_names(exprs[s]) for s in live_states(spec))


# ----------------------------------------------------------------------------- passes


def _with(spec: OptimizerSpec, updates, delta) -> OptimizerSpec:
    """A copy with new expressions, mapped to IEEE semantics (see :func:`symalr.expr.ieee`)."""
    return replace(spec, updates=tuple((s, ieee(e)) for s, e in updates), delta=ieee(delta))


def remove_dead_states(spec: OptimizerSpec) -> OptimizerSpec:
    live = live_states(spec)
    return _with(spec, [(s, e) for s, e in spec.updates if s in live], spec.delta)


def remove_zero_states(spec: OptimizerSpec, work: Work | None = None) -> OptimizerSpec:
    """Replace the states that stay 0 forever by 0 (a state is kept unless the bounded
    simplification proves its update 0)."""
    work = work or Work()
    exprs = dict(spec.updates)
    zero = set(spec.states)
    changed = True
    while changed:
        changed = False
        subs = {spec.sym(z): sympy.S.Zero for z in zero}
        for s in sorted(zero):
            if work.simplify(exprs[s].xreplace(subs)) != 0:
                zero.discard(s)
                changed = True
                break
    if not zero:
        return spec
    subs = {spec.sym(z): sympy.S.Zero for z in zero}
    return _with(
        spec,
        [(s, e.xreplace(subs)) for s, e in spec.updates if s not in zero],
        spec.delta.xreplace(subs),
    )


def _inlinable(spec: OptimizerSpec, i: int) -> bool:
    s, e = spec.updates[i]
    pos = {name: k for k, name in enumerate(spec.states)}
    n = len(spec.updates)
    uses = [k for k, (_, ek) in enumerate(spec.updates) if s in references(ek, spec)]
    if s in references(spec.delta, spec):
        uses.append(n)
    if any(k <= i for k in uses):
        return False  # its previous value is read: it has memory
    for u in references(e, spec):
        if pos[u] > i and any(k > pos[u] for k in uses):
            return False  # it read u's previous value, but a use would see u's new value
    return True


def inline_memoryless_states(spec: OptimizerSpec) -> OptimizerSpec:
    for i, (s, e) in enumerate(spec.updates):
        if _inlinable(spec, i):
            sub = {spec.sym(s): e}
            updates = [(n, ex.xreplace(sub)) for n, ex in spec.updates if n != s]
            return inline_memoryless_states(_with(spec, updates, spec.delta.xreplace(sub)))
    return spec


def simplify_expressions(spec: OptimizerSpec, work: Work | None = None) -> OptimizerSpec:
    """Each expression through :meth:`Work.simplify` (statements in order, then the weight
    update), drawing on ``work``'s budget (a fresh one if ``None``)."""
    work = work or Work()
    updates = [(s, work.simplify(e)) for s, e in spec.updates]
    return _with(spec, updates, work.simplify(spec.delta))


def fold_constants(spec: OptimizerSpec) -> OptimizerSpec:
    """Replace sub-expressions made only of lifted constants by one new lifted constant."""
    lifted = {h.name: h for h in spec.hyperparams if _LIFTED.match(h.name)}
    values = {n: h.default for n, h in lifted.items()}
    evaluate = Evaluator(np.float64)

    def value(e: sympy.Expr) -> float:
        """IEEE value of a constant expression (NaN where the reals have none), as backends do."""
        return float(evaluate(e, values))
    new: list[HyperParam] = []
    counter = [max((int(n[2:]) for n in lifted), default=0)]

    def is_const(e: sympy.Expr) -> bool:
        names = free_names(e)
        return bool(names) and all(n in lifted for n in names)

    def fresh(value: float) -> sympy.Expr:
        if value != value or value in (float("inf"), float("-inf")):
            return sympy.nan
        if value == 0:
            return sympy.S.Zero
        counter[0] += 1
        name = f"c_{counter[0]}"
        new.append(HyperParam(name, abs(value), low=0.0, high=max(1.0, abs(value))))
        sym = symbol(name, positive=True)
        return sym if value > 0 else -sym

    def as_constant(c: sympy.Expr) -> sympy.Expr:
        """A constant-only expression as one constant: kept when already ``c`` or ``-c``."""
        if c.is_Symbol or (c.is_Mul and len(c.args) == 2 and c.args[0] == -1):
            return c
        return fresh(value(c))

    def fold(e: sympy.Expr) -> sympy.Expr:
        if e.is_Atom:
            return e
        if is_const(e):
            return as_constant(e)
        if e.is_Add or e.is_Mul:
            consts = [a for a in e.args if is_const(a)]
            rest = [fold(a) for a in e.args if not is_const(a)]
            return e.func(as_constant(e.func(*consts)), *rest) if consts else e.func(*rest)
        return e.func(*(fold(a) for a in e.args))

    updates = [(s, fold(e)) for s, e in spec.updates]
    delta = fold(spec.delta)
    return prune_hyperparams(_with(replace(spec, hyperparams=spec.hyperparams + tuple(new)),
                                   updates, delta))


def prune_hyperparams(spec: OptimizerSpec) -> OptimizerSpec:
    used = set().union(*(free_names(e) for _, e in spec.updates), free_names(spec.delta))
    return replace(spec, hyperparams=tuple(h for h in spec.hyperparams if h.name in used))


def _first_appearance(spec: OptimizerSpec) -> list[str]:
    order: list[str] = []
    for e in [e for _, e in spec.updates] + [spec.delta]:
        for node in sympy.preorder_traversal(e, keys=True):
            if node.is_Symbol and node.name not in order:
                order.append(node.name)
    return order


def rename_constants(spec: OptimizerSpec, prefix: str = "beta") -> OptimizerSpec:
    """Lifted constants ``c_k`` -> ``beta_1, beta_2, ...`` by first appearance."""
    taken = {h.name for h in spec.hyperparams} | set(spec.states)
    lifted = [n for n in _first_appearance(spec) if _LIFTED.match(n)]
    mapping: dict[str, str] = {}
    k = 0
    for n in lifted:
        k += 1
        while f"{prefix}_{k}" in taken and f"{prefix}_{k}" not in mapping.values():
            k += 1
        mapping[n] = f"{prefix}_{k}"
    if not mapping:
        return spec
    sub = {symbol(a, positive=True): symbol(b, positive=True) for a, b in mapping.items()}
    hps = tuple(replace(h, name=mapping.get(h.name, h.name)) for h in spec.hyperparams)
    order = {mapping[n]: i for i, n in enumerate(lifted)}
    hps = tuple(sorted(hps, key=lambda h: order.get(h.name, -1)))
    return OptimizerSpec(
        name=spec.name,
        updates=tuple((s, e.xreplace(sub)) for s, e in spec.updates),
        delta=spec.delta.xreplace(sub),
        hyperparams=hps,
        uses_step=spec.uses_step,
        doc=spec.doc,
    )


# ----------------------------------------------------------------------------- entry points


def simplify(spec: OptimizerSpec, max_rounds: int = 4, work: Work | None = None
             ) -> OptimizerSpec:
    """The simplified, equivalent spec (see the module docstring). All rounds draw on one
    :class:`~symalr.simplify_work.Work` (``work``, default a fresh one): one budget and one
    memo for the whole spec."""
    work = work or Work()
    current = spec
    for _ in range(max_rounds):
        nxt = remove_zero_states(current, work)
        nxt = inline_memoryless_states(nxt)
        nxt = remove_dead_states(nxt)
        nxt = simplify_expressions(nxt, work)
        nxt = fold_constants(nxt)
        if nxt == current:
            break
        current = nxt
    current = prune_hyperparams(current)
    uses_step = STEP in set().union(
        *(free_names(e) for _, e in current.updates), free_names(current.delta)
    )
    return rename_constants(replace(current, uses_step=uses_step))


def canonical_text(spec: OptimizerSpec) -> str:
    """A name-independent text of the rule: states ``s1, s2, ...`` in execution order,
    hyperparameters ``k1, k2, ...`` by first appearance (values are not part of it)."""
    names = {s: f"s{i + 1}" for i, s in enumerate(spec.states)}
    hp = {h.name for h in spec.hyperparams}
    k = 0
    for n in _first_appearance(spec):
        if n in hp and n not in names:
            k += 1
            names[n] = f"k{k}"
    sub = {spec.sym(a): symbol(b, positive=a in hp) for a, b in names.items()}
    parts = [f"{names[s]}={to_text(e.xreplace(sub))}" for s, e in spec.updates]
    parts.append(f"dw={to_text(spec.delta.xreplace(sub))}")
    return "; ".join(parts)
