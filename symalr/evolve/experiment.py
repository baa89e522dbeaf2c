"""An evolution experiment from settings to report: what ``symalr evolve`` and
:func:`symalr.evolve_optimizers` run (docs/store.md, docs/discovery.md).

:func:`run_experiment` resolves the configuration (preset, file, dotted settings) or the stored
one of ``resume``, checks everything a user can get wrong before any database is created or
written (:func:`prepare`), takes the one-writer lock, runs the batch(es) on the configured
executor, and writes the report. Progress and messages go through ``say`` (standard error
for the CLI); the product comes back in an :class:`ExperimentResult`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: What may change when resuming: where evaluations run and where the data lie.
RESUMABLE = ("executor", "fitness.data_dir")
FIXED = ("cannot be changed when resuming: the stored configuration is used (only executor "
         "settings and --data-dir may change)")

Say = Callable[[str], None]


@dataclass(frozen=True)
class ExperimentResult:
    """What an experiment produced: its database, the runs it advanced, the report folder
    (None without a report), the report's product text (LaTeX of the best rules, the
    transfer table) and the best rules, ranked, as specs ready to export."""

    db: Path
    run_ids: tuple[int, ...]
    report_dir: Path | None
    product: str
    best: tuple = field(default=())


def prepare(config, where: str):
    """Grammar and seed genotypes of ``config``, the SGE settings checked against the grammar,
    and the experiment checked against the data, the tasks, the grammar's derivations and
    SQLite (:func:`symalr.evolve.preflight.check_experiment`): every user error raises here,
    before a database is created or written (``where`` names the configuration)."""
    from symalr.errors import ConfigError
    from symalr.evolve.preflight import check_experiment
    from symalr.evolve.seeds import seed_genotypes
    from symalr.grammar import load_grammar
    from symalr.sge import check_against_grammar

    grammar = load_grammar(config.grammar)
    try:
        check_against_grammar(config.sge, grammar)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    seeds = seed_genotypes(grammar, config.seed_with, config.sge.max_depth)
    check_experiment(config, grammar, seeds, where)
    return grammar, seeds


def default_db(seed: int) -> Path:
    """``runs/evolve-<time>-seed<N>.db``."""
    return Path("runs") / f"evolve-{time.strftime('%Y%m%d-%H%M%S')}-seed{seed}.db"


def run_experiment(settings: Mapping[str, Any] | None = None, *, config_file: Path | None = None,
                   preset: str | None = None, db: Path | None = None,
                   resume: Path | None = None, report_dir: Path | None = None, top: int = 3,
                   report: bool = True, say: Say | None = None) -> ExperimentResult:
    """Run a new experiment (``settings``: dotted keys, as ``--set``) into ``db`` (default
    :func:`default_db`), or continue the unfinished runs of ``resume`` (only executor
    settings and ``fitness.data_dir`` may change). See the module docstring."""
    with contextlib.ExitStack() as stack:
        return _run(dict(settings or {}), config_file, preset, db, resume, report_dir, top,
                    report, say or (lambda line: None), stack)


def _run(flags, config_file, preset, db, resume, report_dir, top, report, say, stack):
    from symalr.errors import ConfigError
    from symalr.evolve.config import (
        config_from_dict,
        resolve_config,
        source_label,
        with_overrides,
    )
    from symalr.evolve.executors import make_executor
    from symalr.evolve.schema import KIND, check_database
    from symalr.evolve.store import Store
    from symalr.sqlite_file import WriterLock

    lock = None
    if resume is not None:
        resume = Path(resume)
        fixed = [k for k in flags if not any(k == a or k.startswith(a + ".") for a in RESUMABLE)]
        if fixed or config_file is not None or preset is not None:
            what = fixed[0] if fixed else ("--config" if config_file else "--preset")
            raise ConfigError(f"{what}: {FIXED}")
        check_database(resume)  # a foreign file is refused before it is even locked
        lock = _lock(stack, WriterLock.acquire(resume, KIND))  # one writer: refuse now
        with Store.open(resume, readonly=True) as store:
            todo = [r for r in store.runs() if r.status != "finished"]
        plans = []
        for batch in sorted({r.batch for r in todo}):
            runs = [r for r in todo if r.batch == batch]
            where = f"{resume}: run {runs[0].run_id}"
            config = with_overrides(config_from_dict(runs[0].config, where), flags, RESUMABLE,
                                    FIXED)
            plans.append((config, [r.run_id for r in runs], *prepare(config, where)))
        db_path = resume
        if not plans:
            say(f"symalr: {db_path}: every run has finished; nothing to resume")
    else:
        config = resolve_config(config_file, flags, preset)
        db_path = Path(db) if db is not None else default_db(config.seed)
        if db_path.exists():
            check_database(db_path)  # refuses foreign files untouched
            lock = _lock(stack, WriterLock.acquire(db_path, KIND))
        grammar, seeds = prepare(config, source_label(config.preset, config_file, bool(flags)))
        plans = [(config, None, grammar, seeds)]

    from symalr.evolve.preflight import prepare_baselines

    executors = []
    for config, *_ in plans:  # a Ray that cannot start is a ConfigError: before writing
        executors.append(stack.enter_context(make_executor(config.executor, config.fitness)))
    for config, *_ in plans:  # minutes on first use: after every check that fails fast
        prepare_baselines(config, say)
    store = stack.enter_context(
        Store.open(db_path, lock=lock) if lock is not None else Store.create(db_path))
    say(f"symalr: experiment database {db_path}")
    try:
        all_runs = []
        for (config, run_ids, grammar, seeds), executor in zip(plans, executors):
            all_runs += _run_batch(store, config, run_ids, grammar, seeds, executor, say)
    except KeyboardInterrupt:
        say(f"symalr: interrupted; continue with: symalr evolve --resume {db_path}")
        raise
    run_ids = all_runs or [r.run_id for r in store.runs()]
    out_dir, product = None, ""
    if report:
        # a finished database resumed (say after a kill during the held-out measurement)
        # reports as its last run was configured: the transfer table comes back too
        last = plans[-1][0] if plans else _stored_config(store, run_ids)
        out_dir, product = _report(store, run_ids, report_dir, top, last, say)
    from symalr.evolve.query import individual_spec

    best = tuple(individual_spec(row, f"evolved_rank{k}", store.path, store)
                 for k, row in enumerate(store.best_individuals(top, run_ids), 1))
    return ExperimentResult(db_path, tuple(run_ids), out_dir, product, best)


def _stored_config(store, run_ids):
    """The configuration the last of ``run_ids`` ran with, or None when there is none."""
    from symalr.evolve.config import config_from_dict

    wanted = set(run_ids)
    runs = [r for r in store.runs() if r.run_id in wanted]
    if not runs:
        return None
    return config_from_dict(runs[-1].config, f"{store.path}: run {runs[-1].run_id}")


def _lock(stack: contextlib.ExitStack, lock):
    """``lock``, released when ``stack`` closes unless a store has taken it over."""
    stack.callback(lock.release)  # releasing twice is harmless
    return lock


def _run_batch(store, config, run_ids, grammar, seeds, executor, say) -> list[int]:
    from symalr.evolve.progress import Progress
    from symalr.evolve.runner import Runner, create_runs

    detail = f"executor={executor.name} workers={executor.workers}"
    if run_ids is None:
        run_ids = create_runs(store, config)
        store.add_event(run_ids, "started", detail)
    else:
        store.add_event(run_ids, "resumed", detail)
    say(f"symalr: {len(run_ids)} run(s) on {executor.name} executor, "
        f"{executor.workers} worker(s); {executor.mode}")
    Runner(store, config, grammar, executor, run_ids, Progress(), seeds).run()
    return list(run_ids)


def _report(store, run_ids, report_dir, top, config, say) -> tuple[Path, str]:
    from symalr.evolve.report import write_report

    out_dir = Path(report_dir) if report_dir else store.path.with_name(
        store.path.stem + "-report")
    transfer = None
    if config is not None and config.search.kind == "tasks" and config.search.holdout:
        transfer = (config.search.holdout, config.search.holdout_top)
        say(f"symalr: measuring the best {config.search.holdout_top} rule(s) on held-out "
            f"tasks {', '.join(config.search.holdout)}")
    product = write_report(store, run_ids, out_dir, top, transfer,
                           config.fitness.data_dir if config is not None else None, say=say)
    extra = ", transfer.md, transfer.png" if transfer else ""
    say(f"symalr: report in {out_dir}/ (best.tex, best_optimizer.py, fitness.png, "
        f"fitness.csv{extra})")
    return out_dir, product
