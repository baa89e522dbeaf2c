"""symalr: evolve neural-network optimizers with Structured Grammatical Evolution (Adaptive AutoLR).

Importing this package loads neither torch, TensorFlow nor Ray (tested in a subprocess).
"""

__version__ = "0.1.0"
