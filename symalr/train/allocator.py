"""Keep glibc malloc from returning training buffers to the OS every step (see docs/decisions.md).

Measured on the 2-core machines (benchmarks/README.md): a ``mnist_cnn`` epoch (10,600 images,
batch 1,000, channels-last, eager) took ~11-14 s with glibc's default malloc, ~7-10 s of it
system time from ~3.5-5 million minor page faults. The activations of a batch (86-147 MB per
tensor) are above glibc's largest mmap threshold (32 MiB), so each is ``mmap``-ed, faulted in
page by page, and ``munmap``-ed again when freed, every step.

The fix needs no package: at process start, ``mallopt(M_MMAP_MAX, 0)`` makes malloc serve
large blocks from the heap, and a high ``M_TRIM_THRESHOLD`` keeps freed heap memory for the
next step. Steady-state page faults fall to ~0 and the epoch to ~6.3 s (the same as under
tcmalloc or a tuned jemalloc); peak memory grows by ~0.3-0.5 GB. Child processes get the same
setting from the environment (``MALLOC_MMAP_MAX_``/``MALLOC_TRIM_THRESHOLD_``, read by glibc
at start-up) through :func:`allocator_env`.

Set ``SYMALR_ALLOCATOR=default`` to leave malloc alone. On a C library other than glibc (macOS,
musl) nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

#: glibc's mallopt parameter numbers (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
#: Freed heap memory kept before trimming (2 GiB, the largest value mallopt takes).
TRIM_THRESHOLD = 2**31 - 1

_state: dict[str, str] = {}


def _disabled() -> bool:
    return os.environ.get("SYMALR_ALLOCATOR", "").strip().lower() == "default"


def configure_allocator() -> str:
    """Tune this process's malloc for training; idempotent and cheap after the first call.

    Returns what was done, one line: ``"glibc: mmap_max=0, trim_threshold=2147483647"``, or why
    nothing was (``"unchanged: SYMALR_ALLOCATOR=default"``, ``"unchanged: not glibc"``).
    """
    if "result" in _state:
        return _state["result"]
    if _disabled():
        result = "unchanged: SYMALR_ALLOCATOR=default"
    elif platform.libc_ver()[0] != "glibc":
        result = "unchanged: not glibc"
    else:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        ok = libc.mallopt(M_MMAP_MAX, 0) == 1 and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        result = (f"glibc: mmap_max=0, trim_threshold={TRIM_THRESHOLD}" if ok
                  else "unchanged: mallopt refused")
    _state["result"] = result
    return result


def allocator_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: ``os.environ``) with the same malloc settings for a child
    process (glibc reads them at start-up); unchanged under ``SYMALR_ALLOCATOR=default``."""
    env = dict(os.environ if base is None else base)
    if env.get("SYMALR_ALLOCATOR", "").strip().lower() != "default":
        env.setdefault("MALLOC_MMAP_MAX_", "0")
        env.setdefault("MALLOC_TRIM_THRESHOLD_", str(TRIM_THRESHOLD))
    return env
