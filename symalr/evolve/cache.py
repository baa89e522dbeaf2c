"""From phenotype to cache key: simplified spec, canonical text, fingerprint, static rejection.

The semantic cache (SPEC §3, §7) keys fitness by ``(scope, fitness_key, fingerprint)``:
individuals whose simplified specs behave the same on the fingerprint's probe are trained once
per scope (the whole database when ``share_cache``, else each run), and specs that
:func:`symalr.screen.static_rejection` refuses are never trained.

:class:`Preparer` memoises by phenotype text (copies and elites repeat texts all the time).
Preparation is deterministic except for one thing outside this module: SymPy simplification
has a wall-clock bound (:data:`symalr.simplify.SIMPLIFY_SECONDS`), so a heavily loaded machine
may keep a longer (equivalent) form. The fingerprint is numeric and is not affected; the stored
spec text may be. A resumed run reuses the stored preparation of every individual it reloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

#: Name given to every evolved spec (a name is part of the spec JSON; this keeps equal
#: phenotypes' specs textually equal).
SPEC_NAME = "evolved"


@dataclass(frozen=True)
class Prepared:
    """A phenotype's simplified spec (compact JSON), canonical text, fingerprint, and the
    reason it is statically rejected (``None``: it may train)."""

    spec_json: str
    canonical: str
    fingerprint: str
    rejection: str | None


def spec_json(spec) -> str:
    """Compact, key-sorted JSON of a spec (what the store and the workers exchange)."""
    return json.dumps(spec.to_json(), sort_keys=True, separators=(",", ":"))


def prepare(phenotype: str) -> Prepared:
    """Simplify, fingerprint and screen one phenotype.

    A phenotype whose simplification raises keeps its raw (unsimplified, equivalent) spec;
    one whose numeric probe raises is rejected with the reason. Phenotypes come from the
    grammar, so a text the phenotype parser refuses is a bug and propagates."""
    from symalr.fingerprint import fingerprint
    from symalr.phenotype import spec_from_phenotype
    from symalr.screen import static_rejection
    from symalr.simplify import canonical_text, simplify

    raw = spec_from_phenotype(phenotype, name=SPEC_NAME)
    try:
        spec = simplify(raw)
    except (ArithmeticError, RecursionError, TypeError, ValueError, AttributeError):
        spec = raw  # SymPy gave up on it; the raw spec is equivalent
    canonical = canonical_text(spec)
    try:
        with np.errstate(all="ignore"):  # overflowing probes are expected, and judged
            key = fingerprint(spec)
            rejection = static_rejection(spec)
    except (ArithmeticError, RecursionError, TypeError, ValueError) as err:
        import hashlib

        key = "x" + hashlib.sha256(canonical.encode()).hexdigest()[:15]
        rejection = f"numeric probe failed: {type(err).__name__}: {err}"[:300]
    return Prepared(spec_json(spec), canonical, key, rejection)


class Preparer:
    """:func:`prepare`, memoised by phenotype text; :meth:`remember` pre-loads stored ones."""

    def __init__(self) -> None:
        self._memo: dict[str, Prepared] = {}

    def __call__(self, phenotype: str) -> Prepared:
        hit = self._memo.get(phenotype)
        if hit is None:
            hit = self._memo[phenotype] = prepare(phenotype)
        return hit

    def remember(self, phenotype: str, prepared: Prepared) -> None:
        self._memo.setdefault(phenotype, prepared)

    def __len__(self) -> int:
        return len(self._memo)


def cache_scope(run_id: int, share_cache: bool) -> int:
    """The cache scope of a run: 0 (shared by the database's runs) or the run's id."""
    return 0 if share_cache else run_id
