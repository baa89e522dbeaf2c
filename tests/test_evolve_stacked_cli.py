"""``symalr evolve --stacking`` / ``--device`` from the command line: a forced stack runs on CPU
and says so on standard error; a GPU that is not there is one line, exit 2, and no database."""

from __future__ import annotations

import pytest
import torch
from test_evolve_cli import one_line_error, symalr
from test_evolve_run import cli_args, tiny_settings


def _tiny() -> list[str]:
    return cli_args(tiny_settings(runs=1, **{"sge.generations": 1}))


def test_stacking_on_runs_on_cpu_and_reports_the_mode(tmp_path):
    db = tmp_path / "e.db"
    out = symalr("evolve", "--db", str(db), "--no-report", "--stacking", "on", "--device", "cpu",
                 *_tiny())
    assert out.returncode == 0, out.stderr
    assert "on stacked executor" in out.stderr
    assert "stacking on (configured)" in out.stderr
    gens = [line for line in out.stderr.splitlines() if line.startswith("symalr: gen ")]
    assert len(gens) == 2 and db.stat().st_size > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_missing_gpu_is_one_line_and_writes_nothing(tmp_path):
    db = tmp_path / "e.db"
    out = symalr("evolve", "--db", str(db), "--device", "cuda", *_tiny())
    one_line_error(out, "device 'cuda': torch sees 0 CUDA device(s)")
    assert not db.exists()
