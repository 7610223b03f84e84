"""Reads of organisations, contracts, prices, participants and history. All take the tenant."""

from django.db.models import CharField, Count, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.http import Http404

from tenancy.models import Tenant

from .models import Contract, ContractEvent, ContractPrice, Organisation, Participant


def _words(query: str) -> list[str]:
    return query.split()[:8]


def organisations_search(*, tenant: Tenant, query: str = "", status: str = "") -> QuerySet[Organisation]:
    rows = Organisation.objects.filter(tenant=tenant).annotate(contract_count=Count("contracts"))
    if status:
        rows = rows.filter(status=status)
    for word in _words(query):
        rows = rows.filter(Q(name__icontains=word) | Q(contact_name__icontains=word) | Q(email__icontains=word))
    return rows.order_by("name", "id")


def organisation_get(*, tenant: Tenant, organisation_id: int) -> Organisation:
    organisation = Organisation.objects.filter(tenant=tenant, pk=organisation_id).first()
    if organisation is None:
        raise Http404("No such organisation.")
    return organisation


def contracts_of(*, tenant: Tenant, organisation: Organisation) -> QuerySet[Contract]:
    return Contract.objects.filter(tenant=tenant, organisation=organisation).order_by("-starts_on", "name")


def contract_get(*, tenant: Tenant, contract_id: int) -> Contract:
    contract = Contract.objects.filter(tenant=tenant, pk=contract_id).select_related("organisation").first()
    if contract is None:
        raise Http404("No such contract.")
    return contract


def prices_of(*, tenant: Tenant, contract: Contract) -> QuerySet[ContractPrice]:
    return ContractPrice.objects.filter(tenant=tenant, contract=contract).select_related("service")


def price_get(*, tenant: Tenant, contract: Contract, price_id: int) -> ContractPrice:
    price = prices_of(tenant=tenant, contract=contract).filter(pk=price_id).first()
    if price is None:
        raise Http404("No such price.")
    return price


PARTICIPANT_ORDER = ("last_name", "first_name", "id")  # the index participant_name_idx serves it


def participants_search(*, tenant: Tenant, contract: Contract, query: str = "") -> QuerySet[Participant]:
    """The contract's participants by name; with a query, those whose name, email or phone contains
    every word (in any case). No index serves "contains", so a search reads the contract's
    participants: the four fields are compared as one text, one comparison a row instead of four."""
    rows = Participant.objects.filter(tenant=tenant, contract=contract)
    words = _words(query)
    if words:
        fields = ("first_name", "last_name", "email", "phone")
        spaced = [part for name in fields for part in (name, Value(" "))][:-1]
        rows = rows.alias(haystack=Concat(*spaced, output_field=CharField()))
        for word in words:
            rows = rows.filter(haystack__icontains=word)
    return rows.order_by(*PARTICIPANT_ORDER)


def participant_get(*, tenant: Tenant, contract: Contract, participant_id: int) -> Participant:
    participant = Participant.objects.filter(tenant=tenant, contract=contract, pk=participant_id).first()
    if participant is None:
        raise Http404("No such participant.")
    return participant


def events_of(*, tenant: Tenant, contract: Contract, code_id: int | None = None) -> QuerySet[ContractEvent]:
    events = ContractEvent.objects.filter(tenant=tenant, contract=contract).select_related("actor")
    if code_id is not None:
        events = events.filter(code_id=code_id)
    return events.order_by("-created_at", "-id")
