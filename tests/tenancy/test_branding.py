"""Workspace branding: the logo uploaded in the settings (checked by decoding it, re-encoded without
metadata), served under a URL that changes with it, shown with the display name and colour on the
public pages and in the emails, and removed after a confirmation."""

import io
import json
import os
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from PIL import Image, ImageCms, PngImagePlugin

from audit.models import AuditEvent
from tenancy import branding, services
from tenancy.models import Role, Tenant

pytestmark = pytest.mark.django_db

SETTINGS = {
    "name": "Acme Training",
    "display_name": "Acme Academy",
    "time_zone": "Europe/Amsterdam",
    "currency": "EUR",
    "language": "en",
    "brand_color": "#aa3300",
}


def url(tenant, name, **kwargs):
    return reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})


def image_bytes(fmt: str, size=(120, 40), color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt, **save)
    return out.getvalue()


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author-name")
    exif = Image.Exif()
    exif[0x013B] = "secret-artist"  # Artist
    out = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGBA", (120, 40), (0, 90, 200, 128)).save(out, format="PNG", pnginfo=info, exif=exif, icc_profile=icc)
    return out.getvalue()


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x013B] = "secret-artist"
    exif[0x010F] = "secret-camera-make"
    return image_bytes("JPEG", exif=exif.tobytes())


def upload(http, tenant, data: bytes, filename: str, **fields):
    logo = SimpleUploadedFile(filename, data, content_type="application/octet-stream")
    return http.post(url(tenant, "tenancy:settings"), {**SETTINGS, **fields, "logo_file": logo})


def stored(tenant) -> Tenant:
    return Tenant.objects.get(pk=tenant.pk)


@pytest.fixture
def branded(tenant, admin_http):
    """The tenant with a PNG logo uploaded through the settings page."""
    response = upload(admin_http, tenant, image_bytes("PNG"), "logo.png")
    assert response.status_code == 302
    return stored(tenant)


@pytest.mark.parametrize(
    "data,filename",
    [
        (png_with_metadata(), "logo.png"),
        (jpeg_with_exif(), "Logo.JPG"),
        (image_bytes("WEBP", quality=80), "logo.webp"),
    ],
    ids=["png", "jpeg", "webp"],
)
def test_an_admin_uploads_a_logo_and_it_is_kept_reencoded_without_metadata(tenant, admin_http, data, filename):
    response = upload(admin_http, tenant, data, filename)
    assert response.status_code == 302, response.context["form"].errors
    saved = stored(tenant)
    assert saved.logo_type == "image/png" and saved.logo_updated_at is not None
    assert saved.display_name == "Acme Academy" and saved.brand_color == "#aa3300"
    kept = bytes(saved.logo)
    assert kept != data  # a fresh encoding, not the upload
    image = Image.open(io.BytesIO(kept))
    assert image.format == "PNG" and image.size == (120, 40)
    assert not image.info.get("exif") and not image.getexif()
    assert "Author" not in image.info and "icc_profile" not in image.info
    assert b"secret" not in kept
    # The settings page now previews it and offers to remove it.
    page = admin_http.get(url(tenant, "tenancy:settings")).content.decode()
    assert f'src="{branding.logo_path(saved)}"' in page
    assert url(tenant, "tenancy:logo_remove") in page


def test_the_audit_trail_says_the_logo_changed_without_its_bytes(tenant, admin_http, admin):
    upload(admin_http, tenant, png_with_metadata(), "logo.png")
    entry = AuditEvent.objects.filter(tenant=tenant, event="tenancy.tenant.changed").order_by("id").last()
    assert entry.summary.endswith("changed: logo.") and entry.actor_user == admin
    before, after = entry.changes["logo"]
    assert before is None and re.fullmatch(r"\d+ bytes, sha256 [0-9a-f]{12}", after)
    trail = json.dumps([e.changes for e in AuditEvent.objects.filter(tenant=tenant)])
    assert "PNG" not in trail and "\\x89" not in trail and len(trail) < 2000


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script><rect width="9"/></svg>'
GIF_WITH_SCRIPT = image_bytes("GIF") + b"<script>alert(1)</script>"
HTML_AS_PNG = b"<!doctype html><script>alert(1)</script>"


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: random pixels."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "data,filename,message",
    [
        (SVG, "logo.svg", branding.LOGO_WRONG_KIND),
        (SVG, "logo.png", branding.LOGO_WRONG_KIND),
        (GIF_WITH_SCRIPT, "logo.gif", branding.LOGO_WRONG_KIND),
        (HTML_AS_PNG, "logo.png", branding.LOGO_WRONG_KIND),
        (image_bytes("JPEG"), "logo.png", branding.LOGO_WRONG_EXTENSION.format(kind="JPEG", extension="jpeg")),
        (image_bytes("PNG"), "logo.php", branding.LOGO_WRONG_EXTENSION.format(kind="PNG", extension="png")),
        (noise_png(450), "big.png", branding.LOGO_TOO_BIG),
        (image_bytes("PNG", size=(2001, 10)), "wide.png", branding.LOGO_TOO_LARGE.format(width=2001, height=10)),
        (image_bytes("PNG", size=(400, 400))[:300], "cut.png", branding.LOGO_CORRUPT),
        (image_bytes("JPEG", size=(400, 400))[:400], "cut.jpg", branding.LOGO_CORRUPT),
        (b"", "empty.png", "The submitted file is empty."),
    ],
    ids=[
        "svg",
        "svg-as-png",
        "gif-with-script",
        "html-as-png",
        "jpeg-as-png",
        "php",
        "too-big",
        "too-wide",
        "truncated-png",
        "truncated-jpeg",
        "empty",
    ],
)
def test_a_bad_logo_is_refused_with_a_message_and_nothing_is_saved(tenant, admin_http, data, filename, message):
    events_before = AuditEvent.objects.filter(tenant=tenant).count()
    response = upload(admin_http, tenant, data, filename, display_name="Renamed")
    assert response.status_code == 200
    assert response.context["form"].errors["logo_file"] == [str(message)]
    assert escape(str(message)) in response.content.decode()  # shown in the page, beside the field
    saved = stored(tenant)
    assert saved.logo is None and saved.logo_updated_at is None and saved.display_name == ""
    assert AuditEvent.objects.filter(tenant=tenant).count() == events_before


def test_the_logo_is_served_with_its_type_and_cached_for_good(client, branded):
    response = client.get(branding.logo_path(branded))
    assert response.status_code == 200
    assert response.content == bytes(branded.logo)
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Content-Length"] == str(len(branded.logo))
    assert client.post(branding.logo_path(branded)).status_code == 405


def test_an_old_logo_url_leads_to_the_new_logo_and_no_logo_is_a_404(client, tenant, branded, admin_http):
    old = branding.logo_path(branded)
    upload(admin_http, tenant, image_bytes("PNG", color=(0, 0, 255)), "blue.png")
    new = stored(tenant)
    assert branding.logo_path(new) != old
    response = client.get(old)
    assert response.status_code == 302 and response["Location"] == branding.logo_path(new)
    assert "immutable" not in response["Cache-Control"]
    assert client.get(response["Location"]).content == bytes(new.logo)
    branding.tenant_logo_remove(tenant=new)
    assert client.get(old).status_code == 404
    assert client.get(branding.logo_path(branded)).status_code == 404


def test_another_workspace_never_serves_this_logo(client, branded, other_tenant):
    stamp = branding.logo_stamp(branded)
    theirs = url(other_tenant, "tenancy:logo", stamp=stamp, ext="png")
    assert client.get(theirs).status_code == 404  # they have no logo
    services.tenant_settings_update(tenant=other_tenant, display_name="Globex")
    branding.tenant_logo_set(
        tenant=other_tenant, logo=branding.CheckedLogo(image_bytes("PNG", color=(0, 200, 0)), "image/png")
    )
    response = client.get(theirs, follow=True)
    assert response.status_code == 200
    assert response.content == bytes(stored(other_tenant).logo) != bytes(branded.logo)


@pytest.mark.parametrize("page", ["register:listing", "book:start"])
def test_public_pages_show_the_logo_the_display_name_and_the_colour(client, branded, other_tenant, page):
    logo = branding.logo_path(branded)
    html = client.get(url(branded, page)).content.decode()
    assert f'<img class="brand-logo" src="{logo}" alt="Acme Academy" height="40">Acme Academy' in html
    assert "--brand: #aa3300;" in html
    other = client.get(url(other_tenant, page)).content.decode()
    assert logo not in other and "brand-logo" not in other and "Globex Studio" in other


def test_a_public_page_without_a_logo_shows_the_name_alone(client, tenant):
    html = client.get(url(tenant, "register:listing")).content.decode()
    assert "brand-logo" not in html and '<span class="brand-mark" aria-hidden="true"></span>Acme Training' in html


def test_emails_carry_the_logo_name_and_colour_and_the_text_part_means_the_same(
    tenant, owner, branded, django_capture_on_commit_callbacks
):
    def invite(address):
        with django_capture_on_commit_callbacks(execute=True):
            services.staff_invitation_create(tenant=stored(tenant), invited_by=owner, email=address, role=Role.STAFF)
        return mail.outbox[-1]

    branding.tenant_logo_remove(tenant=stored(tenant))
    plain = invite("first@example.com")
    branding.tenant_logo_set(tenant=stored(tenant), logo=branding.CheckedLogo(image_bytes("PNG"), "image/png"))
    logo_url = "http://testserver" + branding.logo_path(stored(tenant))
    branded_mail = invite("second@example.com")
    html = branded_mail.alternatives[0][0]
    assert f'<img src="{logo_url}" alt="Acme Academy" height="40"' in html
    assert "background:#aa3300" in html and ">Acme Academy</td>" in html
    assert logo_url not in plain.alternatives[0][0]

    def meaning(text):
        return re.sub(r"/join/\S+", "/join/…", text).replace("first@", "x@").replace("second@", "x@")

    assert meaning(branded_mail.body) == meaning(plain.body) and "logo" not in branded_mail.body


def test_removing_the_logo_asks_first(client, tenant, branded, admin_http, staff_http):
    remove = url(tenant, "tenancy:logo_remove")
    assert staff_http.get(remove).status_code == 403
    question = admin_http.get(remove)
    assert question.status_code == 200
    assert "Remove the logo of Acme Academy?" in question.content.decode()
    assert stored(tenant).logo_updated_at is not None  # asking changed nothing
    assert admin_http.post(remove).status_code == 302
    saved = stored(tenant)
    assert saved.logo is None and saved.logo_updated_at is None and saved.logo_type == ""
    assert client.get(branding.logo_path(branded)).status_code == 404
    assert "brand-logo" not in client.get(url(tenant, "register:listing")).content.decode()
    entry = AuditEvent.objects.filter(tenant=tenant, event="tenancy.tenant.changed").order_by("id").last()
    assert entry.changes["logo"][1] is None
    # Nothing left to remove: back to the settings with a note, not an error.
    again = admin_http.get(remove, follow=True)
    assert "This workspace has no logo." in again.content.decode()


def test_the_language_is_set_in_the_same_form(tenant, admin_http):
    page = admin_http.get(url(tenant, "tenancy:settings")).content.decode()
    assert "how they write dates, times, numbers and money" in page
    assert upload(admin_http, tenant, image_bytes("PNG"), "logo.png", language="nl").status_code == 302
    assert stored(tenant).language == "nl"
    bad = admin_http.post(url(tenant, "tenancy:settings"), {**SETTINGS, "language": "xx"})
    assert "language" in bad.context["form"].errors and stored(tenant).language == "nl"
