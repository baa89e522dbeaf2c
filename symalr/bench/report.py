"""Benchmark report: every stored trial of a protocol, grouped, summarised and written out.

:func:`build_report` reads *all* finished trials stored under a protocol (every benchmark run
into the database, so re-running appends and the report grows) and groups them by setting
(the trained spec with its tuned values, docs/benchmark.md). Each group is one row: its tuned
parameters, validation and test accuracy (mean ± sd, in percent), the paper's values for the
same optimizer and data set, and its per-trial values for plots. Mann-Whitney U is computed
between every pair of rows. :mod:`symalr.bench.outputs` writes the tables and plots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from symalr.bench import stats
from symalr.bench.paper_results import PAPER_MANN_WHITNEY, PaperResult, display_name, paper_result
from symalr.bench.store import BenchStore, TrialRecord
from symalr.bench.tuning import tunable
from symalr.spec import spec_from_json


@dataclass(frozen=True)
class Param:
    """A tuned hyperparameter: its name, LaTeX name, and the value the trials used."""

    name: str
    latex: str
    value: float


@dataclass(frozen=True)
class Row:
    """One optimizer setting: its summaries (percent), per-trial values and the paper's row."""

    label: str
    name: str
    params: tuple[Param, ...]
    validation: stats.Summary
    test: stats.Summary
    test_values: tuple[float, ...]
    val_curves: tuple[tuple[float, ...], ...]
    seeds: tuple[int, ...]
    failures: int
    paper: PaperResult | None


@dataclass(frozen=True)
class Report:
    """A whole benchmark report for one protocol (see :meth:`BenchConfig.protocol`)."""

    protocol: dict[str, Any]
    rows: tuple[Row, ...]
    tests: tuple[stats.MannWhitney, ...]
    best: tuple[str, ...]
    benchmarks: int
    paper_test: tuple[str, str, float] | None

    @property
    def dataset(self) -> str:
        return self.protocol["dataset"]

    def test_between(self, a: str, b: str) -> stats.MannWhitney | None:
        """The Mann-Whitney test of the rows labelled ``a`` and ``b`` (either order)."""
        for t in self.tests:
            if {t.a, t.b} == {a, b}:
                return t
        return None


def _params(trained_spec: dict) -> tuple[Param, ...]:
    import sympy

    spec = spec_from_json(trained_spec, "<stored spec>")
    return tuple(Param(h.name, h.latex or sympy.latex(sympy.Symbol(h.name)), h.default)
                 for h in tunable(spec))


def _labels(settings: list[tuple[str, str]]) -> dict[str, str]:
    """Setting -> label: the display name, numbered when one name has several settings."""
    counts: dict[str, int] = {}
    for _, name in settings:
        counts[name] = counts.get(name, 0) + 1
    seen: dict[str, int] = {}
    labels = {}
    for setting, name in settings:
        seen[name] = seen.get(name, 0) + 1
        base = display_name(name)
        labels[setting] = base if counts[name] == 1 else f"{base} [{seen[name]}]"
    return labels


def build_report(trials: list[TrialRecord], protocol: dict[str, Any]) -> Report:
    """Group ``trials`` (all under ``protocol``) by setting, in order of first appearance."""
    groups: dict[str, list[TrialRecord]] = {}
    for t in trials:
        groups.setdefault(t.setting, []).append(t)
    labels = _labels([(s, g[0].name) for s, g in groups.items()])
    dataset = protocol["dataset"]
    rows = []
    for setting, group in groups.items():
        rows.append(Row(
            label=labels[setting], name=group[0].name, params=_params(group[0].trained_spec),
            validation=stats.summarize([100 * t.training.val_accuracy for t in group]),
            test=stats.summarize([100 * t.test_accuracy for t in group]),
            test_values=tuple(100 * t.test_accuracy for t in group),
            val_curves=tuple(tuple(100 * e["val_accuracy"] for e in t.training.curve)
                             for t in group),
            seeds=tuple(t.seed for t in group),
            failures=sum(t.training.stop_reason == "nonfinite" or t.training.error is not None
                         for t in group),
            paper=paper_result(dataset, group[0].name),
        ))  # fmt: skip
    tests = stats.pairwise({r.label: r.test_values for r in rows})
    best = stats.best_two({r.label: r.test.mean for r in rows})
    return Report(protocol, tuple(rows), tuple(tests), best,
                  benchmarks=len({t.benchmark_id for t in trials}),
                  paper_test=PAPER_MANN_WHITNEY.get(dataset))


def report_from_store(store: BenchStore, protocol: dict[str, Any]) -> Report:
    """The report of every finished trial stored under ``protocol``."""
    return build_report(store.trials(protocol), protocol)
