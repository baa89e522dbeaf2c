"""The stacked executor: a generation's evaluations trained together in this process, as
stacks of models on one device.

Jobs that share a fitness configuration are scored by
:func:`symalr.train.stacked_fitness.evaluate_specs_stacked` (Algorithm 1 per candidate; the
k-th evaluations of all surviving candidates share a stack); results are the sequential path's
up to float rounding, so the store, the cache and resume treat them alike. The executor
contract of :mod:`symalr.evolve.executors.base` holds: each job is yielded once, a
:class:`~symalr.errors.SymalrError` raised by the setup propagates; there is no worker to lose
(``attempts`` is 1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import numpy as np

from symalr.evolve.executors.base import Executor, Job, LostCallback, Outcome
from symalr.evolve.worker import worker_name


class StackedExecutor(Executor):
    """Runs every job of a call in this process, stacked; ``max_stack`` caps a stack (0: the
    measured memory budget decides)."""

    name = "stacked"
    workers = 1

    def __init__(self, max_stack: int = 0, mode: str = "stacking on"):
        super().__init__(mode)
        self.max_stack = max_stack

    def run(self, jobs: Sequence[Job], on_lost: LostCallback | None = None) -> Iterator[Outcome]:
        from symalr.spec import spec_loads
        from symalr.train.config import from_dict
        from symalr.train.stacked_fitness import evaluate_specs_stacked

        groups: dict[str, list[Job]] = {}
        for job in jobs:
            groups.setdefault(json.dumps(job.fitness, sort_keys=True), []).append(job)
        for group in groups.values():
            fitness = group[0].fitness
            specs = [spec_loads(job.spec_json, "<evaluation>") for job in group]
            if fitness.get("kind") == "tasks":
                yield from self._tasks(group, specs)
                continue
            config = from_dict({**fitness, "splits": tuple(fitness["splits"])})
            with np.errstate(all="ignore"):  # the static screen probes overflows on purpose
                results = evaluate_specs_stacked(specs, config, self.max_stack or None)
            for job, result in zip(group, results):
                yield Outcome(job, result, 1, worker_name())

    def _tasks(self, group: list[Job], specs: list) -> Iterator[Outcome]:
        """Task-fitness jobs: stacked per scale (a funnel stage's jobs may start from
        different multipliers)."""
        from symalr.tasks.fitness import TaskFitness, evaluate_candidates_stacked

        by_scale: dict[float, list[int]] = {}
        for i, job in enumerate(group):
            by_scale.setdefault(job.scale, []).append(i)
        for scale, ids in by_scale.items():
            config = TaskFitness.from_dict(group[ids[0]].fitness).scaled(scale)
            with np.errstate(all="ignore"):
                scores = evaluate_candidates_stacked([specs[i] for i in ids], config,
                                                     self.max_stack or None)
            for i, score in zip(ids, scores):
                yield Outcome(group[i], score.result(), 1, worker_name())
