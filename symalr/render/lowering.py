"""Lower a hoisted spec (:mod:`symalr.render.hoist`) to in-place torch operations.

:func:`lower` turns the hoisted statements into a list of :class:`Op`: tensor operations that
update the state tensors and the weight *in place*, using ``alpha=``, ``addcmul``, ``addcdiv``
and ``lerp`` where a term has their shape (the shapes are found by
:mod:`symalr.render.patterns`), and few temporaries: this module decides where each value is
computed (in place, into its destination, into a dying temporary, or into a new one).
:mod:`symalr.render.torch_ops` prints the list as per-tensor or multi-tensor code.

Temporaries are not allocated by the step: :func:`lower` assigns each one a *scratch slot*
(``_t0``, ``_t1``, ...), reusing a slot once its temporary is dead, and the generated optimizer
keeps one parameter-sized buffer per slot across steps (docs/code-generation.md). An operation
with an ``out`` writes a new value into its slot; every other one works in place.

Statement semantics are those of :mod:`symalr.spec`: a state's statement may read its old
value; the lowering writes the new value into the state's own tensor only after every read of
the old one (it evaluates those reads first), else computes into a temporary and copies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy

from .. import ops
from ..expr import WEIGHT
from .hoist import Hoisted
from .patterns import Shapes

# ---------------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Op:
    """One tensor operation. ``out`` names the scratch slot it writes a new value into (the
    old content is ignored); ``None`` means in place on the first argument. ``tensor[i]``
    tells whether ``args[i]`` is a tensor (else a scalar)."""

    fn: str
    args: tuple[str, ...]
    tensor: tuple[bool, ...]
    kw: tuple[tuple[str, str], ...] = ()
    out: str | None = None


#: The lowering's own arithmetic operations (torch names, each with a ``_foreach`` form); the
#: function-like operators of the language are emitted under their :mod:`symalr.ops` names.
ARITHMETIC = frozenset(
    {"add", "sub", "mul", "div", "addcmul", "addcdiv", "lerp", "neg", "reciprocal", "copy"}
)


@dataclass(frozen=True)
class _Val:
    code: str
    tensor: bool
    owned: bool = False  # a temporary this lowering may overwrite


@dataclass
class Lowering:
    """The result of :func:`lower`: the operations, the helpers they call and the number of
    scratch slots (``_t0`` ... ``_t{slots-1}``) they write."""

    ops: list[Op] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)
    slots: int = 0


def lower(
    hoisted: Hoisted,
    tensor_ids: Mapping[str, str],
    scalar_code: Callable[[sympy.Expr], str],
) -> Lowering:
    """Operations computing one step in place.

    ``tensor_ids`` maps ``g``, ``w`` and each state name to its identifier; ``scalar_code``
    prints a scalar (a number or a scalar symbol) as an identifier or literal.
    """
    low = _Lowerer(hoisted, tensor_ids, scalar_code)
    for state, e in hoisted.updates:
        low.assign(state, e)
    low.accumulate_into(WEIGHT, hoisted.weight)
    program, slots = _assign_slots(low.ops)
    return Lowering(program, low.helpers, slots)


def _assign_slots(program: list[Op]) -> tuple[list[Op], int]:
    """Rename the temporaries to scratch slots: a temporary takes the lowest slot whose
    previous temporary was last read before the operation that writes it (so no operation
    writes a slot it also reads as another value). Returns the renamed operations and the
    number of slots."""
    last: dict[str, int] = {}
    for i, op in enumerate(program):
        for name in (*op.args, op.out):
            if name is not None and name.startswith("_t"):
                last[name] = i
    slot_of: dict[str, int] = {}
    busy: dict[int, str] = {}  # slot -> the temporary living in it
    for i, op in enumerate(program):
        if op.out is not None and op.out not in slot_of:
            free = next(k for k in range(len(busy) + 1) if k not in busy)
            slot_of[op.out] = free
            busy[free] = op.out
        for k, name in list(busy.items()):
            if last[name] == i:
                del busy[k]

    def rename(name):
        return f"_t{slot_of[name]}" if name is not None and name in slot_of else name

    renamed = [Op(op.fn, tuple(rename(a) for a in op.args), op.tensor, op.kw, rename(op.out))
               for op in program]
    return renamed, len(set(slot_of.values()))


class _Lowerer:
    def __init__(self, hoisted: Hoisted, tensor_ids, scalar_code):
        self.shapes = Shapes(hoisted.tensor_names)
        self.ids = dict(tensor_ids)
        self.scalar_code = scalar_code
        self.ops: list[Op] = []
        self.helpers: set[str] = set()
        self.cache: dict[sympy.Expr, _Val] = {}
        self.ntemp = 0

    # ------------------------------------------------------------------ basics

    def is_tensor(self, e: sympy.Expr) -> bool:
        return self.shapes.is_tensor(e)

    def temp(self) -> str:
        self.ntemp += 1
        return f"_t{self.ntemp - 1}"

    def emit(self, fn: str, args: list[_Val], kw=(), out: str | None = None) -> None:
        self.ops.append(Op(fn, tuple(a.code for a in args), tuple(a.tensor for a in args),
                           tuple(kw), out))

    def read(self, e: sympy.Expr) -> _Val:
        """A value to read (never to overwrite)."""
        if e in self.cache:
            return self.cache[e]
        if not self.is_tensor(e):
            return _Val(self.scalar_code(e), False)
        if e.is_Symbol:
            return _Val(self.ids[e.name], True)
        return self.build(e, None)

    def lead(self, e: sympy.Expr, dest: str | None) -> _Val:
        """The first operand of an accumulation: built straight into ``dest`` when possible."""
        if e in self.cache or e.is_Symbol or not self.is_tensor(e):
            return self.read(e)
        return self.build(e, dest)

    def apply(self, fn: str, first: _Val, rest: list[_Val], kw=(), dest: str | None = None):
        """``fn(first, *rest)``, in place when ``first`` may be overwritten or is ``dest``."""
        if first.owned or (dest is not None and first.code == dest):
            self.emit(fn, [first, *rest], kw)
            return _Val(first.code, True, True)
        if dest is not None:
            self.emit("copy", [_Val(dest, True), first])
            self.emit(fn, [_Val(dest, True), *rest], kw)
            return _Val(dest, True, True)
        reused = self.reuse_operand(fn, first, rest, kw)
        if reused is not None:
            return reused
        out = self.temp()
        self.emit(fn, [first, *rest], kw, out=out)
        return _Val(out, True, True)

    def reuse_operand(self, fn: str, first: _Val, rest: list[_Val], kw) -> _Val | None:
        """``first + b``, ``first * b``, ``first + b*c``, ``first + b/c`` computed in the
        temporary ``b`` when it dies here: one allocation less (allocations of large tensors
        cost page faults under glibc's default malloc), the same value exactly."""
        if kw or fn not in ("add", "mul", "addcmul", "addcdiv") or not rest[0].owned:
            return None
        b = rest[0]
        if fn in ("addcmul", "addcdiv"):
            self.emit("mul" if fn == "addcmul" else "div", [b, rest[1]])
            fn = "add"
        self.emit(fn, [b, first])
        return b

    def special(self, fn: str, args: list[_Val]) -> _Val:
        """A new temporary computed per tensor: a function-like operator of :mod:`symalr.ops`
        without a ``_foreach`` form, or ``rdiv`` (a number divided by a tensor)."""
        out = self.temp()
        if fn in ops.OPERATORS:
            self.helpers.update(ops.OPERATORS[fn].helpers.get("torch_out", ()))
        self.emit(fn, args, out=out)
        return _Val(out, True, True)

    # ------------------------------------------------------------------ statements

    def assign(self, state: str, e: sympy.Expr) -> None:
        target = self.ids[state]
        self.cache = {}
        if not self.is_tensor(e):
            self.emit("fill", [_Val(target, True), _Val(self.scalar_code(e), False)])
            return
        if e.is_Symbol and e.name == state:
            return
        if state not in {s.name for s in e.free_symbols} or self.prepare_spine(e, state):
            self.build(e, target)
            return
        value = self.build(e, None)
        self.emit("copy", [_Val(target, True), value])

    def accumulate_into(self, name: str, term: sympy.Expr) -> None:
        """``name += term`` in place (the weight update)."""
        self.cache = {}
        target = _Val(self.ids[name], True)
        if self.is_tensor(term):
            self.accumulate(target, term, target.code)
        else:
            self.apply("add", target, [self.read(term)], dest=target.code)

    def prepare_spine(self, e: sympy.Expr, state: str) -> bool:
        """Can ``e`` be computed in place in ``state``'s tensor? Its leading operands must lead
        to the state itself; every other operand that reads the state is evaluated now."""
        pending: list[sympy.Expr] = []
        node = e
        while not node.is_Symbol:
            parts = self.shapes.spine_parts(node, state)
            if parts is None:
                return False
            node, others = parts
            pending.extend(x for x in others if state in {s.name for s in x.free_symbols})
        if node.name != state or any(x.is_Symbol for x in pending):
            return False
        for x in pending:
            if x not in self.cache:
                v = self.read(x)
                self.cache[x] = _Val(v.code, v.tensor)
        return True

    def dest_state(self, dest: str | None) -> str | None:
        """The state whose tensor is ``dest`` (for the exact reordering), if any."""
        return next((n for n, i in self.ids.items() if i == dest), None)

    # ------------------------------------------------------------------ expressions

    def build(self, e: sympy.Expr, dest: str | None) -> _Val:
        """Compute tensor expression ``e`` into a temporary, or into ``dest`` when given."""
        if e.is_Symbol:
            if dest is None:
                raise AssertionError("a symbol is read, not built")
            if self.ids[e.name] != dest:
                self.emit("copy", [_Val(dest, True), self.read(e)])
            return _Val(dest, True, True)
        if e.is_Add:
            v = self.build_add(e, dest)
        elif e.is_Mul:
            v = self.build_mul(e, dest)
        elif e.is_Pow:
            v = self.build_pow(e, dest)
        elif isinstance(e, sympy.Abs):
            v = self.apply("abs", self.lead(e.args[0], dest), [], dest=dest)
        elif type(e).__name__ in ops.BY_NODE:
            v = self.special(ops.BY_NODE[type(e).__name__].name, [self.read(a) for a in e.args])
        else:  # pragma: no cover - the printers' check rejects other nodes first
            raise AssertionError(f"unsupported node {type(e).__name__}")
        if dest is not None and v.code != dest:
            self.emit("copy", [_Val(dest, True), v])
            return _Val(dest, True, True)
        return v

    def build_add(self, e: sympy.Add, dest: str | None) -> _Val:
        lerp = self.shapes.match_lerp(e)
        if lerp is not None:
            s, x, c = lerp
            product = None if x in self.cache else self.shapes.product_operands(x)
            if product is not None:
                # an average of a product: S*(1 - c) + c*a*b (torch's own form of Adam's
                # second moment) needs no temporary for a*b; it rounds differently from
                # S + c*(a*b - S), by about an ulp of S
                a, b = (self.read(o) for o in product)
                acc = self.apply("mul", self.read(s), [self.read(1 - c)], dest=dest)
                return self.apply("addcmul", acc, [a, b], (("value", self.scalar_code(c)),),
                                  dest=dest)
            xv = self.read(x)
            return self.apply("lerp", self.read(s), [xv, self.read(c)], dest=dest)
        tensors = self.shapes.ordered_tensor_args(e, self.dest_state(dest))
        scalars = [a for a in e.args if not self.is_tensor(a)]
        acc = self.lead(tensors[0], dest)
        for term in tensors[1:]:
            acc = self.accumulate(acc, term, dest)
        for s in scalars:
            acc = self.apply("add", acc, [self.read(s)], dest=dest)
        return acc

    def accumulate(self, acc: _Val, term: sympy.Expr, dest: str | None) -> _Val:
        """``acc + term`` with one fused op where the term allows."""
        pattern = None if term in self.cache else self.shapes.term_pattern(term)
        if pattern is None:
            return self.apply("add", acc, [self.read(term)], dest=dest)
        fn, operands, c = pattern
        seen: dict[sympy.Expr, _Val] = {}
        vals = [seen.setdefault(x, self.read(x)) if x not in seen else seen[x] for x in operands]
        if c is None:
            return self.apply(fn, acc, vals, dest=dest)
        if fn == "add" and c == -1:
            return self.apply("sub", acc, vals, dest=dest)
        key = "alpha" if fn == "add" else "value"
        return self.apply(fn, acc, vals, ((key, self.scalar_code(c)),), dest=dest)

    def build_mul(self, e: sympy.Mul, dest: str | None) -> _Val:
        c = self.shapes.coefficient(e)
        num, den = self.shapes.factors(e, self.dest_state(dest))
        divisor = None
        if c is not None and c.is_Rational and not c.is_Integer and c.p == 1:
            divisor, c = sympy.Integer(c.q), None
        if not num:
            numerator = c if c is not None else sympy.Float(1.0)
            acc = self.special("rdiv", [self.read(numerator), self.read(den[0])])
            den = den[1:]
        else:
            acc = self.lead(num[0], dest)
            if c is not None and c == -1 and len(num) == 1 and not den and divisor is None:
                return self.apply("neg", acc, [], dest=dest)
            if c is not None:
                acc = self.apply("mul", acc, [self.read(c)], dest=dest)
            for x in num[1:]:
                acc = self.apply("mul", acc, [self.read(x)], dest=dest)
        if divisor is not None:
            acc = self.apply("div", acc, [self.read(divisor)], dest=dest)
        for d in den:
            acc = self.apply("div", acc, [self.read(d)], dest=dest)
        return acc

    def build_pow(self, e: sympy.Pow, dest: str | None) -> _Val:
        base, exp = e.args
        if not self.is_tensor(base):
            return self.special_pow(base, exp)
        if exp == sympy.S.Half:
            return self.apply("sqrt", self.lead(base, dest), [], dest=dest)
        if exp == -sympy.S.Half:
            root = self.apply("sqrt", self.lead(base, dest), [], dest=dest)
            return self.apply("reciprocal", root, [], dest=dest)
        if exp == -1:
            return self.apply("reciprocal", self.lead(base, dest), [], dest=dest)
        if exp == 2:
            b = self.lead(base, dest)
            return self.apply("mul", b, [_Val(b.code, True)], dest=dest)
        return self.apply("pow", self.lead(base, dest), [self.read(exp)], dest=dest)

    def special_pow(self, base: sympy.Expr, exp: sympy.Expr) -> _Val:
        out = self.temp()
        self.emit("pow", [self.read(base), self.read(exp)], out=out)
        return _Val(out, True, True)
