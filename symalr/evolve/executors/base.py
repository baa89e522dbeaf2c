"""What every executor is: jobs, outcomes, and the contract of :meth:`Executor.run`.

Contract of :meth:`Executor.run`: every job given is yielded back exactly once as an
:class:`Outcome`, in completion order. A job whose worker dies (killed, out of memory) is
reported to ``on_lost`` and run again, up to ``max_retries`` times; after that its outcome is an
error result (fitness 0.0). A job that runs past ``timeout_s`` (when > 0) has its worker
killed and gets an error result, without retry: it would be stuck again. A
:class:`~symalr.errors.SymalrError` raised by a job (missing data, bad config) is raised again
here, as is any other exception (a bug), with the worker's traceback.

Workers never decide anything random: a job is a spec and a fitness configuration, and its
result does not depend on the worker that ran it (one torch thread per worker, seeds from
the configuration). Each executor says in ``mode`` how it runs jobs and why (it is printed).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from symalr import errors
from symalr.evolve.worker import evaluate_job
from symalr.types import EvalResult


@dataclass(frozen=True)
class Job:
    """One fitness computation. ``key`` identifies it to the caller (unique per call);
    ``scale`` multiplies a task fitness's multipliers (a funnel stage that starts from the
    candidate's best multiplier of the stage before)."""

    key: Any
    spec_json: str
    fitness: dict
    scale: float = 1.0


@dataclass(frozen=True)
class Outcome:
    job: Job
    result: EvalResult
    attempts: int
    worker: str


#: ``on_lost(job, attempt, reason, worker)``: an attempt died with its worker.
LostCallback = Callable[[Job, int, str, str], None]


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def reraise(kind: str, name: str, message: str) -> None:
    """Raise in this process what a worker raised: a SymalrError subclass by name, else a
    RuntimeError carrying the worker's traceback."""
    if kind == "user":
        cls = getattr(errors, name, None)
        if isinstance(cls, type) and issubclass(cls, errors.SymalrError):
            raise cls(message)
        raise errors.SymalrError(message)
    raise RuntimeError(f"an evaluation worker failed:\n{message}")


def call_job(job: Job) -> tuple[str, Any]:
    """Run ``job`` here: ``("ok", result dict)``, ``("user", (class name, message))`` or
    ``("bug", traceback text)``."""
    try:
        return "ok", evaluate_job(job.spec_json, job.fitness, job.scale)
    except errors.SymalrError as err:
        return "user", (type(err).__name__, str(err))
    except Exception:  # a bug: shipped to the main process and raised there
        return "bug", traceback.format_exc()


class Executor:
    """Base: see the module docstring for the contract of :meth:`run`."""

    name = "executor"
    workers = 1

    def __init__(self, mode: str = "sequential"):
        self.mode = mode

    def run(self, jobs: Sequence[Job], on_lost: LostCallback | None = None) -> Iterator[Outcome]:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers; the executor may not be used afterwards."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
