"""The TensorFlow backend: Keras models, and a short fitness evaluation under XLA."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import tensorflow as tf  # noqa: E402

from symalr.train.config import preset  # noqa: E402
from symalr.train.keras_models import build_keras_model, keras  # noqa: E402
from symalr.train.models import PAPER_PARAMETER_COUNTS, build_model, parameter_count  # noqa: E402
from symalr.train.tf_fitness import evaluate_keras_factory  # noqa: E402
from tests.support import DATA_DIR as SHARED_DATA

DATA_DIR = str(SHARED_DATA)


def _short(**changes):
    base = {"data_dir": DATA_DIR, "backend": "tf", "n_evaluations": 1, "max_epochs": 2}
    return preset("proxy", **{**base, **changes})


def test_keras_models_match_the_paper_and_the_torch_models():
    for name, count in PAPER_PARAMETER_COUNTS.items():
        assert build_keras_model(name, 0).count_params() == count
    for name in ("mlp", "small_cnn"):
        assert build_keras_model(name, 0).count_params() == parameter_count(build_model(name, 0))
    a, b = build_keras_model("mnist_cnn", 3), build_keras_model("mnist_cnn", 3)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    weights = build_keras_model("mnist_cnn", 4).get_weights()
    assert not np.array_equal(weights[0], a.get_weights()[0])
    assert all(not w.any() for w in weights[1::2])  # zero biases


class HostStepSGD(keras.optimizers.SGD):
    """SGD that routes its gradient through a host (numpy) function, which XLA cannot
    compile: it trains only when the step is not XLA-compiled."""

    def update_step(self, gradient, variable, learning_rate):
        g = tf.numpy_function(lambda a: a, [gradient], gradient.dtype)
        g.set_shape(gradient.shape)
        return super().update_step(g, variable, learning_rate)


def test_short_fitness_evaluation_runs_under_xla():
    r = evaluate_keras_factory(lambda: keras.optimizers.Adam(1e-3), _short())
    assert r.error is None and r.epochs == (2,) and r.fitness == r.accuracies[0] > 0.75
    jit = evaluate_keras_factory(lambda: HostStepSGD(0.1), _short(max_epochs=1))
    assert jit.fitness == 0.0 and jit.error.startswith("InvalidArgumentError")  # XLA refused
    eager = evaluate_keras_factory(lambda: HostStepSGD(0.1), _short(max_epochs=1, compile=False))
    assert eager.error is None and eager.fitness > 0.5


def test_diverging_keras_optimizer_scores_its_measured_accuracy():
    r = evaluate_keras_factory(lambda: keras.optimizers.SGD(float("nan")), _short())
    assert r.accuracies == (0.0,) and r.epochs == (1,)
    assert r.error.startswith("non-finite loss in evaluation 1, epoch 1")


def test_catalog_adam_through_exported_keras_code():
    from symalr import catalog
    from symalr.train.candidate import evaluate_spec

    r = evaluate_spec(catalog.get("adam"), _short())
    assert r.error is None and r.fitness > 0.75
