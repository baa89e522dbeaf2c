"""The transfer table: how found rules do on tasks the search never used (docs/discovery.md).

For every held-out task, each rule is trained at its exported defaults (the step scale the
search chose included) from the baselines' training seeds on the baselines' data seed
(:mod:`symalr.tasks.baselines`: ``SEEDS``, ``DATA_SEED``), and its mean *test* score is set
beside tuned Adam's and tuned SGD-momentum's (learning rates chosen on the task's validation
split) and plain Adam at lr 1e-3. Ratios are to tuned Adam's test score. Nothing of these
trainings feeds back into a search: the held-out tasks appear in no stage of the funnel
(:class:`symalr.evolve.config.SearchConfig` refuses an overlap).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PLAIN_ADAM_LR = 1e-3


@dataclass(frozen=True)
class TransferRow:
    """One rule (or baseline) on one held-out task: mean test score over the seeds."""

    task: str
    optimizer: str
    test_score: float
    scores: tuple[float, ...]
    lr: float | None = None


@dataclass(frozen=True)
class TransferTable:
    """Every row, by task then optimizer; :meth:`ratio` is to tuned Adam on the same task."""

    rows: tuple[TransferRow, ...]
    tasks: tuple[str, ...]
    optimizers: tuple[str, ...]

    def row(self, task: str, optimizer: str) -> TransferRow:
        return next(r for r in self.rows if r.task == task and r.optimizer == optimizer)

    def ratio(self, task: str, optimizer: str, reference: str = "tuned Adam") -> float:
        ref = self.row(task, reference).test_score
        value = self.row(task, optimizer).test_score
        return value / ref if ref > 0 and math.isfinite(value) else 0.0

    def markdown(self) -> str:
        head = "| optimizer | " + " | ".join(self.tasks) + " | mean ratio |"
        lines = [head, "|---" * (len(self.tasks) + 2) + "|"]
        for opt in self.optimizers:
            cells = []
            for task in self.tasks:
                r = self.row(task, opt)
                lr = f" (lr {r.lr:g})" if r.lr is not None else ""
                cells.append(f"{r.test_score:.4f} ({self.ratio(task, opt):.2f}){lr}")
            mean = sum(self.ratio(t, opt) for t in self.tasks) / len(self.tasks)
            lines.append(f"| {opt} | " + " | ".join(cells) + f" | {mean:.3f} |")
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        out = ["task,optimizer,test_score,ratio_to_tuned_adam,lr,scores"]
        for r in self.rows:
            out.append(f"{r.task},{r.optimizer},{r.test_score:.6f},"
                       f"{self.ratio(r.task, r.optimizer):.6f},"
                       f"{'' if r.lr is None else repr(r.lr)},"
                       f"{' '.join(f'{s:.6f}' for s in r.scores)}")
        return "\n".join(out) + "\n"


def transfer_table(rules: Sequence[tuple[str, object]], tasks: Sequence[str],
                   data_dir: str | None = None, device: str = "cpu",
                   say: Callable[[str], None] | None = None) -> TransferTable:
    """Measure ``rules`` (``(label, spec)``) on the held-out ``tasks`` (see the module
    docstring); ``say`` reports progress."""
    from symalr.tasks import get_task
    from symalr.tasks.baselines import DATA_SEED, SEEDS, baseline, make_optimizer
    from symalr.tasks.fitness import prepare_references
    from symalr.tasks.run import run_task, torch_threads
    from symalr.train.fitness import optimizer_class

    prepare_references(tasks, DATA_SEED, data_dir, device, say)
    rows: list[TransferRow] = []
    labels = ["tuned Adam", "tuned SGD-momentum", f"Adam lr {PLAIN_ADAM_LR:g}",
              *(label for label, _ in rules)]
    for name in tasks:
        task = get_task(name, data_dir)
        for which, label in (("adam", "tuned Adam"), ("sgd_momentum", "tuned SGD-momentum")):
            b = baseline(task, which, progress=say, device=device)
            rows.append(TransferRow(task.name, label, b.test_score, (b.test_score,), b.lr))
        factories = [(f"Adam lr {PLAIN_ADAM_LR:g}", make_optimizer("adam", PLAIN_ADAM_LR))]
        factories += [(label, _default_factory(optimizer_class(spec))) for label, spec in rules]
        for label, factory in factories:
            with torch_threads(1):
                scores = tuple(run_task(task, factory, seed, DATA_SEED,
                                        device=device).test_score for seed in SEEDS)
            rows.append(TransferRow(task.name, label, sum(scores) / len(scores), scores))
            if say is not None:
                say(f"symalr: held-out {task.name}: {label}: test "
                    f"{sum(scores) / len(scores):.4f}")
    return TransferTable(tuple(rows), tuple(get_task(t, data_dir).name for t in tasks),
                         tuple(labels))


def _default_factory(cls):
    return lambda params: cls(params)


def plot_transfer(table: TransferTable, path) -> None:
    """A grouped bar chart of the test-score ratios to tuned Adam, per held-out task."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from symalr.fileio import atomic_savefig

    fig, ax = plt.subplots(figsize=(7.0, 3.8), dpi=120)
    width = 0.8 / len(table.optimizers)
    for k, opt in enumerate(table.optimizers):
        xs = [i + k * width for i in range(len(table.tasks))]
        ax.bar(xs, [table.ratio(t, opt) for t in table.tasks], width, label=opt)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhline(0.9, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(table.tasks))], table.tasks)
    ax.set_ylabel("test score / tuned Adam's")
    ax.set_title("held-out tasks (never used by the search)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    atomic_savefig(fig, path)
    plt.close(fig)
