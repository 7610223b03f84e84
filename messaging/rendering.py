"""Email templates are Django templates that tenant staff edit in the dashboard, so they compile
in a sandbox: an engine with no template loaders and no tag libraries, where tags that reach
outside the template (load, include, extends, debug, url, csrf_token) are refused when saved.
"""

from dataclasses import dataclass
from functools import lru_cache

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import Lexer, TokenType

FORBIDDEN_TAGS = frozenset({"load", "include", "extends", "debug", "url", "csrf_token", "ssi", "lorem"})
# Loops inside loops multiply rendering work; an email never needs more than this.
MAX_LOOP_DEPTH = 2

_ENGINES = {
    autoescape: Engine(loaders=[], libraries={}, debug=True, autoescape=autoescape)
    for autoescape in (True, False)
}


class EmailTemplateError(Exception):
    """A template that does not compile or render; the message is meant for the page."""


@dataclass(frozen=True)
class TemplateSources:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=512)
def compile_template(source: str, *, autoescape: bool) -> Template:
    """Compile ``source`` in the sandbox or raise ``EmailTemplateError`` saying where and why."""
    _check_tags(source)
    try:
        return _ENGINES[autoescape].from_string(source)
    except TemplateSyntaxError as exc:
        raise EmailTemplateError(_describe(exc)) from None


def _check_tags(source: str) -> None:
    depth = 0
    for token in Lexer(source).tokenize():
        if token.token_type != TokenType.BLOCK:
            continue
        tag = token.contents.split(" ", 1)[0]
        if tag in FORBIDDEN_TAGS:
            raise EmailTemplateError(f"Line {token.lineno}: the {{% {tag} %}} tag is not allowed in email templates.")
        depth += {"for": 1, "endfor": -1}.get(tag, 0)
        if depth > MAX_LOOP_DEPTH:
            raise EmailTemplateError(
                f"Line {token.lineno}: loops can be nested {MAX_LOOP_DEPTH} deep at most in email templates."
            )


def _describe(exc: TemplateSyntaxError) -> str:
    info = getattr(exc, "template_debug", None)
    return f"Line {info['line']}: {exc}" if info else str(exc)


def _render(source: str, context: dict, *, autoescape: bool) -> str:
    template = compile_template(source, autoescape=autoescape)
    try:
        return template.render(Context(context, autoescape=autoescape))
    except Exception as exc:  # a filter given a bad argument, etc.: report, never crash the page
        raise EmailTemplateError(f"The template could not be rendered: {exc}") from None


def render_email(sources: TemplateSources, context: dict) -> RenderedEmail:
    subject = " ".join(_render(sources.subject, context, autoescape=False).split())
    if not subject:
        raise EmailTemplateError("The subject is empty once rendered.")
    text = _render(sources.text, context, autoescape=False).strip() + "\n"
    html = _render(sources.html, context, autoescape=True).strip()
    return RenderedEmail(subject=subject[:998], text=text, html=html)
