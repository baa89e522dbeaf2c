"""The end-of-run report (see docs/store.md): best optimizers in LaTeX, the best one as torch code, and
the fitness-over-generations plot (like the paper's Figure 2: the best and the mean fitness of
the population, each averaged over the runs with a band of one standard deviation).

Files written to the report folder:

- ``best.tex``: the update rules of the top optimizers (align blocks, amsmath), each preceded
  by a comment with its fitness and provenance;
- ``best_optimizer.py``: the rank-1 optimizer as a standalone torch module (``symalr export``);
- ``fitness.png`` and ``fitness.csv``: per generation, the mean and standard deviation over
  the runs of the best and of the mean fitness.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symalr.evolve.query import individual_spec
from symalr.evolve.store import IndividualRow, Store
from symalr.fileio import atomic_savefig, atomic_write_text, ensure_folder


@dataclass(frozen=True)
class Curves:
    """``best[r, g]`` and ``mean[r, g]`` of run ``r`` at generation ``generations[g]``, for
    the generations every run has completed."""

    generations: np.ndarray
    best: np.ndarray
    mean: np.ndarray


def fitness_curves(store: Store, run_ids: list[int]) -> Curves:
    per_run = [store.generations(r) for r in run_ids]
    n = min((len(rows) for rows in per_run), default=0)
    best = np.array([[g.best for g in rows[:n]] for rows in per_run], dtype=float)
    mean = np.array([[g.mean for g in rows[:n]] for rows in per_run], dtype=float)
    return Curves(np.arange(n), best.reshape(len(run_ids), n), mean.reshape(len(run_ids), n))


def write_csv(curves: Curves, path: Path) -> None:
    f = io.StringIO(newline="")
    out = csv.writer(f)
    out.writerow(["generation", "best_mean", "best_sd", "mean_mean", "mean_sd", "runs"])
    for k, g in enumerate(curves.generations):
        b, m = curves.best[:, k], curves.mean[:, k]
        out.writerow([int(g), f"{b.mean():.6f}", f"{b.std():.6f}", f"{m.mean():.6f}",
                      f"{m.std():.6f}", len(b)])
    atomic_write_text(path, f.getvalue())


#: The y-axis of the fitness plot, by ``search.kind``.
FITNESS_AXIS = {"algorithm1": "fitness (accuracy)",
                "tasks": "stage-1 fitness (1.0 = tuned Adam)"}


def fitness_axis(store: Store, run_ids: list[int]) -> str:
    """The fitness plot's y-axis label for runs ``run_ids`` (plain "fitness" if they mix
    search kinds)."""
    wanted = set(run_ids)
    kinds = {run.config.get("search", {}).get("kind", "algorithm1")
             for run in store.runs() if run.run_id in wanted}
    return FITNESS_AXIS.get(kinds.pop(), "fitness") if len(kinds) == 1 else "fitness"


def plot_fitness(curves: Curves, path: Path, title: str = "",
                 ylabel: str = FITNESS_AXIS["algorithm1"]) -> None:
    """Figure 2 style: best and mean fitness over generations, mean over runs +- one SD."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    x = curves.generations
    for values, label, color in ((curves.best, "best fitness", "C0"),
                                 (curves.mean, "mean population fitness", "C1")):
        mu, sd = values.mean(axis=0), values.std(axis=0)
        ax.plot(x, mu, color=color, label=label)
        ax.fill_between(x, mu - sd, mu + sd, color=color, alpha=0.2, linewidth=0)
    ax.set_xlabel("generation")
    ax.set_ylabel(ylabel)
    runs = curves.best.shape[0]
    ax.set_title(title or f"fitness over generations (mean ± SD over {runs} run(s))")
    ax.set_ylim(bottom=0.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    try:
        atomic_savefig(fig, path)
    finally:
        plt.close(fig)


def seeds_of(store: Store, run_ids: set[int]) -> dict[str, str]:
    """``fingerprint -> seed name`` of the catalog seeds the runs ``run_ids`` started from."""
    from symalr.evolve.config import config_from_dict
    from symalr.evolve.seeds import seed_fingerprints

    runs = [run for run in store.runs() if run.run_id in run_ids]
    names = sorted({name for run in runs for name in run.config.get("seed_with", [])})
    normalise = any(config_from_dict(run.config).search.normalises for run in runs)
    return seed_fingerprints(names, normalise) if names else {}


def best_latex(best: list[IndividualRow], store: Store,
               seeds: dict[str, str] | None = None) -> str:
    """The LaTeX of each ranked optimizer, with comment lines naming it and what the search
    measured of it (funnel stage, fitness, step multiplier, sensitivity, speed) and its
    start-up burst (:func:`~symalr.evolve.query.startup_phrase`)."""
    from symalr.evolve.query import search_summary, startup_phrase
    from symalr.render.latex import update_rule_latex

    if seeds is None:
        seeds = seeds_of(store, {row.run_id for row in best})
    blocks = []
    for rank, row in enumerate(best, 1):
        spec = individual_spec(row, f"evolved_rank{rank}", store.path, store)
        values = ", ".join(f"{h.name} = {h.default:.6g}" for h in spec.hyperparams)
        measured = search_summary(store.evaluations_of(row.fingerprint))
        seed = seeds.get(row.fingerprint)
        blocks.append(
            f"% rank {rank}: fitness {row.fitness:.4f} (run {row.run_id}, generation "
            f"{row.generation}, individual {row.position}); canonical: {row.canonical}\n"
            + (f"% the seed {seed!r} unchanged: the search handed back a rule it was given\n"
               if seed else "")
            + (f"% {measured}\n" if measured else "")
            + f"% {startup_phrase(row.spec)}\n"
            + (f"% {values}\n" if values else "")
            + update_rule_latex(spec)
        )
    return "\n\n".join(blocks)


def write_report(store: Store, run_ids: list[int], out_dir: Path, top: int = 3,
                 transfer: tuple[tuple[str, ...], int] | None = None,
                 data_dir: str | None = None, say=None) -> str:
    """Write the report files for ``run_ids`` into ``out_dir``; return the product for
    standard output: the LaTeX of the top optimizers (empty when no individual was ranked),
    then, with ``transfer = (held-out tasks, how many rules)``, the transfer table
    (:mod:`symalr.evolve.transfer`; files ``transfer.md``, ``transfer.csv``,
    ``transfer.png``). Each file is replaced atomically (:mod:`symalr.fileio`);
    :class:`~symalr.errors.OutputError` if one cannot be written."""
    from symalr.pipeline import module_source

    ensure_folder(out_dir)
    curves = fitness_curves(store, run_ids)
    if curves.generations.size:
        write_csv(curves, out_dir / "fitness.csv")
        plot_fitness(curves, out_dir / "fitness.png", ylabel=fitness_axis(store, run_ids))
    best = store.best_individuals(max(top, transfer[1] if transfer else 0), run_ids)
    if not best:
        return ""
    seeds = seeds_of(store, {row.run_id for row in best})  # simplifies each seed: once
    latex = best_latex(best[:top], store, seeds)
    atomic_write_text(out_dir / "best.tex", latex + "\n")
    spec = individual_spec(best[0], "evolved_rank1", store.path, store)
    atomic_write_text(out_dir / "best_optimizer.py", module_source(spec, "torch"))
    if not transfer or not transfer[0] or not transfer[1]:
        return latex
    from symalr.evolve.transfer import plot_transfer, transfer_table

    rules = [(f"rank {k}" + (f" (seed {seeds[row.fingerprint]})" if row.fingerprint in seeds
                             else ""),
              individual_spec(row, f"evolved_rank{k}", store.path, store))
             for k, row in enumerate(best[:transfer[1]], 1)]
    table = transfer_table(rules, transfer[0], data_dir, say=say)
    text = ("Transfer to held-out tasks (test score, and its ratio to tuned Adam's; mean over "
            "seeds; the search never used these tasks):\n\n" + table.markdown())
    atomic_write_text(out_dir / "transfer.md", text)
    atomic_write_text(out_dir / "transfer.csv", table.csv())
    plot_transfer(table, out_dir / "transfer.png")
    return latex + "\n\n" + text
