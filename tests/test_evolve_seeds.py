"""Seeding: catalog optimizers written in the ALR language map back to genotypes (see docs/grammar.md)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from symalr import catalog
from symalr.errors import ConfigError
from symalr.evolve.seeds import NAMES, SEEDS, seed_genotypes
from symalr.fingerprint import probe_deltas
from symalr.grammar import DEFAULT_GRAMMAR, load_grammar
from symalr.phenotype import spec_from_phenotype
from symalr.screen import static_rejection
from symalr.sge import DEFAULT_MAX_DEPTH, SGEConfig, initial_population, map_genotype
from symalr.simplify import simplify


def _seed_spec(grammar, name):
    (genotype,) = seed_genotypes(grammar, [name], DEFAULT_MAX_DEPTH)
    _, tree = map_genotype(grammar, genotype, DEFAULT_MAX_DEPTH)
    assert tree.depth() <= DEFAULT_MAX_DEPTH
    return simplify(spec_from_phenotype(tree.text()))


def _catalog_at(name):
    spec = catalog.get(name)
    values = {k: v for k, v in SEEDS[name].constants.items()}
    hps = tuple(dataclasses.replace(h, default=values.get(h.name, h.default))
                for h in spec.hyperparams)
    return dataclasses.replace(spec, hyperparams=hps)


def test_every_catalog_optimizer_has_a_seed():
    assert set(NAMES) == set(catalog.NAMES)


@pytest.mark.parametrize("grammar_name", [DEFAULT_GRAMMAR, "alr-grad", "alr-blocks"])
@pytest.mark.parametrize("name", NAMES)
def test_seed_matches_its_namesake_where_exact(grammar_name, name):
    spec = _seed_spec(load_grammar(grammar_name), name)
    assert static_rejection(spec) is None
    ours, theirs = probe_deltas(spec), probe_deltas(_catalog_at(name))
    same = np.allclose(ours, theirs, rtol=1e-5, atol=1e-12)
    assert same == SEEDS[name].exact


def test_seeded_population_starts_with_the_seeds():
    grammar = load_grammar(DEFAULT_GRAMMAR)
    seeds = seed_genotypes(grammar, ["momentum", "ADAM"], DEFAULT_MAX_DEPTH)
    config = SGEConfig(population_size=5, generations=1)
    population = initial_population(grammar, config, np.random.default_rng(0), seeds)
    assert [p.operator for p in population] == ["seed", "seed", "init", "init", "init"]
    assert "multiply(9.10782940e-01, x)" in population[0].phenotype


def test_unknown_or_misfit_seeds_are_config_errors(tmp_path):
    grammar = load_grammar(DEFAULT_GRAMMAR)
    with pytest.raises(ConfigError, match="seed_with: unknown seed optimizer 'adamw'"):
        seed_genotypes(grammar, ["adamw"], DEFAULT_MAX_DEPTH)
    with pytest.raises(ConfigError, match="seed_with: 'ades' does not fit"):
        seed_genotypes(grammar, ["ades"], 8)


def test_seed_fingerprints_name_exactly_the_seeds_as_a_search_maps_them():
    """A report marks a ranked rule computing what a seed computes: the fingerprint of a seed's
    genotype, mapped as a search maps it, is the one seed_fingerprints gives, and no other
    seed's; an altered constant is not marked."""
    from symalr.evolve.seeds import seed_fingerprints
    from symalr.pipeline import prepare

    grammar = load_grammar(DEFAULT_GRAMMAR)
    marks = seed_fingerprints(["momentum", "adam", "sign"])
    assert sorted(marks.values()) == ["adam", "momentum", "sign"]
    (genotype,) = seed_genotypes(grammar, ["adam"], DEFAULT_MAX_DEPTH)
    _, tree = map_genotype(grammar, genotype, DEFAULT_MAX_DEPTH)
    assert marks[prepare(tree.text()).fingerprint] == "adam"
    altered = SEEDS["momentum"].text.replace("9.10782940e-01", "8.80797078e-01")
    assert prepare(altered).fingerprint not in marks
