"""The start-up burst measure (symalr/startup.py) on catalog optimizers and ALR seeds."""

from __future__ import annotations

import pytest

from symalr import catalog
from symalr.evolve.seeds import SEEDS
from symalr.pipeline import raw_spec, simplified
from symalr.startup import describe_startup, startup_burst


def _seed(name: str):
    return simplified(raw_spec(SEEDS[name].text))


@pytest.mark.parametrize("name", ["sgd", "sign"])
def test_plain_steps_have_no_burst(name):
    assert startup_burst(catalog.get(name)) == pytest.approx(1.0, abs=0.05)


def test_bias_correction_removes_most_of_the_burst():
    adam, rmsprop = startup_burst(catalog.get("adam")), startup_burst(catalog.get("rmsprop"))
    assert 1.0 < adam < 2.0 < 2.5 < rmsprop  # Keras RMSprop: rho 0.9, no correction
    uncorrected = startup_burst(_seed("adam"))  # the grammar's Adam: no step counter
    assert uncorrected > 2 * adam


def test_the_measure_is_deterministic_and_ignores_the_step_scale():
    spec = _seed("rmsprop")
    assert startup_burst(spec) == startup_burst(spec)
    assert startup_burst(spec.with_step_scale(3.0)) == pytest.approx(startup_burst(spec))


def test_unmeasurable_rules_say_so():
    assert startup_burst(catalog.get("ades-eq8")) is None  # NaN within the probe
    assert "not measurable" in describe_startup(catalog.get("ades-eq8"))
    assert "warm-up" in describe_startup(catalog.get("rmsprop"))
    assert "warm-up" not in describe_startup(catalog.get("sign"))
