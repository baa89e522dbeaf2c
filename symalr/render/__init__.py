"""Rendering of optimizer specs: code printers, the torch lowering, module sources, LaTeX.

One module per generated file kind: :mod:`.torch_module`, :mod:`.tf_module` (and
:mod:`.jax_module`), each building a typed template context from the spec; :mod:`.naming`
owns identifiers, :mod:`.docstrings` the docstring text, :mod:`.printers` expressions,
:mod:`.hoist` / :mod:`.lowering` / :mod:`.patterns` / :mod:`.torch_ops` the torch update code,
:mod:`.runtime` / :mod:`.jax_runtime` the helper functions copied into modules, :mod:`.latex`
LaTeX. User text passes :mod:`symalr.safe_text` on its way into any of them.

Importing this package (or any module in it but :mod:`.runtime` and :mod:`.jax_runtime`) loads
neither torch, TensorFlow nor JAX: the printers only print those libraries' names.
"""

from __future__ import annotations

#: Backends ``symalr export --backend`` knows.
BACKENDS = ("torch", "tf", "jax")


def module_source(spec, backend: str, class_name: str | None = None) -> str:
    """The standalone module of ``spec`` for ``backend`` (one of :data:`BACKENDS`)."""
    if backend == "torch":
        from .torch_module import torch_source

        return torch_source(spec, class_name)
    if backend == "tf":
        from .tf_module import tf_source

        return tf_source(spec, class_name)
    if backend == "jax":
        from .jax_module import jax_source

        return jax_source(spec, class_name)
    raise ValueError(f"unknown backend {backend!r}")
