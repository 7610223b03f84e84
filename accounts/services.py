"""Writes of people: client cards and the password-reset email."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Value
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from messaging.services import email_queue
from tenancy.models import Tenant
from tenancy.scoping import isolated_scope

from .models import Client, User, normalize_email

CLIENT_EMAIL_TAKEN = gettext_noop("Another client in this workspace already has this email address.")
CLIENT_IN_USE = gettext_noop("This client has bookings, packages or other records, so the card cannot be deleted.")

CLIENT_FIELDS = ("first_name", "last_name", "email", "phone", "notes")


def client_create(*, tenant: Tenant, **fields) -> Client:
    client = Client(tenant=tenant)
    return _client_save(client, fields)


def client_update(*, tenant: Tenant, client: Client, **fields) -> Client:
    client = Client.objects.get(tenant=tenant, pk=client.pk)
    return _client_save(client, fields)


def _client_save(client: Client, fields: dict) -> Client:
    unknown = set(fields) - set(CLIENT_FIELDS)
    if unknown:
        raise TypeError(f"Not client fields: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(client, name, value.strip() if isinstance(value, str) and name != "notes" else value)
    client.email = normalize_email(client.email)
    _check_email_free(client)
    client.user = _login_for(client)
    try:
        with transaction.atomic():
            client.save()
    except IntegrityError:  # the same email saved a moment ago by someone else
        raise ValidationError({"email": _(CLIENT_EMAIL_TAKEN)}) from None
    return client


def _login_for(client: Client) -> User | None:
    """Keep the card's link only while its email is the linked login's.

    Cards are linked when the person signs in to My Account (``client_link_user``), never because a
    login with that email exists somewhere: that would tell staff who uses Tessera elsewhere.
    """
    user = client.user
    if user is not None and normalize_email(user.email) == client.email:
        return user
    return None


def _check_email_free(client: Client) -> None:
    if not client.email:
        return
    taken = Client.objects.filter(tenant=client.tenant, email__iexact=client.email).exclude(pk=client.pk)
    if taken.exists():
        raise ValidationError({"email": _(CLIENT_EMAIL_TAKEN)})


def client_for_booking(*, tenant: Tenant, email: str, first_name: str, last_name: str, phone: str = "") -> Client:
    """The tenant's card for the person who books: found by email, or made from what they typed.
    An existing card is not overwritten by what someone typed on a public page."""
    email = normalize_email(email)
    existing = _client_with_email(tenant=tenant, email=email).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Client.objects.create(
                tenant=tenant,
                email=email,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
                phone=phone.strip(),
            )
    except IntegrityError:  # the same person booking twice at the same moment
        return _client_with_email(tenant=tenant, email=email).get()


def _client_with_email(*, tenant: Tenant, email: str):
    """The card with this address, case-insensitively. An address is compared as the unique index
    ``(tenant, lower(email)) WHERE email <> ''`` holds it, so finding it is an index lookup, not a
    pass over every card of the tenant (``email__iexact`` compares ``upper()``: no index has that)."""
    cards = Client.objects.filter(tenant=tenant)
    if not email:
        return cards.filter(email="")
    return cards.alias(lower_email=Lower("email")).filter(lower_email=Lower(Value(email))).exclude(email="")


def client_delete(*, tenant: Tenant, client: Client) -> None:
    try:
        with transaction.atomic():
            Client.objects.filter(tenant=tenant, pk=client.pk).delete()
    except ProtectedError:
        raise ValidationError(_(CLIENT_IN_USE)) from None


def client_link_user(*, tenant: Tenant, client: Client, user: User) -> Client:
    """Link an unlinked card to the signed-in person whose email it carries.

    Called when they open My Account: a one-time, idempotent write on a GET, like ``last_login``.
    Their email is proven (accounts are made from an emailed link or by a platform operator).
    """
    if not user.email_verified:  # a login someone else made for this address proves nothing yet
        return client
    if client.user_id is None and normalize_email(client.email) == normalize_email(user.email):
        Client.objects.filter(tenant=tenant, pk=client.pk, user__isnull=True).update(user=user)
        client.user = user
    return client


def password_reset_email_queue(*, user: User, uid: str, token: str) -> None:
    """Platform email (no tenant): a person's login is shared by all the workspaces they use."""
    reset_url = settings.SITE_URL.rstrip("/") + reverse(
        "accounts:password_reset_confirm", kwargs={"uidb64": uid, "token": token}
    )
    with isolated_scope(tenant=None):
        email_queue(
            tenant=None,
            to=user.email,
            key="accounts.password_reset",
            context={"name": user.get_short_name(), "reset_url": reset_url},
            idempotency_key=f"password-reset:{user.pk}:{token}",
        )


def user_mark_verified(*, user: User) -> None:
    """The person used a link emailed to their address (set or reset password)."""
    if not user.email_verified:
        User.objects.filter(pk=user.pk).update(email_verified=True)
        user.email_verified = True
