"""Forms of the My Account pages where a customer hands out their seats."""

from collections import Counter

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.validators import validate_email

from accounts.models import User, normalize_email
from imports.parsing import Problem, parse_csv
from tenancy.models import NO_CONTROL_CHARACTERS

MAX_ADDRESSES = 500  # typed into the box
MAX_CSV_ADDRESSES = 10_000  # in an uploaded file (with what is typed)
MAX_CSV_BYTES = 1_000_000
ADDRESS_COLUMNS = ("email", "first_name", "last_name")
CSV_TOO_LARGE = "The file is larger than 1 MB."
ADDRESS_INVALID = "These are not email addresses: {bad}."
ADDRESS_TWICE = "Each address once, please: {twice}."
TOO_MANY_ADDRESSES = f"At most {MAX_ADDRESSES} addresses at a time; upload a CSV for up to {MAX_CSV_ADDRESSES:,}."
TOO_MANY_IN_FILES = f"At most {MAX_CSV_ADDRESSES:,} addresses at a time."
NO_ADDRESS = "Enter at least one email address."
NAMES_NEEDED = "A new learner needs a first and a last name."
NOBODY_PICKED = "Fill in a new learner, or tick at least one earlier learner."


def parse_addresses(text: str, *, limit: int = MAX_ADDRESSES) -> list[str]:
    """Addresses separated by lines, commas, semicolons or spaces; each checked, none twice."""
    raw = [part for part in text.replace(",", " ").replace(";", " ").split() if part]
    if not raw:
        raise forms.ValidationError(NO_ADDRESS)
    if len(raw) > limit:
        raise forms.ValidationError(TOO_MANY_ADDRESSES if limit == MAX_ADDRESSES else TOO_MANY_IN_FILES)
    bad = []
    for address in raw:
        try:
            validate_email(address)
        except forms.ValidationError:
            bad.append(address)
        else:
            if len(address) > 254:
                bad.append(address)
    if bad:
        raise forms.ValidationError(ADDRESS_INVALID.format(bad=", ".join(bad[:10])))
    emails = [normalize_email(a) for a in raw]
    twice = sorted(email for email, count in Counter(emails).items() if count > 1)
    if twice:
        raise forms.ValidationError(ADDRESS_TWICE.format(twice=", ".join(twice[:10])))
    return emails


class InviteLearnersForm(forms.Form):
    addresses = forms.CharField(
        label="Email addresses",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=40_000,
        help_text="One per line, or separated by commas. Each gets a link to one seat.",
    )
    csv_file = forms.FileField(
        label="Or a CSV file of addresses",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text="A column email (first_name and last_name may be there too); up to 10,000 rows.",
    )
    message = forms.CharField(
        label="Added message (optional)", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self):
        cleaned = super().clean()
        typed = cleaned.get("addresses") or ""
        upload = cleaned.get("csv_file")
        limit = MAX_CSV_ADDRESSES if upload else MAX_ADDRESSES
        if upload:
            try:
                typed += "\n" + "\n".join(addresses_from_csv(upload))
            except forms.ValidationError as exc:
                self.add_error("csv_file", exc)
                return cleaned
        if "addresses" in cleaned and not self.errors:
            try:
                cleaned["addresses"] = parse_addresses(typed, limit=limit)
            except forms.ValidationError as exc:
                self.add_error("addresses", exc)
        return cleaned


def addresses_from_csv(upload) -> list[str]:
    """The email column of an uploaded CSV; problems named by row and column."""
    content = upload.read(MAX_CSV_BYTES + 1)
    if len(content) > MAX_CSV_BYTES:
        raise forms.ValidationError(CSV_TOO_LARGE)
    parsed = parse_csv(content, columns=ADDRESS_COLUMNS, required=("email",), max_rows=MAX_CSV_ADDRESSES)
    problems = list(parsed.problems)
    emails, seen = [], {}
    for row in parsed.rows:
        email = (row.get("email") or "").strip()
        try:
            validate_email(email)
        except forms.ValidationError:
            problems.append(Problem(row["_row"], "email", "This is not an email address."))
            continue
        if normalize_email(email) in seen:
            problems.append(
                Problem(row["_row"], "email", f"This address is also on row {seen[normalize_email(email)]}.")
            )
            continue
        seen[normalize_email(email)] = row["_row"]
        emails.append(email)
    if problems:
        raise forms.ValidationError(
            [f"Row {p.row or '—'}{f', column {p.column}' if p.column else ''}: {p.message}" for p in problems[:20]]
        )
    return emails


class CreateLearnerForm(forms.Form):
    email = forms.EmailField(required=False, max_length=254)
    first_name = forms.CharField(required=False, max_length=150, validators=[NO_CONTROL_CHARACTERS])
    last_name = forms.CharField(required=False, max_length=150, validators=[NO_CONTROL_CHARACTERS])
    password = forms.CharField(
        required=False,
        strip=False,
        max_length=128,
        widget=forms.PasswordInput,
        help_text="Optional. Leave empty and the learner gets an email to choose their own.",
    )
    earlier = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Or tick earlier learners"
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
                raise forms.ValidationError(NOBODY_PICKED)
        if cleaned.get("email"):
            for name in ("first_name", "last_name"):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, NAMES_NEEDED)
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
        required=False, max_length=254, label="Send to", help_text="Leave empty to send to the same address."
    )


class LearnersUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file of learners",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text="Columns first_name, last_name, email and (optional) password; UTF-8, comma or semicolon separated.",
    )
