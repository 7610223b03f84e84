from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bookings.forms import check_year
from invitations.forms import DATETIME_FORMATS, DATETIME_WIDGET
from tenancy.models import NO_CONTROL_CHARACTERS

from .models import DiscountCode, DiscountKind, Session
from .services.discounts import DISCOUNT_PERCENT_TOO_HIGH
from .services.sessions import ENDS_BEFORE_START


def _moment(label, *, required=True, help_text=""):
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        widget=DATETIME_WIDGET,
        input_formats=DATETIME_FORMATS,
        validators=[check_year],
    )


class SessionForm(forms.ModelForm):
    starts_at = _moment(gettext_lazy("Starts"))
    ends_at = _moment(gettext_lazy("Ends"))
    registration_opens_at = _moment(
        gettext_lazy("Registration opens"),
        required=False,
        help_text=gettext_lazy("Leave empty to open registration at once."),
    )

    class Meta:
        model = Session
        fields = [
            "title",
            "description",
            "location",
            "starts_at",
            "ends_at",
            "capacity",
            "price",
            "registration_opens_at",
            "is_listed",
            "offer_hold_hours",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def clean(self):
        # Checked here too, so the message sits beside the field before the model's constraint runs.
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _(ENDS_BEFORE_START))
        return cleaned


class SessionFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    when = forms.ChoiceField(
        required=False, choices=[("upcoming", "Upcoming"), ("past", "Past"), ("all", "All")], initial="upcoming"
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"), max_length=254)
    phone = forms.CharField(
        required=False,
        max_length=30,
        label=gettext_lazy("Mobile number (optional)"),
        help_text=gettext_lazy("Also send the invitation by SMS, e.g. +44 7700 900123 (with the country code)."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    discount_code = forms.ModelChoiceField(
        queryset=DiscountCode.objects.none(),
        required=False,
        empty_label=gettext_lazy("No discount"),
        label=gettext_lazy("Discount code"),
    )
    lock_to_email = forms.BooleanField(
        required=False,
        label=gettext_lazy("Only the invited address can use the link"),
        help_text=gettext_lazy(
            "The person signs in or confirms a code we email to that address. "
            "Without this, anyone with the link can use it."
        ),
    )
    expires_at = _moment(
        gettext_lazy("Expires"), required=False, help_text=gettext_lazy("Optional: after this the spot is freed.")
    )
    raise_capacity = forms.BooleanField(required=False, label=gettext_lazy("Raise the capacity by one"))

    def __init__(self, *args, discounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["discount_code"].queryset = discounts


class DiscountForm(forms.ModelForm):
    valid_from = _moment(gettext_lazy("Valid from"), required=False)
    valid_until = _moment(gettext_lazy("Valid until"), required=False)
    sessions = forms.ModelMultipleChoiceField(
        queryset=Session.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: the code applies to every session."),
    )

    class Meta:
        model = DiscountCode
        fields = ["code", "kind", "value", "valid_from", "valid_until", "max_uses", "sessions", "is_active"]
        help_texts = {
            "code": gettext_lazy("Letters, digits and dashes; customers type it at checkout (capitals do not matter).")
        }

    def __init__(self, *args, sessions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sessions"].queryset = sessions

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == DiscountKind.PERCENT and (cleaned.get("value") or 0) > 100:
            self.add_error("value", _(DISCOUNT_PERCENT_TOO_HIGH))
        return cleaned

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        if not code or not all(ch.isalnum() or ch == "-" for ch in code):
            raise forms.ValidationError(_("Use letters, digits and dashes only."))
        return code


class DiscountFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=40)


class AttendeeForm(forms.Form):
    first_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    last_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    email = forms.EmailField(
        label=gettext_lazy("Contact email"), max_length=254, help_text=gettext_lazy("Your confirmation goes here.")
    )


class DiscountEntryForm(forms.Form):
    discount_code = forms.CharField(required=False, max_length=40, label=gettext_lazy("Discount code"))


class WaitlistForm(forms.Form):
    first_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    last_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    email = forms.EmailField(max_length=254)


class ProofForm(forms.Form):
    code = forms.CharField(max_length=12, label=gettext_lazy("Code from the email"))
