"""Grammar layer: parse, validate and analyse BNF grammars (SPEC §1, §4). No SymPy here.

Public API::

    parse_grammar(text, file="<grammar>") -> Grammar   # raises GrammarError(file, line, col)
    load_grammar(name_or_path) -> Grammar              # shipped name ("alr", "alr-grad") or path
    summarize(grammar) -> str
    DEFAULT_GRAMMAR = "alr"

A returned :class:`~symalr.types.Grammar` is immutable (its analysis mappings are read-only), so
cached shipped grammars are shared safely.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

from symalr.errors import GrammarError
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
    try:
        text = _read_grammar_text(path, label)
    except FileNotFoundError:
        known = ", ".join(shipped) or "none"
        raise GrammarError(
            f"no such grammar file or shipped grammar (shipped: {known})", label, 0, 0
        ) from None
    return parse_grammar(text, str(path) if is_shipped else label)


def _read_grammar_text(path: Path, label: str, max_bytes: int = MAX_GRAMMAR_BYTES) -> str:
    """The text of the regular file ``path``: at most ``max_bytes`` bytes of UTF-8 (a BOM is
    allowed). Directories, FIFOs and devices are refused without being opened (and the opened
    file is checked again, non-blocking, in case it was replaced by a FIFO meanwhile). A
    missing file raises ``FileNotFoundError``;
    every other failure is a :class:`GrammarError` naming ``label`` at line 0, column 0."""

    def fail(reason: str) -> GrammarError:
        return GrammarError(f"cannot read grammar: {reason}", label, 0, 0)

    try:
        regular = stat.S_ISREG(os.stat(path).st_mode)  # a device is never even opened
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)) if regular else -1
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:
        raise fail(getattr(err, "strerror", None) or str(err)) from None
    if not regular:
        raise fail("not a regular file")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since the check above
            raise fail("not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 16, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise fail(err.strerror or str(err)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise fail(f"larger than {max_bytes:_} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise fail(f"not UTF-8 text (byte {err.start})") from None
