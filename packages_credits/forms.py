from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bookings.forms import check_year
from tenancy.models import NO_CONTROL_CHARACTERS

from .models import Package, PaymentMethod
from .services import ONE_VALIDITY

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PackageForm(forms.ModelForm):
    """The services come as one number field per service: sessions of it (0 = not covered)."""

    class Meta:
        model = Package
        fields = [
            "name",
            "description",
            "price",
            "shared_pool",
            "pool_sessions",
            "validity_days",
            "valid_until",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "valid_until": DATE}

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.services = list(services)
        current = {item.service_id: item.sessions for item in self.instance.items.all()} if self.instance.pk else {}
        for service in self.services:
            self.fields[f"service_{service.pk}"] = forms.IntegerField(
                label=_("Sessions of {name}").format(name=service.name),
                min_value=0,
                max_value=1000,
                required=False,
                initial=current.get(service.pk, 0),
                help_text=_("0 = not covered. With a shared pool, any number above 0 marks it covered."),
            )
        self.fields["valid_until"].validators.append(check_year)

    def clean(self):
        cleaned = super().clean()
        # Checked here too, so the message sits beside the field before the model's constraint runs.
        if bool(cleaned.get("validity_days")) == bool(cleaned.get("valid_until")):
            self.add_error("validity_days", _(ONE_VALIDITY))
        cleaned["items"] = [
            (service, cleaned.get(f"service_{service.pk}") or 0)
            for service in self.services
            if cleaned.get(f"service_{service.pk}")
        ]
        for service in self.services:
            cleaned.pop(f"service_{service.pk}", None)
        return cleaned


class AddPackageForm(forms.Form):
    price = forms.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    expires_on = forms.DateField(widget=DATE, label=gettext_lazy("Last day of use"), validators=[check_year])
    payment_method = forms.ChoiceField(
        choices=[("", "Not paid yet")] + PaymentMethod.choices, required=False, label=gettext_lazy("Payment received")
    )
    payment_amount = forms.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, label=gettext_lazy("Amount paid")
    )
    payment_reference = forms.CharField(
        max_length=100, required=False, label=gettext_lazy("Reference"), validators=[NO_CONTROL_CHARACTERS]
    )

    def __init__(self, *args, packages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["package"] = forms.ModelChoiceField(queryset=packages, empty_label=None)
        self.order_fields(["package", "price", "expires_on", "payment_method", "payment_amount", "payment_reference"])

    def clean(self):
        cleaned = super().clean()
        method, amount = cleaned.get("payment_method"), cleaned.get("payment_amount")
        if method and not amount:
            self.add_error("payment_amount", _("Enter the amount received."))
        if amount and not method:
            self.add_error("payment_method", _("Say how it was paid."))
        if amount and cleaned.get("price") is not None and amount > cleaned["price"]:
            self.add_error("payment_amount", _("That is more than the price."))
        return cleaned


class PaymentForm(forms.Form):
    method = forms.ChoiceField(choices=PaymentMethod.choices)
    amount = forms.DecimalField(max_digits=10, decimal_places=2, min_value=0.01)
    reference = forms.CharField(max_length=100, required=False, validators=[NO_CONTROL_CHARACTERS])


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}), validators=[])
