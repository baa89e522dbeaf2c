"""Tasks: the built-in suite (deterministic, trainable, Adam beats chance and a no-op), the
Task value's checks, user tasks from entry points (the example through evolve and
benchmark; every user error one line, exit 2), scores and baselines."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from symalr.errors import TaskError
from symalr.tasks import SUITE, Split, Task, TaskData, check_task, get_task, task_names
from symalr.tasks.base import loss_score
from symalr.tasks.run import run_task
from tests.support import one_thread  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = f"{ROOT / 'examples' / 'my_task.py'}:two_moons"


def symalr(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symalr.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def one_line_error(out: subprocess.CompletedProcess, fragment: str) -> None:
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stdout == "" and out.stderr.count("\n") == 1, out.stderr
    assert fragment in out.stderr and "Traceback" not in out.stderr


# ---------------------------------------------------------------------------- the suite


def test_suite_covers_the_characters_asked_for():
    assert len(SUITE) >= 6 and set(SUITE) <= set(task_names())
    docs = {name: get_task(name).doc for name in SUITE}
    assert all(len(doc) > 100 for doc in docs.values())  # each says what it tests and why
    assert get_task("regression").metric == "loss"  # a known minimum, scored by loss
    assert get_task("fmnist_noisy").batch_size <= 8  # noisy gradients


@pytest.mark.parametrize("name", SUITE)
def test_builtin_task_is_deterministic_and_trainable(name):
    task = get_task(name)
    check_task(task)
    a, b, other = task.data(0), task.data(0), task.data(1)
    for part in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(a, part).x, getattr(b, part).x)
        np.testing.assert_array_equal(getattr(a, part).y, getattr(b, part).y)
    assert not np.array_equal(a.train.y, other.train.y) or not np.array_equal(a.train.x,
                                                                             other.train.x)
    w0 = [p.detach().clone() for p in task.model(3).parameters()]
    w1 = [p.detach().clone() for p in task.model(3).parameters()]
    assert all(torch.equal(x, y) for x, y in zip(w0, w1))

    start = time.monotonic()
    adam = max((run_task(task, lambda p, lr=lr: torch.optim.Adam(p, lr=lr), 0)
                for lr in (3e-3, 3e-2)), key=lambda r: r.val_score)
    seconds = time.monotonic() - start
    noop = run_task(task, lambda p: torch.optim.SGD(p, lr=0.0), 0)
    chance = 0.0 if task.metric == "loss" else 1.0 / int(a.train.y.max() + 1)
    assert adam.test_score > noop.test_score + 0.05
    assert adam.test_score > chance + 0.1
    assert seconds < 120  # a loose sanity bound (two trainings); benchmarks/tasks.md measures


def test_loss_score_counts_decades_towards_the_floor():
    assert loss_score(1.0, 1.0, 0.0, 3.0) == 0.0
    assert loss_score(0.01, 1.0, 0.0, 4.0) == pytest.approx(0.5)
    assert loss_score(1e-9, 1.0, 0.0, 3.0) == 1.0
    assert loss_score(2.0, 1.0, 0.0, 3.0) == 0.0 and loss_score(math.nan, 1.0, 0.0, 3.0) == 0.0
    assert loss_score(0.11, 1.1, 0.1, 1.0) == pytest.approx(1.0)


# ---------------------------------------------------------------------------- user tasks


def _tiny_data(seed: int) -> TaskData:
    rng = np.random.default_rng(seed)
    split = Split(rng.normal(size=(40, 3)).astype(np.float32), rng.integers(0, 2, 40))
    return TaskData(split, split, split)


@pytest.mark.parametrize("make, fragment", [
    (lambda: Task("bad name!", _tiny_data, lambda s: torch.nn.Linear(3, 2)), "task name"),
    (lambda: Task("t", _tiny_data, lambda s: torch.nn.Linear(3, 2), loss="hinge"), "loss"),
    (lambda: Task("t", _tiny_data, lambda s: torch.nn.Linear(3, 2), batch_size=0), "batch_size"),
])
def test_task_values_are_checked(make, fragment):
    with pytest.raises(TaskError, match=fragment):
        make()


def test_check_task_catches_models_and_data_that_cannot_train():
    frozen = torch.nn.Linear(3, 2).requires_grad_(False)
    with pytest.raises(TaskError, match="no trainable parameters"):
        check_task(Task("t", _tiny_data, lambda s: frozen))
    with pytest.raises(TaskError, match="cannot take the data's inputs"):
        check_task(Task("t", _tiny_data, lambda s: torch.nn.Linear(5, 2)))
    with pytest.raises(TaskError, match="logits"):
        check_task(Task("t", _tiny_data, lambda s: torch.nn.Linear(3, 1)))
    with pytest.raises(TaskError, match="not a symalr.tasks.TaskData"):
        check_task(Task("t", lambda s: "data", lambda s: torch.nn.Linear(3, 2)))


USER_ERRORS = {
    "missing_module.py": ("", "no such file"),
    "broken.py": ("import not_a_module_anywhere\n", "cannot import"),
    "wrong_type.py": ("def make():\n    return 42\n", "returned int, not a symalr.tasks.Task"),
    "frozen.py": (textwrap.dedent("""
        import numpy as np, torch
        from symalr.tasks import Split, Task, TaskData
        def data(seed):
            s = Split(np.zeros((8, 3), np.float32), np.zeros(8, np.int64))
            return TaskData(s, s, s)
        def make():
            return Task("frozen", data, lambda seed: torch.nn.Linear(3, 2).requires_grad_(False))
        """), "no trainable parameters"),
    "shape.py": (textwrap.dedent("""
        import numpy as np, torch
        from symalr.tasks import Split, Task, TaskData
        def data(seed):
            s = Split(np.zeros((8, 3), np.float32), np.zeros((8, 2), np.int64))
            return TaskData(s, s, s)
        def make():
            return Task("shape", data, lambda seed: torch.nn.Linear(3, 2))
        """), "class labels of shape (N,)"),
}


@pytest.mark.parametrize("name", sorted(USER_ERRORS))
def test_user_task_errors_are_one_line_exit_2(tmp_path, name):
    text, fragment = USER_ERRORS[name]
    if text:
        (tmp_path / name).write_text(text)
    entry = f"{tmp_path / name}:make"
    db = tmp_path / "b.sqlite"
    one_line_error(symalr("benchmark", "--task", entry, "--optimizers", "adam", "--db", str(db),
                          cwd=tmp_path), fragment)
    assert not db.exists()
    edb = tmp_path / "e.db"
    one_line_error(symalr("evolve", "--task", entry, "--db", str(edb), cwd=tmp_path), fragment)
    assert not edb.exists()


def test_unknown_task_name_is_one_line(tmp_path):
    one_line_error(symalr("tasks", "nope", cwd=tmp_path), "unknown task 'nope'")


def test_example_task_through_benchmark_and_evolve(tmp_path):
    db = tmp_path / "b.sqlite"
    out = symalr("benchmark", "--task", EXAMPLE, "--optimizers", "adam,sign", "--db", str(db),
                 "--tune-calls", "2", "--trials", "2", "--out", str(tmp_path / "out"),
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "two_moons" in out.stdout and "| Adam |" in out.stdout
    assert (tmp_path / "out" / "table.tex").is_file()

    edb = tmp_path / "e.db"
    out = symalr("evolve", "--task", EXAMPLE, "--db", str(edb), "--workers", "1",
                 "--set", "sge.population_size=4", "--set", "sge.generations=1",
                 "--set", "sge.tournament_size=2", "--set", "seed_with=[]",
                 "--set", "search.stage2_tasks=[]", "--set", "search.stage3_tasks=[]",
                 "--set", "search.holdout=[]", "--set", "search.multipliers=[1.0]",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "begin{align}" in out.stdout
    show = symalr("show", str(edb), cwd=tmp_path)
    assert show.returncode == 0 and "two_moons" in show.stdout


def test_python_api_runs_without_the_cli(tmp_path):
    code = textwrap.dedent(f"""
        import sys, symalr
        assert "torch" not in sys.modules
        assert "tf" in symalr.export("ades", backend="tf")[:4000].lower()
        assert symalr.latex("sign").startswith("\\\\begin{{align}}")
        assert "regression" in symalr.tasks()
        t = symalr.task({EXAMPLE!r})
        assert t.name == "two_moons"
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_tasks_command_lists_tasks_and_baselines(tmp_path):
    out = symalr("tasks", "regression", "--baselines", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("regression")
    assert "adam: lr" in out.stdout and "sgd_momentum: lr" in out.stdout
    cached = json.loads(next((Path(__import__("os").environ["XDG_CACHE_HOME"]) / "symalr" /
                              "baselines").glob("regression@1-adam-*.json")).read_text())
    assert cached["grid"] and cached["seeds"] == [0, 1] and cached["scores"]
