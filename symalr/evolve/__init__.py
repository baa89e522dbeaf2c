"""Evolution experiments (see docs/store.md): configuration and presets, the SQLite store, the
resumable generation loop, the fitness cache, executors (process pool, Ray), progress and the
final report.

Modules import their heavy dependencies (torch, ray, matplotlib) only where they are used.
"""
