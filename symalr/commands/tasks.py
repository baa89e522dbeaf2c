"""``symalr tasks [NAME ...] [--baselines]``: the tasks and their tuned baselines.

Standard output: one line per task (name, what it tests) and, per baseline found in the cache
(or computed with ``--baselines``), its chosen learning rate and validation / test scores.
``--baselines`` computes the missing ones first, with progress on standard error.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "tasks", help="list the tasks and their tuned baselines",
        description="List the built-in tasks (or the named ones, built-in or module:function) "
        "with what each tests and its tuned Adam / SGD-momentum baselines. --baselines "
        "computes the missing baselines (a few minutes for the suite on two cores).",
    )
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="tasks to show (default: every built-in task)")
    p.add_argument("--baselines", action="store_true",
                   help="compute missing baselines (cached in the user cache folder)")
    p.add_argument("--data-dir", help="data folder (else $SYMALR_DATA_DIR, the cache, ...)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from symalr.tasks import get_task, task_names

    names = args.names or list(task_names())
    tasks = [get_task(n, args.data_dir) for n in names]  # unknown names fail before any work
    if args.baselines:
        from symalr.tasks import check_task
        from symalr.tasks.baselines import BASELINES, baseline

        for task in tasks:
            check_task(task)
            for which in BASELINES:
                b = baseline(task, which, progress=lambda line: print(
                    f"symalr: {line}", file=sys.stderr, flush=True))
                print(f"symalr: {task.name}: {which} lr={b.lr:g} ({b.seconds:.0f} s)",
                      file=sys.stderr, flush=True)
    from symalr.tasks.baselines import BASELINES, cached

    width = max(len(t.name) for t in tasks)
    for task in tasks:
        summary = " ".join((task.doc or "").split())
        first = summary.split(". ")[0].rstrip(".") if summary else ""
        print(f"{task.name:<{width}}  {first}")
        for which in BASELINES:
            b = cached(task, which)
            if b is None:
                print(f"{'':<{width}}    {which}: not computed (symalr tasks --baselines)")
            else:
                print(f"{'':<{width}}    {which}: lr {b.lr:g}, validation {b.val_score:.4f}, "
                      f"test {b.test_score:.4f} (grid {', '.join(f'{x:g}' for x in b.grid)}; "
                      f"seeds {', '.join(map(str, b.seeds))})")
    return 0
