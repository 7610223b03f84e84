"""Writes of registration codes: orders of seats and their codes, handing seats to learners (create
or pick learners, email invitations, accepting one), removing and extending access.

Seats are conserved per order: available + invited + claimed = seats bought. Every change to a
code's status is one conditional UPDATE, and the services that take several codes at once lock the
order row first, so two customers' clicks cannot hand out more seats than remain.
"""

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User, normalize_email
from accounts.services import client_for_booking
from invitations import codes as code_text
from messaging.services import Recipient, email_queue, emails_queue, sms_queue_many
from messaging.sms import phone_normalise
from payments.providers import PaymentRequest, payment_provider
from tenancy.bulk import insert_rows
from tenancy.events import publish
from tenancy.localization import money
from tenancy.locks import advisory_xact_lock
from tenancy.models import Tenant
from tenancy.tokens import link_matches, link_token, looks_like_token, new_salt, token_hash
from tenancy.urlresolvers import absolute_tenant_url

from .models import (
    INVITE_LINK,
    CodeStatus,
    CourseAccess,
    LearnerInvite,
    LearnerInviteStatus,
    Product,
    ProductSession,
    RegistrationCode,
    SeatOrder,
    SeatOrderStatus,
)

CODE_WIDTH = 10
RESEND_GUARD_SECONDS = 10
PRODUCT_INACTIVE = gettext_noop("This course is not on sale.")
ONE_SEAT_ONLY = gettext_noop("This session is sold one seat per person: order 1 seat for yourself.")
NOT_ENOUGH_SEATS = gettext_noop(
    "Only {remaining} seat{s} left in this order; you asked for {asked}. Nothing was changed."
)
ALREADY_INVITED = gettext_noop("Already invited to a seat of this order (the invitation is pending): {emails}.")
ALREADY_HAS_ACCESS = gettext_noop("{email} already has access to this course.")
INVITE_GONE = gettext_noop("This invitation is no longer valid: {why}")
INVITE_TAKEN = gettext_noop("someone else accepted an invitation for this seat first.")
INVITE_WITHDRAWN = gettext_noop("the person who sent it withdrew it.")
INVITE_USED = gettext_noop("it has already been accepted.")
PHONE_OF = gettext_noop("The mobile number of {email}: {problem}")
WRONG_LEARNER = gettext_noop("This invitation was sent to {email}. Sign in with that address to accept it.")
LOGIN_EXISTS = gettext_noop("An account with this address exists already: sign in to accept.")
ACCESS_ALREADY_REMOVED = gettext_noop("This access has already been removed.")
ENDS_BEFORE_START = gettext_noop("Access cannot end before it starts.")
INVITE_EXPIRED = gettext_noop(
    "This invitation is no longer valid: it was sent more than {days} days ago. Ask the person who invited you "
    "to invite you again."
)


@dataclass(frozen=True)
class NewLearner:
    email: str
    first_name: str = ""
    last_name: str = ""
    password: str = ""


def today(tenant: Tenant) -> date:
    return timezone.localdate(timezone=tenant.zone)


# Orders


def seat_order_create(
    *, tenant: Tenant, product_session: ProductSession, buyer: User, quantity: int, actor=None, new_login: bool = False
) -> SeatOrder:
    """Record an order of seats (paid offline unless free) and, for a session that generates
    codes, one registration code per seat when two or more are bought."""
    if product_session.tenant_id != tenant.pk or not product_session.product.is_active:
        raise ValidationError(_(PRODUCT_INACTIVE))
    if quantity > 1 and not product_session.generates_codes:
        raise ValidationError({"quantity": _(ONE_SEAT_ONLY)})
    with transaction.atomic():
        total = product_session.price * quantity
        order = SeatOrder.objects.create(
            tenant=tenant,
            reference=secrets.token_urlsafe(16),
            product_session=product_session,
            buyer=buyer,
            client=client_for_booking(
                tenant=tenant, email=buyer.email, first_name=buyer.first_name, last_name=buyer.last_name
            ),
            quantity=quantity,
            unit_price=product_session.price,
            total=total,
            status=SeatOrderStatus.PAID,
            created_by=actor,
        )
        if total > 0:
            provider = payment_provider()
            start = provider.start(
                PaymentRequest(
                    reference=order.number,
                    amount=total,
                    currency=tenant.currency,
                    description=f"{quantity} × {product_session}",
                    payee=tenant.public_name,
                )
            )
            order.payment_provider, order.payment_instructions = provider.key, start.instructions
            order.status = SeatOrderStatus.PAID if start.paid else SeatOrderStatus.AWAITING_PAYMENT
        order.paid_at = timezone.now() if order.status == SeatOrderStatus.PAID else None
        order.save(update_fields=["payment_provider", "payment_instructions", "status", "paid_at"])
        _make_codes(tenant, order, quantity)
        if quantity == 1:  # a seat for the buyer: theirs at once, nothing to hand out
            [code] = order.codes.all()
            _claim(tenant, code, buyer, product_session)
        _order_email(tenant, order, new_login=new_login, actor=actor)
    return order


def _set_password_url(user: User) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )


def _order_email(tenant: Tenant, order: SeatOrder, *, new_login: bool, actor) -> None:
    session = order.product_session
    email_queue(
        tenant=tenant,
        to=order.buyer.email,
        key="regcodes.order_confirmation",
        context={
            "name": order.buyer.get_short_name(),
            "order_number": order.number,
            "course": str(session.product),
            "session": session.name,
            "quantity": order.quantity,
            "total": money(order.total, tenant.currency),
            "paid": order.status == SeatOrderStatus.PAID,
            "payment_instructions": order.payment_instructions,
            "codes": order.quantity > 1,
            "new_login": new_login,
            "set_password_url": _set_password_url(order.buyer) if new_login else "",
            "account_url": absolute_tenant_url(tenant, "portal:home"),
        },
        idempotency_key=f"regcode-order:{order.pk}",
        created_by=actor,
    )


def _make_codes(tenant: Tenant, order: SeatOrder, quantity: int) -> None:
    """Draw until the order has exactly ``quantity`` codes; a collision is skipped and drawn again."""
    while (made := RegistrationCode.objects.filter(tenant=tenant, order=order).count()) < quantity:
        RegistrationCode.objects.bulk_create(
            [
                RegistrationCode(tenant=tenant, order=order, code=text)
                for text in code_text.draw(quantity - made, CODE_WIDTH)
            ],
            ignore_conflicts=True,
        )


def seats(*, tenant: Tenant, order: SeatOrder) -> dict[str, int]:
    counts = {status: 0 for status in CodeStatus.values}
    for status in RegistrationCode.objects.filter(tenant=tenant, order=order).values_list("status", flat=True):
        counts[status] += 1
    return counts


def _lock_order(tenant: Tenant, order: SeatOrder) -> SeatOrder:
    order = (
        SeatOrder.objects.select_for_update(of=("self",))
        .select_related("product_session__product")
        .get(tenant=tenant, pk=order.pk)
    )
    return order


def _available_ids(tenant: Tenant, order: SeatOrder, wanted: int) -> list[int]:
    ids = list(
        RegistrationCode.objects.filter(tenant=tenant, order=order, status=CodeStatus.AVAILABLE).values_list(
            "pk", flat=True
        )[:wanted]
    )
    if len(ids) < wanted:
        remaining = len(ids)
        raise ValidationError(
            _(NOT_ENOUGH_SEATS).format(remaining=remaining, s="" if remaining == 1 else "s", asked=wanted)
        )
    return ids


def _available(tenant: Tenant, order: SeatOrder, wanted: int) -> list[RegistrationCode]:
    return list(RegistrationCode.objects.filter(tenant=tenant, pk__in=_available_ids(tenant, order, wanted)))


# Handing seats out


def learners_assign(*, tenant: Tenant, order: SeatOrder, learners: list[NewLearner], actor) -> list[CourseAccess]:
    """Give each learner a seat at once: an existing login is used as it is, a new one is made (with
    the password given, or a random one) and told how to sign in. All or nothing."""
    # One order of locks everywhere: learners by address (their course locks are taken in _claim).
    learners = sorted(learners, key=lambda learner: normalize_email(learner.email))
    with transaction.atomic():
        order = _lock_order(tenant, order)
        codes = _available(tenant, order, len(learners))
        granted = []
        for learner, code in zip(learners, codes, strict=True):
            user, created = _learner_login(learner)
            access = _claim(tenant, code, user, order.product_session)
            granted.append(access)
            _login_details_email(tenant, user, order, created=created, actor=actor, key=f"granted:{access.pk}")
    return granted


def _learner_login(learner: NewLearner) -> tuple[User, bool]:
    email = normalize_email(learner.email)
    user = User.objects.find_by_email(email)
    if user is not None:
        return user, False
    try:
        with transaction.atomic():
            # Made by someone else (a customer, staff): unproven until the person uses the emailed
            # set-password link. Without a password given, none is usable until then.
            user = User.objects.create_user(
                email,
                learner.password or None,
                first_name=learner.first_name.strip(),
                last_name=learner.last_name.strip(),
                email_verified=False,
            )
    except IntegrityError:  # made a moment ago by someone else
        return User.objects.find_by_email(email), False
    return user, True


def _claim(tenant: Tenant, code: RegistrationCode, user: User, product_session: ProductSession) -> CourseAccess:
    """Take the code for ``user``: one conditional UPDATE, so it goes to one learner only. The
    learner's access to the course is checked under a lock on (learner, course): two orders giving
    the same person the same course at once give it once."""
    advisory_xact_lock(f"course-access:{product_session.pk}:{user.pk}")
    if CourseAccess.objects.filter(
        tenant=tenant, learner=user, product_session=product_session, revoked_at__isnull=True
    ).exists():
        raise ValidationError(_(ALREADY_HAS_ACCESS).format(email=user.email))
    taken = RegistrationCode.objects.filter(
        tenant=tenant, pk=code.pk, status__in=[CodeStatus.AVAILABLE, CodeStatus.INVITED], learner__isnull=True
    ).update(status=CodeStatus.CLAIMED, learner=user, claimed_at=timezone.now())
    if not taken:
        raise ValidationError(_(INVITE_GONE).format(why=_(INVITE_TAKEN)))
    LearnerInvite.objects.filter(tenant=tenant, code=code, status=LearnerInviteStatus.OPEN).update(
        status=LearnerInviteStatus.INVALID, closed_at=timezone.now()
    )
    start = today(tenant)
    access = CourseAccess.objects.create(
        tenant=tenant,
        learner=user,
        product_session=product_session,
        code=code,
        starts_on=start,
        ends_on=start + timedelta(days=product_session.access_days),
    )
    publish(
        tenant=tenant,
        name="learner.registered",
        obj=access,
        summary=f"{user.email} registered for {product_session} with code {code.code}.",
        payload={"access": access_facts(access)},
    )
    return access


def access_facts(access: CourseAccess) -> dict:
    """A learner's access as webhooks and the audit trail tell it."""
    return {
        "id": access.pk,
        "learner_email": access.learner.email,
        "learner_id": access.learner_id,
        "product_session": str(access.product_session),
        "product_session_id": access.product_session_id,
        "code": access.code.code,
        "order_id": access.code.order_id,
        "starts_on": access.starts_on,
        "ends_on": access.ends_on,
        "revoked_at": access.revoked_at,
    }


def invites_send(
    *,
    tenant: Tenant,
    order: SeatOrder,
    emails: list[str],
    message: str = "",
    actor,
    phones: dict[str, str] | None = None,
) -> list[LearnerInvite]:
    """Invite each address to one available seat (the seat is reserved as "invited"). All or nothing,
    and set-based: however many addresses, a statement or two per table and one render of the email.
    ``phones`` maps some of the addresses to a mobile number: their invitation also goes by SMS, with
    the same link (the invite stays bound to the address). A number that is not one changes nothing."""
    emails = [normalize_email(email) for email in emails]
    numbers = _phones(phones or {})
    with transaction.atomic():
        order = _lock_order(tenant, order)
        twice = {email for email, count in Counter(emails).items() if count > 1}
        already = twice | set(
            LearnerInvite.objects.filter(
                tenant=tenant, code__order=order, status=LearnerInviteStatus.OPEN, email__in=emails
            ).values_list("email", flat=True)
        )
        if already:
            raise ValidationError(_(ALREADY_INVITED).format(emails=", ".join(sorted(already))))
        _refuse_course_holders(tenant, order, emails)
        code_ids = _available_ids(tenant, order, len(emails))
        reserved = RegistrationCode.objects.filter(tenant=tenant, pk__in=code_ids, status=CodeStatus.AVAILABLE).update(
            status=CodeStatus.INVITED
        )
        if reserved != len(code_ids):  # cannot happen under the order lock; never hand out a seat twice
            raise ValidationError(_(NOT_ENOUGH_SEATS).format(remaining=reserved, s="s", asked=len(emails)))
        seats = [(code_id, email, numbers.get(email, "")) for code_id, email in zip(code_ids, emails, strict=True)]
        return _invite(tenant, order, seats, message, actor)


def _phones(phones: dict[str, str]) -> dict[str, str]:
    """Each address's number in E.164 (a blank one left out); a bad one is named with its address."""
    numbers = {}
    for email, phone in phones.items():
        if not (phone or "").strip():
            continue
        try:
            numbers[normalize_email(email)] = phone_normalise(phone)
        except ValidationError as exc:
            raise ValidationError(_(PHONE_OF).format(email=email, problem=exc.messages[0])) from None
    return numbers


def invite_again(*, tenant: Tenant, invite: LearnerInvite, email: str = "", phone: str = "", actor) -> LearnerInvite:
    """Re-invite for the same seat, the same person (a new link) or another one. Earlier open
    invites for the seat stay open: the first to accept wins. The same person is texted again at
    the invite's number (or ``phone``, when given); another person only at a ``phone`` given."""
    email = normalize_email(email or invite.email)
    if phone.strip():
        phone = _phones({email: phone})[email]
    elif email == normalize_email(invite.email):
        phone = invite.phone
    with transaction.atomic():
        order = _lock_order(tenant, invite.code.order)
        code = RegistrationCode.objects.get(tenant=tenant, pk=invite.code_id)
        if code.status != CodeStatus.INVITED:
            raise ValidationError(_(INVITE_GONE).format(why=_(INVITE_USED)))
        elsewhere = LearnerInvite.objects.filter(
            tenant=tenant, code__order=order, status=LearnerInviteStatus.OPEN, email=email
        ).exclude(code=code)
        if elsewhere.exists():
            raise ValidationError(_(ALREADY_INVITED).format(emails=email))
        _refuse_course_holders(tenant, order, [email])
        [again] = _invite(tenant, order, [(code.pk, email, phone)], invite.message, actor)
        return again


def _refuse_course_holders(tenant: Tenant, order: SeatOrder, emails: list[str]) -> None:
    """An invitation to someone who has the course already could never be accepted."""
    holders = CourseAccess.objects.filter(
        tenant=tenant, product_session=order.product_session, revoked_at__isnull=True, learner__email__in=emails
    ).values_list("learner__email", flat=True)
    if holders:
        raise ValidationError(_(ALREADY_HAS_ACCESS).format(email=", ".join(sorted(holders))))


# Every column of a new invite but closed_at (empty until it closes).
COPIED_INVITE_COLUMNS = (
    "tenant_id",
    "code_id",
    "email",
    "phone",
    "message",
    "token_salt",
    "token_hash",
    "status",
    "sent_at",
    "invited_by_id",
)


def _invites_insert(invites: list[LearnerInvite]) -> None:
    """Write new invites (with COPY on PostgreSQL: tenancy/bulk.py) and give them their ids."""
    rows = [tuple(getattr(invite, name) for name in COPIED_INVITE_COLUMNS) for invite in invites]
    for invite, pk in zip(invites, insert_rows(LearnerInvite, COPIED_INVITE_COLUMNS, rows), strict=True):
        invite.pk, invite._state.adding, invite._state.db = pk, False, connection.alias


def _accept_url(tenant: Tenant):
    """The link of an invite from its token. Reversed once: a token is URL-safe, so reversing would
    leave it as it is."""
    marker = "0" * 43
    head, tail = absolute_tenant_url(tenant, "seats:accept", seat_token=marker).split(marker)
    return lambda token: f"{head}{token}{tail}"


def _invite(tenant, order, seats: list[tuple[int, str, str]], message: str, actor) -> list[LearnerInvite]:
    """An open invite for each ``(code id, address, E.164 number or "")``, with its own salted link,
    and its email; and the same link by SMS to each invite with a number."""
    invites, links, accept_url = [], [], _accept_url(tenant)
    for code_id, email, phone in seats:
        salt = new_salt()
        raw = link_token(INVITE_LINK, salt)
        invites.append(
            LearnerInvite(
                tenant=tenant,
                code_id=code_id,
                email=normalize_email(email),
                phone=phone,
                message=message.strip(),
                token_salt=salt,
                token_hash=token_hash(raw),
                invited_by=actor,
            )
        )
        links.append(accept_url(raw))
    _invites_insert(invites)
    session = order.product_session
    context = {
        "course": str(session.product),
        "session": session.name,
        "from_name": order.buyer.get_full_name(),
        "message": message.strip(),
    }
    emails_queue(
        tenant=tenant,
        key="regcodes.learner_invitation",
        context=context,
        recipients=[
            Recipient(to=invite.email, idempotency_key=f"regcode-invite:{invite.pk}", private={"link": link})
            for invite, link in zip(invites, links, strict=True)
        ],
        created_by=actor,
    )
    if texts := [
        Recipient(to=invite.phone, idempotency_key=f"regcode-invite:{invite.pk}:sms", private={"link": link})
        for invite, link in zip(invites, links, strict=True)
        if invite.phone
    ]:
        sms_queue_many(
            tenant=tenant, key="regcodes.learner_invitation", context=context, recipients=texts, created_by=actor
        )
    return invites


def invite_assign_directly(*, tenant: Tenant, invite: LearnerInvite, actor) -> CourseAccess:
    """Give the invite's seat to the invited address now, without waiting for them to accept: a
    login is made for them if they have none, and they get the login-details email."""
    with transaction.atomic():
        order = _lock_order(tenant, invite.code.order)
        invite = LearnerInvite.objects.select_for_update(of=("self",)).get(tenant=tenant, pk=invite.pk)
        if problem := invite_problem(invite):
            raise ValidationError(problem)
        user, created = _learner_login(NewLearner(email=invite.email))
        access = _claim(tenant, invite.code, user, order.product_session)
        LearnerInvite.objects.filter(tenant=tenant, pk=invite.pk).update(
            status=LearnerInviteStatus.ACCEPTED, closed_at=timezone.now()
        )
        _login_details_email(tenant, user, order, created=created, actor=actor, key=f"granted:{access.pk}")
    return access


def access_confirmation_resend(*, tenant: Tenant, access: CourseAccess, actor) -> None:
    """Send the learner their course details again (no new password link for an existing login)."""
    access = CourseAccess.objects.select_related("learner", "code__order__product_session__product").get(
        tenant=tenant, pk=access.pk, revoked_at__isnull=True
    )
    # One resend per access in any ten seconds: a double click sends one email.
    window = int(timezone.now().timestamp() // RESEND_GUARD_SECONDS)
    _login_details_email(
        tenant, access.learner, access.code.order, created=False, actor=actor, key=f"resent:{access.pk}:{window}"
    )


def invite_withdraw(*, tenant: Tenant, invite: LearnerInvite, actor) -> None:
    """Withdraw an open invite; the seat goes back to the pool when no other invite for it is open."""
    with transaction.atomic():
        _lock_order(tenant, invite.code.order)
        updated = LearnerInvite.objects.filter(tenant=tenant, pk=invite.pk, status=LearnerInviteStatus.OPEN).update(
            status=LearnerInviteStatus.WITHDRAWN, closed_at=timezone.now()
        )
        if (
            updated
            and not LearnerInvite.objects.filter(
                tenant=tenant, code_id=invite.code_id, status=LearnerInviteStatus.OPEN
            ).exists()
        ):
            RegistrationCode.objects.filter(tenant=tenant, pk=invite.code_id, status=CodeStatus.INVITED).update(
                status=CodeStatus.AVAILABLE
            )


def invite_for_token(*, tenant: Tenant, token: str) -> LearnerInvite | None:
    if not looks_like_token(token):
        return None
    invite = (
        LearnerInvite.objects.filter(tenant=tenant, token_hash=token_hash(token))
        .select_related("code__order__product_session__product")
        .first()
    )
    return invite if invite and link_matches(INVITE_LINK, invite.token_salt, token) else None


def invite_problem(invite: LearnerInvite) -> str:
    """Why an invite cannot be taken any more ("" while it can)."""
    return {
        LearnerInviteStatus.INVALID: _(INVITE_GONE).format(why=_(INVITE_TAKEN)),
        LearnerInviteStatus.WITHDRAWN: _(INVITE_GONE).format(why=_(INVITE_WITHDRAWN)),
        LearnerInviteStatus.ACCEPTED: _(INVITE_GONE).format(why=_(INVITE_USED)),
    }.get(invite.status, "")


def invite_link_problem(invite: LearnerInvite) -> str:
    """Why the emailed link cannot be used: the invite's problem, or the link is too old (the
    customer can still assign the seat directly, or invite again with a new link)."""
    if problem := invite_problem(invite):
        return problem
    return _(INVITE_EXPIRED).format(days=settings.SEAT_INVITE_VALID_DAYS) if invite.link_expired else ""


def invite_accept(*, tenant: Tenant, invite: LearnerInvite, user: User) -> CourseAccess:
    """The learner, signed in as the invited address, takes the seat. The first to accept wins."""
    if normalize_email(user.email) != normalize_email(invite.email):
        raise ValidationError(_(WRONG_LEARNER).format(email=invite.email))
    with transaction.atomic():
        # The order row first, as every writer of this order's codes and invites does.
        _lock_order(tenant, invite.code.order)
        invite = (
            LearnerInvite.objects.select_for_update(of=("self",))
            .select_related("code__order__product_session")
            .get(tenant=tenant, pk=invite.pk)
        )
        if problem := invite_link_problem(invite):
            raise ValidationError(problem)
        access = _claim(tenant, invite.code, user, invite.code.order.product_session)
        LearnerInvite.objects.filter(tenant=tenant, pk=invite.pk).update(
            status=LearnerInviteStatus.ACCEPTED, closed_at=timezone.now()
        )
    return access


def invite_accept_new_learner(
    *, tenant: Tenant, invite: LearnerInvite, first_name: str, last_name: str, password1: str, password2: str = ""
) -> User:
    """Set up the invited address's login from the link and take the seat, in one transaction: if
    the seat has just gone to someone else, no login is left behind. The customer can copy the
    link too, so the address stays unproven until an emailed link is used."""
    with transaction.atomic():
        if User.objects.find_by_email(invite.email) is not None:
            raise ValidationError(_(LOGIN_EXISTS))
        user = User.objects.create_user(
            invite.email, password1, first_name=first_name, last_name=last_name, email_verified=False
        )
        invite_accept(tenant=tenant, invite=invite, user=user)
    return user


# Access


def access_remove(*, tenant: Tenant, access: CourseAccess, actor) -> CourseAccess:
    """The learner loses the course; the code goes back to its order's pool."""
    with transaction.atomic():
        access = CourseAccess.objects.select_for_update().get(tenant=tenant, pk=access.pk)
        if access.revoked_at is not None:
            raise ValidationError(_(ACCESS_ALREADY_REMOVED))
        access.revoked_at, access.revoked_by = timezone.now(), actor
        access.save(update_fields=["revoked_at", "revoked_by"])
        RegistrationCode.objects.filter(tenant=tenant, pk=access.code_id, status=CodeStatus.CLAIMED).update(
            status=CodeStatus.AVAILABLE, learner=None, claimed_at=None
        )
        publish(
            tenant=tenant,
            name="access.removed",
            obj=access,
            actor=actor,
            summary=f"Access of {access.learner.email} to {access.product_session} removed; the code is free again.",
            payload={"access": access_facts(access)},
        )
    return access


def access_change_dates(*, tenant: Tenant, access: CourseAccess, starts_on: date, ends_on: date) -> CourseAccess:
    if ends_on < starts_on:
        raise ValidationError({"ends_on": _(ENDS_BEFORE_START)})
    with transaction.atomic():
        access = CourseAccess.objects.select_for_update().get(tenant=tenant, pk=access.pk)
        if access.revoked_at is not None:
            raise ValidationError(_(ACCESS_ALREADY_REMOVED))
        access.starts_on, access.ends_on = starts_on, ends_on
        access.save(update_fields=["starts_on", "ends_on"])
    return access


def _login_details_email(tenant: Tenant, user: User, order: SeatOrder, *, created: bool, actor, key: str) -> None:
    """Tell the learner about their course, and (for a new login) how to choose a password."""
    set_password = _set_password_url(user) if created else ""
    email_queue(
        tenant=tenant,
        to=user.email,
        key="regcodes.learner_login_details",
        context={
            "name": user.get_short_name(),
            "course": str(order.product_session.product),
            "session": order.product_session.name,
            "login": user.email,
            "new_login": created,
            "set_password_url": set_password,
            "account_url": absolute_tenant_url(tenant, "portal:home"),
        },
        idempotency_key=f"regcode-login-details:{key}",
        created_by=actor,
    )


# Catalogue

PRODUCT_NAME_TAKEN = gettext_noop("Another course already has this name.")


def product_save(*, tenant: Tenant, product: Product | None = None, **fields) -> Product:
    product = product or Product(tenant=tenant)
    for name, value in fields.items():
        setattr(product, name, value)
    if Product.objects.filter(tenant=tenant, name__iexact=product.name).exclude(pk=product.pk).exists():
        raise ValidationError({"name": _(PRODUCT_NAME_TAKEN)})
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise ValidationError({"name": _(PRODUCT_NAME_TAKEN)}) from None
    return product


def product_session_save(
    *, tenant: Tenant, product: Product, product_session: ProductSession | None = None, **fields
) -> ProductSession:
    product_session = product_session or ProductSession(tenant=tenant, product=product)
    for name, value in fields.items():
        setattr(product_session, name, value)
    product_session.save()
    return product_session


ORDER_NOT_AWAITING = gettext_noop("This order is not awaiting payment.")


def seat_order_mark_paid(*, tenant: Tenant, order: SeatOrder, actor) -> SeatOrder:
    """Staff record the offline payment of an order; the buyer is told."""
    with transaction.atomic():
        order = (
            SeatOrder.objects.select_for_update(of=("self",))
            .select_related("product_session__product", "buyer")
            .get(tenant=tenant, pk=order.pk)
        )
        if order.status != SeatOrderStatus.AWAITING_PAYMENT:
            raise ValidationError(_(ORDER_NOT_AWAITING))
        order.status, order.paid_at = SeatOrderStatus.PAID, timezone.now()
        order.save(update_fields=["status", "paid_at"])
        email_queue(
            tenant=tenant,
            to=order.buyer.email,
            key="regcodes.payment_received",
            context={
                "name": order.buyer.get_short_name(),
                "order_number": order.number,
                "course": str(order.product_session.product),
                "total": money(order.total, tenant.currency),
            },
            idempotency_key=f"regcode-order-paid:{order.pk}",
            created_by=actor,
        )
    return order


def seat_order_for_customer(
    *,
    tenant: Tenant,
    product_session: ProductSession,
    email: str,
    first_name: str,
    last_name: str,
    quantity: int,
    actor,
) -> SeatOrder:
    """Staff enter an order for a customer: their login is found or made (they choose a password
    from the order email), in the same transaction as the order."""
    with transaction.atomic():
        buyer, created = _learner_login(NewLearner(email=email, first_name=first_name, last_name=last_name))
        return seat_order_create(
            tenant=tenant,
            product_session=product_session,
            buyer=buyer,
            quantity=quantity,
            actor=actor,
            new_login=created,
        )
