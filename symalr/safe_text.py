"""The one gate between user text and generated code or LaTeX.

Names, docs and LaTeX names come from files a user hands us (spec JSON, individual JSON, file
names, ``--class-name``); they end up in generated Python modules and in LaTeX that pdflatex
reads. Nothing reaches either by raw interpolation. This module is both halves of the gate:

*Validation at the boundary* (called when a spec is built, so a bad input is one
:class:`~symalr.errors.SpecError` line and nothing is written):

- :func:`check_identifier` — a Python-identifier-shaped name (``re.fullmatch``: a ``$`` would
  also match before a trailing newline), for states, hyperparameters and class names;
- :func:`check_label` — an optimizer's name: letters, digits and ``_ . + -``, at most
  :data:`MAX_LABEL` characters (file stems are turned into labels by :func:`label_from`);
- :func:`check_doc` — free text without control characters other than newline and tab,
  at most :data:`MAX_DOC` characters;
- :func:`check_latex_name` — a LaTeX symbol name from a safe subset: letters, digits,
  ``_ ^ { } ' , . + - ( ) [ ] |`` and spaces, backslash commands only from
  :data:`LATEX_COMMANDS` (Greek letters and a few accents and fonts), balanced braces, no
  ``^^`` (TeX's character-code escape). ``\\input``, ``\\write``, ``\\def``, ``%`` and ``#``
  never pass.

*Escaping at emission* (what templates and printers receive):

- :func:`py_str` — a Python string literal (``repr``) of any text;
- :func:`py_docstring` — a triple-quoted literal whose value is exactly the text: raw
  (``r\"\"\"...\"\"\"``, so LaTeX stays readable) when the text cannot end or escape a raw
  string, else an escaped ordinary literal;
- :func:`py_float` — a float literal (``float("inf")``/``float("nan")`` where ``repr`` would
  print a bare name);
- :func:`tex_text` — plain text for a LaTeX text cell, special characters escaped.

Pure Python; imports nothing of ours.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re

#: Longest optimizer name, docstring and LaTeX name accepted.
MAX_LABEL = 64
MAX_DOC = 4000
MAX_LATEX_NAME = 64

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+\-]*")

#: Backslash commands a hyperparameter's LaTeX name may use.
LATEX_COMMANDS = frozenset(
    """alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu
    nu xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta
    Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega hat bar tilde check breve dot ddot vec
    mathrm mathit mathbf mathsf mathcal prime ell""".split()
)
_LATEX_CHARS = re.compile(r"[A-Za-z0-9_^{}',.+\-()\[\]| ]*")
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+)")


class TextError(ValueError):
    """A piece of user text that may not reach generated code or LaTeX; ``str()`` says why.
    Callers turn it into their own one-line user error (naming the file and key)."""


def check_identifier(name: object, what: str = "name", keywords_ok: bool = False) -> str:
    """``name`` if it is a letter followed by letters, digits and ``_`` (no leading ``_``; no
    Python keyword unless ``keywords_ok``), else :class:`TextError`."""
    if (not isinstance(name, str) or len(name) > MAX_LABEL or not _IDENTIFIER.fullmatch(name)
            or (keyword.iskeyword(name) and not keywords_ok)):
        rule = "" if keywords_ok else " (and not a Python keyword)"
        raise TextError(f"{what} {name!r} must be a letter followed by at most {MAX_LABEL - 1} "
                        f"letters, digits and '_'{rule}")
    return name


def check_label(name: object, what: str = "optimizer name") -> str:
    """``name`` if it is a label (see the module docstring), else :class:`TextError`."""
    if not isinstance(name, str) or len(name) > MAX_LABEL or not _LABEL.fullmatch(name):
        raise TextError(f"{what} {name!r} must be 1-{MAX_LABEL} letters, digits and '_ . + -', "
                        "starting with a letter or digit")
    return name


def label_from(text: str, fallback: str = "optimizer") -> str:
    """A valid label made from arbitrary text (e.g. a file stem): other characters become
    ``_``, the result is cut to :data:`MAX_LABEL` characters; ``fallback`` if nothing is left."""
    label = re.sub(r"[^A-Za-z0-9_.+\-]+", "_", text).strip("_.+-")[:MAX_LABEL]
    return label if label and _LABEL.fullmatch(label) else fallback


def check_doc(text: object, what: str = "doc") -> str:
    """``text`` if it is a string of at most :data:`MAX_DOC` characters without control
    characters other than newline and tab, else :class:`TextError`."""
    if not isinstance(text, str):
        raise TextError(f"{what} must be a string, got {type(text).__name__}")
    if len(text) > MAX_DOC:
        raise TextError(f"{what} is {len(text)} characters long (at most {MAX_DOC})")
    for i, c in enumerate(text):
        if (not c.isprintable() and c not in "\n\t") or 0xD800 <= ord(c) <= 0xDFFF:
            raise TextError(f"{what} holds the control character {c!r} at offset {i}")
    return text


def check_latex_name(text: object, what: str = "latex name") -> str:
    """``text`` if it is a LaTeX symbol name from the safe subset (module docstring)."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LATEX_NAME:
        raise TextError(f"{what} must be a non-empty string of at most {MAX_LATEX_NAME} "
                        "characters")
    plain = _LATEX_COMMAND.sub(" ", text)
    for command in _LATEX_COMMAND.findall(text):
        if command not in LATEX_COMMANDS:
            raise TextError(f"{what} {text!r}: the command \\{command} is not allowed "
                            "(Greek letters, accents and \\mathrm-style fonts are)")
    if not _LATEX_CHARS.fullmatch(plain) or "^^" in text:
        bad = next((c for c in plain if not _LATEX_CHARS.fullmatch(c)), "^^")
        raise TextError(f"{what} {text!r}: the character {bad!r} is not allowed")
    depth = 0
    for c in plain:
        depth += (c == "{") - (c == "}")
        if depth < 0:
            break
    if depth != 0:
        raise TextError(f"{what} {text!r}: unbalanced braces")
    return text


# ------------------------------------------------------------------------------ emission


_PLAIN = re.compile(r"[A-Za-z0-9_ .+\-]*")


def py_str(text: str) -> str:
    """A Python string literal whose value is ``text`` (always valid source): double-quoted
    for plain text (letters, digits, ``_ . + -`` and spaces), ``repr`` otherwise."""
    text = str(text)
    return f'"{text}"' if _PLAIN.fullmatch(text) else repr(text)


def _raw_safe(text: str) -> bool:
    """Whether ``r\"\"\"text\"\"\"`` is valid source whose value is ``text``: printable
    characters and newlines only, no ``\"\"\"`` outside a backslash pair, and no ending in a
    quote or an unpaired backslash."""
    if any((not c.isprintable() and c != "\n") or 0xD800 <= ord(c) <= 0xDFFF for c in text):
        return False
    i = 0
    while i < len(text):
        if text[i] == "\\":
            if i + 1 >= len(text):
                return False  # a trailing backslash would escape the closing quote
            i += 2
            continue
        if text.startswith('"""', i):
            return False
        i += 1
    return not text.endswith('"')


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\r": "\\r", "\t": "\\t", "\0": "\\x00"}


def py_docstring(text: str) -> str:
    """A triple-quoted string literal whose value is exactly ``text`` (see module docstring)."""
    if _raw_safe(text):
        return f'r"""{text}"""'
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c == "\n":
            out.append(c)
        elif not c.isprintable() or 0xD800 <= ord(c) <= 0xDFFF:
            out.append(repr(c)[1:-1] if ord(c) > 0xFF else f"\\x{ord(c):02x}")
        else:
            out.append(c)
    return '"""' + "".join(out) + '"""'


def py_float(value: float) -> str:
    """A float literal for ``value``: ``repr`` for finite values, ``float("inf")``,
    ``-float("inf")`` or ``float("nan")`` otherwise."""
    value = float(value)
    if math.isnan(value):
        return 'float("nan")'
    if math.isinf(value):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(value)


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip


def tex_text(text: str) -> str:
    """``text`` for a LaTeX text cell: special characters escaped, control characters dropped."""
    return "".join(_TEX_SPECIAL.get(c, c) for c in str(text) if c.isprintable() or c == " ")


def is_builtin(name: str) -> bool:
    """Whether ``name`` is a Python builtin (a generated module must not shadow one)."""
    return hasattr(builtins, name)
