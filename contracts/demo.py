"""A demo client organisation with two contracts, prices and participants."""

from datetime import date
from decimal import Decimal

from .models import Contract, ContractPrice, Organisation, Participant

PEOPLE = [
    ("Noor", "Visser"),
    ("Lars", "de Wit"),
    ("Mia", "Jansen"),
    ("Sem", "Bakker"),
    ("Julia", "Smit"),
    ("Daan", "Meijer"),
    ("Emma", "de Groot"),
    ("Finn", "Bos"),
]


def seed(demo) -> None:
    tenant = demo.tenants["demo"]
    org, _ = Organisation.objects.update_or_create(
        tenant=tenant,
        name="Northwind Logistics",
        defaults={"contact_name": "Petra Hale", "email": "hr@northwind.example", "phone": "+31 20 555 0101"},
    )
    year = date.today().year
    wellbeing, _ = Contract.objects.update_or_create(
        tenant=tenant,
        invitation_prefix="NW26",
        defaults={
            "organisation": org,
            "name": "Wellbeing programme",
            "starts_on": date(year, 1, 1),
            "ends_on": date(year + 1, 12, 31),
            "notes": "Two intro sessions per employee.",
        },
    )
    pilot, _ = Contract.objects.update_or_create(
        tenant=tenant,
        invitation_prefix="NWPT",
        defaults={"organisation": org, "name": "Leadership pilot", "starts_on": date(year, 1, 1), "ends_on": None},
    )
    prices = {
        "STD": ContractPrice.objects.update_or_create(
            tenant=tenant,
            contract=wellbeing,
            price_code="STD",
            defaults={"service": demo.services["intro"], "amount": Decimal("30.00")},
        )[0],
        "WS": ContractPrice.objects.update_or_create(
            tenant=tenant,
            contract=wellbeing,
            price_code="WS",
            defaults={"service": demo.services["workshop"], "amount": Decimal("15.00")},
        )[0],
        "LEAD": ContractPrice.objects.update_or_create(
            tenant=tenant,
            contract=pilot,
            price_code="LEAD",
            defaults={"service": demo.services["intro"], "amount": Decimal("60.00")},
        )[0],
    }
    participants = []
    for first, last in PEOPLE:
        email = f"{first.lower()}.{last.lower().replace(' ', '')}@northwind.example"
        participants.append(
            Participant.objects.update_or_create(
                tenant=tenant, contract=wellbeing, email=email, defaults={"first_name": first, "last_name": last}
            )[0]
        )
    demo.contracts = {"wellbeing": wellbeing, "pilot": pilot}
    demo.prices = prices
    demo.participants = participants
