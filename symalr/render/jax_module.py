"""Spec -> standalone JAX / optax module (``templates/jax_module.py.j2``).

:func:`jax_source` builds a :class:`JaxModuleContext` (expressions printed by
:class:`~symalr.render.printers.JaxPrinter`, names from :mod:`symalr.render.naming`, user text
as literals from :mod:`symalr.safe_text`) and fills the skeleton: a function named like the
optimizer (``ades(learning_rate=1.0, beta_1=..., beta_2=...)``) returning an
``optax.GradientTransformation`` whose ``init`` / ``update`` are pure functions over pytrees
(jit-able), with the state a ``NamedTuple`` of ``count`` and one pytree per spec state. The
update it returns is the term the spec adds to the weight (``delta``, times the learning rate
where the spec has no ``lr``); the caller applies it with ``optax.apply_updates``
(docs/code-generation.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ExportError
from ..expr import GRAD, STEP, WEIGHT
from ..safe_text import py_docstring
from ..spec import OptimizerSpec
from .docstrings import arg, class_doc, module_doc, signature
from .helpers import helper_source
from .hoist import LR_MULTIPLIER, weight_term
from .naming import check_class_name, default_class_name, function_name, names_for
from .printers import JaxPrinter
from .torch_module import HyperContext, check_spec, hyper_contexts, lr_bounds


@dataclass(frozen=True)
class JaxStateContext:
    """One state: ``ident`` its field of the state tuple and local name, ``expr`` its new
    value (printed)."""

    ident: str
    expr: str


@dataclass(frozen=True)
class JaxModuleContext:
    """The inputs of ``jax_module.py.j2``."""

    module_doc: str  # a docstring literal
    function_doc: str  # a docstring literal
    function_name: str  # a validated identifier
    state_class: str  # a validated identifier: the NamedTuple of the state
    check_source: str  # source of _check (render/jax_runtime.py)
    hyperparams: tuple[HyperContext, ...]
    lr_default: str
    lr_low: str
    lr_high: str
    states: tuple[JaxStateContext, ...]
    reads_param: bool  # whether the rule reads the weight (update needs params)
    uses_lr: bool  # whether the update reads the learning rate
    leaf_signature: str  # update_leaf's arguments: "grad, y, lr, beta_1, beta_2"
    scalar_casts: tuple[str, ...]  # update_leaf's lines casting its scalars to the dtype
    tree_args: str  # the arguments that are pytree leaves: "grad, y"
    call_args: str  # update_leaf's arguments inside update_fn: "grad, y, lr, beta_1, beta_2"
    map_args: str  # the pytrees mapped over: "updates, state.y"
    returns: str  # update_leaf's result: a tuple display of the update and the new states


def _arg_lines(spec: OptimizerSpec, ident: dict[str, str]) -> list[str]:
    lr = ("learning rate (the spec's ``lr``)" if spec.has_lr
          else "multiplier of the update (default 1.0)")
    lines = arg(f"learning_rate: {lr}: a float, or an optax schedule (a function of the step "
                "count, called with 0 at the first update).")
    for h in spec.hyperparams:
        if h.name != "lr":
            lines += arg(f"{ident[h.name]}: {h.doc or 'hyperparameter'} (default {h.default:g}).")
    return lines


def jax_context(spec: OptimizerSpec, class_name: str | None = None) -> JaxModuleContext:
    """The template inputs of ``spec``'s JAX module."""
    fn_name = function_name(spec, class_name)
    class_name = check_class_name(class_name or default_class_name(spec))
    check_spec(spec, "jax")
    names = names_for(spec, "jax")
    ident = names.ident
    state_class = class_name + "State"
    taken = {fn_name, *ident.values()}
    if state_class in taken:
        raise ExportError(f"cannot export {spec.name!r} to jax: the state class {state_class!r} "
                          "would clash with a name of the spec; choose another class name")
    jp = JaxPrinter(ident)
    weight = weight_term(spec)
    tensor_names = {GRAD, WEIGHT, *spec.states}

    def printed(e) -> str:
        text = jp.doprint(e)
        if not any(x.name in tensor_names for x in e.free_symbols):
            text = f"jnp.full(jnp.shape(grad), {text}, dtype)"
        return text

    states = tuple(JaxStateContext(ident[s], printed(e)) for s, e in spec.updates)
    weight_text = printed(weight)

    used = {x.name for e in [*(e for _, e in spec.updates), weight] for x in e.free_symbols}
    scalars: list[tuple[str, str]] = []  # (update_leaf's name, the value update_fn passes)
    uses_lr = LR_MULTIPLIER in used or "lr" in used
    if uses_lr:
        scalars.append(("lr", "lr"))
    scalars += [(ident[h.name], ident[h.name]) for h in spec.hyperparams
                if h.name != "lr" and h.name in used]
    if STEP in used:
        scalars.append(("t", "count"))
    reads_param = WEIGHT in used
    tree_args = ["grad", *(["param"] if reads_param else []), *(ident[s] for s in spec.states)]
    map_args = ["updates", *(["params"] if reads_param else []),
                *(f"state.{ident[s]}" for s in spec.states)]

    state_note = (
        f"Returns an ``optax.GradientTransformation``; its state is ``{state_class}``: "
        "``count`` (updates so far; the step :math:`t` is ``count + 1``) and, per spec state, "
        "a pytree of zeros like the parameters: "
        + (", ".join(f"``{ident[s]}``" for s in spec.states) if spec.states else "none")
        + ". ``update(updates, state, params)`` returns the term to add to the parameters "
        "(``optax.apply_updates``); " + ("it reads ``params``." if reads_param
                                         else "``params`` is not read.")
    )
    lr_default, lr_low, lr_high = lr_bounds(spec)
    return JaxModuleContext(
        module_doc=py_docstring(module_doc(spec, fn_name, "jax")),
        function_doc=py_docstring(class_doc(spec, fn_name, "jax", state_note,
                                            _arg_lines(spec, ident))),
        function_name=fn_name,
        state_class=state_class,
        check_source=helper_source(("_check",), "jax_runtime.py")[0],
        hyperparams=hyper_contexts(spec, names),
        lr_default=lr_default,
        lr_low=lr_low,
        lr_high=lr_high,
        states=states,
        reads_param=reads_param,
        uses_lr=uses_lr,
        leaf_signature=signature([*tree_args, *(n for n, _ in scalars)]),
        scalar_casts=tuple(f"{n} = jnp.asarray({n}, dtype)" for n, _ in scalars),
        tree_args=", ".join(tree_args),
        call_args=", ".join([*tree_args, *(v for _, v in scalars)]),
        map_args=", ".join(map_args),
        returns="(" + ", ".join([weight_text, *(st.ident for st in states)])
                + ("," if not states else "") + ")",
    )


def jax_source(spec: OptimizerSpec, class_name: str | None = None) -> str:
    """The standalone JAX / optax module for ``spec``."""
    from .template import render

    return render("jax_module.py.j2", jax_context(spec, class_name))
