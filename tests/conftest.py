"""Test isolation from the caller's environment and working directory.

At collection, before any test runs: the data folder is resolved once to an absolute path
(``$SYMALR_DATA_DIR``, relative to the directory pytest was started in, else ``shared/data``
beside the checkout) and must hold the real data sets — a missing folder fails the run loudly
instead of skipping tests. Then every ``SYMALR_*`` variable the caller set is removed (except
``SYMALR_TEST_*``, which the suite sets for the child pytest it starts itself, e.g. the Ray test
inside a network namespace: dropping it made that child start another namespace, without end), and the
tests' own are set: the absolute data folder, no downloads, and a private user cache, so that
neither a relative path, a tuned allocator setting nor a user's cache changes any result.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_given = os.environ.get("SYMALR_DATA_DIR")
DATA_DIR = (Path(_given).expanduser().resolve() if _given
            else Path(__file__).resolve().parents[2] / "shared" / "data")

for _name in [n for n in os.environ
              if n.startswith("SYMALR_") and not n.startswith("SYMALR_TEST_")]:
    del os.environ[_name]
os.environ["SYMALR_DATA_DIR"] = str(DATA_DIR)
os.environ["SYMALR_NO_DOWNLOAD"] = "1"
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="symalr-test-cache-")


def pytest_sessionstart(session):
    missing = [d for d in ("fashion-mnist", "cifar-10-batches-py") if not (DATA_DIR / d).is_dir()]
    if missing:
        raise RuntimeError(f"test data missing in {DATA_DIR}: {', '.join(missing)} "
                           "(set SYMALR_DATA_DIR to the folder holding them)")
