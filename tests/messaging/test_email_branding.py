"""The email header keeps its text readable on the workspace's colour, as the public pages do."""

from messaging.services import html_in_layout
from tenancy.templatetags.contrast import contrast


def header_colours(html: str) -> tuple[str, str]:
    cell = html.split('<td style="background:', 1)[1]
    background, rest = cell.split(";", 1)
    return background, rest.split("color:", 1)[1].split(";", 1)[0]


def test_a_light_brand_colour_gets_dark_text_and_a_dark_one_white(tenant):
    for colour, expected_ink in (("#f5c400", "dark"), ("#2f5d62", "#ffffff")):
        tenant.brand_color = colour
        background, ink = header_colours(html_in_layout(tenant=tenant, inner_html="<p>Hi</p>", subject="Hi"))
        assert background == colour
        assert contrast(background, ink) >= 4.5
        assert (ink == "#ffffff") == (expected_ink == "#ffffff")
