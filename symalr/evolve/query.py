"""Read-only questions to an experiment database: the ranking of its optimizers.

``best_spec(db, rank)`` is what ``DB#N`` (:mod:`symalr.resolve`) and
``symalr export --from DB --rank N`` use. The ranking counts each fingerprint once (its
first occurrence, by run, generation and position), leaves out statically rejected
individuals, and orders by fitness, best first (ties: the earlier individual).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from symalr.errors import StoreError
from symalr.evolve.store import IndividualRow, Store
from symalr.spec import OptimizerSpec, spec_loads


def ranked(db_path: Path, limit: int, run_ids: list[int] | None = None) -> list[IndividualRow]:
    """The ``limit`` best distinct individuals of the database (of ``run_ids`` if given)."""
    with Store.open(Path(db_path), readonly=True) as store:
        return store.best_individuals(limit, run_ids)


def individual_spec(row: IndividualRow, name: str, db_path: Path) -> OptimizerSpec:
    """The stored simplified spec of ``row``, renamed ``name``, with its provenance as doc."""
    spec = spec_loads(row.spec, f"{db_path}:run {row.run_id}:generation {row.generation}")
    doc = (f"Evolved by symalr: {Path(db_path).name}, run {row.run_id}, generation "
           f"{row.generation}, individual {row.position}; fitness {row.fitness:.4f}. "
           f"Phenotype: {row.phenotype}")
    return dataclasses.replace(spec, name=name, doc=doc)


def best_spec(db_path: Path, rank: int) -> OptimizerSpec:
    """The spec of the ``rank``-th best optimizer (1-based) of an experiment database, named
    ``evolved_rank<rank>``. Raises :class:`StoreError` for an unusable database or a rank
    beyond the trained individuals."""
    if rank < 1:
        raise StoreError(f"{db_path}: rank must be 1 or more, got {rank}")
    best = ranked(Path(db_path), rank)
    if len(best) < rank:
        raise StoreError(f"{db_path}: rank {rank} asked for, but the database holds "
                         f"{len(best)} ranked optimizer(s)")
    return individual_spec(best[rank - 1], f"evolved_rank{rank}", Path(db_path))
