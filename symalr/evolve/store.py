"""The experiment database: one SQLite file per experiment, append-only (see docs/store.md).

Identity and version: ``PRAGMA application_id`` is :data:`APPLICATION_ID` and
``PRAGMA user_version`` is :data:`SCHEMA_VERSION`. A file that is not SQLite, or is SQLite
without our application id ("foreign"), or has a newer schema, or lacks a table or column of
the schema, is refused with a :class:`~symalr.errors.StoreError` *before anything is
written*: it is first opened read-only. Stored JSON that does not decode is a StoreError
naming the table and row. One process writes a database at a time, and a database at rest is
a single file that read-only media can serve (:mod:`symalr.sqlite_file`,
docs/files-and-stores.md).

Tables (natural keys; nothing is ever updated or deleted):

- ``runs``: one independent evolutionary run: its ``batch`` (the invocation that created it),
  ``run_index`` within the batch, ``seed`` and the resolved configuration (JSON);
- ``run_events``: the run's history (``created``, ``started``, ``resumed``, ``finished``):
  the run's status is its latest event, so no row is ever rewritten;
- ``generations``: one row per completed generation of a run: the SGE generator state after
  the generation was built (JSON of ``bit_generator.state``), best/mean fitness, the counts
  of individuals trained, served by the cache, rejected statically and kept as elites;
- ``individuals``: every member of every completed generation, by position: genotype (JSON),
  phenotype text, simplified spec (JSON), canonical text, fingerprint, parents (JSON), operator,
  fitness and ``source`` (``trained``, ``cache``, ``rejected``, ``elite``);
- ``evaluations``: one row per training, committed the moment it finishes; unique per cache
  key ``(scope, fitness_key, fingerprint)`` where ``scope`` is 0 for a cache shared by the
  runs of the database or the run id for a private one. ``origin_*`` name the individual that
  asked for it first; per-evaluation accuracies and epochs are JSON lists;
- ``lost_attempts``: evaluation attempts lost with a dead worker (then retried).

A generation's individuals and its ``generations`` row are written in one transaction, for all
runs of a batch at once; evaluations are written one per transaction. So a killed process
leaves whole generations and whole evaluations only, and loses at most those in flight.
Fitness values are REAL columns where NULL stands for NaN. Columns that depend on the
machine rather than on the seed (times, worker names, row ids of evaluations, events, lost
attempts) are listed in :data:`VOLATILE` (see :func:`dump`).
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from symalr.errors import StoreError
from symalr.evolve.schema import (
    APPLICATION_ID,
    KIND,
    SCHEMA,
    SCHEMA_VERSION,
    VOLATILE,
    check_database,
    dump,
    readonly_connection,
)
from symalr.sqlite_file import Writer, WriterLock, decode_json

__all__ = [
    "APPLICATION_ID", "SCHEMA_VERSION", "VOLATILE", "EvaluationRow", "GenerationRow",
    "IndividualRow", "RunRow", "Store", "check_database", "dump",
]

EVENTS = ("created", "started", "resumed", "finished")


@dataclass(frozen=True)
class RunRow:
    run_id: int
    batch: int
    run_index: int
    seed: int
    config: dict
    status: str  # the latest event


@dataclass(frozen=True)
class IndividualRow:
    """One stored individual (JSON columns decoded)."""

    run_id: int
    generation: int
    position: int
    genotype: dict[str, list[int]]
    phenotype: str
    spec: str
    canonical: str
    fingerprint: str
    parents: tuple[int, ...]
    operator: str
    fitness: float
    source: str
    rejection: str | None = None


@dataclass(frozen=True)
class EvaluationRow:
    """One training (the cache entry of its key). ``origin`` is (run, generation, position)."""

    scope: int
    fitness_key: str
    fingerprint: str
    eval_seed: int
    origin: tuple[int, int, int]
    fitness: float
    accuracies: tuple[float, ...]
    epochs: tuple[int, ...]
    error: str | None
    rejected: bool
    attempts: int = 1
    seconds: float = 0.0
    worker: str = ""
    stage: int = 1
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationRow:
    run_id: int
    generation: int
    rng_state: dict
    best: float
    mean: float
    n_trained: int
    n_cache_hits: int
    n_rejected: int
    n_elite: int
    seconds: float = 0.0


class Store:
    """An open experiment database. Use :meth:`create` or :meth:`open`; close when done
    (also a context manager).

    A writing store is the database's only writer while it is open (a
    :class:`~symalr.sqlite_file.Writer`: an exclusive lock on the file, WAL journal, back to
    the rollback journal on close). A second writer is refused with a
    :class:`~symalr.errors.StoreError` before anything is written; so is a file the system
    will not let us write. Read-only stores take no lock and write nothing."""

    def __init__(self, conn: sqlite3.Connection, path: Path, writer: Writer | None = None):
        self._conn = conn
        self._writer = writer
        self.path = path

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(cls, path: Path) -> Store:
        """A new, empty database at ``path`` (which must not exist), locked for writing."""
        path = Path(path)
        if path.exists():
            raise StoreError(f"{path}: already exists (use --resume to continue it)")
        writer = Writer.create(path, KIND, f"{SCHEMA}; PRAGMA application_id = {APPLICATION_ID};"
                                           f" PRAGMA user_version = {SCHEMA_VERSION};")
        return cls._configured(writer)

    @classmethod
    def open(cls, path: Path, readonly: bool = False, lock: WriterLock | None = None) -> Store:
        """An existing database, checked first (:func:`check_database`). For writing, it is
        locked before the check (``lock``, when given, is a lock the caller already holds on
        ``path``; the store then owns it)."""
        path = Path(path)
        if readonly:
            check_database(path)
            conn = readonly_connection(path)
            conn.isolation_level = None
            return cls(conn, path)
        return cls._configured(Writer.open(path, KIND, check_database, lock))

    @classmethod
    def _configured(cls, writer: Writer) -> Store:
        writer.conn.execute("PRAGMA synchronous=NORMAL")  # WAL: durable against process death
        return cls(writer.conn, writer.path, writer)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        else:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _transaction(self):
        if self._writer is None:
            raise StoreError(f"{self.path}: opened read-only")
        return self._writer.transaction()

    # ------------------------------------------------------------------ writing

    def add_runs(self, configs: Sequence[tuple[int, dict]], version: str) -> list[int]:
        """A new batch of runs, one per ``(seed, config)``; returns their ids in order."""
        now = time.time()
        with self._transaction() as c:
            batch = c.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM runs").fetchone()[0]
            ids = []
            for index, (seed, config) in enumerate(configs):
                cur = c.execute(
                    "INSERT INTO runs (batch, run_index, seed, config, symalr_version, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (batch, index, seed, json.dumps(config, sort_keys=True), version, now),
                )
                ids.append(cur.lastrowid)
                c.execute("INSERT INTO run_events (run_id, event, at) VALUES (?, 'created', ?)",
                          (cur.lastrowid, now))
        return ids

    def add_event(self, run_ids: Iterable[int], event: str, detail: str = "") -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown run event {event!r}")
        now = time.time()
        with self._transaction() as c:
            c.executemany(
                "INSERT INTO run_events (run_id, event, detail, at) VALUES (?, ?, ?, ?)",
                [(r, event, detail, now) for r in run_ids],
            )

    def add_evaluation(self, e: EvaluationRow) -> None:
        """Commit one finished training; a second row for the same cache key is a bug."""
        with self._transaction() as c:
            c.execute(
                "INSERT INTO evaluations (scope, fitness_key, fingerprint, eval_seed, origin_run,"
                " origin_generation, origin_position, fitness, accuracies, epochs, error,"
                " rejected, attempts, seconds, worker, finished_at, stage, details)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (e.scope, e.fitness_key, e.fingerprint, e.eval_seed, *e.origin, e.fitness,
                 json.dumps(list(e.accuracies)), json.dumps(list(e.epochs)), e.error,
                 int(e.rejected), e.attempts, e.seconds, e.worker, time.time(), e.stage,
                 json.dumps(e.details, sort_keys=True)),
            )

    def add_lost_attempt(
        self, scope: int, fitness_key: str, fingerprint: str, attempt: int, reason: str,
        worker: str,
    ) -> None:
        with self._transaction() as c:
            c.execute(
                "INSERT INTO lost_attempts (scope, fitness_key, fingerprint, attempt, reason,"
                " worker, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (scope, fitness_key, fingerprint, attempt, reason, worker, time.time()),
            )

    def add_generations(
        self, rows: Sequence[tuple[GenerationRow, Sequence[IndividualRow]]]
    ) -> None:
        """Several runs' completed generations (row and members) in one transaction."""
        now = time.time()
        with self._transaction() as c:
            for g, members in rows:
                c.execute(
                    "INSERT INTO generations (run_id, generation, rng_state, best, mean,"
                    " n_trained, n_cache_hits, n_rejected, n_elite, seconds, finished_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (g.run_id, g.generation, json.dumps(g.rng_state, sort_keys=True), g.best,
                     g.mean, g.n_trained, g.n_cache_hits, g.n_rejected, g.n_elite, g.seconds,
                     now),
                )
                c.executemany(
                    "INSERT INTO individuals (run_id, generation, position, genotype, phenotype,"
                    " spec, canonical, fingerprint, parents, operator, fitness, source,"
                    " rejection) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(i.run_id, i.generation, i.position, json.dumps(i.genotype, sort_keys=True),
                      i.phenotype, i.spec, i.canonical, i.fingerprint, json.dumps(list(i.parents)),
                      i.operator, i.fitness, i.source, i.rejection) for i in members],
                )

    # ------------------------------------------------------------------ reading

    def runs(self, batch: int | None = None) -> list[RunRow]:
        """All runs (of one batch), by id, each with its status (latest event)."""
        sql = (
            "SELECT r.run_id, r.batch, r.run_index, r.seed, r.config,"
            " (SELECT event FROM run_events e WHERE e.run_id = r.run_id"
            "  ORDER BY event_id DESC LIMIT 1) FROM runs r"
        )
        args: tuple = ()
        if batch is not None:
            sql += " WHERE r.batch = ?"
            args = (batch,)
        rows = self._conn.execute(sql + " ORDER BY r.run_id", args).fetchall()
        return [RunRow(r[0], r[1], r[2], r[3],
                       decode_json(r[4], self.path, "runs", f"run {r[0]}", dict), r[5])
                for r in rows]

    def last_generation(self, run_id: int) -> GenerationRow | None:
        row = self._conn.execute(
            "SELECT run_id, generation, rng_state, best, mean, n_trained, n_cache_hits,"
            " n_rejected, n_elite, seconds FROM generations WHERE run_id = ?"
            " ORDER BY generation DESC LIMIT 1", (run_id,),
        ).fetchone()
        return None if row is None else _generation(row, self.path)

    def generations(self, run_id: int) -> list[GenerationRow]:
        rows = self._conn.execute(
            "SELECT run_id, generation, rng_state, best, mean, n_trained, n_cache_hits,"
            " n_rejected, n_elite, seconds FROM generations WHERE run_id = ? ORDER BY generation",
            (run_id,),
        ).fetchall()
        return [_generation(r, self.path) for r in rows]

    def individuals(self, run_id: int, generation: int) -> list[IndividualRow]:
        rows = self._conn.execute(
            f"SELECT {_IND_COLUMNS} FROM individuals WHERE run_id = ? AND generation = ?"
            " ORDER BY position", (run_id, generation),
        ).fetchall()
        return [_individual(r, self.path) for r in rows]

    def first_occurrences(self, run_ids: Sequence[int] | None = None) -> list[IndividualRow]:
        """The first occurrence (by run, generation, position) of every fingerprint that was
        not statically rejected, in that order."""
        where = ""
        args: list = []
        if run_ids is not None:
            where = f"WHERE run_id IN ({','.join('?' * len(run_ids))})"
            args = list(run_ids)
        rows = self._conn.execute(
            f"SELECT {_IND_COLUMNS} FROM individuals {where}"
            " ORDER BY run_id, generation, position", args,
        ).fetchall()
        first: dict[str, IndividualRow] = {}
        for r in rows:
            ind = _individual(r, self.path)
            if ind.source != "rejected" and ind.fingerprint not in first:
                first[ind.fingerprint] = ind
        return list(first.values())

    def deepest_stages(self) -> dict[str, EvaluationRow]:
        """Per fingerprint, its evaluation at the deepest funnel stage it reached beyond
        stage 1 (absent: it was never promoted)."""
        rows = self._conn.execute(
            f"SELECT {_EVAL_COLUMNS} FROM evaluations WHERE stage > 1 ORDER BY stage, eval_id"
        ).fetchall()
        return {e.fingerprint: e for e in (_evaluation(r, self.path) for r in rows)}

    def evaluations_of(self, fingerprint: str) -> list[EvaluationRow]:
        """Every evaluation of ``fingerprint``, by funnel stage then in the order stored."""
        rows = self._conn.execute(
            f"SELECT {_EVAL_COLUMNS} FROM evaluations WHERE fingerprint = ?"
            " ORDER BY stage, eval_id", (fingerprint,)).fetchall()
        return [_evaluation(r, self.path) for r in rows]

    def evaluations_with_key(self, fitness_key: str) -> list[EvaluationRow]:
        """Every evaluation under ``fitness_key`` (one funnel stage), in the order stored."""
        rows = self._conn.execute(
            f"SELECT {_EVAL_COLUMNS} FROM evaluations WHERE fitness_key = ? ORDER BY eval_id",
            (fitness_key,)).fetchall()
        return [_evaluation(r, self.path) for r in rows]

    def best_individuals(self, limit: int, run_ids: Sequence[int] | None = None
                         ) -> list[IndividualRow]:
        """The ``limit`` best distinct fingerprints (first occurrence of each), best first:
        those that reached a deeper funnel stage rank first, then by fitness at that stage,
        then by their own (stage-1) fitness; NaN fitness ranks last; ties go to the earlier
        individual."""
        deepest = self.deepest_stages()

        def key(i: IndividualRow):
            stage = deepest.get(i.fingerprint)
            at = stage.fitness if stage is not None else i.fitness
            return (-(stage.stage if stage is not None else 1),
                    -at if at == at else float("inf"),
                    -i.fitness if i.fitness == i.fitness else float("inf"))

        return sorted(self.first_occurrences(run_ids), key=key)[:limit]

    def evaluation(self, scope: int, fitness_key: str, fingerprint: str) -> EvaluationRow | None:
        row = self._conn.execute(
            f"SELECT {_EVAL_COLUMNS} FROM evaluations"
            " WHERE scope = ? AND fitness_key = ? AND fingerprint = ?",
            (scope, fitness_key, fingerprint),
        ).fetchone()
        return None if row is None else _evaluation(row, self.path)

    def count(self, table: str, where: str = "", args: Sequence = ()) -> int:
        if table not in VOLATILE:
            raise ValueError(f"unknown table {table!r}")
        sql = f"SELECT COUNT(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return int(self._conn.execute(sql, tuple(args)).fetchone()[0])

    def query(self, sql: str, args: Sequence = ()) -> list[tuple]:
        """Read-only SQL for reports (the caller's statement is not modified)."""
        return self._conn.execute(sql, tuple(args)).fetchall()


_IND_COLUMNS = ("run_id, generation, position, genotype, phenotype, spec, canonical, fingerprint,"
                " parents, operator, fitness, source, rejection")
_EVAL_COLUMNS = ("scope, fitness_key, fingerprint, eval_seed, origin_run, origin_generation,"
                 " origin_position, fitness, accuracies, epochs, error, rejected, attempts,"
                 " seconds, worker, stage, details")


def _real(value: float | None) -> float:
    """SQLite stores NaN as NULL: read it back as NaN."""
    return math.nan if value is None else value


def _generation(r: tuple, path: Path) -> GenerationRow:
    return GenerationRow(r[0], r[1], decode_json(r[2], path, "generations",
                                                 f"run {r[0]} generation {r[1]}", dict),
                         _real(r[3]), _real(r[4]), r[5], r[6], r[7], r[8], r[9])


def _individual(r: tuple, path: Path) -> IndividualRow:
    row = f"run {r[0]} generation {r[1]} position {r[2]}"
    return IndividualRow(r[0], r[1], r[2], decode_json(r[3], path, "individuals", row, dict),
                         r[4], r[5], r[6], r[7],
                         tuple(decode_json(r[8], path, "individuals", row, list)), r[9],
                         _real(r[10]), r[11], r[12])


def _evaluation(r: tuple, path: Path) -> EvaluationRow:
    row = f"scope {r[0]} key {r[1]} fingerprint {r[2]}"
    return EvaluationRow(r[0], r[1], r[2], r[3], (r[4], r[5], r[6]), _real(r[7]),
                         tuple(decode_json(r[8], path, "evaluations", row, list)),
                         tuple(decode_json(r[9], path, "evaluations", row, list)), r[10],
                         bool(r[11]), r[12], r[13], r[14], r[15],
                         decode_json(r[16], path, "evaluations", row, dict))
