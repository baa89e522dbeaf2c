"""Tuned baselines: Adam and SGD with momentum 0.9 on every task, their learning rates chosen
on a small log grid, so that any optimizer's score can be stated as a ratio to tuned Adam's.

For each optimizer and each grid value, the task is trained from every seed of
:data:`SEEDS` on the data of :data:`DATA_SEED` (for a fraction ``epochs`` of its epoch budget:
a cheap funnel stage compares against baselines trained as long as its candidates); the
learning rate with the best mean *validation* score wins, and its mean *test* score (and
validation score) is the baseline.
Everything is recorded: the grid, the seeds, every score. Baselines are computed on first use
and cached as JSON in the user cache (``~/.cache/symalr/baselines``), keyed by the task's
``name@version``, the grid, the seeds and the versions of symalr and torch; a cache file that
cannot be read is recomputed. ``torch.optim`` provides both optimizers (Adam with its own
epsilon, 1e-8).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

from symalr.tasks.base import Task

#: Learning-rate grids (log-spaced, half a decade apart).
GRIDS: dict[str, tuple[float, ...]] = {
    "adam": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
    "sgd_momentum": (3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1),
}
BASELINES = tuple(GRIDS)
#: Training seeds of every baseline training, and the seed of the data split.
SEEDS = (0, 1)
DATA_SEED = 0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Baseline:
    """A tuned baseline: the chosen ``lr``, its mean validation and test scores, and the
    record of the tuning (``scores[lr] = [validation score per seed]``)."""

    task: str
    optimizer: str
    lr: float
    val_score: float
    test_score: float
    grid: tuple[float, ...]
    seeds: tuple[int, ...]
    data_seed: int
    scores: dict[str, list[float]]
    seconds: float
    epochs: float = 1.0

    def to_json(self) -> dict:
        out = asdict(self)
        out["grid"], out["seeds"] = list(self.grid), list(self.seeds)
        return out

    @classmethod
    def from_json(cls, data: dict) -> Baseline:
        return cls(**{**data, "grid": tuple(data["grid"]), "seeds": tuple(data["seeds"])})


def make_optimizer(name: str, lr: float):
    """The factory of baseline ``name`` at learning rate ``lr``."""
    import torch

    if name == "adam":
        return lambda params: torch.optim.Adam(params, lr=lr)
    if name == "sgd_momentum":
        return lambda params: torch.optim.SGD(params, lr=lr, momentum=0.9)
    raise ValueError(f"unknown baseline {name!r}")


def cache_key(task: Task, name: str, grid, seeds, data_seed: int, epochs: float = 1.0) -> str:
    """The cache file stem of a baseline: task key and a digest of everything that decides it."""
    import torch

    from symalr import __version__

    what = json.dumps([task.key, name, list(grid), list(seeds), data_seed, epochs, __version__,
                       torch.__version__])
    return f"{task.key}-{name}-{hashlib.sha256(what.encode()).hexdigest()[:12]}"


def _cache_path(key: str):
    from symalr.train.data import user_cache_dir

    return user_cache_dir() / "baselines" / f"{key}.json"


def epochs_of(task: Task, fraction: float) -> int:
    """The epochs a training of ``fraction`` of ``task``'s budget runs (at least one)."""
    return max(1, round(task.epochs * fraction))


def cached(task: Task, name: str, epochs: float = 1.0) -> Baseline | None:
    """The cached baseline ``name`` of ``task`` (at the epoch fraction ``epochs``), or None."""
    path = _cache_path(cache_key(task, name, GRIDS[name], SEEDS, DATA_SEED, epochs))
    try:
        return Baseline.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def compute(task: Task, name: str, grid=None, seeds=SEEDS, data_seed: int = DATA_SEED,
            progress: Progress | None = None, device: str = "cpu",
            epochs: float = 1.0) -> Baseline:
    """Tune baseline ``name`` on ``task`` (see the module docstring), without the cache."""
    import time

    from symalr.tasks.run import run_task, torch_threads

    grid = tuple(grid or GRIDS[name])
    start = time.monotonic()
    runs = {}
    for lr in grid:
        with torch_threads(1):
            runs[lr] = [run_task(task, make_optimizer(name, lr), seed, data_seed,
                                 device=device, epochs=epochs_of(task, epochs))
                        for seed in seeds]
        if progress is not None:
            vals = ", ".join(f"{r.val_score:.4f}" for r in runs[lr])
            progress(f"{task.name}: {name} lr={lr:g}: validation {vals}")

    def mean(values):
        return sum(values) / len(values)

    best = max(grid, key=lambda lr: (mean([r.val_score for r in runs[lr]]), -lr))
    return Baseline(task.name, name, best, mean([r.val_score for r in runs[best]]),
                    mean([r.test_score for r in runs[best]]), grid, tuple(seeds), data_seed,
                    {repr(lr): [r.val_score for r in runs[lr]] for lr in grid},
                    time.monotonic() - start, epochs)


def baseline(task: Task, name: str, progress: Progress | None = None,
             device: str = "cpu", epochs: float = 1.0) -> Baseline:
    """Baseline ``name`` of ``task`` at the epoch fraction ``epochs``: from the cache, else
    computed and cached (atomically)."""
    hit = cached(task, name, epochs)
    if hit is not None:
        return hit
    result = compute(task, name, progress=progress, device=device, epochs=epochs)
    path = _cache_path(cache_key(task, name, GRIDS[name], SEEDS, DATA_SEED, epochs))
    try:
        from symalr.fileio import atomic_write_text

        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(result.to_json(), indent=1))
    except Exception:  # an unwritable cache costs a recomputation later, nothing else
        pass
    return result


def ratio(score: float, reference: float) -> float:
    """``score / reference`` (0 when the reference is not positive or a value not finite)."""
    if not (math.isfinite(score) and math.isfinite(reference)) or reference <= 0:
        return 0.0
    return score / reference
