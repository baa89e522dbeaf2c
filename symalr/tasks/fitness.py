"""Fitness over a set of tasks, relative to tuned baselines (docs/discovery.md).

A candidate optimizer is trained on every task of a :class:`TaskFitness` under each global
multiplier of its update (``multipliers``, e.g. x0.3, x1, x3: the exported class's group
``lr``), from the training seeds ``seeds``, on the tasks' data of ``data_seed``. Each training's
*progress* on a task is ``(s - s0) / (s_adam - s0)``: its best validation score ``s`` measured
from the untrained model's score ``s0`` (chance, for classification) in units of tuned Adam's
progress (:mod:`symalr.tasks.baselines`), clipped to ``[0, CAP]``. So 1.0 means "as good as
tuned Adam" and 0 "learned nothing".

Aggregation over tasks is the **geometric mean** of the progress ratios (each floored at
``FLOOR``): a rule must work on every task — one failure pulls the mean down by the task
count's root, where an arithmetic mean would let success elsewhere hide it — and, unlike the
minimum, improvement on any task still counts. For each multiplier the aggregate is averaged
over the seeds; the candidate's fitness is the best multiplier's aggregate (ties: the
multiplier nearest 1). With ``step_tolerance`` set, the *smallest* multiplier whose aggregate
is within ``step_tolerance`` of the best is taken instead, and the fitness is its aggregate:
differences smaller than the noise between training seeds do not tell step sizes apart, and
among those the smaller step is the safer one to export (short budgets overstate the value of
large steps; larger networks and noisier gradients punish them). The result records:

- ``multiplier``: the chosen one (an export of the rule uses it as the default ``lr``);
- ``sensitivity``: ``1 - worst / best`` aggregate over the multipliers (0 = the step size does
  not matter in that range, 1 = only one multiplier works);
- ``speed``: the mean over tasks of the area under the validation-progress curve at the best
  multiplier, relative to its final progress (1 = there at once);
- ``ratios``: per task, the progress ratio at the best multiplier.

A statically rejected spec gets fitness 0 without training; an exception from the optimizer
is contained per training (it scores what it reached).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

from symalr.errors import ConfigError

#: Progress ratios are clipped to [0, CAP] and floored at FLOOR inside the geometric mean.
CAP = 1.5
FLOOR = 0.01


@dataclass(frozen=True)
class TaskFitness:
    """The settings of a task-based fitness (one stage of a funnel)."""

    tasks: tuple[str, ...] = ("ill_conditioned", "regression", "fmnist_mlp")
    multipliers: tuple[float, ...] = (0.3, 1.0, 3.0)
    seeds: tuple[int, ...] = (0,)
    data_seed: int = 0
    epochs: float = 1.0  # fraction of each task's epochs (a cheap stage trains less)
    time_limit_s: float | None = None
    step_tolerance: float = 0.0  # prefer the smallest multiplier within this of the best
    threads: int | None = 1
    device: str = "cpu"
    data_dir: str | None = None
    kind: str = field(default="tasks", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(str(t) for t in self.tasks))
        object.__setattr__(self, "multipliers", tuple(float(m) for m in self.multipliers))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if not self.tasks or len(self.tasks) > 32:
            raise ConfigError("fitness.tasks: give 1 to 32 task names")
        if not self.multipliers or len(self.multipliers) > 9 or not all(
                math.isfinite(m) and 0 < m <= 1000 for m in self.multipliers):
            raise ConfigError("fitness.multipliers: give 1 to 9 positive numbers (at most 1000)")
        if not self.seeds or len(self.seeds) > 16 or min(self.seeds) < 0:
            raise ConfigError("fitness.seeds: give 1 to 16 non-negative seeds")
        if not (0 < self.epochs <= 1):
            raise ConfigError("fitness.epochs: a fraction of each task's epochs in (0, 1]")
        if self.time_limit_s is not None and not (0 < self.time_limit_s < 1e7):
            raise ConfigError("fitness.time_limit_s: a positive number of seconds or none")
        if not (0 <= self.step_tolerance < 1):
            raise ConfigError("fitness.step_tolerance: a fitness difference in [0, 1)")

    def scaled(self, scale: float) -> TaskFitness:
        """The same settings with every multiplier times ``scale``, rounded to 12 significant
        digits (so that ×1/3 of ×0.3 is the 0.1 a reader expects, not 0.09999999999999999)."""
        import dataclasses

        return dataclasses.replace(self, multipliers=tuple(
            float(f"{m * scale:.12g}") for m in self.multipliers))

    def to_dict(self) -> dict:
        return {"kind": "tasks", "tasks": list(self.tasks), "multipliers": list(self.multipliers),
                "seeds": list(self.seeds), "data_seed": self.data_seed, "epochs": self.epochs,
                "time_limit_s": self.time_limit_s, "threads": self.threads,
                "device": self.device, "data_dir": self.data_dir,
                # only when set, so that the fitness keys of earlier settings stay the same
                **({"step_tolerance": self.step_tolerance} if self.step_tolerance else {})}

    @classmethod
    def from_dict(cls, data: dict) -> TaskFitness:
        data = {k: v for k, v in data.items() if k != "kind"}
        known = {"tasks", "multipliers", "seeds", "data_seed", "epochs", "time_limit_s",
                 "threads", "device", "data_dir", "step_tolerance"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown fitness setting {unknown[0]!r} for kind 'tasks'; "
                              f"known: {', '.join(sorted(known))}")
        return cls(**data)


@dataclass(frozen=True)
class CandidateScore:
    """The outcome of :func:`evaluate_candidate` (see the module docstring)."""

    fitness: float
    multiplier: float
    sensitivity: float
    speed: float
    ratios: dict[str, float]
    per_multiplier: dict[str, float]
    seconds: float
    error: str | None = None
    rejected: bool = False

    def details(self) -> dict:
        return {"multiplier": self.multiplier, "sensitivity": self.sensitivity,
                "speed": self.speed, "ratios": self.ratios,
                "per_multiplier": self.per_multiplier}

    def result(self):
        """This score as the :class:`~symalr.types.EvalResult` executors and stores handle:
        ``accuracies`` are the per-task ratios (in the tasks' order), ``details`` the rest."""
        from symalr.types import EvalResult

        return EvalResult(self.fitness, tuple(self.ratios.values()), (), self.seconds,
                          self.error, self.rejected, self.details() if not self.rejected else {})


@dataclass(frozen=True)
class Reference:
    """What one task's progress is measured against: the untrained model's validation score
    and tuned Adam's (and tuned SGD-momentum's, for gates)."""

    initial: float
    adam: float
    sgd_momentum: float


@functools.lru_cache(maxsize=64)
def reference(task_name: str, data_seed: int, data_dir: str | None = None,
              device: str = "cpu", epochs: float = 1.0) -> Reference:
    """The :class:`Reference` of a task trained for the fraction ``epochs`` of its budget
    (baselines from the cache or computed)."""
    from symalr.tasks import get_task
    from symalr.tasks.baselines import baseline
    from symalr.tasks.run import fresh_model, objective, task_tensors
    from symalr.train.trainer import evaluate

    task = get_task(task_name, data_dir)
    data = task_tensors(task, data_seed, device)
    goal = objective(task)
    model = fresh_model(task, 0, device)
    initial = 0.0 if task.metric == "loss" else evaluate(model, *data.validation,
                                                         objective=goal)[1]
    return Reference(initial, baseline(task, "adam", device=device, epochs=epochs).val_score,
                     baseline(task, "sgd_momentum", device=device, epochs=epochs).val_score)


def _compute_baseline(task_name: str, which: str, data_dir: str | None, device: str,
                      epochs: float) -> tuple[str, str, float, float, float, float]:
    """One baseline computed (and cached) in a worker process; a summary for progress."""
    from symalr.tasks import get_task
    from symalr.tasks.baselines import baseline

    b = baseline(get_task(task_name, data_dir), which, device=device, epochs=epochs)
    return task_name, which, b.lr, b.val_score, b.test_score, b.seconds


def prepare_references(task_names, data_seed: int = 0, data_dir: str | None = None,
                       device: str = "cpu", say=None, epochs: float = 1.0,
                       workers: int | None = None) -> None:
    """Compute the baselines of ``task_names`` missing from the cache — in parallel, on
    ``workers`` processes (default: every usable core; CPU only), each reported through
    ``say`` as it finishes — so that later references are instant."""
    from symalr.tasks import get_task
    from symalr.tasks.baselines import BASELINES, cached

    names = list(dict.fromkeys(task_names))
    missing = [(n, w) for n in names for w in BASELINES
               if cached(get_task(n, data_dir), w, epochs) is None]
    if missing and say is not None:
        say(f"symalr: tuning {len(missing)} baseline(s) on first use (cached afterwards): "
            + ", ".join(f"{w} on {n}" for n, w in missing))
    if len(missing) > 1 and device == "cpu":
        import concurrent.futures
        import multiprocessing
        import os

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        count = min(len(missing), workers or cores)
        from symalr.child_process import die_with_parent

        with concurrent.futures.ProcessPoolExecutor(
                count, mp_context=multiprocessing.get_context("spawn"),
                initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(_compute_baseline, n, w, data_dir, device, epochs)
                       for n, w in missing]
            for future in concurrent.futures.as_completed(futures):
                _report_baseline(future.result(), say)
    else:
        for n, w in missing:
            _report_baseline(_compute_baseline(n, w, data_dir, device, epochs), say)
    for name in names:
        reference(name, data_seed, data_dir, device, epochs)


def _report_baseline(summary, say) -> None:
    if say is not None:
        name, which, lr, val, test, seconds = summary
        say(f"symalr: {name}: {which} lr={lr:g}, validation {val:.4f}, test {test:.4f} "
            f"({seconds:.0f} s)")


def progress(score: float, ref: Reference, against: float | None = None) -> float:
    """``(score - initial) / (against - initial)`` clipped to ``[0, CAP]`` (``against``
    defaults to tuned Adam's score)."""
    top = (ref.adam if against is None else against) - ref.initial
    if not math.isfinite(score) or top <= 0:
        return 0.0
    return max(0.0, min(CAP, (score - ref.initial) / top))


def aggregate(ratios) -> float:
    """The geometric mean of progress ratios, each floored at :data:`FLOOR`."""
    ratios = list(ratios)
    if not ratios:
        return 0.0
    return math.exp(sum(math.log(max(r, FLOOR)) for r in ratios) / len(ratios))


#: The catalog optimizer each gate name stands for.
GATE_OPTIMIZERS = {"sgd_momentum": "momentum", "adam": "adam"}


@functools.lru_cache(maxsize=32)
def _gate_fitness(config: TaskFitness, optimizer: str, normalise_step: bool) -> float:
    from symalr import catalog

    spec = catalog.get(optimizer)
    if normalise_step:
        from symalr.step_scale import normalised

        spec = normalised(spec)
    return evaluate_candidate(spec, config).fitness


def gate_value(config: TaskFitness, baseline: str = "sgd_momentum",
               normalise_step: bool = False) -> float:
    """The fitness the catalog's ``baseline`` (SGD with momentum 0.9 at lr 0.01, or Adam at
    lr 1e-3) gets under ``config`` itself — scored as a candidate, with the same multipliers
    and seeds, and scaled to the common step when the search normalises its candidates'
    (:mod:`symalr.step_scale`): what a candidate must beat to be promoted past this stage.
    (The tuned baselines, one learning rate per task, are the unit of the progress ratios; a
    candidate has one rule for every task, so it is gated against a baseline that has one
    too.)"""
    return _gate_fitness(config, GATE_OPTIMIZERS[baseline], normalise_step)


def _speed(curve: list[float], ref: Reference) -> float:
    steps = [progress(s, ref) for s in curve]
    final = max(steps, default=0.0)
    return sum(steps) / (len(steps) * final) if final > 0 else 0.0


def evaluate_candidate(spec, config: TaskFitness) -> CandidateScore:
    """The task-based fitness of optimizer ``spec`` (see the module docstring)."""
    from symalr.screen import static_rejection

    start = time.monotonic()
    reason = static_rejection(spec, strict=True)
    if reason is not None:
        return CandidateScore(0.0, 1.0, 1.0, 0.0, {}, {}, time.monotonic() - start, reason,
                              rejected=True)
    from symalr.train.fitness import optimizer_class

    try:
        optimizer_class(spec)
    except Exception as exc:  # the spec cannot be exported or imported: its own failure
        from symalr.train.algorithm import one_line

        return CandidateScore(0.0, 1.0, 1.0, 0.0, {}, {}, time.monotonic() - start,
                              one_line(exc))
    return _train_all(spec, config, start)


def _factory(spec, multiplier: float):
    from symalr.train.fitness import optimizer_class

    cls = optimizer_class(spec)
    lr = multiplier * (spec.hyperparam("lr").default if spec.has_lr else 1.0)
    return lambda params: cls(params, lr=lr, foreach=True)


@dataclass(frozen=True)
class _Run:
    """What aggregation needs of one training: best validation score, curve, error."""

    val_score: float
    curve: list[float]
    error: str | None


def _epochs(task, config: TaskFitness) -> int:
    from symalr.tasks.baselines import epochs_of

    return epochs_of(task, config.epochs)


def _aggregate(config: TaskFitness, tasks, refs, runs: dict, start: float) -> CandidateScore:
    """The :class:`CandidateScore` of the trainings ``runs[(m, seed, task name)]``."""
    per_multiplier: dict[str, float] = {}
    ratios_at: dict[float, dict[str, float]] = {}
    speeds_at: dict[float, float] = {}
    errors = [r.error for r in runs.values() if r.error]
    n = len(config.seeds)
    for m in config.multipliers:
        seed_scores, ratio_sums, speed_sum = [], {t.name: 0.0 for t in tasks}, 0.0
        for seed in config.seeds:
            ratios = {}
            for task in tasks:
                run = runs[(m, seed, task.name)]
                ratios[task.name] = progress(run.val_score, refs[task.name])
                ratio_sums[task.name] += ratios[task.name]
                speed_sum += _speed(run.curve, refs[task.name])
            seed_scores.append(aggregate(ratios.values()))
        per_multiplier[repr(m)] = sum(seed_scores) / n
        ratios_at[m] = {k: v / n for k, v in ratio_sums.items()}
        speeds_at[m] = speed_sum / (n * len(tasks))
    best = max(config.multipliers, key=lambda m: (per_multiplier[repr(m)], -abs(math.log(m))))
    top = per_multiplier[repr(best)]
    worst = min(per_multiplier.values())
    sensitivity = 1.0 - worst / top if top > 0 else 1.0
    if config.step_tolerance and top > 0:  # the smallest step that is about as good
        best = min(m for m in config.multipliers
                   if per_multiplier[repr(m)] >= top - config.step_tolerance)
    return CandidateScore(per_multiplier[repr(best)], best, sensitivity, speeds_at[best],
                          ratios_at[best],
                          per_multiplier, time.monotonic() - start,
                          errors[0] if errors and top == 0 else None)


def _setup(config: TaskFitness):
    import torch

    from symalr.tasks import get_task

    if config.threads is not None:
        torch.set_num_threads(config.threads)
    tasks = [get_task(t, config.data_dir) for t in config.tasks]
    refs = {t.name: reference(name, config.data_seed, config.data_dir, config.device,
                              config.epochs)
            for name, t in zip(config.tasks, tasks)}
    return tasks, refs


def _timeout(config: TaskFitness, m: float, start: float) -> CandidateScore:
    return CandidateScore(0.0, m, 1.0, 0.0, {}, {}, time.monotonic() - start,
                          f"TimeoutError: time limit of {config.time_limit_s:g} s exceeded")


def _train_all(spec, config: TaskFitness, start: float) -> CandidateScore:
    from symalr.tasks.run import run_task

    tasks, refs = _setup(config)
    deadline = start + config.time_limit_s if config.time_limit_s else None
    runs = {}
    for m in config.multipliers:
        factory = _factory(spec, m)
        for seed in config.seeds:
            for task in tasks:
                run = run_task(task, factory, seed, config.data_seed,
                               epochs=_epochs(task, config), restore_best=False,
                               device=config.device, deadline=deadline)
                runs[(m, seed, task.name)] = _Run(run.val_score, run.curve, run.error)
                if deadline is not None and time.monotonic() > deadline:
                    return _timeout(config, m, start)
    return _aggregate(config, tasks, refs, runs, start)


def evaluate_candidates_stacked(specs, config: TaskFitness, max_stack: int | None = None
                                ) -> list[CandidateScore]:
    """:func:`evaluate_candidate` for many specs at once: for each (multiplier, seed, task)
    the candidates' trainings run as stacks of models (:func:`symalr.train.stacked.
    train_stacked`) where the task allows it (classification with an ``nn.Sequential``
    model), else one by one. Each candidate gets the result the sequential path gives, up to
    float rounding (docs/fitness.md, stacked training)."""
    import numpy as np
    import torch

    from symalr.screen import static_rejection
    from symalr.tasks.run import fresh_model, run_task, task_tensors
    from symalr.train.stacked import Member, train_stacked
    from symalr.train.stacking import max_members, member_bytes, pack
    from symalr.train.trainer import TrainConfig

    start = time.monotonic()
    out: list[CandidateScore | None] = [None] * len(specs)
    classes = {}
    for i, spec in enumerate(specs):
        reason = static_rejection(spec, strict=True)
        if reason is not None:
            out[i] = CandidateScore(0.0, 1.0, 1.0, 0.0, {}, {}, 0.0, reason, rejected=True)
            continue
        try:
            from symalr.train.fitness import optimizer_class

            classes[i] = optimizer_class(spec)
        except Exception as exc:
            from symalr.train.algorithm import one_line

            out[i] = CandidateScore(0.0, 1.0, 1.0, 0.0, {}, {}, 0.0, one_line(exc))
    if not classes:
        return out
    tasks, refs = _setup(config)
    runs: dict[int, dict] = {i: {} for i in classes}
    for task in tasks:
        data = task_tensors(task, config.data_seed, config.device)
        template = fresh_model(task, 0, config.device)
        stackable = (task.metric == "accuracy" and isinstance(template, torch.nn.Sequential)
                     and not any(True for _ in template.buffers()))
        epochs = _epochs(task, config)
        for m in config.multipliers:
            for seed in config.seeds:
                ids = list(classes)
                if not stackable:
                    for i in ids:
                        run = run_task(task, _factory(specs[i], m), seed, config.data_seed,
                                       epochs=epochs, restore_best=False, device=config.device,
                                       data=data)
                        runs[i][(m, seed, task.name)] = _Run(run.val_score, run.curve, run.error)
                    continue
                size = max_stack or max_members(member_bytes(
                    template, tuple(data.train[0].shape[1:]), task.batch_size, config.device),
                    config.device)
                train_config = TrainConfig(batch_size=task.batch_size, max_epochs=epochs,
                                           patience=task.patience)
                for chunk in pack(len(ids), size):
                    members = [Member(fresh_model(task, seed, config.device),
                                      _factory(specs[ids[j]], m), data.train,
                                      np.random.default_rng(seed), seed) for j in chunk]
                    outcomes = train_stacked(members, data.validation, train_config)
                    for j, outcome in zip(chunk, outcomes):
                        if isinstance(outcome, Exception):
                            from symalr.train.algorithm import one_line

                            run = _Run(0.0, [], one_line(outcome))
                        else:
                            curve = [e.val_accuracy if math.isfinite(e.val_accuracy) else 0.0
                                     for e in outcome.history]
                            run = _Run(max(curve, default=0.0), curve, None)
                        runs[ids[j]][(m, seed, task.name)] = run
    for i in classes:
        out[i] = _aggregate(config, tasks, refs, runs[i], start)
    return out
