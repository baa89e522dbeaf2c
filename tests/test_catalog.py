"""Catalog specs and the NumPy reference stepper: hand-computed steps and Keras formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from symalr import catalog
from symalr.errors import UnknownOptimizerError
from symalr.reference import ReferenceStepper, run_reference

G = [0.5, -0.25, 0.125]  # three scalar gradients used by the hand computations


def _steps(name: str, w0: float = 1.0, grads=G, **hyper):
    st = ReferenceStepper(catalog.get(name), np.array([w0], np.float32), hyper=hyper or None)
    return [float(st.step(np.array([g], np.float32))[0]) for g in grads]


def test_catalog_names_and_lookup():
    assert catalog.NAMES == (
        "ades", "ades-eq8", "sign", "sgd", "momentum", "nesterov", "rmsprop", "adam",
    )
    assert catalog.get("ADES_eq8").name == "ades-eq8"
    with pytest.raises(UnknownOptimizerError, match="unknown optimizer 'adamw'"):
        catalog.get("adamw")


def test_ades_hand_computed():
    # y1 = 0 - (1 - b1) * (0 + (0 + b2) * (0 + g1)) = -(1-b1) b2 g1 ; w1 = w0 + y1
    b1, b2 = 0.08922, 0.0891
    y1 = -(1 - b1) * b2 * 0.5
    y2 = y1 - (1 - b1) * (y1 + (y1 + b2) * (y1 - 0.25))
    got = _steps("ades", grads=G[:2])
    assert got == pytest.approx([1 + y1, 1 + y1 + y2], rel=1e-6)


def test_ades_eq8_hand_computed_and_differs_from_code_form():
    b1, b2 = 0.08922, 0.0891
    y1 = -(b2 * 0.5)
    y2 = y1 - (b1 * y1**2 + b2 * y1 * -0.25 + b2 * -0.25)
    assert _steps("ades-eq8", grads=G[:2]) == pytest.approx([1 + y1, 1 + y1 + y2], rel=1e-6)
    assert _steps("ades-eq8", grads=G[:2]) != pytest.approx(_steps("ades", grads=G[:2]))


def test_sign_and_sgd_hand_computed():
    assert _steps("sign") == pytest.approx([1 - 0.0009, 1, 1 - 0.0009], rel=1e-6)
    assert _steps("sgd") == pytest.approx([1 - 0.005, 1 - 0.005 + 0.0025,
                                           1 - 0.005 + 0.0025 - 0.00125], rel=1e-6)


def test_momentum_and_nesterov_hand_computed():
    v1 = -0.01 * 0.5
    v2 = 0.9 * v1 + 0.01 * 0.25
    assert _steps("momentum", grads=G[:2]) == pytest.approx([1 + v1, 1 + v1 + v2], rel=1e-6)
    n1 = 0.9 * v1 - 0.01 * 0.5
    n2 = 0.9 * v2 + 0.01 * 0.25
    assert _steps("nesterov", grads=G[:2]) == pytest.approx([1 + n1, 1 + n1 + n2], rel=1e-6)


def test_rmsprop_and_adam_hand_computed():
    v1 = 0.1 * 0.25
    assert _steps("rmsprop", grads=G[:1]) == pytest.approx(
        [1 - 0.001 * 0.5 / math.sqrt(v1 + 1e-7)], rel=1e-6)
    # Adam, step 1: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001)/0.1 -> update = lr * g/|g| (+eps)
    m1, v1 = 0.1 * 0.5, 0.001 * 0.25
    alpha = 0.001 * math.sqrt(1 - 0.999) / (1 - 0.9)
    assert _steps("adam", grads=G[:1]) == pytest.approx(
        [1 - alpha * m1 / (math.sqrt(v1) + 1e-7)], rel=1e-6)


# -- Keras 3 formulas, written out as Keras' update_step code does them ------------------------

def _keras_reference(name: str, grads, w0, hp):
    w = w0.copy()
    a = np.zeros_like(w)
    b = np.zeros_like(w)
    out = []
    for t, g in enumerate(grads, start=1):
        if name == "sgd":
            w = w - g * hp["lr"]
        elif name == "momentum":
            a = a * hp["momentum"] - g * hp["lr"]
            w = w + a
        elif name == "nesterov":
            a = a * hp["momentum"] - g * hp["lr"]
            w = w + (a * hp["momentum"] - g * hp["lr"])
        elif name == "rmsprop":
            a = hp["rho"] * a + (1 - hp["rho"]) * g * g
            w = w - hp["lr"] * g / np.sqrt(a + hp["epsilon"])
        elif name == "adam":
            alpha = hp["lr"] * np.sqrt(1 - hp["beta_2"] ** t) / (1 - hp["beta_1"] ** t)
            a = a + (g - a) * (1 - hp["beta_1"])
            b = b + (g * g - b) * (1 - hp["beta_2"])
            w = w - a * alpha / (np.sqrt(b) + hp["epsilon"])
        out.append(w.copy())
    return out


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
def test_handmade_match_keras_formulas(name):
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(4, 5))
    grads = [rng.normal(scale=0.1, size=(4, 5)) for _ in range(30)]
    spec = catalog.get(name)
    got = run_reference(spec, w0, grads, dtype=np.float64)
    want = _keras_reference(name, grads, w0, spec.defaults)
    for g, k in zip(got, want):
        np.testing.assert_allclose(g, k, rtol=1e-12, atol=1e-14)


def test_reference_float32_and_nan_semantics():
    from symalr.spec import make_spec

    spec = make_spec("odd", [("x", "x + sqrt(g)"), ("y", "divide_no_nan(g, x)")], "-0.1*y")
    st = ReferenceStepper(spec, np.zeros(3, np.float32))
    w = st.step(np.array([4.0, -1.0, 0.0], np.float32))
    assert w.dtype == np.float32
    assert np.isnan(w[1]) and w[0] == pytest.approx(-0.1 * 4 / 2) and w[2] == 0.0


def test_group_lr_multiplies_delta_without_lr_hyperparameter():
    w0 = np.ones(2, np.float32)
    g = [np.full(2, 0.5, np.float32)]
    base = run_reference(catalog.get("ades"), w0, g)[0] - w0
    half = run_reference(catalog.get("ades"), w0, g, lr=0.5)[0] - w0
    np.testing.assert_allclose(half, 0.5 * base, rtol=1e-6)
    # with an lr hyperparameter, lr= sets it instead
    assert run_reference(catalog.get("sgd"), w0, g, lr=0.1)[0] == pytest.approx(1 - 0.05)
