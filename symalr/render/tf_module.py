"""Spec -> standalone Keras 3 / TensorFlow optimizer module (``templates/tf_module.py.j2``).

:func:`tf_source` builds a :class:`TFModuleContext` (printed expressions, validated names,
literals for user text) and fills the skeleton: a ``keras.optimizers.Optimizer`` subclass
(``build``, ``update_step``, ``get_config``) that also trains under XLA, registered as a
serializable Keras object under the package ``symalr`` (docs/code-generation.md).

Serialization: the class registers as ``symalr>{ClassName}_{rule digest}`` so that
``keras.optimizers.deserialize`` and ``keras.saving.load_model`` restore *this* class (not
Keras' own ``Adam`` of the same name, nor another exported class that happens to share the
class name), and its config carries ``symalr_rule``, the digest, which ``from_config`` checks:
a config restored into a class of a different rule (or into Keras' own ``Adam``, which rejects
the unknown key) fails loudly instead of silently changing the update.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import sympy

from ..expr import GRAD, STEP, WEIGHT, to_text
from ..safe_text import py_docstring, py_str
from ..spec import OptimizerSpec
from .docstrings import arg, class_doc, module_doc
from .helpers import helper_source
from .hoist import LR_MULTIPLIER, weight_term
from .naming import Names, check_class_name, default_class_name, names_for
from .printers import TFPrinter
from .torch_module import HyperContext, check_spec, hyper_contexts, lr_bounds


@dataclass(frozen=True)
class TFStateContext:
    """One state: ``key`` its name as a string literal (the Keras variable's name), ``ident``
    its local name, ``attr`` the attribute holding its variables, ``expr`` its new value."""

    key: str
    ident: str
    attr: str
    expr: str


@dataclass(frozen=True)
class TFModuleContext:
    """The inputs of ``tf_module.py.j2``."""

    module_doc: str  # a docstring literal
    class_doc: str  # a docstring literal
    class_name: str  # a validated identifier
    keras_name: str  # a string literal
    registered_name: str  # a string literal: the Keras registration name (without package)
    rule: str  # a string literal: the rule digest (rule_digest)
    check_source: str  # source of _check (render/runtime.py)
    hyperparams: tuple[HyperContext, ...]
    lr_default: str
    lr_low: str
    lr_high: str
    states: tuple[TFStateContext, ...]
    reads: tuple[str, ...]  # statements reading the inputs update_step needs
    weight: str  # the printed weight update


def rule_digest(spec: OptimizerSpec) -> str:
    """12 hex digits identifying ``spec``'s update rule: its statements, delta, hyperparameter
    names and use of the step (not its name, doc, defaults or bounds: those do not change
    what a restored config means)."""
    rule = {
        "states": [[s, to_text(e)] for s, e in spec.updates],
        "delta": to_text(spec.delta),
        "hyperparams": [h.name for h in spec.hyperparams],
        "uses_step": spec.uses_step,
    }
    return hashlib.sha256(json.dumps(rule, sort_keys=True).encode()).hexdigest()[:12]


def _reads(spec: OptimizerSpec, names: Names, weight: sympy.Expr) -> list[str]:
    """Local reads that the printed expressions need, in a fixed order."""
    ident = names.ident
    exprs = [e for _, e in spec.updates] + [weight]
    used = set().union(*(x.free_symbols for x in exprs))
    used_names = {s.name for s in used}
    lines = []
    if LR_MULTIPLIER in used_names or "lr" in used_names:
        lines.append("lr = tf.cast(learning_rate, dtype)")
    if GRAD in used_names:
        lines.append("grad = tf.cast(tf.convert_to_tensor(gradient), dtype)")
    for h in spec.hyperparams:
        if h.name != "lr" and h.name in used_names:
            lines.append(f"{ident[h.name]} = tf.cast(self.{ident[h.name]}, dtype)")
    if STEP in used_names:
        lines.append("t = tf.cast(self.iterations + 1, dtype)")
    if WEIGHT in used_names:
        lines.append("param = tf.convert_to_tensor(variable)")
    for i, (s, _) in enumerate(spec.updates):
        # the old value is read if this statement or an earlier one uses it
        if any(s in {x.name for x in e.free_symbols} for _, e in spec.updates[: i + 1]):
            lines.append(f"{ident[s]} = tf.convert_to_tensor(self._state_{ident[s]}[index])")
    return lines


def tf_context(spec: OptimizerSpec, class_name: str | None = None) -> TFModuleContext:
    """The template inputs of ``spec``'s Keras module."""
    class_name = check_class_name(class_name or default_class_name(spec))
    check_spec(spec, "tf")
    names = names_for(spec, "tf")
    ident = names.ident
    tp = TFPrinter(ident, dtype="dtype")
    weight = weight_term(spec)
    weight_text = tp.doprint(weight)
    tensors = {spec.sym(GRAD), spec.sym(WEIGHT), *(spec.sym(s) for s in spec.states)}
    if not weight.free_symbols & tensors:
        weight_text = f"tf.fill(tf.shape(variable), tf.cast({weight_text}, dtype))"
    states = []
    for s, e in spec.updates:
        text = tp.doprint(e)
        if not any(x.name in {GRAD, WEIGHT, *spec.states} for x in e.free_symbols):
            text = f"tf.fill(tf.shape(variable), tf.cast({text}, dtype))"
        states.append(TFStateContext(py_str(s), ident[s], f"_state_{ident[s]}", text))
    arg_lines = [
        *arg("learning_rate: " + ("learning rate (the spec's ``lr``), a float or a schedule."
                                    if spec.has_lr else "multiplier of the weight update "
                                    "(default 1.0), a float or a schedule.")),
        *(line for h in spec.hyperparams if h.name != "lr" for line in arg(
            f"{ident[h.name]}: {h.doc or 'hyperparameter'} (default {h.default:g}).")),
        "    name: the optimizer's name.",
        *arg("**kwargs: the arguments of ``keras.optimizers.Optimizer`` (``weight_decay``, "
               "``clipnorm``, ``use_ema``, ...)."),
    ]
    state_note = ("State per variable: " + (", ".join(f"``{s}``" for s in spec.states)
                                            if spec.states else "none") +
                  " (zeros like the variable); the step is the optimizer's ``iterations + 1``.")
    lr_default, lr_low, lr_high = lr_bounds(spec)
    digest = rule_digest(spec)
    return TFModuleContext(
        module_doc=py_docstring(module_doc(spec, class_name, "tf")),
        class_doc=py_docstring(class_doc(spec, class_name, "tf", state_note, arg_lines)),
        class_name=class_name,
        keras_name=py_str(spec.name),
        registered_name=py_str(f"{class_name}_{digest}"),
        rule=py_str(digest),
        check_source=helper_source(("_check",))[0],
        hyperparams=hyper_contexts(spec, names),
        lr_default=lr_default,
        lr_low=lr_low,
        lr_high=lr_high,
        states=tuple(states),
        reads=tuple(_reads(spec, names, weight)),
        weight=weight_text,
    )


def tf_source(spec: OptimizerSpec, class_name: str | None = None) -> str:
    """The standalone Keras 3 / TensorFlow module for ``spec``."""
    from .template import render

    return render("tf_module.py.j2", tf_context(spec, class_name))
