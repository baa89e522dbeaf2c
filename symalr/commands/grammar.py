"""``symalr grammar FILE|NAME``: validate a grammar and print its summary to standard output.

Exit status 0 when the grammar is valid; a malformed one raises GrammarError, which the
dispatcher prints as ``FILE:LINE:COL: message`` (exit 2).
"""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    """Register the ``grammar`` subcommand."""
    parser = subparsers.add_parser(
        "grammar",
        help="validate a grammar and summarise it",
        description="Validate a BNF grammar (a shipped name such as 'alr' or a file path) and "
        "print its non-terminals, production counts, minimum depths and recursion.",
    )
    parser.add_argument(
        "grammar", metavar="FILE|NAME", help="grammar file or shipped name"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate ``args.grammar`` and print :func:`symalr.grammar.summarize` of it."""
    from symalr.grammar import load_grammar, summarize

    print(summarize(load_grammar(args.grammar)).rstrip("\n"))
    return 0
