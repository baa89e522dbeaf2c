"""Helper processes die with the process that started them (symalr.child_process): a main
process killed by SIGKILL leaves no parallel-simplification worker behind (before this, such
workers waited forever on their task queue)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent("""
    import sys, time
    from symalr.evolve.cache import Preparer
    from symalr.evolve.seeds import SEEDS

    preparer = Preparer(workers=2)
    preparer.prepare_all([seed.text for seed in SEEDS.values()])
    print(" ".join(str(pid) for pid in preparer._pool._processes), flush=True)
    time.sleep(600)
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_preparation_workers_die_with_a_killed_main_process():
    main = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(p) for p in main.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
    finally:
        os.kill(main.pid, signal.SIGKILL)
        main.wait()
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "a worker outlived its main process"
