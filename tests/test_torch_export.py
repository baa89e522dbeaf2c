"""Generated torch modules (symalr.render.torch_module.torch_source, see docs/code-generation.md).

One table (the catalog) drives the numerical suite: every path of every catalog optimizer
(per-tensor, foreach, compiled, the TorchScript function) against the NumPy reference stepper
over 50 float32 steps, NaN positions included; the hand-made ones against torch.optim. Then the
optimizer contract (defaults, validation, lazy state, state_dict, schedulers, param groups) and
the standalone export through the CLI in a fresh process.
"""

from __future__ import annotations

import copy
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from symalr import catalog  # noqa: E402
from symalr.errors import ExportError  # noqa: E402
from symalr.reference import ReferenceStepper, run_reference  # noqa: E402
from symalr.render.naming import default_class_name  # noqa: E402
from symalr.render.torch_module import torch_source  # noqa: E402
from symalr.spec import HyperParam, make_spec  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script.*deprecated:DeprecationWarning")
ROOT = Path(__file__).resolve().parents[1]
SHAPES = [(3,), (4, 5), (2, 3, 4), ()]
STEPS = 50
RTOL, ATOL = 1e-5, 1e-6
#: Gradient scale per optimizer: Eq. 8 is chaotic for larger gradients (float32 and float64
#: references themselves part ways), so it is tested where it is stable.
GRAD_SCALE = {"ades-eq8": 0.1}


def load_module(source: str, name: str, folder: Path):
    """Import generated source from a real file (TorchScript needs the source on disk),
    registered in ``sys.modules`` as an imported module is (dynamo looks modules up there)."""
    path = folder / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torch_modules")
    return {
        s.name: load_module(torch_source(s), s.name.replace("-", "_") + "_gen", folder)
        for s in catalog.all_specs()
    }


def problem(name: str, seed: int = 0):
    """Initial weights and 50 steps of gradients for SHAPES; step 10 has a NaN gradient in one
    position and some exact zeros, so NaN propagation and zero handling are compared too."""
    rng = np.random.default_rng(seed)
    scale = GRAD_SCALE.get(name, 0.5)
    w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [[(rng.normal(size=s) * scale).astype(np.float32) for s in SHAPES]
             for _ in range(STEPS)]
    grads[10][1][1, 2] = np.nan
    grads[10][2][0, 1, :2] = 0.0
    return w0, grads


def reference(spec, w0, grads, lr=None):
    return [run_reference(spec, w0[i], [g[i] for g in grads], lr=lr)[-1]
            for i in range(len(w0))]


def assert_agrees(actual, expected, rtol=RTOL, atol=ATOL):
    for a, e in zip(actual, expected):
        a = np.asarray(a)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(e))
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)


def run_optimizer(cls, w0, grads, **kw):
    params = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
    opt = cls(params, **kw)
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi)
        opt.step()
    return [p.detach().numpy() for p in params]


def run_scripted(module, spec, w0, grads):
    """The TorchScript-compiled per-tensor function, driven by hand."""
    fn = module.scripted_update_tensor()
    assert isinstance(fn, torch.jit.ScriptFunction)
    hyper = [h.default for h in spec.hyperparams if h.name != "lr"]
    lr = spec.hyperparam("lr").default if spec.has_lr else 1.0
    out = []
    for i, w in enumerate(w0):
        p = torch.tensor(w)
        states = [torch.zeros_like(p) for _ in spec.states]
        scratch = [torch.empty_like(p) for _ in range(module._SLOTS)]
        for k, g in enumerate(grads, start=1):
            args = [p, torch.tensor(g[i]), *states, scratch, lr, *hyper] + (
                [k] if spec.uses_step else [])
            fn(*args)
        out.append(p.numpy())
    return out


@pytest.mark.parametrize("name", catalog.NAMES)
@pytest.mark.parametrize("path", ["per-tensor", "foreach", "torchscript",
                                  pytest.param("compiled", marks=pytest.mark.slow)])
def test_catalog_matches_reference(modules, name, path):
    spec = catalog.get(name)
    w0, grads = problem(name)
    expected = reference(spec, w0, grads)
    cls = getattr(modules[name], default_class_name(spec))
    if path == "torchscript":
        actual = run_scripted(modules[name], spec, w0, grads)
    else:
        actual = run_optimizer(cls, w0, grads, foreach=path == "foreach",
                               compile=path == "compiled")
    assert any(np.isnan(a).any() for a in actual)  # the NaN gradient propagated somewhere
    assert_agrees(actual, expected)


@pytest.mark.parametrize("name", ["ades", "sign"])
def test_group_lr_multiplies_or_is_the_rule_lr(modules, name):
    spec = catalog.get(name)
    w0, grads = problem(name, seed=3)
    cls = getattr(modules[name], default_class_name(spec))
    for foreach in (False, True):
        actual = run_optimizer(cls, w0, grads, lr=0.25, foreach=foreach)
        assert_agrees(actual, reference(spec, w0, grads, lr=0.25))


# ----------------------------------------------------------------------------- torch built-ins

BUILTINS = {
    # name: (our hyperparameters, the torch.optim equivalent)
    "sgd": ({"lr": 0.05}, lambda p: torch.optim.SGD(p, lr=0.05)),
    "momentum": ({"lr": 0.05, "momentum": 0.9},
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "nesterov": ({"lr": 0.05, "momentum": 0.9},
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    # torch adds eps outside sqrt(v) after bias correction, Keras (and we) inside/before:
    # with a negligible epsilon on both sides the update rules are the same.
    "rmsprop": ({"lr": 0.01, "rho": 0.9, "epsilon": 1e-12},
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-12)),
    "adam": ({"lr": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-12},
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999), eps=1e-12)),
}


@pytest.mark.parametrize("name", list(BUILTINS))
@pytest.mark.parametrize("foreach", [False, True])
def test_matches_torch_optim(modules, name, foreach):
    spec = catalog.get(name)
    hyper, builtin = BUILTINS[name]
    rng = np.random.default_rng(5)
    w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES[:3]]
    grads = [[rng.normal(size=s).astype(np.float32) for s in SHAPES[:3]] for _ in range(STEPS)]
    cls = getattr(modules[name], default_class_name(spec))
    ours = run_optimizer(cls, w0, grads, foreach=foreach, **hyper)
    theirs = run_optimizer(lambda p, **_: builtin(p), w0, grads)
    assert_agrees(ours, theirs, rtol=1e-5, atol=2e-6)


# ----------------------------------------------------------------------------- the contract


def _ades(modules):
    return modules["ades"].ADES


def test_defaults_and_groups(modules):
    ADES = _ades(modules)
    a, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    opt = ADES([{"params": [a]}, {"params": [b], "beta_1": 0.5}], lr=0.5)
    assert opt.defaults == {"lr": 0.5, "beta_1": 0.08922, "beta_2": 0.0891,
                            "betas": (0.08922, 0.0891), "weight_decay": 0.0, "maximize": False,
                            "foreach": None, "compile": False, "differentiable": False}
    assert opt.param_groups[1]["beta_1"] == 0.5 and opt.param_groups[0]["beta_1"] == 0.08922
    assert opt.param_groups[1]["betas"] == (0.5, 0.0891)
    spec = catalog.get("ades")
    for p in (a, b):
        p.grad = torch.full_like(p, 0.3)
    opt.step()
    want_a = run_reference(spec, np.ones(3, np.float32), [np.full(3, 0.3, np.float32)], lr=0.5)
    want_b = run_reference(spec.with_defaults({"beta_1": 0.5}), np.ones(2, np.float32),
                           [np.full(2, 0.3, np.float32)], lr=0.5)
    assert_agrees([a.detach().numpy(), b.detach().numpy()], [want_a[-1], want_b[-1]])


@pytest.mark.parametrize(
    "kwargs, message",
    [({"beta_1": -1.0}, r"Invalid beta_1 value: -1\.0 \(must be in \[0, 1\]\)"),
     ({"beta_2": 1.5}, r"Invalid beta_2 value: 1\.5 \(must be in \[0, 1\]\)"),
     ({"lr": -0.1}, r"Invalid lr value: -0\.1 \(must be >= 0\)"),
     ({"beta_1": float("nan")}, r"Invalid beta_1 value: nan"),
     ({"beta_1": True}, r"Invalid beta_1 value: True")],
)
def test_eager_validation(modules, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _ades(modules)([torch.nn.Parameter(torch.ones(2))], **kwargs)


def test_lr_bounds_come_from_the_spec_unless_lr_only_scales_the_update(modules):
    p = [torch.nn.Parameter(torch.ones(2))]
    # momentum's lr scales the gradient inside the state: the spec's range [0, 1] holds
    with pytest.raises(ValueError, match=r"Invalid lr value: 2\.0 \(must be in \[0, 1\]\)"):
        modules["momentum"].Momentum(p, lr=2.0)
    # Adam's (and ADES's group) lr only multiplies the weight update: any lr >= 0
    assert modules["adam"].Adam(p, lr=2.0).defaults["lr"] == 2.0
    assert modules["ades"].ADES(p, lr=50.0).defaults["lr"] == 50.0


def test_state_is_created_lazily_and_only_for_parameters_with_gradients(modules):
    a, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    opt = modules["adam"].Adam([a, b])
    assert len(opt.state) == 0
    a.grad = torch.ones(3)
    opt.step()
    assert set(opt.state) == {a}
    assert set(opt.state[a]) == {"step", "m", "v", "_scratch"}
    assert opt.state[a]["step"].dtype == torch.float32 and opt.state[a]["step"] == 1
    assert set(opt.state_dict()["state"][0]) == {"step", "m", "v"}
    assert torch.equal(b.detach(), torch.ones(2))


def test_state_dict_round_trip(modules):
    ADES = _ades(modules)
    rng = np.random.default_rng(7)
    grads = [torch.tensor(rng.normal(size=(4, 3)).astype(np.float32)) for _ in range(10)]
    p1 = torch.nn.Parameter(torch.ones(4, 3))
    opt1 = ADES([p1], beta_1=0.3)
    for g in grads[:5]:
        p1.grad = g.clone()
        opt1.step()
    saved = copy.deepcopy(opt1.state_dict())
    p2 = torch.nn.Parameter(p1.detach().clone())
    opt2 = ADES([p2])
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["beta_1"] == 0.3
    for g in grads[5:]:
        for p, o in ((p1, opt1), (p2, opt2)):
            p.grad = g.clone()
            o.step()
    assert torch.equal(p1, p2)


def test_lr_scheduler_drives_the_update_multiplier(modules):
    p = torch.nn.Parameter(torch.ones(3))
    opt = _ades(modules)([p])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.0)
    assert opt.param_groups[0]["lr"] == 0.0
    p.grad = torch.ones(3)
    opt.step()
    sched.step()
    assert torch.equal(p.detach(), torch.ones(3))  # lr 0: the state moved, the weights not
    assert opt.state[p]["y"].abs().sum() > 0


def test_mixed_dtypes_are_stepped_in_separate_buckets(modules):
    spec = catalog.get("adam")
    rng = np.random.default_rng(2)
    w = rng.normal(size=(3, 2))
    gs = [rng.normal(size=(3, 2)) for _ in range(5)]
    p32 = torch.nn.Parameter(torch.tensor(w, dtype=torch.float32))
    p64 = torch.nn.Parameter(torch.tensor(w, dtype=torch.float64))
    opt = modules["adam"].Adam([p32, p64], lr=0.01)
    for g in gs:
        p32.grad = torch.tensor(g, dtype=torch.float32)
        p64.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    assert p64.dtype == torch.float64
    want64 = run_reference(spec, w, gs, hyper={"lr": 0.01}, dtype=np.float64)[-1]
    np.testing.assert_allclose(p64.detach().numpy(), want64, rtol=1e-12)
    want32 = run_reference(spec, w.astype(np.float32), [g.astype(np.float32) for g in gs],
                           hyper={"lr": 0.01})[-1]
    assert_agrees([p32.detach().numpy()], [want32])


def test_sparse_gradients_are_rejected(modules):
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3).to_sparse()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        _ades(modules)([p]).step()


def test_closure_is_evaluated_with_grad_enabled(modules):
    p = torch.nn.Parameter(torch.tensor([2.0]))
    opt = _ades(modules)([p])

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 4.0
    assert p.item() != 2.0


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize("lr", [np.float32(0.25), np.float64(0.25), torch.tensor(0.25),
                                torch.tensor([0.25]), 0.25],
                         ids=["np.float32", "np.float64", "0-d tensor", "1-element tensor",
                              "float"])
def test_lr_may_be_a_numpy_scalar_or_a_tensor(modules, lr):
    spec = catalog.get("adam")
    w0, grads = problem("adam", seed=4)
    grads = grads[:5]
    actual = run_optimizer(modules["adam"].Adam, w0, grads, lr=lr)
    assert_agrees(actual, reference(spec, w0, grads, lr=0.25))


@pytest.mark.parametrize(
    "lr, message",
    [("0.1", r"Invalid lr value: '0\.1' \(must be a real number >= 0, or a one-element tensor\)"),
     (torch.tensor([0.1, 0.2]), r"Invalid lr value: tensor\(\[0\.1000, 0\.2000\]\) \(a tensor "
                                r"lr must hold one real number\)"),
     (np.float32(-1.0), r"Invalid lr value: -1\.0 \(must be >= 0\)"),
     (torch.tensor(-1.0), r"Invalid lr value: tensor\(-1\.\) \(must be >= 0\)"),
     (None, r"Invalid lr value: None \(must be a real number >= 0")],
)
def test_bad_lr_messages_say_what_is_wrong(modules, lr, message):
    with pytest.raises(ValueError, match=message):
        _ades(modules)([torch.nn.Parameter(torch.ones(2))], lr=lr)


def test_betas_and_eps_are_aliases_kept_in_sync(modules):
    Adam = modules["adam"].Adam
    p = torch.nn.Parameter(torch.ones(2))
    opt = Adam([p], betas=(0.8, 0.99), eps=1e-8)
    assert (opt.defaults["beta_1"], opt.defaults["beta_2"], opt.defaults["epsilon"]) == (
        0.8, 0.99, 1e-8)
    assert opt.defaults["betas"] == (0.8, 0.99) and opt.defaults["eps"] == 1e-8
    with pytest.raises(ValueError, match=r"betas=\(0\.8, 0\.99\) and beta_1=0\.5 disagree"):
        Adam([p], betas=(0.8, 0.99), beta_1=0.5)
    with pytest.raises(ValueError, match=r"Invalid betas value: \(0\.8,\) \(must be a tuple of "
                                         r"2 numbers: beta_1, beta_2\)"):
        Adam([p], betas=(0.8,))
    with pytest.raises(ValueError, match=r"Invalid beta_2 value: 1\.5"):
        Adam([p], betas=(0.8, 1.5))
    q = torch.nn.Parameter(torch.ones(3))
    opt.add_param_group({"params": [q], "betas": (0.5, 0.9)})
    assert (opt.param_groups[1]["beta_1"], opt.param_groups[1]["beta_2"]) == (0.5, 0.9)
    with pytest.raises(ValueError, match="give only one of them"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "betas": (0.5, 0.9),
                             "beta_1": 0.4})
    # whichever name changed between steps wins, and the other follows at the step
    group = opt.param_groups[0]
    p.grad = torch.ones(2)
    group["betas"] = (0.7, 0.99)
    opt.step()
    assert group["beta_1"] == 0.7
    group["beta_1"] = 0.6
    group["eps"] = 1e-6
    opt.step()
    assert group["betas"] == (0.6, 0.99) and group["epsilon"] == 1e-6
    # a state_dict keeps both, deepcopy and pickling too
    clone = copy.deepcopy(opt)
    assert clone.param_groups[0]["betas"] == (0.6, 0.99) and clone.param_groups[0]["beta_1"] == 0.6


def test_one_cycle_lr_cycles_the_first_beta_of_generated_adam(modules):
    spec = catalog.get("adam")
    w0, grads = problem("adam", seed=6)
    grads = grads[:8]
    params = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
    opt = modules["adam"].Adam(params, lr=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=10)  # cycle_momentum
    steppers = [ReferenceStepper(spec, w) for w in w0]
    seen = []
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi)
        opt.step()
        group = opt.param_groups[0]
        seen.append(group["beta_1"])
        for st, gi in zip(steppers, g):
            st.hyper.update(lr=group["lr"], beta_1=group["beta_1"])
            st.step(gi)
        sched.step()
    assert seen[0] == 0.95 and len(set(seen)) == len(seen)  # max_momentum first, then cycled
    assert_agrees([p.detach().numpy() for p in params], [st.w for st in steppers])


def test_decoupled_weight_decay_and_maximize_match_torch_adamw_and_adam(modules):
    rng = np.random.default_rng(8)
    w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES[:3]]
    grads = [[rng.normal(size=s).astype(np.float32) for s in SHAPES[:3]] for _ in range(20)]
    hyper = {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-12}
    for foreach in (True, False):
        for ours, theirs in (
            ({"weight_decay": 0.1}, lambda p: torch.optim.AdamW(p, weight_decay=0.1, **hyper)),
            ({"maximize": True}, lambda p: torch.optim.Adam(p, maximize=True, **hyper)),
        ):
            got = run_optimizer(modules["adam"].Adam, w0, grads, foreach=foreach, **hyper, **ours)
            want = run_optimizer(lambda p, theirs=theirs, **_: theirs(p), w0, grads)
            assert_agrees(got, want, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_states_are_float32(modules, dtype):
    """Gradients of 1e-4: their squares underflow in float16, so torch's float16 Adam divides
    by epsilon; generated Adam keeps m and v in float32 and takes the right step."""
    spec = catalog.get("adam")
    g = np.full(4, 1e-4, np.float32)
    w0 = np.linspace(-1, 1, 4).astype(np.float32)
    w0 = torch.tensor(w0).to(dtype).float().numpy()
    want = run_reference(spec, w0, [g] * 3, lr=1e-3)[-1]
    for kw in ({}, {"foreach": False}):
        p = torch.nn.Parameter(torch.tensor(w0, dtype=dtype))
        opt = modules["adam"].Adam([p], lr=1e-3, **kw)
        for _ in range(3):
            p.grad = torch.tensor(g, dtype=dtype)
            opt.step()
        assert p.dtype == dtype and opt.state[p]["v"].dtype == torch.float32
        np.testing.assert_allclose(p.detach().float().numpy(), want, atol=0.01)
    if dtype == torch.float16:  # torch's own: v underflows to 0, the step is lr*m/eps
        p = torch.nn.Parameter(torch.tensor(w0, dtype=dtype))
        theirs = torch.optim.Adam([p], lr=1e-3, eps=1e-7)
        for _ in range(3):
            p.grad = torch.tensor(g, dtype=dtype)
            theirs.step()
        assert np.abs(p.detach().float().numpy() - want).max() > 0.1


def test_a_tensor_lr_changed_by_a_scheduler_does_not_recompile_a_compiled_step(modules):
    from torch._dynamo.utils import counters

    w = [torch.nn.Parameter(torch.randn(3))]
    opt = modules["adam"].Adam(w, lr=torch.tensor(0.01))
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    torch._dynamo.reset()
    counters.clear()

    def train_step():
        (w[0] * 2.0).sum().backward()
        opt.step()
        opt.zero_grad()

    step = torch.compile(train_step, backend="eager")
    for k in range(8):
        step()
        sched.step()
        if k == 2:
            graphs = counters["stats"]["unique_graphs"]
    assert counters["stats"]["unique_graphs"] == graphs
    assert opt.param_groups[0]["lr"].item() == pytest.approx(0.01 * 0.5**8)


@pytest.mark.slow
def test_half_precision_compiled_path_agrees(modules):
    w0, grads = problem("adam", seed=9)
    grads = grads[:6]
    runs = []
    for kw in ({}, {"foreach": False}, {"compile": True}):
        params = [torch.nn.Parameter(torch.tensor(w, dtype=torch.float16)) for w in w0]
        opt = modules["adam"].Adam(params, lr=1e-3, **kw)
        for g in grads:
            for p, gi in zip(params, g):
                p.grad = torch.tensor(gi, dtype=torch.float16)
            opt.step()
        runs.append([p.detach().float().numpy() for p in params])
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(runs[0], runs[2]):  # inductor may round float32 differently: one half ulp
        np.testing.assert_allclose(a, b, rtol=2**-10, atol=1e-6)


@pytest.mark.parametrize("name", ["ades", "adam"])
def test_differentiable_step_has_correct_gradients(modules, name):
    """``differentiable=True``: the step's result differentiated w.r.t. the gradient, the old
    state and a tensor lr, checked against finite differences (float64)."""
    spec = catalog.get(name)
    cls = getattr(modules[name], default_class_name(spec))
    rng = np.random.default_rng(10)
    w = torch.tensor(rng.normal(size=4), requires_grad=True)
    g = torch.tensor(rng.normal(size=4), requires_grad=True)
    s0 = torch.tensor(rng.normal(size=4) * 0.1, requires_grad=True)
    lr = torch.tensor(0.5 if name == "ades" else 0.01, dtype=torch.float64, requires_grad=True)
    state = spec.states[0]

    def stepped(w, g, s0, lr):
        p = w.clone()
        opt = cls([p], lr=lr, differentiable=True)
        p.grad = g
        opt.step()  # creates the state
        opt.state[p][state] = s0.clone()
        p.grad = g * 2
        opt.step()
        return p, opt.state[p][state]

    assert torch.autograd.gradcheck(stepped, (w, g, s0, lr))


def test_functional_form_is_the_class_step(modules):
    spec = catalog.get("adam")
    w0, grads = problem("adam", seed=11)
    grads = grads[:8]
    want = run_optimizer(modules["adam"].Adam, w0, grads, lr=0.01, weight_decay=0.01,
                         maximize=True)
    for foreach in (None, False):
        params = [torch.tensor(w) for w in w0]
        ms, vs = ([torch.zeros_like(p) for p in params] for _ in range(2))
        steps = [torch.tensor(0.0) for _ in params]
        for g in grads:
            modules["adam"].adam(params, [torch.tensor(x) for x in g], ms, vs, steps, lr=0.01,
                                 weight_decay=0.01, maximize=True, foreach=foreach)
        for a, b in zip([p.numpy() for p in params], want):
            np.testing.assert_array_equal(a, b)
    assert spec.states == ("m", "v")


class _Allocations:
    """Records the operations that return a new tensor of at least ``limit`` bytes (a tensor
    none of their inputs holds), through a ``TorchDispatchMode``."""

    def __init__(self, limit: int):
        from torch.utils._python_dispatch import TorchDispatchMode

        outer = self
        self.limit, self.found = limit, []

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                out = func(*args, **kwargs)
                seen = {t.untyped_storage().data_ptr() for t in _tensors((args, kwargs))}
                for t in _tensors(out):
                    if t.untyped_storage().data_ptr() not in seen and t.nbytes >= outer.limit:
                        outer.found.append(str(func))
                return out

        self.mode = Mode()


def _tensors(x):
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, (list, tuple)):
        for y in x:
            yield from _tensors(y)
    elif isinstance(x, dict):
        for y in x.values():
            yield from _tensors(y)


@pytest.mark.parametrize("name", catalog.NAMES)
def test_steps_after_the_first_allocate_no_parameter_sized_tensor(modules, name):
    """The default and per-tensor paths write temporaries into scratch buffers kept across
    steps (so that glibc's malloc has nothing to unmap and fault back in every step); also
    with maximize, weight decay and bfloat16 parameters (float32 work buffers)."""
    spec = catalog.get(name)
    cls = getattr(modules[name], default_class_name(spec))
    for kw in ({}, {"foreach": False}, {"maximize": True, "weight_decay": 0.1},
               {"dtype": torch.bfloat16}):
        dtype = kw.pop("dtype", torch.float32)
        params = [torch.nn.Parameter(torch.randn(64, 64, dtype=dtype)) for _ in range(3)]
        opt = cls(params, **kw)
        for p in params:
            p.grad = torch.randn_like(p) * 0.01
        opt.step()
        counter = _Allocations(limit=64 * 64 * 2)
        with counter.mode:
            opt.step()
            opt.step()
        assert counter.found == [], (name, kw, dtype)


@pytest.mark.parametrize("name", catalog.NAMES)
def test_the_accelerator_branch_of_the_multi_tensor_path_gives_the_same_bits(name, tmp_path):
    """Off the CPU a write into a scratch slot is ``_foreach_copy_`` + an in-place
    ``_foreach`` operation; that branch, forced on the CPU, equals the CPU's ``out=`` loop."""
    spec = catalog.get(name)
    source = torch_source(spec)
    test = '_cpu = params[0].device.type == "cpu"'
    assert (test in source) == (name not in ("sgd", "momentum", "sign"))
    forced = load_module(source.replace(test, "_cpu = False"), f"forced_{name.replace('-', '_')}",
                         tmp_path)
    w0, grads = problem(name, seed=13)
    cls = default_class_name(spec)
    ours = run_optimizer(getattr(forced, cls), w0, grads[:12])
    want = run_optimizer(getattr(load_module(source, f"cpu_{name.replace('-', '_')}", tmp_path),
                                 cls), w0, grads[:12])
    for a, b in zip(ours, want):
        np.testing.assert_array_equal(a, b)


def test_state_dicts_with_integer_steps_still_load(modules):
    """Modules exported before the step became a tensor saved it as an int."""
    w0, grads = problem("adam", seed=12)
    params = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
    opt = modules["adam"].Adam(params, lr=0.01)
    for g in grads[:3]:
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi)
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    for s in saved["state"].values():
        s["step"] = int(s["step"].item())
    other = [torch.nn.Parameter(p.detach().clone()) for p in params]
    opt2 = modules["adam"].Adam(other, lr=0.01)
    opt2.load_state_dict(saved)
    for g in grads[3:6]:
        for o, ps in ((opt, params), (opt2, other)):
            for p, gi in zip(ps, g):
                p.grad = torch.tensor(gi)
            o.step()
    for a, b in zip(params, other):
        assert torch.equal(a, b)


@pytest.mark.slow
def test_compiled_path_does_not_recompile_when_values_change(modules):
    from torch._dynamo.utils import counters

    p = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(4))]
    opt = modules["adam"].Adam(p, lr=0.01, compile=True)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    graphs = None
    for k in range(6):
        for q in p:
            q.grad = torch.randn_like(q)
        opt.step()
        sched.step()
        opt.param_groups[0]["beta_1"] = 0.9 - 0.01 * k
        if graphs is None:
            graphs = counters["stats"]["unique_graphs"]
    assert counters["stats"]["unique_graphs"] == graphs


# ----------------------------------------------------------------------------- export errors


def test_class_names():
    assert [default_class_name(s) for s in catalog.all_specs()] == [
        "ADES", "ADESEq8", "Sign", "SGD", "Momentum", "Nesterov", "RMSprop", "Adam"]
    spec = make_spec("my-rule_2", [], "-lr*g", [HyperParam("lr", 0.1)])
    assert default_class_name(spec) == "MyRule2"
    for bad in ("1abc", "class", "torch", "Tensor", "a-b"):
        with pytest.raises(ExportError, match="invalid class name"):
            torch_source(spec, class_name=bad)


def test_hyperparameter_names_that_cannot_be_arguments():
    spec = make_spec("k", [], "-foreach*g", [HyperParam("foreach", 0.1)])
    with pytest.raises(ExportError, match="'foreach' clashes"):
        torch_source(spec)


def test_names_that_would_shadow_are_renamed(tmp_path):
    spec = make_spec("shadow", [("torch", "0.5*torch + g"), ("param", "param + grad*g")],
                     "-grad*torch", [HyperParam("grad", 0.1)])
    module = load_module(torch_source(spec), "shadow_gen", tmp_path)
    w0, grads = [np.ones(3, np.float32)], [[np.full(3, 0.5, np.float32)]] * 3
    for foreach in (False, True):
        got = run_optimizer(module.Shadow, w0, grads, foreach=foreach)
        assert_agrees(got, reference(spec, w0, grads))


# ----------------------------------------------------------------------------- standalone use

TRAIN_SCRIPT = textwrap.dedent(
    """
    import io, sys
    import torch
    from ades import ADES

    leaked = sorted(m for m in sys.modules if m.split(".")[0] in {"symalr", "sympy", "tensorflow"})
    assert not leaked, leaked
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    y = x @ torch.randn(8, 1) + 0.1 * torch.randn(256, 1)

    def make():
        torch.manual_seed(1)
        return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))

    def train(model, opt, steps, start):
        losses = []
        for k in range(start, start + steps):
            xb, yb = x[(k * 32) % 256:][:32], y[(k * 32) % 256:][:32]
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    model = make()
    opt = ADES(model.parameters())
    first = train(model, opt, 40, 0)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    rest = train(model, opt, 40, 40)
    assert sum(rest[-10:]) < 0.5 * sum(first[:10]), (first[:10], rest[-10:])

    buf.seek(0)
    saved = torch.load(buf)
    model2 = make()
    model2.load_state_dict(saved["model"])
    opt2 = ADES(model2.parameters())
    opt2.load_state_dict(saved["opt"])
    rest2 = train(model2, opt2, 40, 40)
    assert rest2 == rest
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters()))
    print("ok", first[0], rest[-1])
    """
)


@pytest.mark.slow
def test_exported_module_trains_standalone(tmp_path):
    with open(tmp_path / "ades.py", "w") as out:
        subprocess.run([sys.executable, "-m", "symalr.cli", "export", "ades", "--backend",
                        "torch"], stdout=out, check=True, cwd=ROOT, timeout=120)
    (tmp_path / "train.py").write_text(TRAIN_SCRIPT)
    result = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, env={"PATH": "/usr/bin:/bin",
                                                         "OMP_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_cli_export_writes_file_and_reports_on_stderr(tmp_path):
    from symalr.cli import main

    out = tmp_path / "m.py"
    assert main(["export", "momentum", "--backend", "tf", "--class-name", "Mom", "-o",
                 str(out)]) == 0
    assert "class Mom(keras.optimizers.Optimizer)" in out.read_text()


def test_cli_export_stdout_and_errors(capsys):
    from symalr.cli import main

    assert main(["export", "sgd"]) == 0
    captured = capsys.readouterr()
    assert captured.out == torch_source(catalog.get("sgd")) and captured.err == ""
    assert main(["export", "sgd", "--class-name", "not valid"]) == 2
    assert "invalid class name" in capsys.readouterr().err
    assert main(["export", "no-such-optimizer"]) == 2
    assert "unknown optimizer" in capsys.readouterr().err
