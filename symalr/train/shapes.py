"""The models symalr trains, by name, and the image shape (C, H, W) each expects.

Torch-free, so that configurations can be checked (``symalr evolve`` does so before it writes
anything) without loading torch; :mod:`symalr.train.models` builds the models themselves.
"""

from __future__ import annotations

#: Model name -> the image shape (C, H, W) it expects (``mlp`` flattens any shape).
INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    "mnist_cnn": (1, 28, 28),
    "cifar_cnn": (3, 32, 32),
    "mlp": (1, 28, 28),
    "small_cnn": (1, 28, 28),
}
