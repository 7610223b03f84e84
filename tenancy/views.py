"""Dashboard home, the team (members, roles, invitations), joining by invitation, tenant settings."""

import copy

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.selectors import client_count, user_find_by_email
from analytics.charts import bar_chart
from messaging.selectors import outbox_counts, outbox_list

from . import branding, dashboard, ratelimit, services
from .decorators import public, staff_required
from .forms import InviteForm, NewAccountForm, RoleForm, TenantSettingsForm
from .models import Role
from .selectors import (
    invitation_by_token,
    invitation_get,
    invitations_open,
    members_for_tenant,
    membership_get,
    memberships_for_user,
)
from .shortcuts import confirm_page
from .urlresolvers import tenant_reverse

LOGO_MAX_AGE = 365 * 24 * 3600  # the URL changes with the logo, so a browser may keep it for a year


def root(request):
    return redirect("workspaces" if request.user.is_authenticated else "accounts:login")


@login_required
def workspaces(request):
    """Where a signed-in person picks (or switches) the workspace to work in."""
    memberships = memberships_for_user(user=request.user)
    if len(memberships) == 1 and "switch" not in request.GET:
        return redirect(tenant_reverse(memberships[0].tenant, "tenancy:home"))
    return render(request, "tenancy/workspaces.html", {"memberships": memberships})


@staff_required()
def home(request):
    """The figures staff look at first; each links to its page (tenancy/dashboard.py)."""
    tenant = request.tenant
    now, today = dashboard.local_now(tenant)
    series = dashboard.redemptions_by_day(tenant=tenant, today=today)
    return render(
        request,
        "tenancy/home.html",
        {
            "client_total": client_count(tenant=tenant),
            "member_total": members_for_tenant(tenant=tenant).count(),
            "outbox": outbox_counts(tenant=tenant),
            "recent_emails": outbox_list(tenant=tenant)[:5],
            "contracts": dashboard.contracts_open(tenant=tenant, today=today),
            "sessions": dashboard.sessions_upcoming(tenant=tenant, now=now),
            "seats": dashboard.seats_used(tenant=tenant),
            "credits": dashboard.credits_outstanding(tenant=tenant, today=today),
            "series": series,
            "chart": bar_chart(series, box_height=dashboard.CHART_HEIGHT) if series.total else None,
            "can_manage": request.membership.has_role(Role.ADMIN),
        },
    )


@staff_required(Role.OWNER)
def team(request):
    tenant = request.tenant
    return render(
        request,
        "tenancy/team.html",
        {
            "members": members_for_tenant(tenant=tenant),
            "invitations": invitations_open(tenant=tenant),
            "roles": Role.choices,
        },
    )


@staff_required(Role.OWNER)
def team_invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.staff_invitation_create(
                tenant=request.tenant, invited_by=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Invitation sent to {email}.").format(email=invitation.email))
            return redirect(tenant_reverse(request.tenant, "tenancy:team"))
    return render(
        request, "tenancy/team_invite.html", {"form": form, "valid_days": settings.STAFF_INVITATION_VALID_DAYS}
    )


@require_POST
@staff_required(Role.OWNER)
def member_role(request, member_id):
    membership = membership_get(tenant=request.tenant, membership_id=member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the listed roles."))
    else:
        try:
            services.membership_set_role(tenant=request.tenant, membership=membership, role=form.cleaned_data["role"])
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(
                request, _("{email} is now {role}.").format(email=membership.user.email, role=form.cleaned_data["role"])
            )
    return redirect(tenant_reverse(request.tenant, "tenancy:team"))


@staff_required(Role.OWNER)
def member_remove(request, member_id):
    membership = membership_get(tenant=request.tenant, membership_id=member_id)
    if request.method == "POST":
        try:
            services.membership_remove(tenant=request.tenant, membership=membership)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect(tenant_reverse(request.tenant, "tenancy:team"))
        messages.success(
            request,
            _("{email} no longer has access to {name}.").format(email=membership.user.email, name=request.tenant.name),
        )
        if membership.user_id == request.user.pk:
            return redirect("workspaces")
        return redirect(tenant_reverse(request.tenant, "tenancy:team"))
    return confirm_page(
        request,
        title=_("Remove team member"),
        question=_("Remove {email} from {name}?").format(email=membership.user.email, name=request.tenant.name),
        consequence="They lose access to this workspace at once. Their account and other workspaces stay.",
        confirm_label=_("Remove member"),
        cancel_url=tenant_reverse(request.tenant, "tenancy:team"),
    )


@require_POST
@staff_required(Role.OWNER)
def invitation_resend(request, invitation_id):
    invitation = invitation_get(tenant=request.tenant, invitation_id=invitation_id)
    try:
        services.staff_invitation_resend(tenant=request.tenant, invitation=invitation, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("A new invitation link was sent to {email}; the old link no longer works.").format(
                email=invitation.email
            ),
        )
    return redirect(tenant_reverse(request.tenant, "tenancy:team"))


@staff_required(Role.OWNER)
def invitation_revoke(request, invitation_id):
    invitation = invitation_get(tenant=request.tenant, invitation_id=invitation_id)
    if request.method == "POST":
        services.staff_invitation_revoke(tenant=request.tenant, invitation=invitation)
        messages.success(request, _("The invitation for {email} was withdrawn.").format(email=invitation.email))
        return redirect(tenant_reverse(request.tenant, "tenancy:team"))
    return confirm_page(
        request,
        title=_("Withdraw invitation"),
        question=_("Withdraw the invitation for {email}?").format(email=invitation.email),
        consequence="The link in the email stops working. You can invite the address again later.",
        confirm_label=_("Withdraw invitation"),
        cancel_url=tenant_reverse(request.tenant, "tenancy:team"),
    )


@public
@ratelimit.links
def join(request, token):
    """Accept an invitation: sign in as the invited address, or create the account here."""
    tenant = request.tenant
    invitation = invitation_by_token(tenant=tenant, raw_token=token)
    if invitation is None or not invitation.is_open:
        error = services.InvitationUnusable(invitation.status if invitation else None)
        return render(request, "tenancy/join_unusable.html", {"message": str(error)}, status=410 if invitation else 404)

    existing = user_find_by_email(invitation.email)
    form = None
    if existing is None:
        form = NewAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST":
        try:
            membership = _accept_from_request(request, tenant, token, existing, form)
        except services.InvitationUnusable as exc:
            return render(request, "tenancy/join_unusable.html", {"message": str(exc)}, status=410)
        except ValidationError as exc:
            if form is not None:
                form.add_error(None, exc)
            else:
                messages.error(request, exc.messages[0])
        else:
            if membership is not None:
                messages.success(
                    request,
                    _("Welcome to {name}. You joined as {get_role_display}.").format(
                        name=tenant.name, get_role_display=membership.get_role_display()
                    ),
                )
                return redirect(tenant_reverse(tenant, "tenancy:home"))
    return render(request, "tenancy/join.html", {"invitation": invitation, "existing": existing, "form": form})


def _accept_from_request(request, tenant, token, existing, form):
    if existing is not None:
        if not request.user.is_authenticated:
            return None
        return services.staff_invitation_accept(tenant=tenant, raw_token=token, user=request.user)
    if not form.is_valid():
        return None
    membership = services.staff_invitation_accept_new_user(
        tenant=tenant,
        raw_token=token,
        first_name=form.cleaned_data["first_name"],
        last_name=form.cleaned_data["last_name"],
        password=form.cleaned_data["password1"],
    )
    login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
    return membership


@staff_required(Role.ADMIN)
def tenant_settings(request):
    tenant = request.tenant
    # A copy, so that invalid input never shows up in the page header of this response.
    form = TenantSettingsForm(request.POST or None, request.FILES or None, instance=copy.copy(tenant))
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            services.tenant_settings_update(
                tenant=tenant, **{name: form.cleaned_data[name] for name in form.Meta.fields}
            )
            if form.cleaned_data["logo_file"]:
                branding.tenant_logo_set(tenant=tenant, logo=form.cleaned_data["logo_file"])
        messages.success(request, _("Settings saved."))
        return redirect(tenant_reverse(tenant, "tenancy:settings"))
    return render(request, "tenancy/settings.html", {"form": form, "logo_path": branding.logo_path(tenant)})


@staff_required(Role.ADMIN)
def logo_remove(request):
    tenant = request.tenant
    settings_url = tenant_reverse(tenant, "tenancy:settings")
    if tenant.logo_updated_at is None:
        messages.info(request, _("This workspace has no logo."))
        return redirect(settings_url)
    if request.method == "POST":
        branding.tenant_logo_remove(tenant=tenant)
        messages.success(request, _("The logo was removed."))
        return redirect(settings_url)
    return confirm_page(
        request,
        title=_("Remove logo"),
        question=_("Remove the logo of %(name)s?") % {"name": tenant.public_name},
        consequence=_(
            "Your public pages and new emails show the display name alone. Emails already sent show no logo."
        ),
        confirm_label=_("Remove logo"),
        cancel_url=settings_url,
    )


@public
@require_safe
def tenant_logo(request, stamp, ext):
    """The workspace's logo, cacheable forever under its stamp; an old stamp is sent to the current
    logo (emails sent before a change keep showing one), and no logo is a 404."""
    stored = branding.logo_for_serving(request.tenant)
    if stored is None:
        raise Http404(_("This workspace has no logo."))
    data, content_type, current_stamp = stored
    if stamp != current_stamp or ext != branding.logo_extension(request.tenant):
        response = redirect(branding.logo_path(request.tenant))
        response["Cache-Control"] = "no-cache"
        return response
    response = HttpResponse(data, content_type=content_type)
    response["Content-Length"] = str(len(data))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = f"public, max-age={LOGO_MAX_AGE}, immutable"
    response["Content-Disposition"] = f'inline; filename="logo.{ext}"'
    return response
