"""Stacked vs sequential training on one GPU (see benchmarks/README.md).

Measures, for ``mnist_cnn`` (1.2 M parameters, batch 1,000, 10,600-image chunks, 3,500
validation and 3,500 fitness images, as the paper's Algorithm 1):

1. fitness evaluations per hour, sequential (the trainer of :mod:`symalr.train.trainer`, one
   model at a time, the generated optimizer's foreach path) vs stacked
   (:func:`symalr.train.stacked.train_stacked`, K = 10, 20, 50 members, each with the
   generated optimizer of another catalog spec, as in an evolve generation);
2. benchmark trials per hour: K = 10 trials of one optimizer (generated Adam) as one stack
   with the shared-optimizer update, vs the same trials sequentially.

An *evaluation* here is ``--epochs`` training epochs on a chunk (with validation after each)
and the fitness-set accuracy; early stopping is off so every mode does the same work. The data
are random images with random labels (throughput does not depend on the values; no data set
needed on the device machine). Prints a markdown table: mode, K, evaluations (or trials) per
hour, ratio vs sequential, peak GPU memory (``torch.cuda.max_memory_allocated``).

Usage::

    python benchmarks/gpu.py                      # on a machine with a CUDA GPU, < 8 minutes
    python benchmarks/gpu.py --device cpu --quick  # smoke test of the script (seconds)

Exits with status 2 and a one-line message when the requested CUDA device is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SPECS = ("adam", "rmsprop", "ades", "momentum", "nesterov", "sgd", "sign")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    p.add_argument("--ks", default="10,20,50", help="stack sizes (comma separated)")
    p.add_argument("--epochs", type=int, default=2, help="epochs per evaluation")
    p.add_argument("--sequential", type=int, default=3, help="evaluations timed sequentially")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import numpy as np
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"gpu.py: no CUDA device visible to torch ({torch.__version__}); run it on a "
              f"GPU machine or pass --device cpu --quick", file=sys.stderr)
        return 2
    from symalr import catalog
    from symalr.render.torch_module import torch_source
    from symalr.train.generated import torch_optimizer_class
    from symalr.train.models import build_model
    from symalr.train.stacked import Member, train_stacked
    from symalr.train.trainer import TrainConfig, evaluate, train

    device = args.device
    cuda = device.startswith("cuda")
    ks = [int(k) for k in args.ks.split(",")]
    n_train, n_val, batch = 10_600, 3_500, 1000
    if args.quick:
        n_train, n_val, batch, ks, args.epochs, args.sequential = 400, 200, 100, [2, 3], 1, 2
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n_train, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 10, (n_train,), generator=gen).to(device)
    xv = torch.randn(n_val, 1, 28, 28, generator=gen).to(device)
    yv = torch.randint(0, 10, (n_val,), generator=gen).to(device)
    config = TrainConfig(batch_size=batch, max_epochs=args.epochs, patience=None,
                         channels_last=not cuda)
    classes = {n: torch_optimizer_class(torch_source(catalog.get(n))) for n in SPECS}

    def factory(name):
        return lambda params: classes[name](params, foreach=True)

    def model(seed):
        m = build_model("mnist_cnn", seed).to(device)
        return m.to(memory_format=torch.channels_last) if config.channels_last else m

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    def reset_peak():
        if cuda:
            sync()
            torch.cuda.reset_peak_memory_stats(device)

    def peak() -> str:
        return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB" if cuda else "-"

    def sequential(count: int, names) -> float:
        sync()
        t0 = time.perf_counter()
        for i in range(count):
            torch.manual_seed(i)
            m = model(i)
            train(m, factory(names[i % len(names)])(m.parameters()), (x, y), (xv, yv), config,
                  np.random.default_rng(i))
            evaluate(m, xv, yv)
        sync()
        return time.perf_counter() - t0

    def stacked(k: int, names, shared: bool) -> float:
        members = [Member(model(i), factory(names[i % len(names)]), (x, y),
                          np.random.default_rng(i), i) for i in range(k)]
        sync()
        t0 = time.perf_counter()
        results = train_stacked(members, (xv, yv), config, shared_optimizer=shared)
        for mem in members:
            evaluate(mem.model, xv, yv)
        sync()
        bad = [r for r in results if isinstance(r, Exception)]
        if bad:
            raise bad[0]
        return time.perf_counter() - t0

    sequential(1, SPECS)  # warm-up: kernels, allocator
    stacked(2, SPECS, False)
    rows = []
    reset_peak()
    base = args.sequential / sequential(args.sequential, SPECS) * 3600
    rows.append(("fitness, sequential", 1, base, 1.0, peak()))
    for k in ks:
        reset_peak()
        rate = k / stacked(k, SPECS, False) * 3600
        rows.append(("fitness, stacked", k, rate, rate / base, peak()))
    reset_peak()
    trial_base = args.sequential / sequential(args.sequential, ("adam",)) * 3600
    rows.append(("trials, sequential", 1, trial_base, 1.0, peak()))
    k = ks[0]
    reset_peak()
    rate = k / stacked(k, ("adam",), True) * 3600
    rows.append(("trials, stacked (shared update)", k, rate, rate / trial_base, peak()))

    name = torch.cuda.get_device_name(device) if cuda else "CPU"
    print(f"mnist_cnn, {n_train} training / {n_val} validation images, batch {batch}, "
          f"{args.epochs} epoch(s) per evaluation, {name}, torch {torch.__version__}\n")
    print("| mode | K | per hour | ratio vs sequential | peak GPU memory |")
    print("|---|---:|---:|---:|---:|")
    for mode, k, per_hour, ratio, mem in rows:
        print(f"| {mode} | {k} | {per_hour:,.0f} | {ratio:.2f}x | {mem} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
