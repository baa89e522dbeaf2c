"""Import the optimizer module that ``symalr export`` writes, from its source text.

The text is written once to ``<cache>/generated/<sha256 prefix>.py`` (atomically, by
:func:`symalr.fileio.atomic_write_text`, so concurrent worker processes are safe) and imported
from there with importlib, so that ``inspect``, tracebacks and ``torch.compile`` see real
source lines. Modules are kept per process by content hash: the same text is imported once.

The class is found, not guessed: the one class defined in the module that subclasses the
backend's optimizer base (``torch.optim.Optimizer``, ``keras.optimizers.Optimizer``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from symalr.errors import ExportError
from symalr.fileio import atomic_write_text, ensure_folder
from symalr.train.data import user_cache_dir

_modules: dict[str, ModuleType] = {}


def module_path(source: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the module for ``source`` lives (written if absent)."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]
    folder = Path(cache_dir) if cache_dir is not None else user_cache_dir() / "generated"
    path = folder / f"symalr_opt_{digest}.py"
    if not path.is_file() or path.read_text(encoding="utf-8") != source:
        atomic_write_text(ensure_folder(folder) / path.name, source)
    return path


def load_module(source: str, cache_dir: str | os.PathLike | None = None) -> ModuleType:
    """Import ``source`` as a module (once per process per distinct text) and return it.

    Errors raised by the module's own top-level code propagate unchanged.
    """
    path = module_path(source, cache_dir)
    name = path.stem
    if name in _modules:
        return _modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses, pickling and torch.compile look modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    _modules[name] = module
    return module


def find_class(module: ModuleType, base: type) -> type:
    """The single class defined in ``module`` that subclasses ``base``; :class:`ExportError`
    if there is none or more than one."""
    found = [
        obj for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, base) and obj is not base
        and obj.__module__ == module.__name__
    ]  # fmt: skip
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise ExportError(f"{module.__file__}: expected one {base.__name__} subclass, found "
                          f"{names}")
    return found[0]


def torch_optimizer_class(source: str, cache_dir: str | os.PathLike | None = None) -> type:
    """The ``torch.optim.Optimizer`` subclass that torch ``source`` defines."""
    import torch

    return find_class(load_module(source, cache_dir), torch.optim.Optimizer)


def keras_optimizer_class(source: str, cache_dir: str | os.PathLike | None = None) -> type:
    """The ``keras.optimizers.Optimizer`` subclass that TF/Keras ``source`` defines."""
    import keras

    return find_class(load_module(source, cache_dir), keras.optimizers.Optimizer)
