"""``generated/`` holds exactly what ``python -m symalr.regenerate`` writes (see docs/code-generation.md), and the
files are clean Python: ``py_compile`` and ``ruff check`` (the project's rules) pass."""

from __future__ import annotations

import py_compile
import shutil
import subprocess
import sys

import pytest

from symalr import catalog
from symalr.regenerate import GENERATED, differences, expected_files, main, module_stem

ROOT = GENERATED.parent


def test_generated_folder_is_up_to_date():
    diff = differences(GENERATED)
    assert not diff, f"stale files in generated/ (run python -m symalr.regenerate): {diff}"


def test_every_catalog_optimizer_has_every_backend_and_latex():
    names = set(expected_files())
    for name in catalog.NAMES:
        stem = module_stem(name)
        assert {f"{stem}_torch.py", f"{stem}_tf.py", f"{stem}_jax.py", f"{stem}.tex"} <= names
    assert len(names) == 4 * len(catalog.NAMES)


def test_regenerate_writes_and_check_detects_changes(tmp_path):
    assert main([str(tmp_path)]) == 0
    assert differences(tmp_path) == []
    (tmp_path / "ades_torch.py").write_text("# edited\n")
    (tmp_path / "extra.py").write_text("")
    assert differences(tmp_path) == ["ades_torch.py", "extra.py"]
    assert main([str(tmp_path), "--check"]) == 1
    assert main([str(tmp_path)]) == 0 and main([str(tmp_path), "--check"]) == 0
    assert not (tmp_path / "extra.py").exists()


@pytest.mark.parametrize("path", sorted(GENERATED.glob("*.py")), ids=lambda p: p.name)
def test_generated_module_compiles(path, tmp_path):
    py_compile.compile(str(path), cfile=str(tmp_path / "out.pyc"), doraise=True)


def test_generated_modules_pass_ruff():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    files = [str(p) for p in sorted(GENERATED.glob("*.py"))]
    # pyproject excludes generated/ from the routine lint; check it here with the same rules.
    result = subprocess.run([ruff, "check", "--no-force-exclude", "--no-cache", *files],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_regenerate_is_runnable_as_a_module(tmp_path):
    subprocess.run([sys.executable, "-m", "symalr.regenerate", str(tmp_path)], cwd=ROOT,
                   check=True, timeout=120)
    assert differences(tmp_path) == []


def test_templates_load_from_an_installed_layout(tmp_path):
    """A wheel puts templates/ inside the package (pyproject force-include): the renderer
    must find them there, with no source checkout around."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "symalr", site / "symalr",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "templates", site / "symalr" / "templates")
    shutil.copytree(ROOT / "grammars", site / "symalr" / "grammars")
    code = (
        "import symalr.resources as r, symalr.render as s, symalr.catalog as c\n"
        f"assert r.templates_dir() == __import__('pathlib').Path({str(site / 'symalr' / 'templates')!r})\n"
        "assert all(s.module_source(c.get('ades'), b) for b in s.BACKENDS)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=120,
                   env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
