"""Benchmark plots (matplotlib, Agg backend, PNG): test accuracy box plots and validation curves.

Each figure replaces its file atomically (:func:`symalr.fileio.atomic_savefig`).

Both take a :class:`~symalr.bench.report.Report`. The box plot shows every row's test accuracy
over its trials (points overlaid) with the paper's mean as a marker; the curves show, per row,
the mean validation accuracy per epoch over its trials with the min-max band.
"""

from __future__ import annotations

import math
from pathlib import Path

from symalr.bench.paper_results import DATASET_TITLES
from symalr.bench.report import Report
from symalr.fileio import atomic_savefig


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def mean_curve(curves: tuple[tuple[float, ...], ...]) -> list[tuple[float, float, float]]:
    """Per epoch: (mean, min, max) over the curves that reached it, NaN epochs ignored
    (all NaN when no curve has a finite value there)."""
    out = []
    for epoch in range(max((len(c) for c in curves), default=0)):
        vals = [c[epoch] for c in curves if epoch < len(c) and math.isfinite(c[epoch])]
        out.append((sum(vals) / len(vals), min(vals), max(vals)) if vals
                   else (math.nan, math.nan, math.nan))
    return out


def accuracy_boxplot(report: Report, path: str | Path) -> Path:
    """Box plot of test accuracy (%) per optimizer row, with the paper's mean where known."""
    plt = _pyplot()
    labels = [r.label for r in report.rows]
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * max(len(labels), 1), 4.2))
    try:
        if report.rows:
            ax.boxplot([r.test_values for r in report.rows], showfliers=False)  # points drawn below
            ax.set_xticks(range(1, len(labels) + 1), labels)
        paper_label = "paper mean"
        for i, row in enumerate(report.rows, start=1):
            n = len(row.test_values)
            xs = [i + (k - (n - 1) / 2) * min(0.3 / max(n, 1), 0.04) for k in range(n)]
            ax.scatter(xs, row.test_values, s=10, color="0.3", zorder=3)
            if row.paper is not None:
                ax.scatter([i + 0.3], [row.paper.test[0]], marker="D", color="tab:red",
                           s=28, zorder=4, label=paper_label)
                paper_label = None  # one legend entry
        title = DATASET_TITLES.get(report.dataset, report.dataset)
        ax.set_title(f"{title}: test accuracy per trial")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(axis="y", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right", fontsize="small")
        fig.tight_layout()
        atomic_savefig(fig, path, dpi=120)
    finally:
        plt.close(fig)
    return Path(path)


def validation_curves(report: Report, path: str | Path) -> Path:
    """Mean validation accuracy (%) per epoch for every optimizer row, min-max shaded."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    try:
        for row in report.rows:
            stats = mean_curve(row.val_curves)
            epochs = list(range(1, len(stats) + 1))
            (line,) = ax.plot(epochs, [s[0] for s in stats], marker="o" if len(epochs) < 20
                              else None, markersize=3, label=f"{row.label} (n={row.test.n})")
            ax.fill_between(epochs, [s[1] for s in stats], [s[2] for s in stats],
                            color=line.get_color(), alpha=0.15)
        title = DATASET_TITLES.get(report.dataset, report.dataset)
        ax.set_title(f"{title}: validation accuracy during the trials")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("validation accuracy (%)")
        ax.grid(alpha=0.3)
        if report.rows:
            ax.legend(fontsize="small")
        fig.tight_layout()
        atomic_savefig(fig, path, dpi=120)
    finally:
        plt.close(fig)
    return Path(path)
