"""Inverse mapping: phenotype text in a grammar's language -> SGE genotype (see docs/grammar.md).

The grammar itself becomes a Lark grammar: one Lark rule per non-terminal (renamed ``n<k>``, as
non-terminal names may hold characters Lark rejects), one aliased alternative per production
(``n<k>_<i>``), terminal text split into language tokens and written as string literals,
whitespace ignored, parsed with Earley over Lark's basic lexer (the language has no tokens
that must be told apart by context). Walking the parse tree in expansion order collects each
non-terminal's production indices: the genotype.

Constant tables are folded: productions that are one number each (and whose number appears in
no other kind of production) become one Lark terminal per group of non-terminals sharing them,
and the token picks the production index. The ALR tables (100 constants per function) would
otherwise dominate Earley's work.

Ambiguity is resolved towards the lowest production index: identical alternatives (``grad |
grad``, ``add`` listed twice, a repeated constant) are emitted once, under the first index, and
where a text has structurally different derivations (a constant as ``<x_func>`` or as
``<x_terminal>``) Lark's resolution prefers, at the topmost point where they differ, the
alternative listed first.

Numbers: a numeric token of the text that equals, to 9 significant digits, a numeric token of
the grammar is replaced by the grammar's spelling (``0.910782940`` -> ``9.10782940e-01``) before
parsing; error positions refer to the original text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from lark import Lark, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from symalr import language
from symalr.errors import GenotypeError
from symalr.sge.grammar_cache import per_grammar
from symalr.types import Genotype, Grammar

_NUMBER = language.NUMBER
# A numeric token of the phenotype: not glued to an identifier or another number.
_TEXT_NUMBER = re.compile(rf"(?<![A-Za-z_0-9.]){_NUMBER}(?![A-Za-z_0-9.])")


def _tokens(text: str) -> list[str]:
    """Split terminal text into the language's tokens (:func:`symalr.language.tokens`)."""
    return [tok.text for tok in language.tokens(text)]


_number_key = language.number_key


@dataclass(frozen=True)
class _Parser:
    """A grammar's Lark parser plus what is needed to read its trees back."""

    grammar: Grammar
    lark: Lark
    # Lark alias -> (non-terminal, production index), or for a constant class
    # (non-terminal, {spelling: production index})
    aliases: Mapping[str, tuple[str, int | Mapping[str, int]]]
    numbers: Mapping[str, str]  # 9-digit key -> the grammar's spelling of that number


@per_grammar(maxsize=8)
def _parser(grammar: Grammar) -> _Parser:
    """The cached parser of ``grammar`` (keyed by identity, like the mapping tables)."""
    return _build_parser(grammar)


_Item = tuple[bool, str]  # (is a non-terminal, name or language token)


def _spelled(grammar: Grammar) -> list[tuple[str, int, list[_Item]]]:
    """Each production as ``(non-terminal, index, items)``, terminal text split into tokens."""
    out = []
    for rule in grammar.rules:
        for i, production in enumerate(rule.productions):
            items: list[_Item] = []
            for symbol in production.symbols:
                if symbol.nonterminal:
                    items.append((True, symbol.text))
                else:
                    items.extend((False, token) for token in _tokens(symbol.text))
            out.append((rule.name, i, items))
    return out


def _is_number(item: _Item) -> bool:
    return not item[0] and re.fullmatch(_NUMBER, item[1]) is not None


def _constant_classes(spelled: list[tuple[str, int, list[_Item]]]) -> dict[str, int]:
    """Spelling -> class number, for numbers that make up a whole production on their own and
    appear in no other production. Spellings used by the same set of non-terminals share a
    class; each class becomes one Lark terminal, so a table of 100 constants costs the Earley
    parser one alternative instead of 100. The classes' spellings are disjoint."""
    nts_of: dict[str, set[str]] = {}
    mixed: set[str] = set()
    for nt, _, items in spelled:
        if len(items) == 1 and _is_number(items[0]):
            nts_of.setdefault(items[0][1], set()).add(nt)
        else:
            mixed.update(text for is_nt, text in items if _is_number((is_nt, text)))
    class_of_set: dict[frozenset[str], int] = {}
    return {
        spelling: class_of_set.setdefault(frozenset(nts), len(class_of_set))
        for spelling, nts in nts_of.items()
        if spelling not in mixed
    }


def _build_parser(grammar: Grammar) -> _Parser:
    rule_names = {rule.name: f"n{k}" for k, rule in enumerate(grammar.rules)}
    spelled = _spelled(grammar)
    classes = _constant_classes(spelled)
    aliases: dict[str, tuple[str, int | dict[str, int]]] = {}
    numbers: dict[str, str] = {}
    alternatives: dict[str, list[str]] = {rule.name: [] for rule in grammar.rules}
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for nt, i, items in spelled:
        for item in items:
            if _is_number(item):
                numbers.setdefault(_number_key(item[1]), item[1])
        if len(items) == 1 and not items[0][0] and items[0][1] in classes:
            terminal = f"CONST{classes[items[0][1]]}"
            alias = f"{rule_names[nt]}_{terminal.lower()}"
            table = aliases.setdefault(alias, (nt, {}))[1]
            table.setdefault(items[0][1], i)  # duplicates: the lowest index
            lark_items: tuple[str, ...] = (terminal,)
        else:
            alias = f"{rule_names[nt]}_{i}"
            lark_items = tuple(rule_names[t] if is_nt else json.dumps(t) for is_nt, t in items)
            aliases[alias] = (nt, i)
        if (nt, lark_items) in seen:  # a duplicate alternative: the first index stands for it
            continue
        seen.add((nt, lark_items))
        alternatives[nt].append(f"{' '.join(lark_items)} -> {alias}")
    lines = [f"{rule_names[nt]}: " + "\n    | ".join(alts) for nt, alts in alternatives.items()]
    for k in sorted(set(classes.values())):
        members = sorted((t for t, c in classes.items() if c == k), key=len, reverse=True)
        pattern = "|".join(re.escape(t) for t in members)
        lines.append(f"CONST{k}: /(?:{pattern})(?![0-9A-Za-z_.])/")
    source = "\n".join(lines) + "\n%import common.WS\n%ignore WS\n"
    lark = Lark(
        source, start=rule_names[grammar.start], parser="earley", lexer="basic", ambiguity="resolve"
    )
    return _Parser(grammar, lark, aliases, numbers)


def normalise_numbers(grammar: Grammar, text: str) -> str:
    """``text`` with each number equal (9 significant digits) to one of the grammar's numbers
    spelled as the grammar spells it; other text is unchanged."""
    return _normalise(_parser(grammar), text)[0]


def _normalise(parser: _Parser, text: str) -> tuple[str, list[tuple[int, int]]]:
    """Normalised text and the offsets ``(normalised start, original start)`` of its pieces."""
    pieces: list[str] = []
    offsets: list[tuple[int, int]] = [(0, 0)]
    last = 0
    length = 0
    for m in _TEXT_NUMBER.finditer(text):
        spelled = parser.numbers.get(_number_key(m.group(0)))
        if spelled is None or spelled == m.group(0):
            continue
        pieces.append(text[last : m.start()])
        length += m.start() - last
        offsets.append((length, m.start()))
        pieces.append(spelled)
        length += len(spelled)
        offsets.append((length, m.end()))
        last = m.end()
    pieces.append(text[last:])
    return "".join(pieces), offsets


def parse_phenotype(grammar: Grammar, text: str, max_depth: int | None = None) -> Genotype:
    """The genotype whose mapping yields ``text`` (numbers normalised, spacing free).

    ``map_genotype(grammar, parse_phenotype(grammar, text), max_depth)`` needs no rng and
    gives a tree whose ``.text()`` is the input with the grammar's number spellings and
    canonical spacing. With ``max_depth``, a tree deeper than that is rejected here.

    Raises :class:`GenotypeError` naming line and column for text outside the language, and for
    a tree deeper than ``max_depth``.
    """
    parser = _parser(grammar)
    normalised, offsets = _normalise(parser, text)
    try:
        tree = parser.lark.parse(normalised)
    except UnexpectedInput as err:
        raise GenotypeError(_syntax_message(parser, text, normalised, offsets, err)) from None
    genes: dict[str, list[int]] = {}
    deepest = 0
    stack: list[tuple[Tree, int]] = [(tree, 1)]
    while stack:  # preorder, leftmost first: the mapper's expansion order
        node, depth = stack.pop()
        nt, index = parser.aliases[node.data]
        if not isinstance(index, int):  # a constant class: the token names the alternative
            index = index[str(node.children[0])]
        genes.setdefault(nt, []).append(index)
        deepest = max(deepest, depth)
        subtrees = [c for c in node.children if isinstance(c, Tree)]
        stack.extend((c, depth + 1) for c in reversed(subtrees))
    if max_depth is not None and deepest > max_depth:
        raise GenotypeError(
            f"phenotype: its derivation tree has depth {deepest}, above max_depth {max_depth}"
        )
    return Genotype({r.name: tuple(genes[r.name]) for r in grammar.rules if r.name in genes})


def _syntax_message(
    parser: _Parser,
    text: str,
    normalised: str,
    offsets: list[tuple[int, int]],
    err: UnexpectedInput,
) -> str:
    """``phenotype:LINE:COL: ...`` with the position in the original text."""
    if isinstance(err, UnexpectedEOF) or getattr(err, "pos_in_stream", None) is None:
        where, found = len(text), "end of text"
    else:
        pos = err.pos_in_stream
        start, origin = max((o for o in offsets if o[0] <= pos), default=(0, 0))
        where = origin + (pos - start)
        if isinstance(err, UnexpectedToken) and err.token.type != "$END":
            found = repr(str(err.token))
        elif isinstance(err, UnexpectedCharacters):
            toks = language.tokens(normalised[pos:])
            found = repr(toks[0].text) if toks else repr(normalised[pos : pos + 1])
        else:
            found = "end of text"
    line = text.count("\n", 0, where) + 1
    col = where - (text.rfind("\n", 0, where) + 1) + 1
    expected = _expected(parser, err)
    hint = f"; expected {expected}" if expected else ""
    return f"phenotype:{line}:{col}: unexpected {found} (not in the language of {parser.grammar.path}){hint}"


def _expected(parser: _Parser, err: UnexpectedInput) -> str:
    """A short, readable list of what the grammar allowed at the error."""
    names = getattr(err, "expected", None) or getattr(err, "allowed", None) or ()
    shown: set[str] = set()
    for name in names:
        try:
            pattern = parser.lark.get_terminal(name).pattern
        except KeyError:
            continue
        constant = pattern.type == "re" or re.fullmatch(_NUMBER, pattern.value)
        shown.add("a constant" if constant else repr(pattern.value))
    items = sorted(shown)
    if len(items) > 8:
        items = items[:8] + ["..."]
    return ", ".join(items)
