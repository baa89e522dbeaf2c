"""Tasks: what an optimizer is trained on (docs/tasks.md).

- :mod:`.base` — the :class:`Task` value, its data (:class:`TaskData`, :class:`Split`) and
  scores;
- :mod:`.builtin` — the built-in suite and the paper's set-ups;
- :mod:`.run` — one training of an optimizer on a task (torch);
- :mod:`.baselines` — tuned Adam and SGD-momentum per task, cached;
- this module — finding a task by name or by a user's entry point, and checking it.

A task is named by a built-in name (``symalr tasks`` lists them) or a user entry point
``module:function`` or ``path/to/file.py:function``: a function without arguments returning a
:class:`Task`. :func:`check_task` proves a task usable before anything is written: its model
has trainable parameters and its data have the shapes and types its loss needs. Every problem
is a :class:`~symalr.errors.TaskError`, one line naming the task.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from pathlib import Path

from symalr.errors import SymalrError, TaskError
from symalr.tasks.base import Split, Task, TaskData
from symalr.tasks.builtin import BUILTIN, PAPER, SUITE

__all__ = ["BUILTIN", "PAPER", "SUITE", "Split", "Task", "TaskData", "check_task", "get_task",
           "task_names"]


def task_names() -> tuple[str, ...]:
    """The built-in tasks: the suite, then the paper's set-ups."""
    return SUITE + PAPER


def is_entry_point(name: str) -> bool:
    """Whether ``name`` names a user entry point (``module:function``) rather than a built-in."""
    return ":" in name


def _load_entry(entry: str):
    target, _, function = entry.rpartition(":")
    if not target or not function.isidentifier():
        raise TaskError(f"task {entry!r}: write a user task as module:function or "
                        "path/to/file.py:function")
    try:
        if target.endswith(".py") or "/" in target:
            path = Path(target)
            if not path.is_file():
                raise TaskError(f"task {entry!r}: no such file {target}")
            name = f"symalr_user_task_{abs(hash(str(path.resolve())))}"
            if name not in sys.modules:
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules[name]
                    raise
            module = sys.modules[name]
        else:
            module = importlib.import_module(target)
    except TaskError:
        raise
    except Exception as err:
        raise TaskError(f"task {entry!r}: cannot import {target} "
                        f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
                        ) from None
    found = getattr(module, function, None)
    if not callable(found):
        raise TaskError(f"task {entry!r}: {target} has no function {function!r}")
    return found


def get_task(name: str, data_dir: str | None = None) -> Task:
    """The task called ``name``: a built-in (``data_dir`` its data folder, else the usual
    lookup) or a user entry point, whose function is called without arguments."""
    if not isinstance(name, str) or not name:
        raise TaskError(f"task {name!r}: give a task name or module:function")
    if name in BUILTIN:
        return BUILTIN[name](data_dir)
    if not is_entry_point(name):
        raise TaskError(f"unknown task {name!r} (built-in: {', '.join(task_names())}; or a user "
                        "task as module:function)")
    try:
        task = _load_entry(name)()
    except TaskError:
        raise
    except Exception as err:
        raise TaskError(f"task {name!r}: the function raised {type(err).__name__}: "
                        f"{str(err).splitlines()[0] if str(err) else ''}") from None
    if not isinstance(task, Task):
        raise TaskError(f"task {name!r}: the function returned {type(task).__name__}, not a "
                        "symalr.tasks.Task")
    return task


def _shape_of(split: Split, where: str):
    import numpy as np

    if not hasattr(split, "x") or not hasattr(split, "y"):
        raise TaskError(f"{where}: a split must be a symalr.tasks.Split(x, y)")
    try:
        x, y = np.asarray(split.x), np.asarray(split.y)
    except Exception:
        raise TaskError(f"{where}: x and y must be arrays") from None
    if x.ndim < 2 or y.ndim < 1 or len(x) != len(y) or len(y) == 0:
        raise TaskError(f"{where}: x must have shape (N, ...) and y (N, ...) with the same "
                        f"N > 0, got x {x.shape} and y {y.shape}")
    return x, y


def check_task(task: Task, seed: int = 0) -> None:
    """Raise :class:`TaskError` unless ``task`` can be trained: its data for ``seed`` are a
    :class:`TaskData` of consistent splits whose targets suit the metric, its model has
    trainable parameters and maps a batch of inputs to outputs the loss accepts."""
    import numpy as np
    import torch

    where = f"task {task.name}"
    try:
        data = task.data(seed)
    except SymalrError:  # missing data, a TaskError of a nested task: as they are
        raise
    except Exception as err:
        raise TaskError(f"{where}: data({seed}) raised {type(err).__name__}: "
                        f"{str(err).splitlines()[0] if str(err) else ''}") from None
    if not isinstance(data, TaskData):
        raise TaskError(f"{where}: data({seed}) returned {type(data).__name__}, not a "
                        "symalr.tasks.TaskData")
    shapes = []
    for part in ("train", "validation", "test"):
        x, y = _shape_of(getattr(data, part), f"{where}: {part} split")
        if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
            raise TaskError(f"{where}: {part} inputs must be finite numbers")
        if task.metric == "accuracy" and (not np.issubdtype(y.dtype, np.integer) or y.ndim != 1
                                          or y.min() < 0):
            raise TaskError(f"{where}: {part} targets must be non-negative integer class "
                            f"labels of shape (N,) for metric 'accuracy', got {y.dtype} "
                            f"{y.shape}")
        shapes.append((x.shape[1:], y.shape[1:]))
    if len({s for s in shapes}) != 1:
        raise TaskError(f"{where}: the splits' example shapes differ: "
                        f"{[s[0] for s in shapes]}")
    try:
        model = task.model(seed)
    except Exception as err:
        raise TaskError(f"{where}: model({seed}) raised {type(err).__name__}: "
                        f"{str(err).splitlines()[0] if str(err) else ''}") from None
    if not isinstance(model, torch.nn.Module):
        raise TaskError(f"{where}: model({seed}) returned {type(model).__name__}, not a "
                        "torch.nn.Module")
    if not any(p.requires_grad for p in model.parameters()):
        raise TaskError(f"{where}: the model has no trainable parameters")
    x, y = _shape_of(data.train, f"{where}: train split")
    batch = torch.as_tensor(np.array(x[:2]), dtype=torch.float32)
    try:
        with torch.no_grad():
            out = model(batch)
    except Exception as err:
        raise TaskError(f"{where}: the model cannot take the data's inputs of shape "
                        f"{tuple(x.shape[1:])} ({type(err).__name__}: "
                        f"{str(err).splitlines()[0] if str(err) else ''})") from None
    if task.metric == "accuracy":
        classes = int(max(np.asarray(getattr(data, p).y).max() for p in
                          ("train", "validation", "test"))) + 1
        if out.dim() != 2 or out.shape[0] != len(batch) or out.shape[1] < classes:
            raise TaskError(f"{where}: the model must output (N, classes >= {classes}) logits, "
                            f"got {tuple(out.shape)}")
    elif out.numel() != math.prod(np.asarray(y[:2]).shape):
        raise TaskError(f"{where}: the model outputs {tuple(out.shape)} for targets of shape "
                        f"{np.asarray(y[:2]).shape}")
