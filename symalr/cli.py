"""The ``symalr`` command: a thin dispatcher over :mod:`symalr.commands`.

User errors (:class:`~symalr.errors.SymalrError`) print one line on standard error
(``FILE:LINE:COL: message`` for grammar errors, ``symalr: message`` otherwise) and exit with
status 2; no traceback. Products go to standard output.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import GrammarError, SymalrError

#: Subcommand modules under ``symalr.commands``, in help order.
COMMANDS = ("evolve", "export", "latex", "simplify", "benchmark", "tasks", "list", "show",
            "grammar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symalr",
        description="Evolve neural-network optimizers (Adaptive AutoLR) and export them as "
        "LaTeX, PyTorch and TensorFlow code.",
    )
    parser.add_argument("--version", action="version", version=f"symalr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:  # a command module that fails to import is a bug: it propagates
        importlib.import_module(f".commands.{name}", __package__).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args) or 0)
    except SymalrError as err:
        # Located errors already read ``FILE:LINE:COL: message``; others get the program name.
        print(str(err) if isinstance(err, GrammarError) else f"symalr: {err}", file=sys.stderr)
        return err.exit_status
    except KeyboardInterrupt:
        print("symalr: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
