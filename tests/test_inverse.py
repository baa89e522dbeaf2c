"""Inverse mapping: phenotype text -> genotype with the grammar itself (Lark), and back."""

from __future__ import annotations

import re

import numpy as np
import pytest

from symalr.errors import GenotypeError
from symalr.grammar import load_grammar, parse_grammar
from symalr.ops import constant_table
from symalr.sge import DEFAULT_MAX_DEPTH, map_genotype, random_population
from symalr.sge.inverse import normalise_numbers, parse_phenotype
from symalr.types import Genotype

TABLE = constant_table()
B1, B2 = TABLE[61], TABLE[38]  # 9.10782940e-01, 8.92170603e-02
TINY = TABLE[0]  # 4.53978687e-05

MOMENTUM = (
    f"x_func = subtract(x, add(multiply({B1}, x), grad)); y_func = {TINY}; "
    f"z_func = {TINY}; weight_func = multiply({B2}, x)"
)
# The evolved ADES individual as published, constants written as plain decimals.
ADES = (
    f"x_func = {TINY}; y_func = multiply(0.910782940, add(y, multiply(add(y, 0.0892170603), "
    f"add(y, grad)))); z_func = {TINY}; weight_func = negative(y)"
)
ADES_NORMALISED = ADES.replace("0.910782940", B1).replace("0.0892170603", B2)

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\d+\.?\d*(?:e[+-]?\d+)?|\S")


def tokens(text: str) -> list[str]:
    """Language tokens: phenotypes compare equal whatever their spacing."""
    return _TOKEN.findall(text)


def round_trip(grammar, text, max_depth=DEFAULT_MAX_DEPTH):
    genotype = parse_phenotype(grammar, text, max_depth)
    used, tree = map_genotype(grammar, genotype, max_depth)  # complete: needs no rng
    assert used == genotype
    return genotype, tree


@pytest.mark.parametrize("name", ["alr", "alr-grad"])
def test_momentum_like_rule_round_trips(name):
    grammar = load_grammar(name)
    genotype, tree = round_trip(grammar, MOMENTUM)
    assert tokens(tree.text()) == tokens(MOMENTUM)
    assert genotype.genes["x_const"] == (61,) and genotype.genes["weight_const"] == (38,)
    assert parse_phenotype(grammar, tree.text()) == genotype


@pytest.mark.parametrize("name", ["alr", "alr-grad"])
def test_ades_parses_with_decimal_constants_and_maps_back(name):
    grammar = load_grammar(name)
    genotype, tree = round_trip(grammar, ADES)
    assert tokens(tree.text()) == tokens(ADES_NORMALISED)
    assert tree.depth() == 12 <= DEFAULT_MAX_DEPTH
    assert sorted(genotype.genes["y_const"]) == [38, 61]
    assert parse_phenotype(grammar, ADES_NORMALISED) == genotype


def test_ambiguity_resolves_to_the_lowest_production_index():
    grammar = load_grammar("alr")
    genotype = parse_phenotype(
        grammar,
        f"x_func = add(grad, {TINY}); y_func = add(y, grad); z_func = z; weight_func = x",
    )
    # add is listed at 1 and 2, grad at 2 and 3 (x) / 3, 4, 5 (y); a constant is reachable as
    # <x_expr> -> <x_func> -> <x_const> (0, 9) or <x_expr> -> <x_terminal> -> <x_const> (1, 0).
    assert genotype.genes["x_func"] == (1, 9)
    assert genotype.genes["x_expr"] == (0, 1, 0)
    assert genotype.genes["x_terminal"] == (2,)
    assert genotype.genes["y_func"] == (1,)
    assert genotype.genes["y_terminal"] == (2, 3)
    assert genotype.genes["z_terminal"] == (3,)


@pytest.mark.parametrize("name", ["alr", "alr-grad"])
def test_random_individuals_round_trip_through_text(name):
    grammar = load_grammar(name)
    for genotype in random_population(grammar, 150, np.random.default_rng(5), 12, 6):
        text = map_genotype(grammar, genotype, 12)[1].text()
        parsed, tree = round_trip(grammar, text, 12)
        assert tree.text() == text
        assert parse_phenotype(grammar, text) == parsed  # deterministic


def test_normalise_numbers_uses_the_grammar_spelling():
    grammar = load_grammar("alr")
    assert normalise_numbers(grammar, "add(0.910782940, .0892170603)") == f"add({B1}, {B2})"
    assert normalise_numbers(grammar, "add(0.5, 9.1078294e-1)") == f"add(0.5, {B1})"
    assert normalise_numbers(grammar, "x_func = x") == "x_func = x"


@pytest.mark.parametrize(
    ("text", "where", "found"),
    [
        ("x_func = foo", "1:10", "'foo'"),
        ("x_func = grad; y_func", "1:22", "end of text"),
        ("x_func = 0.123; y_func = y", "1:10", "'0.123'"),
        ("x_func = add(x,\n  0.910782940 grad)", "2:15", "'grad'"),
        ("x_func = add(0.910782940, 0.910782940; y", "1:38", "';'"),
        ("weight_func = x", "1:1", "'weight_func'"),
    ],
)
def test_text_outside_the_language_names_line_and_column(text, where, found):
    with pytest.raises(GenotypeError, match=rf"^phenotype:{where}: unexpected {re.escape(found)}"):
        parse_phenotype(load_grammar("alr"), text)


def test_gradient_in_weight_function_only_in_the_grad_grammar():
    text = f"x_func = grad; y_func = {TINY}; z_func = {TINY}; weight_func = grad"
    assert parse_phenotype(load_grammar("alr-grad"), text).genes["weight_terminal"] == (4,)
    with pytest.raises(GenotypeError, match=r"phenotype:1:\d+: unexpected 'grad'"):
        parse_phenotype(load_grammar("alr"), text)


def test_too_deep_text_is_rejected_with_its_depth():
    grammar = load_grammar("alr")
    with pytest.raises(GenotypeError, match="depth 12, above max_depth 10"):
        parse_phenotype(grammar, ADES, max_depth=10)
    with pytest.raises(GenotypeError, match="needs depth"):
        map_genotype(grammar, parse_phenotype(grammar, ADES), 10)


def test_rule_names_lark_rejects_are_mangled():
    # Upper case and leading digits are not Lark rule names; <x> is also a terminal's text.
    grammar = parse_grammar(
        "<Start> ::= x_func = <x> ; weight_func = <2nd>\n<x> ::= x | grad | grad\n"
        "<2nd> ::= square(<x>) | 0.5\n",
        "mangled.bnf",
    )
    genotype = parse_phenotype(grammar, "x_func = grad ; weight_func = square(x)")
    assert genotype == Genotype({"Start": (0,), "x": (1, 0), "2nd": (0,)})
    assert parse_phenotype(grammar, "x_func=x;weight_func=.5").genes["2nd"] == (1,)


def test_constant_tables_and_numbers_inside_productions():
    # <c1> and <c2> hold different constants; 0.5 is also part of a larger production.
    grammar = parse_grammar(
        "<e> ::= pow(<e>, 0.5) | <c1> | <c2>\n<c1> ::= 0.5 | 0.25 | 0.25\n<c2> ::= 0.75 | 2.5\n",
        "constants.bnf",
    )
    cases = {
        "0.25": {"e": (1,), "c1": (1,)},
        "7.5e-1": {"e": (2,), "c2": (0,)},
        "pow(0.5, 0.5)": {"e": (0, 1), "c1": (0,)},
        "pow(pow(2.5, .5), 0.50)": {"e": (0, 0, 2), "c2": (1,)},
    }
    for text, genes in cases.items():
        genotype = parse_phenotype(grammar, text)
        assert genotype == Genotype(genes), text
        assert tokens(map_genotype(grammar, genotype, 10)[1].text()) == tokens(
            normalise_numbers(grammar, text)
        )
    with pytest.raises(GenotypeError, match=r"phenotype:1:5: unexpected '0.7'"):
        parse_phenotype(grammar, "pow(0.7, 0.5)")
