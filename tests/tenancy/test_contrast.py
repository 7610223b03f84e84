"""The brand colour's companions keep text readable whatever colour a workspace picks (WCAG 2 AA, 4.5:1)."""

import pytest

from tenancy.templatetags.contrast import PAGE, WHITE, brand_css, contrast, fill_and_ink, text_on_white

COLOURS = ["#2f5d62", "#f5c400", "#ffffff", "#000000", "#e91e63", "#3366ff", "#808080", "#00ff00", "#aa3300"]


def test_contrast_matches_wcag_for_known_pairs():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("colour", COLOURS)
def test_text_on_the_colour_and_the_colour_as_text_are_readable(colour):
    fill, ink = fill_and_ink(colour)
    assert contrast(fill, ink) >= 4.5
    assert contrast(text_on_white(colour), PAGE) >= 4.5 and contrast(text_on_white(colour), WHITE) >= 4.5


def test_light_colours_get_dark_text_and_keep_their_look():
    assert fill_and_ink("#f5c400") == ("#f5c400", "#1a1a1a")
    assert fill_and_ink("#2f5d62") == ("#2f5d62", WHITE)


def test_the_css_carries_the_picked_colour_unchanged(tenant):
    tenant.brand_color = "#F5C400"
    assert brand_css(tenant).startswith("--brand: #f5c400; --brand-fill: #f5c400; --on-brand: #1a1a1a;")
