"""Executors on this machine: jobs one by one in this process (``inline``), or a pool of
spawned worker processes (``local``), with retries of lost workers and time limits (see
:mod:`.base` for the contract)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from symalr.evolve.executors.base import (
    Executor,
    Job,
    LostCallback,
    Outcome,
    call_job,
    reraise,
    usable_cores,
)
from symalr.evolve.worker import result_from_dict, worker_name
from symalr.types import EvalResult


class InlineExecutor(Executor):
    """Runs jobs one by one in this process (debugging; no isolation, no retries)."""

    name = "inline"

    def run(self, jobs: Sequence[Job], on_lost: LostCallback | None = None) -> Iterator[Outcome]:
        for job in jobs:
            kind, value = call_job(job)
            if kind == "user":
                reraise(kind, *value)
            if kind == "bug":
                reraise(kind, "", value)
            yield Outcome(job, result_from_dict(value), 1, value["worker"])


# ----------------------------------------------------------------------------- process pool


def _worker_main(conn: Connection, parent: int) -> None:
    """A pool worker: evaluate jobs received on ``conn`` until it closes or sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's business
    from symalr.child_process import die_with_parent

    die_with_parent(parent)
    from symalr.train.allocator import configure_allocator

    configure_allocator()
    import symalr.train.algorithm  # noqa: F401  the heavy imports, before saying ready
    import symalr.train.fitness  # noqa: F401  (torch)

    try:
        conn.send(("ready", os.getpid()))
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        token, job = message
        try:
            conn.send((token, *call_job(job)))
        except (BrokenPipeError, OSError):
            return


#: Seconds a new pool worker may take to import its modules and report ready.
START_SECONDS = 120.0


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection

    @property
    def name(self) -> str:
        return f"{worker_name().split(':')[0]}:{self.process.pid}"


@dataclass
class _Busy:
    job: Job
    attempt: int
    token: int
    started: float


class LocalPool(Executor):
    """A pool of ``workers`` spawned processes (started on first use, reused across calls)."""

    name = "local"

    def __init__(self, workers: int = 0, max_retries: int = 2, timeout_s: float = 0.0,
                 mode: str = "sequential"):
        super().__init__(mode)
        self.workers = workers if workers > 0 else usable_cores()
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._busy: dict[int, tuple[_Worker, _Busy]] = {}  # by pid
        self._token = 0

    def _spawn(self, count: int = 1) -> list[_Worker]:
        """``count`` new workers, started together, once each has said it is ready (its
        heavy imports done, so they do not count against ``timeout_s``). A worker that dies or
        stays silent before that is an environment problem, not a lost evaluation:
        RuntimeError."""
        workers = []
        for _ in range(count):
            parent_end, child_end = self._ctx.Pipe()
            process = self._ctx.Process(target=_worker_main, args=(child_end, os.getpid()),
                                        daemon=True, name="symalr-evaluator")
            process.start()
            child_end.close()
            workers.append(_Worker(process, parent_end))
        for worker in workers:
            ready = None
            if worker.conn.poll(START_SECONDS):
                try:
                    ready = worker.conn.recv()
                except (EOFError, OSError):
                    pass
            if not (isinstance(ready, tuple) and ready[0] == "ready"):
                for w in workers:
                    self._kill(w)
                raise RuntimeError(f"an evaluation worker failed to start (exit status "
                                   f"{worker.process.exitcode}); see its messages above")
        return workers

    def in_flight(self) -> dict[int, Any]:
        """pid -> key of the job each busy worker is running (for monitoring)."""
        return {pid: busy.job.key for pid, (_, busy) in self._busy.items()}

    def _kill(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()

    def run(self, jobs: Sequence[Job], on_lost: LostCallback | None = None) -> Iterator[Outcome]:
        pending: deque[tuple[Job, int]] = deque((job, 1) for job in jobs)
        self._idle += self._spawn(min(self.workers, len(pending))
                                  - len(self._idle) - len(self._busy))
        try:
            while pending or self._busy:
                while pending and self._idle:
                    worker = self._idle.pop()
                    job, attempt = pending.popleft()
                    self._token += 1
                    try:
                        worker.conn.send((self._token, job))
                    except (BrokenPipeError, OSError):  # died while idle: job never started
                        self._kill(worker)
                        self._idle += self._spawn()
                        pending.appendleft((job, attempt))
                        continue
                    self._busy[worker.process.pid] = (
                        worker, _Busy(job, attempt, self._token, time.monotonic()))
                yield from self._collect(pending, on_lost)
        finally:
            if self._busy:  # abandoned mid-way (an error, Ctrl-C): kill what still runs
                for worker, _ in self._busy.values():
                    self._kill(worker)
                self._busy.clear()

    def _wait_seconds(self) -> float | None:
        if self.timeout_s <= 0:
            return None
        first = min(b.started for _, b in self._busy.values())
        return max(0.0, first + self.timeout_s - time.monotonic())

    def _collect(self, pending: deque, on_lost: LostCallback | None) -> Iterator[Outcome]:
        watched = [w.conn for w, _ in self._busy.values()]
        watched += [w.process.sentinel for w, _ in self._busy.values()]
        wait(watched, self._wait_seconds())
        for pid, (worker, busy) in list(self._busy.items()):
            message = None
            if worker.conn.poll():
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    message = None
            if message is not None and message[0] == busy.token:
                del self._busy[pid]
                self._idle.append(worker)
                _, kind, value = message
                if kind != "ok":
                    reraise(kind, *(value if kind == "user" else ("", value)))
                yield Outcome(busy.job, result_from_dict(value), busy.attempt, value["worker"])
            elif not worker.process.is_alive():
                del self._busy[pid]
                self._kill(worker)
                code = worker.process.exitcode
                reason = (f"worker died by signal {-code}" if code is not None and code < 0
                          else f"worker exited with status {code}")
                if on_lost is not None:
                    on_lost(busy.job, busy.attempt, reason, worker.name)
                if len(self._idle) + len(self._busy) < self.workers:
                    self._idle += self._spawn()
                if busy.attempt <= self.max_retries:
                    pending.appendleft((busy.job, busy.attempt + 1))
                else:
                    error = f"WorkerLost: {reason} on each of {busy.attempt} attempts"
                    yield Outcome(busy.job, EvalResult(0.0, error=error), busy.attempt,
                                  worker.name)
            elif self.timeout_s > 0 and time.monotonic() - busy.started > self.timeout_s:
                del self._busy[pid]
                self._kill(worker)
                self._idle += self._spawn()
                error = f"TimeoutError: evaluation exceeded executor.timeout_s={self.timeout_s:g}"
                yield Outcome(busy.job, EvalResult(0.0, error=error), busy.attempt, worker.name)

    def close(self) -> None:
        for worker in self._idle:
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in self._idle:
            worker.process.join(5)
            self._kill(worker)
        for worker, _ in self._busy.values():
            self._kill(worker)
        self._idle.clear()
        self._busy.clear()
