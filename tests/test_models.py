"""The torch models: the paper's parameter counts, Glorot-uniform kernels, zero biases, seeding."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from symalr.errors import ConfigError
from symalr.train.models import (
    INPUT_SHAPES,
    PAPER_PARAMETER_COUNTS,
    build_model,
    model_names,
    parameter_count,
)


def test_paper_parameter_counts():
    assert PAPER_PARAMETER_COUNTS == {"mnist_cnn": 1_199_882, "cifar_cnn": 1_250_858}
    for name, count in PAPER_PARAMETER_COUNTS.items():
        assert parameter_count(build_model(name, 0)) == count


def test_proxy_parameter_counts():
    assert parameter_count(build_model("mlp", 0)) == 784 * 128 + 128 + 128 * 10 + 10
    assert parameter_count(build_model("mlp", 0, (3, 32, 32))) == 3072 * 128 + 128 + 1290
    assert parameter_count(build_model("small_cnn", 0)) == 43_610


@pytest.mark.parametrize("name", model_names())
def test_every_model_maps_its_input_to_ten_logits(name):
    out = build_model(name, 0)(torch.zeros(3, *INPUT_SHAPES[name]))
    assert out.shape == (3, 10)


@pytest.mark.parametrize("name", ["mnist_cnn", "cifar_cnn"])
def test_glorot_uniform_kernels_and_zero_biases(name):
    model = build_model(name, 5)
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert len(layers) == (4 if name == "mnist_cnn" else 6)
    for layer in layers:
        w = layer.weight.detach()
        receptive = w[0, 0].numel() if w.dim() == 4 else 1
        fan_in, fan_out = w.shape[1] * receptive, w.shape[0] * receptive
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert float(w.abs().max()) <= bound
        assert float(w.abs().max()) > 0.95 * bound  # uniform on the whole interval
        assert float(w.std()) == pytest.approx(bound / math.sqrt(3.0), rel=0.1)
        assert torch.count_nonzero(layer.bias) == 0


def test_weights_depend_only_on_the_seed():
    state = torch.random.get_rng_state()
    a, b, c = build_model("mnist_cnn", 1), build_model("mnist_cnn", 1), build_model("mnist_cnn", 2)
    assert torch.equal(torch.random.get_rng_state(), state)  # global generator untouched
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
        if pa.dim() > 1:
            assert not torch.equal(pa, pc)


def test_unknown_model_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown model 'resnet'"):
        build_model("resnet", 0)
