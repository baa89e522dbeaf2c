"""The Ray executor on a local single-node Ray: the local executor's results, and a
Ray worker killed mid-evaluation costs a retry, not the evaluation (see docs/store.md).

Ray binds its services to the machine's own network address, not to loopback. So that the
test's traffic stays on loopback, it runs inside a network namespace of its own that holds only
``lo`` (``unshare -n``, as root): there Ray can only use 127.0.0.1. Where no namespace can be
made (not root, no ``unshare``), the test runs directly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_evolve_run import run_experiment

from symalr.evolve.executors import InlineExecutor
from symalr.evolve.store import Store, dump

ray = pytest.importorskip("ray")
from symalr.evolve.executors.ray import RayExecutor  # noqa: E402  (needs ray)

ROOT = Path(__file__).resolve().parents[1]
IN_NAMESPACE = os.environ.get("SYMALR_TEST_NETNS") == "1"


def _can_make_namespace() -> bool:
    if IN_NAMESPACE or os.geteuid() != 0 or not (shutil.which("unshare") and shutil.which("ip")):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


NAMESPACE = _can_make_namespace()


@pytest.mark.skipif(not NAMESPACE, reason="no network namespace can be made here")
def test_ray_in_a_loopback_only_network_namespace():
    """Runs this module's Ray test inside ``unshare -n`` with only ``lo`` up."""
    script = 'ip link set lo up && exec "$0" -m pytest -q -p no:cacheprovider "$1"'
    out = subprocess.run(
        ["unshare", "-n", "sh", "-c", script, sys.executable, str(Path(__file__))],
        env={**os.environ, "SYMALR_TEST_NETNS": "1"}, cwd=ROOT,
        capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert "1 passed" in out.stdout, out.stdout[-2000:]


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


@pytest.mark.skipif(NAMESPACE, reason="runs inside its own network namespace "
                    "(test_ray_in_a_loopback_only_network_namespace)")
def test_ray_matches_local_and_survives_a_killed_worker(local_ray, tmp_path):
    if IN_NAMESPACE:
        assert [n["NodeManagerAddress"] for n in ray.nodes()] == ["127.0.0.1"]
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
