"""The erasure form: one email address."""

from django import forms
from django.utils.translation import gettext_lazy


class ErasureForm(forms.Form):
    email = forms.CharField(
        label=gettext_lazy("Email address of the person"),
        max_length=254,
        help_text=gettext_lazy(
            "Every row of this workspace that holds this address is anonymised. Staff cannot be erased here."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
