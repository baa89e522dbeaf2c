"""``symalr list``: the catalog, one line each: name, update rule in plain text, defaults."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "list", help="list the catalog optimizers",
        description="List the catalog optimizers with their update rules in plain text.",
    )
    parser.set_defaults(run=run)


def rule_text(spec) -> str:
    """Plain-text update rule: ``s <- expr; ...; w <- w + delta``."""
    from symalr.expr import to_text

    parts = [f"{s} <- {to_text(e)}" for s, e in spec.updates]
    delta = to_text(spec.delta)
    parts.append(f"w <- w - {delta[1:]}" if delta.startswith("-") else f"w <- w + {delta}")
    return "; ".join(parts)


def run(args: argparse.Namespace) -> int:
    from symalr import catalog

    width = max(len(n) for n in catalog.NAMES)
    for spec in catalog.all_specs():
        defaults = ", ".join(f"{h.name}={h.default:g}" for h in spec.hyperparams)
        print(f"{spec.name:<{width}}  {rule_text(spec)}   [{defaults}]")
    return 0
