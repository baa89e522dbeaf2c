"""From phenotype to cache key: simplified spec, canonical text, fingerprint, static rejection.

The semantic cache (SPEC §3, §7) keys fitness by ``(scope, fitness_key, fingerprint)``:
individuals whose simplified specs behave the same on the fingerprint's probe are trained once
per scope (the whole database when ``share_cache``, else each run), and specs that
:func:`symalr.screen.static_rejection` refuses are never trained.

:class:`Preparer` memoises by phenotype text (copies and elites repeat texts all the time).
Preparation itself is :func:`symalr.pipeline.prepare` (the one path from phenotype to spec);
a resumed run reuses the stored preparation of every individual it reloads.
"""

from __future__ import annotations

from symalr.pipeline import Prepared, prepare

__all__ = ["Prepared", "Preparer", "cache_scope", "prepare"]


class Preparer:
    """:func:`prepare`, memoised by phenotype text; :meth:`remember` pre-loads stored ones."""

    def __init__(self) -> None:
        self._memo: dict[str, Prepared] = {}

    def __call__(self, phenotype: str) -> Prepared:
        hit = self._memo.get(phenotype)
        if hit is None:
            hit = self._memo[phenotype] = prepare(phenotype)
        return hit

    def remember(self, phenotype: str, prepared: Prepared) -> None:
        self._memo.setdefault(phenotype, prepared)

    def __len__(self) -> int:
        return len(self._memo)


def cache_scope(run_id: int, share_cache: bool) -> int:
    """The cache scope of a run: 0 (shared by the database's runs) or the run's id."""
    return 0 if share_cache else run_id
