"""How symalr reads the files a user hands it and writes the files it produces.

Product files (exported modules, reports, tables, plots, ``generated/``) are written
*atomically*: the bytes go to a temporary file in the target's own folder
(``.<stem>.tmp<random><suffix>``), are flushed and fsynced, and the temporary file is renamed
onto the target with :func:`os.replace`. A reader therefore sees the old file or the new one,
never a half-written one; when anything fails (a full disk, a file-size limit, a read-only
folder) the temporary file is removed, a file that was there before is left untouched, and an
:class:`~symalr.errors.OutputError` says ``PATH: cannot write (reason)`` on one line. A new
file gets the usual permissions (``0o666`` less the umask); a replaced one keeps its mode. A
target that is a symbolic link is written through the link; one that exists but is not a
regular file (a terminal, a pipe, ``/dev/null``) is written directly, since a stream cannot
be replaced.

Input files (specs, individuals, configurations, grammars) are read by
:func:`read_input_text`: regular files only (no directories, FIFOs, devices or sockets, which
could block or never end), at most ``max_bytes`` bytes (checked on the open file and enforced
while reading, so files that misstate their size are bounded too), UTF-8 with an optional
byte-order mark. Every refusal is one line naming the file. See docs/files-and-stores.md.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from symalr.errors import GrammarError, OutputError, SymalrError

#: Default bound on an input file (1 MiB): far above any real spec, individual, configuration
#: or grammar (the shipped grammars are under 10 KB), far below what would hurt to hold.
MAX_INPUT_BYTES = 1 << 20

_KINDS = (
    (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)  # fmt: skip


# ----------------------------------------------------------------------------- reading


def read_input_text(path: str | os.PathLike, what: str, error: type[SymalrError],
                    max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The text of the user's input file ``path``.

    ``what`` names the file's role in messages ("optimizer file", "benchmark config", ...);
    ``error`` is the :class:`SymalrError` subclass raised, with the one-line message
    ``PATH: cannot read WHAT (reason)`` (a :class:`GrammarError` is raised located at
    ``PATH:0:0``). Refused: a missing or unreadable file, anything but a regular file, more
    than ``max_bytes`` bytes, bytes that are not UTF-8 (the message gives the offset of the
    first bad byte). A UTF-8 byte-order mark is dropped. Never blocks on a FIFO and never reads
    more than ``max_bytes + 1`` bytes.
    """
    name = os.fspath(path)

    def refuse(reason: str) -> SymalrError:
        message = f"cannot read {what} ({reason})"
        if issubclass(error, GrammarError):
            return error(message, str(name), 0, 0)
        return error(f"{name}: {message}")

    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        kind = _kind_of(path) if err.errno == errno.ENXIO else None  # e.g. a socket
        raise refuse(f"{kind}, not a regular file" if kind else
                     err.strerror or str(err)) from None
    try:
        st = os.fstat(fd)
        kind = _kind(st.st_mode)
        if kind is not None or not stat.S_ISREG(st.st_mode):
            raise refuse(f"{kind or 'a special file'}, not a regular file")
        if st.st_size > max_bytes:
            raise refuse(f"{st.st_size} bytes, more than the {max_bytes} allowed")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise refuse(err.strerror or str(err)) from None
    finally:
        os.close(fd)
    if size > max_bytes:
        raise refuse(f"more than the {max_bytes} bytes allowed")
    data = b"".join(chunks)
    skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as err:
        raise refuse(f"not UTF-8 text: invalid byte at offset {err.start + skip}") from None


def _kind(mode: int) -> str | None:
    return next((name for test, name in _KINDS if test(mode)), None)


def _kind_of(path: str | os.PathLike) -> str | None:
    try:
        return _kind(os.stat(path).st_mode)
    except OSError:
        return None


# ----------------------------------------------------------------------------- writing


def cannot_write(path: str | os.PathLike, err: OSError) -> OutputError:
    """The one-line error for an OS failure writing ``path``."""
    return OutputError(f"{os.fspath(path)}: cannot write ({err.strerror or err})")


def ensure_folder(path: str | os.PathLike) -> Path:
    """Create folder ``path`` (and its parents) if needed; :class:`OutputError` if it cannot
    be created."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise cannot_write(folder, err) from None
    return folder


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """A binary file whose content replaces ``path`` atomically when the block ends normally.

    If the block raises, or writing, syncing or renaming fails, the temporary file is removed
    and ``path`` is untouched; OS errors become :class:`OutputError`, other exceptions
    propagate unchanged. See the module docstring for modes, links and streams.
    """
    target = Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)
    try:
        old = os.stat(target)
    except OSError:
        old = None
    if old is not None and not stat.S_ISREG(old.st_mode) and not stat.S_ISDIR(old.st_mode):
        try:  # a terminal, a pipe, /dev/null: nothing to replace
            with open(target, "wb") as stream:
                yield stream
        except OSError as err:
            raise cannot_write(path, err) from None
        return
    try:
        fd, tmp = _temporary(target)
    except OSError as err:
        raise cannot_write(path, err) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if old is not None:
            os.chmod(tmp, stat.S_IMODE(old.st_mode))
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise cannot_write(path, err) from None
        raise
    _sync_folder(target.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_output`)."""
    with atomic_output(path) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` with ``text`` in UTF-8, newlines as given, atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_savefig(fig: Any, path: str | os.PathLike, **kwargs: Any) -> None:
    """``fig.savefig`` onto ``path`` atomically. The format is that of ``path``'s suffix
    (``kwargs`` may name another); the temporary file keeps the suffix too."""
    suffix = Path(path).suffix.lstrip(".")
    if suffix and "format" not in kwargs:
        kwargs["format"] = suffix
    with atomic_output(path) as f:
        fig.savefig(f, **kwargs)


def _temporary(target: Path) -> tuple[int, str]:
    """A new file beside ``target`` (``0o666`` less the umask), open for writing."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        name = target.parent / f".{target.stem}.tmp{secrets.token_hex(4)}{target.suffix}"
        try:
            return os.open(name, flags, 0o666), str(name)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(target.parent))


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable, where the system allows it (best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
