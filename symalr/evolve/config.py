"""The configuration of an evolution experiment: presets, TOML files and flags (see docs/store.md).

Resolution, later layers winning key by key: the preset (``default`` unless the config file's
``preset`` key or ``--preset`` names another), the config file, then the flags. Presets are
TOML files of the same shape shipped in ``symalr/evolve/presets/``. Shape::

    preset = "default"        # the base preset
    runs = 3                  # independent runs (paper: 9)
    seed = 0                  # run k's SGE generator: SeedSequence([seed, k])
    grammar = "alr-blocks"    # shipped name (alr, alr-grad, alr-blocks) or a .bnf path
    seed_with = ["momentum"]  # catalog optimizers put into every initial population
    share_cache = true        # one fitness cache for all runs of the database

    [sge]                     # symalr.sge.SGEConfig
    population_size = 10      # ... generations, tournament_size, crossover_rate,
                              # mutation_rate (a number or a table per non-terminal),
                              # elitism, max_depth, min_init_depth

    [fitness]                 # symalr.train.config.FitnessConfig
    preset = "proxy"          # its base: "proxy" or "paper"; then any field, e.g.
    max_epochs = 6            # splits = [10000, 2000, 2000], patience = "none"

    [executor]
    kind = "local"            # local (process pool), ray, or inline (this process)
    workers = 0               # 0: every usable core
    address = ""              # ray: a cluster address; "" starts a local Ray on loopback
    max_retries = 2           # re-runs of an evaluation lost with its worker
    timeout_s = 0             # wall-clock limit of one attempt (0: none); then an error

TOML has no null: a field that may be ``None`` takes the string ``"none"``. ``fitness.seed``
defaults to ``seed``, and ``fitness.threads`` to 1 (so results do not depend on the number of
workers). Every key is declared with its type and bounds (:mod:`symalr.settings`; the table is
in docs/inputs.md); unknown keys and bad values raise :class:`~symalr.errors.ConfigError`, one
line naming where the value came from (file, ``flags`` or preset), the key, the value and the
bound. Config files are read as regular files of at most 1 MiB of UTF-8.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from symalr import settings
from symalr.errors import ConfigError
from symalr.fileio import read_input_text
from symalr.settings import MAX_PATH_CHARS, MAX_SEED, bound_error, check_fields, setting
from symalr.sge.engine import SGEConfig
from symalr.train import config as fitness_config
from symalr.train.config import FitnessConfig
from symalr.train.stacking import STACKING

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PRESETS = ("default", "proxy", "paper", "cpu-long", "gpu", "cluster")
EXECUTORS = ("local", "ray", "inline")
#: Largest config file read (the shipped presets are under 2 KB).
MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class ExecutorConfig:
    """Where evaluations run (see the module docstring). Not part of the search: it may
    change when a run is resumed without changing any result."""

    kind: str = setting("local", choices=EXECUTORS)
    workers: int = setting(0, low=0, high=1024, why="processes; 0: every usable core")
    address: str = setting("", max_len=1000, why="a Ray address; '' starts a local Ray")
    max_retries: int = setting(2, low=0, high=100, why="re-runs of a lost evaluation")
    timeout_s: float = setting(0.0, low=0, high=1_000_000, why="seconds, about 11 days; 0: none")
    stacking: str = setting("auto", choices=STACKING)
    max_stack: int = setting(0, low=0, high=10_000, why="models per stack; 0: measured budget")

    def __post_init__(self) -> None:
        check_fields(self, "executor.")


SEARCH_KINDS = ("algorithm1", "tasks")
GATES = ("sgd_momentum", "adam", "none")
_TASK_NAMES = dict(min_len=0, max_len=32, why="task names or module:function entry points")


@dataclass(frozen=True)
class SearchConfig:
    """What the search scores candidates with (docs/discovery.md).

    ``kind = "algorithm1"`` uses the ``[fitness]`` section (the paper's Algorithm 1, or the
    proxy). ``kind = "tasks"`` scores every new fingerprint on the stage-1 ``tasks`` relative
    to tuned Adam under each of the ``multipliers`` (:mod:`symalr.tasks.fitness`; each task
    trains ``epochs`` of its budget, from ``seeds``, on the data of ``data_seed``), then runs a
    funnel: after each generation the ``stage2_promote`` best distinct candidates whose
    stage-1 fitness beats the ``gate`` baseline are scored on ``stage2_tasks``, and likewise
    from stage 2 to ``stage3_tasks`` (an empty task list ends the funnel). Stage 3's
    multipliers, and stage 2's when ``stage2_multipliers`` is given, multiply each
    candidate's best multiplier at the stage before. With ``step_tolerance``, every stage
    takes the smallest multiplier whose fitness is within it of the best
    (:mod:`symalr.tasks.fitness`). With ``normalise_step``, every rule is scaled to one
    settled step before it is fingerprinted and trained (:mod:`symalr.step_scale`): the
    multipliers are relative to that step, and rules that differ only in their step size
    share a fingerprint. ``holdout`` tasks
    are never used by the search: the report measures the best rules on them.
    ``[fitness]`` still says where training runs (``device``, ``threads``, ``data_dir``).
    """

    kind: str = setting("algorithm1", choices=SEARCH_KINDS)
    tasks: tuple[str, ...] = setting(("ill_conditioned", "regression", "fmnist_mlp"),
                                     **_TASK_NAMES)
    multipliers: tuple[float, ...] = setting((0.3, 1.0, 3.0), low=1e-6, high=1000,
                                             max_len=9, why="global step-size multipliers")
    seeds: tuple[int, ...] = setting((0,), low=0, high=MAX_SEED, max_len=16,
                                     why="training seeds of each stage's trainings")
    data_seed: int = setting(0, low=0, high=MAX_SEED, why="the search tasks' data split")
    epochs: float = setting(1.0, low=0.01, high=1.0, why="fraction of each task's epochs")
    stage2_tasks: tuple[str, ...] = setting((), **_TASK_NAMES)
    stage2_promote: int = setting(3, low=1, high=1000, why="candidates promoted per generation")
    stage2_epochs: float = setting(1.0, low=0.01, high=1.0, why="fraction of each epoch budget")
    stage2_multipliers: tuple[float, ...] = setting((), low=1e-6, high=1000, max_len=9,
                                                    why="times the candidate's stage-1 best; "
                                                        "none: stage 1's multipliers")
    stage3_tasks: tuple[str, ...] = setting((), **_TASK_NAMES)
    stage3_promote: int = setting(2, low=1, high=1000, why="candidates promoted per generation")
    stage3_epochs: float = setting(1.0, low=0.01, high=1.0, why="fraction of each epoch budget")
    stage3_multipliers: tuple[float, ...] = setting((1.0,), low=1e-6, high=1000, max_len=9,
                                                    why="times the candidate's stage-2 best")
    gate: str = setting("sgd_momentum", choices=GATES)
    holdout: tuple[str, ...] = setting(("cifar_small_cnn", "fmnist_noisy"), **_TASK_NAMES)
    holdout_top: int = setting(3, low=0, high=100, why="rules measured on the held-out tasks")
    time_limit_s: float = setting(0.0, low=0, high=1_000_000, why="per candidate; 0: none")
    step_tolerance: float = setting(0.0, low=0, high=0.99,
                                    why="take the smallest multiplier within this of the best")
    normalise_step: bool = setting(False)

    def __post_init__(self) -> None:
        check_fields(self, "search.")
        if self.kind == "tasks" and not self.tasks:
            raise bound_error("search.tasks", [], "at least one task for kind 'tasks'")
        if self.kind == "tasks":
            used = set(self.tasks) | set(self.stage2_tasks) | set(self.stage3_tasks)
            both = sorted(used & set(self.holdout))
            if both:
                raise bound_error("search.holdout", list(self.holdout),
                                  f"tasks the search never uses; {', '.join(both)} is a "
                                  "search task")

    def stages(self) -> list[tuple[tuple[str, ...], float, tuple[float, ...], int]]:
        """(tasks, epoch fraction, multipliers, promoted per generation) of each stage, in
        order (stage 1's ``promote`` is 0: every new fingerprint). A stage's multipliers are
        relative to each candidate's best multiplier at the stage before when
        :meth:`relative` says so."""
        out = [(self.tasks, self.epochs, self.multipliers, 0)]
        if self.stage2_tasks:
            out.append((self.stage2_tasks, self.stage2_epochs,
                        self.stage2_multipliers or self.multipliers, self.stage2_promote))
            if self.stage3_tasks:
                out.append((self.stage3_tasks, self.stage3_epochs, self.stage3_multipliers,
                            self.stage3_promote))
        return out

    @property
    def normalises(self) -> bool:
        """Whether candidates are scaled to one settled step before they are fingerprinted:
        ``normalise_step`` on a task search (Algorithm 1 always scores rules as written).
        The one place this rule lives: the runner prepares with it, the report names seeds
        with it."""
        return self.kind == "tasks" and self.normalise_step

    def relative(self, stage: int) -> bool:
        """Whether stage ``stage``'s multipliers multiply each candidate's best multiplier at
        the stage before (stage 3 always; stage 2 when ``stage2_multipliers`` is given)."""
        return stage >= 3 or (stage == 2 and bool(self.stage2_multipliers))


@dataclass(frozen=True)
class EvolveConfig:
    """A resolved experiment configuration (see the module docstring). Every field is
    declared with its bounds (see docs/inputs.md); besides them, ``seed_with`` may not name
    more individuals than ``sge.population_size``."""

    preset: str = setting("default", choices=PRESETS)
    runs: int = setting(1, low=1, high=1000, why="each run is a whole evolution; paper: 9")
    seed: int = setting(0, low=0, high=MAX_SEED, why="stored as a signed 64-bit integer")
    grammar: str = setting("alr", min_len=1, max_len=MAX_PATH_CHARS, why="a name or a path")
    seed_with: tuple[str, ...] = setting((), max_len=10_000, why="at most population_size")
    share_cache: bool = setting(True)
    sge: SGEConfig = field(default_factory=SGEConfig)
    fitness: FitnessConfig = field(default_factory=FitnessConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def __post_init__(self) -> None:
        check_fields(self)
        if len(self.seed_with) > self.sge.population_size:
            raise bound_error("seed_with", list(self.seed_with),
                              f"at most sge.population_size = {self.sge.population_size} "
                              f"names")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; :func:`config_from_dict` inverts it."""
        sge = dataclasses.asdict(self.sge)
        if isinstance(self.sge.mutation_rate, Mapping):
            sge["mutation_rate"] = dict(self.sge.mutation_rate)
        return {
            "preset": self.preset, "runs": self.runs, "seed": self.seed,
            "grammar": self.grammar, "seed_with": list(self.seed_with),
            "share_cache": self.share_cache, "sge": sge,
            "fitness": fitness_config.to_dict(self.fitness),
            "search": {k: list(v) if isinstance(v, tuple) else v
                       for k, v in dataclasses.asdict(self.search).items()},
            "executor": dataclasses.asdict(self.executor),
        }

    def stage_fitness(self, stage: int = 1) -> dict[str, Any]:
        """The fitness settings of funnel stage ``stage`` (1-based) as the JSON-ready dict a
        job carries: Algorithm 1's (``[fitness]``) or a task fitness
        (:class:`symalr.tasks.fitness.TaskFitness`)."""
        if self.search.kind == "algorithm1":
            return fitness_config.to_dict(self.fitness)
        tasks, epochs, multipliers, _ = self.search.stages()[stage - 1]
        return {"kind": "tasks", "tasks": list(tasks), "multipliers": list(multipliers),
                "seeds": list(self.search.seeds), "data_seed": self.search.data_seed,
                "epochs": epochs, "time_limit_s": self.search.time_limit_s or None,
                **({"step_tolerance": self.search.step_tolerance}
                   if self.search.step_tolerance else {}),
                "threads": self.fitness.threads, "device": self.fitness.device,
                "data_dir": self.fitness.data_dir}

    def fitness_key(self, stage: int = 1) -> str:
        """Key of the fitness cache of ``stage``: every fitness setting that can change a
        result (not ``data_dir``: the data are verified by checksum wherever they lie).
        Algorithm 1's key is the one symalr has always used."""
        import hashlib

        data = {k: v for k, v in self.stage_fitness(stage).items() if k != "data_dir"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------- layers

_FITNESS_PRESET = settings.Limits(choices=tuple(fitness_config.PRESETS))


def check_layer(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """One configuration layer with every key known and every value of the right type and
    within its bounds (:mod:`symalr.settings`); ``where`` names its source in errors.

    Returns a normalised copy (tuples for lists, ``None`` for ``"none"``). ``fitness.preset``
    (the fitness base, ``proxy`` or ``paper``) is the one key that is not a field."""
    fitness = data.get("fitness") if isinstance(data, Mapping) else None
    base = None
    if isinstance(fitness, Mapping) and "preset" in fitness:
        fitness = dict(fitness)
        base = settings.check_value("fitness.preset", fitness.pop("preset"), str,
                                    _FITNESS_PRESET, where)
        data = {**data, "fitness": fitness}
    out = settings.check_layer(EvolveConfig, data, where)
    if base is not None:
        out["fitness"]["preset"] = base
    return out


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if key in ("sge", "fitness", "search", "executor") and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def read_toml(path: Path) -> dict[str, Any]:
    """A config file's checked layer."""
    text = read_input_text(path, "config file", ConfigError, MAX_CONFIG_BYTES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    except ValueError:  # Python's limit on the digits of an integer literal
        raise ConfigError(f"{path}: invalid TOML: a number has too many digits") from None
    return check_layer(data, str(path))


def preset_layer(name: str) -> dict[str, Any]:
    """The checked layer of a shipped preset."""
    if name not in PRESETS:
        raise ConfigError(f"preset = {settings.show(name)}: expected one of "
                          f"{', '.join(map(repr, PRESETS))}")
    text = resources.files("symalr.evolve").joinpath(f"presets/{name}.toml").read_text()
    return check_layer(tomllib.loads(text), f"preset {name}")


def parse_assignment(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from ``--set``: VALUE is read as a TOML value, else taken as a string.
    The value is checked later, with the other flags, against the same schema as files."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {settings.show(text)}: expected KEY=VALUE, e.g. "
                          f"sge.generations=20")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except RecursionError:
        raise ConfigError(f"--set {key}: the value is nested too deeply") from None
    except ValueError:  # Python's limit on the digits of an integer literal
        raise ConfigError(f"--set {key}: the value has a number with too many digits") from None
    return key, value


def nest(assignments: Mapping[str, Any]) -> dict[str, Any]:
    """``{"sge.generations": 5}`` -> ``{"sge": {"generations": 5}}`` (one level deep)."""
    out: dict[str, Any] = {}
    for key, value in assignments.items():
        section, dot, sub = key.partition(".")
        if dot:
            out.setdefault(section, {})
            if not isinstance(out[section], dict):
                raise ConfigError(f"flags: {key}: {section} is not a table")
            out[section][sub] = value
        else:
            out[key] = value
    return out


def resolve_config(
    config_file: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    preset: str | None = None,
) -> EvolveConfig:
    """The resolved configuration of a new experiment (see the module docstring).

    ``flags`` hold dotted keys (``"sge.generations": 20``), checked like a file."""
    file_layer = read_toml(config_file) if config_file is not None else {}
    flag_layer = check_layer(nest(flags or {}), "flags")
    name = preset or flag_layer.get("preset") or file_layer.get("preset") or "default"
    merged = _merge(_merge(preset_layer(name), file_layer), flag_layer)
    merged["preset"] = name
    return build_config(merged, source_label(name, config_file, bool(flags)))


def source_label(preset: str, config_file: Path | None, flags: bool) -> str:
    """How errors name a merged configuration: ``preset default + c.toml + flags``."""
    parts = [f"preset {preset}"]
    if config_file is not None:
        parts.append(str(config_file))
    if flags:
        parts.append("flags")
    return " + ".join(parts)


def build_config(data: Mapping[str, Any], where: str) -> EvolveConfig:
    """An :class:`EvolveConfig` from a merged layer (fills the evolve defaults of
    ``fitness.seed`` and ``fitness.threads``). Errors are one line starting with ``where``."""
    data = check_layer(data, where)
    fitness = dict(data.get("fitness", {}))
    base = fitness.pop("preset", None)
    fitness.setdefault("seed", data.get("seed", 0))
    fitness.setdefault("threads", 1)
    if base:
        fitness = {**fitness_config.to_dict(fitness_config.PRESETS[base]), **fitness}
    try:
        return EvolveConfig(
            **{k: v for k, v in data.items() if k not in ("sge", "fitness", "search",
                                                            "executor")},
            sge=SGEConfig(**data.get("sge", {})),
            fitness=FitnessConfig(**fitness),
            search=SearchConfig(**data.get("search", {})),
            executor=ExecutorConfig(**data.get("executor", {})),
        )
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


def config_from_dict(data: Mapping[str, Any], where: str = "stored configuration") -> EvolveConfig:
    """Inverse of :meth:`EvolveConfig.to_dict` (a stored run's configuration)."""
    return build_config(data, where)


def with_overrides(config: EvolveConfig, flags: Mapping[str, Any], allowed: tuple[str, ...],
                   why: str) -> EvolveConfig:
    """``config`` with ``flags`` (dotted keys) applied, each key starting with one of
    ``allowed`` prefixes; any other key is a :class:`ConfigError` saying ``why``."""
    for key in flags:
        if not any(key == a or key.startswith(a + ".") for a in allowed):
            raise ConfigError(f"{key}: {why}")
    layer = check_layer(nest(flags), "flags")
    return build_config(_merge(config.to_dict(), layer), "flags")
