"""Spec -> standalone PyTorch optimizer module (``templates/torch_module.py.j2``).

:func:`torch_source` builds a :class:`TorchModuleContext` — every expression printed by
:mod:`symalr.render.printers` and lowered by :mod:`symalr.render.lowering`, every name from
:mod:`symalr.render.naming`, every piece of user text a literal from :mod:`symalr.safe_text` —
and fills the skeleton. The module imports only ``torch`` and the standard library: a
``torch.optim.Optimizer`` subclass with a per-tensor, a multi-tensor, a compiled and a
tensor-scalar path (the one ``torch.compile`` traces and ``differentiable=True`` uses), the
options torch users expect (aliases ``betas``/``eps``, ``weight_decay``, ``maximize``,
``differentiable``), a functional form, a TorchScript-able per-tensor function, and a
docstring with the LaTeX rule (docs/code-generation.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from ..expr import GRAD, STEP, WEIGHT
from ..safe_text import py_docstring, py_float, py_str
from ..spec import OptimizerSpec
from .docstrings import arg, class_doc, module_doc, signature, wrap
from .helpers import helper_imports, helper_source
from .hoist import hoist
from .lowering import lower
from .naming import Names, check_class_name, default_class_name, function_name, names_for
from .printers import ScalarPrinter, TorchPrinter, check_supported
from .torch_ops import needs_device_test, print_ops


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
class AliasContext:
    """A torch name for spec hyperparameters (``betas`` for ``beta_1, beta_2, ...``, ``eps``
    for ``epsilon``): ``ident`` the argument and group key, ``keys`` a tuple display of the
    spec keys' literals, ``is_tuple`` ``"True"`` or ``"False"``, ``annotation`` its type."""

    ident: str
    keys: str
    is_tuple: str
    annotation: str


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
    foreach_device_test: bool  # whether update_foreach needs _cpu (see torch_ops)
    fused_names: tuple[str, ...]
    fused_values: tuple[str, ...]
    fused_unpack: str
    fused_loop_vars: str
    fused_loop_lists: str
    fused_lines: tuple[str, ...]
    hyperparams: tuple[HyperContext, ...]
    lr_default: str
    states: tuple[StateContext, ...]
    uses_step: bool
    step_arg: str
    hyper_tuple: str
    states_tuple: str  # the state lists, as a tuple display
    slots: int  # scratch slots of the per-tensor and multi-tensor paths
    slot_names: tuple[str, ...]
    tensor_scalars_signature: str
    tensor_prelude: tuple[str, ...]  # the hoisted scalars as 0-d tensor expressions
    tensor_values: tuple[str, ...]
    aliases: tuple[AliasContext, ...]
    bounds: tuple[tuple[str, str, str], ...]  # (key literal, low, high) of lr and hyperparameters
    spec_defaults: tuple[tuple[str, str], ...]  # (key literal, default) of the hyperparameters
    function_name: str
    function_signature: str
    hyper_args: str  # lr and the hyperparameters' identifiers, as the inside of a tuple
    function_doc: str  # a docstring literal


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


def lr_high(spec: OptimizerSpec) -> float:
    """The largest group lr the class accepts: the spec's bound, none where the lr only
    scales the update (:func:`lr_only_scales`)."""
    if spec.has_lr and not lr_only_scales(spec):
        return spec.hyperparam("lr").high
    return float("inf")


def lr_bounds(spec: OptimizerSpec) -> tuple[str, str, str]:
    """Default, low and high of the framework learning rate, as float literals (the spec's
    range; the Keras and JAX modules check it)."""
    if spec.has_lr:
        h = spec.hyperparam("lr")
        return py_float(h.default), py_float(h.low), py_float(h.high)
    return py_float(1.0), py_float(0.0), py_float(float("inf"))


def lr_only_scales(spec: OptimizerSpec) -> bool:
    """Whether the group lr only multiplies the weight update, so any lr >= 0 is a valid
    step size: always for a spec without ``lr`` (the group lr multiplies ``delta``), and for
    one whose ``delta`` is ``lr`` times an expression without ``lr`` that no state reads."""
    if not spec.has_lr:
        return True
    lr = next((s for s in spec.delta.free_symbols if s.name == "lr"), None)
    if lr is None or any(lr in e.free_symbols for _, e in spec.updates):
        return False
    rest, factor = sympy.factor_terms(spec.delta).as_independent(lr, as_Add=False)
    return factor == lr and lr not in rest.free_symbols


def torch_aliases(spec: OptimizerSpec) -> tuple[AliasContext, ...]:
    """torch's conventional names the module accepts besides the spec's: ``betas`` for
    hyperparameters ``beta_1`` ... ``beta_k`` (k >= 1, numbered from 1), ``eps`` for
    ``epsilon``; none whose name a hyperparameter already has."""
    hypers = {h.name for h in spec.hyperparams}
    out = []
    k = 0
    while f"beta_{k + 1}" in hypers:
        k += 1
    if k and "betas" not in hypers:
        keys = [py_str(f"beta_{i}") for i in range(1, k + 1)]
        out.append(AliasContext("betas", f"({_tuple(keys)})", "True",
                                f"tuple[{', '.join(['float'] * k)}] | None"))
    if "epsilon" in hypers and "eps" not in hypers:
        out.append(AliasContext("eps", f"({py_str('epsilon')},)", "False", "float | None"))
    return tuple(out)


def _arg_lines(spec: OptimizerSpec, names: Names, aliases: tuple[AliasContext, ...],
               lr_high: float) -> list[str]:
    lr_doc = ("learning rate (the spec's ``lr``)" if spec.has_lr
              else "multiplier of the weight update (default 1.0)")
    lr_doc += ("; a float, a NumPy scalar or a one-element tensor" +
               (", any value >= 0 (it only scales the update)" if lr_high == float("inf")
                else ""))
    lines = ["    params: parameters to optimize, or dicts defining parameter groups.",
             *arg(f"lr: {lr_doc}.")]
    for h in spec.hyperparams:
        if h.name != "lr":
            lines += arg(f"{names.ident[h.name]}: {h.doc or 'hyperparameter'} "
                           f"(default {h.default:g}).")
    for a in aliases:
        if a.ident == "betas":
            lines += arg("betas: torch's name for ``(beta_1, ...)``, kept equal to them in the "
                         "parameter groups (schedulers such as ``OneCycleLR`` cycle "
                         "``betas[0]``); give it or them.")
        else:
            lines += arg("eps: torch's name for ``epsilon``, kept equal to it in the parameter "
                         "groups; give it or ``epsilon``.")
    lines += arg("weight_decay: decoupled weight decay (AdamW-style): each step first "
                 "multiplies the parameter by ``1 - lr * weight_decay`` (default 0).")
    lines += arg("maximize: maximize the objective (the rule reads the negated gradient).")
    lines += arg("foreach: use the multi-tensor ``torch._foreach_*`` path (None or True, the "
                   "default); False updates one tensor at a time. Both write their "
                   "temporaries into buffers kept across steps.")
    lines += arg("compile: fuse each step's update with ``torch.compile`` (compiled on the "
                   "first step, then reused; worth it for long trainings).")
    lines += arg("differentiable: run the step with autograd enabled, through "
                 "out-of-place tensor expressions, so that gradients flow through it "
                 "(not with ``foreach=True`` or ``compile=True``).")
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
    if lowering.slots != foreach_lowering.slots:  # pragma: no cover - one lowering, two names
        raise AssertionError("the per-tensor and multi-tensor lowerings differ")
    tensor_prelude, tensor_helpers = _tensor_prelude(hoisted, scalar_names)
    helpers = sp.helpers | tp.helpers | lowering.helpers | tensor_helpers
    used = [scalar_names[n] for n in hoisted.used]
    state_note = (
        "State per parameter: ``step`` (a 0-d float32 tensor, the steps taken)" + "".join(
            f", ``{s}`` (a tensor like the parameter)" for s in spec.states) +
        "; states are float32 for float16/bfloat16 parameters, whose update is computed in "
        "float32. The per-tensor and multi-tensor paths keep their temporaries in "
        "``_scratch`` (reused every step; not in ``state_dict``).")
    lr_default, lr_low, _ = lr_bounds(spec)
    lr_top = py_float(lr_high(spec))
    aliases = torch_aliases(spec)
    slot_names = tuple(f"_t{k}" for k in range(lowering.slots))
    tensor_args = ["lr: Tensor", *(f"{ident[h.name]}: Tensor" for h in hypers)]
    if spec.uses_step:
        tensor_args.append("t: Tensor")
    fn_name = function_name(spec, class_name)
    state_lists = [names.lists[s] for s in spec.states]
    function_args = [*(f"{lst}: list[Tensor]" for _, lst in tensors), "state_steps: list[Tensor]",
                     "*", f"lr: float = {lr_default}",
                     *(f"{ident[h.name]}: float = {py_float(h.default)}" for h in hypers),
                     "weight_decay: float = 0.0", "maximize: bool = False",
                     "foreach: bool | None = None"]
    return TorchModuleContext(
        module_doc=py_docstring(module_doc(spec, class_name, "torch")),
        class_doc=py_docstring(class_doc(spec, class_name, "torch", state_note,
                                           _arg_lines(spec, names, aliases,
                                                      lr_high(spec)))),
        class_name=class_name,
        imports=frozenset(sp.imports | tp.imports | helper_imports(helpers)),
        helpers=tuple(helper_source(helpers)),
        skeleton_helpers=tuple(helper_source(SKELETON_HELPERS)),
        tensor_signature=signature([*(f"{t}: Tensor" for t, _ in tensors),
                                    "scratch: list[Tensor]", *scalar_args]),
        foreach_signature=signature([*(f"{lst}: list[Tensor]" for _, lst in tensors),
                                     "scratch: list[list[Tensor]]", *scalar_args]),
        scalar_signature=signature(scalar_args),
        fused_signature=signature([*(f"{lst}: list[Tensor]" for _, lst in tensors),
                                     "scalars: Tensor"]),
        prelude=tuple(prelude),
        tensor_ops=tuple(print_ops(lowering.ops, "tensor")),
        foreach_ops=tuple(print_ops(foreach_lowering.ops, "foreach")),
        foreach_device_test=needs_device_test(foreach_lowering.ops),
        fused_names=tuple(used or ["(none)"]),
        fused_values=tuple(used),
        fused_unpack=(f"{', '.join(used)}{',' if len(used) == 1 else ''} = scalars.unbind(0)"
                      if used else "del scalars  # the rule reads no scalar"),
        fused_loop_vars=", ".join(t for t, _ in tensors),
        fused_loop_lists=", ".join(lst for _, lst in tensors),
        fused_lines=tuple(fused),
        hyperparams=hyper_contexts(spec, names),
        lr_default=lr_default,
        states=tuple(StateContext(py_str(s), names.lists[s]) for s in spec.states),
        uses_step=spec.uses_step,
        step_arg=", step" if spec.uses_step else "",
        hyper_tuple=_tuple(['group["lr"]', *(f"group[{py_str(h.name)}]" for h in hypers)]),
        states_tuple=f"({_tuple(state_lists)})" if state_lists else "()",
        slots=lowering.slots,
        slot_names=slot_names,
        tensor_scalars_signature=signature(tensor_args),
        tensor_prelude=tuple(tensor_prelude),
        tensor_values=tuple(used),
        aliases=aliases,
        bounds=((py_str("lr"), lr_low, lr_top),
                *((py_str(h.name), py_float(h.low), py_float(h.high)) for h in hypers)),
        spec_defaults=tuple((py_str(h.name), py_float(h.default)) for h in hypers),
        function_name=fn_name,
        hyper_args=_tuple(["lr", *(ident[h.name] for h in hypers)]),
        function_signature=signature(function_args),
        function_doc=py_docstring(_function_doc(spec, class_name, state_lists)),
    )


#: The skeleton's helpers (:mod:`symalr.render.runtime`), in the order the module lists them.
SKELETON_HELPERS = ("_checked", "_alias_parts", "_alias_value", "_resolve_aliases",
                    "_group_aliases", "_sync_aliases", "_buckets", "_work_dtype", "_scratch",
                    "_without_scratch")


def _tensor_prelude(hoisted, scalar_names: dict[str, str]) -> tuple[list[str], set[str]]:
    """The hoisted scalars computed from 0-d tensors (:class:`TorchPrinter`), and the
    helpers that needs."""
    tp = TorchPrinter(scalar_names)
    return [f"{n} = {tp.doprint(e)}" for n, e in hoisted.scalars], tp.helpers


def _function_doc(spec: OptimizerSpec, class_name: str, state_lists: list[str]) -> str:
    states = ", ".join(f"``{s}``" for s in state_lists) or "no state"
    lines = [
        f"One {class_name} step over lists of tensors, in place: the functional form of",
        f":class:`{class_name}` (as ``torch.optim.adam.adam`` is of ``torch.optim.Adam``).",
        "",
        *wrap(f"States: {states}, one tensor per parameter, zeros before the first step "
              "(float32 for float16/bfloat16 parameters). ``state_steps``: one 0-d tensor per "
              "parameter, the steps taken so far; this advances them. ``foreach=False`` "
              "updates one tensor at a time; under ``torch.compile`` the scalars are "
              "computed as tensors. Values are not validated; temporaries are allocated per "
              "call (the class keeps them)."),
    ]
    first, *rest = "\n".join(lines).split("\n")
    return first + "\n" + "\n".join(("    " + x) if x else "" for x in rest) + "\n    "


def torch_source(spec: OptimizerSpec, class_name: str | None = None) -> str:
    """The standalone torch module for ``spec`` (see the module docstring)."""
    from .template import render

    return render("torch_module.py.j2", torch_context(spec, class_name))
