"""PyTorch conformance of generated optimizers (symalr.render.torch_module.torch_source).

Three tiers, chosen so that the file runs in about a minute on two cores:

- **Every optimizer** — the catalog and 50 random individuals of each shipped grammar
  (simplified, as symalr exports them), on three small parameters (one 0-d): every eager path
  (multi-tensor, per-tensor, the tensor-scalar path of ``differentiable=True``, the functional
  form both ways) against the NumPy reference stepper (same NaN/inf positions, rtol 1e-5 plus
  the rule's own float32 sensitivity; tests/export_support.py), the multi-tensor, per-tensor and
  functional paths bit for bit equal; a parameter without gradient left alone; sparse
  gradients and complex parameters refused with a message; two parameter groups with their
  own values; ``state_dict`` / ``load_state_dict``, ``copy.deepcopy`` and ``pickle`` round trips
  continuing exactly.
- **Heavy checks** on the catalog plus four individuals (SHOWCASE_INDIVIDUALS of
  tests/export_support.py): StepLR, OneCycleLR (cycling ``betas`` or ``momentum`` where the rule
  has them) and ReduceLROnPlateau against the reference fed the same values; ``add_param_group``
  during training; a closure; non-contiguous parameters; float64, bfloat16 and float16
  parameters; loading a state into parameters of another dtype; GradScaler; step hooks;
  decoupled weight decay and ``maximize``; and a training step (forward, backward,
  ``opt.step()``) under ``torch.compile`` that builds no new graph after warm-up. Graph counts
  are dynamo's business, so that check uses the ``eager`` backend (inductor costs 5-10 s per
  graph on these cores).
- **Inductor** once: Adam's ``opt.step()`` inside the caller's ``torch.compile`` against the
  reference (``compile=True`` compiles the same ``update_fused`` with inductor for every catalog
  rule in tests/test_torch_export.py).
"""

from __future__ import annotations

import copy
import pickle
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from symalr import catalog  # noqa: E402
from symalr.reference import ReferenceStepper  # noqa: E402
from symalr.render.naming import default_class_name, function_name  # noqa: E402
from symalr.render.torch_module import torch_source  # noqa: E402
from tests.export_support import (  # noqa: E402
    SHAPES,
    SHOWCASE_INDIVIDUALS,
    check_agrees,
    load_module,
    probe,
    random_specs,
    references,
)

torch.set_num_threads(2)
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.script.*deprecated:DeprecationWarning")]

#: Random individuals checked per shipped grammar; alr-blocks individuals are ALR expressions
#: too, so a smaller sample checks its block shapes.
SAMPLE = {"alr": 50, "alr-grad": 50, "alr-blocks": 20}
EVERY = [*catalog.NAMES, *(f"{g}#{k}" for g, n in SAMPLE.items() for k in range(n))]
HEAVY = [*catalog.NAMES, *(f"{g}#{k}" for g, k in SHOWCASE_INDIVIDUALS)]


def spec_of(key: str):
    """The spec called ``key``: a catalog name or ``grammar#k``."""
    if "#" not in key:
        return catalog.get(key)
    grammar, k = key.split("#")
    return random_specs(grammar, SAMPLE[grammar])[int(k)][1]


class Exported:
    """The module exported for ``key`` (imported from a file and registered in
    ``sys.modules``, so that its class pickles), its class and its functional form."""

    def __init__(self, key: str, folder):
        self.key = key
        self.spec = spec_of(key)
        name = default_class_name(self.spec) if "#" not in key else "Evolved"
        stem = "t_" + key.replace("#", "_").replace("-", "_")
        self.module = load_module(torch_source(self.spec, class_name=name), stem, folder)
        sys.modules[stem] = self.module
        self.cls = getattr(self.module, name)
        self.function = getattr(self.module, function_name(self.spec, name))


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """Each key's :class:`Exported`, made on first use and shared by the tests."""
    folder = tmp_path_factory.mktemp("torch_exports")
    made: dict[str, Exported] = {}
    yield lambda key: made[key] if key in made else made.setdefault(key, Exported(key, folder))
    for out in made.values():
        sys.modules.pop(out.module.__name__, None)


@pytest.fixture
def exported(request, exports):
    return exports(request.param)


def steps_for(key: str) -> int:
    return 5 if "#" in key else 14


def lr_for(spec) -> float:
    """The group lr the checks use: the spec's own, or 0.5 (a multiplier of 1.0 would not
    exercise it)."""
    return spec.defaults["lr"] if spec.has_lr else 0.5


def parameters(w0, dtype=torch.float32, differentiable: bool = False):
    """Leaf parameters; for ``differentiable=True`` non-leaf tensors that require grad (an
    in-place step on a leaf that requires grad is an autograd error, as in torch.optim)."""
    if differentiable:
        return [torch.tensor(w, dtype=dtype, requires_grad=True).clone() for w in w0]
    return [torch.nn.Parameter(torch.tensor(w, dtype=dtype)) for w in w0]


def run(opt, params, grads, dtype=torch.float32):
    """Step ``opt`` with ``grads``; the parameters as NumPy arrays (half types as float32)."""
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi, dtype=dtype)
        opt.step()
    wide = torch.float64 if dtype == torch.float64 else torch.float32
    return [p.detach().to(wide).numpy() for p in params]


def reference_weights(spec, w0, grads, **kwargs):
    """Per parameter, the float32 and float64 reference weights after ``grads``."""
    return [references(spec, w0[i], [g[i] for g in grads], **kwargs) for i in range(len(w0))]


def check_reference(label, spec, actual, w0, grads, refs=None, **kwargs):
    """``actual`` (one array per parameter) agrees with the reference (``refs`` if given)."""
    refs = refs or reference_weights(spec, w0, grads, **kwargs)
    for i, (a, (r32, r64)) in enumerate(zip(actual, refs)):
        check_agrees(f"{label} parameter {i}", a, r32, r64)


def assert_same(label, a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        np.testing.assert_array_equal(x, y, err_msg=f"{label} parameter {i}")


# ------------------------------------------------------------------ every optimizer


@pytest.mark.parametrize("exported", EVERY, indirect=True)
def test_every_path_matches_reference(exported):
    spec, cls, key = exported.spec, exported.cls, exported.key
    w0, grads = probe(key, steps_for(key))
    lr = lr_for(spec)
    results = {}
    for path, kw in {"foreach": {}, "per-tensor": {"foreach": False},
                     "differentiable": {"differentiable": True}}.items():
        params = parameters(w0, differentiable=path == "differentiable")
        results[path] = run(cls(params, lr=lr, **kw), params, grads)
    for foreach in (True, False):
        params = [torch.tensor(w) for w in w0]
        states = [[torch.zeros_like(p) for p in params] for _ in spec.states]
        steps = [torch.tensor(0.0) for _ in params]
        for g in grads:
            exported.function(params, [torch.tensor(x) for x in g], *states, steps, lr=lr,
                              foreach=foreach)
        results[f"functional foreach={foreach}"] = [p.numpy() for p in params]
        assert all(s.item() == len(grads) for s in steps)
    refs = reference_weights(spec, w0, grads, lr=lr)
    for path, actual in results.items():
        check_reference(f"{key} {path}", spec, actual, w0, grads, refs)
    for path in ("per-tensor", "functional foreach=True", "functional foreach=False"):
        assert_same(f"{key} {path} vs foreach", results[path], results["foreach"])


@pytest.mark.parametrize("exported", EVERY, indirect=True)
def test_groups_missing_grads_and_refusals(exported):
    spec, cls, key = exported.spec, exported.cls, exported.key
    w0, grads = probe(key, steps_for(key), seed=1)
    hypers = [h for h in spec.hyperparams if h.name != "lr"]
    other = {h.name: (h.low + h.high) / 2 if h.high < np.inf else h.default * 2 for h in hypers[:1]}
    first, second, idle = parameters(w0[:2]), parameters(w0[2:]), torch.nn.Parameter(torch.ones(4))
    opt = cls([{"params": first}, {"params": [*second, idle], "lr": 0.25, **other}],
              lr=lr_for(spec))
    run(opt, first + second, grads)
    check_reference(f"{key} group 1", spec, [p.detach().numpy() for p in first], w0[:2],
                    [g[:2] for g in grads], lr=lr_for(spec))
    check_reference(f"{key} group 2", spec, [second[0].detach().numpy()], w0[2:],
                    [g[2:] for g in grads], lr=0.25, hyper=other)
    assert torch.equal(idle.detach(), torch.ones(4)) and idle not in opt.state

    sparse = torch.nn.Parameter(torch.ones(3))
    sparse.grad = torch.ones(3).to_sparse()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        cls([sparse]).step()
    z = torch.nn.Parameter(torch.ones(2, dtype=torch.complex64))
    z.grad = torch.ones(2, dtype=torch.complex64)
    with pytest.raises(RuntimeError, match="does not support complex parameters"):
        cls([z]).step()


@pytest.mark.parametrize("exported", EVERY, indirect=True)
def test_state_round_trips_continue_exactly(exported):
    spec, cls, key = exported.spec, exported.cls, exported.key
    w0, grads = probe(key, steps_for(key), seed=2)
    half = len(grads) // 2
    params = parameters(w0)
    opt = cls(params, lr=lr_for(spec))
    run(opt, params, grads[:half])
    saved = copy.deepcopy(opt.state_dict())
    assert all(not any(k.startswith("_") for k in s) for s in saved["state"].values())
    clones = []
    loaded_params = [torch.nn.Parameter(p.detach().clone()) for p in params]
    loaded = cls(loaded_params)
    loaded.load_state_dict(saved)
    clones.append(("load_state_dict", loaded, loaded_params))
    for how, copier in (("deepcopy", copy.deepcopy), ("pickle", lambda o: pickle.loads(
            pickle.dumps(o)))):
        other = copier(opt)
        clones.append((how, other, other.param_groups[0]["params"]))
    want = run(opt, params, grads[half:])
    for how, other, other_params in clones:
        assert type(other) is cls
        assert_same(f"{key} after {how}", run(other, other_params, grads[half:]), want)


# ------------------------------------------------------------------ heavy checks


def _reference_run(spec, w0, grads, values, dtype=np.float32, decay=0.0, sign=1.0,
                   round_to=None):
    """The reference weights after ``grads``, with the group values ``values[k]`` (lr and
    hyperparameters) at step k, torch's decoupled weight decay and the gradient's sign."""
    f = np.dtype(dtype).type
    out = []
    for i in range(len(w0)):
        st = ReferenceStepper(spec, w0[i], lr=values[0]["lr"], dtype=dtype)
        with np.errstate(all="ignore"):
            for k, g in enumerate(grads):
                v = values[k]
                st.hyper.update({h.name: v[h.name] for h in spec.hyperparams})
                if not spec.has_lr:
                    st.lr_mult = v["lr"]
                if decay:
                    st.w = (st.w * f(1.0 - v["lr"] * decay)).astype(dtype)
                st.step(np.asarray(g[i], dtype) * f(sign))
                if round_to is not None:
                    st.w = round_to(st.w)
        out.append(st.w)
    return out


def _group_values(opt, spec):
    group = opt.param_groups[0]
    return {"lr": float(group["lr"]),
            **{h.name: float(group[h.name]) for h in spec.hyperparams if h.name != "lr"}}


@pytest.fixture(scope="module")
def heavy(exports):
    return {key: exports(key) for key in HEAVY}


def _stepped_with(spec, cls, w0, grads, schedule, **kw):
    params = parameters(w0)
    opt = cls(params, lr=lr_for(spec), **kw)
    sched = schedule(opt)
    values = []
    for k, g in enumerate(grads):
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi)
        opt.step()
        values.append(_group_values(opt, spec))  # as the step saw them (aliases synced)
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(float(k))  # a metric that never improves: the lr drops every step
        else:
            sched.step()
    return [p.detach().numpy() for p in params], values


SCHEDULERS = {
    "StepLR": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5),
    "OneCycleLR": lambda opt: torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=2 * opt.defaults["lr"], total_steps=40,
        cycle_momentum="betas" in opt.defaults or "momentum" in opt.defaults),
    "ReduceLROnPlateau": lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=0.5, patience=0),
}


@pytest.mark.parametrize("scheduler", list(SCHEDULERS))
@pytest.mark.parametrize("key", HEAVY)
def test_schedulers_drive_the_group_values(heavy, key, scheduler):
    spec, cls = heavy[key].spec, heavy[key].cls
    w0, grads = probe(key, 8, seed=3)
    actual, values = _stepped_with(spec, cls, w0, grads, SCHEDULERS[scheduler])
    assert len({v["lr"] for v in values}) > 1
    if scheduler == "OneCycleLR" and "betas" in cls(parameters(w0)).defaults:
        assert len({v["beta_1"] for v in values}) > 1  # betas[0] cycled, beta_1 followed
    r32 = _reference_run(spec, w0, grads, values)
    r64 = _reference_run(spec, w0, grads, values, dtype=np.float64)
    for i in range(len(w0)):
        check_agrees(f"{key} {scheduler} parameter {i}", actual[i], r32[i], r64[i])


@pytest.mark.parametrize("key", HEAVY)
def test_add_param_group_closure_and_noncontiguous_parameters(heavy, key):
    spec, cls = heavy[key].spec, heavy[key].cls
    w0, grads = probe(key, 6, seed=4)
    lr = lr_for(spec)
    # a group added after three steps starts its own step count
    params = parameters(w0)
    opt = cls(params[:2], lr=lr)
    run(opt, params[:2], [g[:2] for g in grads[:3]])
    opt.add_param_group({"params": params[2:]})
    run(opt, params, grads[3:])
    check_reference(f"{key} first group", spec, [p.detach().numpy() for p in params[:2]],
                    w0[:2], [g[:2] for g in grads], lr=lr)
    check_reference(f"{key} added group", spec, [params[2].detach().numpy()], w0[2:],
                    [g[2:] for g in grads[3:]], lr=lr)
    # the closure is evaluated with gradients enabled and its loss returned
    p = torch.nn.Parameter(torch.tensor(w0[1]))
    opt = cls([p], lr=lr)

    def closure():
        opt.zero_grad()
        loss = (p * torch.tensor(grads[0][1])).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(float((w0[1] * grads[0][1]).sum()), rel=1e-6)
    check_reference(f"{key} closure", spec, [p.detach().numpy()], [w0[1]], [[grads[0][1]]],
                    lr=lr)
    # a transposed (non-contiguous) parameter steps like its contiguous copy
    base = torch.tensor(np.stack([w0[0], w0[0] * 2]))  # (2, 3)
    q = torch.nn.Parameter(base.t())  # (3, 2), strides (1, 3)
    assert not q.is_contiguous()
    opt_t = cls([q], lr=lr)
    dense = torch.nn.Parameter(base.t().contiguous())
    opt_d = cls([dense], lr=lr)
    for g in grads:
        gt = torch.tensor(np.stack([g[0], g[0]])).t()
        q.grad, dense.grad = gt.clone(), gt.contiguous()
        opt_t.step()
        opt_d.step()
    np.testing.assert_array_equal(q.detach().numpy(), dense.detach().numpy())
    assert all(s.stride() == q.stride() for s in opt_t.state[q].values()
               if isinstance(s, torch.Tensor) and s.dim() == 2)


def _round(dtype):
    return lambda w: torch.tensor(w).to(dtype).float().numpy()


@pytest.mark.parametrize("dtype", ["float64", "bfloat16", "float16"])
@pytest.mark.parametrize("key", HEAVY)
def test_dtypes(heavy, key, dtype):
    spec, cls = heavy[key].spec, heavy[key].cls
    torch_dtype = getattr(torch, dtype)
    w0, grads = probe(key, 5, seed=5)
    if dtype != "float64":  # values representable in the half type, grads finite
        w0 = [_round(torch_dtype)(w) for w in w0]
        grads = [[_round(torch_dtype)(np.nan_to_num(x)) for x in g] for g in grads]
    lr = lr_for(spec)
    values = [{"lr": lr, **spec.defaults}] * len(grads)
    runs = {}
    for path, kw in {"foreach": {}, "per-tensor": {"foreach": False},
                     "differentiable": {"differentiable": True}}.items():
        params = parameters(w0, torch_dtype, differentiable=path == "differentiable")
        opt = cls(params, lr=lr, **kw)
        runs[path] = run(opt, params, grads, torch_dtype)
        assert all(p.dtype == torch_dtype for p in params)
        state_dtype = torch.float64 if dtype == "float64" else torch.float32
        assert all(v.dtype == state_dtype for s in opt.state.values() for k, v in s.items()
                   if k in spec.states)
    assert_same(f"{key} {dtype} per-tensor vs foreach", runs["per-tensor"], runs["foreach"])
    if dtype == "float64":
        for path, actual in runs.items():
            r64 = _reference_run(spec, w0, grads, values, dtype=np.float64)
            for i in range(len(w0)):
                np.testing.assert_allclose(actual[i], r64[i], rtol=1e-9, atol=1e-12,
                                           err_msg=f"{key} {path} parameter {i}")
        return
    # float32 arithmetic and states; the parameter rounded to its dtype after each step
    r32 = _reference_run(spec, w0, grads, values, round_to=_round(torch_dtype))
    for path, actual in runs.items():
        for i in range(len(w0)):
            np.testing.assert_allclose(actual[i], r32[i], rtol=2 ** -7, atol=1e-6,
                                       err_msg=f"{key} {dtype} {path} parameter {i}")


@pytest.mark.parametrize("key", HEAVY)
def test_loading_into_other_dtypes_casts_the_states(heavy, key):
    spec, cls = heavy[key].spec, heavy[key].cls
    w0, grads = probe(key, 4, seed=6)
    params = parameters(w0)
    opt = cls(params, lr=lr_for(spec))
    run(opt, params, grads)
    saved = opt.state_dict()
    for dtype, state_dtype in ((torch.float64, torch.float64), (torch.float16, torch.float32),
                               (torch.bfloat16, torch.float32)):
        other = [torch.nn.Parameter(p.detach().to(dtype)) for p in params]
        opt2 = cls(other)
        opt2.load_state_dict(saved)
        for p, q in zip(params, other):
            for s in spec.states:
                assert opt2.state[q][s].dtype == state_dtype
                np.testing.assert_array_equal(opt2.state[q][s].double().numpy(),
                                              opt.state[p][s].to(state_dtype).double().numpy())
            assert opt2.state[q]["step"].item() == len(grads)


@pytest.mark.parametrize("key", HEAVY)
def test_grad_scaler_hooks_weight_decay_and_maximize(heavy, key):
    spec, cls = heavy[key].spec, heavy[key].cls
    w0, grads = probe(key, 5, seed=7)
    grads = [[np.nan_to_num(x) for x in g] for g in grads]
    lr = lr_for(spec)
    values = [{"lr": lr, **spec.defaults}] * len(grads)
    # GradScaler: scaled gradients are unscaled before the step; an inf skips it
    params = parameters(w0)
    opt = cls(params, lr=lr)
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))
    for g in [*grads[:2], [np.full(s, np.inf, np.float32) for s in SHAPES], *grads[2:]]:
        opt.zero_grad()
        loss = sum((p * torch.tensor(gi)).sum() for p, gi in zip(params, g))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    assert calls == ["pre", "post"] * len(grads)  # the inf step did not run
    check_reference(f"{key} GradScaler", spec, [p.detach().numpy() for p in params], w0, grads,
                    lr=lr)
    # decoupled weight decay and maximize against the reference
    for kw, extra in (({"weight_decay": 0.1}, {"decay": 0.1}),
                      ({"maximize": True}, {"sign": -1.0})):
        params = parameters(w0)
        actual = run(cls(params, lr=lr, **kw), params, grads)
        r32 = _reference_run(spec, w0, grads, values, **extra)
        r64 = _reference_run(spec, w0, grads, values, dtype=np.float64, **extra)
        for i in range(len(w0)):
            check_agrees(f"{key} {kw} parameter {i}", actual[i], r32[i], r64[i])


COMPILED_STEPS = 12


@pytest.mark.slow
@pytest.mark.parametrize("key", HEAVY)
def test_compiled_training_step_does_not_recompile(heavy, key):
    """forward + backward + ``opt.step()`` under ``torch.compile``: after the warm-up steps
    (the first creates the states), no new graph; the weights as the reference's."""
    from torch._dynamo.utils import counters

    spec, cls = heavy[key].spec, heavy[key].cls
    w0, grads = probe(key, 3 + COMPILED_STEPS, seed=8)
    grads = [[np.nan_to_num(x) for x in g] for g in grads]
    params = parameters(w0)
    opt = cls(params, lr=lr_for(spec))
    torch._dynamo.reset()
    counters.clear()

    def train_step(gs):
        loss = sum((p * g).sum() for p, g in zip(params, gs))  # d loss / d p = g
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step = torch.compile(train_step, backend="eager")
    for k, g in enumerate(grads):
        step([torch.tensor(x) for x in g])
        if k == 2:
            graphs = counters["stats"]["unique_graphs"]
    assert counters["stats"]["unique_graphs"] == graphs, "recompiled after warm-up"
    check_reference(f"{key} compiled step", spec, [p.detach().numpy() for p in params], w0,
                    grads, lr=lr_for(spec))


@pytest.mark.slow
def test_inductor_compiled_step_matches_reference(heavy):
    """``opt.step()`` inside the caller's inductor-compiled function, for Adam (its scalars,
    computed from the step tensor, change every step; one eager step first creates the
    states, so that one graph is compiled). ``compile=True`` runs the same ``update_fused``
    under inductor for every catalog rule in tests/test_torch_export.py."""
    spec, cls = heavy["adam"].spec, heavy["adam"].cls
    w0, grads = probe("adam", 14, seed=9)
    params = parameters(w0)
    opt = cls(params, lr=lr_for(spec))
    run(opt, params, grads[:1])
    torch._dynamo.reset()
    actual = run(Stepper(torch.compile(opt.step)), params, grads[1:])
    check_reference("adam under inductor", spec, actual, w0, grads, lr=lr_for(spec))


class Stepper:
    """What :func:`run` needs of an optimizer: a ``step()``."""

    def __init__(self, step):
        self.step = step
