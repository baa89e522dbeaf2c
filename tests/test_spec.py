"""OptimizerSpec: construction checks, JSON round trip, safe expression parsing."""

from __future__ import annotations

import json

import pytest
import sympy

from symalr import catalog
from symalr.errors import SpecError
from symalr.expr import divide_no_nan, parse_expr, symbol, to_text
from symalr.spec import HyperParam, make_spec, spec_from_json, spec_loads


@pytest.mark.parametrize("name", catalog.NAMES)
def test_json_round_trip(name):
    spec = catalog.get(name)
    again = spec_loads(spec.dumps())
    assert again == spec
    assert json.loads(again.dumps()) == json.loads(spec.dumps())


def test_expression_text_round_trip():
    x, g = symbol("x"), symbol("g")
    e = divide_no_nan(x, g) + sympy.sqrt(sympy.Abs(x)) * sympy.sign(g) - x**2 / 3
    assert parse_expr(to_text(e), ["x", "g"]) == e


@pytest.mark.parametrize(
    "text, message",
    [
        ("__import__('os')", "cannot parse"),
        ("eval(x)", "unknown function 'eval'"),
        ("x + q", "unknown name 'q'"),
        ("pow(x)", "pow takes 2 argument"),
        ("x +", "cannot parse"),
        ("x.__class__", "cannot parse"),
        ("lambda: 1", "cannot parse"),
    ],
)
def test_expression_text_is_never_executed(text, message):
    with pytest.raises(SpecError, match=message) as err:
        parse_expr(text, ["x", "g"], where="f.json:delta")
    assert str(err.value).startswith("f.json:delta")


@pytest.mark.parametrize(
    "data, message",
    [
        ([], "must be a JSON object"),
        ({"name": "a"}, "missing key 'delta'"),
        ({"name": "a", "delta": "g", "extra": 1}, "unknown key"),
        ({"name": "a", "delta": "g", "states": [["g", "g"]]}, "state name .g. is reserved"),
        ({"name": "a", "delta": "g", "states": [["x", "g"], ["x", "g"]]}, "assigned twice"),
        ({"name": "a", "delta": "lr*g", "hyperparams": [{"name": "lr"}]}, "needs 'name' and 'default'"),
        ({"name": "a", "delta": "g", "hyperparams": [{"name": "lr", "default": 2.0}]}, "outside"),
        ({"name": "a", "delta": "g*t"}, "unknown name 't'"),
        ({"name": "a", "delta": "g", "uses_step": "yes"}, "true or false"),
    ],
)
def test_bad_spec_json(data, message):
    with pytest.raises(SpecError, match=message):
        spec_from_json(data, "bad.json")


def test_invalid_json_text_has_position():
    with pytest.raises(SpecError, match=r"bad.json:1:\d+: invalid JSON"):
        spec_loads("{nope", "bad.json")


def test_with_defaults_and_hyperparams():
    ades = catalog.get("ades").with_defaults({"beta_1": 0.87621, "beta_2": 0.76132})
    assert ades.defaults == {"beta_1": 0.87621, "beta_2": 0.76132}
    with pytest.raises(SpecError, match="unknown hyperparameter"):
        ades.with_defaults({"lr": 0.1})
    with pytest.raises(SpecError, match="log scale needs low > 0"):
        HyperParam("lr", 0.1, log=True)


def test_step_counter_must_be_declared():
    spec = make_spec("s", [], "-g/t", uses_step=True)
    assert spec.uses_step and "t" in {s.name for s in spec.delta.free_symbols}
