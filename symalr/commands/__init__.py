"""CLI subcommands, one module each.

Protocol: a command module defines ``add_parser(subparsers)`` which registers its subcommand on
an ``argparse`` sub-parsers object and calls ``parser.set_defaults(run=run)``, and
``run(args) -> int`` which does the work and returns the exit status. Heavy imports happen
inside ``run``. User errors are raised as :class:`symalr.errors.SymalrError`; the dispatcher in
:mod:`symalr.cli` prints them as one line and exits 2. Products go to standard output, messages
and progress to standard error.
"""
