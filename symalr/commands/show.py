"""``symalr show DB``: summarise an experiment database, finished or still running.

Standard output: per batch its configuration, per run its status and progress, the cache
and evaluation counts, and the best optimizers (fitness, canonical rule, provenance). The
database is opened read-only.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "show", help="summarise an evolution experiment database",
        description="Summarise a symalr evolve database (finished or running): runs, "
        "progress, cache and evaluation counts, best optimizers.",
    )
    p.add_argument("db", type=Path, metavar="DB", help="experiment database")
    p.add_argument("--top", type=int, default=5, help="best optimizers listed (default 5)")
    p.add_argument("--latex", action="store_true", help="also print their LaTeX")
    p.set_defaults(run=run)


def summary(store, top: int = 5) -> str:
    """The text ``symalr show`` prints."""
    runs = store.runs()
    lines = [f"experiment {store.path}: {len(runs)} run(s)"]
    for batch in sorted({r.batch for r in runs}):
        members = [r for r in runs if r.batch == batch]
        c = members[0].config
        sge, fit = c["sge"], c["fitness"]
        search = c.get("search", {})
        if search.get("kind") == "tasks":
            stages = [search["tasks"], search.get("stage2_tasks") or [],
                      search.get("stage3_tasks") or []]
            scored = " -> ".join(", ".join(t) for t in stages if t)
            from symalr.step_scale import TARGET_STEP

            what = (f"fitness: tasks {scored} relative to tuned Adam, multipliers "
                    f"{', '.join(f'{m:g}' for m in search['multipliers'])}"
                    + (f" of a settled step of {TARGET_STEP:g} (every rule normalised)"
                       if search.get("normalise_step") else "")
                    + (f" (stage 2: {', '.join(f'{m:g}' for m in relative)} times each "
                       f"candidate's stage-1 best)"
                       if (relative := search.get("stage2_multipliers")) else "")
                    + f"; held out: {', '.join(search.get('holdout') or []) or 'none'}")
        else:
            what = f"fitness {fit['model']} on {fit['dataset']} (Algorithm 1)"
        lines.append(
            f"batch {batch}: preset {c['preset']}, seed {c['seed']}, grammar {c['grammar']}, "
            f"population {sge['population_size']}, generations {sge['generations']}, {what}"
            + (f", seeded with {', '.join(c['seed_with'])}" if c["seed_with"] else ""))
        for r in members:
            last = store.last_generation(r.run_id)
            where = "no generation yet" if last is None else (
                f"generation {last.generation}/{sge['generations']}, best {last.best:.4f}, "
                f"mean {last.mean:.4f}")
            lines.append(f"  run {r.run_id}: {r.status}, {where}")
    n = store.query(
        "SELECT COUNT(*), COALESCE(SUM(rejected), 0),"
        " COALESCE(SUM(error IS NOT NULL AND rejected = 0 AND error NOT LIKE 'non-finite%'), 0),"
        " COALESCE(SUM(error LIKE 'non-finite%'), 0), COALESCE(SUM(seconds), 0)"
        " FROM evaluations")[0]
    sources = dict(store.query("SELECT source, COUNT(*) FROM individuals GROUP BY source"))
    lost = store.count("lost_attempts")
    lines.append(
        f"evaluations: {n[0] - n[1]} trainings ({n[2]} failed, {n[3]} hit a non-finite loss; "
        f"{n[4] / 60:.1f} min in all), {sources.get('cache', 0)} cache hits, "
        f"{sources.get('rejected', 0)} static rejections, {sources.get('elite', 0)} elites "
        f"kept, {lost} lost attempt(s) retried")
    best = store.best_individuals(top)
    if best:
        from symalr.evolve.query import search_summary, startup_phrase

        lines.append("best:")
        for rank, row in enumerate(best, 1):
            lines.append(f"  {rank}. {row.fitness:.4f}  {row.canonical}  (run {row.run_id}, "
                         f"generation {row.generation}, individual {row.position})")
            measured = search_summary(store.evaluations_of(row.fingerprint))
            if measured:
                lines.append(f"     {measured}")
            lines.append(f"     {startup_phrase(row.spec, str(store.path))}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from symalr.evolve.report import best_latex
    from symalr.evolve.store import Store

    with Store.open(args.db, readonly=True) as store:
        print(summary(store, args.top))
        if args.latex:
            best = store.best_individuals(args.top)
            if best:
                print()
                print(best_latex(best, store))
    return 0
