"""Forms of the My Account pages where a customer hands out their seats."""

import re
from collections import Counter
from dataclasses import dataclass

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import User, normalize_email
from imports.parsing import Problem, parse_csv
from messaging.sms import phone_normalise
from tenancy.models import NO_CONTROL_CHARACTERS

MAX_ADDRESSES = 500  # typed into the box
MAX_CSV_ADDRESSES = 10_000  # in an uploaded file (with what is typed)
MAX_CSV_BYTES = 1_000_000
ADDRESS_COLUMNS = ("email", "first_name", "last_name", "phone")
CSV_TOO_LARGE = gettext_noop("The file is larger than 1 MB.")
ADDRESS_INVALID = gettext_noop("These are not email addresses: {bad}.")
ADDRESS_TWICE = gettext_noop("Each address once, please: {twice}.")
_TOO_MANY_ADDRESSES = gettext_noop("At most {most} addresses at a time; upload a CSV for up to {csv_most}.")
_TOO_MANY_IN_FILES = gettext_noop("At most {csv_most} addresses at a time.")
_LIMITS = {"most": MAX_ADDRESSES, "csv_most": f"{MAX_CSV_ADDRESSES:,}"}
TOO_MANY_ADDRESSES = _TOO_MANY_ADDRESSES.format(**_LIMITS)  # as shown in English
TOO_MANY_IN_FILES = _TOO_MANY_IN_FILES.format(**_LIMITS)
NO_ADDRESS = gettext_noop("Enter at least one email address.")
PHONE_WITHOUT_ADDRESS = gettext_noop(
    "Line {line}: “{phone}” has no address before it. One invitation per line: the address, then "
    "(optional) a mobile number, e.g. ivy@example.com, +44 7700 900123."
)
TWO_PHONES = gettext_noop("Line {line}: {email} has two mobile numbers; give one.")
PHONE_ON_LINE = gettext_noop("Line {line}: {problem}")
# A piece of a mobile number as typed: "+44", "(0)7700", "900-123", "0049" (never an address: no "@").
PHONE_PIECE = re.compile(r"^\+?[0-9(][0-9\-./()]*$|^\+$")
SEPARATOR = re.compile(r"[,;]")
NAMES_NEEDED = gettext_noop("A new learner needs a first and a last name.")
NOBODY_PICKED = gettext_noop("Fill in a new learner, or tick at least one earlier learner.")


@dataclass(frozen=True)
class Invitee:
    """One invitation to send: a normalised address and, for an SMS too, a number in E.164."""

    email: str
    phone: str = ""


@dataclass
class _Typed:
    email: str
    line: int
    phone: str = ""


def _typed_lines(text: str) -> tuple[list[_Typed], list[str]]:
    """The addresses typed (each with the number after it on its line, if any), and the problems of
    where numbers stand. Addresses may share a line,
    separated by commas, semicolons or spaces; a number goes after its address, on the same line."""
    typed, problems = [], []
    for line_number, line in enumerate(text.splitlines(), 1):
        last = None
        for chunk in SEPARATOR.split(line):
            number: list[str] = []  # the pieces of a number being read, e.g. ["+44", "7700", "900123"]
            for token in [*chunk.split(), None]:
                if token is not None and PHONE_PIECE.match(token):
                    number.append(token)
                    continue
                if number:
                    phone = " ".join(number)
                    if last is None:
                        problems.append(_(PHONE_WITHOUT_ADDRESS).format(line=line_number, phone=phone))
                    elif last.phone:
                        problems.append(_(TWO_PHONES).format(line=line_number, email=last.email))
                    else:
                        last.phone = phone
                    number = []
                if token is not None:
                    last = _Typed(token, line_number)
                    typed.append(last)
    return typed, problems


def parse_invitees(text: str, *, limit: int = MAX_ADDRESSES, also: list[Invitee] = ()) -> list[Invitee]:
    """The invitations typed into the box (one per line: an address, then optionally its mobile
    number; or several addresses separated by commas, semicolons or spaces), and ``also`` those of
    an uploaded file: each address and number checked, no address twice. Problems name the line."""
    typed, problems = _typed_lines(text)
    if not typed and not also and not problems:
        raise forms.ValidationError(_(NO_ADDRESS))
    if len(typed) + len(also) > limit:
        raise forms.ValidationError(
            _(_TOO_MANY_ADDRESSES if limit == MAX_ADDRESSES else _TOO_MANY_IN_FILES).format(**_LIMITS)
        )
    bad = []
    for entry in typed:
        try:
            validate_email(entry.email)
        except forms.ValidationError:
            bad.append(entry.email)
        else:
            if len(entry.email) > 254:
                bad.append(entry.email)
    if bad:
        raise forms.ValidationError(_(ADDRESS_INVALID).format(bad=", ".join(bad[:10])))
    invitees = []
    for entry in typed:
        phone = ""
        if entry.phone:
            try:
                phone = phone_normalise(entry.phone)
            except forms.ValidationError as exc:
                problems.append(_(PHONE_ON_LINE).format(line=entry.line, problem=exc.messages[0]))
        invitees.append(Invitee(normalize_email(entry.email), phone))
    if problems:
        raise forms.ValidationError(problems[:10])
    invitees += also
    twice = sorted(email for email, count in Counter(i.email for i in invitees).items() if count > 1)
    if twice:
        raise forms.ValidationError(_(ADDRESS_TWICE).format(twice=", ".join(twice[:10])))
    return invitees


class InviteLearnersForm(forms.Form):
    addresses = forms.CharField(
        label=gettext_lazy("Email addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "ivy@example.com, +44 7700 900123\njoe@example.com"}),
        max_length=40_000,
        help_text=gettext_lazy(
            "One per line. Each gets a link to one seat. Add a mobile number after an address "
            "(ivy@example.com, +44 7700 900123, with the country code) and the link also goes by SMS."
        ),
    )
    csv_file = forms.FileField(
        label=gettext_lazy("Or a CSV file of addresses"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=gettext_lazy(
            "A column email, and optionally phone for an SMS too (first_name and last_name may be "
            "there as well); up to 10,000 rows."
        ),
    )
    message = forms.CharField(
        label=gettext_lazy("Added message (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        """``invitees``: each address with its number (or ""); ``addresses``: the addresses alone."""
        cleaned = super().clean()
        typed = cleaned.get("addresses") or ""
        upload = cleaned.get("csv_file")
        limit = MAX_CSV_ADDRESSES if upload else MAX_ADDRESSES
        from_file = []
        if upload:
            try:
                from_file = invitees_from_csv(upload)
            except forms.ValidationError as exc:
                self.add_error("csv_file", exc)
                return cleaned
        if "addresses" in cleaned and not self.errors:
            try:
                cleaned["invitees"] = parse_invitees(typed, limit=limit, also=from_file)
            except forms.ValidationError as exc:
                self.add_error("addresses", exc)
            else:
                cleaned["addresses"] = [invitee.email for invitee in cleaned["invitees"]]
        return cleaned


def invitees_from_csv(upload) -> list[Invitee]:
    """The email column (and the optional phone column) of an uploaded CSV; problems named by row
    and column."""
    content = upload.read(MAX_CSV_BYTES + 1)
    if len(content) > MAX_CSV_BYTES:
        raise forms.ValidationError(_(CSV_TOO_LARGE))
    parsed = parse_csv(content, columns=ADDRESS_COLUMNS, required=("email",), max_rows=MAX_CSV_ADDRESSES)
    problems = list(parsed.problems)
    invitees, seen = [], {}
    for row in parsed.rows:
        email = (row.get("email") or "").strip()
        phone = (row.get("phone") or "").strip()
        if phone:
            try:
                phone = phone_normalise(phone)
            except forms.ValidationError as exc:
                problems.append(Problem(row["_row"], "phone", exc.messages[0]))
        try:
            validate_email(email)
        except forms.ValidationError:
            problems.append(Problem(row["_row"], "email", _("This is not an email address.")))
            continue
        if len(email) > 254:  # valid to the checker up to 320, but not what an address column keeps
            problems.append(Problem(row["_row"], "email", _("Longer than 254 characters.")))
            continue
        if normalize_email(email) in seen:
            problems.append(
                Problem(
                    row["_row"],
                    "email",
                    _("This address is also on row {row}.").format(row=seen[normalize_email(email)]),
                )
            )
            continue
        seen[normalize_email(email)] = row["_row"]
        invitees.append(Invitee(normalize_email(email), phone))
    if problems:
        raise forms.ValidationError(
            [
                (_("Row {row}, column {column}: {problem}") if p.column else _("Row {row}: {problem}")).format(
                    row=p.row or "—", column=p.column, problem=p.message
                )
                for p in problems[:20]
            ]
        )
    return invitees


class CreateLearnerForm(forms.Form):
    email = forms.EmailField(required=False, max_length=254)
    first_name = forms.CharField(required=False, max_length=150, validators=[NO_CONTROL_CHARACTERS])
    last_name = forms.CharField(required=False, max_length=150, validators=[NO_CONTROL_CHARACTERS])
    password = forms.CharField(
        required=False,
        strip=False,
        max_length=128,
        widget=forms.PasswordInput,
        help_text=gettext_lazy("Optional. Leave empty and the learner gets an email to choose their own."),
    )
    earlier = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Or tick earlier learners"),
    )

    def __init__(self, *args, earlier, **kwargs):
        super().__init__(*args, **kwargs)
        if earlier.exists():
            self.fields["earlier"].queryset = earlier
            self.fields["earlier"].label_from_instance = lambda user: f"{user.get_full_name()} ({user.email})"
        else:  # nobody to tick yet
            del self.fields["earlier"]

    def clean(self):
        cleaned = super().clean()
        cleaned.setdefault("earlier", [])
        if not cleaned.get("email") and not cleaned.get("earlier"):
            if not self.errors:
                raise forms.ValidationError(_(NOBODY_PICKED))
        if cleaned.get("email"):
            for name in ("first_name", "last_name"):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, _(NAMES_NEEDED))
            if cleaned.get("password"):
                person = User(
                    email=cleaned["email"],
                    first_name=cleaned.get("first_name", ""),
                    last_name=cleaned.get("last_name", ""),
                )
                try:
                    validate_password(cleaned["password"], user=person)
                except forms.ValidationError as exc:
                    self.add_error("password", exc)
        return cleaned


class ReinviteForm(forms.Form):
    email = forms.EmailField(
        required=False,
        max_length=254,
        label=gettext_lazy("Send to"),
        help_text=gettext_lazy("Leave empty to send to the same address."),
    )
    phone = forms.CharField(
        required=False,
        max_length=30,
        label=gettext_lazy("Mobile number (optional)"),
        help_text=gettext_lazy(
            "Also send the link by SMS, e.g. +44 7700 900123 (with the country code). Left empty, "
            "the same address is texted again at the number it was first sent to, if any."
        ),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        return phone_normalise(phone) if phone else ""


class LearnersUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file of learners"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=gettext_lazy(
            "Columns first_name, last_name, email and (optional) password; UTF-8, comma or semicolon separated."
        ),
    )
