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
import sys
from pathlib import Path

#: Flags that set a configuration key (dest -> dotted key).
_FLAG_KEYS = {
    "runs": "runs", "generations": "sge.generations", "population": "sge.population_size",
    "seed": "seed", "grammar": "grammar", "seed_with": "seed_with",
    "workers": "executor.workers", "executor": "executor.kind", "address": "executor.address",
    "data_dir": "fitness.data_dir", "device": "fitness.device", "stacking": "executor.stacking",
}


def add_parser(subparsers) -> None:
    from symalr.train.stacking import STACKING

    p = subparsers.add_parser(
        "evolve", help="evolve optimizers (resumable; results in an SQLite database)",
        description="Evolve optimizers with SGE (Adaptive AutoLR). Settings come from a preset "
        "(default: CPU-sized; paper: the paper's Table 1), a TOML --config file and flags. "
        "Results go to an SQLite database that --resume continues after a crash or kill.",
    )
    from symalr.evolve.config import PRESETS

    p.add_argument("--preset", choices=PRESETS, help="base preset (default: default)")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
    p.add_argument("--runs", type=int, help="independent runs")
    p.add_argument("--generations", type=int, help="generations after the initial one")
    p.add_argument("--population", type=int, help="population size")
    p.add_argument("--seed", type=int, help="experiment seed")
    p.add_argument("--grammar", metavar="NAME|FILE",
                   help="grammar: a shipped name (alr, alr-grad, alr-blocks) or a .bnf file "
                   "(default: the preset's; alr-blocks for default, alr for paper)")
    p.add_argument("--task", action="append", metavar="NAME", dest="tasks",
                   help="search on this task (repeatable): a built-in task (symalr tasks) or "
                   "module:function / file.py:function returning a symalr.tasks.Task; sets "
                   "search.kind = tasks and search.tasks")
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
    if getattr(args, "tasks", None):
        out["search.kind"] = "tasks"
        out["search.tasks"] = list(args.tasks)
    for text in args.set:
        key, value = parse_assignment(text)
        out[key] = value
    return out




def run(args: argparse.Namespace) -> int:
    """Run :func:`symalr.evolve.experiment.run_experiment`; its product (the best rules'
    LaTeX, the transfer table) to standard output, progress to standard error."""
    from symalr.evolve.experiment import run_experiment

    result = run_experiment(flag_settings(args), config_file=args.config, preset=args.preset,
                            db=args.db, resume=args.resume, report_dir=args.report_dir,
                            top=args.top, report=not args.no_report,
                            say=lambda line: print(line, file=sys.stderr, flush=True))
    if result.product:
        print(result.product)
    return 0
