"""docs/walkthrough.md, executed: the evolved ADES individual through every stage.

codons -> derivation/phenotype -> raw spec -> simplified spec -> hoisted scalars -> lowered
ops -> the exported module. Each intermediate is asserted exactly as the walkthrough shows it,
so the document cannot drift from the code.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import torch

from symalr import pipeline
from symalr.expr import to_text
from symalr.fingerprint import fingerprint
from symalr.grammar import load_grammar
from symalr.reference import run_reference
from symalr.render.hoist import hoist
from symalr.render.lowering import lower
from symalr.render.naming import names_for
from symalr.render.printers import ScalarPrinter
from symalr.render.torch_ops import print_ops
from symalr.sge import DEFAULT_MAX_DEPTH, map_genotype
from symalr.simplify import canonical_text
from symalr.types import Genotype

#: Stage 1: the codons (one list per non-terminal of grammars/alr.bnf).
CODONS = {
    "start": [0], "x_expr": [0], "x_func": [9], "x_const": [0],
    "y_expr": [0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1], "y_func": [4, 9, 1, 4, 1, 9, 1],
    "y_terminal": [2, 2, 2, 3], "y_const": [61, 38],
    "z_expr": [0], "z_func": [9], "z_const": [0],
    "weight_expr": [0, 1], "weight_func": [0], "weight_terminal": [2],
}
PHENOTYPE = (
    "x_func = 4.53978687e-05; "
    "y_func = multiply(9.10782940e-01, add(y, multiply(add(y, 8.92170603e-02), add(y, grad)))); "
    "z_func = 4.53978687e-05; weight_func = negative(y)"
)


def test_the_walkthrough():
    grammar = load_grammar("alr")

    # 2. mapping: codons -> derivation tree (depth 12) -> phenotype text
    used, tree = map_genotype(grammar, Genotype({k: tuple(v) for k, v in CODONS.items()}),
                              DEFAULT_MAX_DEPTH)
    assert used.to_json() == dict(sorted(CODONS.items()))
    assert tree.depth() == 12
    assert tree.text() == PHENOTYPE

    # 3. raw spec: x <- x - f_x ..., each positive literal its own constant c_k
    raw = pipeline.raw_spec(PHENOTYPE, name="ades_evolved")
    assert [(s, to_text(e)) for s, e in raw.updates] == [
        ("x", "x - c_1"), ("y", "y - c_2*(y + (g + y)*(y + c_3))"), ("z", "z - c_4")]
    assert to_text(raw.delta) == "y"
    assert [(h.name, h.default) for h in raw.hyperparams] == [
        ("c_1", 4.53978687e-05), ("c_2", 0.91078294), ("c_3", 0.0892170603),
        ("c_4", 4.53978687e-05)]

    # 4. simplified spec: x and z cannot reach the weight update; constants renamed beta_k
    spec = pipeline.simplified(raw)
    assert [(s, to_text(e)) for s, e in spec.updates] == [
        ("y", "y - beta_1*(y + (g + y)*(y + beta_2))")]
    assert to_text(spec.delta) == "y"
    assert spec.defaults == {"beta_1": 0.91078294, "beta_2": 0.0892170603}
    assert canonical_text(spec) == "s1=s1 - k1*(s1 + (g + s1)*(s1 + k2)); dw=s1"
    assert fingerprint(spec) == pipeline.prepare(PHENOTYPE).fingerprint
    assert json.loads(pipeline.prepare(PHENOTYPE).spec_json)["states"] == [
        ["y", "y - beta_1*(y + (g + y)*(y + beta_2))"]]

    # 5. hoisting: the scalar -beta_1 is computed once per step; the group lr multiplies y
    hoisted = hoist(spec)
    assert [(n, to_text(e)) for n, e in hoisted.scalars] == [("_s0", "-beta_1")]
    assert to_text(hoisted.weight) == "_lr*y"
    assert hoisted.used == ("_lr", "beta_2", "_s0")

    # 6. lowering: in-place torch operations, per tensor and multi-tensor
    names = names_for(spec, "torch")
    scalars = ScalarPrinter({**names.ident, **{n: n for n, _ in hoisted.scalars}})
    per_tensor = lower(hoisted, {"g": "grad", "w": "param", "y": "y"}, scalars.doprint)
    assert print_ops(per_tensor.ops, "tensor") == [
        "torch.add(grad, y, out=_t0)", "torch.add(y, beta_2, out=_t1)", "_t0.mul_(_t1)",
        "_t0.add_(y)", "y.add_(_t0, alpha=_s0)", "param.add_(y, alpha=lr)"]
    assert per_tensor.slots == 2
    multi = lower(hoisted, {"g": "grads", "w": "params", "y": "ys"}, scalars.doprint)
    assert print_ops(multi.ops, "foreach")[:6] == [
        "if _cpu:", "    for _a, _b, _o in zip(grads, ys, _t0):",
        "        torch.add(_a, _b, out=_o)", "else:", "    torch._foreach_copy_(_t0, grads)",
        "    torch._foreach_add_(_t0, ys)"]
    assert print_ops(multi.ops, "foreach")[-1] == "torch._foreach_add_(params, ys, alpha=lr)"


def test_the_exported_module_steps_like_the_reference(tmp_path):
    # 7. the module symalr export prints, imported and stepped against the NumPy oracle
    spec = pipeline.simplified(pipeline.raw_spec(PHENOTYPE, name="ades_evolved"))
    source = pipeline.module_source(spec, "torch")
    assert "class AdesEvolved(torch.optim.Optimizer):" in source
    assert ("def update_tensor(\n    param: Tensor,\n    grad: Tensor,\n    y: Tensor,\n"
            "    scratch: list[Tensor],\n    lr: float,\n    beta_1: float,\n    beta_2: float,\n"
            ") -> None:") in source
    assert "def ades_evolved(\n    params: list[Tensor],\n    grads: list[Tensor],\n" in source
    path = tmp_path / "ades_evolved.py"
    path.write_text(source)
    module_spec = importlib.util.spec_from_file_location("ades_evolved", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    w0 = rng.normal(0, 0.1, 5).astype(np.float32)
    grads = [rng.normal(0, 0.01, 5).astype(np.float32) for _ in range(3)]
    param = torch.nn.Parameter(torch.tensor(w0))
    optimizer = module.AdesEvolved([param])
    for g in grads:
        param.grad = torch.tensor(g)
        optimizer.step()
    want = run_reference(spec, w0, grads)[-1]
    np.testing.assert_allclose(param.detach().numpy(), want, rtol=1e-6, atol=1e-7)
