"""symalr: evolve neural-network optimizers with Structured Grammatical Evolution (Adaptive AutoLR).

The Python API (:mod:`symalr.api`) is re-exported here: :func:`optimizer`, :func:`latex`,
:func:`export`, :func:`evolve_optimizers`, :func:`benchmark`, :func:`tasks`, :func:`task`.
Importing this package loads neither torch, TensorFlow nor Ray (tested in a subprocess).
"""

__version__ = "0.2.0"

from symalr.api import (  # noqa: E402
    benchmark,
    evolve_optimizers,
    export,
    latex,
    optimizer,
    task,
    tasks,
)

__all__ = ["benchmark", "evolve_optimizers", "export", "latex", "optimizer", "task", "tasks"]
