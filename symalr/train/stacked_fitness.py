"""Algorithm 1 for many candidates at once with stacked training (see docs/fitness.md).

:func:`evaluate_specs_stacked` scores a list of specs under one fitness configuration: for each
evaluation ``k`` the candidates still in the running (not rejected, not failed, not below
``min_accuracy``) are trained together on chunk ``k``, in stacks that fit the memory budget
(:mod:`symalr.train.stacking`). Every member is exactly what the sequential path trains
(:func:`symalr.train.fitness.evaluate_factory`): the same initial weights, the generator of
:func:`~symalr.train.algorithm.evaluation_seeds` for its batches, dropout seeded by the same
framework seed, the class ``symalr export`` emits as its optimizer. Each result is built by the
same :class:`~symalr.train.algorithm.AlgorithmRun` bookkeeping, so it has the fields, errors and
notes of the sequential result; only float rounding (~1e-5 relative, batched kernels) and
``seconds`` (the wall time from the start of the whole batch) differ. A time limit counts from
the start of the batch for every candidate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from symalr.train.algorithm import AlgorithmRun, Evaluation, evaluation_seeds
from symalr.train.candidate import prepare_candidate
from symalr.train.config import FitnessConfig
from symalr.types import EvalResult


def evaluate_specs_stacked(specs: Sequence, config: FitnessConfig,
                           max_stack: int | None = None) -> list[EvalResult]:
    """Fitness of each of ``specs`` under ``config`` (torch backend), trained in stacks of at
    most ``max_stack`` members (None: as many as the measured memory budget allows)."""
    import torch

    from symalr.train.allocator import configure_allocator
    from symalr.train.device import resolve_device
    from symalr.train.fitness import fitness_task, load_tensors, train_config
    from symalr.train.stacked import Member, train_stacked
    from symalr.train.stacking import max_members, member_bytes, pack
    from symalr.train.trainer import evaluate, uses_channels_last

    configure_allocator()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    start = time.monotonic()
    results: list[EvalResult | None] = [None] * len(specs)
    runs: dict[int, AlgorithmRun] = {}
    factories = {}
    for i, spec in enumerate(specs):
        prepared = prepare_candidate(spec, config, start)
        if isinstance(prepared, EvalResult):
            results[i] = prepared
            continue
        factories[i] = prepared
        runs[i] = AlgorithmRun(config)
        runs[i].start = start
        if config.time_limit_s is not None:
            runs[i].deadline = start + config.time_limit_s
    if not runs:
        return results
    device = resolve_device(config.device)
    data = load_tensors(config)
    task = fitness_task(config)
    tcfg = train_config(config)

    def fresh_model():
        model = task.model(config.seed).to(device)
        if config.channels_last and uses_channels_last(model):
            model.to(memory_format=torch.channels_last)
        return model

    size = max_stack or max_members(
        member_bytes(fresh_model(), data.shape, config.batch_size, device), device)
    deadline = start + config.time_limit_s if config.time_limit_s is not None else None
    for k in range(config.n_evaluations):
        alive = [i for i, run in runs.items() if not run.done]
        for chunk in pack(len(alive), size):
            ids = [alive[j] for j in chunk]
            members = []
            for i in ids:
                rng, torch_seed = evaluation_seeds(config.seed, k)
                members.append(Member(fresh_model(), factories[i], data.chunks[k], rng,
                                      torch_seed))
            trained = train_stacked(members, data.validation, tcfg, deadline)
            for i, member, outcome in zip(ids, members, trained):
                if not isinstance(outcome, Exception):
                    accuracy = (evaluate(member.model, *data.fitness)[1]
                                if outcome.stop_reason != "time_limit" else 0.0)
                    outcome = Evaluation(accuracy, outcome.epochs, outcome.stop_reason)
                if runs[i].record(k, outcome):
                    results[i] = runs[i].result()
    return results
