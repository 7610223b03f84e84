from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from bookings.forms import check_year
from contracts.models import ContractPrice

from . import codes
from .models import ShownStatus

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
VALIDITY_ORDER = gettext_noop("“Valid until” must be after “valid from”.")
SHORT_CODE_CONFIRM = gettext_noop("Codes shorter than {width} characters are easier to guess: tick the box to confirm.")
DOMAIN_INVALID = gettext_noop("Enter a domain like example.com (without @).")
CAMPAIGN_HELP = gettext_noop("Optional tag for the analytics, e.g. spring-mailing.")


def _validity_fields():
    def field(label):
        return forms.DateTimeField(
            required=False, widget=DATETIME_WIDGET, input_formats=DATETIME_FORMATS, label=label, validators=[check_year]
        )

    return field(gettext_lazy("Valid from")), field(gettext_lazy("Valid until"))


class ShortWidthMixin:
    """Widths below 10 need an explicit tick: such codes are practical to guess."""

    def clean(self):
        cleaned = super().clean()
        width = cleaned.get("width")
        if width and width < codes.WARN_BELOW_WIDTH and not cleaned.get("accept_short"):
            self.add_error("accept_short", _(SHORT_CODE_CONFIRM).format(width=codes.WARN_BELOW_WIDTH))
        return cleaned


def _accept_short_field():
    return forms.BooleanField(required=False, label=gettext_lazy("I accept that shorter codes are easier to guess"))


class TermsMixin:
    def clean_restricted_domain(self):
        domain = self.cleaned_data.get("restricted_domain", "").strip().lower().lstrip("@")
        if domain and ("." not in domain or " " in domain or "@" in domain):
            raise forms.ValidationError(_(DOMAIN_INVALID))
        return domain

    def clean_campaign(self):
        return " ".join(self.cleaned_data.get("campaign", "").split())

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end <= start:
            self.add_error("valid_until", _(VALIDITY_ORDER))
        return cleaned


class GenerateForm(ShortWidthMixin, TermsMixin, forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=100_000, initial=100, label=gettext_lazy("Quantity"))
    width = forms.IntegerField(
        min_value=codes.MIN_WIDTH,
        max_value=codes.MAX_WIDTH,
        initial=codes.DEFAULT_WIDTH,
        label=gettext_lazy("Code width"),
        help_text=gettext_lazy("Characters after the contract's prefix (6 to 20)."),
    )
    price = forms.ModelChoiceField(queryset=ContractPrice.objects.none(), empty_label=None, label=gettext_lazy("Price"))
    max_uses = forms.IntegerField(min_value=1, max_value=100_000, initial=1, label=gettext_lazy("Uses per code"))
    valid_from, valid_until = _validity_fields()
    restricted_domain = forms.CharField(
        required=False,
        max_length=253,
        label=gettext_lazy("Only for email addresses at"),
        help_text=gettext_lazy("Optional, e.g. acme.com (its subdomains count too)."),
    )
    campaign = forms.CharField(
        required=False, max_length=50, label=gettext_lazy("Campaign"), help_text=gettext_lazy(CAMPAIGN_HELP)
    )
    accept_short = _accept_short_field()

    def __init__(self, *args, prices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].queryset = prices


PRACTICAL_HOURS = 24 * 365  # a first hit within a year of guessing at the workspace's limit is practical


def guessability(width: int, issued: int) -> dict:
    """How guessable codes of ``width`` are with ``issued`` live codes, at the configured limits: per
    address, and from many addresses at once up to the workspace-wide limit. ``warn``: below the
    recommended width, or a first hit within a year at the workspace-wide limit."""
    one = codes.guess_odds(width=width, issued=issued, attempts_per_hour=attempts_per_hour())
    many = codes.guess_odds(width=width, issued=issued, attempts_per_hour=workspace_attempts_per_hour())
    return {
        "width": width,
        "bits": one["bits"],
        "time": codes.describe_hours(one["hours_to_first_hit"]),
        "time_workspace": codes.describe_hours(many["hours_to_first_hit"]),
        "warn": width < codes.WARN_BELOW_WIDTH or many["hours_to_first_hit"] < PRACTICAL_HOURS,
    }


def attempts_per_hour() -> int:
    return max(1, round(settings.CODE_ATTEMPT_LIMIT * 3600 / settings.CODE_ATTEMPT_WINDOW_SECONDS))


def workspace_attempts_per_hour() -> int:
    return max(1, round(settings.CODE_TENANT_ATTEMPT_LIMIT * 3600 / settings.CODE_ATTEMPT_WINDOW_SECONDS))


class CodeFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", gettext_lazy("Any status")), *ShownStatus.choices], required=False, label=gettext_lazy("Status")
    )
    price = forms.ModelChoiceField(
        queryset=ContractPrice.objects.none(),
        required=False,
        empty_label=gettext_lazy("Any price"),
        label=gettext_lazy("Price"),
    )
    assigned = forms.ChoiceField(
        choices=[
            ("", gettext_lazy("Assigned or not")),
            ("yes", gettext_lazy("Assigned to a participant")),
            ("no", gettext_lazy("Unassigned")),
        ],
        required=False,
        label=gettext_lazy("Assigned"),
    )
    q = forms.CharField(required=False, max_length=100, label=gettext_lazy("Search"))

    def __init__(self, *args, prices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].queryset = prices


class CodeEditForm(TermsMixin, forms.Form):
    code = forms.CharField(max_length=60, label=gettext_lazy("Code text"))
    price = forms.ModelChoiceField(queryset=ContractPrice.objects.none(), empty_label=None, label=gettext_lazy("Price"))
    participant_id = forms.IntegerField(
        required=False,
        min_value=1,
        label=gettext_lazy("Participant id"),
        help_text=gettext_lazy("Empty for an unassigned code."),
    )
    max_uses = forms.IntegerField(min_value=1, max_value=100_000, label=gettext_lazy("Uses allowed"))
    valid_from, valid_until = _validity_fields()
    restricted_domain = forms.CharField(
        required=False, max_length=253, label=gettext_lazy("Only for email addresses at")
    )
    campaign = forms.CharField(
        required=False, max_length=50, label=gettext_lazy("Campaign"), help_text=gettext_lazy(CAMPAIGN_HELP)
    )

    def __init__(self, *args, prices, locked_text: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].queryset = prices
        if locked_text:
            # Read-only in the page; a changed text posted anyway is refused by the service.
            self.fields["code"].widget.attrs["readonly"] = True
            self.fields["code"].help_text = "Fixed: the code was already shown, sent or used."


class ParticipantCodeForm(ShortWidthMixin, forms.Form):
    price = forms.ModelChoiceField(queryset=ContractPrice.objects.none(), empty_label=None, label=gettext_lazy("Price"))
    width = forms.IntegerField(
        min_value=codes.MIN_WIDTH,
        max_value=codes.MAX_WIDTH,
        initial=codes.DEFAULT_WIDTH,
        label=gettext_lazy("Code width"),
    )
    accept_short = _accept_short_field()

    def __init__(self, *args, prices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].queryset = prices


# Public booking page


class CodeEntryForm(forms.Form):
    code = forms.CharField(
        max_length=64,
        label=gettext_lazy("Your invitation code"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "class": "code-input"}
        ),
    )


class DetailsForm(forms.Form):
    first_name = forms.CharField(max_length=150, label=gettext_lazy("First name"))
    last_name = forms.CharField(max_length=150, label=gettext_lazy("Last name"))
    email = forms.EmailField(max_length=254, label=gettext_lazy("Email address"))
    phone = forms.RegexField(
        regex=r"^\+?[0-9 ()\-.]{6,40}$",
        required=False,
        max_length=40,
        label=gettext_lazy("Phone"),
        error_messages={"invalid": gettext_lazy("Enter a phone number using digits, spaces and + ( ) - only.")},
    )
    date_of_birth = forms.DateField(
        required=False,
        label=gettext_lazy("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    notes = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Anything we should know?"),
    )


# Sending codes

PASTE_EXAMPLE = "ana@example.com, Ana Lima, 2\n+44 7700 900123, Sam Jones"
PASTE_OR_FILE = gettext_noop("Paste the recipients or choose a CSV file.")
NOT_BOTH = gettext_noop("Paste the recipients or choose a CSV file, not both.")


class CodeSendForm(forms.Form):
    """Who gets codes: a pasted list or a CSV file; both become the same upload (invitations/sends_csv.py)."""

    recipients = forms.CharField(
        required=False,
        max_length=1_000_000,
        label=gettext_lazy("Paste recipients"),
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono", "placeholder": PASTE_EXAMPLE}),
        help_text=gettext_lazy(
            "One per line: an email address or a phone number with its country code, then optionally a "
            "name and how many codes (1 when left out), separated by commas, semicolons or tabs."
        ),
    )
    file = forms.FileField(
        required=False,
        label=gettext_lazy("Or a CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=gettext_lazy(
            "Columns recipient, name, codes (only recipient is required); UTF-8, comma or semicolon separated."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        pasted, upload = (cleaned.get("recipients") or "").strip(), cleaned.get("file")
        if not self.errors:
            if pasted and upload:
                raise forms.ValidationError(_(NOT_BOTH))
            if not pasted and not upload:
                raise forms.ValidationError(_(PASTE_OR_FILE))
        return cleaned
