"""User text never runs as code: names, docs, LaTeX names and class names reach generated
modules and LaTeX only through symalr.safe_text (validation at the boundary, literals at
emission). For any accepted input the exported module compiles and imports without side
effects; anything else is one line and exit 2."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from symalr.errors import ExportError, SpecError
from symalr.render.latex import hyperparam_table, update_rule_latex
from symalr.render.tf_module import tf_source
from symalr.render.torch_module import torch_source
from symalr.safe_text import check_latex_name, py_docstring, py_float, py_str, tex_text
from symalr.spec import spec_from_json

ROOT = Path(__file__).resolve().parents[1]


def symalr(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symalr.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def _spec(name="probe", doc="", hp_name="beta_1", latex=None, hp_doc="", high=1.0):
    hp = {"name": hp_name, "default": 0.5, "high": high, "doc": hp_doc}
    if latex is not None:
        hp["latex"] = latex
    return {"name": name, "doc": doc, "states": [["m", "beta_1*m + g"]], "delta": "-0.01*m",
            "hyperparams": [hp]}


MARKER = "/tmp/symalr_pwned_marker"
INJECTIONS = [
    'x"""\nimport os; os.system("touch ' + MARKER + '")\n"""',
    "x'''\nimport os; os.system('touch " + MARKER + "')\n'''",
    'x")\nimport os\nos.system("touch ' + MARKER + '")\n#',
    "x\\",
    "x\0y",
    "x\n",
]


def test_injected_text_is_refused_or_inert(tmp_path, capsys):
    """Each probe (every injection in every field, torch and Keras) is either refused (one
    line, exit 2, no file) or exported to a module that compiles; importing every exported
    torch module (in one fresh interpreter) creates no marker file. The command line runs
    in-process (``symalr.cli.main``, what ``python -m symalr.cli`` calls) so that the 36
    exports cost one interpreter, not 36."""
    from symalr.cli import main

    Path(MARKER).unlink(missing_ok=True)
    modules = []
    for field in ("name", "doc", "hp_doc"):
        for k, text in enumerate(INJECTIONS):
            spec_file = tmp_path / f"spec_{field}_{k}.json"
            spec_file.write_text(json.dumps(_spec(**{field: text})))
            for backend in ("torch", "tf"):
                stem = f"out_{backend}_{field}_{k}"
                out_file = tmp_path / f"{stem}.py"
                status = main(["export", str(spec_file), "--backend", backend,
                               "-o", str(out_file)])
                err = capsys.readouterr().err
                if status != 0:
                    assert status == 2 and err.count("\n") == 1, (field, k, err)
                    assert "Traceback" not in err and not out_file.exists()
                    continue
                compile(out_file.read_text(), str(out_file), "exec")
                if backend == "torch":
                    modules.append(stem)
    assert modules  # some probes are exported (as inert text), not all refused
    subprocess.run([sys.executable, "-c", "; ".join(f"import {m}" for m in modules)],
                   cwd=tmp_path, check=True, timeout=300)
    assert not Path(MARKER).exists()


def test_injected_doc_is_inert_in_the_keras_module(tmp_path):
    Path(MARKER).unlink(missing_ok=True)
    (tmp_path / "probe_tf.py").write_text(tf_source(spec_from_json(_spec(doc=INJECTIONS[0]),
                                                                  "p.json")))
    subprocess.run([sys.executable, "-c", "import probe_tf"], cwd=tmp_path, check=True,
                   timeout=300)
    assert not Path(MARKER).exists()


def test_spec_name_with_quotes_is_refused_with_one_line(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(_spec(name='a"""b')))
    out = symalr("export", str(f), cwd=tmp_path)
    assert out.returncode == 2 and "optimizer spec name" in out.stderr
    assert out.stderr.count("\n") == 1


def test_individual_file_stem_becomes_a_safe_name(tmp_path):
    """An individual's default name comes from its file name: it is made a label."""
    f = tmp_path / 'evil"""; import os #.json'
    f.write_text(json.dumps({"phenotype": "x_func = subtract(x, grad); y_func = y; "
                                          "z_func = z; weight_func = multiply(0.5, x)"}))
    out = symalr("export", str(f), "-o", str(tmp_path / "m.py"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "m.py").read_text()
    compile(text, "m.py", "exec")
    assert '"""; import os' not in text


@pytest.mark.parametrize("name", ["Bad\n", "A\nB", "_check", "_buckets", "__builtins__",
                                  "print", "Tensor", "torch", "class", "1abc", "a-b", "A\0"])
def test_bad_class_names_are_refused(name):
    from symalr import catalog

    with pytest.raises(ExportError):
        torch_source(catalog.get("sgd"), class_name=name)
    with pytest.raises(ExportError):
        tf_source(catalog.get("sgd"), class_name=name)


def test_class_name_with_newline_on_the_command_line(tmp_path):
    out = symalr("export", "ades", "--class-name", "ADES\nimport os", cwd=tmp_path)
    assert out.returncode == 2 and out.stdout == "" and out.stderr.count("\n") == 1


@pytest.mark.parametrize("data, message", [
    (_spec(name="ades\n"), "optimizer spec name"),
    (_spec(name=""), "optimizer spec name"),
    (_spec(hp_name="beta_1\n"), "hyperparameter name"),
    (_spec(high=float("inf")), "not a finite number"),
    (_spec(latex=r"\input{/etc/hostname}"), r"command \\input"),
    (_spec(latex=r"\beta^^5cinput"), "not allowed"),
    (_spec(latex="a % comment"), "not allowed"),
    (_spec(latex="{"), "unbalanced"),
    (_spec(doc="bell\x07"), "control character"),
    ({**_spec(), "hyperparams": 5}, "'hyperparams' must be a list"),
    ({**_spec(), "doc": 5}, "'doc' must be a string"),
    ({**_spec(), "name": 5}, "'name' must be a string"),
    ({**_spec(), "hyperparams": [{"name": 5, "default": 0.1}]}, "hyperparameter name"),
    ({**_spec(), "hyperparams": [{"name": "a", "default": 10**400}]}, "not a finite number"),
    ({**_spec(), "hyperparams": [{"name": "a", "default": 0.1, "latex": 5}]}, "latex"),
    ({**_spec(), "hyperparams": [{"name": "a", "default": 0.1, "doc": 5}]}, "doc must be"),
])
def test_bad_spec_text_is_a_spec_error(data, message):
    with pytest.raises(SpecError, match=message) as err:
        spec_from_json(data, "s.json")
    assert str(err.value).startswith("s.json") and "\n" not in str(err.value)


def test_infinity_in_a_spec_file_is_one_line(tmp_path):
    f = tmp_path / "inf.json"
    f.write_text(json.dumps(_spec()).replace('"high": 1.0', '"high": Infinity'))
    out = symalr("export", str(f), cwd=tmp_path)
    assert out.returncode == 2 and "Infinity" in out.stderr and out.stderr.count("\n") == 1


def test_latex_input_never_reaches_pdflatex(tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(_spec(latex=r"\input{/etc/hostname}")))
    out = symalr("latex", str(f), "--table", cwd=tmp_path)
    assert out.returncode == 2 and r"\input" in out.stderr and out.stdout == ""


# ---------------------------------------------------------------------------- properties

TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@given(TEXT)
def test_py_str_and_py_docstring_are_exact_literals(text):
    assert ast.literal_eval(py_str(text)) == text
    assert ast.literal_eval(py_docstring(text)) == text


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_py_float_is_valid_source(value):
    out = eval(py_float(value), {})
    assert (out != out and value != value) or out == value


#: Module-level constants of generated modules (templates/torch_module.py.j2, the Keras
#: module's rule digest).
MODULE_TABLES = [["_BOUNDS"], ["_DEFAULTS"], ["_ALIASES"], ["_OPTIONS"], ["_SLOTS"],
                 ["_USES_STEP"], ["_RULE"]]


def _is_literal_display(node: ast.AST) -> bool:
    """Constants, their tuples, lists and dicts, negation, and ``float("inf")``-style calls."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_is_literal_display(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(_is_literal_display(e) for e in (*node.keys, *node.values))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _is_literal_display(node.operand)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "float" and not node.keywords and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=TEXT, doc=TEXT, latex=st.one_of(st.none(), TEXT), hp_doc=TEXT)
@example(name="0", doc="", latex=None, hp_doc="")  # a valid spec: the modules are inspected
def test_random_user_text_is_refused_or_gives_a_module_that_compiles(name, doc, latex, hp_doc):
    try:
        spec = spec_from_json(_spec(name=name, doc=doc, latex=latex, hp_doc=hp_doc), "p.json")
    except SpecError as err:
        assert "\n" not in str(err)
        return
    for source in (torch_source(spec), tf_source(spec)):
        tree = ast.parse(source)
        # the only statements at module level: the docstring, imports, defs, __all__ and the
        # torch module's constant tables, whose values are literal displays
        for node in tree.body:
            assert isinstance(node, (ast.Expr, ast.Import, ast.ImportFrom, ast.FunctionDef,
                                     ast.ClassDef, ast.Assign)), ast.dump(node)[:80]
            if isinstance(node, ast.Expr):
                assert isinstance(node.value, ast.Constant)
            if isinstance(node, ast.Assign):
                assert [t.id for t in node.targets] in (["__all__"], *MODULE_TABLES)
                assert _is_literal_display(node.value), ast.dump(node)[:80]
        cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
        assert ast.get_docstring(cls) is not None
    update_rule_latex(spec)
    hyperparam_table(spec)


@given(TEXT)
def test_latex_names_that_pass_hold_no_command_outside_the_whitelist(text):
    try:
        check_latex_name(text)
    except ValueError:
        return
    assert "%" not in text and "#" not in text and "^^" not in text
    assert "\\input" not in text and "\\write" not in text and "\\def" not in text


@given(TEXT)
def test_tex_text_escapes_every_special_character(text):
    rest = re.sub(r"\\(textbackslash|textasciitilde|textasciicircum)\{\}|\\[&%$#_{}]", "",
                  tex_text(text))
    assert not set(rest) & set("\\&%$#_{}~^")
