"""SGE genotype-to-derivation mapping with a real maximum tree depth (see docs/grammar.md).

A genotype holds, for each non-terminal, the production indices (codons) it uses, in the order
its occurrences are expanded. Mapping expands the start symbol leftmost, depth first; each
non-terminal consumes the next codon of its own list.

Depth convention (as :meth:`symalr.types.Derivation.depth`): the start node has depth 1. At a
node of depth ``d``, alternative ``i`` of ``nt`` is *allowed* only if
``d - 1 + production_min_depth[nt][i] <= max_depth``, so every started subtree can still finish
inside the limit; indirect recursion is covered because the minimum depths come from the whole
grammar. A codon that is missing, out of range or not allowed at its depth is *repaired*: a
replacement is drawn uniformly from the allowed alternatives with the ``rng`` passed in, or, with
no ``rng``, :class:`~symalr.errors.GenotypeError` is raised.

The per-grammar lookup tables (:class:`GrammarTables`) are shared with initialisation and the
operators of this package; nothing here imports Lark, SymPy or torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from symalr.errors import ConfigError, GenotypeError
from symalr.sge.grammar_cache import per_grammar
from symalr.types import Derivation, Genotype, Grammar

#: The deepest tree any mapping, initialisation or operator builds. The mapper, the grower and
#: the mutation walk recurse once per tree level, so this also bounds their Python recursion
#: (far below the interpreter's limit of 1,000 frames). SGE's default is 17.
MAX_DEPTH = 64

#: A production as the mapper sees it: per symbol, ``(is_nonterminal, text)``.
Symbols = tuple[tuple[bool, str], ...]


@dataclass(frozen=True)
class GrammarTables:
    """Lookup tables of one analysed grammar, built once and cached by :func:`grammar_tables`.

    - ``productions[nt][i]``: the symbols of alternative ``i``;
    - ``children[nt][i]``: the non-terminals of alternative ``i``, in order;
    - ``min_depth[nt][i]``: the grammar's ``production_min_depth``;
    - ``max_depth[nt][i]``: the largest depth alternative ``i`` can reach (``math.inf`` when it
      leads to recursion); ``nt_max_depth[nt]`` the same for the non-terminal;
    - ``leaves[nt][i]``: the (shared, immutable) tree node of an all-terminal alternative, else
      None;
    - ``top[nt]``: the largest minimum depth of ``nt``'s alternatives: any budget from there
      on allows every alternative.

    :meth:`allowed` memoises its answers (at most one per non-terminal and budget up to
    :data:`MAX_DEPTH`), so a chain grammar whose minimum depths run into the thousands costs
    nothing for budgets no mapping asks about.
    """

    grammar: Grammar
    productions: Mapping[str, tuple[Symbols, ...]]
    children: Mapping[str, tuple[tuple[str, ...], ...]]
    min_depth: Mapping[str, tuple[int, ...]]
    max_depth: Mapping[str, tuple[float, ...]]
    nt_max_depth: Mapping[str, float]
    leaves: Mapping[str, tuple[Derivation | None, ...]]
    top: Mapping[str, int]
    _memo: dict[tuple[str, int], tuple[int, ...]] = field(
        default_factory=dict, compare=False, repr=False)

    def allowed(self, nt: str, budget: int) -> tuple[int, ...]:
        """Alternatives of ``nt`` that finish within ``budget`` levels (possibly none), in
        index order."""
        budget = min(budget, self.top[nt])
        key = (nt, budget)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = tuple(
                i for i, d in enumerate(self.min_depth[nt]) if d <= budget)
        return hit


@per_grammar(maxsize=16)
def grammar_tables(grammar: Grammar) -> GrammarTables:
    """The (cached) lookup tables of an analysed grammar.

    Raises ``ValueError`` if the grammar lacks the analysis fields that
    :func:`symalr.grammar.load_grammar` fills in (a programming error, not a user error).
    """
    return _build_tables(grammar)


def _build_tables(grammar: Grammar) -> GrammarTables:
    names = [r.name for r in grammar.rules]
    if not names or any(nt not in grammar.production_min_depth for nt in names):
        raise ValueError("grammar has no depth analysis; load it with symalr.grammar.load_grammar")
    productions = {
        r.name: tuple(tuple((s.nonterminal, s.text) for s in p.symbols) for p in r.productions)
        for r in grammar.rules
    }
    children = {r.name: tuple(p.nonterminals for p in r.productions) for r in grammar.rules}
    min_depth = {nt: tuple(int(d) for d in grammar.production_min_depth[nt]) for nt in names}
    nt_max = _max_depths(children, grammar.recursive)
    max_depth = {
        nt: tuple(1 + max((nt_max[c] for c in kids), default=0) for kids in children[nt])
        for nt in names
    }
    top = {nt: max(min_depth[nt], default=0) for nt in names}
    leaves = {
        nt: tuple(
            None if kids else Derivation(nt, i, tuple(text for _, text in productions[nt][i]))
            for i, kids in enumerate(children[nt])
        )
        for nt in names
    }
    return GrammarTables(
        grammar, productions, children, min_depth, max_depth, nt_max, leaves, top
    )


def _max_depths(
    children: Mapping[str, tuple[tuple[str, ...], ...]], recursive: frozenset[str]
) -> dict[str, float]:
    """Largest derivation depth per non-terminal: infinite if it can reach a recursive one.

    Iterative depth-first post-order (no Python recursion, linear in the grammar's size): the
    non-recursive part of the graph is acyclic, so every child is finished before its parent.
    """
    out: dict[str, float] = {}
    for root in children:
        if root in out:
            continue
        stack = [root]
        while stack:
            nt = stack[-1]
            if nt in out:
                stack.pop()
                continue
            if nt in recursive:
                out[nt] = math.inf
                stack.pop()
                continue
            pending = [c for kids in children[nt] for c in kids if c not in out]
            if pending:
                stack.extend(pending)
                continue
            out[nt] = 1 + max((out[c] for kids in children[nt] for c in kids), default=0)
            stack.pop()
    return out


def pick(rng: np.random.Generator, options: Sequence[int]) -> int:
    """One of ``options``, uniformly, from a single ``rng.random()`` draw (about three times
    cheaper than ``rng.integers``; the bias, ``len(options) / 2**53``, is immaterial)."""
    return options[min(int(rng.random() * len(options)), len(options) - 1)]


def check_max_depth(grammar: Grammar, max_depth: int) -> None:
    """Raise :class:`ConfigError` unless ``max_depth`` is an integer from the grammar's minimum
    tree depth up to :data:`MAX_DEPTH`."""
    need = grammar_tables(grammar).min_depth[grammar.start]
    least = min(need)
    if isinstance(max_depth, bool) or not isinstance(max_depth, Integral):
        raise ConfigError(f"max_depth {max_depth!r}: expected an integer")
    if max_depth < least:
        raise ConfigError(
            f"max_depth {max_depth!r}: grammar {grammar.path} needs a tree depth of at least {least}"
        )
    if max_depth > MAX_DEPTH:
        raise ConfigError(f"max_depth {max_depth!r}: at most {MAX_DEPTH}")


def validate_genotype(grammar: Grammar, genotype: Genotype) -> None:
    """Raise :class:`GenotypeError` for a key that is no non-terminal of the grammar, or a gene
    that is not a sequence of integers. Range and depth are the mapper's business."""
    tables = grammar_tables(grammar)
    if not isinstance(genotype, Genotype):
        raise GenotypeError(f"genotype: expected a Genotype, got {type(genotype).__name__}")
    for nt, gene in genotype.genes.items():
        if nt not in tables.productions:
            raise GenotypeError(f"genotype: <{nt}> is not a non-terminal of {grammar.path}")
        if isinstance(gene, (str, bytes)) or not isinstance(gene, Sequence):
            raise GenotypeError(f"genotype: gene <{nt}> is not a list of production indices")
        for k, codon in enumerate(gene):
            if type(codon) is not int and (
                isinstance(codon, bool) or not isinstance(codon, Integral)
            ):
                raise GenotypeError(f"genotype: codon <{nt}>[{k}] = {codon!r} is not an integer")


def map_genotype(
    grammar: Grammar,
    genotype: Genotype,
    max_depth: int,
    rng: np.random.Generator | None = None,
) -> tuple[Genotype, Derivation]:
    """Map ``genotype`` to its derivation tree, repairing codons with ``rng``.

    Returns ``(used, tree)``: ``used`` is a new genotype holding exactly the codons the mapping
    consumed (repaired ones included, unused trailing codons dropped, non-terminals that were
    never expanded absent), so ``map_genotype(grammar, used, max_depth)`` without an ``rng``
    gives the same tree. ``tree.depth() <= max_depth`` always. The input is never modified.

    Raises :class:`GenotypeError` for unknown non-terminals or non-integer codons, and, when
    ``rng`` is None, for a codon that is missing, out of range or not allowed at its depth.
    Raises :class:`ConfigError` if ``max_depth`` is below the grammar's minimum depth.
    """
    validate_genotype(grammar, genotype)
    check_max_depth(grammar, max_depth)
    tables = grammar_tables(grammar)
    genes = genotype.genes
    productions = tables.productions
    min_depth = tables.min_depth
    allowed_for = tables.allowed
    leaves = tables.leaves
    used: dict[str, list[int]] = {}

    def expand(nt: str, budget: int) -> Derivation:
        # budget = max_depth - depth + 1: the subtree depth still available at this node
        codons = used.get(nt)
        if codons is None:
            codons = used[nt] = []
        gene = genes.get(nt, ())
        pos = len(codons)
        depths = min_depth[nt]
        choice = gene[pos] if pos < len(gene) else -1
        if not (0 <= choice < len(depths) and depths[choice] <= budget):
            if rng is None:
                depth = max_depth - budget + 1
                raise GenotypeError(_repair_reason(tables, nt, gene, pos, depth, max_depth))
            allowed = allowed_for(nt, budget)
            choice = pick(rng, allowed)
        choice = int(choice)
        codons.append(choice)
        leaf = leaves[nt][choice]
        if leaf is not None:
            return leaf
        kids = []
        for is_nt, text in productions[nt][choice]:
            kids.append(expand(text, budget - 1) if is_nt else text)
        return Derivation(nt, choice, tuple(kids))

    tree = expand(grammar.start, max_depth)
    order = [r.name for r in grammar.rules]
    return Genotype({nt: tuple(used[nt]) for nt in order if used.get(nt)}), tree


def _repair_reason(
    tables: GrammarTables, nt: str, gene: Sequence[int], pos: int, depth: int, max_depth: int
) -> str:
    """The one-line message for a codon that would need repair when no rng is given."""
    n = len(tables.productions[nt])
    if pos >= len(gene):
        return f"genotype: gene <{nt}> has {len(gene)} codon(s); the mapping needs codon {pos}"
    codon = gene[pos]
    if not 0 <= codon < n:
        return f"genotype: codon <{nt}>[{pos}] = {codon} is out of range 0..{n - 1}"
    need = depth - 1 + tables.min_depth[nt][codon]
    return (
        f"genotype: codon <{nt}>[{pos}] = {codon} at tree depth {depth} needs depth {need}, "
        f"above max_depth {max_depth}"
    )
