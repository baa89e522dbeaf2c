"""The one path from text to spec to exported source.

Every caller — the CLI (``latex``, ``simplify``, ``export``), evolution (each new phenotype),
benchmarks and tests — goes through these functions, so a phenotype becomes the same spec,
with the same failure rules, wherever it comes from::

    individual JSON ──individual_raw_spec──┐
    phenotype text ──raw_spec───────────────┴─> raw OptimizerSpec ──simplified──> OptimizerSpec
        ──prepare──> Prepared (spec JSON, canonical text, fingerprint, static rejection)
        ──module_source──> torch / Keras module text

Failure rules, once for everyone:

- text that is not a phenotype of the language, a genotype that does not fit its grammar, or
  a malformed individual is a user error (:class:`~symalr.errors.GenotypeError` /
  :class:`~symalr.errors.SpecError`, one line naming the place);
- simplification that SymPy cannot finish (it raises) keeps the raw spec, which is
  equivalent by construction (``simplified`` never raises for a valid raw spec);
- a numeric probe that raises marks the spec rejected, with the reason, and keys it by its
  canonical text (``prepare`` never raises for a valid raw spec).

See docs/walkthrough.md for one individual followed through every stage.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import GenotypeError
from .safe_text import TextError, check_label, label_from
from .spec import OptimizerSpec
from .types import Genotype

#: Name given to every evolved spec (a name is part of the spec JSON; this keeps equal
#: phenotypes' specs textually equal).
EVOLVED_NAME = "evolved"

#: Keys of an individual JSON object.
INDIVIDUAL_KEYS = frozenset({"phenotype", "genotype", "grammar", "max_depth", "name"})
#: Most codons one gene and one genotype may hold (the ALR grammars use a few dozen).
MAX_GENE = 10_000
MAX_CODONS = 100_000


def raw_spec(phenotype: str, name: str = EVOLVED_NAME, where: str = "<phenotype>"
             ) -> OptimizerSpec:
    """The raw ALR spec of phenotype text (docs/spec-language.md)."""
    from .phenotype import spec_from_phenotype

    return spec_from_phenotype(phenotype, name=name, where=where)


def simplified(raw: OptimizerSpec) -> OptimizerSpec:
    """The simplified spec of ``raw``; the raw spec itself when SymPy gives up on it."""
    from .simplify import simplify

    try:
        return simplify(raw)
    except (ArithmeticError, RecursionError, TypeError, ValueError, AttributeError):
        return raw  # SymPy could not finish; the raw spec is equivalent


def _genotype(genes: Any, where: str) -> Genotype:
    """A :class:`Genotype` from its JSON form; keys may be written ``<nt>`` or ``nt``."""
    if not isinstance(genes, dict):
        raise GenotypeError(f"{where}: 'genotype' must map non-terminal names to codon lists")
    out: dict[str, tuple[int, ...]] = {}
    total = 0
    for key, codons in genes.items():
        nt = key[1:-1] if key.startswith("<") and key.endswith(">") else key
        if not isinstance(codons, list) or len(codons) > MAX_GENE or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in codons
        ):
            raise GenotypeError(f"{where}: genotype[{key!r}] must be a list of at most "
                                f"{MAX_GENE} integers")
        total += len(codons)
        out[nt] = tuple(codons)
    if total > MAX_CODONS:
        raise GenotypeError(f"{where}: genotype holds {total} codons (at most {MAX_CODONS})")
    return Genotype(out)


def individual_raw_spec(data: Any, where: str) -> OptimizerSpec:
    """The raw spec of an individual given as JSON (already parsed): ``{"phenotype": TEXT}``
    or ``{"grammar": NAME, "genotype": {"<nt>": [codons]}, "max_depth": N}``, optionally with
    ``"name"`` (default: a label made from ``where``'s file stem)."""
    from .sge import DEFAULT_MAX_DEPTH
    from .sge.engine import MAX_DEPTH_LIMIT

    if not isinstance(data, dict):
        raise GenotypeError(f"{where}: an individual must be a JSON object")
    unknown = set(data) - INDIVIDUAL_KEYS
    if unknown:
        raise GenotypeError(f"{where}: unknown key(s) {sorted(unknown)} "
                            f"(known: {sorted(INDIVIDUAL_KEYS)})")
    if "name" in data:
        try:
            name = check_label(data["name"], "individual name")
        except TextError as err:
            raise GenotypeError(f"{where}: {err}") from None
    else:
        name = label_from(Path(where).stem, "individual")
    if "phenotype" in data:
        if "genotype" in data or "grammar" in data or "max_depth" in data:
            raise GenotypeError(f"{where}: give either 'phenotype' or 'grammar' + 'genotype'")
        text = data["phenotype"]
        if not isinstance(text, str):
            raise GenotypeError(f"{where}: 'phenotype' must be a string")
        return raw_spec(text, name, f"{where}:phenotype")
    if "genotype" not in data:
        raise GenotypeError(f"{where}: an individual needs 'phenotype' or 'genotype'")
    from .grammar import DEFAULT_GRAMMAR, load_grammar
    from .sge import map_genotype, validate_genotype

    grammar_name = data.get("grammar", DEFAULT_GRAMMAR)
    if not isinstance(grammar_name, str):
        raise GenotypeError(f"{where}: 'grammar' must be a shipped grammar name or a path")
    max_depth = data.get("max_depth", DEFAULT_MAX_DEPTH)
    if (isinstance(max_depth, bool) or not isinstance(max_depth, int)
            or not 1 <= max_depth <= MAX_DEPTH_LIMIT):
        raise GenotypeError(f"{where}: 'max_depth' must be an integer in "
                            f"[1, {MAX_DEPTH_LIMIT}], got {max_depth!r}")
    grammar = load_grammar(grammar_name)
    genotype = _genotype(data["genotype"], where)
    try:
        validate_genotype(grammar, genotype)
        _, derivation = map_genotype(grammar, genotype, max_depth)
    except GenotypeError as err:
        raise GenotypeError(f"{where}: {err}") from None
    return raw_spec(derivation.text(), name, f"{where}:phenotype")


@dataclass(frozen=True)
class Prepared:
    """A phenotype's simplified spec (compact JSON), canonical text, fingerprint, and the
    reason it is statically rejected (``None``: it may train)."""

    spec_json: str
    canonical: str
    fingerprint: str
    rejection: str | None


def spec_json(spec: OptimizerSpec) -> str:
    """Compact, key-sorted JSON of a spec (what the store and the workers exchange)."""
    return json.dumps(spec.to_json(), sort_keys=True, separators=(",", ":"))


def prepare(phenotype: str, strict: bool = False, normalise_step: bool = False) -> Prepared:
    """Simplify, fingerprint and screen one phenotype of a grammar (evolution's path);
    ``strict`` screens as a task-based search does (:func:`symalr.screen.static_rejection`)
    and screens the raw spec first: a rule rejected for a reason simplification cannot change
    (no gradient dependence, no movement, no descent, none of which depends on the step
    size) keeps its raw spec and skips the (comparatively slow) simplification.
    ``normalise_step`` scales the simplified spec to the common settled step
    (:func:`symalr.step_scale.normalised`) before it is fingerprinted and screened: the
    prepared spec is the rule as the search trains it at x1.

    Phenotypes come from a grammar whose language was checked before the run, so a text the
    phenotype parser refuses is a bug and propagates."""
    from .fingerprint import fingerprint
    from .screen import NONFINITE, static_rejection
    from .simplify import canonical_text

    raw = raw_spec(phenotype)
    if strict:  # most random rules fail the screens; only those that pass are simplified
        with np.errstate(all="ignore"):
            early = static_rejection(raw, strict=True, startup=False)
        if early is not None and not early.startswith(NONFINITE):
            # structural and value-based reasons hold for the simplified spec too (it computes
            # the same updates); a non-finite update may be a NaN that simplification removes
            canonical = canonical_text(raw)
            with np.errstate(all="ignore"):
                key = fingerprint(raw)
            return Prepared(spec_json(raw), canonical, key, early)
    spec = simplified(raw)
    canonical = canonical_text(spec)
    try:
        with np.errstate(all="ignore"):  # overflowing probes are expected, and judged
            sizes = None
            if normalise_step:  # one start-up measure: for the scale and the burst screen
                from .startup import step_sizes
                from .step_scale import normalised

                sizes = step_sizes(spec)
                spec = normalised(spec, sizes)
            key = fingerprint(spec)
            rejection = static_rejection(spec, strict=strict, sizes=sizes)
    except (ArithmeticError, RecursionError, TypeError, ValueError) as err:
        key = "x" + hashlib.sha256(canonical.encode()).hexdigest()[:15]
        rejection = f"numeric probe failed: {type(err).__name__}: {err}"[:300]
    return Prepared(spec_json(spec), canonical, key, rejection)


def module_source(spec: OptimizerSpec, backend: str, class_name: str | None = None) -> str:
    """The standalone module of ``spec`` for ``backend`` (``torch``, ``tf``...): the code
    ``symalr export`` prints and training imports."""
    from .render import module_source as render

    return render(spec, backend, class_name)
