"""What the API answers (output serializers) and the typed shape of what it takes (input).

Input serializers only read types (numbers, ISO 8601 date-times, booleans); the rules are the
pages' own forms and services, called by the views (api/views.py), so they exist once.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from bookings.forms import YEAR_OUT_OF_RANGE, check_year
from bookings.models import BookingStatus
from imports import progress
from invitations import codes as code_text
from invitations.models import ShownStatus
from sessions_roster.models import RegistrationStatus

MAX_TEXT = 200


class PriceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    price_code = serializers.CharField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    service_id = serializers.IntegerField()
    service = serializers.CharField(source="service.name")


class ContractSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    organisation_id = serializers.IntegerField()
    organisation = serializers.CharField(source="organisation.name")
    invitation_prefix = serializers.CharField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField(allow_null=True)
    status = serializers.CharField()
    prices = PriceSerializer(many=True, source="prices.all")


class CodeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(source="shown", help_text=gettext_lazy("As printed: prefix and groups of five."))
    contract_id = serializers.IntegerField()
    price = PriceSerializer()
    status = serializers.ChoiceField(choices=ShownStatus.choices, source="shown_status")
    uses = serializers.IntegerField()
    max_uses = serializers.IntegerField()
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    restricted_domain = serializers.CharField()
    campaign = serializers.CharField()
    participant_id = serializers.IntegerField(allow_null=True)
    batch_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class BatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    contract_id = serializers.IntegerField()
    price_id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    width = serializers.IntegerField()
    max_uses = serializers.IntegerField()
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    restricted_domain = serializers.CharField()
    campaign = serializers.CharField()
    status = serializers.CharField(help_text=gettext_lazy("queued, running, done or failed."))
    created_count = serializers.IntegerField()
    percent = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    contract_id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class BookingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    service_id = serializers.IntegerField()
    service = serializers.CharField(source="service.name")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=BookingStatus.choices)
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    price_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    client_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)


class SessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    location = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    spots_taken = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    is_listed = serializers.BooleanField()


class RegistrationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    session_id = serializers.IntegerField()
    order_reference = serializers.CharField(source="order.reference")
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    discount = serializers.DecimalField(max_digits=10, decimal_places=2)
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    status = serializers.ChoiceField(choices=RegistrationStatus.choices)
    created_at = serializers.DateTimeField()
    cancelled_at = serializers.DateTimeField(allow_null=True)


class LearnerRegistrationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    learner_id = serializers.IntegerField()
    learner_email = serializers.CharField(source="learner.email")
    learner_name = serializers.CharField(source="learner.get_full_name")
    product = serializers.CharField(source="product_session.product.name")
    product_session_id = serializers.IntegerField()
    product_session = serializers.CharField(source="product_session.name")
    code = serializers.CharField(source="code.code")
    order_reference = serializers.CharField(source="code.order.reference")
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    granted_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True, help_text=gettext_lazy("Set when the access was removed."))


class CreditSerializer(serializers.Serializer):
    service_id = serializers.IntegerField(
        allow_null=True, help_text=gettext_lazy("Empty: a shared pool for every covered service.")
    )
    service = serializers.SerializerMethodField()
    used = serializers.IntegerField()
    total = serializers.IntegerField()
    remaining = serializers.IntegerField()

    def get_service(self, credit) -> str | None:
        return credit.service.name if credit.service_id else None


class ClientSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()


class ClientPackageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client = ClientSerializer()
    package_id = serializers.IntegerField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    amount_paid = serializers.DecimalField(max_digits=10, decimal_places=2)
    expires_on = serializers.DateField(
        help_text=gettext_lazy("The last day a credit can be used, in the workspace's time zone.")
    )
    status = serializers.CharField(help_text=gettext_lazy("As stored: awaiting_payment, active or cancelled."))
    state = serializers.CharField(
        help_text=gettext_lazy("As staff see it: Active, Awaiting payment, Cancelled, Expired or Used up.")
    )
    credits = CreditSerializer(many=True, source="credits.all")
    created_at = serializers.DateTimeField()


class ProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True)
    column = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ImportJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    contract_id = serializers.SerializerMethodField()
    original_name = serializers.CharField()
    status = serializers.CharField(
        help_text=gettext_lazy("validating, invalid, valid, committing, committed or failed.")
    )
    progress = serializers.SerializerMethodField()
    total_rows = serializers.IntegerField()
    problem_count = serializers.IntegerField()
    problems = serializers.ListField(
        child=serializers.DictField(), help_text=gettext_lazy("The first 1,000, by row and column.")
    )
    plan = serializers.DictField(help_text=gettext_lazy("What committing will do (a clean file)."))
    summary = serializers.DictField(help_text=gettext_lazy("What committing did."))
    failure = serializers.CharField()
    created_at = serializers.DateTimeField()
    validated_at = serializers.DateTimeField(allow_null=True)
    committed_at = serializers.DateTimeField(allow_null=True)

    def get_contract_id(self, job) -> int | None:
        return job.params.get("contract")

    def get_progress(self, job) -> int:
        return progress.percent(job) if job.busy else job.progress


# Input ---------------------------------------------------------------------------------------------


class MomentField(serializers.DateTimeField):
    """An ISO 8601 date-time; one the time zone cannot represent (year 1 seen from Amsterdam) is bad
    input, not a server error."""

    def to_internal_value(self, value):
        try:
            return super().to_internal_value(value)
        except OverflowError:
            raise serializers.ValidationError(YEAR_OUT_OF_RANGE) from None


def _text(**kwargs):
    return serializers.CharField(max_length=MAX_TEXT, **kwargs)


class CodeFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=ShownStatus.choices, required=False)
    campaign = serializers.CharField(max_length=50, required=False)
    participant = serializers.IntegerField(min_value=1, max_value=2**62, required=False)
    code = serializers.CharField(
        max_length=60,
        required=False,
        help_text=gettext_lazy("The start of a code, typed loosely (case, spaces, hyphens)."),
    )

    def validate_code(self, value):
        canonical = code_text.normalise(value)
        if not code_text.is_well_formed(canonical):
            raise serializers.ValidationError(_("Use the letters and digits of a code."))
        return canonical


class BatchInput(serializers.Serializer):
    price = serializers.IntegerField(help_text=gettext_lazy("A price id of the contract (GET /contracts/)."))
    quantity = serializers.IntegerField(help_text="1–100,000.")
    width = serializers.IntegerField(
        required=False, help_text=gettext_lazy("Characters after the prefix, 6–20 (default 10).")
    )
    accept_short = serializers.BooleanField(
        required=False, help_text=gettext_lazy("Required true for a width below 10.")
    )
    max_uses = serializers.IntegerField(required=False, help_text=gettext_lazy("Uses per code (default 1)."))
    valid_from = MomentField(required=False, allow_null=True)
    valid_until = MomentField(required=False, allow_null=True)
    restricted_domain = serializers.CharField(max_length=253, required=False, allow_blank=True)
    campaign = serializers.CharField(max_length=50, required=False, allow_blank=True)


class LookupInput(serializers.Serializer):
    code = serializers.CharField(
        max_length=64, help_text=gettext_lazy("As the person typed it: case, spaces, hyphens are fine.")
    )


class RedeemInput(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    starts_at = MomentField(help_text=gettext_lazy("One of the times of the code lookup's `times`."))
    service = serializers.IntegerField(
        required=False, help_text=gettext_lazy("Optional: the code's service id, checked.")
    )
    first_name = _text(required=False, help_text=gettext_lazy("Default: the code's participant's."))
    last_name = _text(required=False, help_text=gettext_lazy("Default: the code's participant's."))
    email = serializers.CharField(
        max_length=254, required=False, help_text=gettext_lazy("Default: the code's participant's.")
    )
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class BookingFilters(serializers.Serializer):
    starts_from = MomentField(
        required=False, validators=[check_year], help_text=gettext_lazy("Bookings starting at or after this.")
    )
    starts_before = MomentField(
        required=False, validators=[check_year], help_text=gettext_lazy("Bookings starting before this.")
    )
    status = serializers.ChoiceField(choices=BookingStatus.choices, required=False)
    service = serializers.IntegerField(min_value=1, max_value=2**62, required=False)


class SessionFilters(serializers.Serializer):
    when = serializers.ChoiceField(choices=["upcoming", "past", "all"], required=False, default="upcoming")


class RegistrationFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=RegistrationStatus.choices, required=False)


class LearnerRegistrationFilters(serializers.Serializer):
    email = serializers.EmailField(required=False, help_text=gettext_lazy("Only this learner's registrations."))
    product_session = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text=gettext_lazy("Only this course session's.")
    )
    active = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text=gettext_lazy("true: current access only; false: removed only."),
    )


class PackageFilters(serializers.Serializer):
    email = serializers.EmailField(required=False, help_text=gettext_lazy("Only this client's packages."))


class ImportInput(serializers.Serializer):
    file = serializers.FileField(
        help_text=gettext_lazy("The participants CSV (as downloaded from the contract), UTF-8.")
    )


class TimeSerializer(serializers.Serializer):
    starts_at = MomentField()
    remaining = serializers.IntegerField()


class LookupSerializer(serializers.Serializer):
    code = CodeSerializer()
    service_id = serializers.IntegerField()
    service = serializers.CharField()
    participant = ParticipantSerializer(allow_null=True)
    times = TimeSerializer(many=True, help_text=gettext_lazy("Free times in the next two weeks the code may book."))
