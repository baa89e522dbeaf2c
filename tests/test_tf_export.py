"""Generated Keras 3 / TensorFlow modules (symalr.render.tf_module.tf_source, docs/code-generation.md).

Every catalog optimizer against the NumPy reference stepper, eagerly and under XLA (all eight
in one ``jit_compile`` function, so XLA compiles once); the hand-made ones against Keras'
built-ins; training a Keras model eagerly and with ``model.compile(jit_compile=True)``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from symalr import catalog  # noqa: E402
from symalr.reference import run_reference  # noqa: E402
from symalr.render.naming import default_class_name  # noqa: E402
from symalr.render.tf_module import tf_source  # noqa: E402

try:  # only possible before TensorFlow's runtime starts
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
except RuntimeError:
    pass

SHAPES = [(3,), (4, 5), (2, 3, 4), ()]
STEPS = 50
RTOL, ATOL = 1e-5, 1e-6
GRAD_SCALE = {"ades-eq8": 0.1}  # Eq. 8 is chaotic for larger gradients (see the torch tests)


def load_class(spec, folder: Path, class_name: str | None = None):
    class_name = class_name or default_class_name(spec)
    name = spec.name.replace("-", "_") + f"_{class_name}_tfgen"
    path = folder / f"{name}.py"
    path.write_text(tf_source(spec, class_name))
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return getattr(module, class_name)


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tf_modules")
    return {s.name: load_class(s, folder) for s in catalog.all_specs()}


def problem(name: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    scale = GRAD_SCALE.get(name, 0.5)
    w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [[(rng.normal(size=s) * scale).astype(np.float32) for s in SHAPES]
             for _ in range(STEPS)]
    grads[10][1][1, 2] = np.nan
    grads[10][2][0, 1, :2] = 0.0
    return w0, grads


def assert_agrees(actual, expected, rtol=RTOL, atol=ATOL):
    for a, e in zip(actual, expected):
        a = np.asarray(a)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(e))
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("mode", ["eager", "xla"])
def test_catalog_matches_reference(classes, mode):
    names = list(catalog.NAMES)
    problems = {n: problem(n) for n in names}
    optimizers = {n: classes[n]() for n in names}
    variables = {n: [tf.Variable(w) for w in problems[n][0]] for n in names}

    def step(grads):
        for n in names:
            optimizers[n].apply_gradients(zip(grads[n], variables[n]))

    if mode == "xla":
        step = tf.function(step, jit_compile=True)
    for k in range(STEPS):
        step({n: [tf.constant(g) for g in problems[n][1][k]] for n in names})
    for n in names:
        spec = catalog.get(n)
        w0, grads = problems[n]
        expected = [run_reference(spec, w0[i], [g[i] for g in grads])[-1]
                    for i in range(len(SHAPES))]
        assert_agrees([v.numpy() for v in variables[n]], expected)


BUILTINS = {
    "sgd": ({"learning_rate": 0.05}, lambda: keras.optimizers.SGD(learning_rate=0.05)),
    "momentum": ({"learning_rate": 0.05, "momentum": 0.9},
                 lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)),
    "nesterov": ({"learning_rate": 0.05, "momentum": 0.9},
                 lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)),
    "rmsprop": ({"learning_rate": 0.01, "rho": 0.9, "epsilon": 1e-7},
                lambda: keras.optimizers.RMSprop(learning_rate=0.01, rho=0.9, epsilon=1e-7)),
    "adam": ({"learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
             lambda: keras.optimizers.Adam(learning_rate=0.01, beta_1=0.9, beta_2=0.999,
                                           epsilon=1e-7)),
}


@pytest.mark.parametrize("name", list(BUILTINS))
def test_matches_keras_builtins(classes, name):
    hyper, builtin = BUILTINS[name]
    rng = np.random.default_rng(5)
    w0 = [rng.normal(size=s).astype(np.float32) for s in SHAPES[:3]]
    grads = [[rng.normal(size=s).astype(np.float32) for s in SHAPES[:3]] for _ in range(STEPS)]
    results = []
    for opt in (classes[name](**hyper), builtin()):
        variables = [tf.Variable(w) for w in w0]
        for g in grads:
            opt.apply_gradients(zip([tf.constant(x) for x in g], variables))
        results.append([v.numpy() for v in variables])
    assert_agrees(results[0], results[1], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ades", "adam"])
def test_trains_a_keras_model_eagerly_and_under_xla(classes, name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype(np.float32)
    y = x @ rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(512, 1))
    y = (y / y.std()).astype(np.float32)
    for jit in (False, True):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="tanh"),
                                  keras.layers.Dense(1)])
        opt = classes[name]() if name == "ades" else classes[name](learning_rate=0.01)
        model.compile(optimizer=opt, loss="mse", jit_compile=jit, run_eagerly=not jit)
        history = model.fit(x, y, batch_size=64, epochs=4, verbose=0, shuffle=False)
        losses = history.history["loss"]
        assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0], (jit, losses)
        assert int(opt.iterations.numpy()) == 4 * 8


def test_config_round_trip_and_validation(classes):
    ADES = classes["ades"]
    opt = ADES(learning_rate=0.5, beta_1=0.3)
    config = opt.get_config()
    assert config["beta_1"] == 0.3 and config["beta_2"] == 0.0891
    clone = ADES.from_config(config)
    assert clone.beta_1 == 0.3 and float(clone.learning_rate.numpy()) == 0.5
    with pytest.raises(ValueError, match=r"Invalid beta_2 value: -1\.0 \(must be in \[0, 1\]\)"):
        ADES(beta_2=-1.0)
    with pytest.raises(ValueError, match=r"Invalid learning_rate value: -1\.0"):
        ADES(learning_rate=-1.0)
    ADES(learning_rate=keras.optimizers.schedules.ExponentialDecay(1.0, 10, 0.5))


def test_serialize_round_trip_restores_the_exported_class(tmp_path):
    """``keras.optimizers.deserialize(keras.optimizers.serialize(opt))`` without
    ``custom_objects`` gives back the exported class with its config: not a bare string (ADES,
    Sign) and not Keras' own ``Adam`` / ``RMSprop`` of the same name."""
    for name in ("ades", "sign", "adam", "rmsprop"):
        cls = load_class(catalog.get(name), tmp_path)
        opt = cls(learning_rate=0.25)
        clone = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
        assert type(clone) is cls, (name, clone)
        assert clone.get_config() == opt.get_config()
        assert keras.optimizers.get(keras.optimizers.serialize(opt)).__class__ is cls


def test_same_class_name_different_rules_stay_apart(tmp_path):
    """Evolved optimizers all export as ``Evolved``: each rule registers under its own digest,
    and a config is refused by a class of another rule."""
    a = load_class(catalog.get("ades"), tmp_path, "Evolved")
    b = load_class(catalog.get("ades-eq8"), tmp_path, "Evolved")
    for cls in (a, b):
        clone = keras.optimizers.deserialize(keras.optimizers.serialize(cls(beta_1=0.5)))
        assert type(clone) is cls and clone.beta_1 == 0.5
    with pytest.raises(ValueError, match=r"config is for the symalr rule '[0-9a-f]{12}', but "
                                         r"Evolved implements the rule '[0-9a-f]{12}'"):
        b.from_config(a().get_config())
    assert type(a.from_config({k: v for k, v in a().get_config().items()
                               if k != "symalr_rule"})) is a  # a config without the digest


def test_unregistered_config_fails_loudly_instead_of_becoming_keras_adam(tmp_path):
    """Where the exported module is not imported, Keras would build its own ``Adam`` from the
    config; the rule digest in the config makes that a loud error."""
    cls = load_class(catalog.get("adam"), tmp_path)
    config = keras.optimizers.serialize(cls())
    registry = keras.saving.get_custom_objects()  # Keras' live registry
    key = "symalr>" + config["registered_name"].split(">", 1)[1]
    saved = registry.pop(key)
    try:
        with pytest.raises(ValueError, match="symalr_rule"):
            keras.optimizers.deserialize(config)
    finally:
        registry[key] = saved
