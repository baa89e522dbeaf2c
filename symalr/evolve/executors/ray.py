"""The Ray executor: fitness jobs as Ray tasks, on a cluster or a local Ray.

With no address, a private single-node Ray is started on this machine (no dashboard) with
``workers`` CPUs (0: all usable cores) and stopped on :meth:`RayExecutor.close`. Ray binds it
to the machine's own address: on Linux it maps a requested ``127.0.0.1`` to that address
itself, so loopback cannot be forced from here. With an address (``ray://host:10001`` or
``host:6379``), that cluster is joined. A Ray already initialised in this process is used as
it is and left running.

Each task asks for one CPU. Ray's own task retries are off: a task that fails because its
worker died (``WorkerCrashedError``, ``NodeDiedError`` ...) is reported to ``on_lost`` and
submitted again here, up to ``max_retries`` times, so the accounting is the local pool's
(:mod:`symalr.evolve.executors.local`). Only the driver writes to the store.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Sequence

import ray
from ray import exceptions as rex

from symalr import errors
from symalr.evolve.executors.base import (
    Executor,
    Job,
    LostCallback,
    Outcome,
    call_job,
    reraise,
    usable_cores,
)
from symalr.evolve.worker import result_from_dict
from symalr.types import EvalResult

#: Failures of the machinery, not of the job: the attempt is lost and retried.
_LOST = tuple(
    getattr(rex, name) for name in (
        "WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "ObjectLostError",
        "OwnerDiedError", "RaySystemError", "ActorDiedError", "OutOfMemoryError",
    ) if hasattr(rex, name)
)


#: Seconds to wait for a TCP connection to a cluster address before giving up.
CONNECT_TIMEOUT_S = 5.0


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise a one-line :class:`~symalr.errors.ConfigError` unless something accepts TCP
    connections at ``address`` (``host:port`` or ``ray://host:port``; ``auto`` and other forms
    are left to Ray).

    ``ray.init`` retries an unreachable cluster for many minutes (twenty GCS retries of
    about half a minute each, measured with Ray 2.x), so a wrong address would look like a
    hang; this check fails in at most ``timeout_s`` when nothing listens there. An address
    where something else listens is still Ray's to refuse."""
    target = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = target.rpartition(":")
    if not sep or not host:
        return
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise errors.ConfigError(f"executor.address = {address!r}: expected host:port with a "
                                 f"port in [1, 65535]")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise errors.ConfigError(f"executor.address = {address!r}: cannot join a Ray cluster "
                                 f"there ({reason})") from None


def _run_job(job: Job) -> tuple[str, object]:
    return call_job(job)


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, address: str = "", workers: int = 0, max_retries: int = 2,
                 timeout_s: float = 0.0, mode: str = "sequential"):
        super().__init__(mode)
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self._owns = False
        if not ray.is_initialized():
            if address:
                check_reachable(address)
            try:
                if address:
                    ray.init(address=address, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address="local", num_cpus=workers or usable_cores(),
                             include_dashboard=False, log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as err:
                where = address or "a local Ray"
                raise errors.ConfigError(f"executor.address: cannot start or join {where} "
                                         f"({err})") from None
            self._owns = True
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self._task = ray.remote(num_cpus=1, max_retries=0)(_run_job)

    def run(self, jobs: Sequence[Job], on_lost: LostCallback | None = None) -> Iterator[Outcome]:
        refs: dict[ray.ObjectRef, tuple[Job, int, float]] = {}
        for job in jobs:
            refs[self._task.remote(job)] = (job, 1, time.monotonic())
        try:
            while refs:
                timeout = None
                if self.timeout_s > 0:
                    first = min(started for _, _, started in refs.values())
                    timeout = max(0.0, first + self.timeout_s - time.monotonic())
                done, _ = ray.wait(list(refs), num_returns=1, timeout=timeout)
                for ref in done:
                    job, attempt, _ = refs.pop(ref)
                    yield from self._finish(ref, job, attempt, refs, on_lost)
                if self.timeout_s > 0:
                    yield from self._expire(refs)
        finally:
            for ref in refs:
                ray.cancel(ref, force=True)

    def _finish(self, ref, job: Job, attempt: int, refs: dict, on_lost: LostCallback | None
                ) -> Iterator[Outcome]:
        try:
            kind, value = ray.get(ref)
        except _LOST as err:
            reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:200]}"
            if on_lost is not None:
                on_lost(job, attempt, reason, "ray")
            if attempt <= self.max_retries:
                refs[self._task.remote(job)] = (job, attempt + 1, time.monotonic())
            else:
                error = f"WorkerLost: {reason} on each of {attempt} attempts"
                yield Outcome(job, EvalResult(0.0, error=error), attempt, "ray")
            return
        if kind != "ok":
            reraise(kind, *(value if kind == "user" else ("", value)))
        yield Outcome(job, result_from_dict(value), attempt, value["worker"])

    def _expire(self, refs: dict) -> Iterator[Outcome]:
        now = time.monotonic()
        for ref, (job, attempt, started) in list(refs.items()):
            if now - started > self.timeout_s:
                del refs[ref]
                ray.cancel(ref, force=True)
                error = f"TimeoutError: evaluation exceeded executor.timeout_s={self.timeout_s:g}"
                yield Outcome(job, EvalResult(0.0, error=error), attempt, "ray")

    def close(self) -> None:
        if self._owns and ray.is_initialized():
            ray.shutdown()
        self._owns = False
