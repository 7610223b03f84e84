"""A workspace's logo: checked by really decoding it, stored re-encoded, served under a URL that
changes with it.

An upload is trusted for nothing: its name must end in the extension of what it decodes as (PNG,
JPEG or WebP only, so never SVG, which can carry script), it is fully decoded by Pillow (corrupt or
truncated files fail here), and what is kept is a fresh encoding of the pixels alone: EXIF (GPS,
camera), ICC profiles and text chunks are dropped, and anything appended after the image is gone.
The logo lives in the database (no shared disk between web processes) and is served by
``tenancy.views.tenant_logo`` at ``/t/<slug>/logo/<stamp>.<ext>``; the stamp comes from
``logo_updated_at``, so the URL changes with every new logo and the response can be cached forever.
"""

import hashlib
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import Tenant
from .urlresolvers import absolute_tenant_url, tenant_reverse

MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_SIDE = 2000
# Kept at most this size: twice what a page header or an email shows, for sharp high-density screens.
STORED_BOX = (960, 320)

# Decoded format → the extensions its file may have.
ACCEPTED = {"PNG": {"png"}, "JPEG": {"jpg", "jpeg"}, "WEBP": {"webp"}}
CONTENT_TYPES = {"png": "image/png", "webp": "image/webp"}

LOGO_TOO_BIG = _("The logo is larger than 512 KB. Save it smaller (fewer pixels or more compression) and try again.")
LOGO_WRONG_KIND = _("Upload a PNG, JPEG or WebP image. SVG, GIF and other kinds of file are not accepted for the logo.")
LOGO_WRONG_EXTENSION = _(
    "The file’s name does not match what it contains (a {kind} image). Upload it with a .{extension} ending."
)
LOGO_TOO_LARGE = _("The logo is {width}×{height} pixels; it may be at most 2000×2000.")
LOGO_CORRUPT = _("The image could not be read: the file is damaged or incomplete.")


@dataclass(frozen=True)
class CheckedLogo:
    data: bytes
    content_type: str


def logo_check(upload) -> CheckedLogo:
    """The re-encoded logo from an uploaded file, or a ``ValidationError`` saying what is wrong."""
    if upload.size > MAX_LOGO_BYTES:
        raise ValidationError(LOGO_TOO_BIG, code="too_big")
    raw = upload.read(MAX_LOGO_BYTES + 1)
    if len(raw) > MAX_LOGO_BYTES:
        raise ValidationError(LOGO_TOO_BIG, code="too_big")
    try:
        # Only these decoders are tried, so an SVG, a GIF or an HTML page is never "an image".
        image = Image.open(io.BytesIO(raw), formats=list(ACCEPTED))
    except UnidentifiedImageError:
        raise ValidationError(LOGO_WRONG_KIND, code="wrong_kind") from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationError(LOGO_CORRUPT, code="corrupt") from None
    extension = (upload.name or "").rsplit(".", 1)[-1].lower() if "." in (upload.name or "") else ""
    if extension not in ACCEPTED[image.format]:
        kind = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}[image.format]
        raise ValidationError(
            LOGO_WRONG_EXTENSION.format(kind=kind, extension=sorted(ACCEPTED[image.format])[0]),
            code="wrong_extension",
        )
    # Checked before decoding the pixels: a small file can claim a huge canvas (a decompression bomb).
    width, height = image.size
    if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
        raise ValidationError(LOGO_TOO_LARGE.format(width=width, height=height), code="too_large")
    try:
        image.load()
        return _reencoded(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(LOGO_CORRUPT, code="corrupt") from None


def _reencoded(image: Image.Image) -> CheckedLogo:
    """The pixels alone, upright, at most ``STORED_BOX``, as PNG (what every email client shows); WebP
    only when a large photo-like logo would be too heavy as PNG."""
    image = ImageOps.exif_transpose(image)  # a phone photo's rotation, before its EXIF is dropped
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail(STORED_BOX, Image.Resampling.LANCZOS)
    image.info = {}  # EXIF, ICC profile, text chunks, comments: nothing of the upload's metadata
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    if out.tell() <= MAX_LOGO_BYTES:
        return CheckedLogo(out.getvalue(), CONTENT_TYPES["png"])
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=90, method=4)
    return CheckedLogo(out.getvalue(), CONTENT_TYPES["webp"])


def logo_digest(data: bytes | memoryview | None) -> str | None:
    """How the audit trail shows a logo: its size and a short fingerprint, never its bytes."""
    if not data:
        return None
    data = bytes(data)
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:12]}"


def tenant_logo_set(*, tenant: Tenant, logo: CheckedLogo) -> Tenant:
    """Replace the workspace's logo. The audit trail records the change (tenancy.tenant.changed, the
    logo as a fingerprint) through the model signals."""
    with transaction.atomic():
        tenant.logo = logo.data
        tenant.logo_type = logo.content_type
        tenant.logo_updated_at = timezone.now()
        tenant.save(update_fields=["logo", "logo_type", "logo_updated_at"])
    return tenant


def tenant_logo_remove(*, tenant: Tenant) -> bool:
    """Remove the logo; False when there was none. Old emails then show no logo (the URL is a 404)."""
    if tenant.logo_updated_at is None:
        return False
    with transaction.atomic():
        tenant.logo = None
        tenant.logo_type = ""
        tenant.logo_updated_at = None
        tenant.save(update_fields=["logo", "logo_type", "logo_updated_at"])
    return True


def logo_stamp(tenant: Tenant) -> int | None:
    return int(tenant.logo_updated_at.timestamp() * 1000) if tenant.logo_updated_at else None


def logo_extension(tenant: Tenant) -> str:
    return {value: key for key, value in CONTENT_TYPES.items()}.get(tenant.logo_type, "png")


def logo_path(tenant: Tenant | None) -> str:
    """The logo's URL path, changing with every new logo; "" when the workspace has none."""
    if tenant is None or tenant.logo_updated_at is None:
        return ""
    return tenant_reverse(tenant, "tenancy:logo", stamp=logo_stamp(tenant), ext=logo_extension(tenant))


def logo_url(tenant: Tenant | None) -> str:
    """The logo's absolute URL (for emails); "" when the workspace has none."""
    if tenant is None or tenant.logo_updated_at is None:
        return ""
    return absolute_tenant_url(tenant, "tenancy:logo", stamp=logo_stamp(tenant), ext=logo_extension(tenant))


def logo_for_serving(tenant: Tenant) -> tuple[bytes, str, int] | None:
    """The stored logo's bytes, content type and stamp, read only here (other reads defer the bytes)."""
    row = Tenant.objects.filter(pk=tenant.pk).values_list("logo", "logo_type", "logo_updated_at").first()
    if row is None or not row[0] or row[2] is None:
        return None
    data, content_type, updated_at = row
    return bytes(data), content_type or CONTENT_TYPES["png"], int(updated_at.timestamp() * 1000)
