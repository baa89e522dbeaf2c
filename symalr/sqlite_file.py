"""What symalr's SQLite stores (experiments, benchmarks) share: telling their files from any
other file without writing to them, read-only connections, and explicit transactions.

Each store marks its files with its own ``PRAGMA application_id`` and a ``user_version``
schema number; :func:`check_identity` refuses anything else with a one-line StoreError.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from symalr.errors import StoreError

SQLITE_MAGIC = b"SQLite format 3\x00"


def readonly_connection(path: Path) -> sqlite3.Connection:
    """A connection that cannot modify the file."""
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)


def check_identity(path: Path, application_id: int, kind: str, schema_version: int) -> int:
    """Raise :class:`StoreError` unless ``path`` is an SQLite file with ``application_id`` and a
    schema version in ``1..schema_version`` (``kind`` names the file in messages, e.g.
    "experiment database"). Read-only. Returns the file's schema version."""
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such {kind}")
    if not path.is_file():
        raise StoreError(f"{path}: not a file")
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as err:
        raise StoreError(f"{path}: cannot read ({err.strerror})") from None
    if head != SQLITE_MAGIC:
        raise StoreError(f"{path}: not an SQLite database, so not a symalr {kind}")
    try:
        conn = readonly_connection(path)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{path}: unreadable SQLite database ({err})") from None
    if app_id != application_id:
        raise StoreError(f"{path}: a foreign SQLite database, not a symalr {kind} "
                         f"(application_id {app_id:#x}, expected {application_id:#x})")
    if version > schema_version:
        raise StoreError(f"{path}: schema version {version} is newer than this symalr knows "
                         f"({schema_version})")
    if version < 1:
        raise StoreError(f"{path}: symalr {kind} without a schema (version {version})")
    return version


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception (autocommit connections)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
