"""The built-in tasks: a CPU-sized suite of different characters, and the paper's set-ups.

The suite (:data:`SUITE`) is chosen so that a rule which only works with huge steps on one
small MLP cannot do well on all of it: besides the Fashion-MNIST proxy it has a convolutional
network on CIFAR-10, an ill-conditioned problem, noisy small-batch gradients, a deep narrow
network, dropout at small batches and a regression whose minimum is known. Each trains in a
few seconds on one core (measured in ``benchmarks/tasks.md``). :data:`PAPER` holds the
paper's two set-ups and the small CNN proxy. Every builder takes ``data_dir`` (the data
folder lookup's explicit folder).
"""

from __future__ import annotations

from collections.abc import Callable

from symalr.tasks.base import Task
from symalr.tasks.images import image_task
from symalr.tasks.synthetic import ill_conditioned_data, regression_data


def _mlp(seed: int, shape: tuple[int, ...], **kwargs):
    from symalr.tasks.models import mlp

    return mlp(seed, shape, **kwargs)


def _small_cifar_cnn(seed: int, shape: tuple[int, ...]):
    from symalr.tasks.models import small_cifar_cnn

    return small_cifar_cnn(seed, shape)


def _paper_model(name: str):
    def build(seed: int, shape: tuple[int, ...]):
        from symalr.train.models import build_model

        return build_model(name, seed, shape)

    return build


def fmnist_mlp(data_dir: str | None = None) -> Task:
    """The Fashion-MNIST proxy of the default search before this suite: an MLP (784-128-10)
    on 2,000 training images, batch 100, at most 8 epochs with patience 3. Tests ordinary,
    well-conditioned progress on real images; a rule that only takes huge steps can do well
    here, which is why it is never the only task."""
    return image_task("fmnist_mlp", "fashion-mnist", _paper_model("mlp"), (2000, 1000, 2000),
                      batch_size=100, epochs=8, patience=3, data_dir=data_dir,
                      doc=fmnist_mlp.__doc__)


def fmnist_noisy(data_dir: str | None = None) -> Task:
    """Noisy gradients: the same MLP on 1,000 Fashion-MNIST images with minibatches of 8 for
    2 epochs (250 steps). Each gradient is a poor estimate of the full one; rules that amplify
    or trust single gradients (large sign-like steps, no averaging) pay for it."""
    return image_task("fmnist_noisy", "fashion-mnist", _paper_model("mlp"), (1000, 1000, 2000),
                      batch_size=8, epochs=2, data_dir=data_dir, doc=fmnist_noisy.__doc__)


def fmnist_deep(data_dir: str | None = None) -> Task:
    """A deep narrow network: eight ReLU layers of 32 units on 2,000 Fashion-MNIST images,
    batch 100, 10 epochs. With Glorot initialisation the signal and the gradients shrink
    layer by layer, so gradient scales differ by orders of magnitude between layers: a single
    global step size is too small for the first layers or too large for the last."""

    def build(seed: int, shape: tuple[int, ...]):
        return _mlp(seed, shape, hidden=(32,) * 8)

    return image_task("fmnist_deep", "fashion-mnist", build, (2000, 1000, 2000),
                      batch_size=100, epochs=10, data_dir=data_dir, doc=fmnist_deep.__doc__)


def fmnist_dropout(data_dir: str | None = None) -> Task:
    """Noise from dropout and small batches on a wider network: an MLP with three ReLU layers
    of 256 units, each followed by dropout 0.2, on 2,000 Fashion-MNIST images, batch 20,
    2 epochs (200 steps). Every gradient sees a different sub-network of a different small
    batch, so a step size that is best on quiet, short budgets overshoots here: it catches
    rules whose step is too large for noisy training (Adam's validation accuracy: 0.758,
    0.781, 0.755 at lr 3e-4, 1e-3, 3e-3; on an MLP with dropout at batch 32 a 3e-3 RMSprop
    form reached 0.87 of Adam where 1e-3 forms held)."""

    def build(seed: int, shape: tuple[int, ...]):
        return _mlp(seed, shape, hidden=(256, 256, 256), dropout=0.2)

    return image_task("fmnist_dropout", "fashion-mnist", build, (2000, 1000, 2000),
                      batch_size=20, epochs=2, data_dir=data_dir, doc=fmnist_dropout.__doc__)


def cifar_small_cnn(data_dir: str | None = None) -> Task:
    """A convolutional network on CIFAR-10: two conv/pool stages (16 and 32 channels) and a
    linear classifier, 1,500 training images, batch 50, 3 epochs. Different data (colour
    natural images), a different model (weight sharing, conv kernels and a dense head at
    different scales) and a harder problem than the Fashion-MNIST tasks."""
    return image_task("cifar_small_cnn", "cifar-10", _small_cifar_cnn, (1500, 1000, 2000),
                      batch_size=50, epochs=3, data_dir=data_dir, doc=cifar_small_cnn.__doc__)


def ill_conditioned(data_dir: str | None = None) -> Task:
    """Ill-conditioned classification: five Gaussian classes in 30 features whose scales span
    four orders of magnitude (10^-2 .. 10^2), a 30-32-5 ReLU network, batch 50, 10 epochs.
    The first layer's gradients differ by 10^4 between weights: plain SGD must pick a step
    small enough for the largest and then barely moves the rest; a per-weight normalisation
    (RMSprop, Adam, sign) does not care."""
    del data_dir  # generated from the seed

    def build(seed: int):
        return _mlp(seed, (30,), hidden=(32,), outputs=5)

    return Task("ill_conditioned", lambda seed: ill_conditioned_data(int(seed)), build,
                batch_size=50, epochs=10, doc=ill_conditioned.__doc__)


def regression(data_dir: str | None = None) -> Task:
    """Noisy linear regression with a known minimum: 40 correlated features scaled over two
    decades, a linear model, mean squared error, batch 50, 10 epochs. Scored by the decades
    of loss removed towards the exact least-squares minimum (3 decades = 1.0): it rewards
    converging precisely, not just quickly, and exposes rules that stall or oscillate."""
    del data_dir

    def build(seed: int):
        return _mlp(seed, (40,), hidden=(), outputs=1)

    return Task("regression", lambda seed: regression_data(int(seed)), build, loss="mse",
                metric="loss", decades=3.0, batch_size=50, epochs=10, doc=regression.__doc__)


def mnist_cnn(data_dir: str | None = None) -> Task:
    """The paper's Fashion-MNIST set-up: ``mnist_cnn`` (1,199,882 parameters), 53,000
    training and 7,000 validation images, the official 10,000 test images, batch 1,000,
    100 epochs (the paper's tuning budget). Hours on a CPU: for the benchmark phase."""
    return image_task("mnist_cnn", "fashion-mnist", _paper_model("mnist_cnn"), (53_000, 7_000),
                      batch_size=1000, epochs=100, data_dir=data_dir, doc=mnist_cnn.__doc__)


def cifar_cnn(data_dir: str | None = None) -> Task:
    """The paper's CIFAR-10 set-up: ``cifar_cnn`` (1,250,858 parameters), 43,000 training and
    7,000 validation images, the official 10,000 test images, batch 1,000, 100 epochs."""
    return image_task("cifar_cnn", "cifar-10", _paper_model("cifar_cnn"), (43_000, 7_000),
                      batch_size=1000, epochs=100, data_dir=data_dir, doc=cifar_cnn.__doc__)


def small_cnn(data_dir: str | None = None) -> Task:
    """The small CNN proxy (Conv16, MaxPool, Dense16, 43,610 parameters) on one
    Algorithm-1-sized chunk of Fashion-MNIST: 10,600 training, 3,500 validation images, the
    official test images, batch 1,000, 20 epochs with patience 5."""
    return image_task("small_cnn", "fashion-mnist", _paper_model("small_cnn"), (10_600, 3_500),
                      batch_size=1000, epochs=20, patience=5, data_dir=data_dir,
                      doc=small_cnn.__doc__)


#: Every built-in task by name.
BUILTIN: dict[str, Callable[..., Task]] = {
    f.__name__: f for f in (fmnist_mlp, fmnist_noisy, fmnist_deep, fmnist_dropout,
                            cifar_small_cnn, ill_conditioned, regression, mnist_cnn, cifar_cnn,
                            small_cnn)
}
#: The CPU-sized suite (a few seconds per training on one core).
SUITE = ("fmnist_mlp", "fmnist_noisy", "fmnist_deep", "fmnist_dropout", "cifar_small_cnn",
         "ill_conditioned", "regression")
#: The paper's set-ups and the small CNN proxy (minutes to hours per training on a CPU).
PAPER = ("mnist_cnn", "cifar_cnn", "small_cnn")
