"""Fill a Jinja skeleton of ``templates/`` with a typed context.

A template receives exactly one variable, ``ctx``: a frozen dataclass whose fields are the
template's written-down inputs (:class:`symalr.render.torch_module.TorchModuleContext`, ...).
Every string in a context is printed code from our printers, a validated identifier
(:mod:`symalr.render.naming`) or a literal from :mod:`symalr.safe_text`; templates hold no
operator, expression or escaping logic, only loops and placement. Undefined fields are errors.
"""

from __future__ import annotations

from dataclasses import is_dataclass
from functools import cache


@cache
def _environment():
    import jinja2

    from ..resources import templates_dir

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


def render(template: str, ctx) -> str:
    """Template ``template`` (a file name in ``templates/``) filled with the context ``ctx``."""
    if not is_dataclass(ctx):
        raise TypeError("a template context is a dataclass instance")
    return _environment().get_template(template).render(ctx=ctx)
