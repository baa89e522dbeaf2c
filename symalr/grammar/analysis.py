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
import heapq
import math
from collections.abc import Iterable, Iterator, Mapping
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


def components(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of ``graph`` (Tarjan's algorithm, iterative: no Python
    recursion, linear in nodes + edges). Edges to nodes that are not keys are ignored.

    Components come out in reverse topological order: a component's successors come before
    it, so the first one has no edge leaving it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []

    def enter(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)

    for root in graph:
        if root in index:
            continue
        enter(root)
        work: list[tuple[str, Iterator[str]]] = [(root, iter(graph[root]))]
        while work:
            node, edges = work[-1]
            descended = False
            for nxt in edges:
                if nxt not in graph:
                    continue
                if nxt not in index:
                    enter(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    descended = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out


def recursive_nonterminals(grammar: Grammar) -> frozenset[str]:
    """Non-terminals that can derive themselves, directly (``<a> ::= f(<a>)``) or indirectly
    (``<a> ::= f(<b>)``, ``<b> ::= g(<a>)``): those on a cycle of the non-terminal graph, i.e.
    in a strongly connected component of several, or with an edge to themselves."""
    graph = successors(grammar)
    return frozenset(
        nt
        for component in components(graph)
        for nt in component
        if len(component) > 1 or nt in graph[nt]
    )


#: ``(per non-terminal, per alternative)`` minimum depths, as :func:`min_depths` returns them.
MinDepths = tuple[dict[str, float], dict[str, tuple[float, ...]]]


def min_depths(grammar: Grammar) -> MinDepths:
    """Minimum derivation depths (Knuth's generalisation of Dijkstra's algorithm).

    Returns ``(per non-terminal, per alternative)``: an ``int`` where finite, ``math.inf``
    where no finite derivation exists. Non-terminals are settled in increasing depth order
    from a heap: an alternative's depth is known once its last distinct non-terminal is
    settled, and it offers ``1 + max`` to its rule. O((rules + symbols) log rules), whatever
    the shape of the grammar (a chain of rules costs no more than a flat one).
    """
    depth: dict[str, float] = {rule.name: math.inf for rule in grammar.rules}
    heads: list[str] = []
    waiting: list[int] = []  # distinct non-terminals not settled yet, per alternative
    deepest: list[int] = []  # largest settled child depth, per alternative
    users: dict[str, list[int]] = {}
    heap: list[tuple[int, str]] = []
    for rule in grammar.rules:
        for prod in rule.productions:
            alt = len(heads)
            kids = set(prod.nonterminals)
            heads.append(rule.name)
            waiting.append(len(kids))
            deepest.append(0)
            for kid in kids:
                users.setdefault(kid, []).append(alt)
            if not kids:
                heap.append((1, rule.name))
    heapq.heapify(heap)
    settled: set[str] = set()
    while heap:
        d, nt = heapq.heappop(heap)
        if nt in settled:
            continue
        settled.add(nt)
        depth[nt] = d
        for alt in users.get(nt, ()):
            waiting[alt] -= 1
            deepest[alt] = max(deepest[alt], d)
            if waiting[alt] == 0 and heads[alt] not in settled:
                heapq.heappush(heap, (1 + deepest[alt], heads[alt]))
    per_alt = {
        rule.name: tuple(
            1 + max((depth.get(nt, math.inf) for nt in p.nonterminals), default=0)
            for p in rule.productions
        )
        for rule in grammar.rules
    }
    return depth, per_alt


def unfinishable_cores(grammar: Grammar, depth: Mapping[str, float]) -> list[list[str]]:
    """The causes of infinite minimum depths: groups of non-terminals every alternative of
    which needs a member of the same group again (strongly connected components of the
    infinite non-terminals with no edge to another infinite one). Every non-terminal without
    a finite derivation reaches one of them; giving one member of each group a finishing
    alternative makes the grammar finite. Members keep file order; groups are in file order
    of their first member."""
    infinite = {nt for nt, d in depth.items() if d == math.inf}
    graph = {nt: {c for c in out if c in infinite}
             for nt, out in successors(grammar).items() if nt in infinite}
    owner: dict[str, int] = {}
    groups = components(graph)
    for k, group in enumerate(groups):
        for nt in group:
            owner[nt] = k
    order = {rule.name: i for i, rule in enumerate(grammar.rules)}
    cores = [
        sorted(group, key=order.__getitem__)
        for k, group in enumerate(groups)
        if all(owner[c] == k for nt in group for c in graph[nt])
    ]
    return sorted(cores, key=lambda group: order[group[0]])


def analyse(grammar: Grammar, depths: MinDepths | None = None) -> Grammar:
    """A copy of a *validated* grammar with ``min_depth``, ``production_min_depth`` and
    ``recursive`` filled in (read-only mappings, int depths). ``depths``: the grammar's
    :func:`min_depths` when already computed (validation computes them).

    Raises ``ValueError`` if some non-terminal has no finite derivation — validation reports
    that to users first, so reaching it here is a bug.
    """
    depth, per_alt = depths if depths is not None else min_depths(grammar)
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
