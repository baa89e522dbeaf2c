"""Optimizer step benchmark (results: benchmarks/README.md): the classes ``symalr export`` emits against
``torch.optim.Adam``, under glibc's default malloc and under the malloc setting symalr's trainer
uses.

The ``mnist_cnn`` parameter shapes (1,199,882 parameters in 8 tensors, fixed N(0, 0.01)
gradients), ``torch.set_num_threads(2)``. Each allocator is measured in its own child process
(``mallopt`` is process-wide): ``default`` is the process a user runs (no ``MALLOC_*`` or
``GLIBC_TUNABLES`` variables), ``tuned`` applies :func:`symalr.train.allocator.configure_allocator`
first. In each child:

- ``torch.optim.Adam(foreach=True)`` and ``torch.optim.Adam(fused=True)`` (the baselines);
- every catalog optimizer's default path (multi-tensor, ``foreach=None``), and ADES's and Adam's
  per-tensor path (``foreach=False``);
- in the default-allocator child only (the compiled update allocates nothing, so malloc does not
  matter), the compiled path (``compile=True``) of the catalog optimizers named by
  ``--compiled``: time per step against fused Adam's, and the achieved memory traffic — every
  step reads the gradient, the weight and each state and writes the weight and each state,
  ``(3 + 2 * states) * 4`` bytes per float32 parameter (ADES 20, fused Adam 28: where both are
  bound by memory bandwidth, 20/28 = 0.71x is ADES's floor).

Each variant steps its own copy of the parameters. After warm-up (compiled variants compile
first), ``--order blocked`` (the default) times each variant's steps back to back;
``--order interleaved`` times one step of each variant per round. Medians and minima are
reported: on a shared machine the medians measure the other jobs as much as the step (with two
threads, a parallel operation waits for whichever thread the scheduler took away), the minima
are the uncontended cost.

Usage::

    python benchmarks/step.py [--rounds 200] [--threads 2] [--allocator both|default|tuned]
                              [--order blocked|interleaved] [--compiled ades,adam]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FOREACH_ADAM = "torch Adam foreach"
FUSED_ADAM = "torch Adam fused"


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
    sys.modules[stem] = module
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


def build_variants(torch, folder: Path, seed: int, compiled: list[str]):
    """Variant name -> (a step function, bytes moved per step or None)."""
    from symalr import catalog

    n = sum(p.numel() for p in _parameters(torch, seed))
    variants = {
        FOREACH_ADAM: (torch.optim.Adam(_parameters(torch, seed), lr=1e-3, foreach=True), None),
        FUSED_ADAM: (torch.optim.Adam(_parameters(torch, seed), lr=1e-3, fused=True), 28 * n),
    }
    for name in catalog.NAMES:
        cls = _generated_class(name, folder)
        variants[f"{name} default"] = (cls(_parameters(torch, seed)), None)
        if name in ("ades", "adam"):
            variants[f"{name} per-tensor"] = (cls(_parameters(torch, seed), foreach=False), None)
        if name in compiled:
            states = len(catalog.get(name).states)
            variants[f"{name} compiled"] = (cls(_parameters(torch, seed), compile=True),
                                            (3 + 2 * states) * 4 * n)
    return {k: (opt.step, moved) for k, (opt, moved) in variants.items()}


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


def child(args) -> int:
    """Measure every variant under one allocator; print a JSON record."""
    if args.allocator == "tuned":
        from symalr.train.allocator import configure_allocator

        allocator = configure_allocator()
    else:
        allocator = "glibc default"
    import torch

    torch.set_num_threads(args.threads)
    compiled = [c for c in args.compiled.split(",") if c] if args.allocator == "default" else []
    with tempfile.TemporaryDirectory() as tmp:
        variants = build_variants(torch, Path(tmp), args.seed, compiled)
        times = measure({k: v[0] for k, v in variants.items()}, args.rounds, args.warmup,
                        blocked=args.order == "blocked")
    print(json.dumps({
        "allocator": allocator, "torch": torch.__version__,
        "median": {k: statistics.median(v) for k, v in times.items()},
        "min": {k: min(v) for k, v in times.items()},
        "bytes": {k: v[1] for k, v in variants.items() if v[1] is not None},
        "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }))
    return 0


def run_child(args, allocator: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    env.pop("SYMALR_ALLOCATOR", None)
    cmd = [sys.executable, __file__, "--child", "--allocator", allocator, "--rounds",
           str(args.rounds), "--warmup", str(args.warmup), "--threads", str(args.threads),
           "--seed", str(args.seed), "--order", args.order, "--compiled", args.compiled]
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def default_path_table(results: dict[str, dict]) -> str:
    """Per catalog optimizer, ms per step (median and minimum) and their ratios to foreach
    Adam's, per allocator."""
    names = [k for k in next(iter(results.values()))["median"] if "compiled" not in k
             and k != FUSED_ADAM]
    head = "| variant |" + "".join(
        f" {a} malloc: median ms | min ms | vs foreach Adam (median) | (min) |" for a in results)
    lines = [head, "|---|" + "---:|---:|---:|---:|" * len(results)]
    for name in names:
        row = f"| {name} |"
        for r in results.values():
            med, low = r["median"], r["min"]
            row += (f" {med[name] * 1e3:.3f} | {low[name] * 1e3:.3f} | "
                    f"{med[name] / med[FOREACH_ADAM]:.2f}x | {low[name] / low[FOREACH_ADAM]:.2f}x |")
        lines.append(row)
    return "\n".join(lines)


def compiled_table(result: dict) -> str:
    """Compiled steps against fused Adam: time (median and minimum), bytes per step and the
    achieved bandwidth (bytes over the minimum time)."""
    med, low, moved = result["median"], result["min"], result["bytes"]
    fused_rate = moved[FUSED_ADAM] / low[FUSED_ADAM]
    lines = ["| variant | median ms | min ms | MB moved/step | GB/s (min) | time vs fused Adam "
             "(median) | (min) | bytes/s vs fused Adam (min) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, b in moved.items():
        rate = b / low[name]
        lines.append(f"| {name} | {med[name] * 1e3:.3f} | {low[name] * 1e3:.3f} | {b / 1e6:.1f} | "
                     f"{rate / 1e9:.2f} | {med[name] / med[FUSED_ADAM]:.2f}x | "
                     f"{low[name] / low[FUSED_ADAM]:.2f}x | {rate / fused_rate:.2f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--allocator", choices=("both", "tuned", "default"), default="both")
    parser.add_argument("--order", choices=("interleaved", "blocked"), default="blocked")
    parser.add_argument("--compiled", default="ades,adam",
                        help="catalog optimizers whose compiled path is timed (comma-separated)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    allocators = ("default", "tuned") if args.allocator == "both" else (args.allocator,)
    results = {a: run_child(args, a) for a in allocators}
    first = next(iter(results.values()))
    loads = ", ".join(f"{a}: {r['load']:.1f}" for a, r in results.items() if r["load"] is not None)
    used = ", ".join(f"{a} = {r['allocator']}" for a, r in results.items())
    print(f"torch {first['torch']}, {args.threads} threads, {args.order}, {args.rounds} rounds, "
          f"mnist_cnn shapes (1,199,882 parameters); allocators: {used}; "
          f"load average at the end: {loads}\n")
    print(default_path_table(results))
    if "default" in results and len(results["default"]["bytes"]) > 1:
        print()
        print(compiled_table(results["default"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
