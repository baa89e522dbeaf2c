"""Evolution runs on real data: determinism across executors, the cache, lost workers.

The helpers at the top (a tiny real configuration, an in-process runner) are shared with the
other evolve test modules, which import them from here.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from symalr import catalog
from symalr.errors import DataError
from symalr.evolve.config import resolve_config
from symalr.evolve.executors import InlineExecutor, Job, LocalPool
from symalr.evolve.progress import Progress
from symalr.evolve.runner import Runner, create_runs
from symalr.evolve.seeds import seed_genotypes
from symalr.evolve.store import Store, dump
from symalr.grammar import load_grammar
from symalr.pipeline import spec_json
from symalr.train.config import to_dict
from tests.support import DATA_DIR

ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> str:
    """The folder with the real data sets (tests/conftest.py resolved it)."""
    return str(DATA_DIR)


def tiny_settings(**extra) -> dict:
    """Two runs of six individuals over two generations, scored by Algorithm 1 on slices of
    300 images: a few seconds, real data, and still a mix of trained, cached and rejected
    individuals."""
    settings = {
        "search.kind": "algorithm1", "seed_with": [], "sge.elitism": 1,
        "sge.mutation_rate": 0.15, "sge.crossover_rate": 0.9,
        "sge.min_init_depth": 6,
        "runs": 2, "seed": 11, "sge.population_size": 6, "sge.generations": 2,
        "sge.tournament_size": 2, "fitness.splits": [600, 300, 300],
        "fitness.n_evaluations": 2, "fitness.max_epochs": 2, "fitness.batch_size": 100,
        "fitness.data_dir": data_dir(),
    }
    settings.update(extra)
    return settings


def cli_args(settings: dict) -> list[str]:
    """``--set`` flags for ``symalr evolve`` equal to ``settings``."""
    out = []
    for key, value in settings.items():
        text = ("[" + ", ".join(map(str, value)) + "]" if isinstance(value, list)
                else f'"{value}"' if isinstance(value, str) else str(value))
        out += ["--set", f"{key}={text}"]
    return out


def run_experiment(path: Path, executor, **settings) -> Store:
    """Run a fresh experiment into ``path`` in this process; returns the closed store."""
    config = resolve_config(flags=tiny_settings(**settings))
    grammar = load_grammar(config.grammar)
    seeds = seed_genotypes(grammar, config.seed_with, config.sge.max_depth)
    with Store.create(path) as store:
        ids = create_runs(store, config)
        store.add_event(ids, "started")
        Runner(store, config, grammar, executor, ids, Progress(open(os.devnull, "w")),
               seeds).run()
    return store


def kill_first_evaluation(pool, after: float = 0.05, limit: float = 60.0) -> threading.Thread:
    """A thread that SIGKILLs the first pool worker seen busy, ``after`` seconds into its job."""

    def watch():
        end = time.monotonic() + limit
        while time.monotonic() < end:
            busy = pool.in_flight()
            if busy:
                time.sleep(after)
                pid = next(iter(busy))
                if pid in pool.in_flight():
                    os.kill(pid, signal.SIGKILL)
                    return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted tiny experiment, evaluated in this process."""
    path = tmp_path_factory.mktemp("reference") / "ref.db"
    run_experiment(path, InlineExecutor())
    return path


@pytest.fixture(scope="module")
def pool():
    """Two pool workers shared by the tests of this module (starting them costs seconds)."""
    with LocalPool(workers=2, max_retries=2) as p:
        yield p


def test_pool_gives_the_inline_results(reference, pool, tmp_path):
    run_experiment(tmp_path / "pool.db", pool)
    assert dump(tmp_path / "pool.db") == dump(reference)


def test_run_is_complete_and_consistent(reference):
    d = dump(reference)
    assert len(d["runs"]) == 2 and len(d["generations"]) == 2 * 3
    assert len(d["individuals"]) == 2 * 3 * 6
    with Store.open(reference, readonly=True) as store:
        sources = dict(store.query("SELECT source, COUNT(*) FROM individuals GROUP BY source"))
        assert sources["trained"] > 0 and sources["rejected"] > 0
        assert sources["elite"] == 2 * 2
        assert store.count("evaluations") == sources["trained"]
        for run in store.runs():
            assert run.status == "finished"
            rows = store.generations(run.run_id)
            assert [g.best for g in rows] == sorted(g.best for g in rows)  # elitism
        rows = store.query("SELECT fitness, accuracies FROM evaluations")
        assert all(f == min(json.loads(a)) for f, a in rows if json.loads(a))


def test_cache_trains_each_distinct_fingerprint_once(tmp_path):
    path = tmp_path / "seeded.db"
    run_experiment(path, InlineExecutor(), seed_with=["momentum", "sgd", "sign"])
    with Store.open(path, readonly=True) as store:
        distinct = store.query("SELECT COUNT(DISTINCT fingerprint) FROM individuals"
                               " WHERE source != 'rejected'")[0][0]
        trainings = store.count("evaluations", "rejected = 0")
        assert trainings == distinct == store.count("evaluations")
        assert store.query("SELECT SUM(n_trained) FROM generations")[0][0] == trainings
        hits = store.query("SELECT SUM(n_cache_hits) FROM generations")[0][0]
        assert hits == store.count("individuals", "source = 'cache'") > 0
        never = store.query(
            "SELECT COUNT(*) FROM individuals i JOIN evaluations e"
            " ON e.fingerprint = i.fingerprint WHERE i.source = 'rejected'")[0][0]
        assert never == 0
        seeds = store.query("SELECT fitness FROM individuals WHERE operator = 'seed'")
        assert len(seeds) == 2 * 3 and len(set(seeds)) == 3  # three seeds, trained once
        assert all(f > 0.15 for (f,) in seeds)  # they learn (chance is 0.1)


def test_private_caches_train_per_run(reference, tmp_path):
    path = tmp_path / "private.db"
    run_experiment(path, InlineExecutor(), share_cache=False)
    shared, private = dump(reference), dump(path)
    assert {row[0] for row in private["evaluations"]} == {1, 2}  # scope = run id
    assert {row[0] for row in shared["evaluations"]} == {0}
    assert len(private["evaluations"]) >= len(shared["evaluations"])
    fitness = [row[10] for row in private["individuals"]]  # same search, same fitness values
    assert fitness == [row[10] for row in shared["individuals"]]


def test_killed_worker_evaluation_is_retried_not_lost(reference, tmp_path):
    path = tmp_path / "killed.db"
    with LocalPool(workers=1, max_retries=2) as fresh:  # its first job loads torch and data:
        watcher = kill_first_evaluation(fresh, after=0.2)  # seconds, so the kill lands inside
        run_experiment(path, fresh)
        watcher.join()
    assert dump(path) == dump(reference)
    with Store.open(path, readonly=True) as store:
        lost = store.query("SELECT fingerprint, attempt, reason FROM lost_attempts")
        assert len(lost) == 1 and "signal 9" in lost[0][2]
        retried = store.query("SELECT attempts FROM evaluations WHERE fingerprint = ?",
                              (lost[0][0],))
        assert retried == [(2,)]


def test_retries_are_capped_with_an_error_result():
    fitness = to_dict(resolve_config(flags=tiny_settings(**{
        "fitness.max_epochs": 30, "fitness.patience": "none"})).fitness)
    job = Job("k", spec_json(catalog.get("adam")), fitness)
    with LocalPool(workers=1, max_retries=0) as pool:
        lost = []
        watcher = kill_first_evaluation(pool, after=0.5)
        (outcome,) = pool.run([job], lambda *a: lost.append(a))
        watcher.join()
    assert outcome.result.fitness == 0.0 and outcome.result.error.startswith("WorkerLost")
    assert outcome.attempts == 1 and len(lost) == 1


def test_worker_errors_reach_the_main_process(tmp_path, monkeypatch):
    fitness = to_dict(resolve_config(flags=tiny_settings(
        **{"fitness.data_dir": str(tmp_path)})).fitness)
    job = Job("k", spec_json(catalog.get("sgd")), fitness)
    monkeypatch.setenv("SYMALR_NO_DOWNLOAD", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with LocalPool(workers=1) as pool, pytest.raises(DataError):
        list(pool.run([job]))


def test_stuck_evaluation_times_out_and_the_pool_goes_on():
    # over a million steps: no machine finishes it within the timeout (2,000 epochs of the tiny
    # split did, on a quiet fast VM)
    long = to_dict(resolve_config(flags=tiny_settings(**{
        "fitness.max_epochs": 10_000, "fitness.patience": "none",
        "fitness.splits": [6000, 300, 300]})).fitness)
    short = to_dict(resolve_config(flags=tiny_settings()).fitness)
    with LocalPool(workers=1, timeout_s=25.0) as pool:  # a new worker's first job loads data
        (stuck,) = pool.run([Job("a", spec_json(catalog.get("sgd")), long)])
        (fine,) = pool.run([Job("b", spec_json(catalog.get("sgd")), short)])
    assert stuck.result.error.startswith("TimeoutError") and stuck.result.fitness == 0.0
    assert fine.result.error is None and fine.result.accuracies
