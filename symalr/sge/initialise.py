"""Random SGE individuals within depth bounds (grow-style initialisation, docs/grammar.md).

Each node chooses uniformly among the alternatives allowed at its depth (those that can still
finish within ``max_depth``, see :mod:`symalr.sge.mapping`). When a minimum depth is requested,
one path of the tree is forced to reach it: the root carries the requirement, a carrying node
chooses among the allowed alternatives that can reach the missing depth (recursive ones, in
practice), and hands the requirement to one of its children drawn uniformly among those that
can reach it. The rest of the tree grows freely, so the tree has depth at least ``min_depth``
without being full.

The genotype is recorded while growing and holds exactly the codons used, so mapping it without
an rng reproduces the tree. All randomness comes from the generator passed in.
"""

from __future__ import annotations

import numpy as np

from symalr.errors import ConfigError
from symalr.sge.mapping import check_max_depth, grammar_tables, pick
from symalr.types import Genotype, Grammar


def random_genotype(
    grammar: Grammar,
    rng: np.random.Generator,
    max_depth: int,
    min_depth: int | None = None,
) -> Genotype:
    """One random genotype whose tree depth lies in ``[min_depth, max_depth]``.

    ``min_depth`` None (or not above the grammar's own minimum) imposes no lower bound. The lower
    bound is met whenever the grammar can derive a tree of that depth along a recursive path
    (true of the ALR grammars); otherwise the deepest reachable path is grown.
    Raises :class:`ConfigError` for ``min_depth > max_depth`` or a ``max_depth`` below the
    grammar's minimum depth.
    """
    check_max_depth(grammar, max_depth)
    if min_depth is not None and min_depth > max_depth:
        raise ConfigError(f"min_depth {min_depth} is above max_depth {max_depth}")
    target = 0 if min_depth is None else int(min_depth)
    tables = grammar_tables(grammar)
    children = tables.children
    alt_max = tables.max_depth
    nt_max = tables.nt_max_depth
    allowed_for = tables.allowed
    genes: dict[str, list[int]] = {}

    def grow(nt: str, depth: int, carry: bool) -> None:
        allowed = allowed_for(nt, max_depth - depth + 1)
        need = target - depth + 1  # subtree depth still missing below (and at) this node
        carry = carry and need > 1
        if carry:
            deep = tuple(i for i in allowed if alt_max[nt][i] >= need)
            if deep:
                allowed = deep
            else:
                carry = False
        choice = pick(rng, allowed)
        genes.setdefault(nt, []).append(choice)
        kids = children[nt][choice]
        carrier = -1
        if carry:
            able = [k for k, child in enumerate(kids) if nt_max[child] >= need - 1]
            carrier = pick(rng, able)
        for k, child in enumerate(kids):
            grow(child, depth + 1, k == carrier)

    grow(grammar.start, 1, True)
    order = [r.name for r in grammar.rules]
    return Genotype({nt: tuple(genes[nt]) for nt in order if nt in genes})


def random_population(
    grammar: Grammar,
    n: int,
    rng: np.random.Generator,
    max_depth: int,
    min_depth: int | None = None,
) -> list[Genotype]:
    """``n`` genotypes from :func:`random_genotype`, drawn one after the other from ``rng``."""
    return [random_genotype(grammar, rng, max_depth, min_depth) for _ in range(n)]
