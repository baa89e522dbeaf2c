"""``symalr export NAME|FILE|--from DB [--rank N] --backend torch|tf|jax [--class-name X]
[-o FILE]``.

The module goes to standard output, or to ``-o FILE`` (replaced atomically: see
:mod:`symalr.fileio`); messages go to standard error. The source needs only torch (or keras 3 and
tensorflow, or jax and optax); see :mod:`symalr.render`. With ``--backend jax`` the module
defines a function returning an ``optax.GradientTransformation``, named in snake case after the
class name (docs/code-generation.md).
"""

from __future__ import annotations

import argparse
import sys

from symalr.render import BACKENDS


def add_parser(subparsers) -> None:
    """Register the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="print an optimizer as a standalone PyTorch, TensorFlow or JAX module",
        description="Print a catalog optimizer, spec file or individual as a standalone "
        "module: a torch.optim.Optimizer subclass (--backend torch), a Keras 3 optimizer "
        "(--backend tf) or a function returning an optax.GradientTransformation "
        "(--backend jax).",
    )
    parser.add_argument("optimizer", metavar="NAME|FILE", nargs="?",
                        help="catalog name, spec or individual JSON, DB#N")
    parser.add_argument("--from", dest="from_db", metavar="DB",
                        help="export an individual of an experiment database (symalr evolve)")
    parser.add_argument("--rank", type=int, default=1, metavar="N",
                        help="with --from: the N-th best individual (default 1)")
    parser.add_argument("--backend", choices=BACKENDS, default="torch",
                        help="target framework (default: torch)")
    parser.add_argument("--class-name", metavar="X",
                        help="name of the generated class (default: from the optimizer's "
                        "name); with --backend jax the function is its snake case")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the module to FILE instead of standard output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the optimizer, print its module, write it out."""
    from symalr.errors import ExportError
    from symalr.fileio import atomic_write_text
    from symalr.render.naming import default_class_name
    from symalr.resolve import resolve_optimizer

    if (args.optimizer is None) == (args.from_db is None):
        raise ExportError("give either an optimizer (NAME|FILE|DB#N) or --from DB [--rank N]")
    if args.from_db is not None:
        from pathlib import Path

        from symalr.evolve.query import best_spec

        if args.rank < 1:
            raise ExportError(f"--rank must be at least 1, got {args.rank}")
        spec = best_spec(Path(args.from_db), args.rank)
    else:
        spec = resolve_optimizer(args.optimizer)
    from symalr.pipeline import module_source

    text = module_source(spec, args.backend, args.class_name)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    atomic_write_text(args.output, text)  # the old file stays whole if this fails
    if args.backend == "jax":
        from symalr.render.naming import function_name

        name = function_name(spec, args.class_name)
    else:
        name = args.class_name or default_class_name(spec)
    print(f"wrote {name} ({args.backend}) to {args.output}", file=sys.stderr)
    return 0
