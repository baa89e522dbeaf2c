"""Grammar layer: parsing, validation (message + line + column), analysis, shipped grammars, CLI."""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symalr import ops
from symalr.errors import GrammarError
from symalr.grammar import DEFAULT_GRAMMAR, load_grammar, parse_grammar, summarize
from symalr.resources import shipped_grammars
from symalr.types import Grammar

REPO = Path(__file__).resolve().parent.parent


def alt_texts(grammar: Grammar, nt: str) -> list[str]:
    """Alternatives of ``nt`` as space-joined items, non-terminals in angle brackets."""
    return [
        " ".join(f"<{s.text}>" if s.nonterminal else s.text for s in p.symbols)
        for p in grammar.rule(nt).productions
    ]


# --------------------------------------------------------------------------- shipped grammars


def test_shipped_grammars_are_the_paper_pair_and_the_blocks_grammar():
    assert set(shipped_grammars()) == {"alr", "alr-grad", "alr-blocks"}
    assert DEFAULT_GRAMMAR == "alr"


@pytest.mark.parametrize("name", sorted(shipped_grammars()))
def test_every_shipped_grammar_parses(name):
    g = load_grammar(name)
    assert g.start == "start"
    assert Path(g.path) == shipped_grammars()[name]
    assert g.min_depth["start"] == 3


def _expected_rules(weight_grad: bool) -> dict[str, list[str]]:
    """The documented structure (docs/optimizer-model.md) of the shipped grammars, built from the operator list and the table."""
    consts = list(ops.constant_table())
    terminals = {
        "x": ["x", "grad", "grad"],
        "y": ["x", "y", "grad", "grad", "grad"],
        "z": ["x", "y", "z", "grad", "grad", "grad", "grad"],
        "weight": ["x", "y", "z"] + ["grad"] * 4 * weight_grad,
    }
    rules = {
        "start": [
            (
                "x_func = <x_expr> ; y_func = <y_expr> ; z_func = <z_expr> ; "
                "weight_func = <weight_expr>"
            )
        ]
    }
    for f, terms in terminals.items():
        e, c = f"<{f}_expr>", f"<{f}_const>"
        rules[f"{f}_expr"] = [f"<{f}_func>", f"<{f}_terminal>"]
        rules[f"{f}_func"] = [
            f"negative ( {e} )",
            f"add ( {e} , {e} )",
            f"add ( {e} , {e} )",
            f"subtract ( {e} , {e} )",
            f"multiply ( {e} , {e} )",
            f"pow ( {e} , {e} )",
            f"square ( {e} )",
            f"sqrt ( {e} )",
            f"divide_no_nan ( {e} , {e} )",
            c,
        ]
        rules[f"{f}_terminal"] = [c, *terms]
        rules[f"{f}_const"] = consts
    return rules


@pytest.mark.parametrize("name,weight_grad", [("alr", False), ("alr-grad", True)])
def test_shipped_grammar_equals_the_spec_structure(name, weight_grad):
    g = load_grammar(name)
    expected = _expected_rules(weight_grad)
    assert list(g.nonterminals) == list(expected)
    for nt, alts in expected.items():
        assert alt_texts(g, nt) == alts, nt


def test_constant_table_in_files():
    table = ops.constant_table()
    assert len(table) == 100
    assert table[0] == "4.53978687e-05" and table[-1] == "9.99954602e-01"
    assert table[38] == "8.92170603e-02"
    assert table[61] == "9.10782940e-01"
    for name in shipped_grammars():
        g = load_grammar(name)
        for f in ("x", "y", "z", "weight"):
            assert alt_texts(g, f"{f}_const") == list(table)


def test_function_sets_have_ten_choices_with_add_twice_and_a_constant():
    for name in shipped_grammars():
        g = load_grammar(name)
        for f in ("x", "y", "z", "weight"):
            alts = alt_texts(g, f"{f}_func")
            assert len(alts) == 10
            assert sum(a.startswith("add (") for a in alts) == 2
            assert f"<{f}_const>" in alts


def test_weight_function_gradient_differs_between_grammars():
    assert "grad" not in alt_texts(load_grammar("alr"), "weight_terminal")
    assert alt_texts(load_grammar("alr-grad"), "weight_terminal").count("grad") == 4


def test_blocks_grammar_keeps_every_alr_alternative():
    """alr-blocks only adds alternatives: each alr rule is there with its alternatives, in
    order, at the front, so every ALR individual is an alr-blocks individual too."""
    alr, blocks = load_grammar("alr"), load_grammar("alr-blocks")
    for nt in alr.nonterminals:
        ours = alt_texts(blocks, nt)
        assert ours[: len(alt_texts(alr, nt))] == alt_texts(alr, nt), nt
    for f in ("x", "y", "z", "weight"):
        assert alt_texts(blocks, f"{f}_expr")[2:] == [f"<{f}_block>"] * 2


def test_blocks_grammar_blocks_are_the_documented_shapes():
    g = load_grammar("alr-blocks")
    for f, s in (("x", "x"), ("y", "y"), ("z", "z")):
        assert alt_texts(g, f"{f}_block") == [
            f"multiply ( <{f}_const> , subtract ( {s} , <{f}_source> ) )",
            f"subtract ( {s} , <{f}_source> )",
        ]
        assert alt_texts(g, f"{f}_source")[-1] == f"<{f}_expr>"
    assert alt_texts(g, "weight_block") == ["multiply ( <weight_const> , <weight_direction> )"]
    assert alt_texts(g, "weight_state") == ["x", "y", "z"]
    weight_rules = [alt for nt in g.nonterminals if nt.startswith("weight")
                    for alt in alt_texts(g, nt)]
    assert not any("grad" in alt.split() for alt in weight_rules)  # as in alr


def test_alr_phenotypes_parse_in_the_blocks_grammar():
    from symalr.sge.initialise import random_genotype
    from symalr.sge.inverse import parse_phenotype
    from symalr.sge.mapping import map_genotype

    alr, blocks = load_grammar("alr"), load_grammar("alr-blocks")
    rng = np.random.default_rng(5)
    for _ in range(20):
        _, tree = map_genotype(alr, random_genotype(alr, rng, 12, 4), 12)
        _, again = map_genotype(blocks, parse_phenotype(blocks, tree.text(), 17), 17)
        assert again.text() == tree.text()


def test_shipped_grammars_analysis_by_hand():
    g = load_grammar("alr")
    assert g.min_depth["x_const"] == 1
    assert g.min_depth["x_terminal"] == 1  # x | grad
    assert g.min_depth["x_expr"] == 2  # <x_terminal>
    assert g.min_depth["x_func"] == 2  # <x_const>
    assert g.production_min_depth["x_func"][0] == 3  # negative(<x_expr>)
    assert g.production_min_depth["x_func"][9] == 2  # <x_const>
    assert g.production_min_depth["x_terminal"] == (2, 1, 1, 1)
    assert g.production_min_depth["start"] == (3,)
    assert g.recursive == frozenset(
        f"{f}_{k}" for f in ("x", "y", "z", "weight") for k in ("expr", "func")
    )


# --------------------------------------------------------------------------- parsing


def test_positions_and_terminal_splitting():
    text = (
        "# comment\n"
        "<s> ::= x_func = <e>\n"
        "<e> ::= pow(<e>, <t>) | <t>   # trailing comment\n"
        "      # a comment line with a | bar does not add alternatives\n"
        '      | "grad"\n'
        "<t> ::= 4.53978687e-05 | x\n"
    )
    g = parse_grammar(text, "mem.bnf")
    assert g.path == "mem.bnf"
    assert [(r.name, r.line, r.col) for r in g.rules] == [
        ("s", 2, 1),
        ("e", 3, 1),
        ("t", 6, 1),
    ]
    e = g.rule("e")
    assert alt_texts(g, "e") == ["pow ( <e> , <t> )", "<t>", "grad"]
    assert [(p.line, p.col) for p in e.productions] == [(3, 9), (3, 25), (5, 9)]
    assert [(s.text, s.nonterminal, s.col) for s in e.productions[0].symbols] == [
        ("pow", False, 9),
        ("(", False, 12),
        ("e", True, 13),
        (",", False, 16),
        ("t", True, 18),
        (")", False, 21),
    ]
    assert alt_texts(g, "t") == ["4.53978687e-05", "x"]


def test_valid_language_constructs():
    g = parse_grammar(
        "<s> ::= x_func = add((x), multiply(grad, 0.5)) ; weight_func = <w>\n"
        '<w> ::= divide_no_nan(sqrt(square(y)), .25) | "negative( z )"\n'
    )
    assert alt_texts(g, "w")[1] == "negative( z )"  # a quoted terminal stays one symbol


def test_utf8_bom_file(tmp_path):
    path = tmp_path / "bom.bnf"
    path.write_bytes("\ufeff<a> ::= x | grad\n".encode())
    assert alt_texts(load_grammar(path), "a") == ["x", "grad"]


def test_crlf_and_blank_lines():
    text = "<s> ::= x_func = <e>\r\n\r\n<e> ::= x\r\n   | grad\r\n"
    g = parse_grammar(text)
    assert alt_texts(g, "e") == ["x", "grad"]
    assert g.rule("e").productions[1].line == 4


MIN_DEPTH = """
<s> ::= x_func = <e>
<e> ::= add(<e>, <t>) | <t>
<t> ::= negative(<c>) | x
<c> ::= 0.5 | 0.25
"""


def test_min_depth_by_hand():
    g = parse_grammar(MIN_DEPTH)
    assert dict(g.min_depth) == {"s": 3, "e": 2, "t": 1, "c": 1}
    assert g.production_min_depth["e"] == (3, 2)
    assert g.production_min_depth["t"] == (2, 1)
    assert g.recursive == frozenset({"e"})


def test_min_depth_needs_fixpoint_iteration():
    # <a> is defined after its user and depends on a later rule: one pass is not enough.
    g = parse_grammar(
        "<s> ::= negative(<a>)\n<a> ::= square(<s>) | sqrt(<b>)\n<b> ::= negative(<c>)\n"
        "<c> ::= x\n"
    )
    assert dict(g.min_depth) == {"s": 4, "a": 3, "b": 2, "c": 1}
    assert g.recursive == frozenset({"s", "a"})


def test_indirect_recursion():
    g = parse_grammar("<a> ::= negative(<b>) | x\n<b> ::= square(<a>)\n")
    assert g.recursive == frozenset({"a", "b"})
    assert dict(g.min_depth) == {"a": 1, "b": 2}
    assert g.production_min_depth["a"] == (3, 1)


def test_direct_recursion_and_non_recursive_start():
    g = parse_grammar("<s> ::= x_func = <a>\n<a> ::= negative(<a>) | grad\n")
    assert g.recursive == frozenset({"a"})


def test_grammar_is_immutable_hashable_and_picklable():
    g = load_grammar("alr")
    with pytest.raises(TypeError):
        g.min_depth["x_const"] = 5  # type: ignore[index]
    with pytest.raises(AttributeError):
        g.min_depth._data = {}  # type: ignore[attr-defined]
    assert load_grammar("alr") == g and hash(load_grammar("alr")) == hash(g)
    again = pickle.loads(pickle.dumps(g))
    assert again == g
    assert dict(again.min_depth) == dict(g.min_depth)


# --------------------------------------------------------------------------- validation

BAD_GRAMMARS = [
    # (id, text, message fragment, line, col)
    ("syntax-define", "<a> = x\n", "expected '::='", 1, 5),
    ("syntax-nonterminal", "<a> ::= <b-c>\n", "malformed non-terminal", 1, 9),
    ("syntax-continuation", "<a> ::= x\n  grad\n", "must start with '|'", 2, 3),
    ("syntax-quote", '<a> ::= "grad\n', "unterminated quoted terminal", 1, 9),
    ("syntax-leading-bar", "| x\n", "'|' outside a rule", 1, 1),
    ("syntax-eof", "<a> ::= x\n<b>", "expected '::='", 2, 4),
    ("empty-file", "", "empty grammar", 1, 1),
    ("comments-only", "# nothing here\n\n", "empty grammar", 1, 1),
    ("undefined", "<a> ::= negative(<b>) | x\n", "undefined non-terminal <b>", 1, 18),
    ("duplicate", "<a> ::= x\n<a> ::= grad\n", "duplicate rule <a>", 2, 1),
    ("unreachable", "<a> ::= x\n\n<b> ::= grad\n", "<b> is unreachable", 3, 1),
    (
        "no-finite-derivation",
        "<a> ::= negative(<b>) | x\n<b> ::= square(<b>)\n",
        "<b> has no finite derivation",
        2,
        1,
    ),
    (
        "unknown-operator",
        "<a> ::= x | powr(x, x)\n",
        "operator 'powr' is not in the vocabulary (known: abs, add, divide_no_nan",
        1,
        13,
    ),
    (
        "unknown-identifier",
        "<a> ::= x | grad | foo\n",
        "unknown identifier 'foo'",
        1,
        20,
    ),
    ("arity-low", "<a> ::= add(x)\n", "operator 'add' takes 2 arguments, got 1", 1, 9),
    (
        "arity-high",
        "<a> ::= x\n  | negative(x, <a>)\n",
        "operator 'negative' takes 1 argument, got 2",
        2,
        5,
    ),
    ("arity-zero", "<a> ::= sqrt()\n", "takes 1 argument, got 0", 1, 9),
    ("empty-argument", "<a> ::= add(x, )\n", "empty argument", 1, 16),
    ("empty-alternative", "<a> ::= x | | grad\n", "empty alternative in <a>", 1, 11),
    ("empty-first-alternative", "<a> ::= | grad\n", "empty alternative", 1, 5),
    ("trailing-bar", "<a> ::= x\n    |\n", "empty alternative", 2, 5),
    ("unclosed-paren", "<a> ::= x | sqrt(x\n", "'(' is never closed", 1, 17),
    ("stray-paren", "<a> ::= x)\n", "')' without a matching '('", 1, 10),
    ("operator-without-call", "<a> ::= sqrt x\n", "must be followed by '('", 1, 9),
    ("bad-character", "<a> ::= x + grad\n", "unexpected character '+'", 1, 11),
    (
        "define-in-alternative",
        "<a> ::= x <b> ::= y\n",
        "'<b> ::=' inside an alternative",
        1,
        11,
    ),
    ("empty-quoted", '<a> ::= x | ""\n', "empty quoted terminal", 1, 13),
    ("equals-in-parens", "<a> ::= sqrt(x = grad)\n", "'=' inside parentheses", 1, 16),
    (
        "empty-group",
        "<a> ::= x | ()\n",
        "parentheses must hold one expression, got 0",
        1,
        13,
    ),
    ("top-level-comma", "<a> ::= x, grad\n", "',' outside parentheses", 1, 10),
    (
        "target-without-equals",
        "<a> ::= x_func x\n",
        "target 'x_func' must be followed",
        1,
        9,
    ),
    ("quoted-unknown", '<a> ::= "x" | "os.system"\n', "unknown identifier 'os'", 1, 16),
    # security: grammar text is data; Python builtins are just unknown names
    ("eval", "<a> ::= eval(x)\n", "operator 'eval' is not in the vocabulary", 1, 9),
    (
        "import",
        '<a> ::= __import__("os")\n',
        "operator '__import__' is not in the vocab",
        1,
        9,
    ),
    ("exec-name", "<a> ::= exec\n", "unknown identifier 'exec'", 1, 9),
    # the first error in file order wins; local errors before global ones
    (
        "first-in-order",
        "<a> ::= x | foo\n<a> ::= grad\n",
        "unknown identifier 'foo'",
        1,
        13,
    ),
    (
        "local-before-global",
        "<a> ::= negative(<b>)\n<c> ::= y\n",
        "undefined non-terminal <b>",
        1,
        18,
    ),
]


@pytest.mark.parametrize(
    "text,fragment,line,col",
    [c[1:] for c in BAD_GRAMMARS],
    ids=[c[0] for c in BAD_GRAMMARS],
)
def test_malformed_grammar_reports_message_line_and_column(text, fragment, line, col):
    with pytest.raises(GrammarError) as info:
        parse_grammar(text, "bad.bnf")
    err = info.value
    assert fragment in err.message
    assert (err.file, err.line, err.col) == ("bad.bnf", line, col)
    assert str(err) == f"bad.bnf:{line}:{col}: {err.message}"
    assert "\n" not in str(err)


def test_unreadable_grammar_file_is_a_grammar_error(tmp_path):
    missing = tmp_path / "nope.bnf"
    with pytest.raises(GrammarError) as info:
        load_grammar(missing)
    assert (info.value.file, info.value.line, info.value.col) == (str(missing), 0, 0)
    assert "alr" in info.value.message  # names the shipped grammars
    with pytest.raises(GrammarError, match="cannot read grammar"):
        load_grammar(tmp_path)  # a folder
    binary = tmp_path / "bin.bnf"
    binary.write_bytes(b"\xff\xfe<a> ::= x")
    with pytest.raises(GrammarError, match="cannot read grammar"):
        load_grammar(binary)


def test_load_grammar_from_path(tmp_path):
    path = tmp_path / "mine.bnf"
    path.write_text(MIN_DEPTH, encoding="utf-8")
    g = load_grammar(path)
    assert g.path == str(path) and g.min_depth["s"] == 3
    assert load_grammar(str(path)) == g


# --------------------------------------------------------------------------- summary and CLI


def test_summary_is_compact_and_complete():
    text = summarize(load_grammar("alr"))
    lines = text.splitlines()
    assert "start <start>" in lines[1] and "17 non-terminals" in lines[1]
    assert "<x_func>" in lines[2] and "<weight_expr>" in lines[2]  # recursive list
    assert len(lines) == 3 + 17  # one line per non-terminal
    const = next(ln for ln in lines if ln.strip().startswith("<x_const>"))
    assert (
        "100 productions" in const and "min depth 1" in const and "(constants" in const
    )
    x_func = next(ln for ln in lines if ln.strip().startswith("<x_func>"))
    assert (
        "10 productions" in x_func and "recursive" in x_func and "min depth 2" in x_func
    )
    term = next(ln for ln in lines if ln.strip().startswith("<weight_terminal>"))
    assert term.endswith("<weight_const> | x | y | z")


def _run_command(argv: list[str]) -> int:
    from symalr.commands import grammar as command

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.run(args)


def test_grammar_command_prints_summary(capsys):
    assert _run_command(["grammar", "alr-grad"]) == 0
    out = capsys.readouterr().out
    assert out == summarize(load_grammar("alr-grad"))


def test_grammar_command_raises_grammar_error(tmp_path):
    bad = tmp_path / "BAD.bnf"
    bad.write_text("<a> ::= add(x)\n", encoding="utf-8")
    with pytest.raises(GrammarError, match=r":1:9: operator 'add' takes 2"):
        _run_command(["grammar", str(bad)])


def _cli_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), env.get("PYTHONPATH")])
    )
    return env


def test_cli_reports_bad_grammar_on_one_line(tmp_path):
    (tmp_path / "BAD.bnf").write_text(
        "<a> ::= x\n  | powr(x, grad)\n", encoding="utf-8"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "symalr.cli", "grammar", "BAD.bnf"],
        cwd=tmp_path,
        env=_cli_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("BAD.bnf:2:5: operator 'powr' is not in the vocabulary")


def test_cli_grammar_summary_exit_zero():
    proc = subprocess.run(
        [sys.executable, "-m", "symalr.cli", "grammar", "alr"],
        cwd=REPO,
        env=_cli_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "<x_const>" in proc.stdout and "100 productions" in proc.stdout


def test_grammar_package_does_not_import_sympy():
    code = (
        "import sys; from symalr.grammar import load_grammar, summarize; "
        "summarize(load_grammar('alr')); "
        "bad = [m for m in ('sympy', 'torch', 'tensorflow') if m in sys.modules]; "
        "assert not bad, bad"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=_cli_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
