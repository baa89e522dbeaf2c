"""Stacked benchmark trials (``stacking``) store what the sequential trials store: the same seeds,
per-epoch curves, best-validation epochs and test accuracies (float32 rounding aside), with
dropout (mnist_cnn) and with a training that goes non-finite; the ``--stacking`` flag.

The optimizers compared have continuous update rules: a sign-of-gradient rule (``sign``) turns
the ~1e-7 rounding differences of batched kernels into a flipped step now and then, and its
stacked and sequential trials then differ by an image or so of the test set.

Data from ``$SYMALR_DATA_DIR``, else ``<repo>/../shared/data``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from symalr import catalog
from symalr.bench.config import build_config
from symalr.bench.runner import derive_seed, run_benchmark
from symalr.bench.store import BenchStore
from symalr.bench.trials import load_setup, trial, trial_stack
from symalr.errors import ConfigError
from tests.support import (
    DATA_DIR,
    one_thread,  # noqa: F401 (autouse fixture)
)

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(model="mlp", train_size=400, val_size=300, batch_size=100, tune_calls=0,
            trials=3, trial_epochs=2, seed=3, data_dir=str(DATA_DIR))
ABS = 1e-5



def _assert_same_training(a, b):
    """Two stored trainings agree (everything but wall time)."""
    assert (a.stop_reason, a.error, a.best_epoch) == (b.stop_reason, b.error, b.best_epoch)
    assert a.val_accuracy == pytest.approx(b.val_accuracy, abs=ABS)
    assert [e["epoch"] for e in a.curve] == [e["epoch"] for e in b.curve]
    for x, y in zip(a.curve, b.curve):
        assert x["val_accuracy"] == pytest.approx(y["val_accuracy"], abs=ABS, nan_ok=True)
        assert x["loss"] == pytest.approx(y["loss"], rel=1e-4, nan_ok=True)


def _stored(tmp_path, stacking: str):
    config = build_config("quick", dict(TINY, optimizers=("adam", "ades"), stacking=stacking))
    lines: list[str] = []
    run_benchmark(config, tmp_path / f"{stacking}.sqlite", "test", progress=lines.append)
    with BenchStore.open(tmp_path / f"{stacking}.sqlite", readonly=True) as store:
        return store.trials(config.protocol()), lines


def test_stacked_benchmark_stores_the_sequential_trials(tmp_path):
    sequential, seq_lines = _stored(tmp_path, "off")
    stacked, stk_lines = _stored(tmp_path, "on")
    assert "trials on cpu: sequential (stacking off)" in seq_lines
    assert any(line.startswith("trials on cpu: stacking on (configured), stacks of at most ")
               for line in stk_lines)
    assert [(t.name, t.trial_index, t.seed) for t in sequential] == \
        [(t.name, t.trial_index, t.seed) for t in stacked]
    assert [t.trial_index for t in stacked] == [0, 1, 2, 0, 1, 2]
    assert stacked[0].seed == derive_seed(3, 2, 1, 0)
    for a, b in zip(sequential, stacked):
        assert a.test_accuracy == pytest.approx(b.test_accuracy, abs=ABS)
        assert a.test_loss == pytest.approx(b.test_loss, rel=1e-4)
        _assert_same_training(a.training, b.training)
    assert len({t.test_accuracy for t in stacked}) > 3  # the trials differ from each other


def test_trial_stack_equals_trials_with_dropout_and_a_nonfinite_training():
    """mnist_cnn has two dropout layers: their masks must be those of the sequential trial;
    SGD with a huge step goes non-finite. A 500-image test set keeps this fast."""
    seeds = [5, 6]
    for model, spec, stops in (
        ("mnist_cnn", catalog.get("adam"), {"max_epochs"}),
        ("mlp", catalog.get("sgd").with_defaults({"lr": 1e30}), {"nonfinite"}),
    ):
        config = build_config("quick", dict(TINY, model=model, train_size=200))
        setup = load_setup(config)
        data = dataclasses.replace(setup.data, test=(setup.data.test[0][:500],
                                                     setup.data.test[1][:500]))
        setup = dataclasses.replace(setup, data=data)
        stacked = trial_stack(setup, spec, 2, seeds)
        for seed, (training, test_acc, test_loss) in zip(seeds, stacked):
            seq_training, seq_acc, seq_loss = trial(setup, spec, 2, seed)
            _assert_same_training(seq_training, training)
            assert training.stop_reason in stops
            assert test_acc == pytest.approx(seq_acc, abs=ABS)
            assert (math.isnan(test_loss) and math.isnan(seq_loss)) or \
                test_loss == pytest.approx(seq_loss, rel=1e-4)


def test_stacking_and_device_are_checked_in_the_config():
    assert build_config("quick").stacking == "auto"
    with pytest.raises(ConfigError, match="stacking = 'maybe': expected one of 'auto', 'on', 'off'"):
        build_config("quick", dict(stacking="maybe"))
    with pytest.raises(ConfigError, match="device = 'gpu': expected cpu, cuda"):
        build_config("quick", dict(device="gpu"))


def _symalr(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYMALR_DATA_DIR": str(DATA_DIR), "SYMALR_NO_DOWNLOAD": "1"}
    return subprocess.run([sys.executable, "-m", "symalr.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def test_cli_stacking_flag(tmp_path):
    flags = ["benchmark", "--optimizers", "adam,sign", "--model", "mlp", "--train-size", "400",
             "--val-size", "300", "--batch-size", "100", "--tune-calls", "0", "--trials", "2",
             "--trial-epochs", "1", "--db", str(tmp_path / "b.sqlite"), "--out",
             str(tmp_path / "out")]
    out = _symalr(*flags, "--stacking", "on", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "trials on cpu: stacking on (configured)" in out.stderr
    assert "| ADAM" in out.stdout.upper()
    bad = _symalr(*flags, "--stacking", "maybe", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [
        "symalr: flags: stacking = 'maybe': expected one of 'auto', 'on', 'off'"]
