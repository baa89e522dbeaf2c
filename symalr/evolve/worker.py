"""What runs in an evaluation worker: one fitness computation from plain data (see docs/store.md, docs/fitness.md).

:func:`evaluate_job` takes and returns only JSON-ready values, so any executor (this process,
a local process pool, Ray) can run it and ship its result. The fitness layer contains failures
of the optimizer under test (see :mod:`symalr.train.fitness`); problems of the setup (missing
data, bad config) raise :class:`~symalr.errors.SymalrError`, and anything else is a bug: both
propagate to the executor, which re-raises them in the main process.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import numpy as np

from symalr.types import EvalResult


def worker_name() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def evaluate_job(spec_json: str, fitness: dict[str, Any], scale: float = 1.0) -> dict[str, Any]:
    """Fitness of the spec ``spec_json`` (JSON text) under the fitness settings ``fitness``:
    Algorithm 1's (:func:`symalr.train.config.to_dict` form) or, with ``"kind": "tasks"``, a
    task fitness (:class:`symalr.tasks.fitness.TaskFitness`, its multipliers times ``scale``),
    as :func:`result_to_dict` plus ``worker``."""
    from symalr.spec import spec_loads

    spec = spec_loads(spec_json, "<evaluation>")
    with np.errstate(all="ignore"):  # the static screen probes overflowing rules on purpose
        if fitness.get("kind") == "tasks":
            from symalr.tasks.fitness import TaskFitness, evaluate_candidate

            config = TaskFitness.from_dict(fitness)
            if scale != 1.0:
                config = config.scaled(scale)
            result = evaluate_candidate(spec, config).result()
        else:
            from symalr.train.candidate import evaluate_spec
            from symalr.train.config import from_dict

            result = evaluate_spec(spec, from_dict({**fitness, "splits": tuple(fitness["splits"])}))
    return {**result_to_dict(result), "worker": worker_name()}


def result_to_dict(result: EvalResult) -> dict[str, Any]:
    return {
        "fitness": float(result.fitness),
        "accuracies": [float(a) for a in result.accuracies],
        "epochs": [int(e) for e in result.epochs],
        "seconds": float(result.seconds),
        "error": result.error,
        "rejected": bool(result.rejected),
        "details": dict(result.details),
    }


def result_from_dict(data: dict[str, Any]) -> EvalResult:
    return EvalResult(
        fitness=float(data["fitness"]),
        accuracies=tuple(float(a) for a in data["accuracies"]),
        epochs=tuple(int(e) for e in data["epochs"]),
        seconds=float(data["seconds"]),
        error=data["error"],
        rejected=bool(data["rejected"]),
        details=data.get("details", {}),
    )
