"""The only tags and filters an email template may use.

Tenant staff edit email templates, and rendering runs inside the transaction that sends the email,
so the language is cut down to what an email needs: conditions, loops over the email's own values,
text filters, and the translation tags (the default templates' words follow the workspace's language).
Nothing reads files or URLs, binds literals to new names (``with``, ``firstof …
as``), pads strings to a size of the author's choosing (``ljust``, ``lorem``), or turns off escaping
of the values it is given (``safe``: a participant's name must never become HTML).
"""

from django.template import Library, defaultfilters, defaulttags
from django.templatetags import i18n

ALLOWED_TAGS = ("if", "for", "comment", "spaceless", "autoescape", "templatetag", "verbatim", "now")
# Without ``{% load %}`` (not allowed), so they are built in; ``as``/``asvar`` and literal values in ``with``
# are refused by the renderer's tag check (rendering.py), like ``with`` itself.
I18N_TAGS = ("translate", "trans", "blocktranslate", "blocktrans")
# The parts of those tags that the parser reads itself.
INNER_TAGS = (
    "elif",
    "else",
    "endif",
    "empty",
    "endfor",
    "endcomment",
    "endspaceless",
    "endautoescape",
    "endverbatim",
    "plural",
    "endblocktranslate",
    "endblocktrans",
)
ALLOWED_FILTERS = (
    "add",
    "capfirst",
    "cut",
    "date",
    "default",
    "default_if_none",
    "divisibleby",
    "escape",
    "first",
    "join",
    "last",
    "length",
    "linebreaks",
    "linebreaksbr",
    "lower",
    "pluralize",
    "striptags",
    "time",
    "timesince",
    "timeuntil",
    "title",
    "truncatechars",
    "truncatewords",
    "upper",
    "urlencode",
    "wordcount",
    "yesno",
)

register = Library()
for _name in ALLOWED_TAGS:
    register.tags[_name] = defaulttags.register.tags[_name]
for _name in I18N_TAGS:
    register.tags[_name] = i18n.register.tags[_name]
for _name in ALLOWED_FILTERS:
    register.filters[_name] = defaultfilters.register.filters[_name]
