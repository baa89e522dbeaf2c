"""Training-epoch and fitness-throughput benchmark (see benchmarks/README.md).

Measures, in one run, on 10,600 real Fashion-MNIST images (chunk 1 of the paper's split),
``mnist_cnn``, batch 1,000:

1. *before*: the plain eager torch loop (NCHW, ``torch.optim.Adam``) in a child process with
   glibc's default malloc, and the same loop channels-last (to separate the two effects);
2. *after*: symalr's trainer (allocator tuned, channels-last) with ``torch.optim.Adam`` and
   with the generated ADES (the class ``symalr export ades`` emits, foreach path), epochs
   alternated so that both see the same machine load; the median epoch of each is reported;
3. fitness evaluations per hour: the ``proxy`` preset measured (Adam: all five evaluations
   run), the ``paper`` preset measured for one evaluation with ``--paper-evaluation``
   (minutes), else estimated from the measured epoch and validation times and
   ``--paper-epochs`` epochs per evaluation.

Usage::

    SYMALR_DATA_DIR=../shared/data python benchmarks/epoch.py [--repeats 3] [--paper-evaluation]

Prints a markdown report (paste it into benchmarks/README.md) and, with ``--json PATH``, the
raw numbers. Ratios are reported on wall time and on CPU time (user + sys), the steadier one
on a machine shared with other work. Epoch times include ~30 ms for a 100-image validation
pass in the trainer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH = 1000


def _usage() -> tuple[float, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def _chunk(data_dir):
    from symalr.train.datasets import fitness_data

    return fitness_data("fashion-mnist", seed=0, data_dir=data_dir)


# --------------------------------------------------------------------------- child: plain loop


def plain_loop(layout: str, data_dir: str | None, epochs: int) -> dict:
    """The eager loop a user writes, run in this (unconfigured) process; last epoch measured."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from symalr.train.models import build_model

    d = _chunk(data_dir).chunks[0]
    x, y = torch.tensor(d.x), torch.tensor(d.y)
    torch.manual_seed(0)
    model = build_model("mnist_cnn", 0)
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    rng = np.random.default_rng(0)
    out = {}
    for _ in range(epochs):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(y)))
        u0, s0, f0 = _usage()
        t0 = time.perf_counter()
        for i in range(0, len(y), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - t0
        u1, s1, f1 = _usage()
        out = {"seconds": seconds, "user": u1 - u0, "sys": s1 - s0, "minflt": f1 - f0}
    return out


def run_child(layout: str, data_dir: str | None, epochs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    cmd = [sys.executable, __file__, "--child", layout, "--epochs", str(epochs)]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- in-process


def symalr_epochs(factories: dict, data_dir: str | None, repeats: int) -> dict:
    """Alternate one trainer epoch per optimizer, ``repeats`` rounds after one warm-up round."""
    import numpy as np
    import torch

    from symalr.train.allocator import configure_allocator
    from symalr.train.models import build_model
    from symalr.train.trainer import TrainConfig, to_tensors, train

    note = configure_allocator()
    data = _chunk(data_dir)
    xy = to_tensors(data.chunks[0].x, data.chunks[0].y, channels_last=True)
    val = to_tensors(data.fitness.x[:100], data.fitness.y[:100], channels_last=True)
    cfg = TrainConfig(batch_size=BATCH, max_epochs=1, patience=None)
    runs = {}
    for name, make in factories.items():
        torch.manual_seed(0)
        model = build_model("mnist_cnn", 0)
        runs[name] = (model, make(model.parameters()))
    results: dict = {name: [] for name in factories}
    for rnd in range(repeats + 1):
        for name, (model, opt) in runs.items():
            u0, s0, f0 = _usage()
            r = train(model, opt, xy, val, cfg, np.random.default_rng(rnd))
            u1, s1, f1 = _usage()
            if rnd > 0:
                results[name].append({"seconds": r.history[0].seconds, "user": u1 - u0,
                                      "sys": s1 - s0, "minflt": f1 - f0,
                                      "loss": r.history[0].loss})
    return {"allocator": note, "epochs": results}


def fitness_rates(factories: dict, data_dir: str | None) -> dict:
    from symalr.train.config import preset
    from symalr.train.fitness import evaluate_factory

    out = {}
    config = preset("proxy", data_dir=data_dir)
    evaluate_factory(factories["torch.optim.Adam"], config.replace(n_evaluations=1))  # warm-up
    for name, make in factories.items():
        r = evaluate_factory(make, config)
        out[name] = {"seconds": r.seconds, "fitness": r.fitness, "evaluations": len(r.epochs),
                     "per_hour": 3600.0 / r.seconds}
    return out


def paper_evaluation(make, data_dir: str | None) -> dict:
    """One real evaluation of the paper preset (Adam): epochs run and seconds."""
    from symalr.train.config import preset
    from symalr.train.fitness import evaluate_factory

    config = preset("paper", data_dir=data_dir, n_evaluations=1, splits=(10_600, 3_500, 3_500))
    r = evaluate_factory(make, config)  # one evaluation on 10,600 images, as in the paper
    return {"epochs": r.epochs[0], "seconds": r.seconds, "accuracy": r.accuracies[0]}


def validation_seconds(data_dir: str | None) -> float:
    """Seconds of one validation pass over the paper's 3,500 images with mnist_cnn."""
    import torch

    from symalr.train.models import build_model
    from symalr.train.trainer import evaluate, to_tensors

    d = _chunk(data_dir).validation
    xy = to_tensors(d.x, d.y, channels_last=True)
    model = build_model("mnist_cnn", 0).to(memory_format=torch.channels_last)
    evaluate(model, *xy)
    t0 = time.perf_counter()
    evaluate(model, *xy)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- report


def _optimizers() -> dict:
    import torch

    from symalr import catalog
    from symalr.render.torch_module import torch_source
    from symalr.train.generated import torch_optimizer_class

    ades = torch_optimizer_class(torch_source(catalog.get("ades")))
    return {"torch.optim.Adam": lambda p: torch.optim.Adam(p, 1e-3),
            "generated ADES": lambda p: ades(p, foreach=True)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("SYMALR_DATA_DIR"))
    ap.add_argument("--repeats", type=int, default=3, help="measured epochs per optimizer")
    ap.add_argument("--paper-evaluation", action="store_true",
                    help="run one real paper-preset evaluation (minutes) to count its epochs")
    ap.add_argument("--paper-epochs", type=int, default=20,
                    help="epochs per paper evaluation for the estimate (default 20)")
    ap.add_argument("--json", help="also write the raw numbers here")
    ap.add_argument("--child", choices=("plain", "channels_last"), help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, default=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(plain_loop(args.child, args.data_dir, args.epochs)))
        return

    import torch

    factories = _optimizers()
    report: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                               f"{os.cpu_count()} cores, torch {torch.__version__}, "
                               f"{torch.get_num_threads()} threads"}
    report["default_plain"] = run_child("plain", args.data_dir, 2)
    report["default_channels_last"] = run_child("channels_last", args.data_dir, 2)
    report.update(symalr_epochs(factories, args.data_dir, args.repeats))
    report["validation_seconds"] = validation_seconds(args.data_dir)
    report["paper_epochs"] = args.paper_epochs
    if args.paper_evaluation:  # before the proxy, whose preset sets one thread
        report["paper_evaluation"] = paper_evaluation(factories["torch.optim.Adam"],
                                                      args.data_dir)
    report["proxy_fitness"] = fitness_rates(factories, args.data_dir)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(render(report))


def _cpu(e: dict) -> float:
    return e["user"] + e["sys"]


def render(rep: dict) -> str:
    """The markdown report. Ratios are given on wall time and on CPU time (user + sys): on a
    machine shared with other work, CPU time is the steadier of the two."""
    eps = rep["epochs"]
    wall = {k: statistics.median(e["seconds"] for e in v) for k, v in eps.items()}
    cpu = {k: statistics.median(_cpu(e) for e in v) for k, v in eps.items()}
    flt = {k: statistics.median(e["minflt"] for e in v) for k, v in eps.items()}
    adam, ades = "torch.optim.Adam", "generated ADES"
    plain, cl = rep["default_plain"], rep["default_channels_last"]
    n = len(eps[adam])

    def row(label, w, c, s, f):
        return f"| {label} | {w:.2f} | {c:.1f} | {s:.1f} | {f:,.0f} |"

    lines = [
        f"Machine: {rep['machine']}; allocator: {rep['allocator']}.",
        "",
        "| mnist_cnn epoch, 10,600 images, batch 1,000 | wall s | CPU s (user+sys) | sys s "
        "| minor faults |",
        "|---|---|---|---|---|",
        row("plain eager loop (NCHW), default malloc, child process", plain["seconds"],
            _cpu(plain), plain["sys"], plain["minflt"]),
        row("same loop channels-last, default malloc, child process", cl["seconds"], _cpu(cl),
            cl["sys"], cl["minflt"]),
    ]
    for name in (adam, ades):
        label = f"symalr trainer, {name} (median of {n})"
        sys_s = statistics.median(e["sys"] for e in eps[name])
        lines.append(row(label, wall[name], cpu[name], sys_s, flt[name]))
    ratio_w, ratio_c = wall[ades] / wall[adam], cpu[ades] / cpu[adam]
    lines += [
        "",
        f"- symalr epoch vs the plain eager loop under default malloc: "
        f"**{plain['seconds'] / wall[adam]:.2f}x** faster in wall time, "
        f"**{_cpu(plain) / cpu[adam]:.2f}x** in CPU time (channels-last alone: "
        f"{plain['seconds'] / cl['seconds']:.2f}x wall, {_cpu(plain) / _cpu(cl):.2f}x CPU).",
        f"- generated ADES epoch / torch.optim.Adam epoch: **{ratio_w:.3f}** wall, "
        f"**{ratio_c:.3f}** CPU (within 5%: "
        f"{'yes' if min(abs(ratio_w - 1), abs(ratio_c - 1)) <= 0.05 else 'NO'}).",
    ]
    val = rep["validation_seconds"]
    pe = rep.get("paper_evaluation")
    epochs = pe["epochs"] if pe else rep.get("paper_epochs", 20)
    per_eval = pe["seconds"] if pe else epochs * (wall[adam] + val)
    lines += ["", "| fitness preset | seconds per fitness | fitness evaluations per hour |",
              "|---|---|---|"]
    for name, r in rep["proxy_fitness"].items():
        lines.append(f"| proxy, {name} ({r['evaluations']} evaluation(s), fitness "
                     f"{r['fitness']:.3f}) | {r['seconds']:.2f} | {r['per_hour']:,.0f} |")
    basis = (f"measured: one evaluation ran {epochs} epochs in {pe['seconds']:.0f} s" if pe
             else f"estimated: {epochs} epochs per evaluation x (epoch {wall[adam]:.2f} s "
                  f"+ validation {val:.2f} s)")
    lines.append(f"| paper, torch.optim.Adam, 5 evaluations ({basis}) | {5 * per_eval:,.0f} "
                 f"| {3600 / (5 * per_eval):.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
