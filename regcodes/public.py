"""The page behind a learner invitation: set up an account (or sign in) and take the seat."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from tenancy import ratelimit
from tenancy.decorators import public
from tenancy.urlresolvers import tenant_reverse

from . import services
from .forms import LearnerSetupForm

UNKNOWN_LINK = gettext_noop("This invitation link is not valid. Check that you copied the whole link from the email.")
ACCEPTED = gettext_noop("Your seat on {course} is yours: the course is in My Account.")


def _page(request, template, status=200, **context):
    return render(request, f"regcodes/{template}", context, status=status)


@public
@ratelimit.links
def accept(request, seat_token):
    tenant = request.tenant
    invite = services.invite_for_token(tenant=tenant, token=seat_token)
    if invite is None:
        return _page(request, "invite_closed.html", status=404, message=_(UNKNOWN_LINK))
    if problem := services.invite_link_problem(invite):
        return _page(request, "invite_closed.html", status=410, message=problem)
    course = invite.code.order.product_session
    existing = User.objects.find_by_email(invite.email)
    form = None
    if request.user.is_authenticated:
        if request.method == "POST":
            return _take(request, invite, request.user)
    elif existing is None:
        form = LearnerSetupForm(request.POST or None, email=invite.email)
        if request.method == "POST" and form.is_valid():
            try:
                user = services.invite_accept_new_learner(tenant=tenant, invite=invite, **form.cleaned_data)
            except ValidationError as exc:
                return _page(request, "invite_closed.html", status=409, message=exc.messages[0])
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _(ACCEPTED).format(course=course.product))
            return redirect(tenant_reverse(tenant, "portal:home"))
    signin = f"{reverse('accounts:login')}?{urlencode({'next': request.path})}"
    return _page(
        request, "invite_accept.html", invite=invite, course=course, form=form, existing=existing, signin=signin
    )


def _take(request, invite, user):
    try:
        services.invite_accept(tenant=request.tenant, invite=invite, user=user)
    except ValidationError as exc:
        return _page(request, "invite_closed.html", status=409, message=exc.messages[0])
    messages.success(request, _(ACCEPTED).format(course=invite.code.order.product_session.product))
    return redirect(tenant_reverse(request.tenant, "portal:home"))
