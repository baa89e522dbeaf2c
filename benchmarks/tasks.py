"""The task suite's spread: per task, seconds per training, tuned baselines, ADES and Sign.

    python benchmarks/tasks.py [--tasks fmnist_mlp,...] [--repeats 3] > benchmarks/tasks.md

For every task of the suite (``symalr.tasks.SUITE`` unless ``--tasks``): the seconds one
training of ``torch.optim.Adam(lr=1e-3)`` takes with one torch thread (median of
``--repeats`` runs, and their spread), the tuned Adam and SGD-momentum baselines
(:mod:`symalr.tasks.baselines`: learning rate, validation and test score; computed or read
from the cache), and the catalog's ADES and Sign at their defaults (mean test score over the
baselines' seeds, and the ratio to tuned Adam's). Prints a markdown table on standard output;
progress on standard error.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    import torch

    from symalr import catalog
    from symalr.tasks import SUITE, get_task
    from symalr.tasks.baselines import DATA_SEED, SEEDS, baseline, make_optimizer
    from symalr.tasks.run import run_task, torch_threads
    from symalr.train.fitness import optimizer_class

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(SUITE))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    rows = []
    for name in args.tasks.split(","):
        task = get_task(name)
        first_line = " ".join(task.doc.split()).split(": ")[0]
        with torch_threads(1):
            run_task(task, make_optimizer("adam", 1e-3), 0)  # data loaded, code warm
            times = []
            for k in range(args.repeats):
                start = time.perf_counter()
                run_task(task, make_optimizer("adam", 1e-3), k)
                times.append(time.perf_counter() - start)
        adam = baseline(task, "adam", progress=say)
        sgd = baseline(task, "sgd_momentum", progress=say)
        catalog_scores = {}
        for spec_name in ("ades", "sign"):
            cls = optimizer_class(catalog.get(spec_name))
            with torch_threads(1):
                scores = [run_task(task, lambda p, c=cls: c(p), seed, DATA_SEED).test_score
                          for seed in SEEDS]
            catalog_scores[spec_name] = sum(scores) / len(scores)
        say(f"{task.name}: {statistics.median(times):.2f} s per training")
        rows.append((task, first_line, times, adam, sgd, catalog_scores))

    print(f"torch {torch.__version__}, one torch thread; metric: test accuracy, or the loss "
          "score (decades towards the minimum) for `regression`; ratios to tuned Adam.\n")
    print("| task | character | s / training (median, min-max) | tuned Adam (lr) | "
          "tuned SGD-momentum (lr) | ADES defaults | Sign defaults |")
    print("|---|---|---|---|---|---|---|")
    for task, line, times, adam, sgd, cat in rows:
        def ratio(x, adam=adam):
            return f"{x:.4f} ({x / adam.test_score:.2f})" if adam.test_score > 0 else f"{x:.4f}"
        print(f"| {task.name} | {line} | {statistics.median(times):.2f} "
              f"({min(times):.2f}-{max(times):.2f}) | {adam.test_score:.4f} ({adam.lr:g}) | "
              f"{ratio(sgd.test_score)} ({sgd.lr:g}) | {ratio(cat['ades'])} | "
              f"{ratio(cat['sign'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
