"""The SGE generational loop: initial population, breeding, evaluation callback (see docs/grammar.md).

A generation keeps the ``elitism`` best individuals (with their fitness) and breeds the rest.
Each child has its own generator, seeded from one ``rng.integers`` call per generation; the
child's crossover decision, tournaments, crossover, mutation and repairs all draw from it. So
the main generator advances by the same amount every generation whatever the fitness values
are, and a difference in one child (e.g. a tournament decided by float noise) changes no other
child. Same grammar, config and generator state give the same run.

Fitness is computed outside: ``evaluate`` receives the individuals that have none yet, as one
batch (so the caller may run them in parallel), and returns one float each. Fitness is
maximised; NaN ranks lowest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from symalr.errors import ConfigError
from symalr.settings import bound_error, check_fields, setting, show
from symalr.sge.initialise import random_genotype
from symalr.sge.mapping import MAX_DEPTH, check_max_depth, map_genotype
from symalr.sge.operators import MutationRate, crossover, elite_indices, mutate, tournament
from symalr.types import Genotype, Grammar

#: Provenance labels of :attr:`Individual.operator`. ``copy`` is a tournament winner that went
#: through mutation unchanged.
OPERATORS = ("init", "seed", "elite", "copy", "crossover", "mutation", "crossover+mutation")

#: Default maximum tree depth, as in SGE. Each operator of the ALR grammars costs two levels
#: (``<y_expr>`` -> ``<y_func>``); the evolved ADES individual needs depth 12.
DEFAULT_MAX_DEPTH = 17
#: Largest maximum tree depth accepted anywhere (configs, individual files): far above what the
#: ALR grammars need, and it keeps derivation trees far from Python's recursion limit.
MAX_DEPTH_LIMIT = 64


@dataclass(frozen=True)
class Individual:
    """One member of a population.

    ``genotype`` is the mapped genotype (exactly the codons its tree uses); ``phenotype`` its
    text; ``fitness`` None until evaluated. ``parents`` are positions in the previous
    population and ``operator`` one of :data:`OPERATORS`.
    """

    genotype: Genotype
    phenotype: str
    fitness: float | None = None
    parents: tuple[int, ...] = ()
    operator: str = "init"


#: Most non-terminals a per-non-terminal mutation-rate table may name (the grammar limit,
#: :data:`symalr.grammar.limits.MAX_RULES`; repeated here because this package loads no Lark).
MAX_RATE_TABLE = 50_000


@dataclass(frozen=True)
class SGEConfig:
    """Evolution parameters. Defaults are the paper's Table 1 and SGE's depths; every field
    is declared with its bounds (:func:`symalr.settings.setting`, see docs/inputs.md).

    ``generations`` counts breeding steps after the initial population. ``mutation_rate`` is the
    per-expressed-codon probability, one float or per non-terminal (checked against a grammar by
    :func:`check_against_grammar`). ``min_init_depth`` None means no lower bound at
    initialisation. Besides the per-field bounds: ``tournament_size <= population_size``,
    ``elitism < population_size`` and ``min_init_depth <= max_depth``.
    """

    population_size: int = setting(
        20, low=2, high=10_000,
        why="a generation is held in memory and evaluated as one batch; the paper uses 20")
    generations: int = setting(
        1500, low=0, high=1_000_000, why="each generation is a stored row per individual; "
        "the paper uses 1,500")
    tournament_size: int = setting(5, low=1, high=10_000, why="at most population_size")
    crossover_rate: float = setting(0.9, low=0, high=1, why="a probability")
    mutation_rate: MutationRate = setting(
        0.15, low=0, high=1, max_len=MAX_RATE_TABLE,
        why="a probability, or a table of them per non-terminal of the grammar")
    elitism: int = setting(1, low=0, high=9_999, why="below population_size")
    max_depth: int = setting(
        DEFAULT_MAX_DEPTH, low=1, high=MAX_DEPTH,
        why="SGE's 17 fits the evolved ADES (depth 12); deeper trees only bloat, and the "
        "mapper recurses once per level")
    min_init_depth: int | None = setting(6, low=1, high=MAX_DEPTH, why="at most max_depth")

    def __post_init__(self) -> None:
        check_fields(self, "sge.")
        size = self.population_size
        if self.tournament_size > size:
            raise bound_error("sge.tournament_size", self.tournament_size,
                              f"at most sge.population_size = {size}")
        if self.elitism >= size:
            raise bound_error("sge.elitism", self.elitism,
                              f"below sge.population_size = {size}")
        low = self.min_init_depth
        if low is not None and low > self.max_depth:
            raise bound_error("sge.min_init_depth", low,
                              f"at most sge.max_depth = {self.max_depth}")


def check_against_grammar(config: SGEConfig, grammar: Grammar) -> None:
    """Raise :class:`ConfigError` unless ``config`` fits ``grammar``: ``max_depth`` at least the
    grammar's minimum tree depth, and every key of a mutation-rate table a non-terminal."""
    check_max_depth(grammar, config.max_depth)
    rates = config.mutation_rate
    if isinstance(rates, Mapping):
        names = set(grammar.nonterminals)
        for nt in rates:
            if nt not in names:
                some = ", ".join(grammar.nonterminals[:12])
                more = ", ..." if len(names) > 12 else ""
                raise ConfigError(f"sge.mutation_rate.{show(nt)[1:-1]}: <{show(nt)[1:-1]}> is "
                                  f"not a non-terminal of grammar {grammar.path} "
                                  f"(its non-terminals: {some}{more})")


def _individual(
    grammar: Grammar,
    genotype: Genotype,
    config: SGEConfig,
    operator: str,
    parents: tuple[int, ...] = (),
    rng: np.random.Generator | None = None,
) -> Individual:
    used, tree = map_genotype(grammar, genotype, config.max_depth, rng)
    return Individual(used, tree.text(), None, parents, operator)


def initial_population(
    grammar: Grammar,
    config: SGEConfig,
    rng: np.random.Generator,
    seeds: Sequence[Genotype | str] = (),
) -> list[Individual]:
    """``config.population_size`` unevaluated individuals: the seeds first, then random ones.

    A seed is a genotype or phenotype text in the grammar's language (parsed with
    :func:`symalr.sge.inverse.parse_phenotype`); it must map exactly, without repair, within
    ``max_depth`` (else :class:`~symalr.errors.GenotypeError`).
    """
    check_against_grammar(config, grammar)
    if len(seeds) > config.population_size:
        raise ConfigError(
            f"{len(seeds)} seed individuals do not fit a population of {config.population_size}"
        )
    population = []
    for seed in seeds:
        if isinstance(seed, str):
            from symalr.sge.inverse import parse_phenotype  # Lark only where text is parsed

            seed = parse_phenotype(grammar, seed, config.max_depth)
        population.append(_individual(grammar, seed, config, "seed"))
    while len(population) < config.population_size:
        genotype = random_genotype(grammar, rng, config.max_depth, config.min_init_depth)
        population.append(_individual(grammar, genotype, config, "init"))
    return population


def next_generation(
    grammar: Grammar,
    population: Sequence[Individual],
    config: SGEConfig,
    rng: np.random.Generator,
) -> list[Individual]:
    """Breed the next population from an evaluated one.

    The ``elitism`` best come first, unchanged (fitness kept, operator ``elite``). Each other
    child: with probability ``crossover_rate`` two tournament winners are crossed, else one
    winner is copied; then it is mutated. New children have fitness None.
    Raises ``ValueError`` if some individual has no fitness.
    """
    fitnesses = [ind.fitness for ind in population]
    if any(f is None for f in fitnesses):
        raise ValueError("next_generation needs an evaluated population")
    out = [
        dataclasses.replace(population[i], parents=(i,), operator="elite")
        for i in elite_indices(fitnesses, config.elitism)
    ]
    child_seeds = rng.integers(0, 2**63, size=config.population_size - len(out), dtype=np.int64)
    for seed in child_seeds:
        child_rng = np.random.default_rng(int(seed))
        crossed = child_rng.random() < config.crossover_rate
        if crossed:
            i = tournament(fitnesses, config.tournament_size, child_rng)
            j = tournament(fitnesses, config.tournament_size, child_rng)
            parents: tuple[int, ...] = (i, j)
            bred = crossover(
                grammar,
                population[i].genotype,
                population[j].genotype,
                child_rng,
                config.max_depth,
            )
        else:
            i = tournament(fitnesses, config.tournament_size, child_rng)
            parents = (i,)
            bred = population[i].genotype
        child = mutate(grammar, bred, config.mutation_rate, child_rng, config.max_depth)
        changed = child != bred
        operator = (
            ("crossover+mutation" if changed else "crossover")
            if crossed
            else ("mutation" if changed else "copy")
        )
        out.append(_individual(grammar, child, config, operator, parents))
    return out


def evaluate_population(
    population: Sequence[Individual], evaluate: Callable[[list[Individual]], Sequence[float]]
) -> list[Individual]:
    """Fill in the missing fitness values with one call of ``evaluate`` (skipped if none)."""
    pending = [k for k, ind in enumerate(population) if ind.fitness is None]
    out = list(population)
    if not pending:
        return out
    scores = list(evaluate([population[k] for k in pending]))
    if len(scores) != len(pending):
        raise ValueError(f"evaluate returned {len(scores)} fitness values for {len(pending)}")
    for k, score in zip(pending, scores):
        out[k] = dataclasses.replace(out[k], fitness=float(score))
    return out


def evolve(
    grammar: Grammar,
    config: SGEConfig,
    rng: np.random.Generator,
    evaluate: Callable[[list[Individual]], Sequence[float]],
    seeds: Sequence[Genotype | str] = (),
    on_generation: Callable[[int, list[Individual]], object] | None = None,
) -> list[Individual]:
    """Run ``config.generations`` generations and return the final, evaluated population.

    ``on_generation(g, population)`` is called after each generation is evaluated, for
    ``g = 0`` (the initial population) up to ``config.generations``.
    """
    population = evaluate_population(initial_population(grammar, config, rng, seeds), evaluate)
    if on_generation is not None:
        on_generation(0, population)
    for generation in range(1, config.generations + 1):
        population = next_generation(grammar, population, config, rng)
        population = evaluate_population(population, evaluate)
        if on_generation is not None:
            on_generation(generation, population)
    return population
