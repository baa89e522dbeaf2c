"""Write a benchmark report's files: the markdown and LaTeX tables and the plots.

Kept apart from :mod:`symalr.bench.report` (which builds the report from the stored trials)
so that the data module imports neither the tables nor the plots, which import it.
"""

from __future__ import annotations

from pathlib import Path

from symalr.bench import plots, tables
from symalr.bench.report import Report
from symalr.fileio import atomic_write_text, ensure_folder


def write_outputs(report: Report, out_dir: str | Path) -> dict[str, Path]:
    """Write ``table.md``, ``table.tex``, ``test_accuracy.png`` and ``validation_curves.png``
    into ``out_dir`` (created); returns them by kind. Existing files are replaced, each
    atomically (:mod:`symalr.fileio`): they are views of the database, which keeps every
    record. :class:`~symalr.errors.OutputError` if one cannot be written."""
    out = ensure_folder(out_dir)
    paths = {
        "markdown": out / "table.md", "latex": out / "table.tex",
        "boxplot": out / "test_accuracy.png", "curves": out / "validation_curves.png",
    }  # fmt: skip
    atomic_write_text(paths["markdown"], tables.markdown(report))
    atomic_write_text(paths["latex"], tables.latex(report))
    plots.accuracy_boxplot(report, paths["boxplot"])
    plots.validation_curves(report, paths["curves"])
    return paths
