"""``symalr benchmark``: tune, trial and compare optimizers like the paper's Tables 2/3 (see docs/benchmark.md).

Standard output carries the markdown table; the LaTeX table, the plots and the markdown are
written to ``--out``; progress goes to standard error. Every record goes to ``--db`` (created,
or appended to). Settings: the preset, then a JSON ``--config`` file, then flags.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from symalr.bench.config import PAPER_OPTIMIZERS, PRESETS

#: Flag destination -> BenchConfig key (flags left unset do not override).
_FLAG_KEYS = ("task", "dataset", "model", "train_size", "val_size", "batch_size", "tune_calls",
              "tune_initial_points", "tune_epochs", "trials", "trial_epochs", "seed",
              "split_seed", "data_dir", "device", "stacking")  # fmt: skip


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "benchmark", help="tune + trial optimizers and tabulate them like the paper",
        description="Bayesian tuning (scikit-optimize), repeated trials, statistics "
        "(mean, sd, Mann-Whitney U), markdown and LaTeX tables and plots. Optimizers: catalog "
        "names, spec/individual .json files, or DB#N (the N-th best individual of an evolve "
        "database).",
    )
    p.add_argument("--task", metavar="NAME", help="benchmark on a task instead of a paper data "
                   "set: a built-in task (symalr tasks lists them) or module:function / "
                   "file.py:function returning a symalr.tasks.Task")
    p.add_argument("--dataset", help="fashion-mnist (default) or cifar10")
    p.add_argument("--optimizers", type=_names, default=None,
                   help=f"comma-separated optimizers (default: {','.join(PAPER_OPTIMIZERS)})")
    p.add_argument("--preset", choices=PRESETS, default="quick",
                   help="paper: the paper's protocol; quick (default): CPU-sized")
    p.add_argument("--config", metavar="FILE", help="JSON object of settings (keys as flags, "
                   "with underscores)")
    p.add_argument("--tune-calls", type=int, metavar="N", help="tuning calls, the defaults "
                   "probe included (0: no tuning)")
    p.add_argument("--tune-initial-points", type=int, metavar="N",
                   help="random points after the defaults probe (paper: 10)")
    p.add_argument("--tune-epochs", type=int, metavar="E", help="epochs per tuning call")
    p.add_argument("--trials", type=int, metavar="T", help="trials per optimizer")
    p.add_argument("--trial-epochs", type=int, metavar="K", help="epochs per trial")
    p.add_argument("--train-size", type=int, metavar="N", help="training images used "
                   "(default: the paper's 53,000 / 43,000)")
    p.add_argument("--val-size", type=int, metavar="N", help="validation images (7,000)")
    p.add_argument("--batch-size", type=int, metavar="N", help="batch size (1,000)")
    p.add_argument("--model", help="mnist_cnn, cifar_cnn, mlp or small_cnn (default: the "
                   "paper's model for the data set)")
    p.add_argument("--seed", type=int, help="seed of tuning and trials (0)")
    p.add_argument("--split-seed", type=int, help="seed of the train/validation split (0)")
    p.add_argument("--data-dir", help="data folder (else $SYMALR_DATA_DIR, the cache, ...)")
    p.add_argument("--device", help="torch device: cpu (default), cuda, cuda:N or auto")
    p.add_argument("--stacking", metavar="MODE", help="auto (default: on a GPU only), on or "
                   "off: train an optimizer's trials together as stacks of models")
    p.add_argument("--db", default="benchmark.sqlite", help="benchmark database "
                   "(default: benchmark.sqlite; appended to when it exists)")
    p.add_argument("--out", help="folder for table.md, table.tex and the plots (default: "
                   "benchmark-DATASET)")
    p.add_argument("--report-only", action="store_true", help="train nothing: rebuild the "
                   "tables and plots of the data set's latest protocol in --db")
    p.set_defaults(run=run)


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one optimizer")
    return names


def config_from_args(args: argparse.Namespace):
    """The :class:`~symalr.bench.config.BenchConfig` of the preset, config file and flags."""
    from symalr.bench.config import build_config, load_overrides

    overrides = load_overrides(args.config) if args.config else {}
    build_config(args.preset, overrides, where=args.config or "config")  # its own errors
    flags = {k: getattr(args, k) for k in _FLAG_KEYS if getattr(args, k) is not None}
    if args.optimizers is not None:
        flags["optimizers"] = args.optimizers
    return build_config(args.preset, {**overrides, **flags}, "flags")


def run(args: argparse.Namespace) -> int:
    from symalr.bench.outputs import write_outputs
    from symalr.bench.report import report_from_store
    from symalr.bench.runner import run_benchmark
    from symalr.bench.store import BenchStore
    from symalr.bench.tables import markdown
    from symalr.errors import StoreError

    config = config_from_args(args)
    out = args.out or f"benchmark-{config.label}"
    if args.report_only:
        with BenchStore.open(args.db, readonly=True) as store:
            protocol = store.latest_protocol(config.label)
            if protocol is None:
                raise StoreError(f"{args.db}: no benchmark of {config.label} to report")
            report = report_from_store(store, protocol)
    else:
        report = run_benchmark(config, args.db, shlex.join(["symalr", *sys.argv[1:]]))
    paths = write_outputs(report, out)
    print(", ".join(f"{k}: {p}" for k, p in paths.items()), file=sys.stderr)
    sys.stdout.write(markdown(report))
    return 0
