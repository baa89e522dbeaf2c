"""A compact, human-readable summary of a validated grammar (``symalr grammar FILE``)."""

from __future__ import annotations

from symalr.grammar.parse import NUMBER, lex_terminal
from symalr.types import Grammar, Rule


def _is_constant_rule(rule: Rule) -> bool:
    """True when every alternative is one numeric literal (a constant table)."""
    for prod in rule.productions:
        if len(prod.symbols) != 1 or prod.symbols[0].nonterminal:
            return False
        toks = lex_terminal(prod.symbols[0].text)
        if len(toks) != 1 or toks[0].kind != NUMBER:
            return False
    return True


def _alternative_text(rule: Rule, index: int) -> str:
    """The alternative as written: no space before ``( ) , ;`` or after ``(``."""
    out = ""
    prev = ""
    for sym in rule.productions[index].symbols:
        text = f"<{sym.text}>" if sym.nonterminal else sym.text
        tight = (not sym.nonterminal and text in {"(", ")", ",", ";"}) or prev == "("
        out += text if (tight or not out) else " " + text
        prev = "" if sym.nonterminal else text
    return out


def summarize(grammar: Grammar) -> str:
    """Multi-line summary: the start symbol, then one line per non-terminal in file order with
    its production count, minimum depth, and whether it recurses. A rule made only of numeric
    literals is one line, ``(constants)``, with its range; a short rule shows its alternatives.

    Example line: ``  <x_const>   100 productions  min depth 1  (constants 4.53978687e-05 ..
    9.99954602e-01)``.
    """
    width = max(len(r.name) for r in grammar.rules) + 2
    recursive = [f"<{r.name}>" for r in grammar.rules if r.name in grammar.recursive]
    lines = [
        f"grammar {grammar.path}",
        (
            f"start <{grammar.start}>, {len(grammar.rules)} non-terminals, "
            f"{sum(len(r.productions) for r in grammar.rules)} productions, "
            f"min depth {grammar.min_depth[grammar.start]}"
        ),
        f"recursive: {', '.join(recursive) if recursive else 'none'}",
    ]
    for rule in grammar.rules:
        n = len(rule.productions)
        head = (
            f"  {'<' + rule.name + '>':<{width}} {n:>4} production{'s' if n != 1 else ' '}"
            f"  min depth {grammar.min_depth[rule.name]}"
        )
        if _is_constant_rule(rule) and n > 1:
            first, last = (
                rule.productions[0].symbols[0].text,
                rule.productions[-1].symbols[-1].text,
            )
            detail = f"(constants {first} .. {last})"
        else:
            alts = [_alternative_text(rule, i) for i in range(n)]
            detail = " | ".join(alts)
            if len(detail) > 50:
                detail = detail[:47] + "..."
        mark = "  recursive" if rule.name in grammar.recursive else ""
        lines.append(f"{head}{mark}  {detail}")
    return "\n".join(lines) + "\n"
