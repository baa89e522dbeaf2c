"""Bounds on grammar files, so that reading and validating a grammar takes bounded time and
memory (see docs/inputs.md).

The shipped grammars are about 10 KB with 17 rules and about 300 alternatives; the bounds
leave room for much larger hand-written or generated grammars (a chain of 20,000 rules
validates in seconds) while refusing inputs such as ``/dev/zero`` or a 48 MB file.
"""

from __future__ import annotations

#: Largest grammar file read, in bytes.
MAX_GRAMMAR_BYTES = 1 << 20
#: Most rules (non-terminals) in a grammar.
MAX_RULES = 50_000
#: Most alternatives of one rule (a codon is an index into them).
MAX_ALTERNATIVES_PER_RULE = 10_000
#: Most alternatives in the whole grammar.
MAX_ALTERNATIVES = 200_000
