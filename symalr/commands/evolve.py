"""``symalr evolve``: run (or resume) an evolution experiment into an SQLite database.

Standard output gets the product: the LaTeX of the best optimizers. Standard error gets the
database path, one progress line per generation and the report's file names. Everything a
user can get wrong (configuration, grammar, seeds, data, database) is checked before the
database is created or written, so such an error leaves it untouched (exit 2). An existing
database is locked first: while another process writes it, a second ``evolve`` is refused at
once (see docs/files-and-stores.md).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

#: Flags that set a configuration key (dest -> dotted key).
_FLAG_KEYS = {
    "runs": "runs", "generations": "sge.generations", "population": "sge.population_size",
    "seed": "seed", "grammar": "grammar", "seed_with": "seed_with",
    "workers": "executor.workers", "executor": "executor.kind", "address": "executor.address",
    "data_dir": "fitness.data_dir", "device": "fitness.device", "stacking": "executor.stacking",
}
#: What may change when resuming: where evaluations run and where the data lie.
_RESUMABLE = ("executor", "fitness.data_dir")
_FIXED = ("cannot be changed when resuming: the stored configuration is used (only executor "
          "settings and --data-dir may change)")


def add_parser(subparsers) -> None:
    from symalr.train.stacking import STACKING

    p = subparsers.add_parser(
        "evolve", help="evolve optimizers (resumable; results in an SQLite database)",
        description="Evolve optimizers with SGE (Adaptive AutoLR). Settings come from a preset "
        "(default: CPU-sized; paper: the paper's Table 1), a TOML --config file and flags. "
        "Results go to an SQLite database that --resume continues after a crash or kill.",
    )
    p.add_argument("--preset", choices=("default", "paper"), help="base preset")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
    p.add_argument("--runs", type=int, help="independent runs")
    p.add_argument("--generations", type=int, help="generations after the initial one")
    p.add_argument("--population", type=int, help="population size")
    p.add_argument("--seed", type=int, help="experiment seed")
    p.add_argument("--grammar", metavar="NAME|FILE", help="grammar (default: alr)")
    p.add_argument("--seed-with", metavar="NAMES",
                   help="comma-separated catalog optimizers put into every initial population "
                   "(sgd, momentum, nesterov, sign, ades, ades-eq8, rmsprop, adam)")
    p.add_argument("--workers", type=int, help="evaluation processes (default: all cores)")
    p.add_argument("--executor", choices=("local", "ray", "inline"), help="where to evaluate")
    p.add_argument("--address", help="Ray cluster address (default: a local Ray on loopback)")
    p.add_argument("--data-dir", help="folder holding the data set")
    p.add_argument("--device", help="training device: cpu, cuda, cuda:N or auto")
    p.add_argument("--stacking", choices=STACKING,
                   help="train a generation's evaluations as stacks of models on one device "
                        "(auto: on a GPU only)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any configuration key, e.g. --set fitness.max_epochs=3 (repeatable)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--db", type=Path, metavar="PATH",
                       help="experiment database (new, or an existing one to add runs to); "
                       "default runs/evolve-<time>-seed<N>.db")
    where.add_argument("--resume", type=Path, metavar="DB",
                       help="continue the unfinished runs of DB")
    p.add_argument("--report-dir", type=Path, metavar="DIR",
                   help="where the report goes (default: next to the database, <db>-report/)")
    p.add_argument("--top", type=int, default=3, help="optimizers in the LaTeX report")
    p.add_argument("--no-report", action="store_true", help="skip the final report")
    p.set_defaults(run=run)


def flag_settings(args: argparse.Namespace) -> dict:
    """The dotted configuration keys set by ``args``."""
    from symalr.evolve.config import parse_assignment

    out = {}
    for dest, key in _FLAG_KEYS.items():
        value = getattr(args, dest, None)
        if value is not None:
            out[key] = [s.strip() for s in value.split(",") if s.strip()] \
                if dest == "seed_with" else value
    for text in args.set:
        key, value = parse_assignment(text)
        out[key] = value
    return out


def _prepare(config, where: str):
    """Grammar and seed genotypes of ``config``, the SGE settings checked against the grammar,
    and the experiment checked against the data, the grammar's derivations and SQLite
    (:func:`symalr.evolve.preflight.check_experiment`): every user error raises here, before a
    database is created or written (``where`` names the configuration)."""
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
    return Path("runs") / f"evolve-{time.strftime('%Y%m%d-%H%M%S')}-seed{seed}.db"


def run(args: argparse.Namespace) -> int:
    flags = flag_settings(args)
    with contextlib.ExitStack() as stack:
        return _run(args, flags, stack)


def _run(args: argparse.Namespace, flags: dict, stack: contextlib.ExitStack) -> int:
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
    if args.resume is not None:
        fixed = [k for k in flags if not any(k == a or k.startswith(a + ".") for a in _RESUMABLE)]
        if fixed or args.config is not None or args.preset is not None:
            what = fixed[0] if fixed else ("--config" if args.config else "--preset")
            raise ConfigError(f"{what}: {_FIXED}")
        check_database(args.resume)  # a foreign file is refused before it is even locked
        lock = _lock(stack, WriterLock.acquire(args.resume, KIND))  # one writer: refuse now
        with Store.open(args.resume, readonly=True) as store:
            todo = [r for r in store.runs() if r.status != "finished"]
        batches = sorted({r.batch for r in todo})
        plans = []
        for batch in batches:
            runs = [r for r in todo if r.batch == batch]
            where = f"{args.resume}: run {runs[0].run_id}"
            config = with_overrides(config_from_dict(runs[0].config, where),
                                    flags, _RESUMABLE, _FIXED)
            plans.append((config, [r.run_id for r in runs], *_prepare(config, where)))
        db_path = args.resume
        if not plans:
            print(f"symalr: {db_path}: every run has finished; nothing to resume",
                  file=sys.stderr)
    else:
        config = resolve_config(args.config, flags, args.preset)
        db_path = args.db or default_db(config.seed)
        if db_path.exists():
            check_database(db_path)  # refuses foreign files untouched
            lock = _lock(stack, WriterLock.acquire(db_path, KIND))
        grammar, seeds = _prepare(config, source_label(config.preset, args.config, bool(flags)))
        plans = [(config, None, grammar, seeds)]

    executors = []
    for config, *_ in plans:  # a Ray that cannot start is a ConfigError: before writing
        executors.append(stack.enter_context(make_executor(config.executor, config.fitness)))
    store = stack.enter_context(
        Store.open(db_path, lock=lock) if lock is not None else Store.create(db_path))
    print(f"symalr: experiment database {db_path}", file=sys.stderr)
    try:
        all_runs = []
        for (config, run_ids, grammar, seeds), executor in zip(plans, executors):
            all_runs += _run_batch(store, config, run_ids, grammar, seeds, executor)
    except KeyboardInterrupt:
        print(f"symalr: interrupted; continue with: symalr evolve --resume {db_path}",
              file=sys.stderr)
        raise
    if not args.no_report:
        _report(store, all_runs or [r.run_id for r in store.runs()], args)
    return 0


def _lock(stack: contextlib.ExitStack, lock):
    """``lock``, released when ``stack`` closes unless a store has taken it over."""
    stack.callback(lock.release)  # releasing twice is harmless
    return lock


def _run_batch(store, config, run_ids, grammar, seeds, executor) -> list[int]:
    from symalr.evolve.progress import Progress
    from symalr.evolve.runner import Runner, create_runs

    detail = f"executor={executor.name} workers={executor.workers}"
    if run_ids is None:
        run_ids = create_runs(store, config)
        store.add_event(run_ids, "started", detail)
    else:
        store.add_event(run_ids, "resumed", detail)
    print(f"symalr: {len(run_ids)} run(s) on {executor.name} executor, "
          f"{executor.workers} worker(s); {executor.mode}", file=sys.stderr)
    Runner(store, config, grammar, executor, run_ids, Progress(), seeds).run()
    return list(run_ids)


def _report(store, run_ids, args) -> None:
    from symalr.evolve.report import write_report

    out_dir = args.report_dir or store.path.with_name(store.path.stem + "-report")
    latex = write_report(store, run_ids, out_dir, args.top)
    if latex:
        print(latex)
    print(f"symalr: report in {out_dir}/ (best.tex, best_optimizer.py, fitness.png, "
          f"fitness.csv)", file=sys.stderr)
