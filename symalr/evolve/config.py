"""The configuration of an evolution experiment: presets, TOML files and flags (SPEC §7).

Resolution, later layers winning key by key: the preset (``default`` unless the config file's
``preset`` key or ``--preset`` names another), the config file, then the flags. Presets are
TOML files of the same shape shipped in ``symalr/evolve/presets/``. Shape::

    preset = "default"        # the base preset
    runs = 3                  # independent runs (paper: 9)
    seed = 0                  # run k's SGE generator: SeedSequence([seed, k])
    grammar = "alr"           # shipped name or a .bnf path
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
workers). Unknown keys and bad values raise :class:`~symalr.errors.ConfigError` naming the key
and where it came from.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from symalr.errors import ConfigError
from symalr.sge.engine import SGEConfig
from symalr.train import config as fitness_config
from symalr.train.config import FitnessConfig
from symalr.train.stacking import STACKING

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PRESETS = ("default", "paper")
EXECUTORS = ("local", "ray", "inline")


@dataclass(frozen=True)
class ExecutorConfig:
    """Where evaluations run (see the module docstring). Not part of the search: it may
    change when a run is resumed without changing any result."""

    kind: str = "local"
    workers: int = 0
    address: str = ""
    max_retries: int = 2
    timeout_s: float = 0.0
    stacking: str = "auto"
    max_stack: int = 0

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ConfigError(f"executor.kind = {self.kind!r}: choose one of {', '.join(EXECUTORS)}")
        if self.workers < 0:
            raise ConfigError(f"executor.workers = {self.workers}: must be >= 0 (0: all cores)")
        if self.max_retries < 0:
            raise ConfigError(f"executor.max_retries = {self.max_retries}: must be >= 0")
        if not self.timeout_s >= 0:
            raise ConfigError(f"executor.timeout_s = {self.timeout_s}: must be >= 0 (0: none)")
        if self.stacking not in STACKING:
            raise ConfigError(f"executor.stacking = {self.stacking!r}: choose "
                              f"{', '.join(STACKING)}")
        if self.max_stack < 0:
            raise ConfigError(f"executor.max_stack = {self.max_stack}: must be >= 0 "
                              f"(0: measured memory budget)")


@dataclass(frozen=True)
class EvolveConfig:
    """A resolved experiment configuration (see the module docstring)."""

    preset: str = "default"
    runs: int = 1
    seed: int = 0
    grammar: str = "alr"
    seed_with: tuple[str, ...] = ()
    share_cache: bool = True
    sge: SGEConfig = field(default_factory=SGEConfig)
    fitness: FitnessConfig = field(default_factory=FitnessConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise ConfigError(f"runs = {self.runs}: must be >= 1")
        if self.seed < 0:
            raise ConfigError(f"seed = {self.seed}: must be >= 0")

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
            "executor": dataclasses.asdict(self.executor),
        }

    def fitness_key(self) -> str:
        """Key of the fitness cache: every fitness setting that can change a result (not
        ``data_dir``: the data are verified by checksum wherever they lie)."""
        import hashlib

        data = {k: v for k, v in fitness_config.to_dict(self.fitness).items() if k != "data_dir"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------- schema

_TOP = {"preset": "str", "runs": "int", "seed": "int", "grammar": "str",
        "seed_with": "list[str]", "share_cache": "bool"}
_SECTIONS = {"sge": SGEConfig, "fitness": FitnessConfig, "executor": ExecutorConfig}
_EXTRA = {"fitness": {"preset": "str"}}


def _section_types(name: str) -> dict[str, str]:
    types = {f.name: str(f.type) for f in dataclasses.fields(_SECTIONS[name])}
    types.update(_EXTRA.get(name, {}))
    return types


def _check_value(key: str, value: Any, kind: str, where: str) -> Any:
    """``value`` converted to the field type ``kind`` (an annotation string)."""

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"{where}: {key} = {value!r}: expected {expected}")

    if kind == "MutationRate":
        if isinstance(value, Mapping):
            return {str(k): _check_value(f"{key}.{k}", v, "float", where) for k, v in value.items()}
        return _check_value(key, value, "float", where)
    if kind.endswith(" | None"):
        if value is None or isinstance(value, str) and value.lower() == "none":
            return None
        return _check_value(key, value, kind[: -len(" | None")], where)
    if kind == "str | bool":
        if isinstance(value, (str, bool)):
            return value
        raise bad("a string or a boolean")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
        return value
    match = re.fullmatch(r"(?:tuple|list)\[(\w+)(?:, \w+)*(, \.\.\.)?\]", kind)
    if match:
        if not isinstance(value, (list, tuple)):
            raise bad("a list")
        items = [_check_value(f"{key}[{i}]", v, match.group(1), where) for i, v in enumerate(value)]
        arity = kind.count(",") + 1
        if kind.startswith("tuple") and not match.group(2) and len(items) != arity:
            raise bad(f"a list of {arity}")
        return items
    raise ConfigError(f"{where}: {key}: unsupported setting type {kind}")  # a schema bug


def check_layer(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """One configuration layer with every key known and every value of the right type.

    Returns a normalised copy (lists for tuples, ``None`` for ``"none"``)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _TOP:
            out[key] = _check_value(key, value, _TOP[key], where)
        elif key in _SECTIONS:
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: {key} must be a table ([{key}])")
            types = _section_types(key)
            section = {}
            for sub, v in value.items():
                if sub not in types:
                    raise ConfigError(f"{where}: unknown key {key}.{sub} "
                                      f"(known in [{key}]: {', '.join(sorted(types))})")
                section[sub] = _check_value(f"{key}.{sub}", v, types[sub], where)
            out[key] = section
        else:
            known = sorted([*_TOP, *_SECTIONS])
            raise ConfigError(f"{where}: unknown key {key} (known: {', '.join(known)})")
    return out


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if key in _SECTIONS and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def read_toml(path: Path) -> dict[str, Any]:
    """A config file's checked layer."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config file ({err.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    return check_layer(data, str(path))


def preset_layer(name: str) -> dict[str, Any]:
    """The checked layer of a shipped preset."""
    if name not in PRESETS:
        raise ConfigError(f"preset = {name!r}: choose one of {', '.join(PRESETS)}")
    text = resources.files("symalr.evolve").joinpath(f"presets/{name}.toml").read_text()
    return check_layer(tomllib.loads(text), f"preset {name}")


def parse_assignment(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from ``--set``: VALUE is read as a TOML value, else taken as a string."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. sge.generations=20")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def nest(assignments: Mapping[str, Any]) -> dict[str, Any]:
    """``{"sge.generations": 5}`` -> ``{"sge": {"generations": 5}}`` (one level deep)."""
    out: dict[str, Any] = {}
    for key, value in assignments.items():
        section, dot, sub = key.partition(".")
        if dot:
            out.setdefault(section, {})
            if not isinstance(out[section], dict):
                raise ConfigError(f"{key}: {section} is not a table")
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
    return build_config(merged, f"{name} preset + " + (str(config_file) if config_file else "flags"))


def build_config(data: Mapping[str, Any], where: str) -> EvolveConfig:
    """An :class:`EvolveConfig` from a checked, merged layer (fills the evolve defaults of
    ``fitness.seed`` and ``fitness.threads``)."""
    data = check_layer(data, where)
    fitness = dict(data.get("fitness", {}))
    base = fitness.pop("preset", None)
    fitness.setdefault("seed", data.get("seed", 0))
    fitness.setdefault("threads", 1)
    if isinstance(fitness.get("splits"), list):
        fitness["splits"] = tuple(fitness["splits"])
    try:
        fit = fitness_config.preset(base, **fitness) if base else fitness_config.from_dict(fitness)
    except ConfigError as err:
        raise ConfigError(f"{where}: fitness: {err}") from None
    sge = dict(data.get("sge", {}))
    try:
        sge_config = SGEConfig(**sge)
        executor = ExecutorConfig(**data.get("executor", {}))
        top = {k: data[k] for k in _TOP if k in data}
        top["seed_with"] = tuple(top.get("seed_with", ()))
        return EvolveConfig(**top, sge=sge_config, fitness=fit, executor=executor)
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
