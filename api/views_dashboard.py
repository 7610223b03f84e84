"""Dashboard pages of API keys (owners and admins): the list, creating a key (its full text shown
once, on the page the form answers with, and stored nowhere), revoking one after a confirmation."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from tenancy.decorators import staff_required
from tenancy.models import Role
from tenancy.shortcuts import confirm_page
from tenancy.urlresolvers import tenant_reverse

from . import services
from .forms import ApiKeyForm
from .selectors import api_key_get, api_keys_of


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
            # Answered here rather than after a redirect: the secret never waits in a session or a URL.
            response = render(request, "api/key_created.html", {"key": key, "text": text})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "api/key_form.html", {"form": form})


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
            messages.success(request, f"API key “{key.name}” revoked. Programs using it are refused from now on.")
        return redirect(back)
    if not key.is_active:
        messages.info(request, services.ALREADY_REVOKED)
        return redirect(back)
    return confirm_page(
        request,
        title="Revoke API key",
        question=f"Revoke the API key “{key.name}” ({key.prefix}…)?",
        consequence="Every program using it is refused at once. This cannot be undone; a new key can be created.",
        confirm_label="Revoke key",
        cancel_url=back,
    )
