"""The paper's benchmark results (Tables 2 and 3 of the Adaptive AutoLR paper; see docs/benchmark.md).

Accuracies are percentages, mean and standard deviation over 30 trials; the tuned values are
those the paper's Bayesian optimisation found (Sign's learning rate is the evolved 0.0009 in both
tables). Keys are catalog names and canonical data set names. Pure data; imports nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperResult:
    """One row of the paper's Table 2 or 3."""

    tuned: tuple[tuple[str, float], ...]
    validation: tuple[float, float]
    test: tuple[float, float]


PAPER: dict[str, dict[str, PaperResult]] = {
    "fashion-mnist": {
        "ades": PaperResult((("beta_1", 0.87621), ("beta_2", 0.76132)), (93.53, 0.11), (92.87, 0.16)),
        "sign": PaperResult((("lr", 0.0009),), (92.08, 0.13), (91.29, 0.25)),
        "adam": PaperResult((("lr", 0.00127), ("beta_1", 0.07355), ("beta_2", 0.78162)),
                            (93.46, 0.10), (92.69, 0.20)),
        "rmsprop": PaperResult((("lr", 0.00097), ("rho", 0.85779)), (93.61, 0.08), (92.80, 0.17)),
        "nesterov": PaperResult((("lr", 0.09999), ("momentum", 0.86715)),
                                (93.41, 0.14), (92.82, 0.15)),
    },
    "cifar-10": {
        "ades": PaperResult((("beta_1", 0.92226), ("beta_2", 0.69285)), (82.04, 0.20), (81.85, 0.29)),
        "sign": PaperResult((("lr", 0.0009),), (74.97, 0.40), (75.09, 0.50)),
        "adam": PaperResult((("lr", 0.00163), ("beta_1", 0.81344), ("beta_2", 0.71023)),
                            (81.93, 0.21), (81.56, 0.26)),
        "rmsprop": PaperResult((("lr", 0.00085), ("rho", 0.64813)), (80.97, 0.27), (80.65, 0.45)),
        "nesterov": PaperResult((("lr", 0.00907), ("momentum", 0.98433)),
                                (82.45, 0.25), (82.03, 0.25)),
    },
}  # fmt: skip

#: The paper's one reported Mann-Whitney U test: (data set) -> (optimizer a, optimizer b, p).
PAPER_MANN_WHITNEY: dict[str, tuple[str, str, float]] = {
    "fashion-mnist": ("ades", "nesterov", 0.267),
}


def paper_result(dataset: str, optimizer: str) -> PaperResult | None:
    """The paper's row for ``optimizer`` on ``dataset`` (canonical names), or None."""
    return PAPER.get(dataset, {}).get(optimizer)

#: How the paper names the optimizers (other names print as they are).
DISPLAY_NAMES: dict[str, str] = {
    "ades": "ADES", "ades-eq8": "ADES (Eq. 8)", "sign": "Sign", "adam": "Adam",
    "rmsprop": "RMSprop", "nesterov": "Nesterov", "sgd": "SGD", "momentum": "Momentum",
}  # fmt: skip

#: How the paper names the data sets.
DATASET_TITLES: dict[str, str] = {"fashion-mnist": "Fashion-MNIST", "cifar-10": "CIFAR-10"}


def display_name(name: str) -> str:
    """The paper's spelling of optimizer ``name``, else ``name`` itself."""
    return DISPLAY_NAMES.get(name, name)
