"""Checks of an experiment configuration against the world, before a database is written.

A configuration can be well-formed and still fail minutes later: its model may not exist or
not fit the data set's images, its splits may ask for more images than there are, its seeds
may not fit SQLite's 64-bit integers, its grammar may validate and yet derive text that is no
optimizer. ``symalr evolve`` runs :func:`check_experiment` (for new runs and for ``--resume``)
before it creates or opens a database for writing, so such a mistake leaves no trace.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from symalr.errors import ConfigError, GenotypeError, SpecError
from symalr.evolve.config import EvolveConfig
from symalr.train.config import FitnessConfig
from symalr.types import Genotype, Grammar

#: Largest integer SQLite stores (seeds are stored as INTEGER columns).
SQLITE_MAX_INT = 2**63 - 1
#: Random genotypes of the grammar mapped and parsed by :func:`check_grammar_yields`.
GRAMMAR_PROBES = 8


def check_experiment(config: EvolveConfig, grammar: Grammar, seeds: Sequence[Genotype],
                     where: str = "configuration") -> None:
    """Raise a :class:`~symalr.errors.SymalrError` for anything in ``config`` (with its
    loaded ``grammar`` and seed genotypes) that would fail once the experiment runs
    (``where`` names the configuration in messages)."""
    for key, value in (("seed", config.seed), ("fitness.seed", config.fitness.seed)):
        if not 0 <= value <= SQLITE_MAX_INT:
            raise ConfigError(f"{key} = {value}: must lie in [0, 2**63 - 1] (it is stored as "
                              f"a 64-bit integer)")
    if len(seeds) > config.sge.population_size:
        raise ConfigError(f"seed_with: {len(seeds)} seed individuals do not fit a population "
                          f"of {config.sge.population_size} (sge.population_size)")
    check_grammar_yields(grammar, config.sge.max_depth, config.sge.min_init_depth,
                         np.random.default_rng(config.seed))
    if config.search.kind == "tasks":
        check_search(config)
    else:
        check_fitness(config.fitness, where)


def check_search(config: EvolveConfig) -> None:
    """Every task of the search's funnel and hold-out set exists and can be trained
    (:func:`symalr.tasks.check_task`, on the data seed it will use)."""
    from symalr.tasks import check_task, get_task
    from symalr.tasks.baselines import DATA_SEED

    search = config.search
    stage_tasks = [t for tasks, *_ in search.stages() for t in tasks]
    for name in dict.fromkeys(stage_tasks):
        check_task(get_task(name, config.fitness.data_dir), search.data_seed)
    for name in dict.fromkeys(search.holdout):
        check_task(get_task(name, config.fitness.data_dir), DATA_SEED)


def prepare_baselines(config: EvolveConfig, say=None) -> None:
    """The tuned baselines of every stage of a task-based search, computed or found in the
    cache (``say`` reports progress; default standard error), so that workers only read them.
    Minutes on first use: run after every check that can fail fast (configuration, grammar,
    tasks, the executor's cluster), never before."""
    import sys

    from symalr.tasks.fitness import prepare_references

    if config.search.kind != "tasks":
        return
    search = config.search

    def stderr(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    for tasks, epochs, _, _ in search.stages():
        prepare_references(tasks, search.data_seed, config.fitness.data_dir,
                           config.fitness.device, say or stderr, epochs)


def check_fitness(fitness: FitnessConfig, where: str = "configuration") -> None:
    """The data set is found and verified (:class:`~symalr.errors.DataError`), the model is
    known and takes its images, and the splits fit in its training images (ConfigError)."""
    from symalr.settings import bound_error
    from symalr.train.data import canonical_name, load_raw
    from symalr.train.datasets import split_indices
    from symalr.train.shapes import INPUT_SHAPES

    if fitness.model not in INPUT_SHAPES:
        raise ConfigError(f"fitness.model = {fitness.model!r}: unknown model; choose one of "
                          f"{', '.join(INPUT_SHAPES)}")
    raw = load_raw(canonical_name(fitness.dataset), fitness.data_dir)
    shape = tuple(raw.train_x.shape[1:])
    if fitness.model != "mlp" and INPUT_SHAPES[fitness.model] != shape:
        raise ConfigError(f"fitness.model = {fitness.model!r} takes images of shape "
                          f"{INPUT_SHAPES[fitness.model]}; {fitness.dataset} has {shape}")
    available = len(raw.train_y)
    if sum(fitness.splits) > available:
        raise bound_error("fitness.splits", list(fitness.splits),
                          f"sizes adding up to at most {available}, the training images of "
                          f"{raw.name}", where)
    split_indices(raw.train_y, fitness.splits, fitness.seed)


def check_grammar_yields(grammar: Grammar, max_depth: int, min_depth: int | None,
                         rng: np.random.Generator, probes: int = GRAMMAR_PROBES) -> None:
    """Map ``probes`` random genotypes of ``grammar`` and read each phenotype as an optimizer
    (:func:`symalr.phenotype.spec_from_phenotype`); :class:`ConfigError` naming the grammar
    and the first phenotype that is not one. A grammar whose derivations are mostly
    optimizers may still pass; one that never derives an optimizer cannot."""
    from symalr.phenotype import spec_from_phenotype
    from symalr.sge import map_genotype, random_genotype

    for _ in range(probes):
        genotype = random_genotype(grammar, rng, max_depth, min_depth)
        _, tree = map_genotype(grammar, genotype, max_depth)
        text = tree.text()
        try:
            spec_from_phenotype(text, where="phenotype")
        except (GenotypeError, SpecError) as err:
            shown = text if len(text) <= 80 else text[:77] + "..."
            reason = " ".join(str(err).split())
            raise ConfigError(f"grammar {grammar.path or '<grammar>'}: derives text that is "
                              f"not an optimizer, e.g. {shown!r} ({reason})") from None
