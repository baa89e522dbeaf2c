"""The catalog: published and hand-made optimizers as specs (see docs/optimizer-model.md).

One flat table, :data:`CATALOG`, drives the numerical test suites of every backend. The
hand-made entries follow the Keras 3 formulations (which the paper used): epsilon 1e-7,
RMSprop divides by ``sqrt(v + eps)``, Adam by ``sqrt(v) + eps`` with bias correction folded
into the step size, SGD momentum/Nesterov in Keras' velocity form.
"""

from __future__ import annotations

from .errors import UnknownOptimizerError
from .spec import HyperParam, OptimizerSpec, make_spec

_LR = dict(low=0.0, high=1.0, latex=r"\eta", doc="learning rate")
_EPS = dict(low=0.0, high=1.0, tunable=False, latex=r"\epsilon", doc="numerical stability term")


def _ades() -> OptimizerSpec:
    return make_spec(
        "ades",
        [("y", "y - (1 - beta_1)*(y + (y + beta_2)*(y + g))")],
        "y",
        [
            HyperParam("beta_1", 0.08922, latex=r"\beta_1"),
            HyperParam("beta_2", 0.0891, latex=r"\beta_2"),
        ],
        doc=(
            "ADES (Adaptive Evolutionary Squared), the form the authors' released code ran to "
            "produce the paper's Tables 2 and 3. Evolved values beta_1=0.08922, beta_2=0.0891; "
            "tuned on Fashion-MNIST (0.87621, 0.76132), on CIFAR-10 (0.92226, 0.69285)."
        ),
    )


def _ades_eq8() -> OptimizerSpec:
    return make_spec(
        "ades-eq8",
        [("y", "y - (beta_1*y**2 + beta_2*y*g + beta_2*g)")],
        "y",
        [
            HyperParam("beta_1", 0.08922, latex=r"\beta_1"),
            HyperParam("beta_2", 0.0891, latex=r"\beta_2"),
        ],
        doc=(
            "ADES as printed in the paper's Equation 8. A different function from the code form "
            "(`ades`): with the paper's tuned values (0.87621, 0.76132) it turns NaN within the "
            "first epoch of mnist_cnn on Fashion-MNIST; with the evolved defaults it trains."
        ),
    )


def _sign() -> OptimizerSpec:
    return make_spec(
        "sign",
        [],
        "-lr*sign(g)",
        [HyperParam("lr", 0.0009, **_LR)],
        doc="Sign optimizer (paper Eq. 7), evolved lr = 0.0009 (CIFAR-10 trials used 0.000502).",
    )


def _sgd() -> OptimizerSpec:
    return make_spec(
        "sgd", [], "-lr*g", [HyperParam("lr", 0.01, **_LR)],
        doc="Plain stochastic gradient descent (keras.optimizers.SGD).",
    )


def _momentum() -> OptimizerSpec:
    return make_spec(
        "momentum",
        [("v", "momentum*v - lr*g")],
        "v",
        [HyperParam("lr", 0.01, **_LR),
         HyperParam("momentum", 0.9, latex=r"\mu", doc="momentum")],
        doc="SGD with momentum, Keras velocity form (keras.optimizers.SGD(momentum=...)).",
    )


def _nesterov() -> OptimizerSpec:
    return make_spec(
        "nesterov",
        [("v", "momentum*v - lr*g")],
        "momentum*v - lr*g",
        [HyperParam("lr", 0.01, **_LR),
         HyperParam("momentum", 0.9, latex=r"\mu", doc="momentum")],
        doc="Nesterov momentum, Keras form (keras.optimizers.SGD(momentum=..., nesterov=True)).",
    )


def _rmsprop() -> OptimizerSpec:
    return make_spec(
        "rmsprop",
        [("v", "rho*v + (1 - rho)*g**2")],
        "-lr*g/sqrt(v + epsilon)",
        [HyperParam("lr", 0.001, **_LR),
         HyperParam("rho", 0.9, latex=r"\rho", doc="decay of the squared-gradient average"),
         HyperParam("epsilon", 1e-7, **_EPS)],
        doc="RMSprop, Keras 3 form (epsilon inside the square root).",
    )


def _adam() -> OptimizerSpec:
    return make_spec(
        "adam",
        [("m", "m + (g - m)*(1 - beta_1)"), ("v", "v + (g**2 - v)*(1 - beta_2)")],
        "-lr*sqrt(1 - beta_2**t)/(1 - beta_1**t)*m/(sqrt(v) + epsilon)",
        [HyperParam("lr", 0.001, **_LR),
         HyperParam("beta_1", 0.9, latex=r"\beta_1", doc="decay of the gradient average"),
         HyperParam("beta_2", 0.999, latex=r"\beta_2", doc="decay of the squared-gradient average"),
         HyperParam("epsilon", 1e-7, **_EPS)],
        uses_step=True,
        doc="Adam with bias correction, Keras 3 form (epsilon outside the square root, 1e-7).",
    )


_BUILDERS = {
    "ades": _ades,
    "ades-eq8": _ades_eq8,
    "sign": _sign,
    "sgd": _sgd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "rmsprop": _rmsprop,
    "adam": _adam,
}

#: Catalog names in display order.
NAMES: tuple[str, ...] = tuple(_BUILDERS)

_CACHE: dict[str, OptimizerSpec] = {}


def get(name: str) -> OptimizerSpec:
    """The catalog spec called ``name`` (case-insensitive; ``_`` and ``-`` are the same)."""
    key = name.lower().replace("_", "-")
    if key not in _BUILDERS:
        raise UnknownOptimizerError(
            f"unknown optimizer {name!r} (catalog: {', '.join(NAMES)}; or give a spec .json file)"
        )
    if key not in _CACHE:
        _CACHE[key] = _BUILDERS[key]()
    return _CACHE[key]


def all_specs() -> list[OptimizerSpec]:
    return [get(n) for n in NAMES]
