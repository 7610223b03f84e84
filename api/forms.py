from django import forms
from django.utils.translation import gettext_lazy

from .models import ApiKey, KeyScope


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=ApiKey._meta.get_field("name").max_length,
        validators=ApiKey._meta.get_field("name").validators,
        help_text=gettext_lazy("Who or what uses it, e.g. “CRM sync”. Shown in the audit trail."),
        label=gettext_lazy("Name"),
    )
    scope = forms.ChoiceField(
        choices=KeyScope.choices,
        initial=KeyScope.READ,
        widget=forms.RadioSelect,
        label=gettext_lazy("Access"),
        help_text=gettext_lazy(
            "Read only: lists and lookups. Read and write also generates codes, redeems them and imports."
        ),
    )
