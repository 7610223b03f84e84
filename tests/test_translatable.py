"""Every piece of visible text in the project's templates is inside a translate tag.

Templates are read with Django's own lexer; the HTML around the template tokens is followed with a
small state machine, so text inside tags, comments, scripts and styles is not counted, while the
attributes people read (title, placeholder, aria-label, alt, a button's value) and the texts passed to
partials (``{% include … with empty_title="…" %}``) are. Email templates are not here: they compile in
the messaging sandbox, which staff edit and which has no i18n library.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.template.base import DebugLexer, TokenType

ROOT = Path(settings.BASE_DIR)
# The apps whose templates are checked. An app listed in PENDING is still being wrapped by another
# change (issue 10, I2) and is skipped until it is removed from the set.
APPS = [
    "templates",
    "tenancy",
    "accounts",
    "bookings",
    "contracts",
    "invitations",
    "imports",
    "analytics",
    "audit",
    "api",
    "sessions_roster",
    "regcodes",
    "packages_credits",
    "messaging",
    "webhooks",
    "privacy",
]
PENDING: set[str] = set()
# Files another change is wrapping right now (none left).
PENDING_FILES: set[str] = set()
# Text that is the same in every language.
ALLOWED_TEXT = {"Tessera", "Tessera API", "CSV", "ID"}
# Templates that are not pages: the API docs page is third-party markup around a script.
SKIPPED_FILES = {"templates/drf_spectacular/swagger_ui.html"}

VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
BUTTON_INPUT = re.compile(r"""^<input\b[^>]*\btype\s*=\s*["']?(submit|button|reset)""", re.I)
INCLUDE_TEXT_KEYS = {"empty_title", "empty_text", "empty_action_label", "name_label", "pager_label"}
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|\w+);")
LETTER = re.compile(r"[^\W\d_]")
TRANSLATE_BLOCKS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans"}
SILENT_BLOCKS = {"comment": "endcomment", "verbatim": "endverbatim"}
# Template blocks that fill in class names, not text (templates/base.html, layouts/plain.html).
CLASS_BLOCKS = {"width", "body_class"}
RAW_ELEMENTS = ("script", "style")
# Elements that hold literal data (a code, a CSV sample, a header to send): the same in every language.
LITERAL_ELEMENTS = {"code", "pre", "kbd", "samp"}


def has_letters(text: str) -> bool:
    return bool(LETTER.search(ENTITY.sub("", text)))


@dataclass
class Unit:
    """A run of visible text and variables between two HTML tags or template tags."""

    parts: list = field(default_factory=list)  # ("text", start, end) or ("var", start, end, contents)

    def text(self, source: str) -> str:
        return "".join(source[p[1] : p[2]] for p in self.parts if p[0] == "text")


@dataclass
class Attribute:
    name: str
    start: int  # the value, without its quotes
    end: int
    dynamic: bool  # a template token inside the value
    tag_start: int


@dataclass
class Scan:
    units: list = field(default_factory=list)
    attributes: list = field(default_factory=list)
    includes: list = field(default_factory=list)  # (key, literal, token start, token end)
    loads_i18n: bool = False


def scan(source: str) -> Scan:
    """The visible text outside translate tags, the readable attributes and the include literals."""
    result = Scan()
    state = "text"  # text | tag | comment | raw
    raw_name = ""
    quote = ""
    silent_until = None  # the end tag of a translate, comment or verbatim block
    unit = Unit()
    tag_start = 0
    attr_name = ""
    attr = None
    tag_chars = []
    literal_depth = 0

    def close_unit():
        nonlocal unit
        if unit.parts and silent_until is None and not literal_depth:
            result.units.append(unit)
        unit = Unit()

    for token in DebugLexer(source).tokenize():
        start, end = token.position
        if token.token_type == TokenType.BLOCK:
            bits = token.contents.split()
            name = bits[0] if bits else ""
            if name == "load" and "i18n" in bits[1:]:
                result.loads_i18n = True
            if silent_until is not None:
                if name == silent_until:
                    silent_until = None
                continue
            if state == "tag" and attr is not None:
                attr.dynamic = True
            if state == "text":
                close_unit()
            if name in TRANSLATE_BLOCKS:
                silent_until = TRANSLATE_BLOCKS[name]
            elif name in SILENT_BLOCKS:
                silent_until = SILENT_BLOCKS[name]
            elif name == "block" and len(bits) > 1 and bits[1] in CLASS_BLOCKS:
                silent_until = "endblock"
            elif name == "include":
                for match in re.finditer(r'(\w+)="([^"]*)"', token.contents):
                    result.includes.append((match[1], match[2], start, end))
            continue
        if token.token_type == TokenType.COMMENT:
            if state == "text":
                close_unit()
            continue
        if token.token_type == TokenType.VAR:
            if state == "tag" and attr is not None:
                attr.dynamic = True
            elif state == "text" and silent_until is None:
                unit.parts.append(("var", start, end, token.contents))
            continue
        # TEXT: follow the HTML.
        i = start
        while i < end:
            c = source[i]
            if state == "text":
                if c == "<":
                    if source.startswith("<!--", i):
                        close_unit()
                        state = "comment"
                        i += 4
                        continue
                    close_unit()
                    state = "tag"
                    tag_start = i
                    tag_chars = [c]
                    attr = None
                    attr_name = ""
                    quote = ""
                elif silent_until is None:
                    if unit.parts and unit.parts[-1][0] == "text" and unit.parts[-1][2] == i:
                        unit.parts[-1] = ("text", unit.parts[-1][1], i + 1)
                    else:
                        unit.parts.append(("text", i, i + 1))
            elif state == "comment":
                if source.startswith("-->", i):
                    state = "text"
                    i += 3
                    continue
            elif state == "raw":
                if source[i : i + 2 + len(raw_name)].lower() == f"</{raw_name}":
                    state = "tag"
                    tag_start = i
                    tag_chars = [c]
                    attr = None
                    quote = ""
            elif state == "tag":
                tag_chars.append(c)
                if quote:
                    if c == quote:
                        quote = ""
                        if attr is not None:
                            attr.end = i
                            tag_text = "".join(tag_chars)
                            if (
                                attr.name in VISIBLE_ATTRIBUTES
                                or (attr.name == "value" and BUTTON_INPUT.match(tag_text))
                            ) and silent_until is None:
                                result.attributes.append(attr)
                            attr = None
                elif c in "\"'":
                    quote = c
                    if "".join(tag_chars[:-1]).rstrip().endswith("="):
                        attr = Attribute(attr_name.lower(), i + 1, i + 1, False, tag_start)
                elif c == ">":
                    tag_text = "".join(tag_chars)
                    opened = re.match(r"<\s*(\w+)", tag_text)
                    closed = re.match(r"<\s*/\s*(\w+)", tag_text)
                    if opened and opened[1].lower() in LITERAL_ELEMENTS:
                        literal_depth += 1
                    elif closed and closed[1].lower() in LITERAL_ELEMENTS:
                        literal_depth = max(0, literal_depth - 1)
                    if opened and opened[1].lower() in RAW_ELEMENTS and not tag_text.rstrip().endswith("/>"):
                        state = "raw"
                        raw_name = opened[1].lower()
                    else:
                        state = "text"
                elif c == "=":
                    words = re.findall(r"([\w:.-]+)\s*$", "".join(tag_chars[:-1]))
                    attr_name = words[0] if words else ""
            i += 1
    close_unit()
    return result


@dataclass
class Problem:
    line: int
    text: str


def problems(source: str) -> list[Problem]:
    found = scan(source)
    out = []

    def line_of(position):
        return source.count("\n", 0, position) + 1

    for unit in found.units:
        text = unit.text(source)
        if has_letters(text) and " ".join(text.split()) not in ALLOWED_TEXT:
            out.append(Problem(line_of(unit.parts[0][1]), " ".join(text.split())[:80]))
    for attr in found.attributes:
        value = source[attr.start : attr.end]
        if has_letters(re.sub(r"\{[{%].*?[}%]\}", "", value)) and not attr.dynamic:
            out.append(Problem(line_of(attr.start), f'{attr.name}="{value[:60]}"'))
        elif attr.dynamic and "translate" not in value and has_letters(re.sub(r"\{[{%].*?[}%]\}", "", value)):
            out.append(Problem(line_of(attr.start), f'{attr.name}="{value[:60]}"'))
    for key, literal, start, _end in found.includes:
        if key in INCLUDE_TEXT_KEYS and has_letters(literal):
            out.append(Problem(line_of(start), f'{key}="{literal[:60]}"'))
    return out


def template_files():
    for app in APPS:
        folder = ROOT / app if app == "templates" else ROOT / app / "templates"
        for path in sorted(folder.rglob("*.html")):
            relative = path.relative_to(ROOT).as_posix()
            if "/emails/" in f"/{relative}" or relative in SKIPPED_FILES:
                continue
            yield app, relative


TEMPLATES = list(template_files())


def test_the_check_finds_the_templates():
    """A moved folder must not make the check pass by finding nothing."""
    apps = {app for app, _ in TEMPLATES}
    assert len(TEMPLATES) > 100
    assert {"templates", "invitations", "contracts", "sessions_roster"} <= apps


@pytest.mark.parametrize("app,relative", TEMPLATES, ids=[relative for _, relative in TEMPLATES])
def test_visible_text_is_translatable(app, relative):
    if app in PENDING or relative in PENDING_FILES:
        pytest.skip(f"{app} is still being wrapped (issue 10)")
    source = (ROOT / relative).read_text()
    found = problems(source)
    assert not found, f"{relative}: text outside a translate tag:\n" + "\n".join(
        f"  line {p.line}: {p.text}" for p in found
    )


@pytest.mark.parametrize(
    "source,expected",
    [
        ("<p>Hello {{ name }}</p>", ["Hello"]),
        ("{% load i18n %}<p>{% translate 'Hello' %} {{ name }}</p>", []),
        ("{% load i18n %}<p>{% blocktranslate with n=x.name %}Hello {{ n }}{% endblocktranslate %}</p>", []),
        ('<a href="/x" class="button secondary">{{ label }}</a>', []),
        ('<input type="search" placeholder="Name or email">', ['placeholder="Name or email"']),
        ('<input type="submit" value="Save">', ['value="Save"']),
        ('<input type="hidden" name="step" value="done">', []),
        ("<script>const label = 'Copied';</script><style>a::after { content: 'x'; }</style>", []),
        ("<!-- a note for developers --><p>&middot; {{ a }} &mdash; 3</p>", []),
        ('{% include "partials/empty.html" with empty_title="No codes yet" %}', ['empty_title="No codes yet"']),
        ('{% include "partials/empty.html" with empty_title=_("No codes yet") %}', []),
        ("{% comment %}Not shown{% endcomment %}{# nor this #}", []),
        ("<p>Send <code>Authorization: Bearer {{ key }}</code></p>", ["Send"]),
        ("{% block width %}wide{% endblock %}{% block title %}Codes{% endblock %}", ["Codes"]),
        ("<p>{% if a %}Open{% else %}{% translate 'Closed' %}{% endif %}</p>", ["Open"]),
    ],
)
def test_the_check_tells_text_from_markup(source, expected):
    assert [p.text for p in problems(source)] == expected
