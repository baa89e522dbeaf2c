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
