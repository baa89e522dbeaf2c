"""The fitness configuration (see docs/fitness.md): one frozen value, presets, JSON round trip.

Imports nothing heavy: the evolve layer builds and stores configs without loading torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from symalr.errors import ConfigError
from symalr.settings import (
    MAX_PATH_CHARS,
    MAX_SEED,
    bound_error,
    check_fields,
    check_layer,
    setting,
)
from symalr.train.early_stopping import MONITORS

BACKENDS = ("torch", "tf")
#: The largest official training set (Fashion-MNIST's 60,000 images; CIFAR-10 has 50,000 and
#: is checked against its own size when split).
MAX_TRAIN_IMAGES = 60_000


@dataclass(frozen=True)
class FitnessConfig:
    """Every parameter of Algorithm 1 (defaults: the paper's). Each field is declared with its
    bounds (:func:`symalr.settings.setting`, see docs/inputs.md); a bad value is a
    :class:`ConfigError` naming ``fitness.<key>``.

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

    dataset: str = setting("fashion-mnist", min_len=1, max_len=100,
                           why="a data set name, checked against the data sets when loaded")
    model: str = setting("mnist_cnn", min_len=1, max_len=100, why="a model name")
    splits: tuple[int, int, int] = setting(
        (53_000, 3_500, 3_500), low=1, high=MAX_TRAIN_IMAGES,
        why="images from the official training set: together at most its size")
    n_evaluations: int = setting(5, low=1, high=100, why="at most splits[0] chunks; paper: 5")
    batch_size: int = setting(1000, low=1, high=MAX_TRAIN_IMAGES, why="at most the data")
    max_epochs: int = setting(100, low=1, high=10_000, why="paper: 100")
    patience: int | None = setting(5, low=1, high=10_000, why="at most max_epochs is useful")
    monitor: str = setting("val_loss", choices=MONITORS, why="what early stopping watches")
    restore_best: bool = setting(False)
    min_accuracy: float = setting(0.8, low=0, high=1, why="an accuracy")
    time_limit_s: float | None = setting(
        None, low=0.001, high=1_000_000, why="seconds; about 11 days at most")
    seed: int = setting(0, low=0, high=MAX_SEED, why="stored as a signed 64-bit integer")
    backend: str = setting("torch", choices=BACKENDS)
    device: str = setting("cpu", min_len=1, max_len=100, why="cpu, cuda, cuda:N or auto")
    compile: str | bool = setting("auto", choices=("auto", True, False))
    channels_last: bool = setting(True)
    threads: int | None = setting(None, low=1, high=1024, why="torch intra-op threads")
    data_dir: str | None = setting(None, min_len=1, max_len=MAX_PATH_CHARS, why="a path")

    def __post_init__(self) -> None:
        check_fields(self, "fitness.")
        if sum(self.splits) > MAX_TRAIN_IMAGES:
            raise bound_error("fitness.splits", list(self.splits),
                              f"sizes adding up to at most {MAX_TRAIN_IMAGES:_} (the largest "
                              f"training set), not {sum(self.splits):_}")
        if self.splits[0] < self.n_evaluations:
            raise bound_error("fitness.n_evaluations", self.n_evaluations,
                              f"at most fitness.splits[0] = {self.splits[0]} (one chunk of "
                              f"training images each)")
        from symalr.train.device import check_device_name

        check_device_name(self.device, "fitness.device")

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
    return FitnessConfig(**check_layer(FitnessConfig, data, "fitness settings", "fitness."))


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
