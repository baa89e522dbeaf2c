"""Run a benchmark: resolve the optimizers, tune each, run its trials, store everything.

For every optimizer, in the order given: Bayesian tuning (:mod:`symalr.bench.tuning`; every
call stored as it finishes), then ``trials`` trainings with the tuned values (each stored as it
finishes; with stacking, an optimizer's trials train together as stacks of models, see
:func:`run_trials`). Then the report is rebuilt from *every* trial stored under the same
protocol, so re-running a benchmark into a database adds to its tables.

Seeds (all recorded): every tuning call trains from the same seed, ``derive_seed(seed, 0)``
(same initial weights and batch order, as in evolution); skopt runs with
``derive_seed(seed, 1)``, so the same seed reproduces the same tuning calls. Trial ``k`` of
benchmark ``b`` (the database's benchmark id) trains from ``derive_seed(seed, 2, b, k)``: equal
for every optimizer of the benchmark (they start from the same weights), and new for every
re-run, whose trials therefore add information instead of repeating the same ones.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from symalr.bench.config import BenchConfig
from symalr.bench.report import Report, report_from_store
from symalr.bench.store import BenchStore, Training, TuningCall, setting_key
from symalr.spec import OptimizerSpec

Progress = Callable[[str], None]


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def derive_seed(*parts: int) -> int:
    """A 32-bit seed derived from integers (NumPy ``SeedSequence``)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def resolve_all(config: BenchConfig) -> list[tuple[str, OptimizerSpec]]:
    """(argument, spec) of every optimizer of ``config``; the first unknown one raises."""
    from symalr.resolve import resolve_optimizer

    return [(arg, resolve_optimizer(arg)) for arg in config.optimizers]


def _note(training: Training) -> str:
    """`` [why]`` when a training did not simply run all its epochs, else ''."""
    if training.error or training.stop_reason != "max_epochs":
        return f" [{training.error or training.stop_reason}]"
    return ""


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.5g}" for k, v in values.items())


def tune_entry(store: BenchStore, entry_id: int, spec: OptimizerSpec, config: BenchConfig,
               setup, progress: Progress) -> tuple[dict[str, float], int | None]:
    """Tune ``spec`` (storing every call); returns (values, index of the best call), or the
    defaults and None with ``tune_calls=0``."""
    from symalr.bench.trials import tuning_call
    from symalr.bench.tuning import tune

    if config.tune_calls == 0:
        return spec.defaults, None
    train_seed = derive_seed(config.seed, 0)
    counter = itertools.count()
    best = 0.0

    def objective(values: dict[str, float]) -> float:
        nonlocal best
        index = next(counter)
        training = tuning_call(setup, spec.with_defaults(values), setup.tune_epochs, train_seed)
        store.add_tuning_call(entry_id, TuningCall(index, values, training))
        best = max(best, training.val_accuracy)
        progress(f"{spec.name}: tune {index + 1}/{config.tune_calls} {_fmt(values)} -> val "
                 f"{training.val_accuracy:.4f} (best {best:.4f}, {training.seconds:.0f} s)"
                 f"{_note(training)}")
        return training.val_accuracy

    result = tune(spec, objective, config.tune_calls, config.initial_points,
                  derive_seed(config.seed, 1))
    return result.best_values, result.best_index


def run_trials(store: BenchStore, entry_id: int, bench_id: int, spec: OptimizerSpec,
               config: BenchConfig, setup, stack_size: int | None, progress: Progress) -> None:
    """Run and store the ``config.trials`` trials of ``spec`` (tuned values as its defaults):
    one by one (``stack_size`` None) or in stacks of at most ``stack_size`` trials with one
    shared optimizer (:func:`symalr.bench.trials.trial_stack`); the records are the same."""
    from symalr.bench.trials import trial, trial_stack
    from symalr.train.stacking import pack

    seeds = [derive_seed(config.seed, 2, bench_id, k) for k in range(config.trials)]
    if stack_size is None:
        chunks = [range(k, k + 1) for k in range(config.trials)]
    else:
        chunks = pack(config.trials, stack_size)
    for chunk in chunks:
        if stack_size is None:
            results = [trial(setup, spec, setup.trial_epochs, seeds[chunk[0]])]
        else:
            results = trial_stack(setup, spec, setup.trial_epochs, [seeds[k] for k in chunk])
        for k, (training, test_acc, test_loss) in zip(chunk, results):
            store.add_trial(entry_id, k, seeds[k], test_acc, test_loss, training)
            progress(f"{spec.name}: trial {k + 1}/{config.trials} seed {seeds[k]}: val "
                     f"{training.val_accuracy:.4f} (epoch {training.best_epoch}), test "
                     f"{test_acc:.4f} ({training.seconds:.0f} s){_note(training)}")


def run_benchmark(config: BenchConfig, db: str | Path, command: str = "",
                  progress: Progress = stderr_progress) -> Report:
    """Run the benchmark ``config`` into database ``db`` (created if absent, appended to
    otherwise) and return the report of every trial stored under its protocol. Trials are
    stacked as ``config.stacking`` decides for the device (the decision is reported through
    ``progress``); tuning calls always run one by one (each has its own values)."""
    specs = resolve_all(config)  # unknown names fail before anything is loaded or stored
    from symalr.bench.trials import can_stack, check_model, load_setup
    from symalr.bench.trials import stack_size as measure_stack
    from symalr.train.stacking import decide_stacking

    check_model(config)
    setup = load_setup(config)  # a user task is checked before the database is touched
    protocol = setup.protocol
    with BenchStore.open(db) as store:
        stacked, why = decide_stacking(config.stacking, setup.device)
        if stacked and not can_stack(setup):
            stacked, why = False, "sequential (this task's model or loss cannot be stacked)"
        bench_id = store.add_benchmark(config.to_json(), protocol, command)
        what = config.model_name if config.task is None else setup.task.key
        progress(f"benchmark {bench_id} in {db}: {setup.label}, {what}, "
                 f"{len(setup.data.train[1]):,} train / {len(setup.data.validation[1]):,} "
                 f"validation / {len(setup.data.test[1]):,} test examples")
        size = measure_stack(setup) if stacked and config.trials else None
        detail = f", stacks of at most {size} trials" if size else ""
        progress(f"trials on {setup.device}: {why}{detail}")
        for position, (arg, spec) in enumerate(specs):
            entry_id = store.add_entry(bench_id, position, arg, spec.to_json())
            values, best_call = tune_entry(store, entry_id, spec, config, setup, progress)
            trained = spec.with_defaults(values)
            store.add_tuning(entry_id, values, trained.to_json(),
                             setting_key(trained.to_json(), protocol), best_call)
            progress(f"{spec.name}: tuned {_fmt(values)}")
            run_trials(store, entry_id, bench_id, trained, config, setup, size, progress)
        return report_from_store(store, protocol)
