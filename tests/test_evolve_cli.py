"""``symalr evolve``, ``show`` and ``DB#N``: products on stdout, one-line errors, exit 2, and
no write to any database a user error concerns."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from test_evolve_run import ROOT, cli_args, tiny_settings

from symalr.evolve.config import resolve_config
from symalr.evolve.query import best_spec
from symalr.evolve.runner import create_runs
from symalr.evolve.store import Store


def symalr(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symalr.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def snapshot(path):
    return os.stat(path).st_mtime_ns, path.read_bytes()


def one_line_error(out: subprocess.CompletedProcess, fragment: str) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stdout == "" and "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("symalr: ")]
    assert len(lines) == 1 and fragment in lines[0], out.stderr


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny experiment made through the command line, with its output."""
    folder = tmp_path_factory.mktemp("cli")
    db = folder / "e.db"
    out = symalr("evolve", "--db", str(db), "--seed-with", "momentum",
                 *cli_args(tiny_settings(**{"executor.kind": "inline"})))
    assert out.returncode == 0, out.stderr
    return db, out


def test_evolve_prints_latex_progress_and_writes_the_report(finished):
    db, out = finished
    assert "\\begin{align" in out.stdout and "% rank 1: fitness" in out.stdout
    assert f"experiment database {db}" in out.stderr
    gens = [line for line in out.stderr.splitlines() if line.startswith("symalr: gen ")]
    assert len(gens) == 3 and all("evals/min" in g and "cache hits" in g for g in gens)
    report = db.with_name("e-report")
    for name in ("best.tex", "best_optimizer.py", "fitness.png", "fitness.csv"):
        assert (report / name).stat().st_size > 0
    assert (report / "fitness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    compile((report / "best_optimizer.py").read_text(), "best_optimizer.py", "exec")
    assert len((report / "fitness.csv").read_text().splitlines()) == 1 + 3


def test_show_and_rank_lookup(finished):
    db, _ = finished
    out = symalr("show", str(db), "--top", "2")
    assert out.returncode == 0, out.stderr
    assert "run 1: finished, generation 2/2" in out.stdout
    assert "cache hits" in out.stdout and "\n  1. " in out.stdout
    spec = best_spec(db, 1)
    assert spec.name == "evolved_rank1" and "fitness" in spec.doc
    with Store.open(db, readonly=True) as store:
        assert store.best_individuals(1)[0].spec  # rank 1 is a stored individual
    latex = symalr("latex", f"{db}#1")
    assert latex.returncode == 0 and "\\begin{align" in latex.stdout
    one_line_error(symalr("latex", f"{db}#999"), "rank 999 asked for")
    exported = symalr("export", "--from", str(db), "--rank", "1")
    assert exported.returncode == 0, exported.stderr
    compile(exported.stdout, "evolved_rank1.py", "exec")
    assert "(torch.optim.Optimizer):" in exported.stdout
    assert exported.stdout == symalr("export", f"{db}#1").stdout
    one_line_error(symalr("export", "--from", str(db), "--rank", "999"), "rank 999 asked for")
    one_line_error(symalr("export", "ades", "--from", str(db)), "either an optimizer")


def test_bad_config_is_exit_2_and_creates_nothing(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[sge]\npopulation_size = 'many'\n")
    db = tmp_path / "new.db"
    one_line_error(symalr("evolve", "--config", str(bad), "--db", str(db)),
                   "sge.population_size = 'many'")
    one_line_error(symalr("evolve", "--set", "sge.popsize=3", "--db", str(db)),
                   "unknown key sge.popsize")
    one_line_error(symalr("evolve", "--seed-with", "adamw", "--db", str(db)),
                   "unknown seed optimizer 'adamw'")
    assert not db.exists()


@pytest.mark.parametrize("kind", ["foreign", "text"])
def test_foreign_or_unreadable_database_is_untouched(tmp_path, kind):
    path = tmp_path / "other.db"
    if kind == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.commit()
        conn.close()
    else:
        path.write_bytes(os.urandom(4096))
    before = snapshot(path)
    for args in (("evolve", "--resume", str(path)), ("evolve", "--db", str(path)),
                 ("show", str(path))):
        one_line_error(symalr(*args), str(path))
    assert snapshot(path) == before


def test_missing_data_is_exit_2_and_leaves_databases_alone(finished, tmp_path):
    env = {"SYMALR_NO_DOWNLOAD": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "SYMALR_DATA_DIR": ""}
    empty = tmp_path / "nodata"
    empty.mkdir()
    db = tmp_path / "new.db"
    settings = tiny_settings(**{"fitness.data_dir": str(empty)})
    one_line_error(symalr("evolve", "--db", str(db), *cli_args(settings), env=env),
                   "fashion-mnist")
    assert not db.exists()
    done, _ = finished
    unfinished = tmp_path / "unfinished.db"
    with Store.create(unfinished) as store:
        create_runs(store, resolve_config(flags=tiny_settings()))
    for path, args in ((done, ("--db", str(done), *cli_args(settings))),
                       (unfinished, ("--resume", str(unfinished), "--data-dir", str(empty)))):
        before = snapshot(path)
        one_line_error(symalr("evolve", *args, env=env), "fashion-mnist")
        assert snapshot(path) == before


def test_resume_refuses_to_change_the_search(finished):
    db, _ = finished
    before = snapshot(db)
    one_line_error(symalr("evolve", "--resume", str(db), "--generations", "9"),
                   "sge.generations: cannot be changed when resuming")
    assert snapshot(db) == before
