"""What the export conformance suites share (tests/test_conformance_torch.py,
tests/test_conformance_keras.py, tests/test_jax_export.py): seeded random individuals of the
shipped grammars, the probe problems, loading a generated module from a file, and the
comparison with the NumPy reference stepper.

The comparison is the one tests/test_export_property.py applies: the same NaN and inf
positions as the float32 reference, finite values within rtol 1e-5 / atol 1e-6 plus the rule's
own float32 sensitivity (8x the float32-vs-float64 reference difference; ``pow`` amplifies
last-bit differences).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np

from symalr import pipeline
from symalr.grammar import load_grammar
from symalr.reference import run_reference
from symalr.sge import DEFAULT_MAX_DEPTH, map_genotype, random_population
from symalr.spec import OptimizerSpec

#: Shipped grammars and the seed their random sample is drawn with.
GRAMMAR_SEEDS = {"alr": 31, "alr-grad": 32, "alr-blocks": 33}

#: The individuals the heavier checks use besides the catalog: of each grammar's sample
#: (``random_specs(grammar, 50)``), the two with the most states among those that read the
#: gradient and stay finite on the probe data (tests/test_conformance_keras.py asserts it).
SHOWCASE_INDIVIDUALS = (("alr", 0), ("alr", 6), ("alr-grad", 0), ("alr-grad", 39))


@cache
def random_specs(grammar_name: str, n: int) -> tuple[tuple[str, OptimizerSpec], ...]:
    """``(label, spec)`` of ``n`` random individuals of ``grammar_name`` (seeded), as symalr
    exports them: the simplified spec (the raw one where SymPy gives up). The first ``n`` of a
    larger sample are the same individuals."""
    grammar = load_grammar(grammar_name)
    rng = np.random.default_rng(GRAMMAR_SEEDS[grammar_name])
    out = []
    for k, genotype in enumerate(random_population(grammar, n, rng, DEFAULT_MAX_DEPTH)):
        _, tree = map_genotype(grammar, genotype, DEFAULT_MAX_DEPTH)
        raw = pipeline.raw_spec(tree.text(), name=f"{grammar_name}-{k}")
        out.append((f"{grammar_name}#{k}: {tree.text()}", pipeline.simplified(raw)))
    return tuple(out)


#: Parameter shapes of the conformance probes (a vector, a matrix, a scalar).
SHAPES = [(3,), (2, 3), ()]
#: Gradient scale per catalog rule (0.5 otherwise); Eq. 8 is chaotic for larger gradients.
GRAD_SCALE = {"ades-eq8": 0.1}


def probe(key: str, steps: int, seed: int = 0):
    """Initial weights and gradients for the export conformance suites: catalog rules get small
    gradients with a NaN and exact zeros at step 10 (when they run that long); random rules
    (``grammar#k``) N(0, 1) gradients (sqrt/pow of negatives) with an exact zero in each
    parameter at steps 1, 3, 5, ... (divide_no_nan's zero branch: states start at 0)."""
    rng = np.random.default_rng(seed)
    w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    scale = 1.0 if "#" in key else GRAD_SCALE.get(key, 0.5)
    grads = [[(rng.normal(size=s) * scale).astype(np.float32) for s in SHAPES]
             for _ in range(steps)]
    if "#" not in key and steps > 10:
        grads[10][1][1, 2] = np.nan
        grads[10][0][:2] = 0.0
    if "#" in key:
        for g in grads[::2]:
            for x in g:
                x.flat[0] = 0.0
    return w0, grads


def load_module(source: str, name: str, folder: Path):
    """Import ``source`` as the module ``name`` from a file in ``folder``."""
    path = folder / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def references(spec: OptimizerSpec, w0: np.ndarray, grads, **kwargs):
    """The float32 and float64 reference weights after the last of ``grads``."""
    r32 = run_reference(spec, w0, grads, **kwargs)[-1]
    r64 = run_reference(spec, np.asarray(w0, np.float64),
                        [np.asarray(g, np.float64) for g in grads], dtype=np.float64,
                        **kwargs)[-1]
    return r32, r64


def check_agrees(label: str, actual, r32: np.ndarray, r64: np.ndarray) -> None:
    """``actual`` agrees with the float32 reference ``r32`` (see the module docstring)."""
    actual = np.asarray(actual)
    assert actual.shape == r32.shape, f"shape {actual.shape} != {r32.shape}: {label}"
    assert np.array_equal(np.isnan(actual), np.isnan(r32)), f"NaN positions differ: {label}"
    assert np.array_equal(np.isinf(actual), np.isinf(r32)), f"inf positions differ: {label}"
    assert np.array_equal(np.sign(actual[np.isinf(r32)]), np.sign(r32[np.isinf(r32)])), (
        f"inf signs differ: {label}")
    fin = np.isfinite(r32)
    with np.errstate(all="ignore"):
        slack = np.where(np.isfinite(r64), np.abs(r32 - r64), 0.0)
    bound = 1e-6 + 1e-5 * np.abs(r32[fin]) + 8 * slack[fin]
    err = np.abs(actual[fin].astype(np.float64) - r32[fin])
    assert np.all(err <= bound), f"values differ by {err.max():.3g}: {label}"
