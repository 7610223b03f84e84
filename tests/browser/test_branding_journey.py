"""In a real browser: an admin uploads a logo in the settings; the public page (desktop and phone)
and an email in the outbox preview show it, decoded by Chromium and allowed by the page's policy."""

import io

import pytest
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFont
from playwright.sync_api import expect

from messaging.models import OutboundEmail
from tenancy.models import Role

from ..conftest import member
from .conftest import SCREENSHOTS
from .test_foundation_journey import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def logo_file(tmp_path) -> str:
    """A small wide logo, as a designer would hand it over: a mark and a word, transparent around."""
    image = Image.new("RGBA", (360, 120), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 10, 104, 110), radius=22, fill=(170, 51, 0, 255))
    draw.ellipse((30, 36, 78, 84), fill=(255, 255, 255, 255))
    draw.text((120, 28), "ACME", fill=(31, 41, 51, 255), font=ImageFont.load_default(size=60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    path = tmp_path / "acme-logo.png"
    path.write_bytes(out.getvalue())
    return str(path)


def logo_shown(page) -> bool:
    return page.evaluate("document.querySelector('img.brand-logo')?.naturalWidth > 0")


def test_an_uploaded_logo_shows_on_public_pages_and_in_emails(
    live_server, page, screens, tenant, chromium, settings, tmp_path
):
    settings.SITE_URL = live_server.url  # emails link to the logo on this server
    owner = member(tenant, Role.OWNER, email="owner@acme.example")  # settings need an admin, inviting an owner
    base = live_server.url
    sign_in(page, base, owner.email)
    page.goto(f"{base}/t/acme/settings/")
    page.get_by_label("Display name").fill("Acme Academy")
    page.get_by_label("Brand colour").fill("#aa3300")
    page.get_by_label("Logo", exact=True).set_input_files(logo_file(tmp_path))
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    preview = page.get_by_role("img", name="Current logo of Acme Academy")
    expect(preview).to_be_visible()
    page.wait_for_load_state("load")  # the image too, not only the document
    assert page.evaluate("document.querySelector('img.logo-preview').naturalWidth") == 360
    screens.shot("settings-with-logo")

    visitor = chromium.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 700})
    phone = chromium.new_context(java_script_enabled=False, viewport={"width": 375, "height": 700})
    try:
        public = visitor.new_page()
        public.goto(f"{base}/t/acme/register/")
        expect(public.get_by_role("img", name="Acme Academy")).to_be_visible()
        assert logo_shown(public)
        public.screenshot(path=SCREENSHOTS / "branding-public-page.png", full_page=True)
        small = phone.new_page()
        small.goto(f"{base}/t/acme/book/")
        assert logo_shown(small)
        assert small.evaluate("document.documentElement.scrollWidth") <= 375
        small.screenshot(path=SCREENSHOTS / "branding-public-page-phone.png", full_page=True)
    finally:
        visitor.close()
        phone.close()

    # An email sent now carries the logo; its preview in the outbox loads it from this server.
    page.goto(f"{base}/t/acme/team/invite/")
    page.get_by_label("Email address").fill("casey@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to casey@example.com.")).to_be_visible()
    email = OutboundEmail.objects.get(to_email="casey@example.com")
    assert f"{base}/t/acme/logo/" in email.body_html
    page.goto(base + reverse("messaging:outbox_detail", kwargs={"tenant_slug": "acme", "email_id": email.pk}))
    frame = page.frame_locator("iframe.email-frame")
    expect(frame.get_by_role("img", name="Acme Academy")).to_be_visible()
    assert frame.locator("img").first.evaluate("img => img.naturalWidth") > 0
    screens.shot("outbox-email-with-logo")
