"""Structured Grammatical Evolution: genotypes, mapping, initialisation, operators, engine.

Pure functions over frozen values; all randomness from a ``numpy.random.Generator`` passed in.
Knows nothing of SymPy or torch. Lark is used only by :mod:`symalr.sge.inverse` (text ->
genotype), which is imported on first use of :func:`parse_phenotype`.
"""

from __future__ import annotations

from symalr.sge.engine import (
    DEFAULT_MAX_DEPTH,
    OPERATORS,
    Individual,
    SGEConfig,
    check_against_grammar,
    evaluate_population,
    evolve,
    initial_population,
    next_generation,
)
from symalr.sge.initialise import random_genotype, random_population
from symalr.sge.mapping import MAX_DEPTH, map_genotype, validate_genotype
from symalr.sge.operators import crossover, elite_indices, mutate, tournament

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "MAX_DEPTH",
    "OPERATORS",
    "Individual",
    "SGEConfig",
    "check_against_grammar",
    "crossover",
    "elite_indices",
    "evaluate_population",
    "evolve",
    "initial_population",
    "map_genotype",
    "mutate",
    "next_generation",
    "normalise_numbers",
    "parse_phenotype",
    "random_genotype",
    "random_population",
    "tournament",
    "validate_genotype",
]


def __getattr__(name: str):
    if name in ("parse_phenotype", "normalise_numbers"):
        from symalr.sge import inverse

        return getattr(inverse, name)
    raise AttributeError(f"module 'symalr.sge' has no attribute {name!r}")
