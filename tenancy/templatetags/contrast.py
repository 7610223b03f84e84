"""``{% load contrast %}{% brand_css tenant %}``: the workspace colour and the two colours that keep text
readable with it, as CSS custom properties for the base layout's nonce'd style.

A workspace may pick any colour, light or dark. Text on it (buttons, the current step) is white or
near-black, whichever contrasts more; a middle tone that reaches WCAG's 4.5:1 with neither is darkened
under white text. Where the colour itself is text on white (links, secondary buttons) it is darkened
until it reaches 4.5:1. Borders and marks keep the colour as picked."""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

INK = "#1a1a1a"
WHITE = "#ffffff"
PAGE = "#f3f5f7"  # --bg in static/css/app.css: the lightest-but-one background text sits on
TEXT_CONTRAST = 4.5


def luminance(hex_color: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    channels = [int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def on_color(background: str) -> str:
    """White or near-black, whichever reads better on ``background``."""
    return WHITE if contrast(background, WHITE) >= contrast(background, INK) else INK


def text_on_white(color: str) -> str:
    """``color`` darkened just enough (in steps of 5 %) to read as text on white and on the page grey."""
    channels = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    shade = color
    for step in range(21):
        shade = "#" + "".join(f"{round(c * (1 - step / 20)):02x}" for c in channels)
        if contrast(shade, PAGE) >= TEXT_CONTRAST:
            break
    return shade


def fill_and_ink(color: str) -> tuple[str, str]:
    """The background for text on the brand colour, and that text's colour."""
    ink = on_color(color)
    if contrast(color, ink) >= TEXT_CONTRAST:
        return color, ink
    return text_on_white(color), WHITE


@register.simple_tag
def brand_css(tenant) -> str:
    color = tenant.brand_color.lower()
    fill, ink = fill_and_ink(color)
    # Safe: the model validates brand_color as #RRGGBB, and everything else is computed from it.
    text = text_on_white(color)
    return mark_safe(f"--brand: {color}; --brand-fill: {fill}; --on-brand: {ink}; --brand-text: {text};")
