"""Print the lowered operations (:class:`symalr.render.lowering.Op`) as torch code.

The same list prints as per-tensor code (``torch.add(...)``, ``x.add_(...)``;
TorchScript-compatible) or as multi-tensor code (``torch._foreach_add(...)``). Operations
without a ``_foreach`` form — the function-like operators whose row in :mod:`symalr.ops` has
no ``foreach`` (``divide_no_nan``, NaN-keeping ``sign``) and a number divided by a tensor —
run per tensor inside the multi-tensor code, spelled by their ``torch`` row.
"""

from __future__ import annotations

from .. import ops
from .lowering import ARITHMETIC, Op

#: Operations with both a torch function/method and a ``torch._foreach_*`` form.
NATIVE = ARITHMETIC | frozenset(op.foreach for op in ops.OPERATORS.values() if op.foreach)


def _special(op: Op, args: tuple[str, ...]) -> str:
    """A per-tensor expression for an operation without a ``_foreach`` form."""
    if op.fn == "rdiv":  # a number divided by a tensor: torch.div divides exactly
        return f"torch.div({args[0]}, {args[1]})"
    row = ops.OPERATORS[op.fn]
    a = args[0]
    b = args[1] if len(args) > 1 else ""
    if row.name == "divide_no_nan" and not op.tensor[1]:
        return row.spelling("torch_scalar_divisor").format(a=a, b=b)
    q = f"{a} / {b}" if op.tensor[0] else f"torch.div({a}, {b})"
    return row.spelling("torch").format(a=a, b=b, ao=a, bo=b, q=q)


def _call_args(op: Op, args: tuple[str, ...]) -> str:
    return ", ".join([*args, *(f"{k}={v}" for k, v in op.kw)])


def print_op_tensor(op: Op) -> list[str]:
    """One operation as per-tensor torch code (TorchScript-compatible)."""
    if op.fn == "del":
        return [f"del {', '.join(op.args)}"]
    if op.fn == "fill":
        return [f"{op.args[0]}.fill_({op.args[1]})"]
    if op.fn not in NATIVE:
        return [f"{op.out} = {_special(op, op.args)}"]
    if op.out is None:
        return [f"{op.args[0]}.{op.fn}_({_call_args(op, op.args[1:])})"]
    return [f"{op.out} = torch.{op.fn}({_call_args(op, op.args)})"]


def print_op_foreach(op: Op) -> list[str]:
    """One operation as multi-tensor code over lists (``torch._foreach_*``)."""
    if op.fn == "del":
        return print_op_tensor(op)
    lists = [a for a, t in zip(op.args, op.tensor) if t]
    loop_vars = [f"_{chr(ord('a') + i)}" for i in range(len(lists))]
    if op.fn not in NATIVE or op.fn == "fill":
        it = iter(loop_vars)
        per = tuple(next(it) if t else a for a, t in zip(op.args, op.tensor))
        source = lists[0] if len(lists) == 1 else f"zip({', '.join(lists)})"
        if op.fn == "fill":
            return [f"for {loop_vars[0]} in {source}:", f"    {loop_vars[0]}.fill_({per[1]})"]
        return [f"{op.out} = [{_special(op, per)} for {', '.join(loop_vars)} in {source}]"]
    if op.out is None:
        return [f"torch._foreach_{op.fn}_({_call_args(op, op.args)})"]
    return [f"{op.out} = torch._foreach_{op.fn}({_call_args(op, op.args)})"]


def print_ops(ops_: list[Op], mode: str) -> list[str]:
    """Print operations for ``mode`` ``"tensor"`` or ``"foreach"``."""
    printer = print_op_tensor if mode == "tensor" else print_op_foreach
    return [line for op in ops_ for line in printer(op)]
