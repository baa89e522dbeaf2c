"""Stacked training equals sequential training member by member (float32 tolerance): generated
optimizers of different specs, dropout, a member that goes NaN, one that stops early, one whose
optimizer raises, restore_best, and the shared-optimizer (benchmark) mode."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from symalr import catalog
from symalr.render.torch_module import torch_source
from symalr.train.datasets import fitness_data
from symalr.train.generated import torch_optimizer_class
from symalr.train.models import build_model, init_glorot_
from symalr.train.stacked import Member, StackedModel, train_stacked
from symalr.train.trainer import TrainConfig, to_tensors, train
from tests.support import DATA_DIR as SHARED_DATA
from tests.support import one_thread  # noqa: F401 (autouse fixture)

DATA_DIR = str(SHARED_DATA)
RTOL = 1e-4



@pytest.fixture(scope="module")
def data():
    """Two 300-image training chunks and 300 validation images, channels-last."""
    d = fitness_data("fashion-mnist", (600, 300, 300), 2, 0, DATA_DIR)
    chunks = [to_tensors(c.x, c.y, channels_last=True) for c in d.chunks]
    return chunks, to_tensors(d.validation.x, d.validation.y, channels_last=True)


def _tiny_cnn(seed: int) -> nn.Sequential:
    """A small CNN with both kinds of dropout input (4-D after pooling, 2-D after a dense)."""
    with torch.random.fork_rng(devices=[]):  # as build_model: leave the global RNG alone
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
            nn.Linear(4 * 13 * 13, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 10),
        )  # fmt: skip
    init_glorot_(model, seed)
    return model.to(memory_format=torch.channels_last)


def _generated(name: str, **hyper):
    cls = torch_optimizer_class(torch_source(catalog.get(name)))
    return lambda params: cls(params, foreach=True, **hyper)


class _NaNAfter(torch.optim.SGD):
    """SGD that poisons the weights on its ``n``-th step (the next loss is NaN)."""

    def __init__(self, params, n: int):
        super().__init__(params, lr=0.05)
        self.n, self.steps = n, 0

    @torch.no_grad()
    def step(self, closure=None):
        self.steps += 1
        super().step()
        if self.steps == self.n:
            for group in self.param_groups:
                for p in group["params"]:
                    p.fill_(math.nan)


class _Raises(torch.optim.SGD):
    def step(self, closure=None):
        raise ValueError("bad rule")


def _sequential(make_model, factory, train_data, val, config, seed):
    torch.manual_seed(seed)
    model = make_model(seed)
    try:
        result = train(model, factory(model.parameters()), train_data, val, config,
                       np.random.default_rng(seed))
    except Exception as exc:
        return exc, model
    return result, model


def _stacked(make_model, factories, chunks, val, config, seeds, shared=False):
    members = [Member(make_model(seed), f, chunk, np.random.default_rng(seed), seed)
               for f, chunk, seed in zip(factories, chunks, seeds)]
    return train_stacked(members, val, config, shared_optimizer=shared), members


def _assert_same(seq, stk):
    if isinstance(seq, Exception):
        assert type(stk) is type(seq) and str(stk) == str(seq)
        return
    assert stk.stop_reason == seq.stop_reason
    assert stk.epochs == seq.epochs and stk.best_epoch == seq.best_epoch
    for a, b in zip(seq.history, stk.history):
        assert a.epoch == b.epoch
        for key in ("loss", "val_loss", "val_accuracy"):
            x, y = getattr(a, key), getattr(b, key)
            assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=RTOL), key


def _assert_same_weights(seq_model, stk_model):
    for (_, a), (_, b) in zip(seq_model.named_parameters(), stk_model.named_parameters()):
        if torch.isfinite(a).all():
            torch.testing.assert_close(b, a, rtol=RTOL, atol=1e-5)


def test_members_with_their_own_optimizers_match_sequential_trainings(data):
    chunks, val = data
    config = TrainConfig(batch_size=50, max_epochs=4, patience=2)
    factories = [
        _generated("adam", lr=1e-2),
        _generated("ades"),
        _generated("rmsprop", lr=1e-3),
        _generated("sgd", lr=0.0),          # never improves: early stop after epoch 3
        lambda p: _NaNAfter(p, 9),           # NaN loss at the 10th batch (epoch 2)
        lambda p: _Raises(p, lr=0.1),        # its optimizer raises at the first step
    ]  # fmt: skip
    seeds = [11, 12, 13, 14, 15, 16]
    member_chunks = [chunks[i % 2] for i in range(len(seeds))]
    stacked, members = _stacked(_tiny_cnn, factories, member_chunks, val, config, seeds)
    reasons = []
    for f, chunk, seed, stk, member in zip(factories, member_chunks, seeds, stacked, members):
        seq, seq_model = _sequential(_tiny_cnn, f, chunk, val, config, seed)
        _assert_same(seq, stk)
        if not isinstance(seq, Exception):
            _assert_same_weights(seq_model, member.model)
            reasons.append(seq.stop_reason)
        else:
            reasons.append("raised")
    assert reasons[3] == "early_stop" and stacked[3].epochs == 3
    assert reasons[4] == "nonfinite" and stacked[4].epochs == 2
    assert math.isnan(stacked[4].history[-1].loss)
    assert reasons[5] == "raised"
    assert stacked[0].history[-1].val_accuracy > 0.6  # it does learn


def test_shared_optimizer_stack_matches_sequential_trials_with_restore_best(data):
    chunks, val = data
    config = TrainConfig(batch_size=100, max_epochs=5, patience=1, monitor="val_accuracy",
                         restore_best=True)
    factory = _generated("adam", lr=3e-3)
    seeds = [1, 2, 3]

    def mlp(seed):
        return build_model("mlp", seed)

    stacked, members = _stacked(mlp, [factory] * 3, [chunks[0]] * 3, val, config, seeds,
                                shared=True)
    for seed, stk, member in zip(seeds, stacked, members):
        seq, seq_model = _sequential(mlp, factory, chunks[0], val, config, seed)
        _assert_same(seq, stk)
        _assert_same_weights(seq_model, member.model)


def test_stacked_model_rejects_what_it_cannot_batch():
    from symalr.errors import ConfigError

    with pytest.raises(ConfigError, match="nn.Sequential"):
        StackedModel(nn.Linear(3, 2), (3,))
    with pytest.raises(ConfigError, match="buffers"):
        StackedModel(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)), (3,))
