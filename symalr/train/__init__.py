"""Training and fitness (see docs/fitness.md): data, models, trainer, Algorithm 1 for torch and TF.

Importing this package loads neither torch nor TensorFlow; the submodules that need them
(``models``, ``trainer``, ``fitness``, ``keras_models``, ``tf_fitness``, ``generated``'s
loaders) import them. The entry points:

- :func:`evaluate_spec` (``spec, FitnessConfig -> EvalResult``): an optimizer's fitness;
- :class:`FitnessConfig`, :func:`preset` (``paper``, ``proxy``): its settings;
- :func:`symalr.train.data.load_raw`, :mod:`symalr.train.datasets`: verified, split data;
- :func:`symalr.train.trainer.train`: one training run with any torch optimizer;
- :func:`symalr.train.allocator.configure_allocator`: call once in a training process.
"""

from symalr.train.candidate import evaluate_spec
from symalr.train.config import PRESETS, FitnessConfig, preset

__all__ = ["PRESETS", "FitnessConfig", "evaluate_spec", "preset"]
