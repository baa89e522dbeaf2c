"""Stacked evaluation (evolve): the same results as the sequential path, within float32
tolerance, for single fitness computations and for a whole tiny experiment (same selections);
the stacking decision and the executor it picks."""

from __future__ import annotations

import dataclasses

import pytest

from symalr import catalog
from symalr.errors import ConfigError
from symalr.evolve.config import ExecutorConfig
from symalr.evolve.executors import InlineExecutor, make_executor
from symalr.evolve.executors.stacked import StackedExecutor
from symalr.evolve.store import Store
from symalr.train.candidate import evaluate_spec
from symalr.train.config import FitnessConfig
from symalr.train.stacked_fitness import evaluate_specs_stacked
from symalr.train.stacking import decide_stacking, member_bytes, pack
from tests.support import one_thread  # noqa: F401 (autouse fixture)
from tests.test_evolve_run import data_dir, run_experiment

#: Relative tolerance on fitness and accuracies: the stack's batched kernels sum in another
#: order than the sequential ones (~1e-6 relative per step); one image of 300 is 3e-3.
RTOL = 1e-6



def _assert_same_result(a, b):
    assert (a.error, a.rejected, a.epochs) == (b.error, b.rejected, b.epochs)
    assert a.fitness == pytest.approx(b.fitness, rel=RTOL)
    assert a.accuracies == pytest.approx(b.accuracies, rel=RTOL)


def test_stacked_fitness_equals_sequential_fitness():
    config = FitnessConfig(model="mlp", splits=(600, 300, 300), n_evaluations=2,
                           batch_size=50, max_epochs=3, patience=1, min_accuracy=0.6,
                           data_dir=data_dir(), threads=1)
    nan = catalog.get("sgd").with_defaults({"lr": 1e30})  # non-finite loss at once
    specs = [catalog.get(n) for n in ("adam", "ades", "rmsprop", "sign", "momentum")] + [nan]
    stacked = evaluate_specs_stacked(specs, config, max_stack=4)  # stacks of 3 + 3
    for spec, got in zip(specs, stacked):
        _assert_same_result(evaluate_spec(spec, config), got)
    assert [len(r.accuracies) for r in stacked] == [2, 2, 2, 2, 1, 1]  # the 0.6 cut
    assert stacked[-1].error.startswith("non-finite loss in evaluation 1")
    assert len({r.fitness for r in stacked}) > 4  # the candidates are told apart


def test_experiment_stores_the_same_results_and_selections(tmp_path):
    inline = run_experiment(tmp_path / "inline.db", InlineExecutor())
    stacked = run_experiment(tmp_path / "stacked.db", StackedExecutor(max_stack=5))
    sql = ("SELECT run_id, generation, position, phenotype, source, fitness FROM individuals "
           "ORDER BY run_id, generation, position")
    with Store.open(inline.path, readonly=True) as a, Store.open(stacked.path,
                                                                   readonly=True) as b:
        rows_a, rows_b = a.query(sql), b.query(sql)
        evals = ("SELECT fingerprint, fitness, accuracies, epochs, error, rejected FROM "
                 "evaluations ORDER BY fingerprint")
        ev_a, ev_b = a.query(evals), b.query(evals)
    assert [r[:5] for r in rows_a] == [r[:5] for r in rows_b]  # the same selections
    assert [r[5] for r in rows_a] == pytest.approx([r[5] for r in rows_b], rel=RTOL)
    assert [(r[0], r[3], r[4], r[5]) for r in ev_a] == [(r[0], r[3], r[4], r[5]) for r in ev_b]
    assert [r[1] for r in ev_a] == pytest.approx([r[1] for r in ev_b], rel=RTOL)


def test_stacking_decision_and_executor_choice():
    assert decide_stacking("auto", "cpu")[0] is False
    assert decide_stacking("auto", "cuda:0")[0] is True
    assert decide_stacking("on", "cpu") == (True, "stacking on (configured)")
    with pytest.raises(ConfigError, match="stacking"):
        decide_stacking("maybe", "cpu")
    cpu = FitnessConfig()
    inline = ExecutorConfig(kind="inline", stacking="auto")
    assert make_executor(inline, cpu).name == "inline"
    assert "0.31x" in make_executor(inline, cpu).mode
    forced = dataclasses.replace(inline, stacking="on")
    assert make_executor(forced, cpu).name == "stacked"
    with pytest.raises(ConfigError, match="torch backend"):
        make_executor(forced, cpu.replace(backend="tf"))
    with pytest.raises(ConfigError, match="device"):
        FitnessConfig(device="gpu")


def test_packing_and_measured_member_size():
    assert [len(r) for r in pack(5, 3)] == [3, 2] and pack(0, 4) == []
    assert [len(r) for r in pack(10, 4)] == [4, 3, 3]
    from symalr.train.models import build_model

    small = member_bytes(build_model("small_cnn", 0), (1, 28, 28), 100, "cpu")
    large = member_bytes(build_model("mnist_cnn", 0), (1, 28, 28), 100, "cpu")
    assert 4 * 43_610 * 4 < small < large  # parameters, gradients, states, activations


def test_stacked_task_fitness_equals_sequential_on_a_dropout_task():
    """The task fitness's stacked path (the ``gpu`` preset's executor) gives each candidate
    the sequential path's score on ``fmnist_dropout``, a stage-2 task of the discovery
    presets: same batches, same dropout masks (the suite's models draw from torch's generator
    while they are built; the sequential training reseeds after that, as stacked members do),
    same aggregation. Continuous rules agree to float rounding; ``sign`` turns that rounding
    into a few validation images."""
    from symalr.tasks.fitness import TaskFitness, evaluate_candidate, evaluate_candidates_stacked

    config = TaskFitness(tasks=("fmnist_dropout",), multipliers=(1.0, 3.0), epochs=0.1,
                         data_dir=data_dir())
    specs = [catalog.get(n) for n in ("adam", "momentum", "sign")]
    stacked = evaluate_candidates_stacked(specs, config, max_stack=2)  # stacks of 2 + 1
    for spec, got in zip(specs, stacked):
        want = evaluate_candidate(spec, config)
        assert (got.error, got.rejected) == (want.error, want.rejected)
        rel = 1e-5 if spec.name != "sign" else 1e-2
        assert got.per_multiplier == pytest.approx(want.per_multiplier, rel=rel), spec.name
    assert len({round(r.fitness, 6) for r in stacked}) == 3  # the candidates are told apart
