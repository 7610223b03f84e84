from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from bookings.models import Service

from .models import Contract, ContractPrice, Organisation, OrganisationStatus, Participant

CONTRACT_DATES = gettext_noop("The end date cannot be before the start date.")


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ["name", "contact_name", "email", "phone", "address", "status", "notes"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3}), "notes": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "name": gettext_lazy("Name"),
            "contact_name": gettext_lazy("Contact name"),
            "email": gettext_lazy("Email"),
            "phone": gettext_lazy("Phone"),
            "address": gettext_lazy("Address"),
            "status": gettext_lazy("Status"),
            "notes": gettext_lazy("Notes"),
        }


class OrganisationFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=gettext_lazy("Search"))
    status = forms.ChoiceField(
        choices=[("", gettext_lazy("Any status")), *OrganisationStatus.choices],
        required=False,
        label=gettext_lazy("Status"),
    )


class ContractForm(forms.ModelForm):
    class Meta:
        model = Contract
        fields = ["name", "invitation_prefix", "starts_on", "ends_on", "status", "notes"]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "name": gettext_lazy("Name"),
            "invitation_prefix": gettext_lazy("Invitation prefix"),
            "starts_on": gettext_lazy("Starts on"),
            "ends_on": gettext_lazy("Ends on"),
            "status": gettext_lazy("Status"),
            "notes": gettext_lazy("Notes"),
        }

    def clean_invitation_prefix(self):
        return self.cleaned_data["invitation_prefix"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _(CONTRACT_DATES))
        return cleaned


class PriceForm(forms.ModelForm):
    # Declared, so the class can be built outside any tenant scope; the queryset is set per tenant.
    service = forms.ModelChoiceField(queryset=Service.objects.none(), label=gettext_lazy("Service"))

    class Meta:
        model = ContractPrice
        fields = ["service", "amount", "price_code"]
        labels = {"amount": gettext_lazy("Amount"), "price_code": gettext_lazy("Price code")}
        help_texts = {
            "price_code": "Short and unique in this contract, e.g. STD or STUDENT; used in the participants CSV."
        }

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(tenant=tenant).order_by("name")

    def clean_price_code(self):
        return self.cleaned_data["price_code"].strip().upper()


class ParticipantForm(forms.ModelForm):
    class Meta:
        model = Participant
        fields = ["first_name", "last_name", "email", "phone", "date_of_birth"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        labels = {
            "first_name": gettext_lazy("First name"),
            "last_name": gettext_lazy("Last name"),
            "email": gettext_lazy("Email"),
            "phone": gettext_lazy("Phone"),
            "date_of_birth": gettext_lazy("Date of birth"),
        }


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=gettext_lazy("Search"))


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=gettext_lazy("The downloaded file with price codes filled in; UTF-8, comma or semicolon separated."),
    )
