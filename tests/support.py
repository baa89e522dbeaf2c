"""What many test modules share: where the real data is (resolved once by ``conftest.py``),
and one torch thread per test process.

Import names from here (``from tests.support import DATA_DIR, one_thread``); importing the
``one_thread`` fixture into a module turns it on for that module (it is ``autouse``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: The real data sets, an absolute path (see ``conftest.py``).
DATA_DIR = Path(os.environ["SYMALR_DATA_DIR"])


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small models on shared cores train fastest with one torch thread (oversubscribed OpenMP
    threads spin); restored after the module."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
