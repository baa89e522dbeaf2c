"""Identity, schema and comparison of experiment databases (see :mod:`symalr.evolve.store`).

:func:`check_database` tells a symalr database (identity, version, tables and columns) from
anything else without writing to it; :func:`dump` reads every table in natural-key order
without the machine-dependent columns, so two databases of the same seed and configuration
compare equal.
"""

from __future__ import annotations

from pathlib import Path

from symalr.errors import StoreError  # noqa: F401 (re-exported for callers)
from symalr.sqlite_file import check_identity, readonly_connection  # noqa: F401

#: ``PRAGMA application_id`` of symalr experiment databases ("SyAL").
APPLICATION_ID = 0x5379414C
#: 2: evaluations carry their funnel ``stage`` and a task fitness's ``details`` (JSON).
SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY,
    batch INTEGER NOT NULL,
    run_index INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    symalr_version TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (batch, run_index)
);
CREATE TABLE run_events (
    event_id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    event TEXT NOT NULL CHECK (event IN ('created', 'started', 'resumed', 'finished')),
    detail TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE TABLE generations (
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    generation INTEGER NOT NULL,
    rng_state TEXT NOT NULL,
    best REAL,
    mean REAL,
    n_trained INTEGER NOT NULL,
    n_cache_hits INTEGER NOT NULL,
    n_rejected INTEGER NOT NULL,
    n_elite INTEGER NOT NULL,
    seconds REAL NOT NULL,
    finished_at REAL NOT NULL,
    PRIMARY KEY (run_id, generation)
);
CREATE TABLE individuals (
    run_id INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    position INTEGER NOT NULL,
    genotype TEXT NOT NULL,
    phenotype TEXT NOT NULL,
    spec TEXT NOT NULL,
    canonical TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    parents TEXT NOT NULL,
    operator TEXT NOT NULL,
    fitness REAL,
    source TEXT NOT NULL CHECK (source IN ('trained', 'cache', 'rejected', 'elite')),
    rejection TEXT,
    PRIMARY KEY (run_id, generation, position),
    FOREIGN KEY (run_id, generation) REFERENCES generations(run_id, generation)
);
CREATE TABLE evaluations (
    eval_id INTEGER PRIMARY KEY,
    scope INTEGER NOT NULL,
    fitness_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    eval_seed INTEGER NOT NULL,
    origin_run INTEGER NOT NULL REFERENCES runs(run_id),
    origin_generation INTEGER NOT NULL,
    origin_position INTEGER NOT NULL,
    fitness REAL,
    accuracies TEXT NOT NULL,
    epochs TEXT NOT NULL,
    error TEXT,
    rejected INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    seconds REAL NOT NULL,
    worker TEXT NOT NULL,
    finished_at REAL NOT NULL,
    stage INTEGER NOT NULL DEFAULT 1,
    details TEXT NOT NULL DEFAULT '{}',
    UNIQUE (scope, fitness_key, fingerprint)
);
CREATE TABLE lost_attempts (
    attempt_id INTEGER PRIMARY KEY,
    scope INTEGER NOT NULL,
    fitness_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    reason TEXT NOT NULL,
    worker TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX individuals_fingerprint ON individuals(fingerprint);
"""

#: Per table, the columns whose values depend on the machine, not on the seed: ``None`` means
#: the whole table (see :func:`dump`).
VOLATILE: dict[str, tuple[str, ...] | None] = {
    "runs": ("created_at", "symalr_version"),
    "run_events": None,
    "generations": ("seconds", "finished_at"),
    "individuals": (),
    "evaluations": ("eval_id", "attempts", "seconds", "worker", "finished_at"),
    "lost_attempts": None,
}
_ORDER = {
    "runs": "run_id",
    "generations": "run_id, generation",
    "individuals": "run_id, generation, position",
    "evaluations": "scope, fitness_key, fingerprint",
}


#: How experiment databases are called in messages.
KIND = "experiment database"


def check_database(path: Path) -> None:
    """Raise :class:`StoreError` unless ``path`` is a readable symalr database of a schema this
    version knows, with every table and column of :data:`SCHEMA`. Opens read-only: the file is
    never modified."""
    check_identity(path, APPLICATION_ID, KIND, SCHEMA_VERSION, SCHEMA)


def dump(path: Path, volatile: bool = False) -> dict[str, list[tuple]]:
    """Every table's rows in natural-key order, without the :data:`VOLATILE` columns (and
    tables) unless ``volatile``: two databases of the same seed and configuration have equal
    dumps, whatever executor ran them and however often they were killed and resumed."""
    check_database(Path(path))
    conn = readonly_connection(Path(path))
    try:
        out: dict[str, list[tuple]] = {}
        for table, drop in VOLATILE.items():
            if drop is None and not volatile:
                continue
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            keep = [c for c in columns if volatile or c not in (drop or ())]
            order = _ORDER.get(table, columns[0])
            out[table] = conn.execute(
                f"SELECT {', '.join(keep)} FROM {table} ORDER BY {order}").fetchall()
        return out
    finally:
        conn.close()
