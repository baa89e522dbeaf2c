"""Which helper functions generated code needs, and their source (from :mod:`.runtime`, or
:mod:`.jax_runtime` for JAX modules).

Those modules hold the helpers as real Python; this module reads their text and cuts
functions out of it with :mod:`ast`, without importing them (they import torch or jax).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

#: The printers' helpers, with the modules they need.
PRINTED_HELPERS: dict[str, frozenset[str]] = {
    "_nan_sign": frozenset({"torch"}),
    "_nan_sign_out": frozenset({"torch"}),
    "_div": frozenset({"math"}),
    "_div0": frozenset(),
    "_sqrt": frozenset({"math"}),
    "_sign": frozenset(),
    "_pow": frozenset({"math"}),
}


@cache
def _sources(file: str) -> dict[str, str]:
    text = Path(__file__).with_name(file).read_text(encoding="utf-8")
    return {node.name: ast.get_source_segment(text, node) + "\n"
            for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)}


def helper_source(names: set[str] | frozenset[str] | tuple[str, ...],
                  file: str = "runtime.py") -> list[str]:
    """The source of each named function of ``file`` (:mod:`.runtime` by default): printed
    helpers first, sorted by name, then the others in the order given."""
    wanted = list(dict.fromkeys(names))
    ordered = sorted(n for n in wanted if n in PRINTED_HELPERS) + [
        n for n in wanted if n not in PRINTED_HELPERS]
    return [_sources(file)[n] for n in ordered]


def helper_imports(names) -> set[str]:
    """The modules the named printed helpers need."""
    out: set[str] = set()
    for n in names:
        out |= PRINTED_HELPERS.get(n, frozenset())
    return out
