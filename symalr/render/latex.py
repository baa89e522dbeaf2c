"""LaTeX for specs: the update rule as an ``align`` block, and a booktabs hyperparameter table.

Time indices follow the execution semantics of :mod:`symalr.spec`: inside statement *i* a state
already updated this step prints as ``s_{t}``, one not yet updated as ``s_{t-1}``; the gradient
is ``g_{t}`` and the weight ``w_{t-1}``. Hyperparameters print with their ``latex`` names
(Greek where given). Floats print with 6 significant digits. Pure: imports SymPy only.
"""

from __future__ import annotations

import sympy

from ..expr import GRAD, STEP, WEIGHT
from ..safe_text import tex_text
from ..spec import OptimizerSpec

_FLOAT_DIGITS = 6


def _base(name: str) -> str:
    """LaTeX for a bare state name: ``m`` -> ``m``, ``x_1`` -> ``x_{1}``."""
    return sympy.latex(sympy.Symbol(name))


def _indexed(name: str, index: str) -> str:
    base = _base(name)
    if "_" in base:  # already subscripted: append the time index after a comma
        head, sub = base.split("_", 1)
        sub = sub[1:-1] if sub.startswith("{") else sub
        return f"{head}_{{{sub},{index}}}"
    return f"{base}_{{{index}}}"


def _hp_name(h) -> str:
    """A hyperparameter's LaTeX name: its own, else SymPy's rendering (``beta_1`` -> ``\\beta_{1}``)."""
    return h.latex or sympy.latex(sympy.Symbol(h.name))


def _hp_latex(spec: OptimizerSpec) -> dict[sympy.Symbol, str]:
    return {spec.sym(h.name): _hp_name(h) for h in spec.hyperparams}


def _round_floats(e: sympy.Expr) -> sympy.Expr:
    return e.xreplace({f: sympy.Float(f, _FLOAT_DIGITS) for f in e.atoms(sympy.Float)})


def expr_latex(e: sympy.Expr, names: dict[sympy.Symbol, str]) -> str:
    """One expression with the given symbol names."""
    return sympy.latex(_round_floats(e), symbol_names=names, full_prec=False)


def statement_names(spec: OptimizerSpec, position: int) -> dict[sympy.Symbol, str]:
    """Symbol names valid inside statement ``position`` (``len(updates)`` = the weight update)."""
    names = _hp_latex(spec)
    done = set(spec.states[:position])
    for s in spec.states:
        names[spec.sym(s)] = _indexed(s, "t" if s in done else "t-1")
    names[spec.sym(GRAD)] = _indexed("g", "t")
    names[spec.sym(WEIGHT)] = _indexed("w", "t-1")
    names[spec.sym(STEP)] = "t"
    return names


def update_rule_latex(spec: OptimizerSpec) -> str:
    """The update rule as a LaTeX ``align`` block (needs ``amsmath``)."""
    lines = []
    for i, (s, e) in enumerate(spec.updates):
        lines.append(f"{_indexed(s, 't')} &\\leftarrow {expr_latex(e, statement_names(spec, i))}")
    names = statement_names(spec, len(spec.updates))
    delta = expr_latex(spec.delta, names)
    delta = f"- {delta[1:].lstrip()}" if delta.startswith("-") else f"+ {delta}"
    lines.append(f"w_{{t}} &\\leftarrow w_{{t-1}} {delta}")
    body = " \\\\\n".join(lines)
    return f"\\begin{{align}}\n{body}\n\\end{{align}}"


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def hyperparam_table(spec: OptimizerSpec) -> str:
    """A booktabs table of the hyperparameters (needs ``booktabs``)."""
    rows = [
        f"${_hp_name(h)}$ & \\texttt{{{tex_text(h.name)}}} & "
        f"{_fmt(h.default)} & [{_fmt(h.low)}, {_fmt(h.high)}]"
        f"{' (log)' if h.log else ''}{'' if h.tunable else ' fixed'} \\\\"
        for h in spec.hyperparams
    ]
    if not rows:
        rows = ["\\multicolumn{4}{c}{no hyperparameters} \\\\"]
    return "\n".join(
        [
            "\\begin{tabular}{llrl}",
            "\\toprule",
            "Symbol & Name & Default & Tuning range \\\\",
            "\\midrule",
            *rows,
            "\\bottomrule",
            "\\end{tabular}",
        ]
    )


def latex_document(body: str) -> str:
    """A minimal standalone document around ``body`` — equations (``amsmath``) and tables
    (``booktabs``) — that pdflatex compiles (for previews and the compile tests)."""
    return (
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{amsmath}\n"
        "\\usepackage{booktabs}\n"
        f"\\begin{{document}}\n{body}\n\\end{{document}}\n"
    )
