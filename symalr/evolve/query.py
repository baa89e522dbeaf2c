"""Read-only questions to an experiment database: the ranking of its optimizers.

``best_spec(db, rank)`` is what ``DB#N`` (:mod:`symalr.resolve`) and
``symalr export --from DB --rank N`` use. The ranking counts each fingerprint once (its
first occurrence, by run, generation and position), leaves out statically rejected
individuals, and orders by the deepest funnel stage reached, then the fitness there, best
first (ties: the earlier individual; :meth:`symalr.evolve.store.Store.best_individuals`).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from symalr.errors import StoreError
from symalr.evolve.store import IndividualRow, Store
from symalr.spec import OptimizerSpec, spec_loads


def ranked(db_path: Path, limit: int, run_ids: list[int] | None = None) -> list[IndividualRow]:
    """The ``limit`` best distinct individuals of the database (of ``run_ids`` if given)."""
    with Store.open(Path(db_path), readonly=True) as store:
        return store.best_individuals(limit, run_ids)


def search_summary(evaluations) -> str:
    """One sentence on what the search measured of a candidate: the deepest funnel stage it
    reached, its fitness there, and (task fitness) the step multiplier, sensitivity, speed."""
    if not evaluations:
        return ""
    e = evaluations[-1]
    text = f"stage {e.stage} fitness {e.fitness:.4f}"
    if e.details:
        d = e.details
        text += (f" (geometric mean of progress ratios to tuned Adam), step multiplier "
                 f"{d.get('multiplier', 1.0):g}, sensitivity {d.get('sensitivity', 0.0):.3f}, "
                 f"speed {d.get('speed', 0.0):.3f}")
    return text


@functools.lru_cache(maxsize=256)
def startup_phrase(spec_text: str, where: str = "<stored spec>") -> str:
    """:func:`symalr.startup.describe_startup` of a stored spec, by its stored text (``where``
    names it in a load error): the report, ``show`` and exports ask for a ranked rule's
    several times; it is measured once."""
    from symalr.startup import describe_startup

    return describe_startup(spec_loads(spec_text, where))


def individual_spec(row: IndividualRow, name: str, db_path: Path,
                    store: Store | None = None) -> OptimizerSpec:
    """The stored simplified spec of ``row``, renamed ``name``, with its provenance, what the
    search measured and its start-up burst (:func:`startup_phrase`) as doc. With ``store``,
    the step multiplier the search chose at the deepest stage the rule reached becomes its
    exported step scale
    (:meth:`~symalr.spec.OptimizerSpec.with_step_scale`)."""
    spec = spec_loads(row.spec, f"{db_path}:run {row.run_id}:generation {row.generation}")
    evaluations = store.evaluations_of(row.fingerprint) if store is not None else []
    measured = search_summary(evaluations)
    doc = (f"Evolved by symalr: {Path(db_path).name}, run {row.run_id}, generation "
           f"{row.generation}, individual {row.position}; fitness {row.fitness:.4f}"
           + (f"; {measured}" if measured else "") + f". Phenotype: {row.phenotype}")
    doc = f"{doc[:3800]} Measured on the reference: {startup_phrase(row.spec)}."
    spec = dataclasses.replace(spec, name=name, doc=doc)
    if evaluations and evaluations[-1].details:
        spec = spec.with_step_scale(float(evaluations[-1].details.get("multiplier", 1.0)))
    return spec


def best_spec(db_path: Path, rank: int) -> OptimizerSpec:
    """The spec of the ``rank``-th best optimizer (1-based) of an experiment database, named
    ``evolved_rank<rank>``. Raises :class:`StoreError` for an unusable database or a rank
    beyond the trained individuals."""
    if rank < 1:
        raise StoreError(f"{db_path}: rank must be 1 or more, got {rank}")
    with Store.open(Path(db_path), readonly=True) as store:
        best = store.best_individuals(rank)
        if len(best) < rank:
            raise StoreError(f"{db_path}: rank {rank} asked for, but the database holds "
                             f"{len(best)} ranked optimizer(s)")
        return individual_spec(best[rank - 1], f"evolved_rank{rank}", Path(db_path), store)
