"""Turn a user's optimizer argument into a spec.

Accepted forms (checked in this order):

- a catalog name (``ades``, ``adam``, ...);
- ``DB#N``: the N-th best individual of an experiment database (``symalr evolve``);
- a JSON file holding an optimizer spec (``{"name": ..., "delta": ...}``, see :mod:`symalr.spec`);
- a JSON file holding an individual: ``{"phenotype": "x_func = ...; ..."}`` or
  ``{"grammar": "alr", "genotype": {"<nt>": [codons...]}}`` (optionally ``"max_depth"``) —
  read and simplified by :mod:`symalr.pipeline` unless ``simplified=False``.

Anything else is an :class:`~symalr.errors.UnknownOptimizerError` naming the argument.
"""

from __future__ import annotations

from pathlib import Path

from . import catalog, pipeline
from .errors import UnknownOptimizerError
from .spec import OptimizerSpec, json_loads, spec_from_json


def load_json_optimizer(path: Path, simplified: bool = True) -> OptimizerSpec:
    """The spec or individual in the JSON file ``path`` (read by
    :func:`symalr.fileio.read_input_text`: a regular UTF-8 file of bounded size), individuals
    simplified unless ``simplified=False``."""
    from .fileio import read_input_text

    where = str(path)
    text = read_input_text(path, "optimizer file", UnknownOptimizerError)
    data = json_loads(text, where)
    if isinstance(data, dict) and ("phenotype" in data or "genotype" in data):
        raw = pipeline.individual_raw_spec(data, where)
        return pipeline.simplified(raw) if simplified else raw
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
