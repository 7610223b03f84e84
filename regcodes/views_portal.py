"""My Account pages of a customer's registration codes: an order's details, and the three ways to
hand a seat out (create or tick learners, email invitations), pending invites, completed ones."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imports import progress
from imports.selectors import import_get
from imports.services import import_request_commit, import_start
from tenancy.decorators import customer_required
from tenancy.shortcuts import confirm_page
from tenancy.urlresolvers import absolute_tenant_url, tenant_reverse

from . import learners_csv, selectors, services
from .forms import BuySeatsForm
from .forms_portal import CreateLearnerForm, InviteLearnersForm, LearnersUploadForm, ReinviteForm


def _order(request, order_id):
    return selectors.customer_order_get(tenant=request.tenant, buyer=request.user, order_id=order_id)


def _details_url(request, order) -> str:
    return tenant_reverse(request.tenant, "seats_portal:order", order_id=order.pk)


def _details(request, order, *, learner_form=None, invite_form=None, status=200):
    tenant = request.tenant
    invites = list(selectors.open_invites(tenant=tenant, order=order))
    for invite in invites:
        invite.link = absolute_tenant_url(tenant, "seats:accept", seat_token=invite.token)
    earlier = selectors.earlier_learners(tenant=tenant, buyer=request.user, order=order)
    return render(
        request,
        "regcodes/portal/order.html",
        {
            "order": order,
            "learner_form": learner_form or CreateLearnerForm(earlier=earlier),
            "invite_form": invite_form or InviteLearnersForm(),
            "upload_form": LearnersUploadForm(),
            "invites": invites,
            "completed": selectors.completed(tenant=tenant, order=order),
        },
        status=status,
    )


@customer_required
def order_detail(request, order_id):
    return _details(request, _order(request, order_id))


@customer_required
def learners_create(request, order_id):
    order = _order(request, order_id)
    if request.method != "POST":
        return redirect(_details_url(request, order))
    earlier = selectors.earlier_learners(tenant=request.tenant, buyer=request.user, order=order)
    form = CreateLearnerForm(request.POST, earlier=earlier)
    if form.is_valid():
        data = form.cleaned_data
        learners = [services.NewLearner(email=user.email) for user in data["earlier"]]
        if data["email"]:
            learners.append(services.NewLearner(data["email"], data["first_name"], data["last_name"], data["password"]))
        try:
            services.learners_assign(tenant=request.tenant, order=order, learners=learners, actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                ngettext(
                    "{count} learner given a seat and emailed.",
                    "{count} learners given a seat and emailed.",
                    len(learners),
                ).format(count=len(learners)),
            )
            return redirect(_details_url(request, order))
    return _details(request, order, learner_form=form)


@customer_required
def invites_create(request, order_id):
    order = _order(request, order_id)
    if request.method != "POST":
        return redirect(_details_url(request, order))
    form = InviteLearnersForm(request.POST, request.FILES)
    if form.is_valid():
        invitees = form.cleaned_data["invitees"]
        phones = {invitee.email: invitee.phone for invitee in invitees if invitee.phone}
        try:
            services.invites_send(
                tenant=request.tenant,
                order=order,
                emails=[invitee.email for invitee in invitees],
                phones=phones,
                message=form.cleaned_data["message"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            by_sms = _(" ({count} also by SMS)").format(count=len(phones)) if phones else ""
            messages.success(
                request,
                ngettext("{count} invitation sent{by_sms}.", "{count} invitations sent{by_sms}.", len(invitees)).format(
                    count=len(invitees), by_sms=by_sms
                ),
            )
            return redirect(_details_url(request, order))
    return _details(request, order, invite_form=form)


@customer_required
def invite_again(request, order_id, seat_invite_id):
    order = _order(request, order_id)
    invite = selectors.open_invite_get(tenant=request.tenant, order=order, invite_id=seat_invite_id)
    form = ReinviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            again = services.invite_again(
                tenant=request.tenant,
                invite=invite,
                email=form.cleaned_data["email"],
                phone=form.cleaned_data["phone"],
                actor=request.user,
            )
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            by_sms = _(" and by SMS to {phone}").format(phone=again.phone) if again.phone else ""
            messages.success(
                request,
                _("Invitation sent to {email}{by_sms}; the first to accept gets the seat.").format(
                    email=again.email, by_sms=by_sms
                ),
            )
        return redirect(_details_url(request, order))
    return render(request, "regcodes/portal/reinvite.html", {"order": order, "invite": invite, "form": form})


def _act(request, order, act, success, **confirm):
    back = _details_url(request, order)
    if request.method != "POST":
        return confirm_page(request, cancel_url=back, plain=True, **confirm)
    try:
        act()
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, success)
    return redirect(back)


@customer_required
def invite_withdraw(request, order_id, seat_invite_id):
    order = _order(request, order_id)
    invite = selectors.open_invite_get(tenant=request.tenant, order=order, invite_id=seat_invite_id)
    return _act(
        request,
        order,
        lambda: services.invite_withdraw(tenant=request.tenant, invite=invite, actor=request.user),
        _("Invitation for {email} withdrawn.").format(email=invite.email),
        title=_("Withdraw invitation"),
        question=_("Withdraw the invitation sent to {email}?").format(email=invite.email),
        consequence=_("Its link stops working; the seat is free again unless another invitation for it is open."),
        confirm_label=_("Withdraw"),
    )


@customer_required
def invite_assign(request, order_id, seat_invite_id):
    order = _order(request, order_id)
    invite = selectors.open_invite_get(tenant=request.tenant, order=order, invite_id=seat_invite_id)
    return _act(
        request,
        order,
        lambda: services.invite_assign_directly(tenant=request.tenant, invite=invite, actor=request.user),
        _("{email} has the seat and was emailed.").format(email=invite.email),
        title=_("Assign directly"),
        question=_("Give the seat to {email} now?").format(email=invite.email),
        consequence=_(
            "They get access at once and an email with their login details; the invitation link stops working."
        ),
        confirm_label=_("Assign"),
    )


@customer_required
def access_remove(request, order_id, access_id):
    order = _order(request, order_id)
    access = selectors.completed_get(tenant=request.tenant, order=order, access_id=access_id)
    return _act(
        request,
        order,
        lambda: services.access_remove(tenant=request.tenant, access=access, actor=request.user),
        _("{email} no longer has access; the seat is back in your remaining seats.").format(email=access.learner.email),
        title=_("Remove learner"),
        question=_("Remove {full_name} ({email}) from the course?").format(
            full_name=access.learner.get_full_name(), email=access.learner.email
        ),
        consequence=_("They lose access to the course at once, and the seat can be given to someone else."),
        confirm_label=_("Remove"),
    )


@customer_required
def access_resend(request, order_id, access_id):
    order = _order(request, order_id)
    access = selectors.completed_get(tenant=request.tenant, order=order, access_id=access_id)
    return _act(
        request,
        order,
        lambda: services.access_confirmation_resend(tenant=request.tenant, access=access, actor=request.user),
        _("Confirmation sent again to {email}.").format(email=access.learner.email),
        title=_("Resend confirmation"),
        question=_("Send {email} their course confirmation again?").format(email=access.learner.email),
        consequence=_("They get the email with their login and course again."),
        confirm_label=_("Resend"),
    )


@customer_required
def buy_seats(request):
    """A signed-in customer orders seats (paid offline); two or more seats of a session that
    generates codes come with registration codes to hand out."""
    tenant = request.tenant
    form = BuySeatsForm(request.POST or None, sessions=selectors.sessions_on_sale(tenant=tenant))
    if request.method == "POST" and form.is_valid():
        try:
            order = services.seat_order_create(
                tenant=tenant, buyer=request.user, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Order {number} placed. {instructions}")
                .format(number=order.number, instructions=order.payment_instructions)
                .strip(),
            )
            if order.quantity > 1:
                return redirect(_details_url(request, order))
            return redirect(tenant_reverse(tenant, "portal:home"))  # their own seat: under Your courses
    return render(request, "regcodes/portal/buy.html", {"form": form})


@customer_required
def learners_upload(request, order_id):
    """Bulk upload of learners through the imports pipeline: checked first, committed when clean."""
    order = _order(request, order_id)
    if request.method != "POST":
        return redirect(_details_url(request, order))
    form = LearnersUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            job = import_start(
                tenant=request.tenant,
                kind=learners_csv.KIND,
                params={"order": order.pk, "buyer": request.user.pk},
                upload=form.cleaned_data["file"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(tenant_reverse(request.tenant, "seats_portal:import", order_id=order.pk, job_id=job.pk))
    for error in form.errors.get("file", []) + form.non_field_errors():
        messages.error(request, error)
    return redirect(_details_url(request, order))


def _customer_job(request, order, job_id):
    """One of this customer's uploads for this order; anyone else's is the same 404 as none."""
    job = import_get(tenant=request.tenant, job_id=job_id)
    if job.kind != learners_csv.KIND or job.params.get("order") != order.pk or job.created_by_id != request.user.pk:
        raise Http404("No such upload.")
    return job


@customer_required
def learners_import(request, order_id, job_id):
    order = _order(request, order_id)
    job = _customer_job(request, order, job_id)
    job.target = order
    return render(
        request,
        "regcodes/portal/import.html",
        {
            "order": order,
            "job": job,
            "kind": learners_csv.LEARNERS_IMPORT,
            "percent": progress.percent(job) if job.busy else job.progress,
            "back_url": _details_url(request, order),
            "commit_url": tenant_reverse(
                request.tenant, "seats_portal:import_commit", order_id=order.pk, job_id=job.pk
            ),
        },
    )


@customer_required
def learners_import_commit(request, order_id, job_id):
    order = _order(request, order_id)
    job = _customer_job(request, order, job_id)
    if request.method == "POST":
        try:
            import_request_commit(tenant=request.tenant, job=job, actor=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
    return redirect(tenant_reverse(request.tenant, "seats_portal:import", order_id=order.pk, job_id=job.pk))
