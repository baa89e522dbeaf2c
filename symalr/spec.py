"""The one intermediate form: :class:`OptimizerSpec` (see docs/spec-language.md), and its JSON codec.

An optimizer acts per trainable tensor ``w`` with gradient ``g``. Each step runs, in order,
one statement per state, ``s <- expr``, where a state name inside an expression means that
state's value *at that point of the step*: the new value if its statement already ran this step,
else the previous value. Then ``w <- w + delta``. States start at zero. ``t`` is the 1-based step
number (only when ``uses_step``). Hyperparameters are positive symbols with defaults and tuning
bounds. A hyperparameter named ``lr`` is the learning rate that frameworks expose; without one,
generated code multiplies ``delta`` by a group ``lr`` of 1.0 (see docs/spec-language.md).

JSON shape (all keys but ``name``, ``delta`` optional)::

    {"name": "momentum", "states": [["v", "momentum*v - lr*g"]], "delta": "v",
     "hyperparams": [{"name": "lr", "default": 0.01}, {"name": "momentum", "default": 0.9}],
     "uses_step": false, "doc": "..."}

Expression text is parsed by :mod:`symalr.expr` (whitelisted names, never evaluated as code).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import sympy

from .errors import SpecError
from .expr import GRAD, RESERVED, STEP, WEIGHT, free_names, parse_expr, symbol, to_text
from .safe_text import TextError, check_doc, check_identifier, check_label, check_latex_name

#: The doc of the hyperparameter :meth:`OptimizerSpec.with_step_scale` adds.
STEP_SCALE_DOC = "step scale chosen by the search"


@dataclass(frozen=True)
class HyperParam:
    """A named constant of an update rule.

    ``low``/``high`` bound tuning (the paper tunes everything in [0, 1]); ``log`` asks for a
    log-uniform search; ``tunable=False`` keeps it fixed during tuning (e.g. epsilon).
    ``latex`` overrides the LaTeX name (default: SymPy's rendering of the name, so ``beta_1``
    prints as ``\\beta_{1}``).
    """

    name: str
    default: float
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    tunable: bool = True
    latex: str | None = None
    doc: str = ""

    def __post_init__(self):
        try:
            check_identifier(self.name, "hyperparameter name", keywords_ok=True)
        except TextError as err:
            raise SpecError(str(err)) from None
        if self.name in RESERVED:
            raise SpecError(f"hyperparameter name {self.name!r} is reserved "
                            f"({', '.join(sorted(RESERVED))})")
        for key in ("default", "low", "high"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise SpecError(f"hyperparameter {self.name}: {key} must be a number, got {v!r}")
            try:
                finite = math.isfinite(float(v))
            except OverflowError:
                finite = False
            if not finite:
                raise SpecError(f"hyperparameter {self.name}: {key} {v!r} is not a finite "
                                "number")
            object.__setattr__(self, key, float(v))
        if not self.low <= self.high:
            raise SpecError(f"hyperparameter {self.name}: low {self.low} > high {self.high}")
        if not self.low <= self.default <= self.high:
            raise SpecError(
                f"hyperparameter {self.name}: default {self.default} outside [{self.low}, {self.high}]"
            )
        for key in ("log", "tunable"):
            if not isinstance(getattr(self, key), bool):
                raise SpecError(f"hyperparameter {self.name}: {key} must be true or false")
        if self.log and self.low <= 0:
            raise SpecError(f"hyperparameter {self.name}: log scale needs low > 0")
        try:
            if self.latex is not None:
                check_latex_name(self.latex, f"hyperparameter {self.name}: latex")
            check_doc(self.doc, f"hyperparameter {self.name}: doc")
        except TextError as err:
            raise SpecError(str(err)) from None


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer update rule (see the module docstring for the execution semantics).

    ``updates`` holds ``(state_name, expression)`` in execution order; ``states`` is their
    names in the same order. Construction validates names and free symbols eagerly.
    """

    name: str
    updates: tuple[tuple[str, sympy.Expr], ...]
    delta: sympy.Expr
    hyperparams: tuple[HyperParam, ...] = ()
    uses_step: bool = False
    doc: str = ""

    def __post_init__(self):
        try:
            check_label(self.name, "optimizer spec name")
            check_doc(self.doc, f"{self.name}: doc")
        except TextError as err:
            raise SpecError(str(err)) from None
        seen: set[str] = set()
        hp = {h.name for h in self.hyperparams}
        if len(hp) != len(self.hyperparams):
            raise SpecError(f"{self.name}: duplicate hyperparameter names")
        for s, _ in self.updates:
            try:
                check_identifier(s, f"{self.name}: state name", keywords_ok=True)
            except TextError as err:
                raise SpecError(str(err)) from None
            if s in RESERVED:
                raise SpecError(f"{self.name}: state name {s!r} is reserved")
            if s in seen:
                raise SpecError(f"{self.name}: state {s!r} is assigned twice")
            if s in hp:
                raise SpecError(f"{self.name}: {s!r} is both a state and a hyperparameter")
            seen.add(s)
        allowed = seen | hp | {GRAD, WEIGHT} | ({STEP} if self.uses_step else set())
        for where, e in (*self.updates, ("delta", self.delta)):
            if not isinstance(e, sympy.Expr):
                raise SpecError(f"{self.name}: {where} is not a SymPy expression")
            bad = free_names(e) - allowed
            if bad:
                raise SpecError(f"{self.name}: {where} uses unknown name(s) {sorted(bad)}")
        for where, e in (*self.updates, ("delta", self.delta)):
            for s in e.free_symbols:
                if s != self.sym(s.name):
                    raise SpecError(
                        f"{self.name}: {where}: symbol {s.name!r} has the wrong assumptions "
                        "(build expressions with spec.sym / symalr.expr.symbol)"
                    )

    # ------------------------------------------------------------------ accessors

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(s for s, _ in self.updates)

    @property
    def defaults(self) -> dict[str, float]:
        return {h.name: h.default for h in self.hyperparams}

    def hyperparam(self, name: str) -> HyperParam:
        for h in self.hyperparams:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def has_lr(self) -> bool:
        """True when a hyperparameter named ``lr`` exists (it is then the framework's lr)."""
        return any(h.name == "lr" for h in self.hyperparams)

    def sym(self, name: str) -> sympy.Symbol:
        """The symbol for a name of this spec, with the right assumptions."""
        return symbol(name, positive=name in {h.name for h in self.hyperparams} or name == STEP)

    def with_defaults(self, values: Mapping[str, float], name: str | None = None) -> OptimizerSpec:
        """A copy whose hyperparameter defaults are replaced (e.g. tuned values)."""
        unknown = set(values) - {h.name for h in self.hyperparams}
        if unknown:
            raise SpecError(f"{self.name}: unknown hyperparameter(s) {sorted(unknown)}")
        hps = tuple(
            replace(h, default=float(values[h.name]), low=min(h.low, float(values[h.name])),
                    high=max(h.high, float(values[h.name])))
            if h.name in values else h
            for h in self.hyperparams
        )
        return replace(self, hyperparams=hps, name=name or self.name)

    def with_step_scale(self, scale: float) -> OptimizerSpec:
        """A copy whose weight update is multiplied by ``scale``: how an evolved rule is
        trained at a normalised step (:mod:`symalr.step_scale`) and exported with the step
        multiplier its search chose. The factor is a hyperparameter ``scale`` (doc
        :data:`STEP_SCALE_DOC`, tunable in ``[0, max(10, scale)]``); a spec that already has
        one (the update is linear in it) gets its default multiplied instead of a second
        one. ``scale == 1`` returns the spec itself."""
        if scale == 1.0:
            return self
        for h in self.hyperparams:
            if h.doc == STEP_SCALE_DOC and _linear_in(self.delta, self.sym(h.name)):
                value = h.default * float(scale)
                hps = tuple(replace(p, default=value, high=max(10.0, value))
                            if p.name == h.name else p for p in self.hyperparams)
                return replace(self, hyperparams=hps)
        name = "scale"
        taken = {h.name for h in self.hyperparams} | set(self.states)
        k = 1
        while name in taken:
            name, k = f"scale_{k}", k + 1
        hp = HyperParam(name, float(scale), low=0.0, high=max(10.0, float(scale)),
                        latex=r"\alpha", doc=STEP_SCALE_DOC)
        return replace(self, delta=symbol(name, positive=True) * self.delta,
                       hyperparams=(*self.hyperparams, hp))

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "states": [[s, to_text(e)] for s, e in self.updates],
            "delta": to_text(self.delta),
            "hyperparams": [_hp_json(h) for h in self.hyperparams],
            "uses_step": self.uses_step,
        }
        if self.doc:
            out["doc"] = self.doc
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


def _linear_in(expr: sympy.Expr, sym: sympy.Symbol) -> bool:
    """Whether ``expr`` is ``sym`` times an expression free of ``sym``."""
    return sym not in sympy.cancel(expr / sym).free_symbols


def _hp_json(h: HyperParam) -> dict[str, Any]:
    d: dict[str, Any] = {"name": h.name, "default": h.default, "low": h.low, "high": h.high}
    if h.log:
        d["log"] = True
    if not h.tunable:
        d["tunable"] = False
    if h.latex:
        d["latex"] = h.latex
    if h.doc:
        d["doc"] = h.doc
    return d


_HP_KEYS = {"name", "default", "low", "high", "log", "tunable", "latex", "doc"}
_SPEC_KEYS = {"name", "states", "delta", "hyperparams", "uses_step", "doc"}


#: Most states and hyperparameters a spec may declare (the catalog uses at most 2 and 4).
MAX_STATES = 16
MAX_HYPERPARAMS = 64


def spec_from_json(data: Any, where: str = "<spec>") -> OptimizerSpec:
    """Build a spec from its JSON value; every problem is a SpecError naming ``where`` and the
    key (wrong types, unknown keys, bad names, non-finite numbers, unsafe LaTeX names, bounds)."""
    if not isinstance(data, dict):
        raise SpecError(f"{where}: a spec must be a JSON object")
    unknown = set(data) - _SPEC_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {sorted(unknown)} (known: {sorted(_SPEC_KEYS)})")
    for key in ("name", "delta"):
        if key not in data:
            raise SpecError(f"{where}: missing key {key!r}")
    for key in ("name", "delta", "doc"):
        if key in data and not isinstance(data[key], str):
            raise SpecError(f"{where}: {key!r} must be a string, got {type(data[key]).__name__}")
    raw_hps = data.get("hyperparams", [])
    if not isinstance(raw_hps, list) or len(raw_hps) > MAX_HYPERPARAMS:
        raise SpecError(f"{where}: 'hyperparams' must be a list of at most {MAX_HYPERPARAMS} "
                        "objects")
    hps = []
    for i, h in enumerate(raw_hps):
        if not isinstance(h, dict) or "name" not in h or "default" not in h:
            raise SpecError(f"{where}: hyperparams[{i}] needs 'name' and 'default'")
        bad = set(h) - _HP_KEYS
        if bad:
            raise SpecError(f"{where}: hyperparams[{i}]: unknown key(s) {sorted(bad)}")
        try:
            hps.append(HyperParam(**h))
        except SpecError as err:
            raise SpecError(f"{where}: hyperparams[{i}]: {err}") from None
    states = data.get("states", [])
    if not isinstance(states, list) or len(states) > MAX_STATES or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in states
    ):
        raise SpecError(f"{where}: 'states' must be a list of at most {MAX_STATES} "
                        "[name, expression] pairs")
    uses_step = data.get("uses_step", False)
    if not isinstance(uses_step, bool):
        raise SpecError(f"{where}: 'uses_step' must be true or false")
    hp_names = [h.name for h in hps]
    allowed = [s for s, _ in states] + hp_names + [GRAD, WEIGHT] + ([STEP] if uses_step else [])
    positive = hp_names + [STEP]
    updates = tuple(
        (s, parse_expr(text, allowed, f"{where}:states.{s}", positive)) for s, text in states
    )
    delta = parse_expr(data["delta"], allowed, f"{where}:delta", positive)
    try:
        return OptimizerSpec(
            name=data["name"], updates=updates, delta=delta, hyperparams=tuple(hps),
            uses_step=uses_step, doc=data.get("doc", ""),
        )
    except SpecError as err:
        raise SpecError(f"{where}: {err}") from None


def json_loads(text: str, where: str, error: type[Exception] = SpecError) -> Any:
    """Parse JSON text; invalid JSON (with line and column), nesting too deep for the parser,
    and non-standard constants (``NaN``, ``Infinity``) are ``error`` naming ``where``."""

    def constant(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    try:
        return json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as err:
        raise error(f"{where}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    except RecursionError:
        raise error(f"{where}: invalid JSON: nested too deeply") from None
    except ValueError as err:
        raise error(f"{where}: invalid JSON: {err}") from None


def spec_loads(text: str, where: str = "<spec>") -> OptimizerSpec:
    return spec_from_json(json_loads(text, where), where)


def make_spec(
    name: str,
    states: Iterable[tuple[str, str]],
    delta: str,
    hyperparams: Iterable[HyperParam] = (),
    uses_step: bool = False,
    doc: str = "",
) -> OptimizerSpec:
    """Convenience constructor from expression text (used by the catalog)."""
    data = {
        "name": name,
        "states": [[s, e] for s, e in states],
        "delta": delta,
        "hyperparams": [_hp_json(h) for h in hyperparams],
        "uses_step": uses_step,
        "doc": doc,
    }
    return spec_from_json(data, f"<{name}>")
