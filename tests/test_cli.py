"""The command line: products on stdout, one-line errors with exit 2, light imports, LaTeX."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from symalr import catalog

ROOT = Path(__file__).resolve().parents[1]


def symalr(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "symalr.cli", *args],
        capture_output=True, text=True, cwd=cwd or ROOT, timeout=300,
    )


def test_help_lists_commands():
    out = symalr("--help")
    assert out.returncode == 0
    for cmd in ("latex", "simplify", "list", "grammar"):
        assert cmd in out.stdout


def test_list_prints_every_catalog_entry_with_its_rule():
    out = symalr("list")
    assert out.returncode == 0 and out.stderr == ""
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(catalog.NAMES)
    assert "y <- y - (1 - beta_1)*(y + (g + y)*(y + beta_2)); w <- w + y" in lines[0]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("latex", "adamw"), "unknown optimizer 'adamw'"),
        (("latex", "missing.json"), "missing.json: cannot read"),
        (("simplify", "nope"), "unknown optimizer 'nope'"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, fragment):
    out = symalr(*args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and fragment in out.stderr
    assert "Traceback" not in out.stderr


def test_bad_spec_file_is_located(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "b", "delta": "g + __import__"}))
    out = symalr("latex", str(bad))
    assert out.returncode == 2 and "unknown name '__import__'" in out.stderr
    assert f"{bad}:delta" in out.stderr


def test_import_and_latex_load_neither_torch_nor_tensorflow():
    code = (
        "import sys, symalr, symalr.cli\n"
        "from symalr.cli import main\n"
        "rc = main(['latex', 'ades', '--table'])\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'keras', 'ray') if m in sys.modules]\n"
        "assert rc == 0 and not heavy, heavy\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_simplify_phenotype_file(tmp_path):
    f = tmp_path / "ind.json"
    f.write_text(json.dumps({"phenotype": (
        "x_func = 4.53978687e-05; y_func = multiply(9.10782940e-01, add(y, multiply("
        "add(y, 8.92170603e-02), add(y, grad)))); z_func = 4.53978687e-05; weight_func = negative(y)"
    )}))
    out = symalr("simplify", str(f))
    assert out.returncode == 0, out.stderr
    spec_json = out.stdout.split("\n\n")[0]
    data = json.loads(spec_json)
    assert [s for s, _ in data["states"]] == ["y"]
    assert [h["name"] for h in data["hyperparams"]] == ["beta_1", "beta_2"]
    assert "\\begin{align}" in out.stdout and "% fingerprint:" in out.stdout


def _pdflatex() -> str | None:
    exe = shutil.which("pdflatex")
    if exe is None and os.environ.get("CI"):
        pytest.fail("pdflatex is required in CI (.ci/run installs texlive)")
    return exe


@pytest.mark.parametrize("name", ["ades", "adam"])
def test_latex_compiles_with_a_real_engine(tmp_path, name):
    exe = _pdflatex()
    if exe is None:
        pytest.skip("pdflatex not installed (CI installs it)")
    out = symalr("latex", name, "--table", "--document")
    assert out.returncode == 0, out.stderr
    tex = tmp_path / f"{name}.tex"
    tex.write_text(out.stdout)
    run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", tex.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    pdf = tmp_path / f"{name}.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
