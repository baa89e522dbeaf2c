"""Spec -> standalone PyTorch optimizer module (``templates/torch_module.py.j2``).

:func:`torch_source` builds a :class:`TorchModuleContext` — every expression printed by
:mod:`symalr.render.printers` and lowered by :mod:`symalr.render.lowering`, every name from
:mod:`symalr.render.naming`, every piece of user text a literal from :mod:`symalr.safe_text` —
and fills the skeleton. The module imports only ``torch`` (and ``math`` when a helper needs it):
a ``torch.optim.Optimizer`` subclass with a per-tensor, a multi-tensor and a compiled path,
a TorchScript-able per-tensor function, and a docstring with the LaTeX rule
(docs/code-generation.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..expr import GRAD, STEP, WEIGHT
from ..safe_text import py_docstring, py_float, py_str
from ..spec import OptimizerSpec
from .docstrings import arg, class_doc, module_doc, signature
from .helpers import helper_imports, helper_source
from .hoist import hoist
from .lowering import lower
from .naming import Names, check_class_name, default_class_name, names_for
from .printers import ScalarPrinter, TorchPrinter, check_supported
from .torch_ops import print_ops


@dataclass(frozen=True)
class HyperContext:
    """One hyperparameter (other than ``lr``): ``key`` its name as a string literal (the
    param-group key), ``ident`` its argument name, and float literals."""

    key: str
    ident: str
    default: str
    low: str
    high: str


@dataclass(frozen=True)
class StateContext:
    """One state: ``key`` its name as a string literal (the optimizer-state key), ``list_ident``
    the identifier of its list in multi-tensor code."""

    key: str
    list_ident: str


@dataclass(frozen=True)
class TorchModuleContext:
    """The inputs of ``torch_module.py.j2``."""

    module_doc: str  # a docstring literal
    class_doc: str  # a docstring literal
    class_name: str  # a validated identifier
    imports: frozenset[str]  # modules besides torch: "math"
    helpers: tuple[str, ...]  # the printers' helper function sources (render/runtime.py)
    skeleton_helpers: tuple[str, ...]  # sources of _check and _buckets (render/runtime.py)
    tensor_signature: str
    foreach_signature: str
    scalar_signature: str
    fused_signature: str
    prelude: tuple[str, ...]  # statements computing the hoisted scalars
    tensor_ops: tuple[str, ...]
    foreach_ops: tuple[str, ...]
    fused_names: tuple[str, ...]
    fused_values: tuple[str, ...]
    fused_unpack: str
    fused_loop_vars: str
    fused_loop_lists: str
    fused_lines: tuple[str, ...]
    hyperparams: tuple[HyperContext, ...]
    lr_default: str
    lr_low: str
    lr_high: str
    states: tuple[StateContext, ...]
    uses_step: bool
    step_arg: str
    hyper_tuple: str
    lists_tuple: str


def _tuple(items: list[str]) -> str:
    """The inside of a tuple display (a trailing comma for one item)."""
    return items[0] + "," if len(items) == 1 else ", ".join(items)


def check_spec(spec: OptimizerSpec, backend: str) -> None:
    """Raise :class:`~symalr.errors.ExportError` for an expression node ``backend`` cannot
    print."""
    for _, e in (*spec.updates, ("delta", spec.delta)):
        check_supported(e, backend)


def hyper_contexts(spec: OptimizerSpec, names: Names) -> tuple[HyperContext, ...]:
    """The hyperparameters other than ``lr``, as template inputs."""
    return tuple(
        HyperContext(py_str(h.name), names.ident[h.name], py_float(h.default), py_float(h.low),
                     py_float(h.high))
        for h in spec.hyperparams if h.name != "lr"
    )


def lr_bounds(spec: OptimizerSpec) -> tuple[str, str, str]:
    """Default, low and high of the framework learning rate, as float literals."""
    if spec.has_lr:
        h = spec.hyperparam("lr")
        return py_float(h.default), py_float(h.low), py_float(h.high)
    return py_float(1.0), py_float(0.0), py_float(float("inf"))


def _arg_lines(spec: OptimizerSpec, names: Names) -> list[str]:
    lr_doc = ("learning rate (the spec's ``lr``)" if spec.has_lr
              else "multiplier of the weight update (default 1.0)")
    lines = ["    params: parameters to optimize, or dicts defining parameter groups.",
             *arg(f"lr: {lr_doc}.")]
    for h in spec.hyperparams:
        if h.name != "lr":
            lines += arg(f"{names.ident[h.name]}: {h.doc or 'hyperparameter'} "
                           f"(default {h.default:g}).")
    lines += arg("foreach: use the multi-tensor ``torch._foreach_*`` path (None or True, the "
                   "default); False updates one tensor at a time.")
    lines += arg("compile: fuse each step's update with ``torch.compile`` (compiled on the "
                   "first step, then reused; worth it for long trainings).")
    return lines


def torch_context(spec: OptimizerSpec, class_name: str | None = None) -> TorchModuleContext:
    """The template inputs of ``spec``'s torch module."""
    class_name = check_class_name(class_name or default_class_name(spec))
    check_spec(spec, "torch")
    names = names_for(spec, "torch")
    ident = names.ident
    hoisted = hoist(spec)
    scalar_names = {**ident, **{n: n for n, _ in hoisted.scalars}}
    sp = ScalarPrinter(scalar_names)
    prelude = []
    if STEP in hoisted.used or any(
        STEP in {s.name for s in e.free_symbols} for _, e in hoisted.scalars
    ):
        prelude.append("t = float(step)")
    prelude += [f"{n} = {sp.doprint(e)}" for n, e in hoisted.scalars]
    tensor_ids = {n: ident[n] for n in (GRAD, WEIGHT, *spec.states)}
    lowering = lower(hoisted, tensor_ids, sp.doprint)
    list_ids = {GRAD: "grads", WEIGHT: "params", **names.lists}
    foreach_lowering = lower(hoisted, list_ids, sp.doprint)

    tp = TorchPrinter(scalar_names)
    fused = []
    for s, e in hoisted.updates:
        method = "fill_" if not e.free_symbols else "copy_"
        fused.append(f"{ident[s]}.{method}({tp.doprint(e)})")
    fused.append(f"{ident[WEIGHT]}.add_({tp.doprint(hoisted.weight)})")

    hypers = [h for h in spec.hyperparams if h.name != "lr"]
    scalar_args = ["lr: float", *(f"{ident[h.name]}: float" for h in hypers)]
    if spec.uses_step:
        scalar_args.append("step: int")
    tensors = [("param", "params"), ("grad", "grads"),
               *((ident[s], names.lists[s]) for s in spec.states)]
    helpers = sp.helpers | tp.helpers | lowering.helpers
    used = [scalar_names[n] for n in hoisted.used]
    state_note = ("State per parameter: ``step`` (int)" + "".join(
        f", ``{s}`` (a tensor like the parameter)" for s in spec.states) + ".")
    lr_default, lr_low, lr_high = lr_bounds(spec)
    return TorchModuleContext(
        module_doc=py_docstring(module_doc(spec, class_name, "torch")),
        class_doc=py_docstring(class_doc(spec, class_name, "torch", state_note,
                                           _arg_lines(spec, names))),
        class_name=class_name,
        imports=frozenset(sp.imports | tp.imports | helper_imports(helpers)),
        helpers=tuple(helper_source(helpers)),
        skeleton_helpers=tuple(helper_source(("_check", "_buckets"))),
        tensor_signature=signature([*(f"{t}: Tensor" for t, _ in tensors), *scalar_args]),
        foreach_signature=signature([*(f"{lst}: list[Tensor]" for _, lst in tensors),
                                       *scalar_args]),
        scalar_signature=signature(scalar_args),
        fused_signature=signature([*(f"{lst}: list[Tensor]" for _, lst in tensors),
                                     "scalars: Tensor"]),
        prelude=tuple(prelude),
        tensor_ops=tuple(print_ops(lowering.ops, "tensor")),
        foreach_ops=tuple(print_ops(foreach_lowering.ops, "foreach")),
        fused_names=tuple(used or ["(none)"]),
        fused_values=tuple(used),
        fused_unpack=(f"{', '.join(used)}{',' if len(used) == 1 else ''} = scalars.unbind(0)"
                      if used else "del scalars  # the rule reads no scalar"),
        fused_loop_vars=", ".join(t for t, _ in tensors),
        fused_loop_lists=", ".join(lst for _, lst in tensors),
        fused_lines=tuple(fused),
        hyperparams=hyper_contexts(spec, names),
        lr_default=lr_default,
        lr_low=lr_low,
        lr_high=lr_high,
        states=tuple(StateContext(py_str(s), names.lists[s]) for s in spec.states),
        uses_step=spec.uses_step,
        step_arg=", step" if spec.uses_step else "",
        hyper_tuple=_tuple(['float(group["lr"])',
                            *(f"float(group[{py_str(h.name)}])" for h in hypers)]),
        lists_tuple=_tuple([lst for _, lst in tensors]),
    )


def torch_source(spec: OptimizerSpec, class_name: str | None = None) -> str:
    """The standalone torch module for ``spec`` (see the module docstring)."""
    from .template import render

    return render("torch_module.py.j2", torch_context(spec, class_name))
