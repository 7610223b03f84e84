"""The erasure form: one email address."""

from django import forms


class ErasureForm(forms.Form):
    email = forms.CharField(
        label="Email address of the person",
        max_length=254,
        help_text="Every row of this workspace that holds this address is anonymised. Staff cannot be erased here.",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
