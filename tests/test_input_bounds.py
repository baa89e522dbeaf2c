"""Every configuration and grammar input is checked against a declared, bounded schema: a bad
value is one line naming where it came from, the key, the value and the bound; files are read
only when regular, small and UTF-8; grammar validation and SGE mapping are near-linear and never
depend on Python's recursion limit (see docs/inputs.md)."""

from __future__ import annotations

import dataclasses
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from symalr.bench.config import BenchConfig, build_config, load_overrides
from symalr.errors import ConfigError, GrammarError
from symalr.evolve.config import (
    EvolveConfig,
    ExecutorConfig,
    parse_assignment,
    resolve_config,
)
from symalr.grammar import limits, load_grammar, parse_grammar, summarize
from symalr.settings import declared
from symalr.sge import MAX_DEPTH, SGEConfig, check_against_grammar, map_genotype
from symalr.sge.engine import MAX_RATE_TABLE
from symalr.sge.initialise import random_genotype
from symalr.sge.operators import mutate
from symalr.train.config import FitnessConfig
from tests.support import DATA_DIR

grammar_validate = importlib.import_module("symalr.grammar.validate")  # the package shadows it
ROOT = Path(__file__).resolve().parents[1]


def one_line(err: BaseException, *fragments: str) -> None:
    text = str(err)
    assert "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, text


def cli(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                      os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "symalr.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def cli_error(out: subprocess.CompletedProcess, *fragments: str) -> str:
    assert out.returncode == 2, out.stderr
    assert out.stdout == "" and "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --------------------------------------------------------------------------- the schema


SHAPES = [(SGEConfig, "sge."), (FitnessConfig, "fitness."), (ExecutorConfig, "executor."),
          (EvolveConfig, ""), (BenchConfig, "")]


@pytest.mark.parametrize("shape", [s for s, _ in SHAPES], ids=lambda s: s.__name__)
def test_every_field_declares_its_bounds(shape):
    """A number has low and high, a string or list a length bound or choices: nothing is
    accepted unbounded."""
    for name, (hint, lim) in declared(shape).items():
        if dataclasses.is_dataclass(hint) or hint is bool:
            continue
        text = str(hint)
        if lim.choices:
            continue
        if "int" in text or "float" in text:
            assert lim.low is not None and lim.high is not None, name
        if "str" in text and "float" not in text:
            assert lim.max_len is not None, name


def test_rate_table_bound_is_the_grammar_rule_bound():
    assert MAX_RATE_TABLE == limits.MAX_RULES


# The review's probes of evolve config files: each is one line naming the file, the key, the
# value and the bound.
BAD_TOML = [
    ("seed = 18446744073709551616\n", "seed = 18446744073709551616: expected an integer in "
                                      "[0, 2**63-1]"),
    ("seed = -1\n", "seed = -1: expected an integer in [0, 2**63-1]"),
    ("runs = 1000000000\n", "runs = 1000000000: expected an integer in [1, 1_000]"),
    ("[sge]\npopulation_size = 100000000\n", "sge.population_size = 100000000: expected an "
                                             "integer in [2, 10_000]"),
    ("[sge]\nmax_depth = 65\n", "sge.max_depth = 65: expected an integer in [1, 64]"),
    ("[sge]\nmax_depth = 1000000000000000000000000000000\n", "sge.max_depth = 1000"),
    ("[sge]\nmax_depth = 'abc'\n", "sge.max_depth = 'abc': expected an integer in [1, 64]"),
    ("[sge]\nmax_depth = nan\n", "sge.max_depth = nan: expected an integer"),
    ("[sge]\nmax_depth = 17.9\n", "sge.max_depth = 17.9: expected an integer"),
    ("[sge]\nmax_depth = 17.0\n", "sge.max_depth = 17.0: expected an integer"),
    ("[sge]\ngenerations = 1000001\n", "sge.generations = 1000001: expected an integer in "
                                       "[0, 1_000_000]"),
    ("[sge]\ncrossover_rate = nan\n", "sge.crossover_rate = nan: expected a finite number in "
                                      "[0, 1]"),
    ("[sge]\ncrossover_rate = inf\n", "sge.crossover_rate = inf: expected a finite number"),
    ("[sge]\nmutation_rate = 1.5\n", "sge.mutation_rate = 1.5: expected a finite number in "
                                     "[0, 1]"),
    ("[sge]\nmutation_rate = {x_func = -inf}\n", "sge.mutation_rate.x_func = -inf"),
    ("[sge]\nmutation_rate = {x_func = {deeper = 1}}\n", "sge.mutation_rate.x_func = {'deeper"),
    ("[sge]\npopulation_size = 16\ntournament_size = 17\n",
     "sge.tournament_size = 17: expected at most sge.population_size = 16"),
    ("[sge]\npopulation_size = 16\nelitism = 16\n",
     "sge.elitism = 16: expected below sge.population_size = 16"),
    ("[sge]\nmin_init_depth = 18\n", "sge.min_init_depth = 18: expected at most "
                                     "sge.max_depth = 17"),
    ("[fitness]\nsplits = [10000.9, 2000, 2000]\n", "fitness.splits[0] = 10000.9: expected "
                                                    "an integer in [1, 60_000]"),
    ("[fitness]\nsplits = [50000, 9000, 2000]\n", "fitness.splits = [50000, 9000, 2000]: "
                                                  "expected sizes adding up to at most 60_000"),
    ("[fitness]\nn_evaluations = 101\n", "fitness.n_evaluations = 101: expected an integer in "
                                         "[1, 100]"),
    ("[fitness]\ntime_limit_s = nan\n", "fitness.time_limit_s = nan: expected a finite number"),
    ("[fitness]\npatience = 0\n", "fitness.patience = 0: expected an integer in [1, 10_000] "
                                  "or \"none\""),
    ("[fitness]\nthreads = 1000000\n", "fitness.threads = 1000000: expected an integer in "
                                       "[1, 1_024]"),
    ("[fitness]\ndevice = \"cpu\\n\"\n", "fitness.device = 'cpu\\n': expected cpu, cuda"),
    ("[fitness]\nmin_accuracy = -0.1\n", "fitness.min_accuracy = -0.1"),
    ("[executor]\nworkers = 100000\n", "executor.workers = 100000: expected an integer in "
                                       "[0, 1_024]"),
    ("[executor]\ntimeout_s = inf\n", "executor.timeout_s = inf: expected a finite number in "
                                      "[0, 1_000_000]"),
    ("[executor]\nmax_retries = 1000000\n", "executor.max_retries = 1000000"),
    ("seed_with = [" + ", ".join(['"sgd"'] * 17) + "]\n[sge]\npopulation_size = 16\n",
     "seed_with = ['sgd', 'sgd', 'sgd', 'sgd', 'sgd', 'sgd', ...]: expected at most "
     "sge.population_size = 16"),
    ("grammar = \"" + "g" * 5000 + "\"\n", "grammar = 'gggg"),
]


@pytest.mark.parametrize("text, message", BAD_TOML, ids=[m.split(":")[0] for _, m in BAD_TOML])
def test_bad_config_values_are_one_line_with_file_key_value_and_bound(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        resolve_config(path)
    one_line(info.value, str(path), message)
    assert len(str(info.value)) < 400  # long values are shown shortened


def test_flag_values_go_through_the_same_schema():
    cases = [
        ("sge.max_depth=abc", "flags: sge.max_depth = 'abc': expected an integer in [1, 64]"),
        ("sge.max_depth=none", "flags: sge.max_depth = 'none': expected an integer"),
        ("seed=18446744073709551616", "flags: seed = 18446744073709551616"),
        ("sge.crossover_rate=nan", "flags: sge.crossover_rate = nan: expected a finite number"),
        ("executor.kind=slurm", "flags: executor.kind = 'slurm': expected one of 'local'"),
    ]
    for text, message in cases:
        key, value = parse_assignment(text)
        with pytest.raises(ConfigError) as info:
            resolve_config(flags={key: value})
        one_line(info.value, message)
    deep = "x=" + "[" * 5000 + "]" * 5000
    with pytest.raises(ConfigError) as info:
        parse_assignment(deep)
    one_line(info.value, "--set x: the value is nested too deeply")


def test_good_values_are_normalised_not_truncated():
    c = resolve_config(flags={"sge.max_depth": np.int64(20), "fitness.splits": [600, 300, 300],
                              "sge.mutation_rate": {"x_func": 1}})
    assert c.sge.max_depth == 20 and type(c.sge.max_depth) is int
    assert c.fitness.splits == (600, 300, 300)
    assert c.sge.mutation_rate == {"x_func": 1.0}
    assert resolve_config(flags={"seed": 2**63 - 1}).seed == 2**63 - 1


def test_values_built_in_python_obey_the_same_bounds():
    with pytest.raises(ConfigError) as info:
        FitnessConfig(splits=(10_000.9, 2_000, 2_000))
    one_line(info.value, "fitness.splits[0] = 10000.9: expected an integer")
    with pytest.raises(ConfigError, match=r"sge.max_depth = 65: expected an integer in \[1, 64\]"):
        SGEConfig(max_depth=65)
    with pytest.raises(ConfigError, match=r"fitness.batch_size = True: expected an integer"):
        FitnessConfig(batch_size=True)


def test_mutation_rate_table_is_checked_against_the_grammar():
    grammar = load_grammar("alr")
    config = resolve_config(flags={"sge.mutation_rate": {"nope": 0.1, "x_func": 0.2}}).sge
    with pytest.raises(ConfigError) as info:
        check_against_grammar(config, grammar)
    one_line(info.value, "sge.mutation_rate.nope: <nope> is not a non-terminal of grammar",
             "its non-terminals: start, ")
    check_against_grammar(resolve_config(flags={"sge.mutation_rate": {"x_func": 0.2}}).sge,
                          grammar)


# --------------------------------------------------------------------------- config files


def test_config_files_must_be_small_regular_utf8(tmp_path):
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"# caf\xe9\nruns = 2\n")
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (1 << 20) + b"\n")
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    cases = [
        (latin, "not UTF-8 text: invalid byte at offset 5"),
        (big, "more than the 1048576 allowed"),
        (tmp_path, "cannot read config file (a directory, not a regular file)"),
        (fifo, "cannot read config file (a FIFO, not a regular file)"),
        (Path("/dev/zero"), "not a regular file"),
        (tmp_path / "missing.toml", "cannot read config file (No such file or directory)"),
    ]
    for path, message in cases:
        start = time.monotonic()
        with pytest.raises(ConfigError) as info:
            resolve_config(path)
        one_line(info.value, str(path), message)
        assert time.monotonic() - start < 10
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbfruns = 2\n")
    assert resolve_config(bom).runs == 2


@pytest.mark.parametrize("text, message", [
    ("a = " + "[" * 3000 + "]" * 3000, "nested too deeply"),
    ("a = " + "{b = " * 3000 + "1" + "}" * 3000, "nested too deeply"),
    ("seed = " + "9" * 5000, "a number has too many digits"),
])
def test_deeply_nested_or_huge_toml_is_one_line(tmp_path, text, message):
    path = tmp_path / "deep.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        resolve_config(path)
    one_line(info.value, f"{path}: invalid TOML: {message}")
    with pytest.raises(ConfigError) as info:
        parse_assignment(text.replace(" = ", "="))
    one_line(info.value, "--set ")


def test_nested_tables_within_the_parser_limit_are_unknown_keys(tmp_path):
    path = tmp_path / "tables.toml"
    path.write_text("[sge." + ".".join(["a"] * 3000) + "]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        resolve_config(path)
    one_line(info.value, "unknown key sge.a (known in [sge]:")


# --------------------------------------------------------------------------- benchmark config


def test_benchmark_json_config_bounds_and_files(tmp_path):
    path = tmp_path / "bench.json"
    cases = [
        ('{"trials": 1e400}', "trials = inf: expected an integer in [0, 10_000]"),
        ('{"tune_epochs": 2.5}', "tune_epochs = 2.5: expected an integer in [1, 100_000]"),
        ('{"seed": 18446744073709551616}', "seed = 18446744073709551616: expected an integer"),
        ('{"val_size": 7001}', "val_size = 7001: expected an integer in [1, 7_000]"),
        ('{"batch_size": NaN}', "batch_size = nan: expected an integer"),
        ('{"optimizers": ["adam", ["nested"]]}', "optimizers[1] = ['nested']: expected a"),
        ('{"stacking": true}', "stacking = True: expected one of 'auto', 'on', 'off'"),
    ]
    for text, message in cases:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            build_config("quick", load_overrides(path), where=str(path))
        one_line(info.value, f"{path}: {message}")
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_overrides(path)
    one_line(info.value, "invalid JSON: nested too deeply")
    path.write_text('{"seed": ' + "9" * 5000 + "}", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_overrides(path)
    one_line(info.value, "invalid JSON: a number has too many digits")
    path.write_bytes(b'{"dataset": "caf\xe9"}')
    with pytest.raises(ConfigError) as info:
        load_overrides(path)
    one_line(info.value, "cannot read benchmark config (not UTF-8 text")
    for special in (Path("/dev/zero"), tmp_path):
        with pytest.raises(ConfigError) as info:
            load_overrides(special)
        one_line(info.value, "not a regular file")


def test_benchmark_cli_refuses_a_device_file_as_config():
    cli_error(cli("benchmark", "--config", "/dev/zero"),
              "/dev/zero: cannot read benchmark config (")


# --------------------------------------------------------------------------- the command line


def test_evolve_cli_bad_values_are_exit_2_and_create_nothing(tmp_path):
    db = tmp_path / "new.db"
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = 18446744073709551616\n", encoding="utf-8")
    cli_error(cli("evolve", "--config", str(bad), "--db", str(db)),
              f"{bad}: seed = 18446744073709551616: expected an integer in [0, 2**63-1]")
    cli_error(cli("evolve", "--set", "sge.mutation_rate={nope = 0.1}", "--db", str(db)),
              "preset default + flags: sge.mutation_rate.nope: <nope> is not a non-terminal")
    cli_error(cli("evolve", "--set", "sge.max_depth=17.9", "--db", str(db)),
              "flags: sge.max_depth = 17.9: expected an integer in [1, 64]")
    cli_error(cli("evolve", "--config", "/dev/zero", "--db", str(db)),
              "/dev/zero: cannot read config file (")
    assert not db.exists()


def test_ray_that_cannot_start_is_one_line_and_fast(tmp_path):
    pytest.importorskip("ray")
    db = tmp_path / "ray.db"
    start = time.monotonic()
    out = cli("evolve", "--executor", "ray", "--address", "127.0.0.1:1", "--runs", "1",
              "--generations", "0", "--population", "2", "--set", "sge.tournament_size=2",
              "--set", "sge.elitism=1", "--set", "seed_with=[]",
              "--data-dir", str(DATA_DIR), "--db", str(db))
    cli_error(out, "executor.address = '127.0.0.1:1': cannot join a Ray cluster there")
    assert time.monotonic() - start < 90
    assert not db.exists()


# --------------------------------------------------------------------------- grammar files


def test_grammar_files_must_be_small_regular_utf8(tmp_path):
    fifo = tmp_path / "pipe.bnf"
    os.mkfifo(fifo)
    big = tmp_path / "big.bnf"
    big.write_bytes(b"<a> ::= x\n" + b"# padding\n" * (1 << 17))
    latin = tmp_path / "latin.bnf"
    latin.write_bytes(b"<a> ::= x # caf\xe9\n")
    cases = [
        (Path("/dev/zero"), "cannot read grammar ("),
        (fifo, "cannot read grammar (a FIFO, not a regular file)"),
        (tmp_path, "cannot read grammar (a directory, not a regular file)"),
        (big, "1310730 bytes, more than the 1048576 allowed"),
        (latin, "cannot read grammar (not UTF-8 text: invalid byte at offset 15)"),
    ]
    for path, message in cases:
        start = time.monotonic()
        with pytest.raises(GrammarError) as info:
            load_grammar(path)
        one_line(info.value, f"{path}:0:0: cannot read grammar (", message)
        assert time.monotonic() - start < 10


def test_grammar_cli_on_dev_zero_and_a_fifo_is_one_line(tmp_path):
    fifo = tmp_path / "pipe.bnf"
    os.mkfifo(fifo)
    cli_error(cli("grammar", "/dev/zero", timeout=60), "/dev/zero:0:0: cannot read grammar")
    cli_error(cli("grammar", str(fifo), timeout=60), "not a regular file")


def test_rule_and_alternative_counts_are_bounded(monkeypatch):
    monkeypatch.setattr(grammar_validate, "MAX_RULES", 3)
    with pytest.raises(GrammarError) as info:
        parse_grammar("<a> ::= <b>\n<b> ::= <c>\n<c> ::= <d>\n<d> ::= x\n", "r.bnf")
    assert (info.value.line, info.value.col) == (4, 1)
    one_line(info.value, "too many rules: at most 3 allowed")
    monkeypatch.setattr(grammar_validate, "MAX_ALTERNATIVES_PER_RULE", 2)
    with pytest.raises(GrammarError) as info:
        parse_grammar("<a> ::= x | y | z\n", "r.bnf")
    assert (info.value.line, info.value.col) == (1, 17)
    one_line(info.value, "too many alternatives in <a>: at most 2 allowed")
    monkeypatch.setattr(grammar_validate, "MAX_ALTERNATIVES_PER_RULE", 10)
    monkeypatch.setattr(grammar_validate, "MAX_ALTERNATIVES", 4)
    with pytest.raises(GrammarError) as info:
        parse_grammar("<a> ::= <b> | x | y\n<b> ::= x | y\n", "r.bnf")
    assert (info.value.line, info.value.col) == (2, 13)
    one_line(info.value, "too many alternatives: at most 4 in a grammar")


def chain(n: int, exit_each: bool = True) -> str:
    """``<a0> ::= negative(<a1>) | x``, ... ``<an> ::= x`` (without ``| x`` when not
    ``exit_each``: then ``<a0>`` needs depth n + 1)."""
    tail = " | x" if exit_each else ""
    return "".join(f"<a{i}> ::= negative(<a{i + 1}>){tail}\n" for i in range(n)) + f"<a{n}> ::= x\n"


def test_twenty_thousand_chained_rules_validate_in_seconds():
    """The fixpoint sweeps and per-non-terminal reachability took 103 s here; the worklist and
    SCC algorithms are near-linear: a few seconds per grammar even on a loaded shared machine
    (the bound leaves room for one). Lark's parsing is timed apart (linear as well)."""
    from symalr.grammar.analysis import analyse
    from symalr.grammar.parse import parse_raw
    from symalr.grammar.validate import validate
    from symalr.sge.mapping import grammar_tables

    for exit_each in (True, False):
        raw = parse_raw(chain(20_000, exit_each), "chain.bnf")
        start = time.monotonic()
        grammar = analyse(raw, validate(raw))
        tables = grammar_tables(grammar)
        elapsed = time.monotonic() - start
        assert elapsed < 20, f"validation took {elapsed:.1f} s"
        assert grammar.min_depth["a0"] == (1 if exit_each else 20_001)
        assert tables.nt_max_depth["a0"] == 20_001 and not grammar.recursive
        assert summarize(grammar).count("\n") == 3 + 20_001


def test_infinite_derivation_is_reported_at_its_cause():
    with pytest.raises(GrammarError) as info:
        parse_grammar("<start> ::= x_func = <e>\n<e> ::= negative(<e>) | square(<e>)\n", "g.bnf")
    assert (info.value.line, info.value.col) == (2, 1)
    assert info.value.message == ("non-terminal <e> has no finite derivation: every alternative "
                                  "needs <e> again (give it an alternative that does not recurse)")
    text = ("<s> ::= x_func = <a>\n<a> ::= negative(<b>) | square(<a>)\n<b> ::= sqrt(<a>)\n"
            "<c> ::= negative(<c>) | x\n")
    with pytest.raises(GrammarError) as info:
        parse_grammar(text.replace("<c> ::= negative(<c>) | x\n", ""), "g.bnf")
    assert (info.value.line, info.value.col) == (2, 1)
    one_line(info.value, "<a> has no finite derivation: every alternative of <a>, <b> needs one "
                         "of them again")
    # a rule that only *uses* an unfinishable one is not blamed: the first cause is
    with pytest.raises(GrammarError) as info:
        parse_grammar("<s> ::= add(<f>, <e>)\n<f> ::= x\n<e> ::= negative(<e>)\n", "g.bnf")
    assert info.value.line == 3 and "<e> has no finite derivation" in info.value.message


def test_recursion_analysis_is_iterative_on_long_cycles():
    n = 5_000
    text = "".join(f"<a{i}> ::= negative(<a{(i + 1) % n}>) | x\n" for i in range(n))
    grammar = parse_grammar(text, "cycle.bnf")
    assert len(grammar.recursive) == n and grammar.min_depth["a0"] == 1


# --------------------------------------------------------------------------- SGE at the bound


def headroom(frames: int):
    """Run with at most ``frames`` Python frames above the current one (restored after)."""
    import contextlib

    @contextlib.contextmanager
    def limit():
        depth = 0
        frame = sys._getframe()
        while frame is not None:
            depth += 1
            frame = frame.f_back
        before = sys.getrecursionlimit()
        sys.setrecursionlimit(depth + frames)
        try:
            yield
        finally:
            sys.setrecursionlimit(before)

    return limit()


@pytest.mark.parametrize("name", ["alr", "alr-grad"])
def test_mapping_at_the_largest_depth_stays_far_below_the_recursion_limit(name):
    grammar = load_grammar(name)
    rng = np.random.default_rng(5)
    with headroom(MAX_DEPTH + 60):
        for _ in range(5):
            genotype = random_genotype(grammar, rng, MAX_DEPTH, MAX_DEPTH)
            used, tree = map_genotype(grammar, genotype, MAX_DEPTH)
            assert tree.depth() == MAX_DEPTH
            mutated = mutate(grammar, used, 0.5, rng, MAX_DEPTH)
            assert map_genotype(grammar, mutated, MAX_DEPTH)[1].depth() <= MAX_DEPTH
            assert tree.text()


def test_chain_grammar_at_the_largest_depth():
    grammar = parse_grammar(chain(MAX_DEPTH - 1, exit_each=False), "chain.bnf")
    assert grammar.min_depth["a0"] == MAX_DEPTH
    with headroom(MAX_DEPTH + 60):
        genotype = random_genotype(grammar, np.random.default_rng(0), MAX_DEPTH)
        used, tree = map_genotype(grammar, genotype, MAX_DEPTH)
    assert tree.depth() == MAX_DEPTH and tree.text().count("negative(") == MAX_DEPTH - 1
    with pytest.raises(ConfigError, match=f"max_depth 65: at most {MAX_DEPTH}"):
        map_genotype(grammar, used, MAX_DEPTH + 1)
    deeper = parse_grammar(chain(MAX_DEPTH, exit_each=False), "deeper.bnf")
    with pytest.raises(ConfigError, match="needs a tree depth of at least 65"):
        check_against_grammar(SGEConfig(max_depth=MAX_DEPTH), deeper)


def test_derivation_methods_do_not_recurse():
    from symalr.types import Derivation

    node: Derivation | str = "x"
    for _ in range(20_000):
        node = Derivation("a", 0, ("negative", "(", node, ")"))
    assert node.depth() == 20_000
    assert node.text() == "negative(" * 20_000 + "x" + ")" * 20_000
