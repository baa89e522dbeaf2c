"""A small cache of values derived from a grammar, keyed by the grammar object's identity.

Hashing a ``Grammar`` walks every symbol, which costs more than a whole mapping, so derived
tables and parsers are looked up by ``id(grammar)``; each cached value keeps its grammar (a
``.grammar`` attribute) so that a recycled id never returns another grammar's value. The
oldest entry goes when ``maxsize`` is reached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

from symalr.types import Grammar

T = TypeVar("T")


def per_grammar(maxsize: int) -> Callable[[Callable[[Grammar], T]], Callable[[Grammar], T]]:
    """Decorate ``build(grammar)`` whose result has a ``.grammar`` attribute."""

    def wrap(build: Callable[[Grammar], T]) -> Callable[[Grammar], T]:
        cache: dict[int, T] = {}

        @functools.wraps(build)
        def get(grammar: Grammar) -> T:
            hit = cache.get(id(grammar))
            if hit is not None and hit.grammar is grammar:
                return hit
            built = build(grammar)
            if len(cache) >= maxsize:
                cache.pop(next(iter(cache)))
            cache[id(grammar)] = built
            return built

        return get

    return wrap
