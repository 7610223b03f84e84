"""The webhook pages: endpoints (add, edit, pause, rotate the secret, test, delete) and the delivery log."""

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenancy.decorators import staff_required
from tenancy.events import WEBHOOK_EVENTS
from tenancy.models import Role
from tenancy.pagination import keyset_page
from tenancy.shortcuts import confirm_page
from tenancy.shown_once import keep_to_show_once, not_stored, take_to_show
from tenancy.urlresolvers import tenant_reverse

from . import services
from .forms import DeliveryFilterForm, EndpointForm
from .selectors import delivery_get, delivery_list, endpoint_get, endpoint_list

DELIVERIES_PER_PAGE = 50
LOG_ORDER = ("-created_at", "-id")


def _endpoint_url(request, endpoint) -> str:
    return tenant_reverse(request.tenant, "webhooks:endpoint", endpoint_id=endpoint.pk)


def _log(request, *, endpoint=None) -> dict:
    """The delivery log's page, filtered by the query string (a bad value drops only its filter)."""
    filters = DeliveryFilterForm(request.GET)
    filters.is_valid()
    status, event = filters.cleaned_data.get("status", ""), filters.cleaned_data.get("event", "")
    rows = delivery_list(tenant=request.tenant, endpoint=endpoint, status=status, event=event)
    page = keyset_page(rows, order=LOG_ORDER, per_page=DELIVERIES_PER_PAGE, params=request.GET)
    return {"filters": filters, "page": page, "filtered": bool(status or event)}


def _can_manage(request) -> bool:
    """Owners and admins add, change and delete endpoints; all staff read the log, replay and test."""
    return request.membership.has_role(Role.ADMIN)


@staff_required()
def endpoints(request):
    return render(
        request,
        "webhooks/endpoints.html",
        {
            "endpoints": endpoint_list(tenant=request.tenant),
            "max_attempts": settings.WEBHOOK_MAX_ATTEMPTS,
            "can_manage": _can_manage(request),
        },
    )


@staff_required(Role.ADMIN)
def endpoint_create(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.endpoint_create(tenant=request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            keep_to_show_once(request, "webhook-secret", endpoint.pk, secret)
            messages.success(request, _("Endpoint {url} added.").format(url=endpoint.url))
            return redirect(_endpoint_url(request, endpoint))
    return render(request, "webhooks/endpoint_form.html", {"form": form})


@staff_required()
def endpoint_detail(request, endpoint_id):
    endpoint = endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
    context = {
        "endpoint": endpoint,
        "secret": take_to_show(request, "webhook-secret", endpoint.pk),
        "can_manage": _can_manage(request),
        **_log(request, endpoint=endpoint),
    }
    response = render(request, "webhooks/endpoint_detail.html", context)
    return not_stored(response) if context["secret"] else response


@staff_required(Role.ADMIN)
def endpoint_edit(request, endpoint_id):
    endpoint = endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(tenant=request.tenant, endpoint=endpoint, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect(_endpoint_url(request, endpoint))
    return render(request, "webhooks/endpoint_form.html", {"form": form, "endpoint": endpoint})


@staff_required(Role.ADMIN)
def endpoint_delete(request, endpoint_id):
    endpoint = endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
    if request.method == "POST":
        services.endpoint_delete(tenant=request.tenant, endpoint=endpoint, actor=request.user)
        messages.success(request, _("Endpoint {url} deleted.").format(url=endpoint.url))
        return redirect(tenant_reverse(request.tenant, "webhooks:endpoints"))
    return confirm_page(
        request,
        title=_("Delete webhook endpoint"),
        question=_("Delete the endpoint {url}?").format(url=endpoint.url),
        consequence=_(
            "It receives no more events; its delivery log is deleted and deliveries still waiting are "
            "not sent. Pause it instead to stop events for a while."
        ),
        confirm_label=_("Delete endpoint"),
        cancel_url=_endpoint_url(request, endpoint),
    )


def _set_active(request, endpoint_id, active: bool):
    endpoint = endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
    services.endpoint_set_active(tenant=request.tenant, endpoint=endpoint, active=active, actor=request.user)
    if active:
        messages.success(request, _("Endpoint resumed: new events are delivered to it again."))
    else:
        messages.success(request, _("Endpoint paused: it receives no new events until you resume it."))
    return redirect(_endpoint_url(request, endpoint))


@require_POST
@staff_required(Role.ADMIN)
def endpoint_pause(request, endpoint_id):
    return _set_active(request, endpoint_id, False)


@require_POST
@staff_required(Role.ADMIN)
def endpoint_resume(request, endpoint_id):
    return _set_active(request, endpoint_id, True)


@staff_required(Role.ADMIN)
def endpoint_rotate(request, endpoint_id):
    endpoint = endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
    if request.method == "POST":
        endpoint, secret = services.endpoint_rotate_secret(tenant=request.tenant, endpoint=endpoint, actor=request.user)
        keep_to_show_once(request, "webhook-secret", endpoint.pk, secret)
        messages.success(request, _("A new signing secret is in use."))
        return redirect(_endpoint_url(request, endpoint))
    return confirm_page(
        request,
        title=_("Rotate signing secret"),
        question=_("Replace the signing secret of {url}?").format(url=endpoint.url),
        consequence=_(
            "The current secret stops working at once: every request from now on, retries included, is "
            "signed with the new one. Update the receiver with the new secret right after."
        ),
        confirm_label=_("Rotate secret"),
        cancel_url=_endpoint_url(request, endpoint),
    )


@require_POST
@staff_required()
def endpoint_test(request, endpoint_id):
    endpoint = endpoint_get(tenant=request.tenant, endpoint_id=endpoint_id)
    delivery = services.endpoint_ping(tenant=request.tenant, endpoint=endpoint, actor=request.user)
    messages.success(request, _("Test event sent."))
    return redirect(tenant_reverse(request.tenant, "webhooks:delivery", delivery_id=delivery.pk))


@staff_required()
def deliveries(request):
    return render(request, "webhooks/deliveries.html", {**_log(request), "max_attempts": settings.WEBHOOK_MAX_ATTEMPTS})


@staff_required()
def delivery_detail(request, delivery_id):
    delivery = delivery_get(tenant=request.tenant, delivery_id=delivery_id)
    return render(
        request,
        "webhooks/delivery_detail.html",
        {
            "delivery": delivery,
            "body": json.dumps(delivery.body, indent=2, ensure_ascii=False),
            "headers": sorted(delivery.last_request_headers.items()),
            "replays": delivery.replays.order_by("-created_at", "-id")[:20],
            "event_label": WEBHOOK_EVENTS.get(
                delivery.event, _("Test event") if delivery.event == services.PING else ""
            ),
        },
    )


@staff_required()
def delivery_replay(request, delivery_id):
    delivery = delivery_get(tenant=request.tenant, delivery_id=delivery_id)
    if request.method == "POST":
        copy = services.delivery_replay(tenant=request.tenant, delivery=delivery, actor=request.user)
        messages.success(request, _("Event sent again as delivery #{pk}, with the same event id.").format(pk=copy.pk))
        return redirect(tenant_reverse(request.tenant, "webhooks:delivery", delivery_id=copy.pk))
    return confirm_page(
        request,
        title=_("Replay webhook"),
        question=_("Send this {event} event to {url} again?").format(event=delivery.event, url=delivery.endpoint.url),
        consequence=_(
            "A new delivery goes out now with the same payload and event id, signed with the endpoint's "
            "current secret. Receivers that de-duplicate by event id ignore it if they handled it already."
        ),
        confirm_label=_("Replay"),
        cancel_url=tenant_reverse(request.tenant, "webhooks:delivery", delivery_id=delivery.pk),
    )
