"""Evolve configuration: presets, TOML files, flags, errors naming the key (see docs/store.md)."""

from __future__ import annotations

import pytest

from symalr.errors import ConfigError
from symalr.evolve.config import (
    EvolveConfig,
    config_from_dict,
    parse_assignment,
    resolve_config,
    with_overrides,
)


def test_paper_preset_is_table_1():
    c = resolve_config(preset="paper")
    assert c.runs == 9
    s = c.sge
    assert (s.generations, s.population_size, s.tournament_size) == (1500, 20, 5)
    assert (s.crossover_rate, s.mutation_rate, s.elitism) == (0.9, 0.15, 1)
    f = c.fitness
    assert (f.model, f.dataset, f.splits) == ("mnist_cnn", "fashion-mnist", (53000, 3500, 3500))
    assert (f.n_evaluations, f.batch_size, f.max_epochs, f.patience) == (5, 1000, 100, 5)
    assert f.min_accuracy == 0.8
    assert c.grammar == "alr" and c.seed_with == ()
    assert not c.search.normalise_step  # Algorithm 1 trains each rule as it is


@pytest.mark.parametrize("preset", ["default", "cpu-long", "gpu", "cluster"])
def test_discovery_presets_search_the_blocks_grammar_from_scratch(preset):
    c = resolve_config(preset=preset)
    assert c.grammar == "alr-blocks" and c.search.kind == "tasks"
    assert not c.seed_with  # warm starts are opt-in (--seed-with)
    assert c.search.normalise_step  # rules that differ only in their step are one candidate


def test_default_preset_is_cpu_sized_and_seeds_fitness():
    c = resolve_config(flags={"seed": 7})
    assert c.preset == "default" and c.fitness.model == "mlp"
    assert c.fitness.seed == 7 and c.fitness.threads == 1
    assert c.sge.population_size * c.sge.generations * c.runs <= 1500


def test_file_then_flags_win(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('preset = "paper"\nruns = 2\n[sge]\ngenerations = 4\nmutation_rate = 0.3\n'
                 '[fitness]\npreset = "proxy"\npatience = "none"\nsplits = [600, 200, 200]\n')
    c = resolve_config(f, {"sge.generations": 6, "executor.workers": 1})
    assert (c.preset, c.runs, c.sge.generations, c.sge.mutation_rate) == ("paper", 2, 6, 0.3)
    assert c.sge.population_size == 20  # from the paper preset
    assert c.fitness.patience is None and c.fitness.splits == (600, 200, 200)
    assert c.fitness.model == "mlp" and c.executor.workers == 1


def test_round_trip_through_stored_dict():
    c = resolve_config(flags={"sge.mutation_rate": {"x_expr": 0.2}, "seed_with": ["sgd"]})
    assert config_from_dict(c.to_dict()) == c
    assert isinstance(c, EvolveConfig) and c.seed_with == ("sgd",)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("populaton = 3\n", "unknown key populaton"),
        ("[sge]\npopulaton_size = 3\n", "unknown key sge.populaton_size"),
        ("[sge]\npopulation_size = 'ten'\n", "sge.population_size = 'ten': expected an integer"),
        ("[sge]\npopulation_size = 0\n", "sge.population_size = 0"),
        ("[sge]\nelitism = 30\n", "sge.elitism"),
        ("[fitness]\nmax_epochs = 0\n", "fitness.max_epochs = 0: expected an integer in [1, 10_000]"),
        ("[fitness]\nsplits = [1, 2]\n", "fitness.splits"),
        ("[fitness]\npreset = 'huge'\n", "fitness.preset = 'huge': expected one of 'paper', 'proxy'"),
        ("[executor]\nkind = 'slurm'\n", "executor.kind = 'slurm'"),
        ("runs = 0\n", "runs = 0"),
        ("sge = 3\n", "sge = 3: expected a table ([sge])"),
        ("runs = [\n", "invalid TOML"),
    ],
)
def test_bad_files_name_the_key_and_the_file(tmp_path, text, fragment):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        resolve_config(f)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value) and "bad.toml" in str(err.value)


def test_flag_errors_and_set_values():
    assert parse_assignment("fitness.model=mlp") == ("fitness.model", "mlp")
    assert parse_assignment("sge.generations = 5") == ("sge.generations", 5)
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_assignment("generations")
    with pytest.raises(ConfigError, match="unknown key sge.generation "):
        resolve_config(flags={"sge.generation": 5})
    with pytest.raises(ConfigError, match="preset = 'tiny'"):
        resolve_config(preset="tiny")


def test_resume_overrides_only_the_executor():
    c = resolve_config()
    changed = with_overrides(c, {"executor.workers": 1, "executor.kind": "inline"},
                             ("executor",), "cannot be changed")
    assert changed.executor.workers == 1 and changed.sge == c.sge
    assert changed.fitness_key() == c.fitness_key()
    with pytest.raises(ConfigError, match="sge.generations: cannot be changed"):
        with_overrides(c, {"sge.generations": 3}, ("executor",), "cannot be changed")


def test_fitness_key_ignores_the_data_folder_only():
    a1 = {"search.kind": "algorithm1"}
    c = resolve_config(flags=a1)
    moved = resolve_config(flags={**a1, "fitness.data_dir": "/elsewhere"})
    longer = resolve_config(flags={**a1, "fitness.max_epochs": 9})
    assert moved.fitness_key() == c.fitness_key() != longer.fitness_key()
    # a task-based search: what is trained changes the key of each stage, the folder does not
    tasks = resolve_config()
    moved = resolve_config(flags={"fitness.data_dir": "/elsewhere"})
    shorter = resolve_config(flags={"search.epochs": 0.25})
    assert [moved.fitness_key(k) for k in (1, 2, 3)] == [tasks.fitness_key(k) for k in (1, 2, 3)]
    assert shorter.fitness_key(1) != tasks.fitness_key(1)
    assert shorter.fitness_key(2) == tasks.fitness_key(2)
