"""Whether and how trainings share stacks: decide whether to stack, measure what one member
costs in memory, and cut a list of trainings into stacks that fit a budget (docs/fitness.md).

- :func:`decide_stacking`: ``on``/``off`` as configured; ``auto`` stacks on an accelerator and
  trains one at a time on CPU, where the stack lost (``benchmarks/gpu.py --device cpu``: 0.31x
  of the sequential fitness throughput, 0.35x for trials, on the 2-core CPUs; vmap's grouped
  convolutions are slower there);
- :func:`member_bytes`: measured, not guessed: on CUDA the peak allocated memory of one
  stacked training step with 1 and with 2 members (the difference is one member); on CPU the
  bytes of parameters, gradients, optimizer state (assumed two tensors per parameter, the
  most the catalog's rules keep) and every activation of one forward pass on a batch;
- :func:`pack`: consecutive stacks of at most ``budget // member_bytes`` members (capped).
"""

from __future__ import annotations

from symalr.errors import ConfigError

STACKING = ("auto", "on", "off")
#: Fraction of the free accelerator memory a stack may use (the rest: allocator slack, data).
MEMORY_FRACTION = 0.7
#: Largest stack built (beyond this the GPU is saturated; more only costs memory).
MAX_MEMBERS = 64
#: CPU budget when stacking is forced on without a GPU.
CPU_BUDGET_BYTES = 2 << 30


def decide_stacking(mode: str, device: str) -> tuple[bool, str]:
    """(stack?, why) for ``mode`` (``auto``, ``on``, ``off``) on resolved ``device``."""
    if mode not in STACKING:
        raise ConfigError(f"stacking must be one of {', '.join(STACKING)}, got {mode!r}")
    if mode == "on":
        return True, "stacking on (configured)"
    if mode == "off":
        return False, "sequential (stacking off)"
    if device.startswith("cuda"):
        return True, f"stacking on (auto: {device})"
    return False, ("sequential (auto: stacked training measured 0.31x of sequential on CPU, "
                   "see benchmarks/README.md)")


def member_bytes(model, sample_shape: tuple[int, ...], batch_size: int, device: str) -> int:
    """Bytes one more member of a stack of ``model`` (an ``nn.Sequential``) costs when trained
    on batches of ``batch_size`` images of ``sample_shape`` (see the module doc)."""
    import torch

    if device.startswith("cuda"):
        return _cuda_member_bytes(model, sample_shape, batch_size, device)
    params = sum(p.numel() for p in model.parameters())
    activations = 0
    x = torch.zeros((batch_size, *sample_shape))
    with torch.no_grad():
        for layer in model.cpu():
            x = layer(x)
            activations += x.numel()
    return 4 * (4 * params + 2 * activations)


def _cuda_member_bytes(model, sample_shape, batch_size, device) -> int:
    import numpy as np
    import torch

    from symalr.train.stacked import Member, train_stacked
    from symalr.train.trainer import TrainConfig

    x = torch.zeros((batch_size, *sample_shape), device=device)
    y = torch.zeros(batch_size, dtype=torch.int64, device=device)
    config = TrainConfig(batch_size=batch_size, max_epochs=1, patience=None,
                         eval_batch_size=batch_size)
    peaks = []
    for k in (1, 2):
        members = [Member(_copy(model, device), lambda p: torch.optim.SGD(p, 0.0), (x, y),
                          np.random.default_rng(0), 0) for _ in range(k)]
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        train_stacked(members, (x, y), config)
        torch.cuda.synchronize(device)
        peaks.append(torch.cuda.max_memory_allocated(device) - base)
        del members
    # generated optimizers keep up to two state tensors per parameter: count them too
    params = sum(p.numel() for p in model.parameters())
    return max(peaks[1] - peaks[0], 1) + 8 * params


def _copy(model, device):
    import copy

    return copy.deepcopy(model).to(device)


def max_members(per_member: int, device: str) -> int:
    """How many members fit the memory budget of ``device`` (at least 1, at most
    :data:`MAX_MEMBERS`)."""
    if device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        budget = int(free * MEMORY_FRACTION)
    else:
        budget = CPU_BUDGET_BYTES
    return max(1, min(MAX_MEMBERS, budget // max(per_member, 1)))


def pack(count: int, size: int) -> list[range]:
    """``range(count)`` cut into consecutive stacks of at most ``size`` members, as even as
    possible (5 and 3 -> sizes 3, 2)."""
    if count <= 0:
        return []
    stacks = -(-count // max(size, 1))
    base, extra = divmod(count, stacks)
    out, start = [], 0
    for i in range(stacks):
        end = start + base + (i < extra)
        out.append(range(start, end))
        start = end
    return out
