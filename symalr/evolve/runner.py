"""The resumable generation loop of an experiment (see docs/store.md).

The runs of one batch advance in lockstep, one *step* (a generation of every run) at a time:

1. each run builds its next population from its SGE generator (``initial_population`` for
   generation 0, else ``next_generation`` of its last evaluated population) and remembers the
   generator state right after;
2. every member is prepared (:mod:`symalr.evolve.cache`); elites keep their fitness,
   statically rejected ones get the floor 0.0, and every other cache key not yet in the store
   becomes one job, attributed to the first member (in run, then position order) that needs it;
3. the jobs run on the executor; each finished evaluation is committed at once;
4. all runs' generations (members with fitness and source, the generator state, statistics)
   are committed in one transaction.

Everything random comes from each run's generator, seeded ``SeedSequence([seed, run_index])``,
and from the fitness configuration's seed: nothing from workers, timing or completion order.
So a killed experiment, resumed, rebuilds the interrupted step exactly (its generator state is
the one stored with the previous generation), finds the evaluations that were committed before
the kill, runs only the others, and ends with the same database content as an uninterrupted run
(apart from the machine-dependent columns, :data:`symalr.evolve.store.VOLATILE`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from symalr import __version__
from symalr.evolve.cache import Prepared, Preparer, cache_scope
from symalr.evolve.config import EvolveConfig
from symalr.evolve.executors import Executor, Job
from symalr.evolve.progress import Progress
from symalr.evolve.store import (
    EvaluationRow,
    GenerationRow,
    IndividualRow,
    RunRow,
    Store,
)
from symalr.sge.engine import Individual, initial_population, next_generation
from symalr.types import Genotype, Grammar


@dataclass
class RunState:
    """A run between steps: its generator, last evaluated population and generation."""

    run: RunRow
    rng: np.random.Generator
    population: list[Individual] | None = None
    generation: int = -1


def run_generator(seed: int, run_index: int) -> np.random.Generator:
    """The SGE generator of run ``run_index`` of an experiment seeded ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(run_index)]))


def create_runs(store: Store, config: EvolveConfig) -> list[int]:
    """A new batch of ``config.runs`` runs in ``store``; returns their ids."""
    return store.add_runs([(config.seed, config.to_dict())] * config.runs, __version__)


def load_state(store: Store, run: RunRow, grammar: Grammar, preparer: Preparer) -> RunState:
    """The state of ``run`` after its last stored generation (fresh if none); the stored
    preparations of that generation's members are remembered by ``preparer``."""
    last = store.last_generation(run.run_id)
    if last is None:
        return RunState(run, run_generator(run.seed, run.run_index))
    rng = np.random.default_rng()
    rng.bit_generator.state = last.rng_state
    population = []
    for row in store.individuals(run.run_id, last.generation):
        genotype = Genotype({r.name: tuple(row.genotype[r.name]) for r in grammar.rules
                             if r.name in row.genotype})  # the mapper's (rule) order
        population.append(Individual(genotype, row.phenotype, row.fitness, row.parents,
                                     row.operator))
        preparer.remember(row.phenotype, Prepared(row.spec, row.canonical, row.fingerprint,
                                                  row.rejection))
    return RunState(run, rng, population, last.generation)


class Runner:
    """Drives the runs ``run_ids`` of ``store`` (one batch, one configuration) to their end."""

    def __init__(self, store: Store, config: EvolveConfig, grammar: Grammar,
                 executor: Executor, run_ids: Sequence[int], progress: Progress | None = None,
                 seeds: Sequence[Genotype] = ()):
        self.store = store
        self.config = config
        self.grammar = grammar
        self.executor = executor
        self.seeds = tuple(seeds)
        self.progress = progress
        tasks = config.search.kind == "tasks"
        self.preparer = Preparer(strict=tasks, workers=max(1, executor.workers),
                                 normalise_step=config.search.normalises)
        self.fitness_key = config.fitness_key(1)
        self._fitness = config.stage_fitness(1)
        runs = {r.run_id: r for r in store.runs()}
        self.states = [load_state(store, runs[i], grammar, self.preparer) for i in run_ids]
        done = {s.generation for s in self.states}
        if len(done) > 1:
            raise ValueError(f"runs {list(run_ids)} are not at the same generation: {done}")

    @property
    def generation(self) -> int:
        """The last generation completed by every run (-1: none yet)."""
        return self.states[0].generation

    def run(self) -> None:
        """Run steps until every run has ``config.sge.generations`` generations after the
        initial one; mark the runs finished."""
        total = self.config.sge.generations
        if self.progress is not None:
            self.progress.begin(self.generation, total, len(self.states))
        if self.generation >= 0:
            self.funnel(self.generation)  # a run killed during promotions finishes them
        try:
            while self.generation < total:
                self.step()
                self.funnel(self.generation)
        finally:
            self.preparer.close()
        unfinished = [s.run.run_id for s in self.states if s.run.status != "finished"]
        if unfinished:
            self.store.add_event(unfinished, "finished")

    def _key(self, state: RunState, prepared: Prepared) -> tuple[int, str, str]:
        return (cache_scope(state.run.run_id, self.config.share_cache), self.fitness_key,
                prepared.fingerprint)

    def step(self) -> None:
        """Build, evaluate and store the next generation of every run."""
        started = time.monotonic()
        generation = self.generation + 1
        sge = self.config.sge
        built = []
        for state in self.states:
            if state.population is None:
                population = initial_population(self.grammar, sge, state.rng, self.seeds)
            else:
                population = next_generation(self.grammar, state.population, sge, state.rng)
            built.append((state, population, state.rng.bit_generator.state))

        self.preparer.prepare_all(ind.phenotype for _, population, _ in built
                                  for ind in population)
        jobs: dict[tuple, Job] = {}
        origins: dict[tuple, tuple[int, int, int]] = {}
        for state, population, _ in built:
            for position, individual in enumerate(population):
                prepared = self.preparer(individual.phenotype)
                if individual.operator == "elite" or prepared.rejection is not None:
                    continue
                key = self._key(state, prepared)
                if key in jobs or self.store.evaluation(*key) is not None:
                    continue
                jobs[key] = Job(key, prepared.spec_json, self._fitness)
                origins[key] = (state.run.run_id, generation, position)

        if self.progress is not None:
            self.progress.step_begins(generation, len(jobs))
        for outcome in self.executor.run(list(jobs.values()), self._lost):
            self._record(outcome, origins[outcome.job.key], 1)
            if self.progress is not None:
                self.progress.evaluated(outcome.result)

        rows = [self._assemble(state, population, rng_state, generation, started)
                for state, population, rng_state in built]
        self.store.add_generations(rows)
        for (state, population, _), (_, members) in zip(built, rows):
            state.population = [dataclasses.replace(ind, fitness=m.fitness)
                                for ind, m in zip(population, members)]
            state.generation = generation
        if self.progress is not None:
            self.progress.step_done(generation, [row for row, _ in rows])

    def _assemble(self, state: RunState, population: list[Individual], rng_state: dict,
                  generation: int, started: float) -> tuple[GenerationRow, list[IndividualRow]]:
        run_id = state.run.run_id
        members = []
        for position, ind in enumerate(population):
            prepared = self.preparer(ind.phenotype)
            rejection = prepared.rejection
            if ind.operator == "elite":
                fitness, source = float(ind.fitness), "elite"
            elif rejection is not None:
                fitness, source = 0.0, "rejected"
            else:
                evaluation = self.store.evaluation(*self._key(state, prepared))
                fitness = evaluation.fitness
                source = "trained" if evaluation.origin == (run_id, generation, position) \
                    else "cache"
            members.append(IndividualRow(
                run_id, generation, position, ind.genotype.to_json(), ind.phenotype,
                prepared.spec_json, prepared.canonical, prepared.fingerprint, ind.parents,
                ind.operator, fitness, source, rejection))
        fits = [m.fitness for m in members]
        counts = {s: sum(m.source == s for m in members) for s in
                  ("trained", "cache", "rejected", "elite")}
        row = GenerationRow(
            run_id, generation, rng_state, max(fits), float(np.mean(fits)), counts["trained"],
            counts["cache"], counts["rejected"], counts["elite"], time.monotonic() - started)
        return row, members

    def funnel(self, generation: int) -> None:
        """Promote candidates through the funnel after ``generation`` (docs/discovery.md):
        for each stage ``k >= 2``, the ``promote`` best distinct candidates by stage ``k-1``
        fitness, among those that beat the gate baseline there, are scored at stage ``k``
        unless they already were. A pure function of the stored results, so a resumed run
        promotes exactly the same candidates."""
        from symalr.evolve.funnel import promotions

        stages = self.config.search.stages() if self.config.search.kind == "tasks" else []
        run_ids = [s.run.run_id for s in self.states]
        for k in range(2, len(stages) + 1):
            chosen = promotions(self.store, self.config, run_ids, k)
            jobs = {}
            origins = {}
            for scope, row, scale in chosen:
                key = (scope, self.config.fitness_key(k), row.fingerprint)
                if self.store.evaluation(*key) is not None:
                    continue
                jobs[key] = Job(key, row.spec, self.config.stage_fitness(k), scale)
                origins[key] = (row.run_id, row.generation, row.position)
            if self.progress is not None:
                self.progress.stage_begins(k, len(jobs))
            for outcome in self.executor.run(list(jobs.values()), self._lost):
                self._record(outcome, origins[outcome.job.key], k)
                if self.progress is not None:
                    self.progress.evaluated(outcome.result)
            if self.progress is not None and jobs:
                self.progress.stage_done(k, generation, self.store.evaluations_with_key(
                    self.config.fitness_key(k)))

    def _record(self, outcome, origin, stage: int) -> None:
        """Store one finished evaluation of funnel ``stage`` for the individual at ``origin``."""
        scope, fitness_key, fingerprint = outcome.job.key
        r = outcome.result
        self.store.add_evaluation(EvaluationRow(
            scope, fitness_key, fingerprint, self.config.fitness.seed, origin, r.fitness,
            r.accuracies, r.epochs, r.error, r.rejected, outcome.attempts, r.seconds,
            outcome.worker, stage, dict(r.details)))

    def _lost(self, job: Job, attempt: int, reason: str, worker: str) -> None:
        scope, fitness_key, fingerprint = job.key
        self.store.add_lost_attempt(scope, fitness_key, fingerprint, attempt, reason, worker)
        if self.progress is not None:
            self.progress.lost(reason, attempt)
