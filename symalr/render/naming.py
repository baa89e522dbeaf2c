"""Identifiers of generated modules: the class name, and the Python name of every spec name.

Every identifier a template receives comes from here and is validated with
:func:`symalr.safe_text.check_identifier` (``re.fullmatch``, no leading underscore, no keyword)
and against the names the generated module itself uses, so user text can neither break the
module's syntax nor shadow its helpers (``_check``, ``_buckets``...), the framework modules or
Python's builtins. Spec names (states, hyperparameters) are used as written unless they would
shadow such a name or are keywords; those get a trailing ``_``. Problems are
:class:`~symalr.errors.ExportError` naming the offending name.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

from ..errors import ExportError
from ..expr import GRAD, STEP, WEIGHT
from ..safe_text import TextError, check_identifier, is_builtin
from ..spec import OptimizerSpec
from .hoist import LR_MULTIPLIER

#: Catalog names whose class names are not plain CamelCase.
CLASS_NAMES = {
    "ades": "ADES", "ades-eq8": "ADESEq8", "sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam",
    "momentum": "Momentum", "nesterov": "Nesterov", "sign": "Sign",
}  # fmt: skip

#: Names the generated modules use themselves: module level, and locals of the functions where
#: spec names appear (the update functions, ``_step_group``, ``update_step``, ``init``...).
MODULE_NAMES = frozenset(
    """torch Tensor math functools tf keras jax jnp optax update_tensor update_foreach
    update_fused fused_scalars scripted_update_tensor param params grad grads lr step steps
    scalars group state self dtype variable gradient learning_rate index hyper lists some idx
    loss closure config var_list name kwargs foreach compile defaults t updates count
    weight_decay maximize differentiable init_fn update_fn update_leaf out new_updates
    NamedTuple scratch state_steps tensor_scalars numbers defaultdict""".split()
)

#: Keras ``Optimizer`` arguments and attributes a hyperparameter must not replace.
KERAS_NAMES = frozenset(
    """name learning_rate weight_decay clipnorm clipvalue global_clipnorm use_ema ema_momentum
    ema_overwrite_frequency loss_scale_factor gradient_accumulation_steps iterations variables
    built build apply apply_gradients update_step get_config from_config assign assign_add
    assign_sub add_variable add_variable_from_reference path dtype symalr_rule""".split()
)

#: Optimizer constructor arguments of the torch class a hyperparameter must not replace.
TORCH_ARGUMENTS = frozenset({"params", "foreach", "compile", "lr"})


def _reserved(name: str) -> bool:
    return name in MODULE_NAMES or keyword.iskeyword(name) or is_builtin(name)


def default_class_name(spec: OptimizerSpec) -> str:
    """``ades`` -> ``ADES`` (see :data:`CLASS_NAMES`), otherwise CamelCase of the name,
    prefixed ``Optimizer`` when that would not start with a letter or would clash."""
    if spec.name in CLASS_NAMES:
        return CLASS_NAMES[spec.name]
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spec.name) if w]
    name = "".join(w[0].upper() + w[1:] for w in words)
    if not name or not name[0].isalpha() or _reserved(name):
        name = "Optimizer" + name
    return name


def check_class_name(name: object) -> str:
    """``name`` if it can be the generated class's name, else :class:`ExportError`."""
    try:
        check_identifier(name, "class name")
    except TextError as err:
        raise ExportError(f"invalid {err}") from None
    if _reserved(name):
        raise ExportError(f"invalid class name {name!r}: the generated module uses that name "
                          "itself (or it is a Python builtin); choose another")
    return name


def _snake(name: str) -> str:
    """``AdesEvolved`` -> ``ades_evolved``, ``ADESEq8`` -> ``ades_eq8``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def function_name(spec: OptimizerSpec, class_name: str | None = None) -> str:
    """The name of the function a JAX module defines (optax style, ``optax.adam``): the
    catalog's name with ``_`` for ``-`` (``ades-eq8`` -> ``ades_eq8``) unless a class name is
    given, else the snake case of the class name (``AdesEvolved`` -> ``ades_evolved``); a
    trailing ``_`` while it would shadow a name the module uses or a builtin."""
    if class_name is None and spec.name in CLASS_NAMES:
        name = spec.name.replace("-", "_")
    else:
        name = _snake(check_class_name(class_name or default_class_name(spec)))
    while _reserved(name):
        name += "_"
    return name


@dataclass(frozen=True)
class Names:
    """Identifiers of one spec's names in generated code.

    ``ident``: spec name (states, hyperparameters, ``g``, ``w``, ``t``, the lr multiplier)
    -> identifier; ``lists``: state name -> identifier of its list (multi-tensor code)."""

    ident: dict[str, str]
    lists: dict[str, str]


def names_for(spec: OptimizerSpec, backend: str) -> Names:
    """The :class:`Names` of ``spec`` for ``backend`` (``torch``, ``tf`` or ``jax``)."""
    taken = set(MODULE_NAMES)
    ident = {GRAD: "grad", WEIGHT: "param", STEP: "t", LR_MULTIPLIER: "lr"}
    for h in spec.hyperparams:
        if h.name == "lr":
            ident["lr"] = "lr"
            continue
        if keyword.iskeyword(h.name) or (backend == "tf" and h.name in KERAS_NAMES):
            raise ExportError(
                f"cannot export {spec.name!r} to {backend}: hyperparameter name {h.name!r} "
                "cannot be an argument name of the optimizer; rename it in the spec"
            )
        if h.name in TORCH_ARGUMENTS or h.name in {"weight_decay", "maximize", "differentiable"}:
            raise ExportError(
                f"cannot export {spec.name!r}: hyperparameter name {h.name!r} clashes with "
                "an optimizer argument; rename it in the spec"
            )
    for n in [h.name for h in spec.hyperparams if h.name != "lr"] + list(spec.states):
        candidate = n
        while candidate in taken or keyword.iskeyword(candidate) or is_builtin(candidate):
            candidate += "_"
        taken.add(candidate)
        ident[n] = candidate
    lists = {}
    for s in spec.states:
        candidate = ident[s] + "s"
        while candidate in taken or keyword.iskeyword(candidate) or is_builtin(candidate):
            candidate += "_"
        taken.add(candidate)
        lists[s] = candidate
    return Names(ident, lists)
