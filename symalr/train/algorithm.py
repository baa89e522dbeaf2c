"""Algorithm 1, independent of the backend and of what is trained (docs/fitness.md).

::

    reason = static_rejection(spec)        -> floor fitness, rejected, no training
    for k in 1..n_evaluations:
        model <- initial weights (the same every time, from config.seed)
        train on chunk k (early stopping on the validation set)
        acc_k <- accuracy on the fitness set
        stop if acc_k < min_accuracy
    fitness = min(acc_k)

Contract of the returned :class:`~symalr.types.EvalResult`:

- ``fitness`` = min over the evaluations that ran; ``accuracies``/``epochs`` per evaluation;
  ``seconds`` = wall time of the whole computation;
- a NaN/Inf loss ends that evaluation, which keeps its measured accuracy (rows of non-finite
  logits count as wrong); ``error`` notes where it happened;
- an exception raised while exporting, importing, constructing or running the optimizer (or
  the model on its output) is contained: fitness 0.0 (the floor), ``error`` =
  ``"TypeName: message (evaluation k)"`` on one line, the evaluations before it kept;
- past ``config.time_limit_s`` the computation stops: fitness 0.0, ``error`` starting with
  ``"TimeoutError:"``;
- a statically rejected spec: fitness 0.0, ``rejected=True``, ``error`` = the reason, and no
  data is touched.

Problems of the *setup* (missing data, bad config) are not contained: they raise
:class:`~symalr.errors.SymalrError` before any evaluation. This module imports neither torch nor
TensorFlow and knows nothing of specs: :mod:`symalr.train.candidate` prepares a spec and picks
the backend, whose module supplies the function that runs one evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from symalr.train.config import FitnessConfig
from symalr.types import EvalResult


@dataclass(frozen=True)
class Evaluation:
    """One evaluation's outcome: fitness-set accuracy, epochs started, why training ended
    (``max_epochs``, ``early_stop``, ``nonfinite`` or ``time_limit``)."""

    accuracy: float
    epochs: int
    stop_reason: str


#: ``run_one(k, deadline) -> Evaluation`` trains and scores evaluation ``k`` (0-based); the
#: deadline is a ``time.monotonic()`` value or None.
RunOne = Callable[[int, "float | None"], Evaluation]


def evaluation_seeds(seed: int, k: int) -> tuple[np.random.Generator, int]:
    """(shuffling generator, framework seed) of evaluation ``k`` (0-based) under ``seed``."""
    shuffle_ss, framework_ss = np.random.SeedSequence([int(seed), int(k)]).spawn(2)
    return np.random.default_rng(shuffle_ss), int(framework_ss.generate_state(1)[0] >> 1)


def one_line(exc: BaseException) -> str:
    """``"TypeName: first line of the message"`` (at most 300 characters)."""
    text = str(exc).strip().splitlines()
    msg = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    return msg if len(msg) <= 300 else msg[:297] + "..."


class AlgorithmRun:
    """Algorithm 1's bookkeeping for one candidate, fed one evaluation at a time (so that a
    stacked executor can interleave candidates): :meth:`record` each evaluation's outcome in
    order until it returns True, then :meth:`result`."""

    def __init__(self, config: FitnessConfig):
        self.config = config
        self.start = time.monotonic()
        self.deadline = (self.start + config.time_limit_s if config.time_limit_s is not None
                         else None)
        self.accuracies: list[float] = []
        self.epochs: list[int] = []
        self.note: str | None = None
        self._final: tuple[float, str | None] | None = None

    @property
    def done(self) -> bool:
        return self._final is not None

    def record(self, k: int, outcome: Evaluation | Exception) -> bool:
        """Record evaluation ``k`` (0-based): its :class:`Evaluation`, or the exception the
        optimizer under test raised. True when no further evaluation is to run."""
        config = self.config
        if isinstance(outcome, Exception):
            self._final = (0.0, f"{one_line(outcome)} (evaluation {k + 1})")
            return True
        if outcome.stop_reason == "time_limit":
            self._final = (0.0, f"TimeoutError: time limit of {config.time_limit_s:g} s "
                                f"exceeded in evaluation {k + 1}, epoch {outcome.epochs}")
            return True
        if outcome.stop_reason == "nonfinite" and self.note is None:
            self.note = (f"non-finite loss in evaluation {k + 1}, epoch {outcome.epochs}; "
                         f"scored with its measured accuracy")
        self.accuracies.append(outcome.accuracy)
        self.epochs.append(outcome.epochs)
        if outcome.accuracy < config.min_accuracy or k + 1 >= config.n_evaluations:
            self._final = (min(self.accuracies), self.note)
            return True
        return False

    def result(self) -> EvalResult:
        """The :class:`EvalResult` (see the module doc); only once :attr:`done`."""
        fitness, error = self._final
        return EvalResult(fitness, tuple(self.accuracies), tuple(self.epochs),
                          time.monotonic() - self.start, error)


def run_algorithm(run_one: RunOne, config: FitnessConfig) -> EvalResult:
    """Algorithm 1's loop around ``run_one`` (see the module doc for the contract)."""
    run = AlgorithmRun(config)
    for k in range(config.n_evaluations):
        try:
            outcome: Evaluation | Exception = run_one(k, run.deadline)
        except Exception as exc:  # the optimizer under test failed: contained, recorded
            outcome = exc
        if run.record(k, outcome):
            break
    return run.result()
