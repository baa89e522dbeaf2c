"""Benchmarks (see docs/benchmark.md): Bayesian tuning, repeated trials, statistics, tables and plots.

``config`` (presets, validation) -> ``runner`` (resolve the optimizers, tune with ``tuning``,
train with ``trials``, record everything in ``store``) -> ``report`` (group and summarise with
``stats``, the paper's values from ``reference``) -> ``tables`` (markdown, LaTeX) and ``plots``.
Only ``trials`` imports torch, and only ``plots`` matplotlib; both are loaded when used.
"""
