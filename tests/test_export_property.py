"""Property: random individuals of each ALR grammar export to torch and TF code that compiles
and agrees with the reference stepper (see docs/code-generation.md).

For each shipped grammar, 60 random genotypes (seeded) are mapped, turned into raw specs and
simplified; both forms are exported to torch (per-tensor and multi-tensor paths) and to Keras
(eager), stepped 5 times on random tensors (gradients from N(0, 1), so sqrt and pow of
negatives give NaNs), and compared with the float32 reference stepper: the same NaN and inf
positions, finite values within rtol 1e-5 / atol 1e-6 plus the rule's own float32 sensitivity
(8x the float32-vs-float64 reference difference: pow amplifies last-bit differences).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from symalr.grammar import load_grammar  # noqa: E402
from symalr.phenotype import spec_from_phenotype  # noqa: E402
from symalr.reference import run_reference  # noqa: E402
from symalr.render.tf_module import tf_source  # noqa: E402
from symalr.render.torch_module import torch_source  # noqa: E402
from symalr.sge import DEFAULT_MAX_DEPTH, map_genotype, random_population  # noqa: E402
from symalr.simplify import simplify  # noqa: E402

PER_GRAMMAR = 60  # the conformance suites cover 50 more simplified ones per backend
STEPS = 5
SHAPE = (3, 4)
pytestmark = pytest.mark.slow


def individuals(grammar_name: str, seed: int):
    """``(label, spec)`` for the raw and simplified spec of each random individual."""
    grammar = load_grammar(grammar_name)
    rng = np.random.default_rng(seed)
    out = []
    for k, genotype in enumerate(random_population(grammar, PER_GRAMMAR, rng, DEFAULT_MAX_DEPTH)):
        _, tree = map_genotype(grammar, genotype, DEFAULT_MAX_DEPTH)
        raw = spec_from_phenotype(tree.text(), name=f"{grammar_name}-{k}")
        out.append((f"{grammar_name}#{k} raw: {tree.text()}", raw))
        out.append((f"{grammar_name}#{k} simplified: {tree.text()}", simplify(raw)))
    return out


def load(source: str, name: str, folder: Path):
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def data(seed: int):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=SHAPE).astype(np.float32)
    grads = [rng.normal(size=SHAPE).astype(np.float32) for _ in range(STEPS)]
    return w0, grads


def check(label: str, actual: np.ndarray, r32: np.ndarray, r64: np.ndarray) -> None:
    assert np.array_equal(np.isnan(actual), np.isnan(r32)), f"NaN positions differ: {label}"
    assert np.array_equal(np.isinf(actual), np.isinf(r32)), f"inf positions differ: {label}"
    fin = np.isfinite(r32)
    with np.errstate(all="ignore"):
        slack = np.where(np.isfinite(r64), np.abs(r32 - r64), 0.0)
    bound = 1e-6 + 1e-5 * np.abs(r32[fin]) + 8 * slack[fin]
    err = np.abs(actual[fin].astype(np.float64) - r32[fin])
    assert np.all(err <= bound), f"values differ by {err.max():.3g}: {label}"


@pytest.mark.parametrize("grammar_name, seed", [("alr", 11), ("alr-grad", 12)])
def test_random_individuals_export_and_agree(grammar_name, seed, tmp_path):
    tf = pytest.importorskip("tensorflow")
    specs = individuals(grammar_name, seed)
    assert len(specs) == 2 * PER_GRAMMAR
    nan_seen = 0
    for k, (label, spec) in enumerate(specs):
        w0, grads = data(k)
        r32 = run_reference(spec, w0, grads)[-1]
        r64 = run_reference(spec, w0.astype(np.float64), [g.astype(np.float64) for g in grads],
                            dtype=np.float64)[-1]
        nan_seen += bool(np.isnan(r32).any())

        module = load(torch_source(spec, class_name="Evolved"), f"ind_torch_{k}", tmp_path)
        for foreach in (False, True):
            p = torch.nn.Parameter(torch.tensor(w0))
            opt = module.Evolved([p], foreach=foreach)
            for g in grads:
                p.grad = torch.tensor(g)
                opt.step()
            check(f"torch foreach={foreach} {label}", p.detach().numpy(), r32, r64)

        keras_cls = load(tf_source(spec, class_name="Evolved"), f"ind_tf_{k}", tmp_path).Evolved
        v = tf.Variable(w0)
        opt = keras_cls()
        for g in grads:
            opt.apply_gradients([(tf.constant(g), v)])
        check(f"tf {label}", v.numpy(), r32, r64)
    assert nan_seen > 10  # the inputs do exercise NaN semantics
