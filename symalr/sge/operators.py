"""SGE variation and selection operators (see docs/grammar.md).

Every function takes the generator explicitly, never modifies its arguments and returns new
values. Genotypes returned by :func:`mutate` and :func:`crossover` are re-mapped (repaired with
the same generator), so they hold exactly the codons their trees use and fit ``max_depth``.

Fitness is maximised. A NaN fitness ranks below every number; ``None`` (not evaluated) is a
programming error here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from symalr.errors import ConfigError
from symalr.sge.mapping import grammar_tables, map_genotype, pick
from symalr.types import Derivation, Genotype, Grammar

#: Mutation probability per expressed codon: one for all non-terminals, or per non-terminal
#: (absent non-terminals are not mutated).
MutationRate = float | Mapping[str, float]


def _rate_table(grammar: Grammar, rate: MutationRate) -> dict[str, float]:
    names = [r.name for r in grammar.rules]
    if isinstance(rate, Mapping):
        unknown = sorted(set(rate) - set(names))
        if unknown:
            raise ConfigError(
                f"mutation rate: <{unknown[0]}> is not a non-terminal of {grammar.path}"
            )
        table = {nt: float(rate.get(nt, 0.0)) for nt in names}
    else:
        table = {nt: float(rate) for nt in names}
    for nt, p in table.items():
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"mutation rate for <{nt}> is {p}; it must lie in [0, 1]")
    return table


def mutate(
    grammar: Grammar,
    genotype: Genotype,
    rate: MutationRate,
    rng: np.random.Generator,
    max_depth: int,
) -> Genotype:
    """Per-expressed-codon mutation.

    The genotype is mapped first (repairing with ``rng`` if needed), so only codons the tree
    actually uses are candidates, each with its depth known. Walking the tree in expansion
    order, each codon of a non-terminal with mutation probability ``p > 0`` and more than one
    alternative draws one uniform number; below ``p`` it is replaced by a different alternative
    allowed at its depth, drawn uniformly (kept if no other is allowed). The result is re-mapped
    with ``rng``: subtrees that now need codons get random ones, unused ones are dropped.
    """
    rates = _rate_table(grammar, rate)
    base, tree = map_genotype(grammar, genotype, max_depth, rng)
    if not any(rates.values()):
        return base
    tables = grammar_tables(grammar)
    genes = {nt: list(codons) for nt, codons in base.genes.items()}
    position: dict[str, int] = {}

    def visit(node: Derivation, depth: int) -> None:
        nt = node.nt
        k = position.get(nt, 0)
        position[nt] = k + 1
        p = rates[nt]
        if p > 0.0 and len(tables.productions[nt]) > 1 and rng.random() < p:
            others = [i for i in tables.allowed(nt, max_depth - depth + 1) if i != node.choice]
            if others:
                genes[nt][k] = pick(rng, others)
        for child in node.children:
            if isinstance(child, Derivation):
                visit(child, depth + 1)

    visit(tree, 1)
    mutated = Genotype({nt: tuple(codons) for nt, codons in genes.items()})
    return map_genotype(grammar, mutated, max_depth, rng)[0]


def crossover(
    grammar: Grammar,
    a: Genotype,
    b: Genotype,
    rng: np.random.Generator,
    max_depth: int,
    rate: float = 1.0,
) -> Genotype:
    """Uniform gene-level crossover.

    One uniform draw decides: below ``rate``, the child takes each non-terminal's whole gene
    list from ``a`` or ``b`` by a fair coin (one draw per non-terminal of the grammar, in rule
    order); otherwise the child is a copy of ``a``. The child is re-mapped with ``rng``.
    """
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"crossover rate is {rate}; it must lie in [0, 1]")
    if rng.random() < rate:
        coins = rng.random(len(grammar.rules)) < 0.5
        genes = {}
        for rule, take_a in zip(grammar.rules, coins):
            source = a if take_a else b
            if rule.name in source.genes:
                genes[rule.name] = tuple(source.genes[rule.name])
        child = Genotype(genes)
    else:
        child = a
    return map_genotype(grammar, child, max_depth, rng)[0]


def _rank_key(fitness: float | None) -> float:
    if fitness is None:
        raise ValueError("selection needs evaluated individuals (fitness is None)")
    value = float(fitness)
    return -math.inf if math.isnan(value) else value


def tournament(fitnesses: Sequence[float], size: int, rng: np.random.Generator) -> int:
    """Tournament selection without replacement: the index of the winner.

    Draws ``min(size, len(fitnesses))`` distinct positions uniformly (one ``rng.choice`` call,
    whose draws do not depend on the fitness values); the highest fitness wins, ties going to
    the lowest position.
    """
    if size < 1 or not fitnesses:
        raise ValueError("tournament needs size >= 1 and a non-empty population")
    entrants = rng.choice(len(fitnesses), size=min(size, len(fitnesses)), replace=False)
    return min((int(i) for i in entrants), key=lambda i: (-_rank_key(fitnesses[i]), i))


def elite_indices(fitnesses: Sequence[float], count: int) -> list[int]:
    """The positions of the ``count`` best individuals, best first (ties: lowest position)."""
    ranked = sorted(range(len(fitnesses)), key=lambda i: (-_rank_key(fitnesses[i]), i))
    return ranked[: max(count, 0)]
