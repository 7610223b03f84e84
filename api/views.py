"""The JSON API, version 1 (docs/api.md). Thin views over the same selectors, forms and services as
the pages: each parses its input, calls them, and answers JSON. Every view runs inside the API
key's workspace (api/authentication.py), and every lookup starts from that tenant, so another
workspace's ids give the same 404 as missing ones."""

from datetime import UTC, datetime

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from bookings.selectors import bookings_between, service_get
from bookings.services import BookingDetails
from contracts import participants_csv
from contracts.forms import UploadForm
from contracts.models import Contract
from contracts.selectors import PARTICIPANT_ORDER, contract_get, participants_search, prices_of
from imports import registry
from imports.selectors import import_get
from imports.services import import_request_commit, import_start
from invitations import services as code_services
from invitations.forms import DetailsForm, GenerateForm
from invitations.public import DAYS_SHOWN
from invitations.selectors import (
    batch_get,
    code_booking_days,
    code_prefill,
    code_text_starts,
    code_time_offered,
    code_times,
    codes_for_contract,
)
from sessions_roster.models import RegistrationStatus
from sessions_roster.selectors import registrations_of, session_get, sessions_search

from . import serializers as out
from .authentication import TenantApiView
from .pagination import KeysetPagination
from .selectors import client_packages_listed, learner_registrations_listed

FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2101, 1, 1, tzinfo=UTC)
NOT_THE_CODES_SERVICE = gettext_noop("This code is for {service} (id {id}); leave `service` out or send that id.")
TIME_NOT_OFFERED = gettext_noop("That time is not one this code can book. Pick one of the `times` of the code lookup.")
NO_SUCH_SERVICE = gettext_noop("No such service.")
NEEDS_A_PRICE = gettext_noop("This contract has no prices yet; codes carry a price.")

ERRORS = {
    400: OpenApiResponse(description="Bad input: `{field: [message]}` or `{detail: message}`."),
    401: OpenApiResponse(description="No key, an unknown key or a revoked key."),
    404: OpenApiResponse(description="Not found in this workspace."),
    429: OpenApiResponse(description="Rate limit reached; see the Retry-After header."),
}
WRITE_ERRORS = {**ERRORS, 403: OpenApiResponse(description="The key may only read.")}


def parsed(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def form_errors(form) -> ValidationError:
    return ValidationError(
        {
            ("detail" if name == "__all__" else name): [e["message"] for e in errors]
            for name, errors in form.errors.get_json_data().items()
        }
    )


class ListView(TenantApiView):
    pagination_class = KeysetPagination
    ordering: tuple[str, ...] = ("-id",)

    def page(self, rows, serializer_class):
        paginator = self.pagination_class()
        shown = paginator.paginate_queryset(rows, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(shown, many=True).data)


# Contracts and codes --------------------------------------------------------------------------------


class ContractList(ListView):
    ordering = ("id",)

    @extend_schema(summary="Contracts, with their prices", responses={200: out.ContractSerializer(many=True), **ERRORS})
    def get(self, request):
        rows = Contract.objects.filter(tenant=request.tenant).select_related("organisation")
        return self.page(rows.prefetch_related("prices__service"), out.ContractSerializer)


class ContractCodes(ListView):
    ordering = ("-id",)

    @extend_schema(
        summary="A contract's codes, newest first",
        parameters=[out.CodeFilters],
        responses={200: out.CodeSerializer(many=True), **ERRORS},
    )
    def get(self, request, contract_id):
        contract = contract_get(tenant=request.tenant, contract_id=contract_id)
        filters = parsed(out.CodeFilters, request.query_params)
        [rows] = codes_for_contract(tenant=request.tenant, contract=contract, status=filters.get("status", ""))
        if "campaign" in filters:
            rows = rows.filter(campaign=" ".join(filters["campaign"].split()))
        if "participant" in filters:
            rows = rows.filter(participant_id=filters["participant"])
        if "code" in filters:  # the start of the text, with or without the prefix: the unique index answers it
            text = filters["code"]
            rows = rows.filter(code_text_starts(contract=contract, text=text))
        paginator = self.pagination_class()
        shown = paginator.paginate_queryset(rows, request, view=self)
        # The program now holds these codes' text and may send it out: fixed from now on, as a CSV
        # download fixes it (a page whose codes are all fixed already writes nothing).
        code_services.codes_mark_handed_out(
            tenant=request.tenant,
            contract=contract,
            code_ids=[code.pk for code in shown if code.shown_at is None],
            actor=None,  # the history and the audit trail name the API key (the request's actor)
            what="API codes list",
        )
        return paginator.get_paginated_response(out.CodeSerializer(shown, many=True).data)

    @extend_schema(
        summary="Generate a batch of codes",
        description="The codes are made by a background task; poll the batch (`url`) for its progress.",
        request=out.BatchInput,
        responses={
            202: inline_serializer("BatchCreated", {"batch": out.BatchSerializer(), "url": serializers.URLField()}),
            **WRITE_ERRORS,
        },
    )
    def post(self, request, contract_id):
        tenant = request.tenant
        contract = contract_get(tenant=tenant, contract_id=contract_id)
        data = parsed(out.BatchInput, request.data)
        prices = prices_of(tenant=tenant, contract=contract)
        if not prices.exists():
            raise ValidationError({"price": [_(NEEDS_A_PRICE)]})
        form = GenerateForm(
            {"width": code_services.codes.DEFAULT_WIDTH, "max_uses": 1, **data},
            prices=prices,
        )
        if not form.is_valid():
            raise form_errors(form)
        cleaned = form.cleaned_data
        batch = code_services.code_batch_create(
            tenant=tenant,
            contract=contract,
            price=cleaned["price"],
            quantity=cleaned["quantity"],
            width=cleaned["width"],
            terms=code_services.CodeTerms(
                cleaned["max_uses"],
                cleaned["valid_from"],
                cleaned["valid_until"],
                cleaned["restricted_domain"],
                cleaned["campaign"],
            ),
            actor=None,  # the audit trail names the API key (the request's actor)
        )
        url = request.build_absolute_uri(
            reverse("api:batch", kwargs={"contract_id": contract.pk, "batch_id": batch.pk})
        )
        return Response(
            {"batch": out.BatchSerializer(batch).data, "url": url},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )


class BatchDetail(TenantApiView):
    @extend_schema(summary="A batch of codes and its progress", responses={200: out.BatchSerializer, **ERRORS})
    def get(self, request, contract_id, batch_id):
        contract = contract_get(tenant=request.tenant, contract_id=contract_id)
        return Response(
            out.BatchSerializer(batch_get(tenant=request.tenant, contract=contract, batch_id=batch_id)).data
        )


def _booking_window(tenant, code) -> tuple:
    """The first day and number of days a code may book: the booking page's own rule."""
    first, last = code_booking_days(tenant=tenant, code=code)
    return first, max(0, (last - first).days + 1)


class CodeLookup(TenantApiView):
    @extend_schema(
        summary="Look up a code as a person typed it",
        description="What the booking page does with a typed code: the code, whether it can be used "
        "(else 409 with the reason), its service and the free times of the next two weeks. "
        "A mistyped code is 400, an unknown one 404.",
        parameters=[out.LookupInput],
        responses={
            200: out.LookupSerializer,
            409: OpenApiResponse(description="The code cannot be used now."),
            **ERRORS,
        },
    )
    def get(self, request):
        tenant = request.tenant
        typed = parsed(out.LookupInput, request.query_params)["code"]
        code = code_services.code_check(tenant=tenant, typed=typed)
        service = code.price.service
        first, days = _booking_window(tenant, code)
        times = code_times(tenant=tenant, service=service, code=code, first=first, days=min(DAYS_SHOWN, days))
        return Response(
            out.LookupSerializer(
                {
                    "code": code,
                    "service_id": service.pk,
                    "service": service.name,
                    "participant": code.participant,
                    "times": [{"starts_at": t.starts_at, "remaining": t.remaining} for t in times if t.remaining],
                }
            ).data
        )


class CodeRedeem(TenantApiView):
    @extend_schema(
        summary="Redeem a code: use it once and book a time",
        description="Takes the code's use and the time's seat in one transaction, or changes nothing. "
        "Details left out are taken from the code's participant, if it has one.",
        request=out.RedeemInput,
        responses={
            201: out.BookingSerializer,
            409: OpenApiResponse(description="Refused: used up, expired, void, time just filled…"),
            **WRITE_ERRORS,
        },
    )
    def post(self, request):
        tenant = request.tenant
        data = parsed(out.RedeemInput, request.data)
        code = code_services.code_check(tenant=tenant, typed=data["code"])
        service = code.price.service
        if data.get("service") not in (None, service.pk):
            raise ValidationError({"service": [_(NOT_THE_CODES_SERVICE).format(service=service.name, id=service.pk)]})
        details = {**code_prefill(code), **{k: v for k, v in data.items() if k in DetailsForm.base_fields}}
        form = DetailsForm({k: ("" if v is None else v) for k, v in details.items()})
        if not form.is_valid():
            raise form_errors(form)
        first, days = _booking_window(tenant, code)
        try:
            chosen = data["starts_at"].astimezone(tenant.zone).isoformat()
        except (OverflowError, ValueError):
            chosen = ""
        if code_time_offered(tenant=tenant, service=service, code=code, first=first, days=days, chosen=chosen) is None:
            raise ValidationError({"starts_at": [_(TIME_NOT_OFFERED)]})
        booking = code_services.code_redeem_and_book(
            tenant=tenant,
            code=code,
            service=service,
            starts_at=datetime.fromisoformat(chosen),
            details=BookingDetails(**form.cleaned_data),
        )
        return Response(out.BookingSerializer(booking).data, status=status.HTTP_201_CREATED)


# Participants, bookings, sessions, packages -----------------------------------------------------------


class ContractParticipants(ListView):
    ordering = PARTICIPANT_ORDER

    @extend_schema(
        summary="A contract's participants, by name", responses={200: out.ParticipantSerializer(many=True), **ERRORS}
    )
    def get(self, request, contract_id):
        contract = contract_get(tenant=request.tenant, contract_id=contract_id)
        return self.page(participants_search(tenant=request.tenant, contract=contract), out.ParticipantSerializer)


class BookingList(ListView):
    ordering = ("starts_at", "id")

    @extend_schema(
        summary="Bookings, by start time",
        parameters=[out.BookingFilters],
        responses={200: out.BookingSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        tenant = request.tenant
        filters = parsed(out.BookingFilters, request.query_params)
        service = None
        if "service" in filters:
            try:
                service = service_get(tenant=tenant, service_id=filters["service"])
            except Http404:
                raise ValidationError({"service": [_(NO_SUCH_SERVICE)]}) from None
        rows = bookings_between(
            tenant=tenant,
            start=filters.get("starts_from", FAR_PAST),
            end=filters.get("starts_before", FAR_FUTURE),
            service=service,
        )
        if "status" in filters:
            rows = rows.filter(status=filters["status"])
        return self.page(rows, out.BookingSerializer)


class SessionList(ListView):
    @extend_schema(
        summary="Sessions: upcoming (default), past or all",
        parameters=[out.SessionFilters],
        responses={200: out.SessionSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        when = parsed(out.SessionFilters, request.query_params)["when"]
        self.ordering = ("-starts_at", "-id") if when == "past" else ("starts_at", "id")
        return self.page(sessions_search(tenant=request.tenant, when=when), out.SessionSerializer)


class SessionRegistrations(ListView):
    @extend_schema(
        summary="A session's registrations",
        description="Without `status`: the registrations holding a spot (the roster), oldest first; "
        "`status=cancelled`: the cancelled ones, latest first.",
        parameters=[out.RegistrationFilters],
        responses={200: out.RegistrationSerializer(many=True), **ERRORS},
    )
    def get(self, request, session_id):
        tenant = request.tenant
        session = session_get(tenant=tenant, session_id=session_id)
        wanted = parsed(out.RegistrationFilters, request.query_params).get("status", "")
        cancelled = wanted == RegistrationStatus.CANCELLED
        rows = registrations_of(tenant=tenant, session=session, status="cancelled" if cancelled else "")
        if wanted and not cancelled:
            rows = rows.filter(status=wanted)
        self.ordering = ("-cancelled_at", "-id") if cancelled else ("created_at", "id")
        return self.page(rows.select_related("order"), out.RegistrationSerializer)


class LearnerRegistrationList(ListView):
    ordering = ("-id",)

    @extend_schema(
        summary="Learners registered for courses with registration codes",
        description="Each learner's access to a course session, newest first; removed access too "
        "(`revoked_at`), unless `active=true`.",
        parameters=[out.LearnerRegistrationFilters],
        responses={200: out.LearnerRegistrationSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        filters = parsed(out.LearnerRegistrationFilters, request.query_params)
        rows = learner_registrations_listed(
            tenant=request.tenant,
            email=filters.get("email", ""),
            product_session=filters.get("product_session"),
            active=filters.get("active"),
        )
        return self.page(rows, out.LearnerRegistrationSerializer)


class PackageList(ListView):
    ordering = ("-created_at", "-id")

    @extend_schema(
        summary="Packages clients hold, with each credit's used / total",
        parameters=[out.PackageFilters],
        responses={200: out.ClientPackageSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        email = parsed(out.PackageFilters, request.query_params).get("email", "")
        return self.page(client_packages_listed(tenant=request.tenant, email=email), out.ClientPackageSerializer)


# Imports --------------------------------------------------------------------------------------------


def _job(request, job_id):
    """A staff import of this workspace (customers' own uploads are theirs, in My Account)."""
    job = import_get(tenant=request.tenant, job_id=job_id)
    kind = registry.get(job.kind)
    if kind is None or kind.customer_owned:
        raise Http404("No such import.")
    kind.target(tenant=request.tenant, params=job.params)  # 404 when what it belongs to is gone
    return job


class ContractImports(TenantApiView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Upload a participants CSV",
        description="Checked by a background task: poll the job until it is `valid` (then commit it) or "
        "`invalid` (its `problems` say which rows and columns).",
        request={"multipart/form-data": out.ImportInput},
        responses={202: out.ImportJobSerializer, **WRITE_ERRORS},
    )
    def post(self, request, contract_id):
        tenant = request.tenant
        contract = contract_get(tenant=tenant, contract_id=contract_id)
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            raise form_errors(form)
        # A file too large or empty: the service's ValidationError, answered 400 (api/errors.py).
        job = import_start(
            tenant=tenant,
            kind=participants_csv.KIND,
            params={"contract": contract.pk},
            upload=form.cleaned_data["file"],
            actor=None,  # the audit trail names the API key
        )
        job.refresh_from_db()
        url = request.build_absolute_uri(reverse("api:import", kwargs={"job_id": job.pk}))
        return Response(out.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class ImportDetail(TenantApiView):
    @extend_schema(summary="An import: status, progress, problems", responses={200: out.ImportJobSerializer, **ERRORS})
    def get(self, request, job_id):
        return Response(out.ImportJobSerializer(_job(request, job_id)).data)


class ImportCommit(TenantApiView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        summary="Complete a clean import",
        description="Only a `valid` job, and only once: a second request is refused (400).",
        request=None,
        responses={202: out.ImportJobSerializer, **WRITE_ERRORS},
    )
    def post(self, request, job_id):
        job = _job(request, job_id)
        # No person acts: the upload's audit entry names the API key; the commit is the system's.
        job = import_request_commit(tenant=request.tenant, job=job, actor=None)
        return Response(out.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
