"""Grammar layer: parse, validate and analyse BNF grammars (see docs/grammar.md). No SymPy here.

Public API::

    parse_grammar(text, file="<grammar>") -> Grammar   # raises GrammarError(file, line, col)
    load_grammar(name_or_path) -> Grammar              # shipped name (alr, alr-grad,
                                                       # alr-blocks) or path
    summarize(grammar) -> str
    DEFAULT_GRAMMAR = "alr"

A returned :class:`~symalr.types.Grammar` is immutable (its analysis mappings are read-only), so
cached shipped grammars are shared safely.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from symalr.errors import GrammarError
from symalr.fileio import read_input_text
from symalr.grammar.analysis import analyse
from symalr.grammar.limits import MAX_GRAMMAR_BYTES
from symalr.grammar.parse import parse_raw
from symalr.grammar.summary import summarize
from symalr.grammar.validate import validate
from symalr.types import Grammar

__all__ = ["DEFAULT_GRAMMAR", "load_grammar", "parse_grammar", "summarize"]

#: The grammar used when none is named: the paper's stated rule (no gradient in the weight
#: function).
DEFAULT_GRAMMAR = "alr"


@functools.lru_cache(maxsize=32)
def parse_grammar(text: str, file: str = "<grammar>") -> Grammar:
    """Parse, validate and analyse grammar text. ``file`` names it in errors and becomes
    ``Grammar.path``. Raises :class:`GrammarError` (file, line, col) for the first problem in
    file order. Results are cached by ``(text, file)``; grammars are immutable."""
    grammar = parse_raw(text, file)
    return analyse(grammar, validate(grammar))


def load_grammar(name_or_path: str | Path) -> Grammar:
    """Load a shipped grammar by name (``alr``, ``alr-grad``: see
    :func:`symalr.resources.shipped_grammars`) or a grammar file by path.

    A shipped name wins over a file of the same name in the working directory; write ``./alr``
    to mean the file. Errors name the argument as given: a file that cannot be read (missing,
    not a regular file, larger than :data:`~symalr.grammar.limits.MAX_GRAMMAR_BYTES`, not
    UTF-8) is a :class:`GrammarError` at line 0, column 0.
    """
    from symalr.resources import shipped_grammars

    label = str(name_or_path)
    shipped = shipped_grammars()
    is_shipped = isinstance(name_or_path, str) and label in shipped
    path = shipped[label] if is_shipped else Path(label)
    if not os.path.lexists(path):
        known = ", ".join(shipped) or "none"
        raise GrammarError(
            f"no such grammar file or shipped grammar (shipped: {known})", label, 0, 0
        )
    text = read_input_text(label if not is_shipped else path, "grammar", GrammarError,
                           MAX_GRAMMAR_BYTES)
    return parse_grammar(text, str(path) if is_shipped else label)
