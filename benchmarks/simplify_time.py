"""Simplification time of random individuals, and what the work bound changed
(docs/simplification.md#the-bound-on-sympy-simplification; results in benchmarks/simplify.md).

Draws ``--n`` random individuals of each shipped grammar (``alr``, ``alr-grad``) with
:func:`symalr.sge.random_population` (seeded, default depth), builds each raw spec and times
``symalr.simplify.simplify`` on it. SymPy's cache is cleared before every timed call, so a time
does not depend on which individuals came before (production runs with a warm cache and are
faster). Printed per grammar and overall: max, p99, median and total seconds, the most work
units one individual spent and how often each decision of the bound was taken (these are
machine-independent), and the slowest individuals.

Unless ``--no-previous``, each individual is also simplified the way symalr did before the work
bound (``sympy.simplify`` on every expression of at most 40 operations, with no memo and no
budget; the former 10 s alarm is not reproduced, the slowest previous call is printed instead)
and the count of individuals whose simplified spec differs is printed, with their phenotypes.

Usage::

    python benchmarks/simplify_time.py [--n 550] [--seed 31] [--no-previous] [--top 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import sympy  # noqa: E402

from symalr.grammar import load_grammar  # noqa: E402
from symalr.phenotype import spec_from_phenotype  # noqa: E402
from symalr.sge import DEFAULT_MAX_DEPTH, map_genotype, random_population  # noqa: E402
from symalr.simplify import simplify  # noqa: E402
from symalr.simplify_work import COUNTS, SPEC_BUDGET, Work  # noqa: E402

GRAMMARS = ("alr", "alr-grad")
#: The former gate: expressions with more operations skipped ``sympy.simplify``.
PREVIOUS_MAX_OPS = 40


class PreviousWork(Work):
    """The simplification symalr did before the work bound: every expression of at most
    :data:`PREVIOUS_MAX_OPS` operations through ``sympy.simplify`` (no degree or term gate, no
    budget, no memo). Records the slowest single call."""

    slowest = 0.0

    def simplify(self, e: sympy.Expr) -> sympy.Expr:
        if e.is_Atom or sympy.count_ops(e) > PREVIOUS_MAX_OPS:
            return e
        start = time.perf_counter()
        out = sympy.simplify(e, ratio=1.0)
        PreviousWork.slowest = max(PreviousWork.slowest, time.perf_counter() - start)
        odd = (sympy.I, sympy.zoo, sympy.nan)
        if out.has(*odd) and not e.has(*odd):
            return e
        return out if sympy.count_ops(out) <= sympy.count_ops(e) else e


class CountingWork(Work):
    """:class:`Work` that adds its decisions to class-wide totals and remembers the most units
    one spec spent."""

    spent_max = 0
    totals = dict.fromkeys(COUNTS, 0)
    specs_over_budget = 0

    def simplify(self, e: sympy.Expr) -> sympy.Expr:
        before = dict(self.counts)
        out = super().simplify(e)
        for key, value in self.counts.items():
            CountingWork.totals[key] += value - before[key]
        if self.counts["over_budget"] > before["over_budget"] and not before["over_budget"]:
            CountingWork.specs_over_budget += 1
        CountingWork.spent_max = max(CountingWork.spent_max, SPEC_BUDGET - self.left)
        return out


def individuals(grammar_name: str, n: int, seed: int):
    """``(index, phenotype)`` of ``n`` seeded random individuals of ``grammar_name``."""
    grammar = load_grammar(grammar_name)
    rng = np.random.default_rng(seed)
    for k, genotype in enumerate(random_population(grammar, n, rng, DEFAULT_MAX_DEPTH)):
        _, tree = map_genotype(grammar, genotype, DEFAULT_MAX_DEPTH)
        yield k, tree.text()


def timed(raw, work: Work):
    sympy.core.cache.clear_cache()
    start = time.perf_counter()
    out = simplify(raw, work=work)
    return time.perf_counter() - start, json.dumps(out.to_json(), sort_keys=True)


def summary(label: str, times: list[float]) -> str:
    ts = sorted(times)
    p99 = ts[min(len(ts) - 1, int(0.99 * len(ts)))]
    return (f"{label:9s} n={len(ts):5d}  max {ts[-1]:6.3f} s  p99 {p99:6.3f} s  "
            f"median {statistics.median(ts):6.3f} s  total {sum(ts):8.1f} s")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=550, help="individuals per grammar")
    ap.add_argument("--seed", type=int, default=31,
                    help="seed of the first grammar's sample (the second uses seed + 1)")
    ap.add_argument("--no-previous", action="store_true",
                    help="skip the comparison with the simplification before the work bound")
    ap.add_argument("--top", type=int, default=5, help="slowest individuals to list")
    args = ap.parse_args(argv)

    simplify(spec_from_phenotype("x_func = grad; y_func = y; z_func = z; weight_func = x"))
    rows, changed = [], []
    for i, grammar_name in enumerate(GRAMMARS):
        for k, text in individuals(grammar_name, args.n, args.seed + i):
            raw = spec_from_phenotype(text)
            seconds, new = timed(raw, CountingWork())
            old_seconds = None
            if not args.no_previous:
                old_seconds, old = timed(raw, PreviousWork())
                if old != new:
                    changed.append((grammar_name, k, text))
            rows.append((grammar_name, k, seconds, old_seconds, text))

    print(f"simplify of {args.n} random individuals per grammar (seeds {args.seed}, "
          f"{args.seed + 1}; SymPy {sympy.__version__}; SymPy cache cleared before each)")
    for grammar_name in GRAMMARS:
        print(summary(grammar_name, [r[2] for r in rows if r[0] == grammar_name]))
    print(summary("all", [r[2] for r in rows]))
    print(f"most work units one individual spent: {CountingWork.spent_max} "
          f"(budget {SPEC_BUDGET}); individuals that ran out of budget: "
          f"{CountingWork.specs_over_budget}")
    print("expressions met by the bounded simplification: " + ", ".join(
        f"{key} {value}" for key, value in CountingWork.totals.items()))
    print(f"slowest {args.top}:")
    for grammar_name, k, seconds, _, text in sorted(rows, key=lambda r: -r[2])[:args.top]:
        print(f"  {seconds:6.3f} s  {grammar_name}#{k}: {text}")
    if not args.no_previous:
        print(summary("previous", [r[3] for r in rows]))
        print(f"previous: slowest single sympy.simplify call {PreviousWork.slowest:.3f} s")
        print(f"changed vs previous: {len(changed)} of {len(rows)}")
        for grammar_name, k, text in changed:
            print(f"  {grammar_name}#{k}: {text}")


if __name__ == "__main__":
    main()
