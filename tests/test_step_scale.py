"""Step normalisation (symalr/step_scale.py): every rule is brought to one settled step, so a
rule and its positive multiples are one candidate of the discovery search."""

from __future__ import annotations

import numpy as np
import pytest

from symalr import catalog
from symalr.evolve.seeds import SEEDS
from symalr.fingerprint import probe_deltas
from symalr.pipeline import prepare
from symalr.spec import STEP_SCALE_DOC, make_spec, spec_loads
from symalr.startup import settled_step, step_sizes
from symalr.step_scale import TARGET_STEP, normalised, step_normaliser

SIGN = SEEDS["sign"].text  # weight_func = multiply(9.39055039e-04, sign(y))
SIGN_OTHER_STEP = SIGN.replace("9.39055039e-04", "2.47663801e-01")


@pytest.mark.parametrize("name", ["adam", "sign", "sgd", "momentum", "rmsprop"])
def test_normalised_rules_take_the_target_settled_step(name):
    spec = normalised(catalog.get(name))
    assert settled_step(step_sizes(spec)) == pytest.approx(TARGET_STEP, rel=1e-9)


def test_a_rule_and_its_multiple_share_one_fingerprint_only_when_normalised():
    plain = [prepare(text, strict=True) for text in (SIGN, SIGN_OTHER_STEP)]
    scaled = [prepare(text, strict=True, normalise_step=True) for text in (SIGN, SIGN_OTHER_STEP)]
    assert plain[0].rejection is None and scaled[0].rejection is None
    assert plain[0].fingerprint != plain[1].fingerprint
    assert scaled[0].fingerprint == scaled[1].fingerprint
    # the prepared spec is the rule as trained at x1: its settled step is the target
    spec = spec_loads(scaled[1].spec_json)
    assert settled_step(step_sizes(spec)) == pytest.approx(TARGET_STEP, rel=1e-9)


def test_an_exported_multiplier_multiplies_the_normalising_scale_instead_of_adding_one():
    spec = normalised(catalog.get("sign"))
    exported = spec.with_step_scale(3.0)
    scales = [h for h in exported.hyperparams if h.doc == STEP_SCALE_DOC]
    assert len(scales) == 1 and exported.delta == spec.delta
    assert scales[0].default == pytest.approx(3.0 * step_normaliser(catalog.get("sign")))
    np.testing.assert_allclose(probe_deltas(exported), 3.0 * probe_deltas(spec), rtol=1e-12)


def test_a_rule_whose_step_cannot_be_measured_is_left_as_it_is():
    frozen = make_spec("frozen", [], "0*g")
    assert step_normaliser(frozen) is None and normalised(frozen) is frozen
