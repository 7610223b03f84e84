from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import User
from tenancy.models import NO_CONTROL_CHARACTERS

from .models import Product, ProductSession

PASSWORDS_DIFFER = gettext_noop("The two passwords differ.")
ENDS_BEFORE_START = gettext_noop("The last day must be on or after the first.")
MAX_SEATS = 1000
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class LearnerSetupForm(forms.Form):
    """A new learner's account, made from an invitation link (which proves the address)."""

    first_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    last_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    password1 = forms.CharField(label=gettext_lazy("Choose a password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=gettext_lazy("Password again"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _(PASSWORDS_DIFFER))
        elif first:
            # Checked against the person it is for, so a password like their address is refused.
            person = User(
                email=self.email, first_name=cleaned.get("first_name", ""), last_name=cleaned.get("last_name", "")
            )
            try:
                validate_password(first, user=person)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class ProductSessionForm(forms.ModelForm):
    class Meta:
        model = ProductSession
        fields = ["name", "starts_on", "ends_on", "price", "access_days", "generates_codes"]
        widgets = {"starts_on": DATE, "ends_on": DATE}

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _(ENDS_BEFORE_START))
        for name in ("starts_on", "ends_on"):
            day = cleaned.get(name)
            if day and not 2000 <= day.year <= 2100:
                self.add_error(name, _("Enter a date between 2000 and 2100."))
        return cleaned


def _session_choice(queryset):
    field = forms.ModelChoiceField(queryset=queryset, label=_("Course session"), empty_label=None)
    field.label_from_instance = lambda ps: (
        _("{product} — {session} ({starts}, {price} a seat, registration codes)")
        if ps.generates_codes
        else _("{product} — {session} ({starts}, {price} a seat, one seat per person)")
    ).format(product=ps.product.name, session=ps.name, starts=dateformat.format(ps.starts_on, "j M Y"), price=ps.price)
    return field


class StaffOrderForm(forms.Form):
    email = forms.EmailField(max_length=254, label=gettext_lazy("Customer email"))
    first_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    last_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    quantity = forms.IntegerField(min_value=1, max_value=MAX_SEATS, label=gettext_lazy("Seats"))

    def __init__(self, *args, sessions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product_session"] = _session_choice(sessions)
        self.order_fields(["product_session", "quantity", "email", "first_name", "last_name"])


class BuySeatsForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_SEATS, label=gettext_lazy("Seats"), initial=2)

    def __init__(self, *args, sessions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product_session"] = _session_choice(sessions)
        self.order_fields(["product_session", "quantity"])


class AccessDatesForm(forms.Form):
    starts_on = forms.DateField(widget=DATE, label=gettext_lazy("Access from"))
    ends_on = forms.DateField(widget=DATE, label=gettext_lazy("Access until"))

    def clean(self):
        cleaned = super().clean()
        for name in ("starts_on", "ends_on"):
            day = cleaned.get(name)
            if day and not 2000 <= day.year <= 2100:
                self.add_error(name, _("Enter a date between 2000 and 2100."))
        return cleaned


class OrderFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
