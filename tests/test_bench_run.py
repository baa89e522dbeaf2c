"""``symalr benchmark`` end to end on small slices of the real Fashion-MNIST data.

Tiny settings (a proxy MLP, a few hundred images, 1-2 epochs, 3 tuning calls) so that tuning,
trials, storage, statistics, tables and plots all run in seconds. Data from
``$SYMALR_DATA_DIR``, else ``<repo>/../shared/data``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from symalr import catalog
from symalr.bench.config import build_config
from symalr.bench.runner import run_benchmark
from symalr.bench.store import BenchStore
from symalr.bench.tuning import tunable
from symalr.render.latex import latex_document
from tests.support import DATA_DIR

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(model="mlp", train_size=400, val_size=300, batch_size=100, tune_calls=3,
            tune_initial_points=1, tune_epochs=1, trials=2, trial_epochs=2, seed=3)
TINY_FLAGS = ["--model", "mlp", "--train-size", "400", "--val-size", "300", "--batch-size",
              "100", "--tune-calls", "3", "--tune-initial-points", "1", "--tune-epochs", "1",
              "--trials", "2", "--trial-epochs", "2", "--seed", "3"]


def symalr(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYMALR_DATA_DIR": str(DATA_DIR), "SYMALR_NO_DOWNLOAD": "1"}
    return subprocess.run([sys.executable, "-m", "symalr.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=600)


@pytest.fixture
def spec_file(tmp_path) -> Path:
    """A hand-written optimizer given as a spec file (SGD under another name)."""
    path = tmp_path / "plain.json"
    data = catalog.get("sgd").to_json()
    path.write_text(json.dumps({**data, "name": "plain-sgd"}))
    return path


@pytest.mark.slow
def test_rerun_appends_and_tuning_is_recorded_bounded_and_reproducible(tmp_path, spec_file):
    config = build_config("quick", dict(TINY, optimizers=("ades", str(spec_file)),
                                        data_dir=str(DATA_DIR)))
    db = tmp_path / "bench.sqlite"
    lines: list[str] = []
    first = run_benchmark(config, db, "test", progress=lines.append)
    assert [r.label for r in first.rows] == ["ADES", "plain-sgd"]
    assert [r.test.n for r in first.rows] == [2, 2]
    assert all(0.0 < v <= 100.0 for r in first.rows for v in r.test_values)
    assert any(line.startswith("ades: tune 1/3 beta_1=0.08922, beta_2=0.0891 ->")
               for line in lines)

    with BenchStore.open(db, readonly=True) as store:
        entries = store.entries(1)
        assert [(arg, name) for _, arg, name in entries] == [("ades", "ades"),
                                                             (str(spec_file), "plain-sgd")]
        calls = {name: store.tuning_calls(eid) for eid, _, name in entries}
        trials = store.trials(config.protocol())
    for name, spec in (("ades", catalog.get("ades")), ("plain-sgd", catalog.get("sgd"))):
        stored = calls[name]
        assert [c.call_index for c in stored] == [0, 1, 2]
        assert stored[0].params == spec.defaults  # the defaults are the first probe
        for c in stored:
            assert c.training.error is None and c.training.stop_reason == "max_epochs"
            assert len(c.training.curve) == 1 and c.training.best_epoch in (0, 1)
            for h in tunable(spec):
                assert h.low <= c.params[h.name] <= h.high
        best = max(stored, key=lambda c: c.training.val_accuracy)
        row = next(r for r in first.rows if r.name == name)
        assert {p.name: p.value for p in row.params} == {
            h.name: best.params[h.name] for h in tunable(spec)}
    assert len({t.seed for t in trials}) == 2  # trial k has one seed for every optimizer
    assert all(len(t.training.curve) == 2 for t in trials)

    second = run_benchmark(config, db, "test again", progress=lines.append)
    assert [r.test.n for r in second.rows] == [4, 4]  # recomputed from all records
    assert second.benchmarks == 2
    with BenchStore.open(db, readonly=True) as store:
        assert store.count("benchmarks") == 2 and store.count("trials") == 8
        again = {name: store.tuning_calls(eid) for eid, _, name in store.entries(2)}
        trials = store.trials(config.protocol())
    for name in calls:  # the same seed reproduces the same tuning calls
        assert [c.params for c in again[name]] == [c.params for c in calls[name]]
    assert len({t.seed for t in trials}) == 4  # the re-run's trials are new trials


@pytest.mark.slow
def test_cli_writes_tables_and_plots_and_latex_compiles(tmp_path):
    out = symalr("benchmark", "--optimizers", "sign,adam", *TINY_FLAGS, "--db", "b.sqlite",
                 "--out", "results", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("### Fashion-MNIST: tuned parameters and trial accuracy (%)")
    (sign,) = [line for line in out.stdout.splitlines() if "Sign" in line and "lr = " in line]
    assert sign.endswith("| lr = 0.0009 | 92.08 ± 0.13 | 91.29 ± 0.25 |")  # the paper's beside
    assert "sign: trial 2/2 seed" in out.stderr and "adam: tune 3/3" in out.stderr
    results = tmp_path / "results"
    assert (results / "table.md").read_text() == out.stdout
    for png in ("test_accuracy.png", "validation_curves.png"):
        assert (results / png).read_bytes()[:4] == b"\x89PNG"
    again = symalr("benchmark", "--report-only", "--db", "b.sqlite", "--out", "r2", cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == out.stdout
    assert sorted(p.name for p in tmp_path.glob("b.sqlite*")) == ["b.sqlite"]  # one file at rest
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed")
    (tmp_path / "doc.tex").write_text(latex_document((results / "table.tex").read_text()))
    tex = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert tex.returncode == 0, tex.stdout[-2000:]


@pytest.mark.parametrize("args, fragment", [
    (["--optimizers", "adam,adamw"], "unknown optimizer 'adamw'"),
    (["--dataset", "mnist"], "unknown data set 'mnist'"),
    (["--optimizers", "adam", "--trials", "-1"], "trials = -1: expected an integer in [0, 10_000]"),
    (["--optimizers", "adam", "--model", "cifar_cnn"], "model: cifar_cnn takes images of shape"),
    (["--report-only", "--db", "absent.sqlite"], "absent.sqlite: no such benchmark database"),
])  # fmt: skip
def test_user_errors_are_one_line_exit_2(tmp_path, args, fragment):
    out = symalr("benchmark", *args, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and fragment in out.stderr
    assert not (tmp_path / "benchmark.sqlite").exists()  # nothing stored for a bad request


def test_foreign_database_is_refused(tmp_path):
    (tmp_path / "x.sqlite").write_text("plain text")
    out = symalr("benchmark", "--optimizers", "adam", *TINY_FLAGS, "--db", "x.sqlite",
                 cwd=tmp_path)
    assert out.returncode == 2 and "x.sqlite: not an SQLite database" in out.stderr
    assert (tmp_path / "x.sqlite").read_text() == "plain text"


@pytest.mark.slow
def test_best_individual_of_an_evolve_database(tmp_path):
    evolve = symalr("evolve", "--db", "e.db", "--seed-with", "momentum", "--set", "runs=1",
                    "--set", 'search.kind="algorithm1"', "--set", "sge.elitism=1", "--no-report",
                    "--set", "sge.population_size=4", "--set", "sge.generations=1",
                    "--set", "sge.tournament_size=2", "--set", "fitness.splits=[600, 300, 300]",
                    "--set", "fitness.n_evaluations=2", "--set", "fitness.max_epochs=1",
                    "--set", "fitness.batch_size=100", "--set", 'executor.kind="inline"',
                    cwd=tmp_path)
    assert evolve.returncode == 0, evolve.stderr
    out = symalr("benchmark", "--optimizers", "e.db#1", *TINY_FLAGS, "--trials", "1",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "| **evolved_rank1** |" in out.stdout
    with BenchStore.open(tmp_path / "benchmark.sqlite", readonly=True) as store:
        assert store.entries(1)[0][1:] == ("e.db#1", "evolved_rank1")
    missing = symalr("benchmark", "--optimizers", "absent.db#1", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "absent.db" in missing.stderr
