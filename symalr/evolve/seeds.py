"""Catalog optimizers written in the ALR grammar's language, for seeding a population (see docs/grammar.md).

ALR's model (see docs/optimizer-model.md): ``x_t = x - f_x``, ``y_t = y - f_y``, ``z_t = z - f_z``,
``w_t = w - f_w`` with ``f_w`` free of the gradient in the default grammar, and constants only
from the grammar's table of 100 values ``sigmoid(linspace(-10, 10, 100))``. The table is
symmetric, ``c[k] + c[99 - k] = 1``, so a decay ``rho`` and its complement ``1 - rho`` are both
exact table entries (``9.10782940e-01`` and ``8.92170603e-02`` sum to 1).

How close each entry is to its catalog namesake (the tests check the ``exact`` ones by
comparing weight updates with the catalog spec evaluated at the table's constants):

============ ======= =====================================================================
name          exact   notes
============ ======= =====================================================================
sgd           yes     x_t = g; w -= lr x_t (lr 0.0105, the table entry nearest 0.01)
momentum      yes     x_t = mu x + g; w -= lr x_t, i.e. Keras' v = -lr x (mu 0.911)
nesterov      yes     as momentum, y_t = g; w -= lr (mu x_t + y_t)
sign          yes     y_t = g; w -= lr y/sqrt(y^2) (divide_no_nan: sign(0) = 0), lr 0.000939
ades          yes     the evolved code form with its evolved constants (0.0892, 0.0892)
ades-eq8      yes     the paper's Equation 8 with the evolved constants
rmsprop       no      x_t = rho x + (1-rho) g^2; w -= lr y/sqrt(x): no epsilon (the table's
                      smallest constant, 4.5e-5, would dominate small averages); lr 0.000939
adam          no      no bias correction (the grammar has no step counter); m and v in x, y;
                      w -= lr x/sqrt(y), no epsilon; beta_2 = 0.99906 (table), lr 0.000939
============ ======= =====================================================================

With the default grammar, the weight function cannot read the gradient, so every rule keeps
the gradient it needs in a state (``y_t = g`` is ``y_func = subtract(y, grad)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from symalr.errors import ConfigError, GenotypeError
from symalr.types import Genotype, Grammar

MU = "9.10782940e-01"  # 0.9 -> table entry 61
ONE_MINUS_MU = "8.92170603e-02"  # its complement, entry 38
LR_SGD = "1.05038445e-02"  # 0.01 -> entry 27
LR_SMALL = "9.39055039e-04"  # 0.001 (and sign's 0.0009) -> entry 15
BETA2 = "9.99060945e-01"  # 0.999 -> entry 84 (complement of LR_SMALL)
ONE_MINUS_BETA2 = LR_SMALL

_NO_Z = "z_func = 4.53978687e-05"  # z unused: it never reaches the weight update
_Y_IS_G = "y_func = subtract(y, grad)"


@dataclass(frozen=True)
class Seed:
    """A phenotype text in the ALR language and whether it equals its catalog namesake at the
    constants it uses (``constants``: catalog hyperparameter -> value used)."""

    text: str
    exact: bool
    constants: dict[str, float]


SEEDS: dict[str, Seed] = {
    "sgd": Seed(
        f"x_func = subtract(x, grad); y_func = y; {_NO_Z}; weight_func = multiply({LR_SGD}, x)",
        True, {"lr": float(LR_SGD)},
    ),
    "momentum": Seed(
        f"x_func = subtract(x, add(multiply({MU}, x), grad)); y_func = y; {_NO_Z};"
        f" weight_func = multiply({LR_SGD}, x)",
        True, {"lr": float(LR_SGD), "momentum": float(MU)},
    ),
    "nesterov": Seed(
        f"x_func = subtract(x, add(multiply({MU}, x), grad)); {_Y_IS_G}; {_NO_Z};"
        f" weight_func = multiply({LR_SGD}, add(multiply({MU}, x), y))",
        True, {"lr": float(LR_SGD), "momentum": float(MU)},
    ),
    "sign": Seed(
        f"x_func = x; {_Y_IS_G}; {_NO_Z};"
        f" weight_func = multiply({LR_SMALL}, divide_no_nan(y, sqrt(square(y))))",
        True, {"lr": float(LR_SMALL)},
    ),
    "ades": Seed(
        f"x_func = x; y_func = multiply({MU}, add(y, multiply(add(y, {ONE_MINUS_MU}),"
        f" add(y, grad)))); {_NO_Z}; weight_func = negative(y)",
        True, {"beta_1": float(ONE_MINUS_MU), "beta_2": float(ONE_MINUS_MU)},
    ),
    "ades-eq8": Seed(
        f"x_func = x; y_func = add(multiply({ONE_MINUS_MU}, square(y)),"
        f" add(multiply({ONE_MINUS_MU}, multiply(y, grad)), multiply({ONE_MINUS_MU}, grad)));"
        f" {_NO_Z}; weight_func = negative(y)",
        True, {"beta_1": float(ONE_MINUS_MU), "beta_2": float(ONE_MINUS_MU)},
    ),
    "rmsprop": Seed(
        f"x_func = subtract(x, add(multiply({MU}, x), multiply({ONE_MINUS_MU}, square(grad))));"
        f" {_Y_IS_G}; {_NO_Z}; weight_func = multiply({LR_SMALL}, divide_no_nan(y, sqrt(x)))",
        False, {"lr": float(LR_SMALL), "rho": float(MU)},
    ),
    "adam": Seed(
        f"x_func = subtract(x, add(multiply({MU}, x), multiply({ONE_MINUS_MU}, grad)));"
        f" y_func = subtract(y, add(multiply({BETA2}, y),"
        f" multiply({ONE_MINUS_BETA2}, square(grad)))); {_NO_Z};"
        f" weight_func = multiply({LR_SMALL}, divide_no_nan(x, sqrt(y)))",
        False, {"lr": float(LR_SMALL), "beta_1": float(MU), "beta_2": float(BETA2)},
    ),
}

NAMES: tuple[str, ...] = tuple(SEEDS)


def seed_genotypes(grammar: Grammar, names: Sequence[str], max_depth: int) -> list[Genotype]:
    """The genotypes of the named seeds in ``grammar`` (inverse mapping), in order.

    Raises :class:`ConfigError` naming ``seed_with`` for an unknown name, and for a seed that
    is not in the grammar's language or deeper than ``max_depth``.
    """
    from symalr.sge.inverse import parse_phenotype  # Lark is needed only here

    out = []
    for name in names:
        key = name.lower().replace("_", "-")
        if key not in SEEDS:
            raise ConfigError(
                f"seed_with: unknown seed optimizer {name!r} (known: {', '.join(NAMES)})"
            )
        try:
            out.append(parse_phenotype(grammar, SEEDS[key].text, max_depth))
        except GenotypeError as err:
            raise ConfigError(f"seed_with: {name!r} does not fit grammar {grammar.path}: {err}"
                              ) from None
    return out


def seed_fingerprints(names: Sequence[str], normalise_step: bool = False) -> dict[str, str]:
    """``fingerprint -> seed name`` for the named seeds: the fingerprint each seed's phenotype
    gets in a search (:func:`symalr.pipeline.prepare`), so a report can say that a ranked rule
    computes exactly what a seed computes (a seed handed back, not a discovery). Unknown names
    are skipped (a stored run's configuration was validated when it started).
    ``normalise_step`` as the run's search (:mod:`symalr.step_scale`)."""
    from symalr.pipeline import prepare

    out: dict[str, str] = {}
    for name in names:
        key = name.lower().replace("_", "-")
        if key in SEEDS:
            out.setdefault(prepare(SEEDS[key].text, normalise_step=normalise_step).fingerprint,
                           key)
    return out
