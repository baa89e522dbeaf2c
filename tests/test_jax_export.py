"""Generated JAX / optax modules (symalr.render.jax_module.jax_source).

The optax transformation against the NumPy reference stepper under ``jax.jit``: every catalog
optimizer (50 steps on a nested pytree of four leaves, one 0-d, with a NaN gradient and exact
zeros at step 10) and 50 random individuals of each shipped grammar (5 steps of N(0, 1)
gradients, so NaNs from sqrt/pow of negatives, with exact zeros at steps 1, 3 and 5 so that
``divide_no_nan`` takes its zero branch); dtypes (float32 stays float32 with
``jax_enable_x64``, float64 follows a float64 reference, half precisions are kept); schedules,
``optax.inject_hyperparams``, ``optax.chain``, eager validation; and the torch, Keras and
optax exports of the same spec agreeing on one gradient sequence.

jax and optax are in the ``all`` extra that CI installs: a missing jax is an import error here,
not a skip.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from symalr import catalog
from symalr.errors import ExportError, SpecError
from symalr.reference import ReferenceStepper, run_reference
from symalr.regenerate import GENERATED
from symalr.render.jax_module import jax_source
from symalr.render.naming import default_class_name, function_name
from symalr.spec import HyperParam, make_spec, spec_from_json
from tests.export_support import (
    SHOWCASE_INDIVIDUALS,
    check_agrees,
    load_module,
    random_specs,
    references,
)

SHAPES = [(3,), (4, 5), (2, 3, 4), ()]
STEPS = 50
GRAD_SCALE = {"ades-eq8": 0.1}  # Eq. 8 is chaotic for larger gradients (tests/test_tf_export.py)
PER_GRAMMAR = 50


def transformation(spec, folder: Path, class_name: str | None = None, stem: str | None = None):
    """The exported factory (``ades``, ...) of ``spec``, imported from a file."""
    stem = stem or "j_" + spec.name.replace("-", "_").replace(".", "_").replace("+", "_")
    module = load_module(jax_source(spec, class_name), stem, folder)
    return getattr(module, function_name(spec, class_name))


def tree(leaves):
    """A nested pytree holding ``leaves`` (dicts, a list, a 0-d leaf)."""
    a, b, c, *rest = [jnp.asarray(x) for x in leaves]
    return {"a": a, "b": [b, {"c": c}], **({"d": rest[0]} if rest else {})}


def leaves_of(t) -> list[np.ndarray]:
    return [np.asarray(t["a"]), np.asarray(t["b"][0]), np.asarray(t["b"][1]["c"]),
            *([np.asarray(t["d"])] if "d" in t else [])]


def run(tx, w0, grads):
    """Params after stepping ``tx`` under ``jax.jit`` (``optax.apply_updates``), and the state."""
    params = tree(w0)
    state = tx.init(params)

    @jax.jit
    def step(params, state, g):
        updates, state = tx.update(g, state, params)
        return optax.apply_updates(params, updates), state

    for g in grads:
        params, state = step(params, state, tree(g))
    return params, state


def catalog_problem(name: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    scale = GRAD_SCALE.get(name, 0.5)
    w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [[(rng.normal(size=s) * scale).astype(np.float32) for s in SHAPES]
             for _ in range(STEPS)]
    grads[10][1][1, 2] = np.nan
    grads[10][2][0, 1, :2] = 0.0
    return w0, grads


@pytest.fixture(scope="module")
def factories(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jax_modules")
    return {n: transformation(catalog.get(n), folder) for n in catalog.NAMES}


@pytest.mark.parametrize("name", catalog.NAMES)
def test_catalog_matches_reference_under_jit(factories, name):
    spec = catalog.get(name)
    w0, grads = catalog_problem(name)
    params, state = run(factories[name](), w0, grads)
    assert int(state.count) == STEPS
    for i, got in enumerate(leaves_of(params)):
        assert got.dtype == np.float32
        r32, r64 = references(spec, w0[i], [g[i] for g in grads])
        check_agrees(f"{name} leaf {i}", got, r32, r64)


@pytest.mark.slow
@pytest.mark.parametrize("grammar", ["alr", "alr-grad"])
def test_random_individuals_match_reference_under_jit(grammar, tmp_path):
    nan_seen = 0
    for k, (label, spec) in enumerate(random_specs(grammar, PER_GRAMMAR)):
        rng = np.random.default_rng(k)
        w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES[:3]]
        grads = [[rng.normal(size=s).astype(np.float32) for s in SHAPES[:3]] for _ in range(5)]
        for g in grads[::2]:  # exact zeros: divide_no_nan's zero branch (states start at 0)
            for x in g:
                x.flat[0] = 0.0
        factory = transformation(spec, tmp_path, "Evolved", stem=f"ind_{k}")
        params, _ = run(factory(), w0, grads)
        for i, got in enumerate(leaves_of(params)):
            r32, r64 = references(spec, w0[i], [g[i] for g in grads])
            nan_seen += bool(np.isnan(r32).any())
            check_agrees(f"{label} leaf {i}", got, r32, r64)
    assert nan_seen > 5  # the inputs do exercise NaN semantics


def test_golden_modules_are_what_is_rendered():
    """generated/<name>_jax.py is importable as is and defines the factory (the content is
    compared with the renderer by tests/test_generated.py)."""
    for name in catalog.NAMES:
        stem = name.replace("-", "_")
        text = (GENERATED / f"{stem}_jax.py").read_text(encoding="utf-8")
        namespace: dict = {}
        exec(compile(text, f"{stem}_jax.py", "exec"), namespace)
        tx = namespace[stem]()
        assert isinstance(tx, optax.GradientTransformation)
        assert namespace["__all__"] == [stem, default_class_name(catalog.get(name)) + "State",
                                        "update_leaf"]


# ------------------------------------------------------------------ dtypes


def _enable_x64():
    if hasattr(jax, "enable_x64"):
        return jax.enable_x64(True)
    from jax.experimental import enable_x64  # older jax

    return enable_x64()


@pytest.mark.parametrize("name", ["ades", "adam", "rmsprop"])
def test_float32_stays_float32_and_float64_follows_the_float64_reference(factories, name):
    """Literals are weakly typed Python floats and scalars are cast to the leaf's dtype: with
    ``jax_enable_x64`` a float32 model still computes in float32 (bit-for-bit what it computes
    without x64), and a float64 model agrees with the float64 reference."""
    spec = catalog.get(name)
    w0, grads = catalog_problem(name)
    grads = [[np.nan_to_num(x) for x in g] for g in grads[:20]]
    plain = leaves_of(run(factories[name](), w0, grads)[0])
    with _enable_x64():
        in_x64 = leaves_of(run(factories[name](), w0, grads)[0])
        w64 = [w.astype(np.float64) for w in w0]
        g64 = [[x.astype(np.float64) for x in g] for g in grads]
        params64, state64 = run(factories[name](), w64, g64)
        assert all(x.dtype == np.float64 for x in jax.tree.leaves(state64)[1:])
        got64 = leaves_of(params64)
    for i in range(len(SHAPES)):
        assert in_x64[i].dtype == np.float32
        np.testing.assert_array_equal(in_x64[i], plain[i])
        r64 = run_reference(spec, w64[i], [g[i] for g in g64], dtype=np.float64)[-1]
        assert got64[i].dtype == np.float64
        np.testing.assert_allclose(got64[i], r64, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_half_precision_leaves_keep_their_dtype(factories, dtype):
    params = {"w": jnp.ones((3, 2), dtype), "b": jnp.zeros((2,), dtype)}
    for name in catalog.NAMES:
        tx = factories[name]()
        state = tx.init(params)
        updates, state = jax.jit(tx.update)(jax.tree.map(lambda p: p + 0.5, params), state)
        assert all(u.dtype == dtype for u in jax.tree.leaves(updates)), name
        assert all(s.dtype == dtype for s in jax.tree.leaves(state)[1:]), name


# ------------------------------------------------------------------ the optax contract


@pytest.mark.parametrize("name", ["ades", "adam"])
def test_learning_rate_schedule(factories, name):
    """A schedule is called with the update count (0 at the first update), like Keras'
    ``iterations``; for ADES it multiplies the update, for Adam it is the spec's ``lr``."""
    spec = catalog.get(name)
    schedule = optax.exponential_decay(0.5 if name == "ades" else 0.01, 4, 0.5)
    w0, grads = catalog_problem(name)
    grads = grads[:12]
    params, _ = run(factories[name](learning_rate=schedule), w0, grads)
    for i, got in enumerate(leaves_of(params)):
        st = ReferenceStepper(spec, w0[i])
        for k, g in enumerate(grads):
            lr = float(np.float32(schedule(k)))
            if spec.has_lr:
                st.hyper["lr"] = lr
            else:
                st.lr_mult = lr
            st.step(g[i])
        check_agrees(f"{name} leaf {i}", got, st.w, st.w.astype(np.float64))


def test_inject_hyperparams_under_jit(factories):
    """``optax.inject_hyperparams`` passes the hyperparameters as (traced) arrays: they are
    validated where concrete and used as values; changing one in the state takes effect."""
    spec = catalog.get("ades")
    w0, grads = catalog_problem("ades")
    grads = [[np.nan_to_num(x) for x in g] for g in grads[:8]]
    tx = optax.inject_hyperparams(factories["ades"])(learning_rate=0.5, beta_1=0.3)
    params, state = run(tx, w0, grads)
    assert float(state.hyperparams["beta_1"]) == pytest.approx(0.3)
    for i, got in enumerate(leaves_of(params)):
        r32, r64 = references(spec, w0[i], [g[i] for g in grads], hyper={"beta_1": 0.3},
                              lr=0.5)
        check_agrees(f"ades leaf {i}", got, r32, r64)
    with pytest.raises(ValueError, match=r"Invalid beta_1 value: 2\.0"):
        optax.inject_hyperparams(factories["ades"])(beta_1=2.0).init(tree(w0))


def test_chain_with_global_norm_clipping(factories):
    """Composes like any optax transformation: clipping first, then the rule."""
    spec = catalog.get("adam")
    w0, grads = catalog_problem("adam")
    grads = [[np.nan_to_num(x) * np.float32(4) for x in g] for g in grads[:10]]
    tx = optax.chain(optax.clip_by_global_norm(1.0), factories["adam"](learning_rate=0.01))
    params, _ = run(tx, w0, grads)
    clipped = []
    for g in grads:
        norm = np.sqrt(sum(np.sum(np.square(x.astype(np.float64))) for x in g))
        clipped.append([x if norm < 1.0 else (x / np.float32(norm)).astype(np.float32)
                        for x in g])
    for i, got in enumerate(leaves_of(params)):
        r32, r64 = references(spec, w0[i], [g[i] for g in clipped], lr=0.01)
        check_agrees(f"adam leaf {i}", got, r32, r64)


def test_a_rule_reading_the_weights_needs_params(tmp_path):
    spec = make_spec("decayed", [("m", "beta*m + g")], "-lr*(m + wd*w)",
                     [HyperParam("lr", 0.1), HyperParam("beta", 0.9),
                      HyperParam("wd", 0.01)])
    factory = transformation(spec, tmp_path)
    w0, grads = catalog_problem("decayed")
    grads = grads[:6]
    params, _ = run(factory(), w0, grads)
    for i, got in enumerate(leaves_of(params)):
        r32, r64 = references(spec, w0[i], [g[i] for g in grads])
        check_agrees(f"decayed leaf {i}", got, r32, r64)
    tx = factory()
    with pytest.raises(ValueError, match="decayed reads the parameters"):
        tx.update(tree(grads[0]), tx.init(tree(w0)))


def test_validation_is_eager_and_worded_like_the_other_backends(factories):
    ades = factories["ades"]
    with pytest.raises(ValueError, match=r"Invalid beta_2 value: -1\.0 \(must be in \[0, 1\]\)"):
        ades(beta_2=-1.0)
    with pytest.raises(ValueError, match=r"Invalid learning_rate value: -1\.0 \(must be >= 0\)"):
        ades(learning_rate=-1.0)
    with pytest.raises(ValueError, match=r"Invalid beta_1 value: True"):
        ades(beta_1=True)
    with pytest.raises(ValueError, match=r"Invalid beta_1 value: 2\.0"):
        ades(beta_1=jnp.float32(2.0))
    with pytest.raises(ValueError, match=r"Invalid beta_1 value: 'x'"):
        ades(beta_1="x")
    ades(beta_1=jnp.float32(0.5), learning_rate=optax.constant_schedule(-1.0))  # not checked
    with pytest.raises(ValueError, match=r"Invalid learning_rate value: 2\.0 \(must be in"):
        factories["adam"](learning_rate=2.0)


def test_state_is_a_named_tuple_of_count_and_pytrees_of_zeros(factories):
    params = tree([np.ones(s, np.float32) for s in SHAPES])
    state = factories["adam"]().init(params)
    assert type(state).__name__ == "AdamState" and state._fields == ("count", "m", "v")
    assert state.count.dtype == jnp.int32 and int(state.count) == 0
    for field in (state.m, state.v):
        assert jax.tree.structure(field) == jax.tree.structure(params)
        assert all(not np.any(x) for x in jax.tree.leaves(field))
    assert factories["sgd"]().init(params)._fields == ("count",)


# ------------------------------------------------------------------ names and user text


def test_function_names():
    assert function_name(catalog.get("ades-eq8")) == "ades_eq8"
    assert function_name(catalog.get("rmsprop")) == "rmsprop"
    assert function_name(catalog.get("ades"), "AdesEvolved") == "ades_evolved"
    assert function_name(catalog.get("ades"), "Sum") == "sum_"  # not the builtin
    assert function_name(catalog.get("ades"), "Optax") == "optax_"  # not the module
    assert "def my_opt(" in jax_source(catalog.get("ades"), "MyOpt")


@pytest.mark.parametrize("name", ["Bad\n", "_check", "__builtins__", "print", "jax", "class",
                                  "1abc", "a-b"])
def test_bad_class_names_are_refused(name):
    with pytest.raises(ExportError):
        jax_source(catalog.get("sgd"), class_name=name)


MARKER = Path("/tmp/symalr_pwned_marker_jax")
INJECTIONS = [
    'x"""\nimport os; os.system("touch ' + str(MARKER) + '")\n"""',
    "x'''\nimport os; os.system('touch " + str(MARKER) + "')\n'''",
    "x\\",
    "x\n",
]


@pytest.mark.parametrize("field", ["doc", "hp_doc", "name"])
@pytest.mark.parametrize("text", INJECTIONS, ids=range(len(INJECTIONS)))
def test_injected_text_is_refused_or_inert(field, text):
    MARKER.unlink(missing_ok=True)
    data = {"name": "probe", "states": [["m", "beta_1*m + g"]], "delta": "-0.01*m",
            "hyperparams": [{"name": "beta_1", "default": 0.5, "doc": ""}]}
    if field == "hp_doc":
        data["hyperparams"][0]["doc"] = text
    else:
        data[field] = text
    try:
        spec = spec_from_json(json.loads(json.dumps(data)), "p.json")
    except SpecError:
        return
    namespace: dict = {}
    exec(compile(jax_source(spec), "probe_jax.py", "exec"), namespace)
    assert namespace["probe"]().init({"w": jnp.ones(2)}).count == 0
    assert not MARKER.exists()


def test_cli_export_jax(tmp_path, capsys):
    from symalr.cli import main

    out = tmp_path / "m.py"
    assert main(["export", "adam", "--backend", "jax", "-o", str(out)]) == 0
    assert out.read_text() == (GENERATED / "adam_jax.py").read_text()
    assert "wrote adam (jax)" in capsys.readouterr().err
    assert main(["export", "ades", "--backend", "jax", "--class-name", "MyAdes"]) == 0
    assert "def my_ades(" in capsys.readouterr().out


# ------------------------------------------------------------------ across backends


@pytest.mark.slow
@pytest.mark.parametrize("key", [*catalog.NAMES, *(f"{g}#{k}" for g, k in SHOWCASE_INDIVIDUALS)])
def test_torch_keras_and_optax_exports_agree(key, tmp_path):
    """The three exports of one spec on one gradient sequence (catalog: 20 steps with a NaN
    gradient and zeros at step 10; individuals: 5 steps of N(0, 1)), compared with the torch
    result (same NaN/inf positions, rtol 1e-5 plus the rule's float32 sensitivity)."""
    import tensorflow as tf
    import torch

    from symalr.render.tf_module import tf_source
    from symalr.render.torch_module import torch_source

    if "#" in key:
        grammar, k = key.split("#")
        spec = random_specs(grammar, PER_GRAMMAR)[int(k)][1]
        steps, scale = 5, 1.0
    else:
        spec, steps, scale = catalog.get(key), 20, GRAD_SCALE.get(key, 0.5)
    rng = np.random.default_rng(7)
    w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES[:3]]
    grads = [[(rng.normal(size=s) * scale).astype(np.float32) for s in SHAPES[:3]]
             for _ in range(steps)]
    if steps > 10:
        grads[10][1][1, 2] = np.nan
        grads[10][0][:2] = 0.0

    stem = "x_" + key.replace("#", "_").replace("-", "_")
    torch_cls = load_module(torch_source(spec, "Exported"), stem + "_torch", tmp_path).Exported
    torch_params = [torch.nn.Parameter(torch.tensor(w)) for w in w0]
    opt = torch_cls(torch_params)
    for g in grads:
        for p, x in zip(torch_params, g):
            p.grad = torch.tensor(x)
        opt.step()
    by_torch = [p.detach().numpy() for p in torch_params]

    keras_cls = load_module(tf_source(spec, "Exported"), stem + "_tf", tmp_path).Exported
    variables = [tf.Variable(w) for w in w0]
    keras_opt = keras_cls()
    for g in grads:
        keras_opt.apply_gradients(zip([tf.constant(x) for x in g], variables))
    by_keras = [v.numpy() for v in variables]

    by_optax = leaves_of(run(transformation(spec, tmp_path, "Exported", stem + "_jax")(),
                             w0, grads)[0])

    for i in range(3):
        r64 = references(spec, w0[i], [g[i] for g in grads])[1]
        check_agrees(f"{key} leaf {i}: Keras vs torch", by_keras[i], by_torch[i], r64)
        check_agrees(f"{key} leaf {i}: optax vs torch", by_optax[i], by_torch[i], r64)
