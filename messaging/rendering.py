"""Email templates are Django templates that tenant staff edit in the dashboard, so they compile
in a sandbox: an engine with no template loaders whose only library is ``messaging.sandbox`` (a
short list of tags and filters). Loops may only go over the email's own values, two deep at most.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from django.template import Context, Engine, Template, TemplateDoesNotExist, TemplateSyntaxError, engines
from django.template.base import Lexer, TokenType, Variable
from django.template.defaulttags import ForNode
from django.utils.translation import gettext as _

from .sandbox import ALLOWED_TAGS, I18N_TAGS, INNER_TAGS

MAX_LOOP_DEPTH = 2
KNOWN_TAGS = frozenset(ALLOWED_TAGS + I18N_TAGS + INNER_TAGS)


class SandboxEngine(Engine):
    default_builtins = []  # not Django's tags and filters: only the sandbox library


_ENGINES = {
    autoescape: SandboxEngine(
        loaders=[], libraries={}, builtins=["messaging.sandbox"], debug=True, autoescape=autoescape
    )
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
        template = _ENGINES[autoescape].from_string(source)
    except TemplateSyntaxError as exc:
        raise EmailTemplateError(_describe(exc)) from None
    for loop in template.nodelist.get_nodes_by_type(ForNode):
        target = loop.sequence.var
        if not isinstance(target, Variable) or target.literal is not None:
            line = loop.token.lineno if loop.token else "?"
            raise EmailTemplateError(_("Line {line}: loops can only go over the email's own values.").format(line=line))
    return template


def _check_tags(source: str) -> None:
    depth = 0
    for token in Lexer(source).tokenize():
        if token.token_type != TokenType.BLOCK or not token.contents.strip():
            continue
        bits = token.split_contents()
        tag = bits[0]
        if tag not in KNOWN_TAGS:
            raise EmailTemplateError(
                _("Line {lineno}: the {{% {tag} %}} tag is not allowed in email templates.").format(
                    lineno=token.lineno, tag=tag
                )
            )
        if tag in I18N_TAGS:
            _check_translate(bits, token.lineno)
        depth += {"for": 1, "endfor": -1}.get(tag, 0)
        if depth > MAX_LOOP_DEPTH:
            raise EmailTemplateError(
                _("Line {lineno}: loops can be nested {MAX_LOOP_DEPTH} deep at most in email templates.").format(
                    lineno=token.lineno, MAX_LOOP_DEPTH=MAX_LOOP_DEPTH
                )
            )


def _check_translate(bits: list[str], lineno: int) -> None:
    """Translation tags may name the email's own values, never bind literals or store a result (as ``with``)."""
    if "as" in bits[2:] or "asvar" in bits:
        raise EmailTemplateError(
            _("Line {line}: {{% {tag} %}} cannot store its text under a name here.").format(line=lineno, tag=bits[0])
        )
    for bit in bits[1:]:
        name, sep, value = bit.partition("=")
        if sep and name.isidentifier() and Variable(value.split("|", 1)[0]).literal is not None:
            raise EmailTemplateError(
                _("Line {line}: {{% {tag} %}} can only name the email's own values.").format(line=lineno, tag=bits[0])
            )


def default_source(template_name: str) -> str:
    """A default email template's text, read as it is: the project's engine would not compile the
    sandbox's built-in translation tags without ``{% load i18n %}``."""
    engine = engines["django"].engine
    for loader in engine.template_loaders:
        for origin in loader.get_template_sources(template_name):
            try:
                return loader.get_contents(origin)
            except TemplateDoesNotExist:
                continue
    raise TemplateDoesNotExist(template_name)


def _describe(exc: TemplateSyntaxError) -> str:
    message = str(exc)
    unknown_filter = re.match(r"Invalid filter: '(\w+)'", message)
    if unknown_filter:
        message = f"the |{unknown_filter[1]} filter is not allowed in email templates."
    info = getattr(exc, "template_debug", None)
    return f"Line {info['line']}: {message}" if info else message


def _render(source: str, context: dict, *, autoescape: bool) -> str:
    template = compile_template(source, autoescape=autoescape)
    try:
        return template.render(Context(context, autoescape=autoescape))
    except Exception as exc:  # a filter given a bad argument, etc.: report, never crash the page
        raise EmailTemplateError(_("The template could not be rendered: {exc}").format(exc=exc)) from None


def render_email(sources: TemplateSources, context: dict) -> RenderedEmail:
    subject = " ".join(_render(sources.subject, context, autoescape=False).split())
    if not subject:
        raise EmailTemplateError(_("The subject is empty once rendered."))
    text = _render(sources.text, context, autoescape=False).strip() + "\n"
    html = _render(sources.html, context, autoescape=True).strip()
    return RenderedEmail(subject=subject[:998], text=text, html=html)


SMS_MAX_CHARS = 1600  # ten concatenated segments: more than any provider delivers as one message


def render_sms(source: str, context: dict) -> str:
    """An SMS text: rendered in the sandbox without escaping, blank lines and spaces squeezed."""
    text = _render(source, context, autoescape=False)
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    text = "\n".join(line for line in lines if line)
    if not text:
        raise EmailTemplateError(_("The SMS text is empty once rendered."))
    return text[:SMS_MAX_CHARS]
