"""Dashboard pages of API keys (owners and admins): the list, creating a key (its full text shown
once, on the page after the form: tenancy/shown_once.py), revoking one after a confirmation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tenancy.decorators import staff_required
from tenancy.models import Role
from tenancy.shortcuts import confirm_page
from tenancy.shown_once import keep_to_show_once, not_stored, take_to_show
from tenancy.urlresolvers import tenant_reverse

from . import services
from .forms import ApiKeyForm
from .selectors import api_key_get, api_keys_of

SHOWN_ALREADY = gettext_noop(
    "The key “{name}” was shown once and cannot be shown again; if it was lost, revoke it and create another."
)


@staff_required(Role.ADMIN)
def key_list(request):
    return render(request, "api/keys.html", {"keys": api_keys_of(tenant=request.tenant)})


@staff_required(Role.ADMIN)
def key_create(request):
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, text = services.api_key_create(tenant=request.tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            keep_to_show_once(request, "api-key", key.pk, text)
            return redirect(tenant_reverse(request.tenant, "api_keys:created", api_key_id=key.pk))
    return render(request, "api/key_form.html", {"form": form})


@staff_required(Role.ADMIN)
def key_created(request, api_key_id):
    key = api_key_get(tenant=request.tenant, api_key_id=api_key_id)
    text = take_to_show(request, "api-key", key.pk)
    if text is None:
        messages.info(request, _(SHOWN_ALREADY).format(name=key.name))
        return redirect(tenant_reverse(request.tenant, "api_keys:list"))
    return not_stored(render(request, "api/key_created.html", {"key": key, "text": text}))


@staff_required(Role.ADMIN)
def key_revoke(request, api_key_id):
    key = api_key_get(tenant=request.tenant, api_key_id=api_key_id)
    back = tenant_reverse(request.tenant, "api_keys:list")
    if request.method == "POST":
        try:
            services.api_key_revoke(tenant=request.tenant, key=key, actor=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(
                request, _("API key “{name}” revoked. Programs using it are refused from now on.").format(name=key.name)
            )
        return redirect(back)
    if not key.is_active:
        messages.info(request, _(services.ALREADY_REVOKED))
        return redirect(back)
    return confirm_page(
        request,
        title=_("Revoke API key"),
        question=_("Revoke the API key “{name}” ({prefix}…)?").format(name=key.name, prefix=key.prefix),
        consequence="Every program using it is refused at once. This cannot be undone; a new key can be created.",
        confirm_label=_("Revoke key"),
        cancel_url=back,
    )
