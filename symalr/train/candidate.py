"""A candidate optimizer from spec to fitness: static rejection, the exported class, the
backend (torch or TF/Keras), Algorithm 1.

:func:`prepare_candidate` is the setup every fitness path shares — the sequential one
(:func:`evaluate_spec`) and the stacked one (:mod:`symalr.train.stacked_fitness`): a spec the
static screen rejects, or whose exported module cannot be built or imported, gets its final
:class:`~symalr.types.EvalResult` here without touching any data; any other spec gets the
factory of the very class ``symalr export`` emits for the configured backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from symalr.train.algorithm import one_line
from symalr.train.config import FitnessConfig
from symalr.types import EvalResult


def prepare_candidate(spec, config: FitnessConfig, start: float | None = None
                      ) -> EvalResult | Callable:
    """The final result of a spec that cannot train (rejected, or its module fails), else the
    factory of its exported optimizer class for ``config.backend``. ``start`` (a
    ``time.monotonic()`` value) dates ``seconds``."""
    from symalr.screen import static_rejection

    start = time.monotonic() if start is None else start
    reason = static_rejection(spec)
    if reason is not None:
        return EvalResult(0.0, seconds=time.monotonic() - start, error=reason, rejected=True)
    if config.backend == "tf":
        from symalr.train.tf_fitness import keras_spec_factory as spec_factory
    else:
        from symalr.train.fitness import spec_factory
    try:
        return spec_factory(spec, config)
    except Exception as exc:  # the spec cannot be exported or imported: its own failure
        return EvalResult(0.0, seconds=time.monotonic() - start, error=one_line(exc))


def evaluate_spec(spec, config: FitnessConfig) -> EvalResult:
    """Fitness of optimizer ``spec`` (a :class:`symalr.spec.OptimizerSpec`) under ``config``:
    :func:`prepare_candidate`, then Algorithm 1 (:mod:`symalr.train.algorithm`) with the
    configured backend (torch, or TF/Keras under XLA)."""
    prepared = prepare_candidate(spec, config)
    if isinstance(prepared, EvalResult):
        return prepared
    if config.backend == "tf":
        from symalr.train.tf_fitness import evaluate_keras_factory as evaluate_factory
    else:
        from symalr.train.fitness import evaluate_factory
    return evaluate_factory(prepared, config)
