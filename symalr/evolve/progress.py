"""Progress of an experiment on standard error (see docs/store.md).

One plain line per completed generation step, readable in a log file::

    symalr: gen 4/15  best 0.8123  mean 0.4410  trained 9  cache hits 5  rejected 14  \
38.2 evals/min  left ~3m12s

``best`` is the best fitness of any run, ``mean`` the population mean averaged over the runs;
the counts are this step's, over all runs; evaluations per minute and the time left are
measured in this session. On a terminal, a transient ``evaluating k/n`` counter is redrawn
while a step's trainings run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from symalr.evolve.store import GenerationRow
from symalr.types import EvalResult


def format_seconds(seconds: float) -> str:
    """``42s``, ``3m12s``, ``2h05m``."""
    s = int(round(max(seconds, 0.0)))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class Progress:
    """Receives the runner's events and writes progress lines to ``stream``."""

    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total = 0
        self.trained = 0
        self.lost_attempts = 0
        self._start = clock()
        self._first_generation = 0
        self._jobs = 0
        self._done_in_step = 0
        self.last_line = ""

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def begin(self, done: int, total: int, runs: int) -> None:
        """``done``: generations already completed (-1: none); ``total``: the last one."""
        self.total = total
        self._first_generation = done + 1
        self._start = self.clock()
        what = "starting" if done < 0 else f"resuming after generation {done}"
        self._write(f"symalr: {what}: {runs} run(s), generations 0..{total}\n")

    def step_begins(self, generation: int, jobs: int) -> None:
        self._jobs = jobs
        self._done_in_step = 0

    def evaluated(self, result: EvalResult) -> None:
        self.trained += 1
        self._done_in_step += 1
        if self.live:
            self._write(f"\r  evaluating {self._done_in_step}/{self._jobs}\x1b[K")

    def lost(self, reason: str, attempt: int) -> None:
        self.lost_attempts += 1
        self._write(("\r\x1b[K" if self.live else "")
                    + f"symalr: evaluation attempt {attempt} lost ({reason}); retrying\n")

    def stage_begins(self, stage: int, jobs: int) -> None:
        """Funnel stage ``stage`` is about to score ``jobs`` promoted candidates."""
        self._jobs = jobs
        self._done_in_step = 0

    def stage_done(self, stage: int, generation: int, evaluations: Sequence) -> None:
        """A line for funnel stage ``stage`` after ``generation``: how many candidates it has
        scored in all, and the best fitness there."""
        scored = [e.fitness for e in evaluations if e.fitness == e.fitness]
        best = max(scored, default=float("nan"))
        self.last_line = (f"symalr: gen {generation}/{self.total}  stage {stage}: "
                          f"{self._jobs} promoted, {len(scored)} scored in all, best {best:.4f}")
        self._write(("\r\x1b[K" if self.live else "") + self.last_line + "\n")

    def step_done(self, generation: int, rows: Sequence[GenerationRow]) -> None:
        self.last_line = self.line(generation, rows)
        self._write(("\r\x1b[K" if self.live else "") + self.last_line + "\n")

    def line(self, generation: int, rows: Sequence[GenerationRow]) -> str:
        elapsed = self.clock() - self._start
        steps = generation - self._first_generation + 1
        left = elapsed / steps * (self.total - generation) if steps > 0 else 0.0
        rate = self.trained / (elapsed / 60.0) if elapsed > 0 else 0.0
        best = max(r.best for r in rows)
        mean = sum(r.mean for r in rows) / len(rows)
        trained = sum(r.n_trained for r in rows)
        hits = sum(r.n_cache_hits for r in rows)
        rejected = sum(r.n_rejected for r in rows)
        return (f"symalr: gen {generation}/{self.total}  best {best:.4f}  mean {mean:.4f}  "
                f"trained {trained}  cache hits {hits}  rejected {rejected}  "
                f"{rate:.1f} evals/min  left ~{format_seconds(left)}")
