"""Parse grammar text into a raw :class:`~symalr.types.Grammar` (no validation, no analysis).

The BNF dialect is described by the Lark meta-grammar ``bnf.lark`` beside this module; a Lark
:class:`~lark.Transformer` builds the frozen grammar bottom-up, keeping the line and column of
every rule, alternative and symbol. Terminal text is split into the tokens of the grammar
language (:func:`lex_terminal`): ``pow(<x>, <x>)`` has the terminals ``pow``, ``(``, ``,``,
``)``. Quoted terminals (``"..."``) stay one symbol. Grammar text is data: nothing here (or
anywhere in symalr) evaluates it.

Syntax errors become :class:`~symalr.errors.GrammarError` with Lark's line and column.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from symalr import language
from symalr.errors import GrammarError
from symalr.types import Grammar, GSymbol, Production, Rule

# --------------------------------------------------------------------------- language tokens

#: Kinds of :class:`LangToken` (those of :mod:`symalr.language`; infix operators, which grammar
#: terminals may not use, come back as ``bad`` characters).
IDENT, NUMBER, PUNCT, DEFINE, BAD = (language.IDENT_KIND, language.NUMBER_KIND,
                                     language.PUNCT_KIND, language.DEFINE_KIND, language.BAD_KIND)

LangToken = language.Token


@functools.lru_cache(maxsize=4096)
def lex_terminal(text: str) -> tuple[LangToken, ...]:
    """Split terminal text into language tokens with the language's one lexer
    (:func:`symalr.language.tokens`): identifiers, numbers (``4.53978687e-05``), the
    punctuation ``( ) , = ;``. ``::=`` (a misplaced rule definition) comes back as its own
    token of kind ``define``; infix operators and any other character as ``bad`` characters
    for validation to report. Whitespace (possible in quoted terminals) is dropped. Cached:
    the same few texts (``negative(``, ``)``, ``x``) recur all over a grammar."""
    out = []
    for tok in language.tokens(text):
        if tok.kind == language.OP_KIND:
            out.extend(LangToken(BAD, c, tok.offset + i) for i, c in enumerate(tok.text))
        else:
            out.append(tok)
    return tuple(out)


# --------------------------------------------------------------------------- Lark


@functools.cache
def _parser() -> Lark:
    """The meta-grammar's LALR parser, with :class:`_ToGrammar` applied while parsing (no parse
    tree is built: a quarter faster on large grammars)."""
    text = (Path(__file__).with_name("bnf.lark")).read_text(encoding="utf-8")
    return Lark(text, parser="lalr", maybe_placeholders=False, transformer=_ToGrammar())


def _unquote(quoted: str) -> str:
    """Content of a ``"..."`` token; ``\\x`` stands for ``x`` (so ``\\"`` and ``\\\\``)."""
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


class _ToGrammar(Transformer):
    """Lark tree -> tuple of :class:`Rule` (bottom-up, no mutation)."""

    def alternative(self, items: list[Token]) -> tuple[GSymbol, ...]:
        symbols: list[GSymbol] = []
        for tok in items:
            if tok.type == "NONTERMINAL":
                symbols.append(GSymbol(tok.value[1:-1], True, tok.line, tok.column))
            elif tok.type == "QUOTED":
                symbols.append(
                    GSymbol(_unquote(tok.value), False, tok.line, tok.column)
                )
            else:  # WORD: split into language tokens, each its own terminal
                for lt in lex_terminal(tok.value):
                    symbols.append(
                        GSymbol(lt.text, False, tok.line, tok.column + lt.offset)
                    )
        return tuple(symbols)

    def rule(self, children: list) -> Rule:
        head: Token = children[0]
        productions = []
        # children: NONTERMINAL, DEFINE, alt, (BAR, alt)*; an empty alternative takes the
        # position of the separator ('::=' or '|') just before it.
        for sep, symbols in zip(children[1::2], children[2::2]):
            if symbols:
                line, col = symbols[0].line, symbols[0].col
            else:
                line, col = (
                    sep.end_line,
                    sep.end_column - (1 if sep.type == "BAR" else 3),
                )
            productions.append(Production(symbols, line, col))
        return Rule(head.value[1:-1], tuple(productions), head.line, head.column)

    def start(self, rules: list[Rule]) -> tuple[Rule, ...]:
        return tuple(rules)


def _syntax_error(err: UnexpectedInput, text: str, file: str) -> GrammarError:
    """A one-line GrammarError for a Lark syntax error, at Lark's line and column."""
    line, col = err.line, err.column
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream]
        if char == "<":
            msg = "malformed non-terminal: write '<name>' with letters, digits and '_' only"
        elif char == '"':
            msg = "unterminated quoted terminal: close it with '\"' on the same line"
        elif char == "|":
            msg = "'|' before any rule: a grammar starts with '<name> ::= ...'"
        else:
            msg = f"unexpected character {char!r}"
        return GrammarError(msg, file, line, col)
    if isinstance(err, UnexpectedToken):
        tok = err.token
        found = (
            "end of file"
            if tok.type == "$END"
            else repr(str(tok.value).strip() or "\\n")
        )
        if tok.type == "$END":
            line, col = (
                (tok.end_line or tok.line or 1),
                (tok.end_column or tok.column or 1),
            )
        if "DEFINE" in err.expected:
            msg = f"expected '::=' after the non-terminal, found {found}"
        elif tok.type == "BAR":
            msg = "'|' outside a rule: a grammar starts with '<name> ::= ...'"
        elif "NONTERMINAL" in err.expected:
            msg = (
                f"expected a rule '<name> ::= ...', found {found} "
                "(an alternative on its own line must start with '|')"
            )
        elif tok.type == "DEFINE":
            msg = "'::=' without a non-terminal before it: write '<name> ::= ...'"
        else:
            msg = f"unexpected {found}"
        return GrammarError(msg, file, line, col)
    return GrammarError(f"syntax error: {err}".splitlines()[0], file, line, col)


def parse_raw(text: str, file: str = "<grammar>") -> Grammar:
    """Parse grammar text into a :class:`Grammar` without validating or analysing it.

    Rules keep file order (duplicates included, for validation to report). Raises
    :class:`GrammarError` on a syntax error.
    """
    try:
        rules = _parser().parse(text)
    except UnexpectedInput as err:
        raise _syntax_error(err, text, file) from None
    return Grammar(path=file, rules=rules)
