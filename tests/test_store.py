"""The experiment database: identity checks that never write, append-only transactions."""

from __future__ import annotations

import dataclasses
import os
import sqlite3

import pytest

from symalr.errors import StoreError
from symalr.evolve.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    EvaluationRow,
    GenerationRow,
    IndividualRow,
    Store,
    check_database,
    dump,
)


def snapshot(path):
    st = os.stat(path)
    return st.st_mtime_ns, path.read_bytes()


def _individual(run, gen, pos, fp, fitness, source="trained"):
    return IndividualRow(run, gen, pos, {"start": [0]}, f"p{pos}", "{}", f"c{fp}", fp, (pos,),
                         "init", fitness, source, "reason" if source == "rejected" else None)


def _generation(run, gen, best=0.5):
    return GenerationRow(run, gen, {"state": {"state": 1, "inc": 2}}, best, 0.25, 1, 1, 0, 0, 0.1)


def _evaluation(fp, origin=(1, 0, 0), fitness=0.5):
    return EvaluationRow(0, "key", fp, 0, origin, fitness, (fitness, 0.9), (3, 4), None, False,
                         1, 1.5, "host:1")


@pytest.fixture
def store(tmp_path):
    with Store.create(tmp_path / "e.db") as s:
        yield s


def test_new_database_is_identified(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    check_database(store.path)


def test_create_refuses_an_existing_file(store):
    with pytest.raises(StoreError, match="already exists"):
        Store.create(store.path)


@pytest.mark.parametrize("kind", ["text", "foreign", "newer", "empty", "missing"])
def test_bad_files_are_refused_untouched(tmp_path, kind):
    path = tmp_path / "x.db"
    if kind == "text":
        path.write_text("not a database at all\n" * 50)
    elif kind == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (a)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        conn.close()
    elif kind == "newer":
        Store.create(path).close()
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.close()
    elif kind == "empty":
        path.write_bytes(b"")
    before = snapshot(path) if path.exists() else None
    with pytest.raises(StoreError) as err:
        Store.open(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    expected = {"text": "not an SQLite database", "foreign": "foreign SQLite database",
                "newer": "newer", "empty": "not an SQLite database",
                "missing": "no such experiment database"}[kind]
    assert expected in message
    after = snapshot(path) if path.exists() else None
    assert before == after


def test_runs_events_and_status(store):
    ids = store.add_runs([(3, {"a": 1}), (3, {"a": 1})], "0.1")
    more = store.add_runs([(4, {"a": 2})], "0.1")
    assert ids == [1, 2] and more == [3]
    store.add_event(ids, "started")
    store.add_event([1], "finished")
    runs = store.runs()
    assert [(r.batch, r.run_index, r.status) for r in runs] == [
        (1, 0, "finished"), (1, 1, "started"), (2, 0, "created")]
    assert store.runs(batch=2)[0].config == {"a": 2}
    with pytest.raises(ValueError):
        store.add_event(ids, "exploded")


def test_generation_is_all_or_nothing(store):
    store.add_runs([(0, {})], "0.1")
    good = (_generation(1, 0), [_individual(1, 0, 0, "f1", 0.5)])
    duplicate = (_generation(1, 1), [_individual(1, 1, 0, "f1", 0.5),
                                     _individual(1, 1, 0, "f2", 0.6)])
    with pytest.raises(sqlite3.IntegrityError):
        store.add_generations([good, duplicate])
    assert store.count("generations") == 0 and store.count("individuals") == 0
    store.add_generations([good])
    assert store.last_generation(1).rng_state == {"state": {"state": 1, "inc": 2}}
    assert store.individuals(1, 0)[0].parents == (0,)


def test_an_evaluation_is_stored_once_and_read_back(store):
    store.add_runs([(0, {})], "0.1")
    store.add_evaluation(_evaluation("f1"))
    with pytest.raises(sqlite3.IntegrityError):
        store.add_evaluation(_evaluation("f1"))
    e = store.evaluation(0, "key", "f1")
    assert e.accuracies == (0.5, 0.9) and e.epochs == (3, 4) and e.origin == (1, 0, 0)
    assert store.evaluation(0, "key", "f2") is None
    assert store.evaluation(1, "key", "f1") is None  # another scope


def test_ranking_counts_each_fingerprint_once(store):
    store.add_runs([(0, {})], "0.1")
    store.add_generations([(_generation(1, 0), [
        _individual(1, 0, 0, "a", 0.7), _individual(1, 0, 1, "b", 0.9),
        _individual(1, 0, 2, "r", 0.0, "rejected"), _individual(1, 0, 3, "n", float("nan")),
    ]), ])
    store.add_generations([(_generation(1, 1), [
        _individual(1, 1, 0, "b", 0.9, "elite"), _individual(1, 1, 1, "c", 0.8)])])
    best = store.best_individuals(10)
    assert [(b.fingerprint, b.generation) for b in best] == [("b", 0), ("c", 1), ("a", 0),
                                                              ("n", 0)]


def test_dump_leaves_out_machine_dependent_columns(tmp_path):
    paths = []
    for k, seconds in enumerate((1.0, 99.0)):
        path = tmp_path / f"{k}.db"
        with Store.create(path) as s:
            s.add_runs([(0, {})], f"0.{k}")
            s.add_event([1], "started", f"worker {k}")
            s.add_evaluation(dataclasses.replace(_evaluation("f1"), seconds=seconds,
                                                 worker=f"w{k}", attempts=k + 1))
            s.add_lost_attempt(0, "key", "f1", 1, "worker died", "w")
        paths.append(path)
    assert dump(paths[0]) == dump(paths[1])
    assert dump(paths[0], volatile=True) != dump(paths[1], volatile=True)
    assert "run_events" not in dump(paths[0])


def test_a_closed_database_is_one_file_and_readers_add_nothing(tmp_path):
    path = tmp_path / "e.db"
    with Store.create(path) as s:
        s.add_runs([(0, {})], "0.1")
        assert (tmp_path / "e.db-wal").exists()  # WAL while writing
    assert os.listdir(tmp_path) == ["e.db"]
    with Store.open(path, readonly=True) as s:
        assert [r.run_id for r in s.runs()] == [1]
        with pytest.raises(StoreError, match="opened read-only"):
            s.add_event([1], "started")
    assert os.listdir(tmp_path) == ["e.db"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_one_writer_even_within_a_process(store):
    before = snapshot(store.path)
    with pytest.raises(StoreError, match="another store of this process is writing"):
        Store.open(store.path)
    assert snapshot(store.path) == before
    with Store.open(store.path, readonly=True) as reader:  # readers are not writers
        assert reader.runs() == []
    store.close()
    with Store.open(store.path) as again:
        assert again.add_runs([(0, {})], "0.1") == [1]
