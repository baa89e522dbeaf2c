"""Helper processes that never outlive the process that started them.

Every process symalr starts for work (evaluation workers, parallel simplification, baseline
tuning) calls :func:`die_with_parent` first: killed or crashed, the main process leaves no
worker behind, blocked forever on a queue it will never be sent anything on.
"""

from __future__ import annotations

import os
import signal


def die_with_parent(parent: int | None = None) -> None:
    """Have the kernel kill this process when its parent dies, even by SIGKILL (Linux
    ``PR_SET_PDEATHSIG``; elsewhere a no-op). With ``parent`` (the starter's pid), exit at once
    if the parent is already gone (it died before the signal was armed). Usable as a
    ``ProcessPoolExecutor`` initializer: ``initializer=die_with_parent,
    initargs=(os.getpid(),)``."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if parent is not None and os.getppid() != parent:
        os._exit(0)
