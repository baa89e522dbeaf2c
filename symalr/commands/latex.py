"""``symalr latex NAME|FILE [--table] [--document]``: the update rule as LaTeX on standard output."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "latex", help="print an optimizer's update rule in LaTeX",
        description="Print the update rule of a catalog optimizer, spec file or individual "
        "as an align block (amsmath); --table adds a booktabs table of hyperparameters.",
    )
    parser.add_argument("optimizer", metavar="NAME|FILE", help="catalog name, spec or individual JSON, DB#N")
    parser.add_argument("--table", action="store_true", help="also print the hyperparameter table")
    parser.add_argument("--document", action="store_true",
                        help="wrap in a minimal compilable LaTeX document")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from symalr.render.latex import hyperparam_table, latex_document, update_rule_latex
    from symalr.resolve import resolve_optimizer

    spec = resolve_optimizer(args.optimizer)
    body = update_rule_latex(spec)
    if args.table:
        body += "\n\n" + hyperparam_table(spec)
    print(latex_document(body) if args.document else body)
    return 0
