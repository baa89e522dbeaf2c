"""Executors: where a generation's fitness jobs run.

- :mod:`.base` — :class:`Job`, :class:`Outcome` and the :class:`Executor` contract;
- :mod:`.local` — ``inline`` (this process) and ``local`` (a pool of worker processes);
- :mod:`.ray` — Ray, on a cluster or a private local Ray;
- :mod:`.stacked` — a generation's jobs trained together as stacks of models on one device.

:func:`make_executor` builds the one an experiment's configuration asks for.
"""

from __future__ import annotations

from symalr import errors
from symalr.evolve.executors.base import Executor, Job, LostCallback, Outcome, usable_cores
from symalr.evolve.executors.local import InlineExecutor, LocalPool

__all__ = ["Executor", "InlineExecutor", "Job", "LocalPool", "LostCallback", "Outcome",
           "make_executor", "usable_cores"]


def make_executor(executor, fitness) -> Executor:
    """The executor ``executor`` (an :class:`symalr.evolve.config.ExecutorConfig`) asks for,
    given the fitness configuration ``fitness`` (a :class:`~symalr.train.config.FitnessConfig`)
    it will run: the stacked one when ``executor.stacking`` (``auto``, ``on``, ``off``; see
    :func:`symalr.train.stacking.decide_stacking`) says so for the fitness device and backend,
    else ``executor.kind``. Its ``mode`` says which runs and why."""
    mode = "sequential"
    if executor.stacking != "off":
        if fitness.backend != "torch":
            if executor.stacking == "on":
                raise errors.ConfigError(f"executor.stacking = 'on' needs the torch backend, "
                                         f"fitness.backend is {fitness.backend!r}")
        else:
            from symalr.train.stacking import decide_stacking

            device = fitness.device
            if device != "cpu":
                from symalr.train.device import resolve_device

                device = resolve_device(device)
            stack, mode = decide_stacking(executor.stacking, device)
            if stack:
                from symalr.evolve.executors.stacked import StackedExecutor

                return StackedExecutor(executor.max_stack, mode)
    if executor.kind == "inline":
        return InlineExecutor(mode)
    if executor.kind == "local":
        return LocalPool(executor.workers, executor.max_retries, executor.timeout_s, mode)
    if executor.kind == "ray":
        from symalr.evolve.executors.ray import RayExecutor

        return RayExecutor(executor.address, executor.workers, executor.max_retries,
                           executor.timeout_s, mode)
    raise errors.ConfigError(f"executor.kind = {executor.kind!r}: choose local, ray or inline")
