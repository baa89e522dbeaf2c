"""The Ray executor on a local single-node Ray: the local executor's results, and a
Ray worker killed mid-evaluation costs a retry, not the evaluation (SPEC §7)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from test_evolve_run import run_experiment

from symalr.evolve.executors import InlineExecutor
from symalr.evolve.store import Store, dump

ray = pytest.importorskip("ray")
from symalr.evolve.ray_executor import RayExecutor  # noqa: E402  (needs ray)


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (starting one costs seconds); the executor joins it."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def task_pids(name: str = "ray::_run_job") -> list[int]:
    """Ray worker processes currently running an evaluation (Ray titles them by task)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(name.encode()):
                pids.append(int(entry.name))
    return pids


def kill_first_task(limit: float = 90.0) -> threading.Thread:
    def watch():
        end = time.monotonic() + limit
        while time.monotonic() < end:
            pids = task_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_ray_matches_local_and_survives_a_killed_worker(local_ray, tmp_path):
    run_experiment(tmp_path / "inline.db", InlineExecutor())
    with RayExecutor(max_retries=2) as executor:
        assert executor.workers == 2
        watcher = kill_first_task()  # first: a cold worker's first job lasts seconds (imports)
        run_experiment(tmp_path / "ray-killed.db", executor)
        watcher.join()
        run_experiment(tmp_path / "ray.db", executor)
    reference = dump(tmp_path / "inline.db")
    assert dump(tmp_path / "ray.db") == reference
    assert dump(tmp_path / "ray-killed.db") == reference
    with Store.open(tmp_path / "ray-killed.db", readonly=True) as store:
        lost = store.query("SELECT fingerprint, reason FROM lost_attempts")
        assert len(lost) == 1 and "Worker" in lost[0][1]
        assert store.query("SELECT attempts FROM evaluations WHERE fingerprint = ?",
                           (lost[0][0],)) == [(2,)]
    assert ray.is_initialized()  # the executor left the Ray it joined running
