"""The benchmark database: an append-only SQLite store of every benchmark record (see docs/benchmark.md).

Built like the experiment database of ``symalr evolve`` (:mod:`symalr.evolve.store`):
``PRAGMA application_id`` is :data:`APPLICATION_ID` ("SyAB") and ``PRAGMA user_version`` is
:data:`SCHEMA_VERSION`; a file that is not SQLite, or SQLite of another application (an
experiment database included), or of a newer schema, is refused with a :class:`StoreError`
before anything is written (it is checked read-only first), and so is a file that lacks a
table or column. Every write is one transaction, so a killed benchmark loses at most the
trainings in flight. One process writes the file at a time: a second writer is refused at
once. The WAL journal is used while a benchmark writes; closing a writable store returns the
file to a rollback journal, so that the database at rest is one file and read-only opening
(``--report-only``) leaves nothing beside it (:mod:`symalr.sqlite_file`).

Tables (rows are only ever inserted):

- ``benchmarks``: one per ``symalr benchmark`` invocation: config and protocol (JSON, see
  :class:`~symalr.bench.config.BenchConfig`), the command line, the symalr version;
- ``entries``: one per optimizer of a benchmark: the argument it was given as, its name and
  spec (JSON);
- ``tuning_calls``: every training of the tuning: values, best validation accuracy and its
  epoch, per-epoch curve, stop reason, error, seconds;
- ``tunings``: the outcome of an entry's tuning: the chosen values, the trained spec with them
  as defaults, and the *setting* key of (trained spec, protocol);
- ``trials``: every finished trial: its index in its entry, seed, best validation accuracy and
  epoch, test accuracy and loss, per-epoch curve, stop reason, error, seconds.

Trials of equal settings pool in reports, across benchmarks (:meth:`BenchStore.trials`).
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symalr.errors import StoreError
from symalr.sqlite_file import Writer, check_identity, decode_json, readonly_connection

#: ``PRAGMA application_id`` of symalr benchmark databases ("SyAB").
APPLICATION_ID = 0x53794142
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE benchmarks (
    benchmark_id INTEGER PRIMARY KEY, created_at REAL NOT NULL, dataset TEXT NOT NULL,
    config TEXT NOT NULL, protocol TEXT NOT NULL, command TEXT NOT NULL,
    symalr_version TEXT NOT NULL);
CREATE TABLE entries (
    entry_id INTEGER PRIMARY KEY,
    benchmark_id INTEGER NOT NULL REFERENCES benchmarks(benchmark_id),
    position INTEGER NOT NULL, arg TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL,
    UNIQUE (benchmark_id, position));
CREATE TABLE tuning_calls (
    entry_id INTEGER NOT NULL REFERENCES entries(entry_id), call_index INTEGER NOT NULL,
    params TEXT NOT NULL, val_accuracy REAL NOT NULL, best_epoch INTEGER NOT NULL,
    curve TEXT NOT NULL, stop_reason TEXT NOT NULL, error TEXT, seconds REAL NOT NULL,
    PRIMARY KEY (entry_id, call_index));
CREATE TABLE tunings (
    entry_id INTEGER PRIMARY KEY REFERENCES entries(entry_id), params TEXT NOT NULL,
    trained_spec TEXT NOT NULL, setting TEXT NOT NULL, best_call INTEGER);
CREATE TABLE trials (
    entry_id INTEGER NOT NULL REFERENCES tunings(entry_id), trial_index INTEGER NOT NULL,
    seed INTEGER NOT NULL, val_accuracy REAL NOT NULL, best_epoch INTEGER NOT NULL,
    test_accuracy REAL NOT NULL, test_loss REAL, curve TEXT NOT NULL,
    stop_reason TEXT NOT NULL, error TEXT, seconds REAL NOT NULL,
    PRIMARY KEY (entry_id, trial_index));
"""


def setting_key(trained_spec: dict[str, Any], protocol: dict[str, Any]) -> str:
    """Key of a trial setting: the trained spec (tuned values as defaults) and the protocol."""
    return hashlib.sha256(_dumps({"spec": trained_spec, "protocol": protocol}).encode()
                          ).hexdigest()[:24]


@dataclass(frozen=True)
class Training:
    """The stored outcome of one training (a tuning call or a trial). ``curve`` holds one dict
    per epoch: ``epoch, loss, val_loss, val_accuracy, seconds``."""

    val_accuracy: float
    best_epoch: int
    curve: list[dict[str, float]]
    stop_reason: str
    error: str | None
    seconds: float


@dataclass(frozen=True)
class TuningCall:
    call_index: int
    params: dict[str, float]
    training: Training


@dataclass(frozen=True)
class TrialRecord:
    """One stored trial with what reports need of its entry and tuning (a test loss that was
    NaN is stored as NULL and read back as NaN)."""

    benchmark_id: int
    name: str
    setting: str
    trained_spec: dict[str, Any]
    trial_index: int
    seed: int
    test_accuracy: float
    test_loss: float
    training: Training


#: How benchmark databases are called in messages.
KIND = "benchmark database"


def check_database(path: Path) -> None:
    """Raise :class:`StoreError` unless ``path`` is a symalr benchmark database of a known
    schema, with every table and column. Read-only: the file is never modified."""
    check_identity(path, APPLICATION_ID, KIND, SCHEMA_VERSION, _SCHEMA)


class BenchStore:
    """An open benchmark database; :meth:`open` creates it when absent. A context manager.
    A writable store is the file's only writer while open (see :class:`Writer`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, writer: Writer | None = None):
        self._conn = conn
        self._writer = writer
        self.path = path
        self.readonly = writer is None

    @classmethod
    def open(cls, path: str | Path, readonly: bool = False) -> BenchStore:
        """The database at ``path``: checked when it exists, else created (unless
        ``readonly``, which then raises :class:`StoreError`). A writable store is refused
        with a :class:`StoreError` while another process writes the file."""
        path = Path(path)
        if readonly:
            check_database(path)
            conn = readonly_connection(path)
            conn.isolation_level = None
            return cls(conn, path)
        if path.exists():
            writer = Writer.open(path, KIND, check_database)
        else:
            writer = Writer.create(path, KIND, f"{_SCHEMA}; PRAGMA application_id = "
                                               f"{APPLICATION_ID}; PRAGMA user_version = "
                                               f"{SCHEMA_VERSION};")
        return cls(writer.conn, path, writer)

    def close(self) -> None:
        """Close; a writable store first leaves WAL mode and then releases its lock."""
        if self._writer is not None:
            self._writer.close()
        else:
            self._conn.close()

    def __enter__(self) -> BenchStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _transaction(self):
        if self._writer is None:
            raise StoreError(f"{self.path}: opened read-only")
        return self._writer.transaction()

    # ------------------------------------------------------------------ writing

    def add_benchmark(self, config: dict, protocol: dict, command: str) -> int:
        from symalr import __version__

        with self._transaction() as c:
            cur = c.execute(
                "INSERT INTO benchmarks (created_at, dataset, config, protocol, command, "
                "symalr_version) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), protocol["dataset"], _dumps(config), _dumps(protocol), command,
                 __version__))
        return int(cur.lastrowid)

    def add_entry(self, benchmark_id: int, position: int, arg: str, spec: dict) -> int:
        with self._transaction() as c:
            cur = c.execute(
                "INSERT INTO entries (benchmark_id, position, arg, name, spec) "
                "VALUES (?, ?, ?, ?, ?)", (benchmark_id, position, arg, spec["name"], _dumps(spec)))
        return int(cur.lastrowid)

    def add_tuning_call(self, entry_id: int, call: TuningCall) -> None:
        t = call.training
        with self._transaction() as c:
            c.execute("INSERT INTO tuning_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (entry_id, call.call_index, _dumps(call.params), t.val_accuracy,
                       t.best_epoch, _dumps(t.curve), t.stop_reason, t.error, t.seconds))

    def add_tuning(self, entry_id: int, params: dict[str, float], trained_spec: dict,
                   setting: str, best_call: int | None) -> None:
        with self._transaction() as c:
            c.execute("INSERT INTO tunings VALUES (?, ?, ?, ?, ?)",
                      (entry_id, _dumps(params), _dumps(trained_spec), setting, best_call))

    def add_trial(self, entry_id: int, trial_index: int, seed: int, test_accuracy: float,
                  test_loss: float, t: Training) -> None:
        with self._transaction() as c:
            c.execute("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (entry_id, trial_index, seed, t.val_accuracy, t.best_epoch,
                       test_accuracy, None if math.isnan(test_loss) else test_loss,
                       _dumps(t.curve), t.stop_reason, t.error,
                       t.seconds))

    # ------------------------------------------------------------------ reading

    def tuning_calls(self, entry_id: int) -> list[TuningCall]:
        rows = self._conn.execute(
            "SELECT call_index, params, val_accuracy, best_epoch, curve, stop_reason, error, "
            "seconds FROM tuning_calls WHERE entry_id = ? ORDER BY call_index", (entry_id,))
        return [TuningCall(r[0], self._json(r[1], "tuning_calls", f"entry {entry_id} call {r[0]}",
                                            dict),
                           _training(r[2:], self, "tuning_calls", f"entry {entry_id} call {r[0]}"))
                for r in rows]

    def entries(self, benchmark_id: int) -> list[tuple[int, str, str]]:
        """(entry id, argument, name) of a benchmark's optimizers, in order."""
        return [tuple(r) for r in self._conn.execute(
            "SELECT entry_id, arg, name FROM entries WHERE benchmark_id = ? ORDER BY position",
            (benchmark_id,))]

    def latest_protocol(self, dataset: str) -> dict | None:
        """The protocol of the most recent benchmark on ``dataset``, or None."""
        row = self._conn.execute("SELECT protocol FROM benchmarks WHERE dataset = ? "
                                 "ORDER BY benchmark_id DESC LIMIT 1", (dataset,)).fetchone()
        return None if row is None else self._json(row[0], "benchmarks", f"latest of {dataset}",
                                                   dict)

    def trials(self, protocol: dict) -> list[TrialRecord]:
        """Every trial of every benchmark run under ``protocol``, in the order stored."""
        rows = self._conn.execute(
            "SELECT e.benchmark_id, e.name, u.setting, u.trained_spec, t.trial_index, t.seed, "
            "t.test_accuracy, t.test_loss, t.val_accuracy, t.best_epoch, t.curve, "
            "t.stop_reason, t.error, t.seconds FROM trials t "
            "JOIN tunings u ON u.entry_id = t.entry_id "
            "JOIN entries e ON e.entry_id = t.entry_id "
            "JOIN benchmarks b ON b.benchmark_id = e.benchmark_id "
            "WHERE b.protocol = ? ORDER BY t.rowid", (_dumps(protocol),))
        out = []
        for r in rows:
            where = f"benchmark {r[0]} {r[1]} trial {r[4]}"
            out.append(TrialRecord(r[0], r[1], r[2], self._json(r[3], "tunings", where, dict),
                                   r[4], r[5], r[6], math.nan if r[7] is None else r[7],
                                   _training(r[8:], self, "trials", where)))
        return out

    def count(self, table: str) -> int:
        """Rows of one of this store's tables."""
        if table not in ("benchmarks", "entries", "tuning_calls", "tunings", "trials"):
            raise ValueError(f"no table {table!r}")
        return int(self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


    def _json(self, text, table: str, row: str, expect: type) -> Any:
        return decode_json(text, self.path, table, row, expect)


def _training(r, store: BenchStore, table: str, row: str) -> Training:
    return Training(r[0], r[1], store._json(r[2], table, row, list), r[3], r[4], r[5])


def _dumps(value: Any) -> str:
    """Canonical JSON (sorted keys): equal values give equal text, so protocols compare."""
    return json.dumps(value, sort_keys=True)
