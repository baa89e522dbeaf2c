"""``symalr simplify FILE``: an individual (genotype or phenotype JSON) or spec, simplified.

Prints the simplified spec as JSON, then its LaTeX, then its fingerprint (standard output).
"""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "simplify", help="simplify an individual or spec and print it with its LaTeX",
        description="Read a genotype/phenotype JSON ({\"phenotype\": ...} or {\"grammar\": ..., "
        "\"genotype\": ...}) or a spec JSON, simplify it and print the spec JSON and its LaTeX.",
    )
    parser.add_argument("file", metavar="FILE|NAME")
    parser.add_argument("--json-only", action="store_true", help="print only the spec JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from symalr.fingerprint import fingerprint
    from symalr.pipeline import simplified
    from symalr.render.latex import update_rule_latex
    from symalr.resolve import resolve_optimizer
    from symalr.simplify import canonical_text

    spec = simplified(resolve_optimizer(args.file, simplified=False))
    print(spec.dumps())
    if not args.json_only:
        print()
        print(update_rule_latex(spec))
        print()
        print(f"% canonical: {canonical_text(spec)}")
        print(f"% fingerprint: {fingerprint(spec)}")
    return 0
