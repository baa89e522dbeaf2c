"""Frozen value types shared across stages: grammar, genotype, derivation, evaluation result.

Pure data, no behaviour beyond trivial accessors. Imports nothing of ours and no third-party
package (the optimizer spec, which holds SymPy expressions, lives in :mod:`symalr.spec`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- grammar


@dataclass(frozen=True)
class GSymbol:
    """One item of a production: a non-terminal ``<name>`` or a terminal text token.

    ``text`` is the non-terminal's name without angle brackets, or the terminal's text.
    ``line``/``col`` are 1-based positions in the grammar file.
    """

    text: str
    nonterminal: bool
    line: int = 0
    col: int = 0


@dataclass(frozen=True)
class Production:
    """One alternative of a rule: a sequence of symbols."""

    symbols: tuple[GSymbol, ...]
    line: int = 0
    col: int = 0

    @functools.cached_property
    def nonterminals(self) -> tuple[str, ...]:
        """The names of the non-terminal items, in order (computed once)."""
        return tuple(s.text for s in self.symbols if s.nonterminal)


@dataclass(frozen=True)
class Rule:
    """``<name> ::= alt | alt ...``; productions keep their order (their index is the codon)."""

    name: str
    productions: tuple[Production, ...]
    line: int = 0
    col: int = 0


@dataclass(frozen=True)
class Grammar:
    """A parsed and validated grammar.

    ``rules`` keep file order; the first is the start rule. The analysis fields are filled by
    :func:`symalr.grammar.load_grammar`:

    - ``min_depth[nt]``: the smallest derivation-tree depth of ``nt`` (a rule whose alternatives
      are all terminals has depth 1);
    - ``production_min_depth[nt][i]``: the same for alternative ``i`` of ``nt``;
    - ``recursive``: the non-terminals that can derive themselves (directly or indirectly).
    """

    path: str
    rules: tuple[Rule, ...]
    min_depth: Mapping[str, int] = field(default_factory=dict)
    production_min_depth: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    recursive: frozenset[str] = frozenset()

    @property
    def start(self) -> str:
        return self.rules[0].name

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    @property
    def nonterminals(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rules)


# --------------------------------------------------------------------------- SGE


@dataclass(frozen=True)
class Genotype:
    """SGE genotype: for each non-terminal, the production indices it used, in expansion order.

    Immutable; operators return new genotypes. Non-terminals never expanded may be absent.
    """

    genes: Mapping[str, tuple[int, ...]]

    def to_json(self) -> dict[str, list[int]]:
        return {k: list(v) for k, v in sorted(self.genes.items())}


@dataclass(frozen=True)
class Derivation:
    """A derivation tree node: non-terminal ``nt`` expanded with alternative ``choice``.

    ``children`` hold, in production order, a :class:`Derivation` for each non-terminal item
    and the terminal text (``str``) for each terminal item.
    """

    nt: str
    choice: int
    children: tuple[Derivation | str, ...]

    def depth(self) -> int:
        """Levels of the tree: 1 for a node without non-terminal children. Iterative, so a
        tree of any depth is measured without Python recursion."""
        deepest = 0
        stack: list[tuple[Derivation, int]] = [(self, 1)]
        while stack:
            node, level = stack.pop()
            deepest = max(deepest, level)
            stack.extend((c, level + 1) for c in node.children if isinstance(c, Derivation))
        return deepest

    def terminals(self) -> list[str]:
        """The terminal texts, left to right (iterative, like :meth:`depth`)."""
        out: list[str] = []
        stack: list[Derivation | str] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, Derivation):
                stack.extend(reversed(item.children))
            else:
                out.append(item)
        return out

    def text(self) -> str:
        """The phenotype text: terminals joined by spaces, tightened around ``(``, ``)``,
        ``,`` and ``;`` (``add(x, grad); y_func = ...``)."""
        s = " ".join(self.terminals())
        for loose, tight in ((" (", "("), ("( ", "("), (" )", ")"), (" ,", ","), (" ;", ";")):
            s = s.replace(loose, tight)
        return s


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class EvalResult:
    """Outcome of one fitness computation (Algorithm 1).

    ``fitness`` is the minimum accuracy over the evaluations that ran (the floor, 0.0, for a
    statically rejected spec or a contained failure). ``accuracies``/``epochs``/``seconds`` have
    one entry per evaluation that ran. ``error`` is ``None`` or a one-line description.
    ``rejected`` is True when the spec never trained (static rejection). ``details`` holds
    what a task-based fitness measures beyond the number (best multiplier, sensitivity,
    speed, per-task ratios; docs/discovery.md), JSON-ready; empty for Algorithm 1.
    """

    fitness: float
    accuracies: tuple[float, ...] = ()
    epochs: tuple[int, ...] = ()
    seconds: float = 0.0
    error: str | None = None
    rejected: bool = False
    details: Mapping[str, object] = field(default_factory=dict)
