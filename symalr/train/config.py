"""The fitness configuration (SPEC §6, §7): one frozen value, presets, JSON round trip.

Imports nothing heavy: the evolve layer builds and stores configs without loading torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from symalr.errors import ConfigError
from symalr.train.early_stopping import MONITORS

BACKENDS = ("torch", "tf")


@dataclass(frozen=True)
class FitnessConfig:
    """Every parameter of Algorithm 1 (defaults: the paper's).

    - ``dataset``/``model``: ``fashion-mnist`` or ``cifar-10``; ``mnist_cnn``, ``cifar_cnn``,
      ``mlp`` or ``small_cnn`` (:mod:`symalr.train.models`).
    - ``splits``: (training, validation, fitness) images taken, stratified, from the official
      training set by ``seed``; the training part is cut into ``n_evaluations`` equal chunks
      (``chunk_size``), one per evaluation.
    - ``batch_size``, ``max_epochs``, ``patience`` (``None``: no early stopping), ``monitor``
      (``val_loss`` or ``val_accuracy``), ``restore_best`` (best-epoch weights, as the
      authors' code did with ``val_accuracy``).
    - ``min_accuracy``: evaluations stop after one scores below it (paper: 0.8).
    - ``time_limit_s``: wall-clock budget of one whole fitness computation (``None``: none).
    - ``seed``: the split, the initial weights (the same for every evaluation) and each
      evaluation's shuffling and dropout all derive from it.
    - ``backend``: ``torch`` or ``tf`` (Keras, XLA); ``device``: ``cpu``, ``cuda``, ``cuda:N`` or
      ``auto`` (:mod:`symalr.train.device`).
    - ``compile``: ``"auto"`` (foreach on CPU, where the optimizer step is under 1% of an
      epoch and compiling costs seconds; ``torch.compile`` on an accelerator for long
      trainings), or ``True``/``False``.
    - ``channels_last``: channels-last convolutions (fastest eager layout on CPU).
    - ``threads``: torch intra-op threads for the evaluating process (``None``: leave as is).
      One thread per process when several workers share the cores: oversubscribed OpenMP
      threads made a small MLP 25x slower here.
    - ``data_dir``: explicit data folder (else ``$SYMALR_DATA_DIR``, the cache, ...).
    """

    dataset: str = "fashion-mnist"
    model: str = "mnist_cnn"
    splits: tuple[int, int, int] = (53_000, 3_500, 3_500)
    n_evaluations: int = 5
    batch_size: int = 1000
    max_epochs: int = 100
    patience: int | None = 5
    monitor: str = "val_loss"
    restore_best: bool = False
    min_accuracy: float = 0.8
    time_limit_s: float | None = None
    seed: int = 0
    backend: str = "torch"
    device: str = "cpu"
    compile: str | bool = "auto"
    channels_last: bool = True
    threads: int | None = None
    data_dir: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "splits", tuple(int(s) for s in self.splits))
        if len(self.splits) != 3 or min(self.splits) < 1:
            raise ConfigError(f"splits must be three positive sizes (training, validation, "
                              f"fitness), got {self.splits}")
        for key in ("n_evaluations", "batch_size", "max_epochs"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.splits[0] < self.n_evaluations:
            raise ConfigError(f"cannot cut {self.splits[0]} training images into "
                              f"{self.n_evaluations} chunks")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be at least 1 or null, got {self.patience}")
        if self.monitor not in MONITORS:
            raise ConfigError(f"monitor must be one of {', '.join(MONITORS)}, got "
                              f"{self.monitor!r}")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got "
                              f"{self.backend!r}")
        if self.compile not in ("auto", True, False):
            raise ConfigError(f"compile must be 'auto', true or false, got {self.compile!r}")
        if not 0.0 <= self.min_accuracy <= 1.0:
            raise ConfigError(f"min_accuracy must lie in [0, 1], got {self.min_accuracy}")
        if self.time_limit_s is not None and not (self.time_limit_s > 0
                                                  and math.isfinite(self.time_limit_s)):
            raise ConfigError(f"time_limit_s must be a positive number or null, got "
                              f"{self.time_limit_s}")
        from symalr.train.device import check_device_name

        check_device_name(self.device)
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1 or null, got {self.threads}")

    @property
    def chunk_size(self) -> int:
        """Training images per evaluation (paper: 53,000 / 5 = 10,600)."""
        return self.splits[0] // self.n_evaluations

    def replace(self, **changes) -> FitnessConfig:
        """A copy with ``changes``; unknown keys are a :class:`ConfigError`."""
        return from_dict({**to_dict(self), **changes})


def to_dict(config: FitnessConfig) -> dict:
    """JSON-ready dict of every field (``splits`` as a list)."""
    out = dataclasses.asdict(config)
    out["splits"] = list(config.splits)
    return out


def from_dict(data: dict) -> FitnessConfig:
    """The config a :func:`to_dict` dict describes; keys left out take their defaults.

    Raises :class:`ConfigError` naming an unknown key or a bad value."""
    known = {f.name for f in dataclasses.fields(FitnessConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown fitness setting {unknown[0]!r}; known: "
                          f"{', '.join(sorted(known))}")
    try:
        return FitnessConfig(**data)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"bad fitness setting: {err}") from None


#: ``paper``: Algorithm 1 as published (mnist_cnn, 53,000/3,500/3,500, 5 x 10,600, batch
#: 1,000, <= 100 epochs, patience 5). ``proxy``: the CPU-sized task of the default evolve
#: preset: an MLP on 2,000-image chunks, ~1-1.5 s per fitness on one core, where Adam
#: scores ~0.82 and a poor optimizer stays below the 0.8 cut.
PRESETS: dict[str, FitnessConfig] = {
    "paper": FitnessConfig(),
    "proxy": FitnessConfig(
        model="mlp", splits=(10_000, 2_000, 2_000), batch_size=100, max_epochs=8, patience=3,
        threads=1,
    ),
}


def preset(name: str, **overrides) -> FitnessConfig:
    """Preset ``name`` (``paper``, ``proxy``) with ``overrides``; :class:`ConfigError` else."""
    if name not in PRESETS:
        raise ConfigError(f"unknown fitness preset {name!r}; choose one of "
                          f"{', '.join(PRESETS)}")
    return PRESETS[name].replace(**overrides) if overrides else PRESETS[name]
