"""Train K copies of one network at once as one batched model (see docs/fitness.md).

:func:`train_stacked` is :func:`symalr.train.trainer.train` for K *members* at once. Each
member has its own initial weights, training data (same size for all), shuffling generator,
dropout seed, early-stopping state and optimizer; their parameters live in stacked tensors of
shape ``(K, *shape)`` and one forward/backward (``torch.func.vmap`` of ``functional_call``;
vmap turns the convolutions into grouped ones) serves the whole stack. Contract:

- member ``i`` follows the sequential trainer's contract exactly (data order from its ``rng``,
  history, early stopping, ``restore_best``, non-finite and deadline stops) and ends with its
  final (or best) weights written back into its ``model``;
- the update of member ``i`` is its own optimizer (``member.optimizer(params)``, e.g. a
  generated optimizer class) applied to *detached views* of its slices of the stacked
  parameters: leaves the ``torch.optim.Optimizer`` accepts, sharing storage with the stack.
  With ``shared_optimizer`` (every member the same optimizer, e.g. a benchmark's trials) one
  optimizer built from ``members[0].optimizer`` updates the whole stack: valid for element-wise
  rules, which are all that the grammar can express;
- members that stop (early stopping, non-finite loss, an exception from their optimizer) leave
  the stack at once: the stack is compacted, the others go on without waiting;
- dropout: member ``i`` draws its masks from a generator seeded ``member.dropout_seed`` with
  the kernel, shape and memory format the sequential trainer's ``nn.Dropout`` uses, in the
  same order, so on CPU a member's masks equal those of a sequential training after
  ``torch.manual_seed(dropout_seed)``. On CUDA the masks come from per-member CUDA generators
  (statistically, not bitwise, what the fused dropout kernel draws);
- validation in eval mode (no dropout) on data shared by all members.

Float32 results equal the sequential ones up to rounding (batched kernels sum in other orders):
losses and accuracies agree to ~1e-5 relative in the tests, stopping epochs exactly when the
monitored metric has a clear margin. Models must be ``nn.Sequential`` without buffers (all of
:mod:`symalr.train.models`), dropout only as ``nn.Dropout``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from symalr.errors import ConfigError
from symalr.train.allocator import configure_allocator
from symalr.train.early_stopping import IMPROVED, NONFINITE, STOP, EarlyStopping
from symalr.train.trainer import EpochMetrics, TrainConfig, TrainResult, uses_channels_last

OptimizerFactory = Callable[[Iterable[torch.Tensor]], torch.optim.Optimizer]


@dataclass
class Member:
    """One training of a stack: ``model`` holds the initial weights (and gets the final ones),
    ``optimizer`` builds its optimizer, ``train_data`` (images, labels) on the stack's device,
    ``rng`` orders its batches, ``dropout_seed`` seeds its dropout masks."""

    model: nn.Module
    optimizer: OptimizerFactory
    train_data: tuple[torch.Tensor, torch.Tensor]
    rng: np.random.Generator
    dropout_seed: int


@dataclass
class _State:
    """Training state of one member while it is in the stack."""

    member: Member
    generator: torch.Generator
    optimizer: torch.optim.Optimizer | None = None
    views: list[torch.Tensor] = field(default_factory=list)
    history: list[EpochMetrics] = field(default_factory=list)
    rule: EarlyStopping | None = None
    best_state: list[torch.Tensor] | None = None
    loss_sum: float = 0.0
    seen: int = 0
    error: Exception | None = None


class StackedModel:
    """The stacked functional form of an ``nn.Sequential`` ``template``."""

    def __init__(self, template: nn.Module, sample_shape: tuple[int, ...]):
        if not isinstance(template, nn.Sequential):
            raise ConfigError(f"stacked training needs an nn.Sequential model, got "
                              f"{type(template).__name__}")
        if any(True for _ in template.buffers()):
            raise ConfigError("stacked training does not support models with buffers")
        self.layers = list(template)
        self.names = [name for name, _ in template.named_parameters()]
        self.layer_keys: list[list[str]] = []
        self.dropout_p: list[float] = []
        for layer in self.layers:
            if isinstance(layer, nn.modules.dropout._DropoutNd) and type(layer) is not nn.Dropout:
                raise ConfigError(f"stacked training supports nn.Dropout only, got "
                                  f"{type(layer).__name__}")
            if type(layer) is nn.Dropout:
                self.dropout_p.append(float(layer.p))
            self.layer_keys.append([n for n, _ in layer.named_parameters()])
        self.mask_shapes = self._probe(template, sample_shape)
        self._train = vmap(self._forward_one, in_dims=(0, 0, 0))
        self._eval = vmap(lambda p, x: self._forward_one(p, x, ()), in_dims=(0, None))

    def _probe(self, template: nn.Module, sample_shape: tuple[int, ...]) -> list[tuple]:
        """Per-sample input shape of each dropout layer."""
        shapes = []
        device = next(template.parameters()).device
        x = torch.zeros((1, *sample_shape), device=device)
        with torch.no_grad():
            for layer in self.layers:
                if type(layer) is nn.Dropout:
                    shapes.append(tuple(x.shape[1:]))
                else:
                    x = layer(x)
        return shapes

    def _forward_one(self, params: dict, x: torch.Tensor, masks: tuple) -> torch.Tensor:
        j = 0
        for i, layer in enumerate(self.layers):
            if type(layer) is nn.Dropout:
                if masks:
                    x = x * masks[j]
                    j += 1
            elif self.layer_keys[i]:
                sub = {k: params[f"{i}.{k}"] for k in self.layer_keys[i]}
                x = functional_call(layer, sub, (x,))
            else:
                x = layer(x)
        return x

    def train_logits(self, params: dict, x: torch.Tensor, masks: tuple) -> torch.Tensor:
        """Logits (K, B, classes) of stacked inputs ``x`` (K, B, ...) with dropout ``masks``."""
        return self._train(params, x, masks)

    def eval_logits(self, params: dict, x: torch.Tensor) -> torch.Tensor:
        """Logits (K, B, classes) of inputs ``x`` (B, ...) shared by every member."""
        return self._eval(params, x)


def _draw_masks(states: Sequence[_State], model: StackedModel, batch: int,
                channels_last: bool, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Each member's dropout masks for one batch, drawn as ``F.dropout`` on CPU draws them."""
    masks = []
    for p, shape in zip(model.dropout_p, model.mask_shapes):
        full = (batch, *shape)
        fmt = torch.channels_last if channels_last and len(full) == 4 else torch.contiguous_format
        drawn = [torch.empty(full, device=device, memory_format=fmt)
                 .bernoulli_(1 - p, generator=s.generator).div_(1 - p) for s in states]
        masks.append(torch.stack(drawn))
    return tuple(masks)


class _Stack:
    """The stacked parameters of the members still training, and their optimizers."""

    def __init__(self, states: list[_State], names: list[str], shared: bool):
        self.names = names
        self.states = states
        self.shared = shared
        models = [s.member.model for s in states]
        self.params = {n: torch.stack([m.get_parameter(n).detach() for m in models])
                       .requires_grad_(True) for n in names}
        self.shared_optimizer = None
        if shared:
            self.shared_optimizer = states[0].member.optimizer(list(self.params.values()))
        else:
            for pos, s in enumerate(states):
                s.views = self._views(pos)
                try:
                    s.optimizer = s.member.optimizer(s.views)
                except Exception as exc:  # the optimizer under test failed: this member only
                    s.error = exc
        self.keep([s for s in states if s.error is None])

    def _views(self, pos: int) -> list[torch.Tensor]:
        return [self.params[n][pos].detach() for n in self.names]

    def keep(self, survivors: list[_State], grads: list[torch.Tensor] | None = None) -> list:
        """Compact the stack to ``survivors`` (a subsequence of the current members); returns
        ``grads`` compacted the same way."""
        if len(survivors) == len(self.states):
            return grads
        index = torch.tensor([self.states.index(s) for s in survivors], dtype=torch.long,
                             device=next(iter(self.params.values())).device)
        old = self.params
        self.params = {n: p.detach().index_select(0, index).requires_grad_(True)
                       for n, p in old.items()}
        self.states = survivors
        if self.shared:
            opt = self.shared_optimizer
            remap = {id(old[n]): self.params[n] for n in self.names}
            for group in opt.param_groups:
                group["params"] = [remap[id(p)] for p in group["params"]]
            opt.state = type(opt.state)(dict, {
                remap[id(p)]: {k: v.index_select(0, index)
                               if torch.is_tensor(v) and v.shape == p.shape else v
                               for k, v in state.items()}
                for p, state in opt.state.items()})
        else:
            for pos, s in enumerate(survivors):
                new = self._views(pos)
                remap = dict(zip(map(id, s.views), new))
                for group in s.optimizer.param_groups:
                    group["params"] = [remap[id(p)] for p in group["params"]]
                s.optimizer.state = type(s.optimizer.state)(dict, {
                    remap[id(p)]: v for p, v in s.optimizer.state.items()})
                s.views = new
        if grads is None:
            return None
        return [g.index_select(0, index) for g in grads]

    def member_weights(self, pos: int) -> list[torch.Tensor]:
        return [self.params[n][pos].detach().clone() for n in self.names]


def _write_back(state: _State, weights: list[torch.Tensor], names: list[str]) -> None:
    with torch.no_grad():
        for n, w in zip(names, weights):
            state.member.model.get_parameter(n).copy_(w)


def train_stacked(
    members: Sequence[Member],
    val_data: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
    deadline: float | None = None,
    shared_optimizer: bool = False,
) -> list[TrainResult | Exception]:
    """Train ``members`` together (see the module doc); per member, its :class:`TrainResult`,
    or the exception its optimizer raised (constructing or stepping), which ended only its
    training. Exceptions of the shared forward/backward propagate."""
    configure_allocator()
    if not members:
        return []
    template = members[0].model
    n = len(members[0].train_data[1])
    if any(len(m.train_data[1]) != n for m in members):
        raise ConfigError("stacked members need training sets of one size")
    device = members[0].train_data[0].device
    sample_shape = tuple(members[0].train_data[0].shape[1:])
    model = StackedModel(template, sample_shape)
    channels_last = config.channels_last and uses_channels_last(template)
    sources: dict[int, int] = {}
    for m in members:
        sources.setdefault(id(m.train_data[0]), len(sources))
    firsts = {sources[id(m.train_data[0])]: m for m in reversed(members)}
    xs = torch.stack([firsts[i].train_data[0].contiguous() for i in range(len(sources))])
    ys = torch.stack([firsts[i].train_data[1] for i in range(len(sources))])
    states = [_State(m, torch.Generator(device=device).manual_seed(int(m.dropout_seed)),
                     rule=EarlyStopping(config.monitor, config.patience))
              for m in members]
    slot = {id(s): sources[id(s.member.train_data[0])] for s in states}
    stack = _Stack(states, model.names, shared_optimizer)
    finished: dict[int, TrainResult | Exception] = {id(s): s.error for s in states
                                                     if s.error is not None}

    def finish(s: _State, reason, weights: list[torch.Tensor] | None) -> None:
        if isinstance(reason, Exception):
            finished[id(s)] = reason
            return
        if config.restore_best and s.best_state is not None:
            weights = s.best_state
        if weights is not None:
            _write_back(s, weights, model.names)
        finished[id(s)] = TrainResult(tuple(s.history), reason, s.rule.best_epoch)

    for epoch in range(1, config.max_epochs + 1):
        if not stack.states:
            break
        t0 = time.perf_counter()
        for s in stack.states:
            s.loss_sum, s.seen = 0.0, 0
        perms = torch.from_numpy(np.stack([s.member.rng.permutation(n)
                                           for s in stack.states])).to(device)
        batch_stop = None
        for start in range(0, n, config.batch_size):
            if not stack.states:
                break
            slots = torch.tensor([slot[id(s)] for s in stack.states], device=device)
            idx = perms[:, start:start + config.batch_size]
            xb = xs[slots[:, None], idx]
            yb = ys[slots[:, None], idx]
            masks = _draw_masks(stack.states, model, idx.shape[1], channels_last, device)
            params = list(stack.params.values())
            losses = vmap(F.cross_entropy)(model.train_logits(stack.params, xb, masks), yb)
            grads = list(torch.autograd.grad(losses.sum(), params))
            values = losses.tolist()
            survivors: list[tuple[int, _State]] = []
            for pos, (s, value) in enumerate(zip(stack.states, values)):
                if not math.isfinite(value):
                    s.history.append(EpochMetrics(epoch, value, math.nan, math.nan,
                                                  time.perf_counter() - t0))
                    finish(s, "nonfinite", stack.member_weights(pos))
                    continue
                s.loss_sum, s.seen = s.loss_sum + value * idx.shape[1], s.seen + idx.shape[1]
                if not stack.shared:
                    for view, g in zip(s.views, grads):
                        view.grad = g[pos]
                    try:
                        with torch.no_grad():
                            s.optimizer.step()
                    except Exception as exc:  # the optimizer under test failed: this member
                        finish(s, exc, None)
                        continue
                survivors.append((pos, s))
            if len(survivors) != len(stack.states):
                rows = torch.tensor([pos for pos, _ in survivors], device=device,
                                    dtype=torch.long)
                perms = perms.index_select(0, rows)
                grads = stack.keep([s for _, s in survivors], grads)
            if stack.shared and stack.states:
                for p, g in zip(stack.params.values(), grads):
                    p.grad = g
                with torch.no_grad():
                    stack.shared_optimizer.step()
                for p in stack.params.values():
                    p.grad = None
            if deadline is not None and time.monotonic() > deadline:
                batch_stop = "time_limit"
                break
        if not stack.states:
            break
        val = _validate(model, stack.params, *val_data, config.eval_batch_size)
        seconds = time.perf_counter() - t0
        survivors = []
        for pos, (s, (val_loss, val_acc)) in enumerate(zip(stack.states, val)):
            s.history.append(EpochMetrics(epoch, s.loss_sum / max(s.seen, 1), val_loss, val_acc,
                                          seconds))
            reason = batch_stop
            if reason is None:
                verdict = s.rule.update(epoch, val_loss, val_acc)
                if verdict == IMPROVED and config.restore_best:
                    s.best_state = stack.member_weights(pos)
                if verdict in (STOP, NONFINITE):
                    reason = verdict
            if reason is None and deadline is not None and time.monotonic() > deadline:
                reason = "time_limit"
            if reason is None and epoch == config.max_epochs:
                reason = "max_epochs"
            if reason is None:
                survivors.append(s)
            else:
                finish(s, reason, stack.member_weights(pos))
        stack.keep(survivors)
    return [finished[id(s)] for s in states]


def _validate(model: StackedModel, params: dict, x: torch.Tensor, y: torch.Tensor,
              batch_size: int) -> list[tuple[float, float]]:
    """(mean cross-entropy, accuracy) per member, as :func:`symalr.train.trainer.evaluate`."""
    k = next(iter(params.values())).shape[0]
    loss_sum = [0.0] * k
    correct = torch.zeros(k, dtype=torch.int64, device=y.device)
    detached = {name: p.detach() for name, p in params.items()}
    with torch.inference_mode():
        for start in range(0, len(y), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            logits = model.eval_logits(detached, xb)
            sums = vmap(functools.partial(F.cross_entropy, reduction="sum"),
                        in_dims=(0, None))(logits, yb)
            loss_sum = [a + b for a, b in zip(loss_sum, sums.tolist())]
            finite = torch.isfinite(logits).all(dim=2)
            correct += ((logits.argmax(dim=2) == yb) & finite).sum(dim=1)
    count = max(len(y), 1)
    return [(s / count, c / count) for s, c in zip(loss_sum, correct.tolist())]
