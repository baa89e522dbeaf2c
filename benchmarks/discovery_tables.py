"""The tables of benchmarks/discovery.md, read from finished `symalr evolve` databases.

    python benchmarks/discovery_tables.py runs/default-0.db runs/default-1.db runs/default-2.db

For each database (one search; its report folder is ``--report-dir`` of the run, by default
``report-<db stem>`` beside it, or give ``DB:REPORT_DIR``) this prints, in markdown on
standard output:

- the rank-1 rule (canonical form, the furthest funnel stage it reached and its fitness there)
  with its held-out test scores from the report's ``transfer.csv``, as ratios to tuned Adam
  and to Adam at lr 1e-3;
- the search curve: the best stage-1 fitness after N trained stage-1 evaluations, and the first
  N at which it beat the stage-1 gate (SGD-momentum's stage-1 fitness) and tuned Adam (1.0);
- how many candidates were never trained (static rejection, cache hits, elite copies) and the
  cache hit rate, hits / (hits + trainings);
- the worker time per funnel stage.

Everything is read from the database and the report; nothing is trained (the gate comes from
the cached baselines, as in the search).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

CHECKPOINTS = (10, 25, 50, 100, 150, 200, 250)


def _report_dir(arg: str) -> tuple[Path, Path]:
    if ":" in arg:
        db, report = arg.split(":", 1)
        return Path(db), Path(report)
    db = Path(arg)
    return db, db.parent / f"report-{db.stem}"


def _held_out(report: Path) -> dict[tuple[str, str], float]:
    path = report / "transfer.csv"
    if not path.exists():
        return {}
    with path.open() as f:
        return {(r["task"], r["optimizer"]): float(r["test_score"]) for r in csv.DictReader(f)}


def summarise(db: Path, report: Path) -> dict:
    """The numbers of one search (see the module docstring)."""
    from symalr.evolve.config import build_config
    from symalr.evolve.funnel import gate
    from symalr.evolve.store import Store

    with Store.open(db, readonly=True) as store:
        data = store.runs()[0].config
        config = build_config(data, str(db))
        best = store.best_individuals(1)[0]
        deepest = store.evaluations_of(best.fingerprint)[-1]  # its furthest funnel stage
        stage1 = [f for (f,) in store.query(
            "SELECT fitness FROM evaluations WHERE stage = 1 AND rejected = 0 ORDER BY eval_id")]
        sources = dict(store.query("SELECT source, COUNT(*) FROM individuals GROUP BY source"))
        stages = store.query("SELECT stage, COUNT(*), SUM(seconds) FROM evaluations "
                             "WHERE rejected = 0 GROUP BY stage ORDER BY stage")
    running, curve = float("-inf"), []
    for f in stage1:
        running = max(running, f if f == f else float("-inf"))
        curve.append(running)
    threshold = gate(config, 1)
    first = {name: next((i + 1 for i, v in enumerate(curve) if v > level), None)
             for name, level in (("gate", threshold), ("adam", 1.0))}
    return {
        "seed": data.get("seed"), "rule": best.canonical, "stage": deepest.stage,
        "fitness": deepest.fitness, "held_out": _held_out(report),
        "tasks": list(config.search.holdout), "curve": curve, "gate": threshold,
        "first": first, "sources": sources, "total": sum(sources.values()),
        "trained": sources.get("trained", 0), "stages": stages,
    }


def _ratio(held: dict, task: str, name: str, ref: str) -> str:
    a, b = held.get((task, name)), held.get((task, ref))
    return "-" if a is None or not b else f"{a / b:.3f}"


def markdown(results: list[dict]) -> str:
    out = ["### Rank-1 rule per seed, held out", ""]
    tasks = results[0]["tasks"]
    out.append("| seed | rank-1 rule (canonical) | stage, fitness | "
               + " | ".join(f"`{t}`: test (÷ tuned Adam, ÷ Adam 1e-3)" for t in tasks) + " |")
    out.append("|---|---|---|" + "---|" * len(tasks))
    for r in results:
        cells = []
        for t in tasks:
            score = r["held_out"].get((t, "rank 1"))
            cells.append("-" if score is None else
                         f"{score:.4f} ({_ratio(r['held_out'], t, 'rank 1', 'tuned Adam')}, "
                         f"{_ratio(r['held_out'], t, 'rank 1', 'Adam lr 0.001')})")
        out.append(f"| {r['seed']} | `{r['rule']}` | {r['stage']}, {r['fitness']:.4f} | "
                   + " | ".join(cells) + " |")
    out += ["", "### Best stage-1 fitness after N trained stage-1 evaluations", ""]
    marks = [n for n in CHECKPOINTS if any(len(r["curve"]) >= n for r in results)]
    out.append("| seed | " + " | ".join(str(n) for n in marks)
               + " | all (N) | first beats the gate (N) | first beats tuned Adam (N) |")
    out.append("|---|" + "---|" * (len(marks) + 3))
    for r in results:
        c = r["curve"]
        cells = [f"{c[n - 1]:.3f}" if len(c) >= n else "" for n in marks]
        first = [str(r["first"][k]) if r["first"][k] else "never" for k in ("gate", "adam")]
        out.append(f"| {r['seed']} | " + " | ".join(cells)
                   + f" | {c[-1]:.3f} ({len(c)}) | {first[0]} (gate {r['gate']:.3f}) | {first[1]} |")
    out += ["", "### Candidates never trained", ""]
    out.append("| seed | individuals | trained | cache hits | rejected | elite copies | "
               "never trained | cache hit rate |")
    out.append("|---|---|---|---|---|---|---|---|")
    for r in results:
        s, hits = r["sources"], r["sources"].get("cache", 0)
        never = 1 - r["trained"] / r["total"]
        rate = hits / (hits + r["trained"]) if hits + r["trained"] else 0.0
        out.append(f"| {r['seed']} | {r['total']} | {r['trained']} | {hits} | "
                   f"{s.get('rejected', 0)} | {s.get('elite', 0)} | {never:.1%} | {rate:.0%} |")
    out += ["", "### Worker time per funnel stage", ""]
    out.append("| seed | " + " | ".join(f"stage {k}: trainings, seconds (each)" for k in (1, 2, 3))
               + " |")
    out.append("|---|---|---|---|")
    for r in results:
        by = {k: (n, t) for k, n, t in r["stages"]}
        cells = [f"{by[k][0]}, {by[k][1]:.0f} s ({by[k][1] / by[k][0]:.1f} s)" if k in by else "-"
                 for k in (1, 2, 3)]
        out.append(f"| {r['seed']} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("databases", nargs="+", metavar="DB[:REPORT_DIR]")
    args = p.parse_args(argv)
    results = []
    for arg in args.databases:
        db, report = _report_dir(arg)
        print(f"reading {db}", file=sys.stderr)
        results.append(summarise(db, report))
    sys.stdout.write(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
