"""Kill -9 at random points, resume, and get the uninterrupted run's database (see docs/store.md)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from test_evolve_run import ROOT, cli_args, tiny_settings

from symalr.errors import StoreError
from symalr.evolve.store import Store, dump


def evolve(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "symalr.cli", "evolve", *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    return err


def committed(path) -> int:
    """Evaluations plus generations committed so far (0 while the file is not ready)."""
    try:
        with Store.open(path, readonly=True) as store:
            return store.count("evaluations") + store.count("generations")
    except (sqlite3.Error, StoreError):
        return 0


def kill_when(proc: subprocess.Popen, path, target: int) -> bool:
    """SIGKILL ``proc`` once ``target`` rows are committed; False if it finished first."""
    while proc.poll() is None:
        if committed(path) >= target:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
            return True
        time.sleep(0.02)
    return False


SETTINGS = cli_args(tiny_settings(**{"executor.workers": 1}))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("uninterrupted") / "ref.db"
    finish(evolve("--db", str(path), "--no-report", *SETTINGS))
    return path


def test_kill_nine_at_random_points_then_resume_is_identical(reference, tmp_path):
    total = committed(reference)
    rng = np.random.default_rng(2024)
    targets = sorted(int(t) for t in rng.choice(np.arange(1, total), size=3, replace=False))
    path = tmp_path / "killed.db"
    kills = 0
    proc = evolve("--db", str(path), "--no-report", *SETTINGS)
    for target in targets:
        kills += kill_when(proc, path, target)
        before = committed(path)
        show = subprocess.run([sys.executable, "-m", "symalr.cli", "show", str(path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert show.returncode == 0 and "run 1: " in show.stdout, show.stderr
        proc = evolve("--resume", str(path), "--no-report")
        assert before <= total
    err = finish(proc)
    assert kills >= 2 and "resuming after generation" in err
    assert dump(path) == dump(reference)
    with Store.open(path, readonly=True) as store:
        events = [e for (e,) in store.query("SELECT event FROM run_events WHERE run_id = 1"
                                            " ORDER BY event_id")]
    assert events[:2] == ["created", "started"] and events[-1] == "finished"
    assert 1 <= events.count("resumed") <= len(targets)


def test_resume_of_a_finished_experiment_changes_nothing(reference, tmp_path):
    before = dump(reference, volatile=True)
    err = finish(evolve("--resume", str(reference), "--no-report"))
    assert "nothing to resume" in err
    assert dump(reference, volatile=True) == before
