"""The start-up burst measure (symalr/startup.py) on catalog optimizers and ALR seeds, and the
discovery search's screen on it (symalr/screen.py)."""

from __future__ import annotations

import pytest

from symalr import catalog
from symalr.evolve.seeds import SEEDS
from symalr.pipeline import raw_spec, simplified
from symalr.screen import static_rejection
from symalr.startup import MAX_STARTUP_BURST, describe_startup, startup_burst


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


def _fast_adam_form():
    """The grammar's Adam (no bias correction) with a first moment of rate 0.53, not 0.09: its
    first step is 0.53 / sqrt(0.00094), about 17 times a unit step."""
    text = SEEDS["adam"].text.replace(
        "multiply(9.10782940e-01, x), multiply(8.92170603e-02, grad)",
        "multiply(4.74768924e-01, x), multiply(5.25231076e-01, grad)")
    assert text != SEEDS["adam"].text
    return simplified(raw_spec(text))


def test_the_strict_screens_reject_rules_that_need_a_warm_up():
    slow = _fast_adam_form()
    assert startup_burst(slow) > 2 * MAX_STARTUP_BURST
    reason = static_rejection(slow, strict=True)
    assert reason is not None and "start-up burst" in reason
    assert static_rejection(slow) is None  # Algorithm 1's screens are unchanged
    assert static_rejection(slow, strict=True, startup=False) is None
    assert "warm-up" in describe_startup(slow)


@pytest.mark.parametrize("name", ["adam", "sign", "sgd", "momentum", "ades"])
def test_the_start_up_screen_passes_rules_that_need_no_warm_up(name):
    assert startup_burst(catalog.get(name)) <= MAX_STARTUP_BURST
    assert static_rejection(catalog.get(name), strict=True) is None
