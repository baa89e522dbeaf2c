"""Placeholder until the file-safety branch lands (read_input_text only)."""

from __future__ import annotations

import os
import stat


def read_input_text(path, what, error, max_bytes: int = 1 << 20) -> str:
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise error(f"{path}: not a regular file")
            data = f.read(max_bytes + 1)
    except OSError as err:
        raise error(f"{path}: cannot read ({err.strerror})") from None
    if len(data) > max_bytes:
        raise error(f"{path}: larger than {max_bytes} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start})") from None


def atomic_write_text(path, text: str) -> None:
    import tempfile
    from pathlib import Path

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
