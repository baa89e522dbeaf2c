"""What symalr's SQLite stores (experiments, benchmarks) share: telling their files from any
other file without writing to them, one writer per file, read-only connections that leave
nothing behind, explicit transactions, and decoding of stored JSON.

Identity and layout: each store marks its files with its own ``PRAGMA application_id`` and a
``user_version`` schema number, and :func:`check_identity` also compares the file's tables and
columns with the store's schema; anything else is refused with a one-line StoreError, read-only.

One writer: a :class:`Writer` holds an exclusive ``flock`` on the database file itself for as
long as it is open (a second writer, in this process or another, is refused at once with the
holder's pid where the system tells it). The kernel drops the lock when the process ends, even
by ``kill -9``, so there is never a stale lock to clean up. SQLite's own locks are POSIX
record locks, which are independent of ``flock`` on local file systems.

At rest a database is one file: a writer works in WAL mode and returns the file to the rollback
journal when it closes normally, so read-only use creates no ``-wal``/``-shm`` files (a killed
writer leaves them; the next writer or SQLite's recovery folds them back). Read-only
connections are opened ``immutable`` when the file or its folder cannot be written (read-only
media), where SQLite could not take locks anyway. See docs/files-and-stores.md.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from symalr.errors import StoreError

SQLITE_MAGIC = b"SQLite format 3\x00"


# ------------------------------------------------------------------------ identity, layout


@functools.lru_cache(maxsize=8)
def table_layout(schema: str) -> dict[str, tuple[str, ...]]:
    """Table name -> column names, of the tables that ``schema`` (SQL) creates."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(schema)
        return _layout(conn)
    finally:
        conn.close()


def _layout(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    tables = [t for (t,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')) for t in tables}


def readonly_connection(path: Path) -> sqlite3.Connection:
    """A connection that cannot modify the file. Where the file or its folder cannot be
    written (and no ``-wal`` file waits beside it) it is opened ``immutable``: no locks, no
    journal files, which is what read-only media allow."""
    path = Path(path).resolve()
    query = "mode=ro"
    if not writable(path) and not Path(f"{path}-wal").exists():
        query += "&immutable=1"
    return sqlite3.connect(f"{path.as_uri()}?{query}", uri=True)


def writable(path: Path) -> bool:
    """Whether ``path`` and its folder may be written (SQLite writes journals beside it)."""
    return os.access(path, os.W_OK) and os.access(Path(path).parent, os.W_OK)


def check_identity(path: Path, application_id: int, kind: str, schema_version: int,
                   schema: str | None = None) -> int:
    """Raise :class:`StoreError` unless ``path`` is an SQLite file with ``application_id``, a
    schema version in ``1..schema_version`` and (given ``schema``) every table and column
    that ``schema`` creates (``kind`` names the file in messages, e.g. "experiment
    database"). Read-only. Returns the file's schema version."""
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
            found = _layout(conn) if schema is not None and app_id == application_id else {}
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
    if schema is not None and version < schema_version:
        raise StoreError(f"{path}: a symalr {kind} of schema version {version}, written by an "
                         f"older symalr; this one reads version {schema_version}")
    if schema is not None:
        for table, columns in table_layout(schema).items():
            if table not in found:
                raise StoreError(f"{path}: damaged symalr {kind}: table {table} is missing")
            lacking = [c for c in columns if c not in found[table]]
            if lacking:
                raise StoreError(f"{path}: damaged symalr {kind}: table {table} lacks "
                                 f"column(s) {', '.join(lacking)}")
    return version


# ------------------------------------------------------------------------ one writer


class WriterLock:
    """The exclusive right to write one database file: an ``flock`` on the file, held until
    :meth:`release` (idempotent) or the end of the process."""

    def __init__(self, fd: int, path: Path):
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, path: Path, kind: str) -> WriterLock:
        """Lock the existing file ``path``; :class:`StoreError` at once if another writer
        holds it (naming its pid when the system tells it), or the file or its folder cannot
        be written (read-only media, permissions), or the file cannot be opened."""
        path = Path(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise StoreError(f"{path}: no such {kind}") from None
        except OSError as err:
            raise StoreError(f"{path}: cannot open ({err.strerror})") from None
        if not writable(path):
            os.close(fd)
            raise StoreError(f"{path}: read-only; a writer needs write access to the {kind} "
                             f"and its folder")
        return cls._locked(fd, path, kind)

    @classmethod
    def create(cls, path: Path, kind: str) -> WriterLock:
        """Create ``path`` as an empty file (it must not exist) and lock it."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            raise StoreError(f"{path}: already exists") from None
        except OSError as err:
            raise StoreError(f"{path}: cannot create {kind} ({err.strerror})") from None
        try:
            return cls._locked(fd, path, kind)
        except StoreError:
            path.unlink(missing_ok=True)  # ours, empty, and locked by a process that lost a race
            raise

    @classmethod
    def _locked(cls, fd: int, path: Path, kind: str) -> WriterLock:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _flock_holder(fd)
            os.close(fd)
            who = ("another store of this process" if pid == os.getpid() else
                   f"another process (pid {pid})" if pid else "another process")
            raise StoreError(f"{path}: {who} is writing this {kind}; one writer at a time "
                             f"(wait for it to end, or stop it)") from None
        except OSError as err:
            os.close(fd)
            raise StoreError(f"{path}: cannot lock {kind} ({err.strerror})") from None
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def _flock_holder(fd: int) -> int | None:
    """The pid holding an ``flock`` on ``fd``'s file, from ``/proc/locks`` (Linux), or None."""
    st = os.fstat(fd)
    key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()
                if "->" not in fields and "FLOCK" in fields and key in fields:
                    pid = int(fields[fields.index(key) - 1])
                    return pid if pid > 0 else None
    except (OSError, ValueError):
        pass
    return None


class Writer:
    """The one connection that writes a database file, with the :class:`WriterLock` that
    makes it the only one. Journal: WAL while open; the rollback journal again after
    :meth:`close`, so the file at rest is self-contained."""

    def __init__(self, conn: sqlite3.Connection, lock: WriterLock, path: Path):
        self.conn = conn
        self.lock = lock
        self.path = path

    @classmethod
    def create(cls, path: Path, kind: str, init: str) -> Writer:
        """A new database at ``path`` set up by the SQL script ``init`` (run in one
        transaction). On failure nothing is left behind."""
        path = Path(path)
        lock = WriterLock.create(path, kind)
        conn = None
        try:
            conn = cls._connect(path)
            conn.executescript(f"BEGIN IMMEDIATE; {init}; COMMIT;")
        except BaseException as err:
            if conn is not None:
                conn.close()
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
            lock.release()
            if isinstance(err, sqlite3.OperationalError):
                raise StoreError(f"{path}: cannot create {kind} ({err})") from None
            raise
        return cls(conn, lock, path)

    @classmethod
    def open(cls, path: Path, kind: str, check: Callable[[Path], Any],
             lock: WriterLock | None = None) -> Writer:
        """The existing database ``path`` for writing: locked first (or with ``lock``, which
        this writer then owns), then ``check``-ed read-only, then opened. Nothing is written
        before all three succeeded; the lock is released on failure."""
        path = Path(path)
        lock = lock or WriterLock.acquire(path, kind)
        try:
            check(path)
            return cls(cls._connect(path), lock, path)
        except sqlite3.DatabaseError as err:
            lock.release()
            raise StoreError(f"{path}: cannot open for writing ({err})") from None
        except BaseException:
            lock.release()
            raise

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
        except BaseException:
            conn.close()
            raise
        return conn

    def transaction(self):
        return transaction(self.conn, self.path)

    def close(self) -> None:
        """Back to the rollback journal (skipped, harmlessly, while a reader holds the WAL or
        the disk refuses), close, and release the lock."""
        if self.conn is None:
            return
        try:
            self.conn.execute("PRAGMA busy_timeout=0")
            self.conn.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.DatabaseError:
            pass
        finally:
            self.conn.close()
            self.conn = None
            self.lock.release()


# ------------------------------------------------------------------------ transactions, JSON


@contextmanager
def transaction(conn: sqlite3.Connection, path: Path | None = None
                ) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception (autocommit
    connections). A database the system will not let us write (full disk, file-size limit,
    read-only file, I/O error) raises :class:`StoreError` naming ``path``; constraint
    violations (bugs) propagate unchanged."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
        raise
    except sqlite3.DatabaseError as err:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass
        raise StoreError(f"{path or 'database'}: cannot write ({err})") from None


def decode_json(text: Any, path: Path, table: str, row: str, expect: type | None = None) -> Any:
    """The value of JSON column text ``text`` of ``row`` (e.g. "run 3") of ``table``;
    :class:`StoreError` naming them when it is not JSON, or not of type ``expect``."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as err:
        raise StoreError(f"{path}: corrupt JSON in table {table}, {row} ({err})") from None
    if expect is not None and not isinstance(value, expect):
        raise StoreError(f"{path}: table {table}, {row}: expected a JSON "
                         f"{'object' if expect is dict else 'array'}, found "
                         f"{type(value).__name__}")
    return value
