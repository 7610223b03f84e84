from django import forms
from django.contrib.auth.password_validation import validate_password

from accounts.models import User
from tenancy.models import NO_CONTROL_CHARACTERS

PASSWORDS_DIFFER = "The two passwords differ."


class LearnerSetupForm(forms.Form):
    """A new learner's account, made from an invitation link (which proves the address)."""

    first_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    last_name = forms.CharField(max_length=150, validators=[NO_CONTROL_CHARACTERS])
    password1 = forms.CharField(label="Choose a password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", PASSWORDS_DIFFER)
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
