"""Simplification is bounded by work, never by time (docs/simplification.md, "The bound on
SymPy simplification"): the same spec gives the same result twice, with a cold SymPy cache, in
worker threads, in another process with another hash seed and with signals unavailable, and an
expression too big for ``sympy.simplify`` is refused by its measured size before any SymPy work
starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import sympy

from symalr.expr import symbol
from symalr.grammar import load_grammar
from symalr.phenotype import spec_from_phenotype
from symalr.sge import DEFAULT_MAX_DEPTH, map_genotype, random_population
from symalr.simplify import simplify
from symalr.simplify_work import MAX_DEGREE, MAX_OPS, MAX_TERMS, SPEC_BUDGET, Size, Work, measure

ROOT = Path(__file__).resolve().parents[1]
G, X, Y, Z = (symbol(n) for n in "gxyz")
#: Four operations, so the former operation-count gate let it through, but sympy.simplify
#: expands and cancels a degree-64 polynomial of 2,145 terms: ~9 s on a 2-core machine.
BIG = X - (G + X + Y) ** 64


def _phenotypes(per_grammar: int = 8) -> list[str]:
    """Seeded random phenotypes of both shipped grammars."""
    out = []
    for seed, name in enumerate(("alr", "alr-grad"), start=41):
        grammar = load_grammar(name)
        rng = np.random.default_rng(seed)
        for genotype in random_population(grammar, per_grammar, rng, DEFAULT_MAX_DEPTH):
            out.append(map_genotype(grammar, genotype, DEFAULT_MAX_DEPTH)[1].text())
    return out


def _text(spec) -> str:
    return json.dumps(spec.to_json(), sort_keys=True)


def _simplified_texts(specs) -> list[str]:
    return [_text(simplify(s)) for s in specs]


@pytest.fixture(scope="module")
def phenotypes():
    return _phenotypes()


@pytest.fixture(scope="module")
def raws(phenotypes):
    return [spec_from_phenotype(text) for text in phenotypes]


@pytest.fixture(scope="module")
def in_main(raws):
    return _simplified_texts(raws)


def test_same_result_twice_and_in_worker_threads(raws, in_main):
    sympy.core.cache.clear_cache()  # a cold SymPy cache must not change anything either
    assert _simplified_texts(raws) == in_main
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(_simplified_texts, raws).result() == in_main
    with ThreadPoolExecutor(max_workers=3) as pool:  # concurrent threads, one spec each
        assert [_text(s) for s in pool.map(simplify, raws)] == in_main


def test_same_result_in_another_process_with_another_hash_seed(phenotypes, in_main):
    code = ("import json, sys\n"
            "from symalr.phenotype import spec_from_phenotype\n"
            "from symalr.simplify import simplify\n"
            "for text in json.load(sys.stdin):\n"
            "    print(json.dumps(simplify(spec_from_phenotype(text)).to_json(), sort_keys=True))\n")
    env = {**os.environ, "PYTHONHASHSEED": "2024"}
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(phenotypes[::2]),
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == in_main[::2]


def test_no_signal_or_alarm_is_used(raws, in_main, monkeypatch):
    """With every way of arming an alarm made to fail, results are unchanged, in the main
    thread (where the former time limit used SIGALRM) as in another."""
    def refuse(*args, **kwargs):
        raise AssertionError("simplification touched signals")

    for name in ("signal", "setitimer", "alarm"):
        monkeypatch.setattr(signal, name, refuse)
    assert threading.current_thread() is threading.main_thread()
    assert _simplified_texts(raws[:6]) == in_main[:6]
    worker = ThreadPoolExecutor(max_workers=1)
    try:
        assert worker.submit(_simplified_texts, raws[6:]).result() == in_main[6:]
    finally:
        worker.shutdown()


def test_measure_of_known_expressions():
    """The measures are exact functions of the expression (values worked out by hand)."""
    assert measure(X - (G + X + Y) ** 2) == Size(ops=4, degree=2, terms=8, cost=18)
    assert measure(X * Y + G) == Size(ops=2, degree=2, terms=3, cost=8)
    big = measure(BIG)
    assert big.ops <= MAX_OPS  # small by operation count ...
    assert big.degree == 64 > MAX_DEGREE and big.terms == 2 + 2145 > MAX_TERMS  # ... not by work
    assert not big.fits
    # exponents from nested squares are measured without expanding (saturated, instant)
    assert not measure(sympy.sqrt((G + X) ** (2**60) + Y)).fits
    assert measure(sympy.Add(*[symbol(f"v{i}") for i in range(MAX_OPS + 2)])) == Size(MAX_OPS + 1)


def test_big_expression_is_refused_by_size_before_sympy_runs(monkeypatch):
    calls = []
    original = sympy.simplify

    def spy(e, **kwargs):
        calls.append(e)
        return original(e, **kwargs)

    monkeypatch.setattr(sympy, "simplify", spy)
    work = Work()
    assert work.simplify(BIG) is BIG
    assert calls == [] and work.left == SPEC_BUDGET  # nothing run, nothing spent
    assert work.counts["over_size"] == 1
    # in a spec: w <- w - (c_1 x - (2x + c_2)**64), the power built by six nested squares
    spec = spec_from_phenotype(
        "x_func = negative(add(grad, grad)); y_func = y; z_func = z; weight_func = "
        "subtract(multiply(x, 2.0e-03), " + "square(" * 6 + "add(x, add(x, 2.5e-01))"
        + ")" * 6 + ")")
    assert not measure(spec.delta).fits
    work = Work()
    out = simplify(spec, work=work)
    assert work.counts["over_size"] >= 1 and work.counts["simplified"] >= 1
    assert calls and all(measure(e).fits for e in calls)
    assert out.delta == spec.delta.xreplace({spec.sym("c_1"): out.sym("beta_1"),
                                             spec.sym("c_2"): out.sym("beta_2")})
    assert simplify(spec) == out


def test_budget_runs_out_at_the_same_expression_every_time():
    """A spec's work budget is spent in a fixed order; what does not fit keeps its form."""
    exprs = [(X + Y) * (X - Y) - X**2 + k * G for k in range(1, 5)]
    costs = [measure(e).cost for e in exprs]
    for _ in range(2):
        work = Work(costs[0] + costs[1])  # room for the first two only
        out = [work.simplify(e) for e in exprs]
        assert out == [k * G - Y**2 for k in (1, 2)] + exprs[2:]
        assert work.left == 0 and work.counts["over_budget"] == 2
    memo = Work(costs[0])
    assert memo.simplify(exprs[0]) == memo.simplify(exprs[0]) == G - Y**2  # the repeat is free
    assert memo.left == 0 and memo.counts["memo"] == 1
