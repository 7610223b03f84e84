from django import forms

from .models import ApiKey, KeyScope


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        validators=ApiKey._meta.get_field("name").validators,
        help_text="Who or what uses it, e.g. “CRM sync”. Shown in the audit trail.",
    )
    scope = forms.ChoiceField(
        choices=KeyScope.choices,
        initial=KeyScope.READ,
        widget=forms.RadioSelect,
        label="Access",
        help_text="Read only: lists and lookups. Read and write also generates codes, redeems them and imports.",
    )
