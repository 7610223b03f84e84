"""Demo data of the foundation: two workspaces, an owner of both and a staff member.

``manage.py seed_demo`` calls ``seed(demo)`` of every installed app that has a ``demo`` module, in
INSTALLED_APPS order; each step must be idempotent (get-or-create by a natural key).
"""

from dataclasses import dataclass, field

from accounts.models import User

from .models import Membership, Role, Tenant

DEMO_PASSWORDS = {
    "owner@demo.tessera.test": "demo-owner-pass",
    "staff@demo.tessera.test": "demo-staff-pass",
}


@dataclass
class Demo:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Filled by later seed steps for the ones after them (services, contracts, prices, participants).
    services: dict = field(default_factory=dict)
    contracts: dict = field(default_factory=dict)
    prices: dict = field(default_factory=dict)
    participants: list = field(default_factory=list)


def seed(demo: Demo) -> None:
    demo.tenants["demo"] = _tenant("demo", "Demo Studio", "Europe/Amsterdam", "EUR", "#2f5d62")
    demo.tenants["harbour"] = _tenant("harbour", "Harbour Yoga", "Europe/London", "GBP", "#7a4a9e")
    owner = _user("owner@demo.tessera.test", "Olivia", "Owner")
    staff = _user("staff@demo.tessera.test", "Sam", "Staff")
    demo.users.update(owner=owner, staff=staff)
    _member(demo.tenants["demo"], owner, Role.OWNER)
    _member(demo.tenants["harbour"], owner, Role.OWNER)
    _member(demo.tenants["demo"], staff, Role.STAFF)
    demo.logins += [
        ("owner (Demo Studio and Harbour Yoga)", owner.email, DEMO_PASSWORDS[owner.email]),
        ("staff (Demo Studio)", staff.email, DEMO_PASSWORDS[staff.email]),
    ]


def _tenant(slug, name, time_zone, currency, color) -> Tenant:
    tenant, _ = Tenant.objects.update_or_create(
        slug=slug, defaults={"name": name, "time_zone": time_zone, "currency": currency, "brand_color": color}
    )
    return tenant


def _user(email, first_name, last_name) -> User:
    user = User.objects.find_by_email(email) or User(email=email)
    user.first_name, user.last_name, user.is_active = first_name, last_name, True
    user.set_password(DEMO_PASSWORDS[email])  # the printed logins always work, even after a change
    user.save()
    return user


def _member(tenant, user, role) -> None:
    Membership.objects.update_or_create(tenant=tenant, user=user, defaults={"role": role})
