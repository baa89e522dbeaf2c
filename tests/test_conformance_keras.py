"""Keras conformance of generated optimizers (symalr.render.tf_module.tf_source).

Two tiers, chosen so that the file runs in about two minutes on two cores:

- **Every optimizer** — the catalog and 50 random individuals of each shipped grammar (simplified,
  as symalr exports them): direct ``apply_gradients`` on three small variables (one 0-d)
  against the NumPy reference stepper (same NaN/inf positions, rtol 1e-5 plus the rule's own
  float32 sensitivity; tests/export_support.py), and a ``keras.optimizers.serialize`` /
  ``deserialize`` round trip without ``custom_objects`` that must give back the exported class.
  Eager only: one XLA compilation per optimizer costs about a second here.
- **Heavy checks** on the catalog plus four individuals (:data:`HEAVY_INDIVIDUALS`, the two of
  each grammar's sample with the most states among those that read the gradient and stay
  finite on the probe data, so these checks compare numbers rather than NaN patterns):
  the update inside one XLA-compiled function; ``model.fit`` against a hand-written loop of
  ``GradientTape`` + reference steps, and under ``jit_compile`` against eager; saving a model
  with its optimizer and loading it without ``custom_objects``; and Keras' own optimizer
  arguments ``clipnorm``, ``weight_decay``, ``use_ema`` and ``loss_scale_factor`` against the
  same formulas applied around the reference stepper.
"""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from symalr import catalog  # noqa: E402
from symalr.reference import ReferenceStepper, run_reference  # noqa: E402
from symalr.render.naming import default_class_name  # noqa: E402
from symalr.render.tf_module import tf_source  # noqa: E402
from tests.export_support import (  # noqa: E402
    SHAPES,
    SHOWCASE_INDIVIDUALS,
    check_agrees,
    load_module,
    probe,
    random_specs,
    references,
)

try:  # only possible before TensorFlow's runtime starts
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
except RuntimeError:
    pass

PER_GRAMMAR = 50
HEAVY_INDIVIDUALS = SHOWCASE_INDIVIDUALS
HEAVY = [*catalog.NAMES, *(f"{g}#{k}" for g, k in HEAVY_INDIVIDUALS)]
XLA_STEPS = 12  # past the catalog probe's NaN at step 10


def spec_of(key: str):
    """The spec called ``key``: a catalog name or ``grammar#k``."""
    if "#" not in key:
        return catalog.get(key)
    grammar, k = key.split("#")
    return random_specs(grammar, PER_GRAMMAR)[int(k)][1]


def exported_class(key: str, folder):
    """The Keras class exported for ``key``, imported from a file (named like the export)."""
    spec = spec_of(key)
    name = default_class_name(spec) if "#" not in key else "Evolved"
    stem = "k_" + key.replace("#", "_").replace("-", "_")
    return getattr(load_module(tf_source(spec, class_name=name), stem, folder), name)


def steps_for(key: str) -> int:
    return 5 if "#" in key else 20


def apply_steps(opt, w0, grads, scale: float = 1.0):
    variables = [tf.Variable(w) for w in w0]
    for g in grads:
        opt.apply_gradients(zip([tf.constant(x * np.float32(scale)) for x in g], variables))
    return variables


# ------------------------------------------------------------------ every optimizer

EVERY = [*catalog.NAMES, *(f"{g}#{k}" for g in ("alr", "alr-grad") for k in range(PER_GRAMMAR))]


@pytest.mark.parametrize("key", EVERY)
def test_update_matches_reference_and_config_round_trips(key, tmp_path):
    spec, cls = spec_of(key), exported_class(key, tmp_path)
    w0, grads = probe(key, steps_for(key))
    opt = cls()
    variables = apply_steps(opt, w0, grads)
    for i, v in enumerate(variables):
        r32, r64 = references(spec, w0[i], [g[i] for g in grads])
        check_agrees(f"{key} variable {i}", v.numpy(), r32, r64)
    assert int(opt.iterations.numpy()) == len(grads)

    clone = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(clone) is cls
    assert clone.get_config() == opt.get_config()


def test_heavy_individuals_follow_their_rule():
    """:data:`HEAVY_INDIVIDUALS` is what the module docstring says it is."""
    chosen = {}
    for grammar in ("alr", "alr-grad"):
        ranked = []
        for k, (_, spec) in enumerate(random_specs(grammar, PER_GRAMMAR)):
            reads = {s.name for _, e in spec.updates for s in e.free_symbols}
            reads |= {s.name for s in spec.delta.free_symbols}
            w0, grads = probe(f"{grammar}#{k}", 5)
            finite = all(np.isfinite(w).all() for i in range(len(SHAPES))
                         for w in run_reference(spec, w0[i], [g[i] for g in grads]))
            if "g" in reads and finite:
                ranked.append((-len(spec.states), k))
        chosen[grammar] = sorted(k for _, k in sorted(ranked)[:2])
    assert chosen == {g: [k for h, k in HEAVY_INDIVIDUALS if h == g] for g in chosen}


# ------------------------------------------------------------------ heavy checks


@pytest.fixture(scope="module")
def heavy_classes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_heavy")
    return {key: exported_class(key, folder) for key in HEAVY}


@pytest.mark.slow
def test_xla_matches_reference(heavy_classes):
    """All heavy optimizers inside one ``jit_compile`` function (XLA compiles once)."""
    problems = {key: probe(key, XLA_STEPS) for key in HEAVY}
    optimizers = {key: heavy_classes[key]() for key in HEAVY}
    variables = {key: [tf.Variable(w) for w in problems[key][0]] for key in HEAVY}

    @tf.function(jit_compile=True)
    def step(grads):
        for key in HEAVY:
            optimizers[key].apply_gradients(zip(grads[key], variables[key]))

    for k in range(XLA_STEPS):
        step({key: [tf.constant(g) for g in problems[key][1][k]] for key in HEAVY})
    for key in HEAVY:
        w0, grads = problems[key]
        for i, v in enumerate(variables[key]):
            r32, r64 = references(spec_of(key), w0[i], [g[i] for g in grads])
            check_agrees(f"{key} variable {i} (XLA)", v.numpy(), r32, r64)


def _learning_rate(spec) -> float:
    """The Keras learning rate the heavy checks use: the spec's own ``lr``, or a multiplier of
    0.5 for rules without one (1.0 would not exercise it)."""
    return spec.defaults["lr"] if spec.has_lr else 0.5


def _regression(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x @ rng.normal(size=(4, 1)) * 0.5).astype(np.float32)
    return x, y


def _model():
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"),
                             keras.layers.Dense(1)])


def _fit(cls, spec, jit: bool, epochs: int = 2):
    x, y = _regression()
    model = _model()
    opt = cls(learning_rate=_learning_rate(spec))
    model.compile(optimizer=opt, loss="mse", jit_compile=jit, run_eagerly=not jit)
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, shuffle=False)
    assert int(opt.iterations.numpy()) == 4 * epochs
    return [v.numpy() for v in model.trainable_variables]


def _by_hand(spec, epochs: int = 2):
    """The weights ``model.fit`` should reach: Keras computes the gradients, the reference
    stepper updates each variable."""
    x, y = _regression()
    model = _model()
    steppers = [ReferenceStepper(spec, v.numpy(), lr=_learning_rate(spec))
                for v in model.trainable_variables]
    loss_fn = keras.losses.MeanSquaredError()
    for _ in range(epochs):
        for b in range(0, 64, 16):
            with tf.GradientTape() as tape:
                loss = loss_fn(y[b:b + 16], model(x[b:b + 16], training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            for v, st, g in zip(model.trainable_variables, steppers, grads):
                v.assign(st.step(g.numpy()))
    return [st.w for st in steppers]


def _assert_close(label, actual, expected, rtol, atol):
    for i, (a, e) in enumerate(zip(actual, expected)):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(e), err_msg=f"{label} variable {i}")
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{label} variable {i}")


@pytest.mark.slow
@pytest.mark.parametrize("key", HEAVY)
def test_fit_matches_reference_eagerly_and_under_xla(heavy_classes, key):
    spec, cls = spec_of(key), heavy_classes[key]
    eager = _fit(cls, spec, jit=False)
    _assert_close(f"{key} fit vs by hand", eager, _by_hand(spec), rtol=1e-5, atol=1e-6)
    # XLA may fuse and reorder float32 arithmetic: a looser bound, same NaN positions
    _assert_close(f"{key} fit XLA vs eager", _fit(cls, spec, jit=True), eager,
                  rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("key", HEAVY)
def test_model_with_optimizer_saves_and_loads(heavy_classes, key, tmp_path):
    spec, cls = spec_of(key), heavy_classes[key]
    x, y = _regression()
    model = _model()
    model.compile(optimizer=cls(learning_rate=_learning_rate(spec)), loss="mse",
                  run_eagerly=True)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects: the class is registered
    assert type(loaded.optimizer) is cls
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    before = [v.numpy() for v in model.optimizer.variables]
    after = [v.numpy() for v in loaded.optimizer.variables]
    assert len(before) == len(after) == 2 + len(spec.states) * 4  # iterations, lr, states
    _assert_close(f"{key} optimizer variables", after, before, rtol=0, atol=0)
    # training on continues identically
    for m in (model, loaded):
        m.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    _assert_close(f"{key} after reloading", [v.numpy() for v in loaded.trainable_variables],
                  [v.numpy() for v in model.trainable_variables], rtol=0, atol=0)


def _stepped(spec, w0, grads, lr, dtype, decay=0.0, clip=None):
    """Reference weights after each step, with Keras' decoupled weight decay
    (``w - w*wd*lr`` before the update) and per-variable norm clipping applied around it."""
    f = np.dtype(dtype).type
    st = ReferenceStepper(spec, w0, lr=lr, dtype=dtype)
    out = []
    with np.errstate(all="ignore"):
        for g in grads:
            g = np.asarray(g, dtype)
            if clip is not None:
                norm = np.sqrt(np.sum(np.square(g)))
                g = (g * f(clip) / np.maximum(norm, f(clip))).astype(dtype)
            if decay:
                st.w = (st.w - st.w * f(decay) * f(lr)).astype(dtype)
            out.append(st.step(g).copy())
    return out


@pytest.mark.parametrize("option", ["clipnorm", "weight_decay", "use_ema", "loss_scale_factor"])
@pytest.mark.parametrize("key", HEAVY)
def test_keras_optimizer_arguments(heavy_classes, key, option):
    spec, cls = spec_of(key), heavy_classes[key]
    lr = _learning_rate(spec)
    w0, grads = probe(key, 8, seed=1)
    grads = [[np.nan_to_num(x) for x in g] for g in grads]  # clipping a NaN clips everything
    kwargs = {"clipnorm": {"clipnorm": 0.5}, "weight_decay": {"weight_decay": 0.1},
              "use_ema": {"use_ema": True, "ema_momentum": 0.9},
              "loss_scale_factor": {"loss_scale_factor": 8.0}}[option]
    opt = cls(learning_rate=lr, **kwargs)
    variables = apply_steps(opt, w0, grads, scale=8.0 if option == "loss_scale_factor" else 1.0)
    averages = []
    for i, v in enumerate(variables):
        gi = [g[i] for g in grads]
        extra = {"decay": 0.1} if option == "weight_decay" else (
            {"clip": 0.5} if option == "clipnorm" else {})
        r32 = _stepped(spec, w0[i], gi, lr, np.float32, **extra)
        r64 = _stepped(spec, w0[i], gi, lr, np.float64, **extra)
        check_agrees(f"{key} {option} variable {i}", v.numpy(), r32[-1], r64[-1])
        # the average Keras keeps with use_ema: w at step 1, then 0.9 avg + 0.1 w
        m = np.float32(0.9)
        avg32, avg64 = r32[0], r64[0]
        with np.errstate(all="ignore"):
            for w32, w64 in zip(r32[1:], r64[1:]):
                avg32 = (m * avg32 + (np.float32(1) - m) * w32).astype(np.float32)
                avg64 = 0.9 * avg64 + 0.1 * w64
        averages.append((avg32, avg64))
    if option == "use_ema":
        opt.finalize_variable_values(variables)  # overwrites the variables with their averages
        for i, (v, (avg32, avg64)) in enumerate(zip(variables, averages)):
            check_agrees(f"{key} EMA variable {i}", v.numpy(), avg32, avg64)
