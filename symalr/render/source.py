"""Spec -> standalone optimizer module source, for torch and for TensorFlow/Keras 3 (SPEC §5).

:func:`torch_source` and :func:`tf_source` print every expression with the printers of
:mod:`symalr.render.printers` and the lowering of :mod:`symalr.render.foreach`, then fill the
Jinja skeletons ``templates/torch_module.py.j2`` / ``tf_module.py.j2`` (which hold no operator
or expression logic). The output imports only ``torch`` (or ``keras`` and ``tensorflow``).

Identifiers: spec names are used as written unless they would shadow a name the module uses
(``torch``, ``param``, ``lr`` ...) or are Python keywords; those get a trailing ``_``.
Hyperparameter names must be usable as keyword arguments; any problem is an
:class:`~symalr.errors.ExportError` naming it.
"""

from __future__ import annotations

import keyword
import re
import textwrap
from dataclasses import dataclass
from functools import cache

import sympy

from .. import expr as E
from ..errors import ExportError
from ..spec import OptimizerSpec
from . import foreach as F
from . import hoist as H
from .printers import ScalarPrinter, TFPrinter, TorchPrinter, check_supported, helper_source

#: Catalog names whose class names are not plain CamelCase.
CLASS_NAMES = {
    "ades": "ADES", "ades-eq8": "ADESEq8", "sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam",
    "momentum": "Momentum", "nesterov": "Nesterov", "sign": "Sign",
}  # fmt: skip

#: Names the generated modules use themselves: module level, and locals of the functions where
#: spec names appear (the update functions, ``_step_group``, ``update_step``).
_MODULE_NAMES = frozenset(
    """torch Tensor math functools tf keras update_tensor update_foreach update_fused
    fused_scalars scripted_update_tensor param params grad grads lr step steps scalars group
    state self dtype variable gradient learning_rate index hyper lists some idx loss closure
    config var_list name kwargs foreach compile defaults t float int abs zip list len range
    tuple bool dict isinstance super""".split()
)

#: Keras ``Optimizer`` arguments and attributes a hyperparameter must not replace.
_KERAS_NAMES = frozenset(
    """name learning_rate weight_decay clipnorm clipvalue global_clipnorm use_ema ema_momentum
    ema_overwrite_frequency loss_scale_factor gradient_accumulation_steps iterations variables
    built build apply apply_gradients update_step get_config from_config assign assign_add
    assign_sub add_variable add_variable_from_reference path dtype""".split()
)

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOC_WIDTH = 92


def default_class_name(spec: OptimizerSpec) -> str:
    """``ades`` -> ``ADES`` (see :data:`CLASS_NAMES`), otherwise CamelCase of the name."""
    if spec.name in CLASS_NAMES:
        return CLASS_NAMES[spec.name]
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spec.name) if w]
    name = "".join(w[0].upper() + w[1:] for w in words)
    if not name or not name[0].isalpha():
        name = "Optimizer" + name
    return name


def check_class_name(name: str) -> str:
    """``name`` if it can be the generated class's name, else :class:`ExportError`."""
    if not _IDENT.match(name) or keyword.iskeyword(name) or name in _MODULE_NAMES:
        raise ExportError(
            f"invalid class name {name!r}: use a Python identifier that is not a keyword or "
            "a name the generated module uses (e.g. 'torch', 'Tensor')"
        )
    return name


@dataclass(frozen=True)
class _Names:
    """Identifiers of one spec's names in generated code."""

    ident: dict[str, str]  # spec name (states, hyperparameters, g, w, t, lr) -> identifier
    lists: dict[str, str]  # state name -> identifier of its list (multi-tensor code)


def _names(spec: OptimizerSpec, backend: str) -> _Names:
    taken = set(_MODULE_NAMES)
    ident = {E.GRAD: "grad", E.WEIGHT: "param", E.STEP: "t", H.LR_MULTIPLIER: "lr"}
    for h in spec.hyperparams:
        if h.name == "lr":
            ident["lr"] = "lr"
            continue
        if keyword.iskeyword(h.name) or (backend == "tf" and h.name in _KERAS_NAMES):
            raise ExportError(
                f"cannot export {spec.name!r} to {backend}: hyperparameter name {h.name!r} "
                "cannot be an argument name of the optimizer; rename it in the spec"
            )
        if h.name in {"params", "foreach", "compile"}:
            raise ExportError(
                f"cannot export {spec.name!r}: hyperparameter name {h.name!r} clashes with "
                "an optimizer argument; rename it in the spec"
            )
    for n in [h.name for h in spec.hyperparams if h.name != "lr"] + list(spec.states):
        candidate = n
        while candidate in taken or keyword.iskeyword(candidate):
            candidate += "_"
        taken.add(candidate)
        ident[n] = candidate
    lists = {}
    for s in spec.states:
        candidate = ident[s] + "s"
        while candidate in taken or keyword.iskeyword(candidate):
            candidate += "_"
        taken.add(candidate)
        lists[s] = candidate
    return _Names(ident, lists)


# ---------------------------------------------------------------------------------- docstrings


def _wrap(text: str, indent: str = "", hanging: str = "") -> list[str]:
    """``text`` wrapped to the docstring width; continuation lines get ``hanging`` more."""
    return textwrap.wrap(text, _DOC_WIDTH, initial_indent=indent,
                         subsequent_indent=indent + hanging, break_long_words=False,
                         break_on_hyphens=False) or [""]


def _arg(text: str) -> list[str]:
    """An ``Args:`` entry."""
    return _wrap(text, "    ", "    ")


def signature(args: list[str], indent: str = "", width: int = 99) -> str:
    """Arguments of a ``def``: on one line when ``def name(...) -> None:`` fits in ``width``
    (about 40 characters are reserved for the rest of the line), else one per line."""
    one = ", ".join(args)
    if len(indent) + len(one) + 40 <= width:
        return one
    inner = indent + "    "
    return "\n" + "".join(f"{inner}{a},\n" for a in args) + indent


def _safe(text: str) -> str:
    """Text that can sit inside a raw triple-quoted docstring."""
    return text.replace('"""', "'''")


def _latex_lines(spec: OptimizerSpec) -> list[str]:
    from .latex import update_rule_latex

    out = []
    for line in update_rule_latex(spec).splitlines():
        out.extend(_wrap(line, "    ", "    ") if len(line) > _DOC_WIDTH else ["    " + line])
    return out


def _hyper_rows(spec: OptimizerSpec, backend: str) -> list[str]:
    lr_name = "learning_rate" if backend == "tf" else "lr"
    rows = []
    if not spec.has_lr:
        rows.append((lr_name, "1.0", "[0, inf)", "multiplies the weight update (schedulers act on "
                     "it)"))
    for h in spec.hyperparams:
        name = lr_name if h.name == "lr" else h.name
        rng = f"[{h.low:g}, {h.high:g}]" + (" log" if h.log else "") + ("" if h.tunable else
                                                                         " fixed")
        rows.append((name, f"{h.default:g}", rng, h.doc))
    width = max(len(r[0]) for r in rows)
    return [f"    {n:<{width}}  {d:<10} {r:<14} {doc}".rstrip() for n, d, r, doc in rows]


def _class_doc(spec: OptimizerSpec, class_name: str, backend: str, state_note: str,
               arg_lines: list[str]) -> str:
    lines = [f"{class_name} optimizer, generated by symalr from the spec ``{spec.name}``.", ""]
    if spec.doc:
        lines += [*_wrap(spec.doc), ""]
    lines += [
        "Update rule, per parameter tensor (states start at zero; :math:`t` is the 1-based step;",
        "each line sees the states already updated above it)::",
        "",
        *_latex_lines(spec),
        "",
    ]
    if not spec.has_lr:
        lr_name = "learning_rate" if backend == "tf" else "lr"
        lines += [*_wrap(f"The learning rate ``{lr_name}`` (default 1.0) multiplies the weight "
                         "update, so learning-rate schedules work unchanged."), ""]
    lines += ["Hyperparameters (default, range, meaning)::", "", *_hyper_rows(spec, backend), ""]
    lines += ["Args:", *arg_lines, "", *_wrap(state_note)]
    return _safe("\n".join(lines))


def _indent_doc(doc: str) -> str:
    """Indent a class docstring body (not its first line) by four spaces, closing it on its
    own line."""
    first, *rest = doc.split("\n")
    body = "\n".join(("    " + x) if x else "" for x in rest)
    return f"{first}\n{body}\n    "


def _module_doc(spec: OptimizerSpec, class_name: str, backend: str) -> str:
    needs = "torch" if backend == "torch" else "keras 3 and tensorflow"
    return (
        f"{class_name}: an optimizer generated by symalr (do not edit; regenerate with\n"
        f"``symalr export {spec.name} --backend {backend}``). Needs only {needs}.\n"
    )


# ---------------------------------------------------------------------------------- torch


@cache
def _environment():
    import jinja2

    from ..resources import templates_dir

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def _render(template: str, **context) -> str:
    return _environment().get_template(template).render(**context)


def _check_spec(spec: OptimizerSpec, backend: str) -> None:
    for _, e in (*spec.updates, ("delta", spec.delta)):
        check_supported(e, backend)


def _hyper_context(spec: OptimizerSpec, names: _Names) -> list[dict]:
    return [
        {"name": h.name, "ident": names.ident[h.name], "default": repr(float(h.default)),
         "low": repr(float(h.low)), "high": repr(float(h.high))}
        for h in spec.hyperparams if h.name != "lr"
    ]


def _lr_bounds(spec: OptimizerSpec) -> tuple[str, str, str]:
    """Default, low and high of the framework learning rate."""
    if spec.has_lr:
        h = spec.hyperparam("lr")
        return repr(float(h.default)), repr(float(h.low)), repr(float(h.high))
    return "1.0", "0.0", 'float("inf")'


def torch_source(spec: OptimizerSpec, class_name: str | None = None) -> str:
    """The standalone torch module for ``spec`` (see the module docstring)."""
    class_name = check_class_name(class_name or default_class_name(spec))
    _check_spec(spec, "torch")
    names = _names(spec, "torch")
    ident = names.ident
    hoisted = H.hoist(spec)
    scalar_names = {**ident, **{n: n for n, _ in hoisted.scalars}}
    sp = ScalarPrinter(scalar_names)
    prelude = []
    if E.STEP in hoisted.used or any(
        E.STEP in {s.name for s in e.free_symbols} for _, e in hoisted.scalars
    ):
        prelude.append("t = float(step)")
    prelude += [f"{n} = {sp.doprint(e)}" for n, e in hoisted.scalars]
    tensor_ids = {n: ident[n] for n in (E.GRAD, E.WEIGHT, *spec.states)}
    lowering = F.lower(hoisted, tensor_ids, sp.doprint)
    list_ids = {E.GRAD: "grads", E.WEIGHT: "params", **names.lists}
    foreach_lowering = F.lower(hoisted, list_ids, sp.doprint)

    tp = TorchPrinter(scalar_names)
    fused = []
    for s, e in hoisted.updates:
        method = "fill_" if not e.free_symbols else "copy_"
        fused.append(f"{ident[s]}.{method}({tp.doprint(e)})")
    fused.append(f"{ident[E.WEIGHT]}.add_({tp.doprint(hoisted.weight)})")

    hypers = [h for h in spec.hyperparams if h.name != "lr"]
    scalar_args = ["lr: float", *(f"{ident[h.name]}: float" for h in hypers)]
    if spec.uses_step:
        scalar_args.append("step: int")
    tensors = [("param", "params"), ("grad", "grads"),
               *((ident[s], names.lists[s]) for s in spec.states)]
    helpers = sp.helpers | tp.helpers | lowering.helpers
    used = [scalar_names[n] for n in hoisted.used]
    doc_args = _torch_arg_lines(spec, names)
    state_note = ("State per parameter: ``step`` (int)" + "".join(
        f", ``{s}`` (a tensor like the parameter)" for s in spec.states) + ".")
    lr_default, lr_low, lr_high = _lr_bounds(spec)
    return _render(
        "torch_module.py.j2",
        module_doc=_module_doc(spec, class_name, "torch"),
        class_doc=_indent_doc(_class_doc(spec, class_name, "torch", state_note, doc_args)),
        class_name=class_name,
        imports=sp.imports | tp.imports | _helper_imports(helpers),
        helpers=[helper_source({h}) for h in sorted(helpers)],
        tensor_signature=signature([*(f"{t}: Tensor" for t, _ in tensors), *scalar_args]),
        foreach_signature=signature([*(f"{lst}: list[Tensor]" for _, lst in tensors),
                                     *scalar_args]),
        scalar_signature=signature(scalar_args),
        fused_signature=signature([*(f"{lst}: list[Tensor]" for _, lst in tensors),
                                   "scalars: Tensor"]),
        prelude=prelude,
        tensor_ops=F.print_ops(lowering.ops, "tensor"),
        foreach_ops=F.print_ops(foreach_lowering.ops, "foreach"),
        fused_names=used or ["(none)"],
        fused_values=used,
        fused_unpack=(f"{', '.join(used)}{',' if len(used) == 1 else ''} = scalars.unbind(0)"
                      if used else "del scalars  # the rule reads no scalar"),
        fused_loop_vars=", ".join(t for t, _ in tensors),
        fused_loop_lists=", ".join(lst for _, lst in tensors),
        fused_lines=fused,
        hyperparams=_hyper_context(spec, names),
        lr_default=lr_default,
        lr_low=lr_low,
        lr_high=lr_high,
        states=[{"name": s, "list_ident": names.lists[s]} for s in spec.states],
        uses_step=spec.uses_step,
        step_arg=", step" if spec.uses_step else "",
        hyper_tuple=_tuple(['float(group["lr"])', *(f'float(group["{h.name}"])' for h in hypers)]),
        lists_tuple=_tuple([lst for _, lst in tensors]),
    )


def _tuple(items: list[str]) -> str:
    """The inside of a tuple display (a trailing comma for one item)."""
    return items[0] + "," if len(items) == 1 else ", ".join(items)


def _helper_imports(helpers: set[str]) -> set[str]:
    from .printers import helper_imports

    return helper_imports(helpers)


def _torch_arg_lines(spec: OptimizerSpec, names: _Names) -> list[str]:
    lr_doc = ("learning rate (the spec's ``lr``)" if spec.has_lr
              else "multiplier of the weight update (default 1.0)")
    lines = ["    params: parameters to optimize, or dicts defining parameter groups.",
             *_arg(f"lr: {lr_doc}.")]
    for h in spec.hyperparams:
        if h.name != "lr":
            lines += _arg(f"{names.ident[h.name]}: {h.doc or 'hyperparameter'} "
                          f"(default {h.default:g}).")
    lines += _arg("foreach: use the multi-tensor ``torch._foreach_*`` path (None or True, the "
                  "default); False updates one tensor at a time.")
    lines += _arg("compile: fuse each step's update with ``torch.compile`` (compiled on the "
                  "first step, then reused; worth it for long trainings).")
    return lines


# ---------------------------------------------------------------------------------- tensorflow


def tf_source(spec: OptimizerSpec, class_name: str | None = None) -> str:
    """The standalone Keras 3 / TensorFlow module for ``spec``."""
    class_name = check_class_name(class_name or default_class_name(spec))
    _check_spec(spec, "tf")
    names = _names(spec, "tf")
    ident = names.ident
    tp = TFPrinter(ident, dtype="dtype")
    weight = H.weight_term(spec)
    statements = [(s, tp.doprint(e)) for s, e in spec.updates]
    weight_text = tp.doprint(weight)
    if not weight.free_symbols & {spec.sym(E.GRAD), spec.sym(E.WEIGHT),
                                  *(spec.sym(s) for s in spec.states)}:
        weight_text = f"tf.fill(tf.shape(variable), tf.cast({weight_text}, dtype))"
    reads = _tf_reads(spec, names, weight)
    states = []
    for (s, text), (_, e) in zip(statements, spec.updates):
        if not any(x.name in {E.GRAD, E.WEIGHT, *spec.states} for x in e.free_symbols):
            text = f"tf.fill(tf.shape(variable), tf.cast({text}, dtype))"
        states.append({"name": s, "ident": ident[s], "attr": f"_state_{ident[s]}", "expr": text})
    arg_lines = [
        *_arg("learning_rate: " + ("learning rate (the spec's ``lr``), a float or a schedule."
                                   if spec.has_lr else "multiplier of the weight update "
                                   "(default 1.0), a float or a schedule.")),
        *(line for h in spec.hyperparams if h.name != "lr" for line in _arg(
            f"{ident[h.name]}: {h.doc or 'hyperparameter'} (default {h.default:g}).")),
        "    name: the optimizer's name.",
        *_arg("**kwargs: the arguments of ``keras.optimizers.Optimizer`` (``weight_decay``, "
              "``clipnorm``, ``use_ema``, ...)."),
    ]
    state_note = ("State per variable: " + (", ".join(f"``{s}``" for s in spec.states)
                                            if spec.states else "none") +
                  " (zeros like the variable); the step is the optimizer's ``iterations + 1``.")
    lr_default, lr_low, lr_high = _lr_bounds(spec)
    return _render(
        "tf_module.py.j2",
        module_doc=_module_doc(spec, class_name, "tf"),
        class_doc=_indent_doc(_class_doc(spec, class_name, "tf", state_note, arg_lines)),
        class_name=class_name,
        keras_name=spec.name,
        hyperparams=_hyper_context(spec, names),
        lr_default=lr_default,
        lr_low=lr_low,
        lr_high=lr_high,
        states=states,
        reads=reads,
        weight=weight_text,
    )


def _tf_reads(spec: OptimizerSpec, names: _Names, weight: sympy.Expr) -> list[str]:
    """Local reads that the printed expressions need, in a fixed order."""
    ident = names.ident
    exprs = [e for _, e in spec.updates] + [weight]
    used = set().union(*(x.free_symbols for x in exprs))
    used_names = {s.name for s in used}
    lines = []
    if H.LR_MULTIPLIER in used_names or "lr" in used_names:
        lines.append("lr = tf.cast(learning_rate, dtype)")
    if E.GRAD in used_names:
        lines.append("grad = tf.cast(tf.convert_to_tensor(gradient), dtype)")
    for h in spec.hyperparams:
        if h.name != "lr" and h.name in used_names:
            lines.append(f"{ident[h.name]} = tf.cast(self.{ident[h.name]}, dtype)")
    if E.STEP in used_names:
        lines.append("t = tf.cast(self.iterations + 1, dtype)")
    if E.WEIGHT in used_names:
        lines.append("param = tf.convert_to_tensor(variable)")
    for i, (s, _) in enumerate(spec.updates):
        # the old value is read if this statement or an earlier one uses it
        if any(s in {x.name for x in e.free_symbols} for _, e in spec.updates[: i + 1]):
            lines.append(f"{ident[s]} = tf.convert_to_tensor(self._state_{ident[s]}[index])")
    return lines
