"""Optimizer step benchmark (SPEC §10; issue 3): generated ADES and Adam vs ``torch.optim.Adam``.

One process, the ``mnist_cnn`` parameter shapes (1,199,882 parameters, fixed random gradients),
``torch.set_num_threads(2)``. Variants, all timed in the same interleaved rounds so that they
see the same machine load:

- ``torch.optim.Adam(foreach=True)`` and ``torch.optim.Adam(fused=True)`` (the baselines);
- the generated ADES and Adam (``symalr export``'s classes), per-tensor (``foreach=False``),
  multi-tensor (``foreach=True``, the default) and compiled (``compile=True``).

Each variant steps its own copy of the parameters. After warm-up (compiled variants compile
first), ``--order blocked`` (the default) times each variant's steps back to back, its
~15-20 MB of tensors staying warm; ``--order interleaved`` times one ``step()`` of each variant
per round, so that load drift hits all alike, but every timed step then starts from memory the
other variants evicted (on the project's VMs the kernel's idle-memory reclaim also pages it
out, which dominates that mode's medians). The table reports the median and the minimum per
variant and the ratios of medians to fused and to foreach Adam.

Usage::

    python benchmarks/step.py [--rounds 200] [--threads 2] [--allocator tuned|default]
                              [--order blocked|interleaved]

``--allocator tuned`` (the default) applies the malloc setting symalr's trainer uses
(:mod:`symalr.train.allocator`): without it, glibc returns the multi-tensor temporaries to the
OS every step and the page faults dominate the foreach timings.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _generated_class(name: str, folder: Path):
    """The class ``symalr export NAME --backend torch`` emits, imported from a fresh file."""
    from symalr import catalog
    from symalr.render.naming import default_class_name
    from symalr.render.torch_module import torch_source

    spec = catalog.get(name)
    stem = name.replace("-", "_") + "_bench"
    path = folder / f"{stem}.py"
    path.write_text(torch_source(spec))
    module_spec = importlib.util.spec_from_file_location(stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, default_class_name(spec))


def _parameters(torch, seed: int):
    """Copies of the ``mnist_cnn`` parameters with fixed gradients (N(0, 0.01))."""
    from symalr.train.models import build_model

    model = build_model("mnist_cnn", seed=seed)
    gen = torch.Generator().manual_seed(seed)
    params = []
    for p in model.parameters():
        q = torch.nn.Parameter(p.detach().clone())
        q.grad = torch.randn(p.shape, generator=gen) * 0.01
        params.append(q)
    return params


def build_variants(torch, folder: Path, seed: int) -> dict[str, object]:
    """Variant name -> a step function, each on its own parameter copy."""
    ades = _generated_class("ades", folder)
    adam = _generated_class("adam", folder)
    variants = {
        "torch Adam foreach": torch.optim.Adam(_parameters(torch, seed), lr=1e-3, foreach=True),
        "torch Adam fused": torch.optim.Adam(_parameters(torch, seed), lr=1e-3, fused=True),
    }
    for label, cls in (("ADES", ades), ("Adam", adam)):
        for mode, kw in (("per-tensor", {"foreach": False}), ("foreach", {"foreach": True}),
                         ("compiled", {"compile": True})):
            variants[f"generated {label} {mode}"] = cls(_parameters(torch, seed), **kw)
    return {name: opt.step for name, opt in variants.items()}


def measure(steps: dict[str, object], rounds: int, warmup: int, blocked: bool = False):
    """Seconds per step of each variant: round-robin, or each variant's steps back to back."""
    for name, step in steps.items():
        t0 = time.perf_counter()
        for _ in range(warmup):
            step()
        print(f"warm-up {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    times: dict[str, list[float]] = {name: [] for name in steps}
    schedule = ([(name, step) for name, step in steps.items() for _ in range(rounds)] if blocked
                else [(name, step) for _ in range(rounds) for name, step in steps.items()])
    for name, step in schedule:
        t0 = time.perf_counter()
        step()
        times[name].append(time.perf_counter() - t0)
    return times


def table(times: dict[str, list[float]]) -> str:
    """A markdown table of medians, minima and ratios."""
    med = {k: statistics.median(v) for k, v in times.items()}
    fused, foreach = med["torch Adam fused"], med["torch Adam foreach"]
    lines = [
        "| variant | median ms/step | min ms/step | vs fused Adam | vs foreach Adam |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, v in times.items():
        lines.append(f"| {name} | {med[name] * 1e3:.3f} | {min(v) * 1e3:.3f} | "
                     f"{med[name] / fused:.2f}x | {med[name] / foreach:.2f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--allocator", choices=("tuned", "default"), default="tuned")
    parser.add_argument("--order", choices=("interleaved", "blocked"), default="blocked")
    args = parser.parse_args(argv)

    if args.allocator == "tuned":
        from symalr.train.allocator import configure_allocator

        allocator = configure_allocator()
    else:
        allocator = "glibc default"
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        steps = build_variants(torch, Path(tmp), args.seed)
        times = measure(steps, args.rounds, args.warmup, blocked=args.order == "blocked")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {args.threads} threads, allocator: {allocator}, "
          f"{args.order}, {args.rounds} rounds, load average {load:.1f}, mnist_cnn shapes "
          "(1,199,882 parameters)\n")
    print(table(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
