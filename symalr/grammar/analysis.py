"""Static analysis of a grammar's non-terminal graph: reachability, minimum depths, recursion.

Depth convention (the same as :meth:`symalr.types.Derivation.depth`): an alternative made only
of terminals has depth 1; an alternative's depth is ``1 + max(min_depth(nt))`` over its
non-terminals; a non-terminal's minimum depth is the smallest depth of its alternatives. A
non-terminal that cannot finish (every alternative needs itself, directly or indirectly) has
depth ``math.inf``; :mod:`symalr.grammar.validate` turns that into an error, so a validated
grammar has only finite depths.

Everything here is a pure function of a :class:`~symalr.types.Grammar`; nothing is mutated.
Undefined non-terminals (possible only before validation) count as having no derivation.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from typing import TypeVar

from symalr.types import Grammar

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V]):
    """A read-only, hashable, picklable mapping (the analysis fields of a shared Grammar).

    ``types.MappingProxyType`` would be read-only too, but it cannot be pickled, and grammars
    travel to worker processes.
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[K, V] | None = None):
        object.__setattr__(self, "_data", dict(data or {}))
        object.__setattr__(self, "_hash", None)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(frozenset(self._data.items())))
        return self._hash

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("FrozenMap is immutable")

    def __reduce__(self):
        return (FrozenMap, (self._data,))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def successors(grammar: Grammar) -> dict[str, set[str]]:
    """Non-terminal graph: ``nt`` -> the non-terminals used in any of its alternatives.

    With duplicate definitions (invalid grammars only) the alternatives are merged.
    """
    graph: dict[str, set[str]] = {}
    for rule in grammar.rules:
        out = graph.setdefault(rule.name, set())
        for prod in rule.productions:
            out.update(prod.nonterminals)
    return graph


def _reach(graph: Mapping[str, set[str]], roots: set[str]) -> set[str]:
    """All nodes reachable from ``roots`` (the roots included)."""
    seen = set(roots)
    todo = list(roots)
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def reachable(grammar: Grammar) -> set[str]:
    """Non-terminals reachable from the start symbol (the start included)."""
    if not grammar.rules:
        return set()
    return _reach(successors(grammar), {grammar.start})


def recursive_nonterminals(grammar: Grammar) -> frozenset[str]:
    """Non-terminals that can derive themselves, directly (``<a> ::= f(<a>)``) or indirectly
    (``<a> ::= f(<b>)``, ``<b> ::= g(<a>)``): ``nt`` is recursive iff it is reachable from one
    of its own successors, i.e. it lies on a cycle of the non-terminal graph."""
    graph = successors(grammar)
    return frozenset(nt for nt, out in graph.items() if nt in _reach(graph, set(out)))


def min_depths(
    grammar: Grammar,
) -> tuple[dict[str, float], dict[str, tuple[float, ...]]]:
    """Minimum derivation depths by fixpoint iteration.

    Returns ``(per non-terminal, per alternative)``: an ``int`` where finite, ``math.inf``
    where no finite derivation exists. Each sweep can only lower depths, so the iteration
    stops, after at most ``len(rules) + 1`` sweeps.
    """
    depth: dict[str, float] = {rule.name: math.inf for rule in grammar.rules}

    def alt_depth(nts: tuple[str, ...]) -> float:
        return 1 + max((depth.get(nt, math.inf) for nt in nts), default=0)

    changed = True
    while changed:
        changed = False
        for rule in grammar.rules:
            best = min(
                (alt_depth(p.nonterminals) for p in rule.productions), default=math.inf
            )
            if best < depth[rule.name]:
                depth[rule.name] = best
                changed = True
    per_alt = {
        rule.name: tuple(alt_depth(p.nonterminals) for p in rule.productions)
        for rule in grammar.rules
    }
    return depth, per_alt


def analyse(grammar: Grammar) -> Grammar:
    """A copy of a *validated* grammar with ``min_depth``, ``production_min_depth`` and
    ``recursive`` filled in (read-only mappings, int depths).

    Raises ``ValueError`` if some non-terminal has no finite derivation — validation reports
    that to users first, so reaching it here is a bug.
    """
    depth, per_alt = min_depths(grammar)
    infinite = sorted(nt for nt, d in depth.items() if d == math.inf)
    if infinite:
        raise ValueError(
            f"analyse() on an unvalidated grammar: no finite derivation for {infinite}"
        )
    return dataclasses.replace(
        grammar,
        min_depth=FrozenMap({nt: int(d) for nt, d in depth.items()}),
        production_min_depth=FrozenMap(
            {nt: tuple(int(d) for d in ds) for nt, ds in per_alt.items()}
        ),
        recursive=recursive_nonterminals(grammar),
    )
