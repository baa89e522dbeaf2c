"""Fitness (Algorithm 1) on the proxy preset with real Fashion-MNIST: min over evaluations, the
0.8 cut, contained failures, time limit, static rejection, determinism, config round trip."""

from __future__ import annotations

import pytest
import torch

from symalr.errors import ConfigError, DataError
from symalr.train.candidate import evaluate_spec
from symalr.train.config import FitnessConfig, from_dict, preset, to_dict
from symalr.train.fitness import evaluate_factory, resolve_compile
from symalr.types import EvalResult
from tests.support import DATA_DIR as SHARED_DATA

DATA_DIR = str(SHARED_DATA)


def _proxy(**changes) -> FitnessConfig:
    return preset("proxy", **{"data_dir": DATA_DIR, **changes})


def _adam(params):
    return torch.optim.Adam(params, 1e-3, eps=1e-7)


def _weak(params):
    return torch.optim.SGD(params, 1e-3)


def test_paper_preset_is_algorithm_1():
    c = preset("paper")
    assert c.splits == (53_000, 3_500, 3_500) and c.chunk_size == 10_600
    assert (c.n_evaluations, c.batch_size, c.max_epochs, c.patience) == (5, 1000, 100, 5)
    assert (c.monitor, c.restore_best, c.min_accuracy, c.model) == ("val_loss", False, 0.8,
                                                                    "mnist_cnn")


def test_config_round_trips_and_rejects_unknown_or_bad_values():
    c = _proxy(seed=3, time_limit_s=60.0)
    assert from_dict(to_dict(c)) == c
    assert c.replace(monitor="val_accuracy").monitor == "val_accuracy"
    with pytest.raises(ConfigError, match="unknown key fitness.epochs"):
        from_dict({"epochs": 3})
    with pytest.raises(ConfigError, match="monitor"):
        c.replace(monitor="accuracy")
    with pytest.raises(ConfigError, match=r"fitness.n_evaluations = 5: expected at most fitness.splits\[0\] = 3"):
        c.replace(splits=(3, 10, 10))
    with pytest.raises(ConfigError, match="unknown fitness preset"):
        preset("huge")
    assert not resolve_compile(preset("paper"))  # foreach on CPU
    assert resolve_compile(preset("paper", compile=True))


def test_adam_passes_the_proxy_with_min_over_five_evaluations():
    r = evaluate_factory(_adam, _proxy())
    assert isinstance(r, EvalResult) and r.error is None and not r.rejected
    assert len(r.accuracies) == 5 and len(r.epochs) == 5
    assert r.fitness == min(r.accuracies) > 0.8
    assert r.seconds > 0


def test_fitness_is_the_minimum_and_stops_below_the_cut():
    made = []

    def good_then_weak(params):
        made.append(1)
        return _adam(params) if len(made) == 1 else _weak(params)

    r = evaluate_factory(good_then_weak, _proxy(max_epochs=4))
    assert len(r.accuracies) == 2 and len(made) == 2  # cancelled after the weak evaluation
    assert r.accuracies[0] > 0.8 > r.accuracies[1] and r.fitness == r.accuracies[1]
    made.clear()
    r = evaluate_factory(good_then_weak, _proxy(max_epochs=4, min_accuracy=0.0))
    assert len(r.accuracies) == 5 and r.fitness == min(r.accuracies[1:])


def test_every_evaluation_starts_from_the_same_weights_on_its_own_chunk():
    first_weights = []

    def recording(params):
        params = list(params)
        first_weights.append(params[0].detach().clone())
        return _adam(params)

    r = evaluate_factory(recording, _proxy(max_epochs=1, min_accuracy=0.0, n_evaluations=3))
    assert len(first_weights) == 3
    assert all(torch.equal(w, first_weights[0]) for w in first_weights)
    assert len(set(r.accuracies)) > 1  # different chunks, different results


def test_same_config_same_result_other_seed_other_result():
    c = _proxy(max_epochs=2, n_evaluations=2)
    a, b = evaluate_factory(_adam, c), evaluate_factory(_adam, c)
    assert (a.fitness, a.accuracies, a.epochs) == (b.fitness, b.accuracies, b.epochs)
    other = evaluate_factory(_adam, c.replace(seed=1))
    assert other.accuracies != a.accuracies


def test_diverging_optimizer_scores_its_measured_accuracy():
    r = evaluate_factory(lambda p: torch.optim.SGD(p, lr=float("nan")), _proxy())
    assert r.accuracies == (0.0,) and r.fitness == 0.0 and r.epochs == (1,)
    assert r.error.startswith("non-finite loss in evaluation 1, epoch 1")


class _Raising(torch.optim.SGD):
    def step(self, closure=None):
        raise RuntimeError("boom\nsecond line")


def test_raising_optimizer_is_contained_as_one_line():
    r = evaluate_factory(lambda p: _Raising(p, lr=0.1), _proxy())
    assert (r.fitness, r.accuracies, r.rejected) == (0.0, (), False)
    assert r.error == "RuntimeError: boom (evaluation 1)"

    def bad_constructor(params):
        raise ValueError("lr must be positive")

    r = evaluate_factory(bad_constructor, _proxy())
    assert r.error == "ValueError: lr must be positive (evaluation 1)"


def test_time_limit_is_contained():
    r = evaluate_factory(_adam, _proxy(time_limit_s=1e-3))
    assert r.fitness == 0.0 and r.error.startswith("TimeoutError: time limit of 0.001 s")


def test_setup_problems_are_not_contained(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="model mnist_cnn takes images of shape"):
        evaluate_factory(_adam, preset("paper", data_dir=DATA_DIR, dataset="cifar-10",
                                       splits=(2000, 500, 500)))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("SYMALR_NO_DOWNLOAD", "1")
    with pytest.raises(DataError, match="fashion-mnist: no verified copy found"):
        evaluate_factory(_adam, _proxy(data_dir=str(tmp_path / "none")))


def test_statically_rejected_spec_is_never_trained():
    pytest.importorskip("symalr.screen")
    from symalr.spec import make_spec

    no_grad = make_spec("drift", [("x", "x + 0.1")], "-0.01*x")
    config = _proxy(data_dir="/nonexistent")  # any data access would raise DataError
    r = evaluate_spec(no_grad, config)
    assert r.rejected and r.fitness == 0.0 and r.accuracies == ()
    assert r.error == "weight update does not depend on the gradient"


def test_catalog_adam_spec_is_scored_through_its_exported_code():
    from symalr import catalog

    r = evaluate_spec(catalog.get("adam"), _proxy(n_evaluations=2))
    assert r.error is None and len(r.accuracies) == 2 and r.fitness > 0.8
