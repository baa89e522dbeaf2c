"""Print the lowered operations (:class:`symalr.render.lowering.Op`) as torch code.

The same list prints as per-tensor code (``torch.add(..., out=_t0)``, ``x.add_(...)``;
TorchScript-compatible) or as multi-tensor code (``torch._foreach_add_(...)``). An operation
that writes a scratch slot (``out``) prints per tensor as the ``out=`` form of its torch
function. Over lists it prints two ways, chosen by the generated code's ``_cpu`` (whether the
tensors are on the CPU): on the CPU, where torch's ``_foreach`` operations are loops over the
tensors anyway, the per-tensor ``out=`` form in a loop; elsewhere ``torch._foreach_copy_`` of
the first operand into the slot and the in-place ``_foreach`` operation (one multi-tensor
kernel each; ``_foreach`` operations have no ``out=``). No step allocates a parameter-sized
tensor (docs/code-generation.md). Operations without a ``_foreach`` form — the function-like operators
whose row in :mod:`symalr.ops` has no ``foreach`` (``divide_no_nan``, NaN-keeping ``sign``), a
number divided by a tensor and a number raised to a tensor — run per tensor inside the
multi-tensor code, spelled by their ``torch_out`` rows.
"""

from __future__ import annotations

from .. import ops
from .lowering import ARITHMETIC, Op

#: Operations with both a torch function/method and a ``torch._foreach_*`` form.
NATIVE = ARITHMETIC | frozenset(op.foreach for op in ops.OPERATORS.values() if op.foreach)


def _special_out(op: Op, args: tuple[str, ...], out: str) -> str:
    """A per-tensor statement writing an operation without a ``_foreach`` form into ``out``."""
    if op.fn == "rdiv":  # a number divided by a tensor, divided exactly
        return f"{out}.fill_({args[0]}).div_({args[1]})"
    if op.fn == "pow":  # a number raised to a tensor
        return f"torch.pow({args[0]}, {args[1]}, out={out})"
    row = ops.OPERATORS[op.fn]
    a = args[0]
    b = args[1] if len(args) > 1 else ""
    if row.name == "divide_no_nan" and not op.tensor[1]:
        spelling = row.spelling("torch_scalar_divisor_out")
    else:
        spelling = row.spelling("torch_out")
    qo = (f"torch.div({a}, {b}, out={out})" if op.tensor[0]
          else f"{out}.fill_({a}).div_({b})")
    return spelling.format(a=a, b=b, out=out, qo=qo)


def _call_args(op: Op, args: tuple[str, ...]) -> str:
    return ", ".join([*args, *(f"{k}={v}" for k, v in op.kw)])


def print_op_tensor(op: Op) -> list[str]:
    """One operation as per-tensor torch code (TorchScript-compatible)."""
    if op.fn == "fill":
        return [f"{op.args[0]}.fill_({op.args[1]})"]
    if op.fn not in NATIVE or (op.fn == "pow" and not op.tensor[0]):
        return [_special_out(op, op.args, op.out)]
    if op.out is None:
        return [f"{op.args[0]}.{op.fn}_({_call_args(op, op.args[1:])})"]
    return [f"torch.{op.fn}({_call_args(op, op.args)}, out={op.out})"]


def print_op_foreach(op: Op) -> list[str]:
    """One operation as multi-tensor code over lists (``torch._foreach_*``)."""
    lists = [a for a, t in zip(op.args, op.tensor) if t]
    loop_vars = [f"_{chr(ord('a') + i)}" for i in range(len(lists))]
    if op.fn == "fill":
        return [f"for _a in {op.args[0]}:", f"    _a.fill_({op.args[1]})"]
    if op.fn not in NATIVE or (op.fn == "pow" and not op.tensor[0]):
        it = iter(loop_vars)
        per = tuple(next(it) if t else a for a, t in zip(op.args, op.tensor))
        return [f"for {', '.join([*loop_vars, '_o'])} in zip({', '.join([*lists, op.out])}):",
                f"    {_special_out(op, per, '_o')}"]
    if op.out is None:
        return [f"torch._foreach_{op.fn}_({_call_args(op, op.args)})"]
    it = iter(loop_vars)
    per = tuple(next(it) if t else a for a, t in zip(op.args, op.tensor))
    (line,) = print_op_tensor(Op(op.fn, per, op.tensor, op.kw, "_o"))
    # the slot holds a copy of the first operand: later reads of that operand read the slot
    rest = tuple(op.out if a == op.args[0] else a for a in op.args[1:])
    return ["if _cpu:",
            f"    for {', '.join([*loop_vars, '_o'])} in zip({', '.join([*lists, op.out])}):",
            f"        {line}",
            "else:",
            f"    torch._foreach_copy_({op.out}, {op.args[0]})",
            f"    torch._foreach_{op.fn}_({_call_args(op, (op.out, *rest))})"]


def needs_device_test(ops_: list[Op]) -> bool:
    """Whether the multi-tensor code of ``ops_`` reads ``_cpu`` (it writes a scratch slot with
    a ``_foreach`` operation)."""
    return any(op.out is not None and op.fn in NATIVE and not (op.fn == "pow" and
                                                              not op.tensor[0]) for op in ops_)


def print_ops(ops_: list[Op], mode: str) -> list[str]:
    """Print operations for ``mode`` ``"tensor"`` or ``"foreach"``."""
    printer = print_op_tensor if mode == "tensor" else print_op_foreach
    return [line for op in ops_ for line in printer(op)]
