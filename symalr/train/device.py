"""Where training runs: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (see docs/fitness.md).

:func:`resolve_device` turns a configured name into a concrete torch device string once, with
one clear :class:`~symalr.errors.ConfigError` for a name torch does not know or a GPU that is
not there. Data are moved to the device once per process (:mod:`symalr.train.fitness` caches
the tensors by device); models and the generated optimizers' states live there too.
"""

from __future__ import annotations

import re

from symalr.errors import ConfigError
from symalr.settings import show

_PATTERN = re.compile(r"cpu|auto|cuda(:\d{1,4})?")


def check_device_name(name: str, key: str = "device") -> str:
    """``name`` if it is ``cpu``, ``auto``, ``cuda`` or ``cuda:N``; else a ConfigError naming
    the setting ``key``. Imports nothing heavy (configs are checked before torch is loaded)."""
    if not isinstance(name, str) or not _PATTERN.fullmatch(name):
        raise ConfigError(f"{key} = {show(name)}: expected cpu, cuda, cuda:N or auto")
    return name


def resolve_device(name: str) -> str:
    """The torch device string ``name`` stands for: ``auto`` is ``cuda`` when torch sees a GPU,
    else ``cpu``; ``cuda[:N]`` must exist (ConfigError naming what is visible)."""
    import torch

    check_device_name(name)
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= count:
            raise ConfigError(f"device {name!r}: torch sees {count} CUDA device(s)")
    return name
