"""The tokens of the optimizer language: the one lexer.

Every place that reads the language — expression and phenotype text (:mod:`symalr.expr`,
whose Lark grammar takes its ``NAME`` and ``NUMBER`` terminals from here), grammar terminals
(:mod:`symalr.grammar.parse`, :mod:`symalr.grammar.validate`) and the inverse mapping
(:mod:`symalr.sge.inverse`) — splits text with the patterns of this module, so they cannot
disagree on what a name, a number or a symbol is.

Token kinds:

- ``number``: ``12``, ``0.5``, ``.5``, ``4.53978687e-05`` (no sign: ``-`` is an operator);
- ``ident``: a letter or ``_`` followed by letters, digits and ``_``;
- ``punct``: ``( ) , = ;``;
- ``op``: the infix operators of spec expressions, ``** + - * /``;
- ``define``: ``::=`` (only meaningful to report a misplaced grammar rule);
- ``bad``: any other single character.

Whitespace separates tokens and is dropped. Pure Python; imports nothing of ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A numeric literal (no sign).
NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
#: An identifier.
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
#: Punctuation of programs and calls.
PUNCTUATION = frozenset("(),=;")
#: Infix operators of spec expressions (phenotypes and grammar terminals use calls instead).
INFIX = frozenset({"**", "+", "-", "*", "/"})

NUMBER_KIND, IDENT_KIND, PUNCT_KIND, OP_KIND, DEFINE_KIND, BAD_KIND = (
    "number", "ident", "punct", "op", "define", "bad")

_TOKEN = re.compile(
    rf"(?P<number>{NUMBER})"
    rf"|(?P<ident>{IDENT})"
    r"|(?P<define>::=)"
    r"|(?P<op>\*\*|[-+*/])"
    r"|(?P<punct>[(),=;])"
    r"|(?P<space>\s+)"
    r"|(?P<bad>.)",
    re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    """One token: its kind (see the module docstring), text and offset in the source text."""

    kind: str
    text: str
    offset: int


def tokens(text: str) -> list[Token]:
    """The tokens of ``text`` in order (whitespace dropped; never raises)."""
    return [Token(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(text)
            if m.lastgroup != "space"]


def is_number(text: str) -> bool:
    """Whether ``text`` is exactly one numeric literal."""
    return re.fullmatch(NUMBER, text) is not None


def is_identifier(text: str) -> bool:
    """Whether ``text`` is exactly one identifier."""
    return re.fullmatch(IDENT, text) is not None


def number_key(text: str) -> str:
    """A number's value to 9 significant digits: numbers equal under it are the same constant
    of a grammar's table (``0.910782940`` and ``9.10782940e-01``)."""
    return f"{float(text):.8e}"
