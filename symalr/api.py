"""The Python API: everything the command line does, returning objects instead of printing.

    import symalr
    spec = symalr.optimizer("ades")                      # an OptimizerSpec
    print(symalr.latex("ades", table=True))              # the update rule in LaTeX
    source = symalr.export("ades", backend="torch")      # a standalone module's text
    result = symalr.evolve_optimizers(settings={"sge.generations": 5})
    result.best[0]                                       # the best rule found, as a spec
    report = symalr.benchmark(["adam", "sign"], task="fmnist_mlp", settings={"trials": 3})
    symalr.tasks()                                       # the built-in task names
    task = symalr.task("examples/my_task.py:two_moons")  # a symalr.tasks.Task

Optimizers are named as on the command line: a catalog name, a spec or individual JSON
file, ``DB#N``, or an :class:`~symalr.spec.OptimizerSpec` itself. Errors are the same
:class:`~symalr.errors.SymalrError` subclasses the CLI prints as one line. Progress goes to
``say`` (a callable of a line; silent by default). Importing this module (and ``symalr``)
loads neither torch, TensorFlow nor Ray: each function imports what it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

Say = Callable[[str], None]


def optimizer(name_or_spec) -> Any:
    """The :class:`~symalr.spec.OptimizerSpec` named like a CLI argument (or given)."""
    from symalr.spec import OptimizerSpec

    if isinstance(name_or_spec, OptimizerSpec):
        return name_or_spec
    from symalr.resolve import resolve_optimizer

    return resolve_optimizer(str(name_or_spec))


def latex(name_or_spec, table: bool = False, document: bool = False) -> str:
    """The update rule as a LaTeX ``align`` block (``table``: plus the booktabs
    hyperparameter table; ``document``: wrapped in a compilable document)."""
    from symalr.render.latex import hyperparam_table, latex_document, update_rule_latex

    spec = optimizer(name_or_spec)
    body = update_rule_latex(spec)
    if table:
        body += "\n\n" + hyperparam_table(spec)
    return latex_document(body) if document else body


def export(name_or_spec, backend: str = "torch", class_name: str | None = None) -> str:
    """The standalone module of an optimizer for ``backend`` (``torch``, ``tf``...)."""
    from symalr.pipeline import module_source

    return module_source(optimizer(name_or_spec), backend, class_name)


def evolve_optimizers(settings: Mapping[str, Any] | None = None, *, preset: str | None = None,
                      config_file: str | Path | None = None, db: str | Path | None = None,
                      resume: str | Path | None = None, tasks: Sequence[str] = (),
                      report_dir: str | Path | None = None, top: int = 3, report: bool = True,
                      say: Say | None = None):
    """Run an evolution experiment (``symalr evolve``) and return its
    :class:`~symalr.evolve.experiment.ExperimentResult` (database, report folder, product
    text, the ``top`` best rules as specs). ``settings`` are dotted configuration keys
    (``{"sge.generations": 5}``); ``tasks`` search on those tasks (built-in names or
    ``module:function``)."""
    from symalr.evolve.experiment import run_experiment

    flags = dict(settings or {})
    if tasks:
        flags.update({"search.kind": "tasks", "search.tasks": list(tasks)})
    return run_experiment(flags, config_file=Path(config_file) if config_file else None,
                          preset=preset, db=Path(db) if db else None,
                          resume=Path(resume) if resume else None,
                          report_dir=Path(report_dir) if report_dir else None, top=top,
                          report=report, say=say)


def benchmark(optimizers: Sequence[str], *, task: str | None = None,
              dataset: str | None = None, preset: str = "quick",
              settings: Mapping[str, Any] | None = None, db: str | Path = "benchmark.sqlite",
              out: str | Path | None = None, say: Say | None = None):
    """Tune and trial ``optimizers`` on a task or a paper data set (``symalr benchmark``);
    returns the :class:`~symalr.bench.report.Report` of every trial stored under the
    protocol (and writes the tables and plots to ``out`` when given)."""
    from symalr.bench.config import build_config
    from symalr.bench.runner import run_benchmark

    overrides = {**dict(settings or {}), "optimizers": tuple(optimizers), "task": task,
                 "dataset": dataset}
    config = build_config(preset, overrides, "arguments")
    report = run_benchmark(config, db, "symalr.benchmark()", progress=say or (lambda line: None))
    if out is not None:
        from symalr.bench.outputs import write_outputs

        write_outputs(report, out)
    return report


def tasks() -> tuple[str, ...]:
    """The names of the built-in tasks (the suite, then the paper's set-ups)."""
    from symalr.tasks import task_names

    return task_names()


def task(name: str, data_dir: str | None = None):
    """The :class:`~symalr.tasks.Task` called ``name`` (built-in or ``module:function``)."""
    from symalr.tasks import get_task

    return get_task(name, data_dir)
