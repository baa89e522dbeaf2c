"""Inverse mapping end to end: grammar text -> genotype -> phenotype -> simplified spec."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy

from symalr import catalog
from symalr.fingerprint import fingerprint
from symalr.grammar import load_grammar
from symalr.phenotype import spec_from_phenotype
from symalr.reference import run_reference
from symalr.sge import DEFAULT_MAX_DEPTH, map_genotype, parse_phenotype
from symalr.simplify import simplify

EVOLVED_ADES = (
    "x_func = 4.53978687e-05; "
    "y_func = multiply(0.910782940, add(y, multiply(add(y, 0.0892170603), add(y, grad)))); "
    "z_func = 4.53978687e-05; weight_func = negative(y)"
)


def test_evolved_ades_round_trips_through_the_default_grammar():
    grammar = load_grammar("alr")
    genotype = parse_phenotype(grammar, EVOLVED_ADES)
    again, derivation = map_genotype(grammar, genotype, DEFAULT_MAX_DEPTH)
    assert again == genotype
    assert derivation.depth() <= DEFAULT_MAX_DEPTH
    text = derivation.text()
    assert "9.10782940e-01" in text and "8.92170603e-02" in text

    evolved = simplify(spec_from_phenotype(text))
    ades = catalog.get("ades").with_defaults({"beta_1": 1 - 0.910782940, "beta_2": 0.0892170603})
    assert evolved.states == ("y",)
    b1, b2 = ades.sym("beta_1"), ades.sym("beta_2")
    as_ades = evolved.updates[0][1].xreplace({evolved.sym("beta_1"): 1 - b1,
                                              evolved.sym("beta_2"): b2})
    assert sympy.simplify(as_ades - ades.updates[0][1]) == 0
    assert fingerprint(evolved) == fingerprint(ades)
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=32).astype(np.float32)
    grads = [rng.normal(scale=0.05, size=32).astype(np.float32) for _ in range(20)]
    np.testing.assert_allclose(run_reference(evolved, w0, grads), run_reference(ades, w0, grads),
                               rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("grammar_name", ["alr", "alr-grad"])
def test_momentum_seed_round_trips(grammar_name):
    grammar = load_grammar(grammar_name)
    text = ("x_func = subtract(x, add(multiply(9.10782940e-01, x), grad)); y_func = 4.53978687e-05; "
            "z_func = 4.53978687e-05; weight_func = multiply(8.92170603e-02, x)")
    _, derivation = map_genotype(grammar, parse_phenotype(grammar, text), DEFAULT_MAX_DEPTH)
    spec = simplify(spec_from_phenotype(derivation.text()))
    assert spec.states == ("x",)
    assert fingerprint(spec) == fingerprint(
        catalog.get("momentum").with_defaults({"lr": 0.0892170603, "momentum": 0.91078294}))


def test_simplify_command_reads_a_genotype_file(tmp_path):
    grammar = load_grammar("alr")
    genotype = parse_phenotype(grammar, EVOLVED_ADES)
    f = tmp_path / "ades-genotype.json"
    f.write_text(json.dumps({"grammar": "alr", "genotype": genotype.to_json()}))
    out = subprocess.run([sys.executable, "-m", "symalr.cli", "simplify", str(f), "--json-only"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert [s for s, _ in json.loads(out.stdout)["states"]] == ["y"]

    bad = tmp_path / "bad-genotype.json"
    bad.write_text(json.dumps({"grammar": "alr", "genotype": {"<nope>": [1]}}))
    out = subprocess.run([sys.executable, "-m", "symalr.cli", "simplify", str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "nope" in out.stderr
