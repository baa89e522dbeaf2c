"""The code printers (symalr.render.printers) and the torch lowering (symalr.render.lowering).

One-line tests per mapping; the NumPy and JAX printers against the reference Evaluator on
random expressions (float32, exact zeros and NaNs included); the plain-float printer and its
IEEE helpers against NumPy float64; strictness. Numerical agreement of the torch and TF
printers is tested through the exported modules.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import sympy

from symalr import catalog
from symalr.errors import ExportError
from symalr.expr import divide_no_nan, symbol
from symalr.ops import OPERATORS
from symalr.reference import Evaluator
from symalr.render.helpers import PRINTED_HELPERS, helper_source
from symalr.render.hoist import hoist
from symalr.render.lowering import lower
from symalr.render.printers import (
    JaxPrinter,
    NumPyPrinter,
    ScalarPrinter,
    TFPrinter,
    TorchPrinter,
    check_supported,
)
from symalr.render.torch_ops import print_ops

x, y = symbol("x"), symbol("y")
c = symbol("c", positive=True)
NAMES = {"x": "x", "y": "y", "c": "c"}


@pytest.mark.parametrize(
    "expr, torch_text, tf_text, numpy_text",
    [
        (sympy.sqrt(x), "torch.sqrt(x)", "tf.sqrt(x)", "np.sqrt(x)"),
        (x**2, "torch.square(x)", "tf.square(x)", "np.square(x)"),
        (x**c, "torch.pow(x, c)", "tf.pow(x, c)", "np.power(x, c)"),
        (x**3, "torch.pow(x, 3.0)", "tf.pow(x, tf.constant(3.0, dtype))", "np.power(x, 3.0)"),
        (sympy.Abs(x), "torch.abs(x)", "tf.abs(x)", "np.abs(x)"),
        (sympy.sign(x), "_nan_sign(x)", "tf.sign(x)", "np.sign(x)"),
        (x / y, "x/y", "x/y", "x/y"),
        (x / 2, "x/2.0", "x/2.0", "x/2.0"),
        (3 * x / 2, "1.5*x", "1.5*x", "1.5*x"),
        (0.5 / x, "torch.div(0.5, x)", "0.5/x", "0.5/x"),
        (1 / x, "torch.div(1.0, x)", "1.0/x", "1.0/x"),
        (1 / sympy.sqrt(x), "1.0/torch.sqrt(x)", "1.0/tf.sqrt(x)", "1.0/np.sqrt(x)"),
        (x - y, "x - y", "x - y", "x - y"),
        (-x * y, "-x*y", "-x*y", "-x*y"),
        (c * (x + y), "c*(x + y)", "c*(x + y)", "c*(x + y)"),
        (x + sympy.nan, 'float("nan")', 'float("nan")', "np.nan"),
        (x + sympy.sqrt(2), "x + 1.4142135623730951", "x + 1.4142135623730951",
         "x + 1.4142135623730951"),
        (divide_no_nan(x, y), "torch.where(y == 0, 0.0, x/y)",
         "tf.math.divide_no_nan(x, y)", "np.where(y == 0, 0.0, x/np.where(y == 0, 1.0, y))"),
        (divide_no_nan(2, y), "torch.where(y == 0, 0.0, torch.div(2.0, y))",
         "tf.math.divide_no_nan(tf.constant(2.0, dtype), y)",
         "np.where(y == 0, 0.0, 2.0/np.where(y == 0, 1.0, y))"),
    ],
)
def test_mapping_tables(expr, torch_text, tf_text, numpy_text):
    assert TorchPrinter(NAMES).doprint(expr) == torch_text
    assert TFPrinter(NAMES).doprint(expr) == tf_text
    assert NumPyPrinter(NAMES).doprint(expr) == numpy_text


@pytest.mark.parametrize(
    "expr, jax_text",
    [
        (sympy.sqrt(x), "jnp.sqrt(x)"),
        (x**2, "jnp.square(x)"),
        (x**c, "jnp.power(x, c)"),
        (x**3, "jnp.power(x, 3.0)"),
        (sympy.Abs(x), "jnp.abs(x)"),
        (sympy.sign(x), "jnp.sign(x)"),
        (0.5 / x, "0.5/x"),
        (1 / sympy.sqrt(x), "1.0/jnp.sqrt(x)"),
        (c * (x + y), "c*(x + y)"),
        (x + sympy.nan, "jnp.nan"),
        (x - sympy.oo, "-jnp.inf"),
        (divide_no_nan(x, y), "jnp.where(y == 0, 0.0, x/jnp.where(y == 0, 1.0, y))"),
        (divide_no_nan(2, y), "jnp.where(y == 0, 0.0, 2.0/jnp.where(y == 0, 1.0, y))"),
    ],
)
def test_jax_mapping_table(expr, jax_text):
    """Literals stay Python floats (weakly typed in JAX: they take the array's dtype)."""
    p = JaxPrinter(NAMES)
    assert p.doprint(expr) == jax_text
    assert p.imports == {"jnp"} and p.helpers == set()


@pytest.mark.parametrize(
    "expr, text, helpers",
    [
        (1 - c, "1.0 - c", set()),
        (sympy.sqrt(c), "_sqrt(c)", {"_sqrt"}),
        (c**x, "_pow(c, x)", {"_pow"}),
        (x / c, "_div(x, c)", {"_div"}),
        (c**2, "c*c", set()),
        (divide_no_nan(x, y), "_div0(x, y)", {"_div0"}),
        (sympy.sign(x), "_sign(x)", {"_sign"}),
        (x + sympy.nan, "math.nan", set()),
    ],
)
def test_scalar_printer(expr, text, helpers):
    p = ScalarPrinter(NAMES)
    assert p.doprint(expr) == text
    assert p.helpers == helpers


def test_helpers_recorded():
    p = TorchPrinter(NAMES)
    p.doprint(sympy.sign(x) + x)
    assert p.helpers == {"_nan_sign"}


@pytest.mark.parametrize("printer",
                         [TorchPrinter, TFPrinter, JaxPrinter, NumPyPrinter, ScalarPrinter])
def test_strict_unsupported_node(printer):
    with pytest.raises(ExportError, match="unsupported operation 'cos'"):
        printer(NAMES).doprint(sympy.cos(x) + y)


def test_complex_constant_is_an_error():
    with pytest.raises(ExportError, match="unsupported operation 'ImaginaryUnit'"):
        TorchPrinter(NAMES).doprint(x + sympy.sqrt(-2))


def test_unknown_symbol_is_an_error():
    with pytest.raises(ExportError, match="no identifier for symbol 'y'"):
        TorchPrinter({"x": "x"}).doprint(x + y)


# ----------------------------------------------------------------------------- against reference


def _random_expr(rng: np.random.Generator, depth: int) -> sympy.Expr:
    leaves = [x, y, c, sympy.Float("0.0892170603"), sympy.Integer(2), sympy.Rational(1, 2)]
    if depth == 0 or rng.random() < 0.25:
        return leaves[rng.integers(len(leaves))]
    names = sorted(OPERATORS)
    op = OPERATORS[names[rng.integers(len(names))]]
    return op.build(*(_random_expr(rng, depth - 1) for _ in range(op.arity)))


def _in_vocabulary(e: sympy.Expr) -> bool:
    """SymPy may rewrite random nodes (e.g. ``cos``/``atan2`` for some real powers)."""
    try:
        check_supported(e, "test")
    except ExportError:
        return False
    return bool(e.free_symbols)


def _env(rng: np.random.Generator, dtype) -> dict:
    vx = rng.normal(size=64).astype(dtype)
    vy = rng.normal(size=64).astype(dtype)
    vx[:4] = 0.0
    vy[2:6] = 0.0
    return {"x": vx, "y": vy, "c": dtype(0.75)}


def test_numpy_printer_matches_reference_evaluator():
    rng = np.random.default_rng(0)
    ev = Evaluator(np.float32)
    checked = 0
    for _ in range(300):
        e = _random_expr(rng, 4)
        if not _in_vocabulary(e):
            continue
        env = _env(rng, np.float32)
        want = np.broadcast_to(ev(e, env), (64,))
        with np.errstate(all="ignore"):
            got = np.broadcast_to(eval(NumPyPrinter(NAMES).doprint(e), {"np": np}, dict(env)),
                                  (64,))
        assert got.dtype == np.float32, e
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=str(e))
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=0, equal_nan=True, err_msg=str(e))
        checked += 1
    assert checked > 200


def test_jax_printer_matches_reference_evaluator():
    """Same expressions as the NumPy test, evaluated by jax.numpy on float32 arrays: the
    result stays float32 (Python literals do not upcast) and agrees with the reference within
    1e-5 relative, the export suites' bound: XLA's float32 pow differs from NumPy's in the last
    bits, and nested powers amplify that (2.1e-6 seen with jax 0.10.2)."""
    import jax.numpy as jnp  # jax is in the `all` extra CI installs
    rng = np.random.default_rng(0)
    ev = Evaluator(np.float32)
    checked = 0
    for _ in range(300):
        e = _random_expr(rng, 4)
        if not _in_vocabulary(e):
            continue
        env = _env(rng, np.float32)
        want = np.broadcast_to(ev(e, env), (64,))
        jenv = {k: jnp.asarray(v) for k, v in env.items()}
        got = eval(JaxPrinter(NAMES).doprint(e), {"jnp": jnp}, jenv)
        assert got.dtype == np.float32, e
        got = np.broadcast_to(np.asarray(got), (64,))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=str(e))
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=0, equal_nan=True, err_msg=str(e))
        checked += 1
    assert checked > 200


def _helpers_namespace() -> dict:
    ns: dict = {"math": math}
    exec("\n\n".join(helper_source(set(PRINTED_HELPERS) - {"_nan_sign"})), ns)  # as printed
    return ns


def test_scalar_printer_matches_reference_in_float64():
    rng = np.random.default_rng(1)
    ev = Evaluator(np.float64)
    ns = _helpers_namespace()
    checked = 0
    for _ in range(400):
        e = _random_expr(rng, 4)
        if not _in_vocabulary(e):
            continue
        values = {"x": float(rng.normal()), "y": float(rng.choice([0.0, rng.normal()])),
                  "c": 0.75}
        want = float(ev(e, values))
        got = eval(ScalarPrinter(NAMES).doprint(e), ns, dict(values))
        assert isinstance(got, float), e
        if math.isnan(want):
            assert math.isnan(got), e
        else:
            assert got == pytest.approx(want, rel=1e-12, abs=1e-300), e
        checked += 1
    assert checked > 250


@pytest.mark.parametrize(
    "a, b", [(-8.0, 1 / 3), (0.0, -1.0), (-0.0, -1.0), (-0.0, -2.0), (2.0, 2000.0),
             (-2.0, 2001.0), (math.nan, 0.0), (math.inf, -1.0), (0.5, math.inf), (-1.5, 2.0),
             (3.0, 0.5), (1e-300, -2.0)],
)
def test_scalar_helpers_are_ieee(a, b):
    ns = _helpers_namespace()
    with np.errstate(all="ignore"):
        checks = [
            (ns["_pow"](a, b), np.power(np.float64(a), np.float64(b))),
            (ns["_div"](a, b), np.divide(np.float64(a), np.float64(b))),
            (ns["_div"](b, a), np.divide(np.float64(b), np.float64(a))),
            (ns["_sqrt"](a), np.sqrt(np.float64(a))),
            (ns["_sign"](a), np.sign(np.float64(a))),
            (ns["_div0"](a, b), 0.0 if b == 0 else np.float64(a) / np.float64(b)),
        ]
    for got, want in checks:
        assert (math.isnan(got) and math.isnan(want)) or got == want, (a, b, got, want)


def test_render_imports_no_framework():
    code = (
        "import sys\n"
        "from symalr import catalog\n"
        "from symalr.render.tf_module import tf_source\n"
        "from symalr.render.torch_module import torch_source\n"
        "from symalr.render.jax_module import jax_source\n"
        "for s in catalog.all_specs():\n"
        "    torch_source(s); tf_source(s); jax_source(s)\n"
        "bad = [m for m in ('torch', 'tensorflow', 'keras', 'jax', 'optax') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ----------------------------------------------------------------------------- lowering


def _lowering(name):
    spec = catalog.get(name) if isinstance(name, str) else name
    h = hoist(spec)
    ids = {"g": "grad", "w": "param", **{s: s for s in spec.states}}
    names = {"_lr": "lr", "t": "t", **{p.name: p.name for p in spec.hyperparams},
             **{n: n for n, _ in h.scalars}}
    return lower(h, ids, ScalarPrinter(names).doprint)


def _lowered(name: str, mode: str) -> list[str]:
    return print_ops(_lowering(name).ops, mode)


def test_hoisting_names_scalar_subexpressions():
    h = hoist(catalog.get("adam"))
    assert [n for n, _ in h.scalars] == ["_s0", "_s1", "_s2"]
    assert h.scalars[2][1].free_symbols == {symbol(n, positive=True)
                                             for n in ("lr", "beta_1", "beta_2", "t")}
    assert h.used == ("epsilon", "_s0", "_s1", "_s2")


def test_lowering_updates_in_place_with_fused_ops():
    # temporaries are scratch slots, written with out= per tensor; an average of a product
    # is torch's v*(1 - c) + c*g*g, which needs no temporary for g*g
    assert _lowered("adam", "tensor") == [
        "m.lerp_(grad, _s0)",
        "v.mul_(1.0 - _s1)",
        "v.addcmul_(grad, grad, value=_s1)",
        "torch.sqrt(v, out=_t0)",
        "_t0.add_(epsilon)",
        "param.addcdiv_(m, _t0, value=_s2)",
    ]
    # over lists, a write into a slot is per tensor with out= on the CPU (where _foreach
    # operations loop anyway), elsewhere a copy into the slot and the in-place operation
    assert _lowered("ades", "foreach") == [
        "if _cpu:",
        "    for _a, _b, _o in zip(grad, y, _t0):",
        "        torch.add(_a, _b, out=_o)",
        "else:",
        "    torch._foreach_copy_(_t0, grad)",
        "    torch._foreach_add_(_t0, y)",
        "if _cpu:",
        "    for _a, _o in zip(y, _t1):",
        "        torch.add(_a, beta_2, out=_o)",
        "else:",
        "    torch._foreach_copy_(_t1, y)",
        "    torch._foreach_add_(_t1, beta_2)",
        "torch._foreach_mul_(_t0, _t1)",  # y + t0*t1 computed in t0: no third temporary
        "torch._foreach_add_(_t0, y)",
        "torch._foreach_add_(y, _t0, alpha=_s0)",
        "torch._foreach_add_(param, y, alpha=lr)",
    ]
    assert _lowered("nesterov", "foreach")[6:8] == ["    torch._foreach_copy_(_t0, v)",
                                                     "    torch._foreach_mul_(_t0, momentum)"]
    assert _lowered("rmsprop", "tensor")[:2] == ["v.mul_(rho)",
                                                  "v.addcmul_(grad, grad, value=_s0)"]


def test_lowering_copies_only_when_the_old_value_is_read_off_the_spine():
    # ades-eq8 reads y inside y*g after its first in-place op could run: computed aside.
    assert any("copy_" in line for line in _lowered("ades-eq8", "tensor"))
    for name in ("ades", "adam", "rmsprop", "momentum", "nesterov", "sgd", "sign"):
        assert not any("copy_" in line for line in _lowered(name, "tensor")), name


def test_foreach_fallback_runs_per_tensor():
    assert _lowered("sign", "foreach")[:2] == ["for _a, _o in zip(grad, _t0):",
                                               "    _nan_sign_out(_a, _o)"]


def test_a_slot_holding_a_copy_of_an_operand_is_read_for_it():
    from symalr.spec import HyperParam, make_spec

    spec = make_spec("sq", [], "-lr*sqrt(g*g + 1.0)", [HyperParam("lr", 0.1)])
    assert print_ops(_lowering(spec).ops, "foreach")[4:6] == [
        "    torch._foreach_copy_(_t0, grad)", "    torch._foreach_mul_(_t0, _t0)"]


def test_scratch_slots_are_reused_once_dead():
    assert {n: _lowering(n).slots for n in catalog.NAMES} == {
        "ades": 2, "ades-eq8": 1, "sign": 1, "sgd": 0, "momentum": 0, "nesterov": 1,
        "rmsprop": 1, "adam": 1}
