"""Discovery: progress ratios and their aggregation, the funnel's promotion and gating (on a
real store), exact resume across funnel stages after SIGKILL, and what the task fitness
measures of catalog optimizers (sensitivity, speed)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_evolve_resume import committed, evolve, finish, kill_when

from symalr import catalog
from symalr.evolve.config import resolve_config
from symalr.evolve.funnel import promotions
from symalr.evolve.store import EvaluationRow, GenerationRow, IndividualRow, Store, dump
from symalr.tasks.fitness import (
    FLOOR,
    Reference,
    TaskFitness,
    aggregate,
    evaluate_candidate,
    progress,
)
from tests.support import one_thread  # noqa: F401

# ---------------------------------------------------------------------------- arithmetic


def test_progress_is_measured_from_the_untrained_model_in_units_of_tuned_adam():
    ref = Reference(initial=0.1, adam=0.8, sgd_momentum=0.6)
    assert progress(0.8, ref) == pytest.approx(1.0)
    assert progress(0.45, ref) == pytest.approx(0.5)
    assert progress(0.05, ref) == 0.0 and progress(math.nan, ref) == 0.0
    assert progress(2.0, ref) == 1.5  # capped
    assert progress(0.6, ref, against=ref.sgd_momentum) == pytest.approx(1.0)


def test_geometric_mean_rewards_rules_that_work_everywhere():
    everywhere = aggregate([0.6, 0.6, 0.6])
    one_failure = aggregate([1.0, 1.0, 0.0])
    assert everywhere == pytest.approx(0.6)
    assert one_failure == pytest.approx(FLOOR ** (1 / 3))
    assert everywhere > one_failure  # an arithmetic mean (0.67 vs 0.6) would rank them the other way
    assert aggregate([]) == 0.0


# ---------------------------------------------------------------------------- the funnel


def _store_with_stage1(path, config, fitnesses):
    """A real experiment database with one generation whose members have the given stage-1
    fitnesses (distinct fingerprints)."""
    store = Store.create(path)
    (run_id,) = store.add_runs([(config.seed, config.to_dict())], "test")
    key = config.fitness_key(1)
    members = []
    for k, f in enumerate(fitnesses):
        fp = f"fp{k:02d}"
        members.append(IndividualRow(run_id, 0, k, {"start": [0]}, f"p{k}", "{}", f"c{k}", fp,
                                     (), "init", f, "trained"))
        store.add_evaluation(EvaluationRow(0, key, fp, 0, (run_id, 0, k), f, (), (), None,
                                           False, details={"multiplier": 3.0}))
    store.add_generations([(GenerationRow(run_id, 0, {}, max(fitnesses), 0.0, len(fitnesses),
                                          0, 0, 0), members)])
    return store, run_id


def test_promotion_takes_the_best_distinct_candidates_past_the_gate(tmp_path):
    config = resolve_config(flags={"search.kind": "tasks", "search.stage2_tasks": ["regression"],
                                   "search.stage2_promote": 2, "search.gate": "none",
                                   "search.stage3_tasks": ["fmnist_mlp"],
                                   "search.holdout": []})
    store, run_id = _store_with_stage1(tmp_path / "a.db", config, [0.2, 0.9, math.nan, 0.5])
    chosen = promotions(store, config, [run_id], 2)
    assert [row.fingerprint for _, row, _ in chosen] == ["fp01", "fp03"]
    # the default preset's stage 2 starts from each candidate's best stage-1 multiplier
    assert config.search.stage2_multipliers and config.search.relative(2)
    assert all(scale == 3.0 for *_, scale in chosen)
    # stage 3 starts from each candidate's best stage-2 multiplier
    key2 = config.fitness_key(2)
    store.add_evaluation(EvaluationRow(0, key2, "fp03", 0, (run_id, 0, 3), 0.7, (), (), None,
                                       False, stage=2, details={"multiplier": 0.3}))
    (scope, row, scale), = promotions(store, config, [run_id], 3)[:1]
    assert row.fingerprint == "fp03" and scale == 0.3
    assert [r.fingerprint for r in store.best_individuals(2)] == ["fp03", "fp01"]  # deepest first
    store.close()


def test_without_stage2_multipliers_stage2_uses_stage1s_multipliers_as_they_are(tmp_path):
    config = resolve_config(flags={"search.kind": "tasks", "search.stage2_tasks": ["regression"],
                                   "search.stage2_multipliers": [], "search.gate": "none",
                                   "search.holdout": []})
    store, run_id = _store_with_stage1(tmp_path / "c.db", config, [0.2, 0.9])
    assert not config.search.relative(2)
    assert config.search.stages()[1][2] == config.search.multipliers
    assert [scale for *_, scale in promotions(store, config, [run_id], 2)] == [1.0, 1.0]
    # a relative stage 2 is another fitness (its own cache key), even with equal numbers
    relative = resolve_config(flags={"search.kind": "tasks", "search.stage2_tasks": ["regression"],
                                     "search.stage2_multipliers": [1 / 3, 1.0, 3.0],
                                     "search.gate": "none", "search.holdout": []})
    assert relative.fitness_key(2) != config.fitness_key(2)
    store.close()


def test_the_gate_holds_back_candidates_that_do_not_beat_the_baseline(tmp_path):
    config = resolve_config(flags={"search.kind": "tasks", "search.stage2_tasks": ["regression"],
                                   "search.gate": "adam", "search.holdout": []})
    store, run_id = _store_with_stage1(tmp_path / "b.db", config, [0.6, 1.05, 0.4])
    assert [row.fingerprint for _, row, _ in promotions(store, config, [run_id], 2)] == ["fp01"]
    store.close()


# ---------------------------------------------------------------------------- resume


FUNNEL = ["--set", "search.kind=\"tasks\"", "--set", "search.tasks=[\"ill_conditioned\"]",
          "--set", "search.epochs=0.2", "--set", "search.multipliers=[1.0, 3.0]",
          "--set", "search.stage2_tasks=[\"regression\"]", "--set", "search.stage2_epochs=0.2",
          "--set", "search.stage2_promote=2", "--set", "search.gate=\"none\"",
          "--set", "search.holdout=[]", "--set", "search.stage3_tasks=[]",
          "--set", "search.normalise_step=true",
          "--set", "runs=1", "--set", "seed=5", "--set", "seed_with=[]",
          "--set", "sge.mutation_rate=0.15", "--set", "sge.crossover_rate=0.9",
          "--set", "sge.population_size=6", "--set", "sge.generations=2",
          "--set", "sge.tournament_size=2", "--workers", "1"]


@pytest.fixture(scope="module")
def funnel_reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("funnel") / "ref.db"
    finish(evolve("--db", str(path), "--no-report", *FUNNEL))
    return path


def test_kill_nine_during_the_funnel_then_resume_is_identical(funnel_reference, tmp_path):
    with Store.open(funnel_reference, readonly=True) as store:
        stages = [s for (s,) in store.query("SELECT stage FROM evaluations ORDER BY eval_id")]
    assert 1 in stages and 2 in stages  # the reference ran both stages
    total = committed(funnel_reference)
    rng = np.random.default_rng(7)
    targets = sorted(int(t) for t in rng.choice(np.arange(1, total), size=3, replace=False))
    path = tmp_path / "killed.db"
    proc = evolve("--db", str(path), "--no-report", *FUNNEL)
    kills = 0
    for target in targets:
        kills += kill_when(proc, path, target)
        proc = evolve("--resume", str(path), "--no-report")
    finish(proc)
    assert kills >= 2
    assert dump(path) == dump(funnel_reference)


def test_show_and_export_state_the_search_measures(funnel_reference, tmp_path):
    show = subprocess.run([sys.executable, "-m", "symalr.cli", "show", str(funnel_reference)],
                          capture_output=True, text=True, timeout=120)
    assert show.returncode == 0 and "sensitivity" in show.stdout and "speed" in show.stdout
    assert "start-up burst" in show.stdout
    assert "of a settled step of 0.001 (every rule normalised)" in show.stdout
    out = subprocess.run([sys.executable, "-m", "symalr.cli", "export",
                          f"{funnel_reference}#1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "sensitivity" in out.stdout and "speed" in out.stdout
    assert "start-up burst" in " ".join(out.stdout.split())  # the docstring wraps lines


def test_the_exported_rule_takes_the_common_step_times_the_chosen_multiplier(funnel_reference):
    """With ``normalise_step`` the stored spec is the rule at the common settled step, and the
    exported rule carries the multiplier the search chose at the deepest stage it reached."""
    from symalr.evolve.query import best_spec
    from symalr.startup import settled_step, step_sizes
    from symalr.step_scale import TARGET_STEP

    spec = best_spec(funnel_reference, 1)
    with Store.open(funnel_reference, readonly=True) as store:
        row = store.best_individuals(1)[0]
        multiplier = store.evaluations_of(row.fingerprint)[-1].details["multiplier"]
    assert settled_step(step_sizes(spec)) == pytest.approx(TARGET_STEP * multiplier, rel=1e-6)


def test_report_plot_names_the_task_fitness(funnel_reference):
    from symalr.evolve.report import FITNESS_AXIS, fitness_axis

    with Store.open(funnel_reference, readonly=True) as store:
        ids = [run.run_id for run in store.runs()]
        assert fitness_axis(store, ids) == FITNESS_AXIS["tasks"]


def test_discovery_tables_count_what_the_database_holds(funnel_reference):
    """benchmarks/discovery_tables.py (the tables of benchmarks/discovery.md) reads a search."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "discovery_tables.py"
    out = subprocess.run([sys.executable, str(script), str(funnel_reference)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    with Store.open(funnel_reference, readonly=True) as store:
        sources = dict(store.query("SELECT source, COUNT(*) FROM individuals GROUP BY source"))
        stage1 = store.query("SELECT COUNT(*) FROM evaluations WHERE stage = 1")[0][0]
    total, trained = sum(sources.values()), sources.get("trained", 0)
    row = next(line for line in out.stdout.splitlines()
               if line.startswith("| 5 | ") and "%" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == [str(total), str(trained)]
    assert cells[6] == f"{1 - trained / total:.1%}"
    assert f"({stage1}) |" in out.stdout  # the curve covers every stage-1 training


def test_scale_duplicates_reads_a_search(funnel_reference):
    """benchmarks/scale_duplicates.py reads a search's database; a normalised search (this
    one) has no two stage-1 trainings that differ by a positive factor. (Whether rules that
    differ by a factor share a fingerprint is tested directly in tests/test_step_scale.py.)"""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "scale_duplicates.py"
    out = subprocess.run([sys.executable, str(script), str(funnel_reference)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "(0 multiples of a rule trained before)" in out.stdout


# ---------------------------------------------------------------------------- measures


def test_adam_is_less_sensitive_to_the_step_multiplier_than_sgd_when_ill_conditioned():
    config = TaskFitness(tasks=("ill_conditioned",), multipliers=(0.1, 1.0, 10.0), epochs=0.3)
    adam = evaluate_candidate(catalog.get("adam").with_defaults({"lr": 0.01}), config)
    sgd = evaluate_candidate(catalog.get("sgd").with_defaults({"lr": 0.001}), config)
    assert adam.error is None and sgd.error is None
    assert adam.sensitivity < sgd.sensitivity
    assert adam.fitness > sgd.fitness
    assert 0.0 < adam.speed <= 1.0 and set(adam.per_multiplier) == {"0.1", "1.0", "10.0"}


def test_step_tolerance_keeps_the_smallest_step_that_is_about_as_good():
    from symalr.tasks.fitness import _aggregate, _Run

    class _Task:
        def __init__(self, name):
            self.name = name

    tasks = [_Task("a"), _Task("b")]
    refs = {t.name: Reference(initial=0.0, adam=1.0, sgd_momentum=0.8) for t in tasks}
    scores = {0.1: 0.985, 0.3: 1.0, 1.0: 0.7}  # validation scores = progress ratios here
    runs = {(m, 0, t.name): _Run(v, [v], None) for m, v in scores.items() for t in tasks}
    plain = _aggregate(TaskFitness(tasks=("a", "b"), multipliers=(0.1, 0.3, 1.0)), tasks,
                       refs, runs, 0.0)
    assert plain.multiplier == 0.3 and plain.fitness == pytest.approx(1.0)
    tolerant = _aggregate(TaskFitness(tasks=("a", "b"), multipliers=(0.1, 0.3, 1.0),
                                      step_tolerance=0.02), tasks, refs, runs, 0.0)
    assert tolerant.multiplier == 0.1 and tolerant.fitness == pytest.approx(0.985)
    assert tolerant.sensitivity == plain.sensitivity == pytest.approx(0.3)
    strict = _aggregate(TaskFitness(tasks=("a", "b"), multipliers=(0.1, 0.3, 1.0),
                                    step_tolerance=0.01), tasks, refs, runs, 0.0)
    assert strict.multiplier == 0.3  # 0.015 worse is more than the tolerance
    # the tolerance is part of the fitness (and its cache key) only when set
    assert "step_tolerance" not in TaskFitness().to_dict()
    assert TaskFitness.from_dict(TaskFitness(step_tolerance=0.02).to_dict()).step_tolerance == 0.02


def _setting(flags: list[str], key: str, value: str) -> list[str]:
    """``flags`` with the ``--set`` of ``key`` replaced by ``key=value``."""
    out = list(flags)
    at = next(k for k, v in enumerate(out) if v.startswith(key + "="))
    out[at] = f"{key}={value}"
    return out


def test_the_transfer_table_and_a_finished_database_resumed_rewrites_it(tmp_path):
    """The report ends with the transfer table on the held-out task (tuned baselines, plain
    Adam, the best rule, ratios to tuned Adam); resuming the finished database (say after a
    kill during that measurement) writes the same table again instead of dropping it."""
    flags = _setting(_setting(FUNNEL, "search.holdout", "[\"regression\"]"),
                     "search.stage2_tasks", "[]")
    flags = _setting(flags, "sge.generations", "1") + ["--set", "search.holdout_top=1"]
    path, report = tmp_path / "t.db", tmp_path / "report"
    err = finish(evolve("--db", str(path), "--report-dir", str(report), *flags))
    assert "held-out tasks regression" in err
    table = (report / "transfer.md").read_text()
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()
            if line.startswith("| ") and "---" not in line}
    assert set(rows) == {"optimizer", "tuned Adam", "tuned SGD-momentum", "Adam lr 0.001",
                         "rank 1"}
    assert "(1.00)" in rows["tuned Adam"] and rows["rank 1"].rstrip(" |").split()[-1] != "nan"
    (report / "transfer.md").unlink()
    err = finish(evolve("--resume", str(path), "--report-dir", str(report)))
    assert "nothing to resume" in err and "held-out tasks regression" in err
    assert (report / "transfer.md").read_text() == table
