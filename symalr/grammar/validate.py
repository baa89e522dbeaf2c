"""Validate a parsed grammar; the first problem in file order becomes a GrammarError.

Two stages, so that one mistake is reported once and not through its consequences:

0. bounds (:mod:`symalr.grammar.limits`): rule and alternative counts;
1. local checks, per rule and alternative: empty grammar, duplicate rule (at the second
   definition), empty alternative, undefined non-terminal (at its use), and the grammar
   language inside terminals (see :func:`language_issues`);
2. global checks, only when stage 1 found nothing: non-terminals unreachable from the start
   symbol, and the non-terminals that *cause* infinite derivations (at their rule): those
   whose every alternative needs their own group again (:func:`unfinishable_cores`), not the
   rules that merely use them.

Within a stage the issue with the smallest (line, column) wins, so the report is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symalr import ops
from symalr.errors import GrammarError
from symalr.grammar.analysis import MinDepths, min_depths, reachable, unfinishable_cores
from symalr.grammar.limits import MAX_ALTERNATIVES, MAX_ALTERNATIVES_PER_RULE, MAX_RULES
from symalr.grammar.parse import BAD, DEFINE, IDENT, PUNCT, lex_terminal
from symalr.types import Grammar, Production

_TARGETS = frozenset(ops.ALR_FUNCTIONS.values())
_OPERATOR_LIST = ", ".join(sorted(ops.OPERATORS))


@dataclass(frozen=True, order=True)
class Issue:
    """One problem at a 1-based (line, col); ordering is file order."""

    line: int
    col: int
    message: str = field(compare=False)


@dataclass
class _Atom:
    """A language token of an alternative, or a non-terminal (an opaque atom)."""

    kind: str  # ident, number, punct, define, bad, or "nt"
    text: str
    line: int
    col: int


@dataclass
class _Group:
    """An open parenthesis while scanning: the operator it calls (or None) and its arguments."""

    open_at: _Atom
    operator: _Atom | None
    commas: int = 0
    arg_items: int = 0  # items in the current argument
    any_items: bool = False


def _atoms(prod: Production) -> list[_Atom]:
    atoms = []
    for sym in prod.symbols:
        if sym.nonterminal:
            atoms.append(_Atom("nt", sym.text, sym.line, sym.col))
        else:
            # A bare terminal is exactly one language token (the parser split it); anything
            # else came from a quoted terminal, whose text starts one column after the quote.
            toks = lex_terminal(sym.text)
            shift = 0 if len(toks) == 1 and toks[0].text == sym.text else 1
            for tok in toks:
                atoms.append(
                    _Atom(tok.kind, tok.text, sym.line, sym.col + tok.offset + shift)
                )
    return atoms


def _identifier_issue(atom: _Atom, called: bool, next_atom: _Atom | None) -> str | None:
    name = atom.text
    if name in ops.OPERATORS:
        if called:
            return None
        arity = ops.OPERATORS[name].arity
        return f"operator '{name}' must be followed by '(' and its {arity} argument(s)"
    if called:
        return f"operator '{name}' is not in the vocabulary (known: {_OPERATOR_LIST})"
    if name in _TARGETS:
        if next_atom is None or next_atom.text != "=":
            return f"target '{name}' must be followed by '='"
        return None
    if name in ops.GRAMMAR_SYMBOLS:
        return None
    return (
        f"unknown identifier '{name}' (symbols: {', '.join(sorted(ops.GRAMMAR_SYMBOLS))}; "
        f"targets: {', '.join(ops.ALR_FUNCTIONS.values())}; operators: {_OPERATOR_LIST})"
    )


def language_issues(prod: Production) -> list[Issue]:
    """Check one alternative against the grammar language, non-terminals counting as atoms:
    unknown characters and identifiers, operators not followed by ``(``, wrong arity (top-level
    commas), empty arguments, stray ``,``/``=``/``;``, unbalanced parentheses."""
    atoms = _atoms(prod)
    issues: list[Issue] = []
    stack: list[_Group] = []

    def issue(at: _Atom, msg: str) -> None:
        issues.append(Issue(at.line, at.col, msg))

    for i, atom in enumerate(atoms):
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        prev = atoms[i - 1] if i > 0 else None
        if atom.kind != PUNCT and stack:
            stack[-1].arg_items += 1
            stack[-1].any_items = True
        if atom.kind == BAD:
            issue(
                atom,
                f"unexpected character {atom.text!r} in a terminal "
                "(terminals hold identifiers, numbers and ( ) , = ;)",
            )
        elif atom.kind == DEFINE:
            head = prev if prev is not None and prev.kind == "nt" else atom
            what = f"'<{head.text}> ::='" if head is prev else "'::='"
            issue(
                head,
                f"{what} inside an alternative: each rule must start on its own line",
            )
        elif atom.kind == IDENT:
            called = nxt is not None and nxt.text == "("
            msg = _identifier_issue(atom, called, nxt)
            if msg:
                issue(atom, msg)
        elif atom.text == "(":
            op = prev if prev is not None and prev.kind == IDENT else None
            if stack:
                stack[-1].arg_items += 1
                stack[-1].any_items = True
            stack.append(_Group(atom, op if op and op.text in ops.OPERATORS else None))
        elif atom.text == ",":
            if not stack:
                issue(
                    atom,
                    "',' outside parentheses: arguments go inside an operator call",
                )
            elif stack[-1].arg_items == 0:
                issue(atom, "empty argument before ','")
            else:
                stack[-1].commas += 1
                stack[-1].arg_items = 0
        elif atom.text == ")":
            if not stack:
                issue(atom, "unbalanced parentheses: ')' without a matching '('")
                continue
            group = stack.pop()
            if group.commas and group.arg_items == 0:
                issue(atom, "empty argument before ')'")
                continue
            nargs = group.commas + 1 if group.any_items else 0
            if group.operator is not None:
                arity = ops.OPERATORS[group.operator.text].arity
                if nargs != arity:
                    issue(
                        group.operator,
                        f"operator '{group.operator.text}' takes {arity} "
                        f"argument{'s' if arity != 1 else ''}, got {nargs}",
                    )
            elif nargs != 1:
                issue(
                    group.open_at, f"parentheses must hold one expression, got {nargs}"
                )
        elif atom.text in ("=", ";") and stack:
            issue(atom, f"'{atom.text}' inside parentheses")
    for group in stack:
        issue(group.open_at, "unbalanced parentheses: '(' is never closed")
    return issues


def _local_issues(grammar: Grammar) -> list[Issue]:
    issues: list[Issue] = []
    defined: set[str] = set()
    for rule in grammar.rules:
        if rule.name in defined:
            issues.append(
                Issue(
                    rule.line,
                    rule.col,
                    f"duplicate rule <{rule.name}>: merge its alternatives into "
                    "the first definition",
                )
            )
        defined.add(rule.name)
    for rule in grammar.rules:
        for prod in rule.productions:
            if not prod.symbols:
                issues.append(
                    Issue(
                        prod.line,
                        prod.col,
                        f"empty alternative in <{rule.name}>: every alternative "
                        "needs at least one item",
                    )
                )
                continue
            issues.extend(
                language_issues(prod)
            )  # first: it explains a misplaced '<b> ::='
            for sym in prod.symbols:
                if sym.nonterminal and sym.text not in defined:
                    issues.append(
                        Issue(
                            sym.line,
                            sym.col,
                            f"undefined non-terminal <{sym.text}>: add a rule "
                            f"'<{sym.text}> ::= ...'",
                        )
                    )
                elif not sym.nonterminal and not sym.text.strip():
                    issues.append(Issue(sym.line, sym.col, "empty quoted terminal"))
    return issues


def _global_issues(grammar: Grammar, depths: MinDepths) -> list[Issue]:
    issues: list[Issue] = []
    live = reachable(grammar)
    for rule in grammar.rules:
        if rule.name not in live:
            issues.append(
                Issue(
                    rule.line,
                    rule.col,
                    f"non-terminal <{rule.name}> is unreachable from the start "
                    f"symbol <{grammar.start}>: use it or remove it",
                )
            )
    lines = {rule.name: rule for rule in grammar.rules}
    for core in unfinishable_cores(grammar, depths[0]):
        for nt in core:
            issues.append(Issue(lines[nt].line, lines[nt].col, _unfinishable(nt, core)))
    return issues


def _unfinishable(nt: str, core: list[str]) -> str:
    """The message of a non-terminal whose every alternative needs its own group again."""
    if len(core) == 1:
        return (
            f"non-terminal <{nt}> has no finite derivation: every alternative needs "
            f"<{nt}> again (give it an alternative that does not recurse)"
        )
    names = ", ".join(f"<{n}>" for n in core[:6]) + (", ..." if len(core) > 6 else "")
    return (
        f"non-terminal <{nt}> has no finite derivation: every alternative of {names} needs "
        "one of them again (give one an alternative that does not recurse)"
    )


def _limit_issue(grammar: Grammar) -> Issue | None:
    """The first place where the grammar exceeds a bound of :mod:`symalr.grammar.limits`."""
    if len(grammar.rules) > MAX_RULES:
        rule = grammar.rules[MAX_RULES]
        return Issue(rule.line, rule.col, f"too many rules: at most {MAX_RULES:_} allowed")
    total = 0
    for rule in grammar.rules:
        if len(rule.productions) > MAX_ALTERNATIVES_PER_RULE:
            prod = rule.productions[MAX_ALTERNATIVES_PER_RULE]
            return Issue(prod.line, prod.col, f"too many alternatives in <{rule.name}>: at most "
                                              f"{MAX_ALTERNATIVES_PER_RULE:_} allowed")
        if total + len(rule.productions) > MAX_ALTERNATIVES:
            prod = rule.productions[MAX_ALTERNATIVES - total]
            return Issue(prod.line, prod.col, f"too many alternatives: at most "
                                              f"{MAX_ALTERNATIVES:_} in a grammar")
        total += len(rule.productions)
    return None


def validate(grammar: Grammar) -> MinDepths:
    """Raise :class:`GrammarError` for the first problem in file order (see module doc).
    Every stage is linear (up to a log factor) in the size of the grammar. Returns the
    grammar's :func:`~symalr.grammar.analysis.min_depths`, for :func:`analyse` to reuse."""
    if not grammar.rules:
        raise GrammarError(
            "empty grammar: no rules (a grammar starts with '<name> ::= ...')",
            grammar.path,
            1,
            1,
        )
    over = _limit_issue(grammar)
    if over is not None:
        raise GrammarError(over.message, grammar.path, over.line, over.col)
    _raise_first(grammar, _local_issues(grammar))
    depths = min_depths(grammar)
    _raise_first(grammar, _global_issues(grammar, depths))
    return depths


def _raise_first(grammar: Grammar, issues: list[Issue]) -> None:
    if issues:
        first = min(issues)
        raise GrammarError(first.message, grammar.path, first.line, first.col)
