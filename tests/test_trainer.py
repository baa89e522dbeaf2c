"""The trainer on small slices of real Fashion-MNIST, the generated-module loader, the allocator."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from symalr.errors import ConfigError, ExportError
from symalr.train.allocator import allocator_env, configure_allocator
from symalr.train.datasets import fitness_data
from symalr.train.generated import module_path, torch_optimizer_class
from symalr.train.models import build_model
from symalr.train.trainer import TrainConfig, evaluate, to_tensors, train
from tests.support import DATA_DIR as SHARED_DATA
from tests.support import one_thread  # noqa: F401 (autouse fixture)

DATA_DIR = str(SHARED_DATA)



@pytest.fixture(scope="module")
def data():
    """2,000 training and 1,000 validation images (stratified), as tensors."""
    d = fitness_data("fashion-mnist", (2000, 1000, 1000), 1, 0, DATA_DIR)
    return to_tensors(d.chunks[0].x, d.chunks[0].y), to_tensors(d.validation.x, d.validation.y)


def _run(make_opt, data, model="mlp", seed=0, **cfg):
    torch.manual_seed(seed)
    m = build_model(model, seed)
    result = train(m, make_opt(m.parameters()), data[0], data[1],
                   TrainConfig(**{"batch_size": 100, **cfg}), np.random.default_rng(seed))
    return m, result


def test_adam_trains_the_proxy_in_a_few_epochs(data):
    seen = []
    model, r = _run(lambda p: torch.optim.Adam(p, 1e-3), data, max_epochs=3, patience=None)
    assert r.stop_reason == "max_epochs" and r.epochs == 3 and r.best_epoch == 3
    assert [m.epoch for m in r.history] == [1, 2, 3]
    assert r.history[0].loss > r.history[-1].loss
    assert r.history[-1].val_accuracy >= 0.75
    assert evaluate(model, *data[1])[1] == r.history[-1].val_accuracy
    _, again = _run(lambda p: torch.optim.Adam(p, 1e-3), data, max_epochs=3, patience=None)
    assert [m.loss for m in again.history] == [m.loss for m in r.history]  # deterministic
    train(build_model("mlp", 0), torch.optim.Adam(build_model("mlp", 0).parameters()), *data,
          TrainConfig(batch_size=500, max_epochs=2), np.random.default_rng(0),
          on_epoch=seen.append)
    assert [m.epoch for m in seen] == [1, 2] and all(m.seconds > 0 for m in seen)


def test_catalog_adam_generated_matches_torch_adam(data):
    from symalr import catalog
    from symalr.render.torch_module import torch_source

    cls = torch_optimizer_class(torch_source(catalog.get("adam")))
    _, gen = _run(lambda p: cls(p), data, max_epochs=3, patience=None)
    _, ref = _run(lambda p: torch.optim.Adam(p, 1e-3, eps=1e-7), data, max_epochs=3,
                  patience=None)
    assert gen.history[-1].val_accuracy >= 0.75
    # Keras puts epsilon outside the bias correction of v, torch inside: losses agree to 1e-3.
    for g, t in zip(gen.history, ref.history):
        assert g.loss == pytest.approx(t.loss, rel=1e-3)
        assert g.val_loss == pytest.approx(t.val_loss, rel=1e-3)


def test_patience_on_validation_loss(data):
    _, r = _run(lambda p: torch.optim.SGD(p, lr=0.0), data, max_epochs=20, patience=3)
    assert r.stop_reason == "early_stop"
    assert (r.epochs, r.best_epoch) == (4, 1)  # no epoch after the first improves


def test_validation_accuracy_with_best_weight_restore(data):
    model, r = _run(lambda p: torch.optim.Adam(p, 0.05), data, max_epochs=5, patience=None,
                    monitor="val_accuracy", restore_best=True)
    accs = [m.val_accuracy for m in r.history]
    assert r.best_epoch == accs.index(max(accs)) + 1
    assert evaluate(model, *data[1])[1] == max(accs)


def test_nonfinite_loss_ends_training(data):
    model, r = _run(lambda p: torch.optim.SGD(p, lr=math.nan), data, max_epochs=5)
    assert r.stop_reason == "nonfinite" and r.epochs == 1
    assert math.isnan(r.history[0].loss) and math.isnan(r.history[0].val_accuracy)
    assert evaluate(model, *data[1])[1] == 0.0  # NaN logits predict nothing


def test_wall_clock_deadline(data):
    m = build_model("mlp", 0)
    r = train(m, torch.optim.Adam(m.parameters()), *data, TrainConfig(batch_size=100),
              np.random.default_rng(0), deadline=time.monotonic() - 1.0)
    assert r.stop_reason == "time_limit" and r.epochs == 1


def test_evaluation_is_in_eval_mode_and_cnn_trains_channels_last(data):
    model, r = _run(lambda p: torch.optim.Adam(p, 1e-3), data, model="small_cnn", max_epochs=1)
    conv = model[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert r.history[0].val_accuracy > 0.5
    dropout_model = build_model("mnist_cnn", 0)
    x, y = data[1][0][:200], data[1][1][:200]
    assert evaluate(dropout_model, x, y) == evaluate(dropout_model, x, y)
    assert not dropout_model.training


def test_train_config_is_validated():
    with pytest.raises(ConfigError, match="monitor"):
        TrainConfig(monitor="loss")
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0)


# --------------------------------------------------------------------------- generated modules

_SGD_SOURCE = textwrap.dedent('''
    """A hand-written stand-in for an exported module."""
    import torch


    class PlainSGD(torch.optim.Optimizer):
        def __init__(self, params, lr=0.1, foreach=None, compile=False):
            super().__init__(params, dict(lr=lr))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-group["lr"])
''')


def test_generated_module_is_loaded_from_a_content_hashed_file(tmp_path):
    import inspect

    cls = torch_optimizer_class(_SGD_SOURCE, tmp_path)
    assert cls.__name__ == "PlainSGD" and issubclass(cls, torch.optim.Optimizer)
    path = module_path(_SGD_SOURCE, tmp_path)
    assert path.read_text() == _SGD_SOURCE and path.parent == tmp_path
    assert "p.add_(p.grad" in inspect.getsource(cls.step)
    assert torch_optimizer_class(_SGD_SOURCE, tmp_path) is cls  # imported once
    w = torch.nn.Parameter(torch.ones(3))
    w.grad = torch.ones(3)
    cls([w], lr=0.5).step()
    assert torch.equal(w.detach(), torch.full((3,), 0.5))


def test_generated_module_must_define_exactly_one_optimizer(tmp_path):
    two = _SGD_SOURCE + "\n\nclass Other(PlainSGD):\n    pass\n"
    with pytest.raises(ExportError, match="found PlainSGD, Other"):
        torch_optimizer_class(two, tmp_path)
    with pytest.raises(ExportError, match="found none"):
        torch_optimizer_class("import torch\n", tmp_path)


# --------------------------------------------------------------------------- allocator

_FAULTS = textwrap.dedent("""
    import ctypes, resource, sys
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = (ctypes.c_void_p,)
    if sys.argv[1] == "tuned":
        from symalr.train.allocator import configure_allocator
        print(configure_allocator(), file=sys.stderr)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):  # what a training step does with its activations
        a = libc.malloc(100_000_000)  # above glibc's largest mmap threshold (32 MiB)
        ctypes.memset(a, 1, 100_000_000)
        libc.free(a)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _faults(mode: str, env=None) -> int:
    out = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True,
                         check=True, env=env, cwd=Path(__file__).resolve().parents[1])
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_allocator_keeps_large_buffers_instead_of_faulting_them_back():
    default = _faults("default")
    tuned = _faults("tuned")
    from_env = _faults("default", env=allocator_env())
    pages_per_buffer = 100_000_000 // 4096
    assert default > 8 * pages_per_buffer  # every buffer faulted in again
    assert tuned < 2 * pages_per_buffer and from_env < 2 * pages_per_buffer


def test_allocator_configuration_is_reported_and_can_be_disabled():
    assert configure_allocator() in ("glibc: mmap_max=0, trim_threshold=2147483647",
                                     "unchanged: not glibc")
    env = allocator_env({"PATH": "/bin"})
    assert env["MALLOC_MMAP_MAX_"] == "0" and env["PATH"] == "/bin"
    assert "MALLOC_MMAP_MAX_" not in allocator_env({"SYMALR_ALLOCATOR": "default"})
    code = "from symalr.train.allocator import configure_allocator as c; print(c())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "SYMALR_ALLOCATOR": "default"},
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "unchanged: SYMALR_ALLOCATOR=default"
