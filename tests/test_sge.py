"""SGE: mapping with a real maximum depth, initialisation, operators, engine determinism."""

from __future__ import annotations

import copy
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symalr.errors import ConfigError, GenotypeError
from symalr.grammar import load_grammar, parse_grammar
from symalr.sge import (
    DEFAULT_MAX_DEPTH,
    OPERATORS,
    SGEConfig,
    crossover,
    elite_indices,
    evolve,
    initial_population,
    map_genotype,
    mutate,
    next_generation,
    random_genotype,
    random_population,
    tournament,
)
from symalr.types import Genotype

SHIPPED = ("alr", "alr-grad")

# A binary recursion, a flat grammar and an indirect recursion (a -> b -> a).
BINARY = parse_grammar("<e> ::= add(<e>, <e>) | <t>\n<t> ::= x | grad\n", "binary.bnf")
FLAT = parse_grammar(
    "<s> ::= add(<a>, <b>)\n<a> ::= x | grad | y\n<b> ::= 0.5 | 0.25\n", "flat.bnf"
)
INDIRECT = parse_grammar("<a> ::= negative(<b>) | x\n<b> ::= sqrt(<a>) | y\n", "indirect.bnf")


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def squash(text: str) -> str:
    """Text without whitespace: compares phenotypes whatever Derivation.text()'s spacing."""
    return "".join(text.split())


# --------------------------------------------------------------------------- mapping


def test_mapping_follows_codons_leftmost_depth_first():
    used, tree = map_genotype(BINARY, Genotype({"e": (0, 1, 0, 1, 1), "t": (1, 0, 1)}), 10)
    assert squash(tree.text()) == "add(grad,add(x,grad))"
    assert used == Genotype({"e": (0, 1, 0, 1, 1), "t": (1, 0, 1)})
    assert tree.depth() == 4  # e > e > e > t


def test_mapping_drops_unused_codons_and_never_mutates_input():
    genes = {"e": [1, 0, 0, 1], "t": [0, 1, 1]}
    genotype = Genotype(genes)
    before = copy.deepcopy(genotype)
    used, tree = map_genotype(BINARY, genotype, 10)
    assert squash(tree.text()) == "x"
    assert used == Genotype({"e": (1,), "t": (0,)})
    assert genotype == before and genes == {"e": [1, 0, 0, 1], "t": [0, 1, 1]}


def test_depth_limit_repairs_with_rng_and_fails_without():
    # At depth 2 of max 3, add(<e>, <e>) (minimum depth 3) no longer fits: <e> must take <t>.
    genotype = Genotype({"e": (0, 0, 0), "t": (0, 0, 0, 0)})
    with pytest.raises(GenotypeError, match=r"codon <e>\[1\] = 0 at tree depth 2 needs depth 4"):
        map_genotype(BINARY, genotype, 3)
    used, tree = map_genotype(BINARY, genotype, 3, rng())
    assert squash(tree.text()) == "add(x,x)"
    assert used == Genotype({"e": (0, 1, 1), "t": (0, 0)})
    assert tree.depth() == 3


def test_indirect_recursion_is_bounded():
    # a -> negative(b) -> sqrt(a) -> ...: only the whole grammar's minimum depths stop it.
    genotype = Genotype({"a": (0,) * 10, "b": (0,) * 10})
    for max_depth in range(1, 9):
        used, tree = map_genotype(INDIRECT, genotype, max_depth, rng())
        assert tree.depth() == max_depth
        assert map_genotype(INDIRECT, used, max_depth)[1] == tree
    _, tree = map_genotype(INDIRECT, genotype, 4, rng())
    assert squash(tree.text()) == "negative(sqrt(negative(y)))"


@pytest.mark.parametrize(
    ("genes", "message"),
    [
        ({"nope": (0,)}, r"<nope> is not a non-terminal of binary.bnf"),
        ({"e": (0.5,)}, r"codon <e>\[0\] = 0.5 is not an integer"),
        ({"e": (True,)}, r"codon <e>\[0\] = True is not an integer"),
        ({"e": "01"}, r"gene <e> is not a list"),
        ({"e": (7,)}, r"codon <e>\[0\] = 7 is out of range 0..1"),
        ({"e": (-1,)}, r"codon <e>\[0\] = -1 is out of range 0..1"),
        ({"e": (1,)}, r"gene <t> has 0 codon\(s\); the mapping needs codon 0"),
    ],
)
def test_bad_genotypes_raise_genotype_error(genes, message):
    with pytest.raises(GenotypeError, match=message):
        map_genotype(BINARY, Genotype(genes), 10)


def test_numpy_integer_codons_are_accepted():
    used, tree = map_genotype(BINARY, Genotype({"e": [np.int64(1)], "t": (np.int8(1),)}), 5)
    assert squash(tree.text()) == "grad" and type(used.genes["e"][0]) is int


def test_max_depth_below_grammar_minimum_is_a_config_error():
    with pytest.raises(ConfigError, match="max_depth 1: grammar binary.bnf needs"):
        map_genotype(BINARY, Genotype({}), 1, rng())


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(SHIPPED),
    max_depth=st.integers(3, 20),
    seed=st.integers(0, 2**32 - 1),
    genes=st.dictionaries(
        st.sampled_from(
            [
                "start",
                "x_expr",
                "x_func",
                "x_terminal",
                "x_const",
                "y_expr",
                "y_func",
                "weight_expr",
                "weight_func",
                "weight_terminal",
                "weight_const",
            ]
        ),
        st.lists(st.integers(-3, 120), max_size=30),
    ),
)
def test_random_garbage_genotypes_map_within_depth(name, max_depth, seed, genes):
    grammar = load_grammar(name)
    genotype = Genotype(genes)  # lists: mutable, so a mutation would show
    before = copy.deepcopy(genotype)
    used, tree = map_genotype(grammar, genotype, max_depth, rng(seed))
    assert genotype == before
    assert tree.depth() <= max_depth
    assert map_genotype(grammar, used, max_depth) == (used, tree)
    assert map_genotype(grammar, genotype, max_depth, rng(seed)) == (used, tree)


# --------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("name", SHIPPED)
def test_ten_thousand_random_individuals_fit_depth_bounds(name):
    grammar = load_grammar(name)
    population = random_population(grammar, 10_000, rng(7), DEFAULT_MAX_DEPTH, min_depth=6)
    depths = set()
    for genotype in population:  # checked one by one: keeping 10,000 trees alive wakes the GC
        used, tree = map_genotype(grammar, genotype, DEFAULT_MAX_DEPTH)  # complete: no rng
        assert used == genotype  # exactly the codons used, so re-mapping gives the same tree
        depths.add(tree.depth())
    assert min(depths) == 6 and max(depths) == DEFAULT_MAX_DEPTH
    again = random_population(grammar, 10_000, rng(7), DEFAULT_MAX_DEPTH, min_depth=6)
    assert again == population
    assert random_population(grammar, 50, rng(8), DEFAULT_MAX_DEPTH, 6) != population[:50]


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize(("low", "high"), [(None, 3), (None, 8), (4, 4), (10, 12), (17, 17)])
def test_initialisation_respects_requested_bounds(name, low, high):
    grammar = load_grammar(name)
    depths = []
    generator = rng(low or 0)
    for _ in range(200):
        _, tree = map_genotype(grammar, random_genotype(grammar, generator, high, low), high)
        depths.append(tree.depth())
    assert max(depths) <= high
    assert min(depths) >= (low or 3)


def test_min_depth_above_max_depth_is_a_config_error():
    with pytest.raises(ConfigError, match="min_depth 9 is above max_depth 8"):
        random_genotype(BINARY, rng(), 8, 9)


# --------------------------------------------------------------------------- mutation


def test_mutation_rate_zero_returns_the_genotype_and_draws_nothing():
    grammar = load_grammar("alr")
    genotype = random_genotype(grammar, rng(1), 17, 6)
    generator = rng(2)
    state = generator.bit_generator.state
    assert mutate(grammar, genotype, 0.0, generator, 17) == genotype
    assert mutate(grammar, genotype, {"x_func": 0.0}, generator, 17) == genotype
    assert generator.bit_generator.state == state


def test_mutation_changes_every_expressed_codon_of_the_chosen_nonterminal_only():
    genotype = Genotype({"s": (0,), "a": (1,), "b": (0,)})
    for seed in range(20):
        child = mutate(FLAT, genotype, {"a": 1.0}, rng(seed), 5)
        assert child.genes["a"] != (1,) and child.genes["b"] == (0,) and child.genes["s"] == (0,)


def test_mutation_ignores_unexpressed_codons():
    # Trailing codons the tree does not use are neither mutated nor consume random draws.
    lean = Genotype({"e": (0, 1, 1), "t": (0, 1)})
    padded = Genotype({"e": (0, 1, 1, 0, 0, 0), "t": (0, 1, 1, 1, 0)})
    for seed in range(20):
        assert mutate(BINARY, padded, 0.5, rng(seed), 6) == mutate(BINARY, lean, 0.5, rng(seed), 6)


def test_mutation_per_nonterminal_rates_and_probability():
    grammar = load_grammar("alr")
    genotype = next(  # one with a few constants to mutate
        g
        for g in random_population(grammar, 50, rng(3), 17, 8)
        if len(g.genes.get("x_const", ())) > 2
    )
    changed = total = 0
    for seed in range(200):
        child = mutate(grammar, genotype, {"x_const": 0.5}, rng(seed), 17)
        # Constants are leaves: mutating them changes no structure, so nothing else moves.
        assert {nt: g for nt, g in child.genes.items() if nt != "x_const"} == {
            nt: g for nt, g in genotype.genes.items() if nt != "x_const"
        }
        pairs = list(zip(child.genes["x_const"], genotype.genes["x_const"], strict=True))
        changed += sum(new != old for new, old in pairs)
        total += len(pairs)
    assert 0.4 < changed / total < 0.6
    with pytest.raises(ConfigError, match="<bogus> is not a non-terminal"):
        mutate(grammar, genotype, {"bogus": 0.1}, rng(), 17)
    with pytest.raises(ConfigError, match="must lie in"):
        mutate(grammar, genotype, 1.5, rng(), 17)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(SHIPPED), seed=st.integers(0, 2**32 - 1), rate=st.floats(0, 1))
def test_mutated_and_crossed_children_stay_in_depth(name, seed, rate):
    grammar = load_grammar(name)
    generator = rng(seed)
    a, b = random_population(grammar, 2, generator, 17, 6)
    before = copy.deepcopy((a, b))
    for child in (mutate(grammar, a, rate, generator, 17), crossover(grammar, a, b, generator, 17)):
        used, tree = map_genotype(grammar, child, 17)
        assert used == child and tree.depth() <= 17
    assert (a, b) == before


# --------------------------------------------------------------------------- crossover


def test_crossover_rate_zero_copies_the_first_parent():
    grammar = load_grammar("alr")
    a, b = random_population(grammar, 2, rng(4), 17, 6)
    for seed in range(10):
        assert crossover(grammar, a, b, rng(seed), 17, rate=0.0) == a


def test_crossover_takes_whole_genes_from_either_parent_fairly():
    a = Genotype({"s": (0,), "a": (0,), "b": (0,)})
    b = Genotype({"s": (0,), "a": (2,), "b": (1,)})
    from_a = 0
    for seed in range(400):
        child = crossover(FLAT, a, b, rng(seed), 5)
        assert child.genes["a"] in ((0,), (2,)) and child.genes["b"] in ((0,), (1,))
        from_a += (child.genes["a"] == (0,)) + (child.genes["b"] == (0,))
    assert 0.4 < from_a / 800 < 0.6


# --------------------------------------------------------------------------- selection


def test_tournament_is_without_replacement():
    fitness = [0.1, 0.9, 0.5, 0.9, 0.3]
    for seed in range(100):
        # All five entrants: always the best, ties to the lowest position.
        assert tournament(fitness, 5, rng(seed)) == 1
        # Two distinct entrants: the worst can never win (with replacement it could).
        assert tournament(fitness, 2, rng(seed)) != 0
    assert tournament(fitness, 50, rng()) == 1  # size clipped to the population


def test_tournament_winner_is_best_of_the_drawn_entrants():
    fitness = [0.3, float("nan"), 0.7, 0.2, 0.7, 0.0]
    for seed in range(50):
        entrants = rng(seed).choice(6, size=3, replace=False)
        expected = min(entrants, key=lambda i: (-(-math.inf if i == 1 else fitness[i]), i))
        assert tournament(fitness, 3, rng(seed)) == expected
    with pytest.raises(ValueError):
        tournament([0.5, None], 2, rng())


def test_elite_indices_rank_best_first():
    assert elite_indices([0.2, 0.8, float("nan"), 0.8, 0.5], 3) == [1, 3, 4]
    assert elite_indices([0.2, 0.8], 0) == []


# --------------------------------------------------------------------------- engine


def count_grad(population):
    return [ind.phenotype.count("grad") + 0.001 * len(ind.phenotype) for ind in population]


def small_config(**overrides):
    values = dict(population_size=12, generations=6, tournament_size=3, elitism=2)
    values.update(overrides)
    return SGEConfig(**values)


def test_initial_population_puts_seeds_first():
    grammar = load_grammar("alr")
    seed_text = "x_func = grad; y_func = 4.53978687e-05; z_func = 4.53978687e-05; weight_func = x"
    genotype = random_genotype(grammar, rng(9), 17, 6)
    population = initial_population(grammar, small_config(), rng(), seeds=(seed_text, genotype))
    assert [ind.operator for ind in population[:3]] == ["seed", "seed", "init"]
    assert squash(population[0].phenotype) == squash(seed_text)
    assert population[1].genotype == genotype
    assert len(population) == 12 and all(ind.fitness is None for ind in population)
    with pytest.raises(ConfigError, match="do not fit"):
        initial_population(grammar, small_config(population_size=2, elitism=0, tournament_size=2),
                           rng(), ("x", "y", "z"))


def test_next_generation_keeps_elites_and_records_provenance():
    grammar = load_grammar("alr")
    config = small_config()
    population = initial_population(grammar, config, rng(5))
    scored = [
        type(ind)(ind.genotype, ind.phenotype, f, (), "init")
        for ind, f in zip(population, count_grad(population))
    ]
    children = next_generation(grammar, scored, config, rng(6))
    best = elite_indices([ind.fitness for ind in scored], 2)
    assert [(c.parents, c.operator, c.fitness) for c in children[:2]] == [
        ((i,), "elite", scored[i].fitness) for i in best
    ]
    for child in children[2:]:
        assert child.fitness is None and child.operator in OPERATORS
        assert 1 <= len(child.parents) <= 2 and all(0 <= p < 12 for p in child.parents)
        assert ("crossover" in child.operator) == (len(child.parents) == 2)
        used, tree = map_genotype(grammar, child.genotype, config.max_depth)
        assert used == child.genotype and tree.text() == child.phenotype
    with pytest.raises(ValueError, match="evaluated"):
        next_generation(grammar, population, config, rng())


def run(grammar, config, seed, evaluate):
    history = []
    generator = rng(seed)
    final = evolve(
        grammar, config, generator, evaluate, on_generation=lambda g, p: history.append((g, p))
    )
    return final, history, generator.bit_generator.state


def test_evolution_is_reproducible_and_elitism_never_loses_the_best():
    grammar = load_grammar("alr")
    config = small_config()
    final, history, state = run(grammar, config, 11, count_grad)
    assert [g for g, _ in history] == list(range(7)) and final == history[-1][1]
    assert run(grammar, config, 11, count_grad) == (final, history, state)
    best = [max(ind.fitness for ind in pop) for _, pop in history]
    assert best == sorted(best)
    assert run(grammar, config, 12, count_grad)[0] != final


def generator_states(evaluate) -> list[dict]:
    """The main generator's state after each generation of a small run."""
    generator = rng(3)
    states = []
    evolve(
        load_grammar("alr"),
        small_config(),
        generator,
        evaluate,
        on_generation=lambda g, p: states.append(generator.bit_generator.state["state"]),
    )
    return states


def test_rng_use_per_generation_does_not_depend_on_fitness_values():
    # Different fitness (as float noise would make) picks different parents, yet the main
    # generator advances identically, so the same generator state sequence replays a run.
    by_grad = generator_states(count_grad)
    by_noise = generator_states(lambda pop: [np.sin(len(ind.phenotype) * 1e6) for ind in pop])
    flat = generator_states(lambda pop: [0.5] * len(pop))
    assert len(by_grad) == 7 and by_grad == by_noise == flat


def test_importing_sge_loads_no_parser_or_framework():
    code = "import sys, symalr.sge; print(sorted({'lark', 'sympy', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_evaluate_receives_only_individuals_without_fitness():
    grammar = load_grammar("alr")
    batches = []

    def evaluate(batch):
        batches.append(len(batch))
        return [1.0] * len(batch)

    evolve(grammar, small_config(generations=3), rng(), evaluate)
    assert batches == [12, 10, 10, 10]  # elites keep their fitness
    with pytest.raises(ValueError, match="returned 0 fitness values"):
        evolve(grammar, small_config(), rng(), lambda batch: [])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"population_size": 0}, "population_size"),
        ({"elitism": 12}, "elitism"),
        ({"crossover_rate": 1.5}, "crossover_rate"),
        ({"mutation_rate": {"x_func": -0.1}}, "mutation_rate"),
        ({"min_init_depth": 30}, "min_init_depth"),
        ({"tournament_size": 2.5}, "tournament_size"),
    ],
)
def test_config_rejects_bad_values(overrides, message):
    with pytest.raises(ConfigError, match=message):
        small_config(**overrides)
