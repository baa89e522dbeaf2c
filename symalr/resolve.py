"""Turn a user's optimizer argument into a spec.

Accepted forms (checked in this order):

- a catalog name (``ades``, ``adam``, ...);
- ``DB#N``: the N-th best individual of an experiment database (``symalr evolve``);
- a JSON file holding an optimizer spec (``{"name": ..., "delta": ...}``, see :mod:`symalr.spec`);
- a JSON file holding an individual: ``{"phenotype": "x_func = ...; ..."}`` or
  ``{"grammar": "alr", "genotype": {"<nt>": [codons...]}}`` (optionally ``"max_depth"``) —
  individuals are simplified unless ``simplified=False``.

Anything else is an :class:`~symalr.errors.UnknownOptimizerError` naming the argument.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import catalog
from .errors import GenotypeError, SpecError, UnknownOptimizerError
from .spec import OptimizerSpec, spec_from_json
from .types import Genotype

_INDIVIDUAL_KEYS = {"phenotype", "genotype", "grammar", "max_depth", "name"}


def individual_spec(data: dict[str, Any], where: str, simplified: bool = True) -> OptimizerSpec:
    """Spec of an individual given as phenotype text or as genotype + grammar."""
    from .phenotype import spec_from_phenotype
    from .simplify import simplify

    unknown = set(data) - _INDIVIDUAL_KEYS
    if unknown:
        raise GenotypeError(f"{where}: unknown key(s) {sorted(unknown)} "
                            f"(known: {sorted(_INDIVIDUAL_KEYS)})")
    name = str(data.get("name") or Path(where).stem or "individual")
    if "phenotype" in data:
        text = data["phenotype"]
    else:
        from .grammar import DEFAULT_GRAMMAR, load_grammar
        from .sge import DEFAULT_MAX_DEPTH, map_genotype, validate_genotype

        grammar = load_grammar(data.get("grammar", DEFAULT_GRAMMAR))
        genes = data["genotype"]
        if not isinstance(genes, dict) or not all(
            isinstance(k, str) and isinstance(v, list) for k, v in genes.items()
        ):
            raise GenotypeError(f"{where}: 'genotype' must map non-terminal names to codon lists")
        genotype = Genotype({k: tuple(v) for k, v in genes.items()})
        validate_genotype(grammar, genotype)
        _, derivation = map_genotype(grammar, genotype, int(data.get("max_depth", DEFAULT_MAX_DEPTH)))
        text = derivation.text()
    raw = spec_from_phenotype(text, name=name, where=f"{where}:phenotype")
    return simplify(raw) if simplified else raw


def load_json_optimizer(path: Path, simplified: bool = True) -> OptimizerSpec:
    """The spec of a spec or individual JSON file (read by
    :func:`symalr.fileio.read_input_text`: a regular UTF-8 file of bounded size)."""
    from .fileio import read_input_text

    where = str(path)
    text = read_input_text(path, "optimizer file", UnknownOptimizerError)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(f"{where}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}") from None
    if isinstance(data, dict) and ("phenotype" in data or "genotype" in data):
        return individual_spec(data, where, simplified)
    return spec_from_json(data, where)


def resolve_optimizer(arg: str, simplified: bool = True) -> OptimizerSpec:
    """The spec named by ``arg`` (see the module docstring)."""
    try:
        return catalog.get(arg)
    except UnknownOptimizerError:
        pass
    if "#" in arg:
        db, _, rank = arg.rpartition("#")
        if rank.isdigit() and db:
            from .evolve.query import best_spec  # the store is only needed here

            return best_spec(Path(db), int(rank))
    path = Path(arg)
    if path.suffix == ".json" or path.is_file():
        return load_json_optimizer(path, simplified)
    raise UnknownOptimizerError(
        f"unknown optimizer {arg!r}: not in the catalog ({', '.join(catalog.NAMES)}), "
        "not DB#N, and not a spec/individual .json file"
    )
