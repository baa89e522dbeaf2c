"""How many of a search's stage-1 trainings were positive multiples of a rule trained before.

    python benchmarks/scale_duplicates.py runs/before-0.db

For each stage-1 evaluation of an experiment database (in the order they were stored), the
trained spec's weight changes on the fingerprint probe (symalr.fingerprint.probe_deltas) are
divided by their root mean square and hashed like a fingerprint: two rules that differ only by
a positive factor on their update get the same key. Prints the number of trainings, the number
of distinct keys, and the largest groups with each member's stage-1 fitness and probe step
size. This is the measurement behind step normalisation (docs/discovery.md): on a database of
a search with ``normalise_step`` on, every group has one member. Reads the database only.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys

import numpy as np

from symalr.fingerprint import _canonical_bytes, probe_deltas
from symalr.spec import spec_loads


def scale_free_key(spec_text: str) -> tuple[str, float]:
    """The key of a stored spec up to a positive factor, and its probe's RMS step."""
    deltas = probe_deltas(spec_loads(spec_text))
    with np.errstate(all="ignore"):
        size = float(np.sqrt(np.nanmean(deltas ** 2)))
        if np.isfinite(size) and size > 0:
            deltas = deltas / size
    return hashlib.sha256(_canonical_bytes(deltas)).hexdigest()[:16], size


def main(path: str) -> None:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT e.fitness, (SELECT i.spec FROM individuals i WHERE i.fingerprint = e.fingerprint"
        " LIMIT 1) FROM evaluations e WHERE e.stage = 1 ORDER BY e.eval_id").fetchall()
    groups: dict[str, list[tuple[float, float]]] = {}
    for fitness, spec in rows:
        key, size = scale_free_key(spec)
        groups.setdefault(key, []).append((fitness or 0.0, size))
    print(f"{path}: {len(rows)} stage-1 trainings, {len(groups)} distinct up to a positive "
          f"factor ({len(rows) - len(groups)} multiples of a rule trained before)")
    for members in sorted(groups.values(), key=len, reverse=True)[:5]:
        if len(members) > 1:
            print(f"  {len(members)} trainings: " + ", ".join(
                f"fitness {f:.3f} at probe step {s:.2g}" for f, s in members[:6]))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python benchmarks/scale_duplicates.py DB [DB ...]")
    np.seterr(all="ignore")
    for arg in sys.argv[1:]:
        main(arg)
