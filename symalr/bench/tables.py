"""Markdown and LaTeX (booktabs) tables of a :class:`~symalr.bench.report.Report`.

Shaped like the paper's Tables 2 and 3 — optimizer, tuned parameters, validation accuracy, test
accuracy (percent, mean ± sample sd over the trials) — with the number of trials and the
paper's own values beside ours. The best two test accuracies are bold, and the Mann-Whitney U
test between them is stated under the table (with the paper's, where it reported one); a
second table gives the p-value of every pair. The LaTeX needs ``booktabs`` only (plus a
document class); :func:`symalr.render.latex.latex_document` wraps it into a compilable document.
"""

from __future__ import annotations

import math

from symalr.bench.paper_results import DATASET_TITLES, display_name
from symalr.bench.report import Param, Report, Row
from symalr.safe_text import tex_text

_DASH = "–"


def _pm(mean: float, sd: float) -> str:
    if not math.isfinite(mean):
        return _DASH
    return f"{mean:.2f} ± {sd:.2f}" if math.isfinite(sd) else f"{mean:.2f}"


def _value(v: float) -> str:
    return f"{v:.5g}"


def _p(p: float) -> str:
    if not math.isfinite(p):
        return _DASH
    return f"{p:.3g}" if p >= 1e-3 else f"{p:.1e}"


def describe_protocol(report: Report) -> str:
    """One sentence: model, split sizes, trial length, how many benchmark runs pooled."""
    p = report.protocol
    if "task" in p:
        data = f"task {p['task']} (data seed {p['split_seed']})"
    else:
        data = (f"{p['model']}; {p['train_size']:,} training / {p['val_size']:,} validation "
                f"images (split seed {p['split_seed']}) and the official test set")
    return (f"{data}; trials of "
            f"{p['trial_epochs']:,} epoch{'s' * (p['trial_epochs'] != 1)} at batch "
            f"{p['batch_size']:,}, best-validation "
            f"weights tested; {report.benchmarks} benchmark run(s) pooled")


def _best_sentence(report: Report) -> str:
    parts = []
    if len(report.best) == 2:
        t = report.test_between(*report.best)
        a, b = report.best
        parts.append(f"Mann-Whitney U (two-sided) between the best two, {a} and {b}: "
                     f"U = {t.u:g}, p = {_p(t.p)}.")
    names = {r.name for r in report.rows}
    if report.paper_test and set(report.paper_test[:2]) <= names:
        a, b, p = report.paper_test
        parts.append(f"Paper: {display_name(a)} vs {display_name(b)}, p = {p:g}.")
    return " ".join(parts)


def _failures(report: Report) -> str:
    bad = [f"{r.label}: {r.failures}" for r in report.rows if r.failures]
    return ("Trials that diverged or failed (counted with their measured accuracy): "
            + ", ".join(bad) + ".") if bad else ""


def _pair_grid(report: Report) -> list:
    """The upper triangle of pairwise tests: a header ``("", [column labels])``, then per row
    label ``(a, cells)`` with a cell ``(p, is the best-two pair)`` right of the diagonal and
    None on and left of it."""
    labels = [r.label for r in report.rows]
    grid: list = [("", labels[1:])]
    for i, a in enumerate(labels[:-1]):
        cells = [None if j <= i else (report.test_between(a, b).p, {a, b} == set(report.best))
                 for j, b in enumerate(labels[1:], start=1)]
        grid.append((a, cells))
    return grid


# --------------------------------------------------------------------------- markdown


def _md_params(params) -> str:
    return ", ".join(f"{p.name} = {_value(p.value)}" for p in params) or _DASH


def _md_row(row: Row, best: bool) -> list[str]:
    paper = row.paper
    test = _pm(row.test.mean, row.test.sd)
    return [
        f"**{row.label}**" if best else row.label,
        _md_params(row.params),
        str(row.test.n),
        _pm(row.validation.mean, row.validation.sd),
        f"**{test}**" if best else test,
        _md_params([Param(n, n, v) for n, v in paper.tuned]) if paper else _DASH,
        _pm(*paper.validation) if paper else _DASH,
        _pm(*paper.test) if paper else _DASH,
    ]


def markdown(report: Report) -> str:
    """The report as markdown: a title, the protocol, the main table, the pairwise tests."""
    title = DATASET_TITLES.get(report.dataset, report.dataset)
    lines = [
        f"### {title}: tuned parameters and trial accuracy (%)", "",
        f"Protocol: {describe_protocol(report)}. Mean ± sample standard deviation over the "
        "trials; the best two test accuracies in bold.", "",
        "| Optimizer | Tuned parameters | Trials | Validation accuracy | Test accuracy "
        "| Paper: parameters | Paper: validation | Paper: test |",
        "|---|---|--:|---|---|---|---|---|",
    ]  # fmt: skip
    for row in report.rows:
        lines.append("| " + " | ".join(_md_row(row, row.label in report.best)) + " |")
    notes = [s for s in (_best_sentence(report), _failures(report)) if s]
    if notes:
        lines += ["", " ".join(notes)]
    if len(report.rows) > 1:
        grid = _pair_grid(report)
        lines += ["", "Mann-Whitney U p-values between every pair (test accuracy, two-sided):",
                  "", "| | " + " | ".join(grid[0][1]) + " |", "|---|" + "--:|" * len(grid[0][1])]
        for a, cells in grid[1:]:
            lines.append(f"| {a} | " + " | ".join(
                "" if c is None else f"**{_p(c[0])}**" if c[1] else _p(c[0]) for c in cells
            ) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- LaTeX

def _tex_pm(mean: float, sd: float, bold: bool = False) -> str:
    if not math.isfinite(mean):
        return "--"
    body = f"{mean:.2f} \\pm {sd:.2f}" if math.isfinite(sd) else f"{mean:.2f}"
    return f"$\\mathbf{{{body}}}$" if bold else f"${body}$"


def _tex_params(params) -> str:
    return ", ".join(f"${p.latex} = {_value(p.value)}$" for p in params) or "--"


def _tex_row(row: Row, best: bool) -> str:
    paper = row.paper
    latex_names = {p.name: p.latex for p in row.params}
    cells = [
        f"\\textbf{{{tex_text(row.label)}}}" if best else tex_text(row.label),
        _tex_params(row.params),
        str(row.test.n),
        _tex_pm(row.validation.mean, row.validation.sd),
        _tex_pm(row.test.mean, row.test.sd, bold=best),
        _tex_params([Param(n, latex_names.get(n, tex_text(n)), v) for n, v in paper.tuned])
        if paper else "--",
        _tex_pm(*paper.validation) if paper else "--",
        _tex_pm(*paper.test) if paper else "--",
    ]  # fmt: skip
    return " & ".join(cells) + r" \\"


def latex(report: Report) -> str:
    """The report as LaTeX ``table`` environments (booktabs): the main table and, with more
    than one optimizer, the pairwise Mann-Whitney p-values."""
    title = DATASET_TITLES.get(report.dataset, report.dataset)
    key = report.dataset.replace("-", "")
    caption = (f"Trial results on {title}: tuned parameters, validation and test accuracy "
               f"(\\%, mean $\\pm$ sample sd over the trials) beside the paper's. "
               f"{tex_text(describe_protocol(report))}. Best two test accuracies in bold. "
               + tex_text(_best_sentence(report)))
    lines = [
        r"\begin{table}[htbp]", r"\centering", r"\small",
        f"\\caption{{{caption.strip()}}}", f"\\label{{tab:benchmark-{key}}}",
        r"\begin{tabular}{llrlllll}",
        r"\toprule",
        r" & & & \multicolumn{2}{c}{Accuracy (\%)} & \multicolumn{3}{c}{Paper} \\",
        r"\cmidrule(lr){4-5} \cmidrule(lr){6-8}",
        r"Optimizer & Parameters & $n$ & Validation & Test & Parameters & Validation & Test \\",
        r"\midrule",
    ]  # fmt: skip
    lines += [_tex_row(row, row.label in report.best) for row in report.rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    if len(report.rows) > 1:
        grid = _pair_grid(report)
        lines += [
            "", r"\begin{table}[htbp]", r"\centering", r"\small",
            f"\\caption{{Mann-Whitney U p-values between every pair of optimizers on {title} "
            r"(test accuracy, two-sided); the best two in bold.}",
            f"\\label{{tab:benchmark-{key}-mannwhitney}}",
            r"\begin{tabular}{l" + "r" * len(grid[0][1]) + "}", r"\toprule",
            " & " + " & ".join(tex_text(b) for b in grid[0][1]) + r" \\", r"\midrule",
        ]  # fmt: skip
        for a, cells in grid[1:]:
            texts = ["" if c is None else _p(c[0]).replace("e-", "e$-$") for c in cells]
            texts = [f"\\textbf{{{t}}}" if c and c[1] else t for t, c in zip(texts, cells)]
            lines.append(tex_text(a) + " & " + " & ".join(texts) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"
