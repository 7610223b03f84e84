"""Bulk upload of learners by a customer, through the imports pipeline: first_name, last_name,
email, optional password. Every row is checked (problems by row and column) before anything
changes; a clean file gives each learner a seat of the order in one transaction, and the login
emails go out after the commit."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import User, normalize_email
from imports.parsing import Problem
from imports.registry import Check, ImportKind
from tenancy.models import NO_CONTROL_CHARACTERS
from tenancy.urlresolvers import tenant_reverse

from . import services
from .models import CodeStatus, CourseAccess, RegistrationCode, SeatOrder

KIND = "regcodes.learners"
COLUMNS = ("first_name", "last_name", "email", "password")
REQUIRED = ("first_name", "last_name", "email")
NEEDED = gettext_noop("This is needed.")
TOO_LONG = gettext_noop("At most {n} characters.")
BAD_EMAIL = gettext_noop("This is not an email address.")
TWICE = gettext_noop("This address is also on row {row}.")
HAS_ACCESS = gettext_noop("This person already has access to this course.")
NO_SEAT = gettext_noop("Only {remaining} seat{s} remain in this order: this row and the ones after it have none.")


def _order(tenant, params) -> SeatOrder:
    order = SeatOrder.objects.filter(tenant=tenant, pk=params.get("order"), buyer_id=params.get("buyer")).first()
    if order is None:
        raise Http404("No such order.")
    return order


def check(*, tenant, params, rows, progress=lambda fraction: None) -> Check:
    order = _order(tenant, params)
    remaining = RegistrationCode.objects.filter(tenant=tenant, order=order, status=CodeStatus.AVAILABLE).count()
    emails = {normalize_email(row.get("email", "")) for row in rows}
    with_access = {
        normalize_email(e)
        for e in CourseAccess.objects.filter(
            tenant=tenant, product_session=order.product_session, revoked_at__isnull=True, learner__email__in=emails
        ).values_list("learner__email", flat=True)
    }
    problems, seen = [], {}
    for index, row in enumerate(rows):
        number = row["_row"]
        for column in REQUIRED:
            if not (row.get(column) or "").strip():
                problems.append(Problem(number, column, _(NEEDED)))
        for column, longest in (("first_name", 150), ("last_name", 150), ("email", 254), ("password", 128)):
            value = row.get(column) or ""
            if len(value) > longest:
                problems.append(Problem(number, column, _(TOO_LONG).format(n=longest)))
            elif column != "password":
                try:
                    NO_CONTROL_CHARACTERS(value)
                except ValidationError as exc:
                    problems.append(Problem(number, column, exc.messages[0]))
        email = normalize_email(row.get("email", ""))
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problems.append(Problem(number, "email", _(BAD_EMAIL)))
            if email in seen:
                problems.append(Problem(number, "email", _(TWICE).format(row=seen[email])))
            seen.setdefault(email, number)
            if email in with_access:
                problems.append(Problem(number, "email", _(HAS_ACCESS)))
        if row.get("password"):
            try:
                validate_password(row["password"], user=User(email=email, first_name=row.get("first_name", "")))
            except ValidationError as exc:
                problems.append(Problem(number, "password", " ".join(exc.messages)))
        if index == remaining:
            problems.append(
                Problem(number, None, _(NO_SEAT).format(remaining=remaining, s="" if remaining == 1 else "s"))
            )
    progress(1.0)
    return Check(problems, {"learners to give a seat": len(rows), "seats remaining now": remaining})


def commit(*, tenant, params, rows, actor, checked=None, progress=lambda fraction: None) -> dict:
    order = _order(tenant, params)
    learners = [
        services.NewLearner(row["email"], row["first_name"], row["last_name"], row.get("password") or "")
        for row in rows
    ]
    services.learners_assign(tenant=tenant, order=order, learners=learners, actor=actor)
    progress(1.0)
    return {"learners given a seat": len(learners)}


LEARNERS_IMPORT = ImportKind(
    key=KIND,
    label=gettext_lazy("Learners"),
    columns=COLUMNS,
    required=REQUIRED,
    check=check,
    commit=commit,
    target=lambda *, tenant, params: _order(tenant, params),
    back_url=lambda *, tenant, params: tenant_reverse(tenant, "seats_portal:order", order_id=params.get("order")),
    example="first_name,last_name,email,password\nSam,Jansen,sam@example.com,\n",
    customer_owned=True,
)
