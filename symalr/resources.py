"""Locate the data files that ship with symalr: grammars and Jinja templates.

In a source checkout (or an editable install) they live at the repository root, in
``grammars/`` and ``templates/``; in a wheel they are packaged inside ``symalr/`` under the same
names (pyproject's force-include). Callers never build these paths themselves.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"symalr data folder {name!r} not found beside {_PKG}")


def grammars_dir() -> Path:
    """The folder holding the shipped ``*.bnf`` grammars."""
    return _data_dir("grammars")


def templates_dir() -> Path:
    """The folder holding the Jinja ``*.j2`` module skeletons."""
    return _data_dir("templates")


def shipped_grammars() -> dict[str, Path]:
    """Shipped grammar name (file stem, e.g. ``alr``) -> path."""
    return {p.stem: p for p in sorted(grammars_dir().glob("*.bnf"))}
