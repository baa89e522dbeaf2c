"""The one early-stopping rule of every trainer (torch, stacked, Keras).

Keras' ``EarlyStopping(min_delta=0)``, as the paper's code used it: after each epoch the
monitored validation metric (``val_loss`` falling or ``val_accuracy`` rising) either strictly
improves on the best so far (the epoch becomes the best; a trainer that restores the best
weights snapshots them now) or not; ``patience`` epochs in a row without improvement stop the
training. ``patience=None`` never stops. A non-finite validation loss ends training at once
(Keras' ``TerminateOnNaN`` view of the epoch). Pure Python: no framework is imported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MONITORS = ("val_loss", "val_accuracy")

#: :meth:`EarlyStopping.update` verdicts.
IMPROVED, WAITING, STOP, NONFINITE = "improved", "waiting", "early_stop", "nonfinite"


@dataclass
class EarlyStopping:
    """The state of the rule for one training: the best value, its epoch, epochs waited."""

    monitor: str
    patience: int | None
    best: float | None = None
    best_epoch: int = 0
    wait: int = 0

    def __post_init__(self) -> None:
        if self.monitor not in MONITORS:
            raise ValueError(f"monitor must be one of {', '.join(MONITORS)}")

    def update(self, epoch: int, val_loss: float, val_accuracy: float) -> str:
        """Record epoch ``epoch``'s validation metrics; returns :data:`IMPROVED`,
        :data:`WAITING`, :data:`STOP` (``"early_stop"``) or :data:`NONFINITE`."""
        if not math.isfinite(val_loss):
            return NONFINITE
        current = val_loss if self.monitor == "val_loss" else val_accuracy
        better = self.best is None or (current < self.best if self.monitor == "val_loss"
                                       else current > self.best)
        if better:
            self.best, self.best_epoch, self.wait = current, epoch, 0
            return IMPROVED
        self.wait += 1
        return STOP if self.patience is not None and self.wait >= self.patience else WAITING
