"""From phenotype to cache key: simplified spec, canonical text, fingerprint, static rejection.

The semantic cache (see docs/store.md, docs/simplification.md) keys fitness by ``(scope, fitness_key, fingerprint)``:
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
    """:func:`prepare`, memoised by phenotype text; :meth:`remember` pre-loads stored ones.
    ``strict`` screens as a task-based search does; ``normalise_step`` scales every rule to
    the common settled step (:func:`symalr.pipeline.prepare`). :meth:`prepare_all` prepares a
    generation's new phenotypes on ``workers`` processes (preparation is pure, so the results
    do not depend on where or in which order they were computed); close when done."""

    def __init__(self, strict: bool = False, workers: int = 1,
                 normalise_step: bool = False) -> None:
        self._memo: dict[str, Prepared] = {}
        self.strict = strict
        self.normalise_step = normalise_step
        self.workers = workers
        self._pool = None

    def __call__(self, phenotype: str) -> Prepared:
        hit = self._memo.get(phenotype)
        if hit is None:
            hit = self._memo[phenotype] = prepare(phenotype, self.strict, self.normalise_step)
        return hit

    def prepare_all(self, phenotypes) -> None:
        """Prepare every phenotype not yet known, in parallel when that pays."""
        new = list(dict.fromkeys(p for p in phenotypes if p not in self._memo))
        if self.workers < 2 or len(new) < 4:
            for phenotype in new:
                self(phenotype)
            return
        if self._pool is None:
            import concurrent.futures
            import multiprocessing
            import os

            from symalr.child_process import die_with_parent

            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=die_with_parent, initargs=(os.getpid(),))
        chunk = max(1, len(new) // (4 * self.workers))
        for phenotype, prepared in zip(new, self._pool.map(
                prepare, new, [self.strict] * len(new), [self.normalise_step] * len(new),
                chunksize=chunk)):
            self._memo[phenotype] = prepared

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def remember(self, phenotype: str, prepared: Prepared) -> None:
        self._memo.setdefault(phenotype, prepared)

    def __len__(self) -> int:
        return len(self._memo)


def cache_scope(run_id: int, share_cache: bool) -> int:
    """The cache scope of a run: 0 (shared by the database's runs) or the run's id."""
    return 0 if share_cache else run_id
