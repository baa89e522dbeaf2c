"""Which candidates a funnel stage scores (docs/discovery.md).

After every generation, stage ``k >= 2`` takes, per cache scope, the candidates (distinct
fingerprints, at their first occurrence in the runs) whose stage ``k-1`` evaluation beats the
gate — the fitness the configured baseline (the catalog's SGD with momentum by default) gets
as a candidate under stage ``k-1``'s settings, scaled like the candidates
(:func:`symalr.tasks.fitness.gate_value`) — ranks them by that fitness (ties: the earlier candidate), and
promotes the best ``promote`` of them: the stage's jobs are those not yet scored there. A
candidate promoted from stage 2 to 3 starts from its best stage-2 multiplier (the stage-3
multipliers are relative to it), and likewise from stage 1 to 2 when ``stage2_multipliers``
is set (:meth:`~symalr.evolve.config.SearchConfig.relative`). Everything here is read from the store, so the same
database always promotes the same candidates.
"""

from __future__ import annotations

import functools

from symalr.evolve.cache import cache_scope
from symalr.evolve.config import EvolveConfig
from symalr.evolve.store import IndividualRow, Store


@functools.lru_cache(maxsize=32)
def _gate(fitness_json: str, gate: str, normalise_step: bool) -> float:
    import json

    from symalr.tasks.fitness import TaskFitness, gate_value

    if gate == "none":
        return float("-inf")
    return gate_value(TaskFitness.from_dict(json.loads(fitness_json)), gate, normalise_step)


def gate(config: EvolveConfig, stage: int) -> float:
    """The fitness a candidate must exceed at ``stage`` to be promoted past it."""
    import json

    return _gate(json.dumps(config.stage_fitness(stage), sort_keys=True), config.search.gate,
                 config.search.normalise_step)


def promotions(store: Store, config: EvolveConfig, run_ids: list[int], stage: int
               ) -> list[tuple[int, IndividualRow, float]]:
    """``(scope, first occurrence, scale)`` of every candidate stage ``stage`` scores now."""
    _, _, _, promote = config.search.stages()[stage - 1]
    previous = {(e.scope, e.fingerprint): e for e in
                store.evaluations_with_key(config.fitness_key(stage - 1))
                if not e.rejected and e.fitness == e.fitness}
    threshold = gate(config, stage - 1)
    by_scope: dict[int, list[IndividualRow]] = {}
    for row in store.first_occurrences(run_ids):
        scope = cache_scope(row.run_id, config.share_cache)
        e = previous.get((scope, row.fingerprint))
        if e is not None and e.fitness > threshold:
            by_scope.setdefault(scope, []).append(row)
    out = []
    for scope, rows in by_scope.items():
        ranked = sorted(rows, key=lambda r: -previous[(scope, r.fingerprint)].fitness)
        for row in ranked[:promote]:
            scale = 1.0
            if config.search.relative(stage):
                scale = float(previous[(scope, row.fingerprint)].details.get("multiplier", 1.0))
            out.append((scope, row, scale))
    return out
