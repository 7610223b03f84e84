"""Reads of the outbox and of email templates. Every function takes the tenant explicitly."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from tenancy.models import Tenant

from . import registry
from .models import Channel, EmailStatus, EmailTemplateOverride, OutboundEmail
from .rendering import TemplateSources, default_source


def outbox_list(*, tenant: Tenant, status: str = "", search: str = "", channel: str = "") -> QuerySet[OutboundEmail]:
    emails = OutboundEmail.objects.filter(tenant=tenant).defer("body_text", "body_html")
    if status in EmailStatus.values:
        emails = emails.filter(status=status)
    if channel in Channel.values:
        emails = emails.filter(channel=channel)
    if search:
        emails = emails.filter(
            Q(to_email__icontains=search) | Q(to_phone__contains=search.replace(" ", "")) | Q(subject__icontains=search)
        )
    return emails.order_by("-created_at", "-id")


def outbox_counts(*, tenant: Tenant) -> dict[str, int]:
    counts = {status: 0 for status in EmailStatus.values}
    rows = OutboundEmail.objects.filter(tenant=tenant).values_list("status").order_by().annotate(n=Count("id"))
    counts.update(dict(rows))
    return counts


def outbox_get(*, tenant: Tenant, email_id: int) -> OutboundEmail:
    email = OutboundEmail.objects.filter(tenant=tenant, pk=email_id).select_related("resent_from").first()
    if email is None:
        raise Http404("No such email.")
    return email


def default_sources(kind: registry.EmailKind) -> TemplateSources:
    return TemplateSources(
        **{part: default_source(kind.default_template_name(part)) for part in ("subject", "text", "html")}
    )


def template_override(*, tenant: Tenant | None, key: str) -> EmailTemplateOverride | None:
    if tenant is None:
        return None
    return EmailTemplateOverride.objects.filter(tenant=tenant, key=key).first()


def template_sources(*, tenant: Tenant | None, kind: registry.EmailKind) -> TemplateSources:
    override = template_override(tenant=tenant, key=kind.key) if kind.tenant_editable else None
    if override is None:
        return default_sources(kind)
    return TemplateSources(subject=override.subject, text=override.body_text, html=override.body_html)


def editable_kind_get(key: str) -> registry.EmailKind:
    kind = registry.get(key)
    if kind is None or not kind.tenant_editable:
        raise Http404("No such email template.")
    return kind
