"""User-facing error types.

Every error a user can cause (bad grammar, config, genotype, spec, optimizer name, data) is a
:class:`SymalrError`. The CLI prints ``str(err)`` as one line on standard error and exits with
status 2; nothing else is printed and no traceback is shown. Bugs are *not* SymalrErrors and
propagate normally.

This module imports nothing of ours.
"""

from __future__ import annotations


class SymalrError(Exception):
    """Base class of all errors caused by user input. ``str()`` is the one-line message."""

    exit_status = 2


class GrammarError(SymalrError):
    """A grammar file is malformed. Formats as ``FILE:LINE:COL: message``."""

    def __init__(self, message: str, file: str = "<grammar>", line: int = 0, col: int = 0):
        self.message = message
        self.file = file
        self.line = line
        self.col = col
        super().__init__(f"{file}:{line}:{col}: {message}")


class GenotypeError(SymalrError):
    """A genotype does not fit its grammar (unknown non-terminal, bad codon, unparsable text)."""


class SpecError(SymalrError):
    """An optimizer spec is malformed (JSON shape, expression text, names, hyperparameters)."""


class UnknownOptimizerError(SymalrError):
    """A name that is neither a catalog entry nor a readable spec/genotype file."""


class ExportError(SymalrError):
    """A spec cannot be printed for a backend (unsupported expression node, bad class name)."""


class ConfigError(SymalrError):
    """A configuration file or flag has an unknown key or a bad value (the message names it)."""


class DataError(SymalrError):
    """A data set file is missing or corrupt (the message names the paths tried)."""


class StoreError(SymalrError):
    """An experiment database is unreadable, foreign, or inconsistent with the request."""


class TaskError(SymalrError):
    """A task (built-in name, user entry point, or the Task it returns) is unusable: not
    importable, the wrong type, a model without trainable parameters, data of the wrong
    shape (the message names the task and the problem)."""


class OutputError(SymalrError):
    """A product file cannot be written (``PATH: cannot write (reason)``); any file that was
    there before is left as it was."""
