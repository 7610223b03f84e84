import re

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from .models import Client
from .services import password_reset_email_queue

LOGIN_FAILED = gettext_noop("That email address and password do not match an account. Check both and try again.")
PHONE_INVALID = gettext_noop("Enter a phone number using digits, spaces and + ( ) - only.")
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-.]{6,40}$")


class LoginForm(AuthenticationForm):
    # Switched-off accounts fail like a wrong password (Django's backend refuses them first).
    error_messages = {**AuthenticationForm.error_messages, "invalid_login": gettext_lazy(LOGIN_FAILED)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email address"
        self.fields["username"].widget.attrs.update({"autocomplete": "email", "type": "email"})


class OutboxPasswordResetForm(PasswordResetForm):
    """Django's reset flow, with the email written to the outbox instead of sent in the request."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        password_reset_email_queue(user=context["user"], uid=context["uid"], token=context["token"])


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = ["first_name", "last_name", "email", "phone", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        labels = {
            "first_name": gettext_lazy("First name"),
            "last_name": gettext_lazy("Last name"),
            "email": gettext_lazy("Email"),
            "phone": gettext_lazy("Phone"),
            "notes": gettext_lazy("Notes"),
        }

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and not PHONE_PATTERN.match(phone):
            raise forms.ValidationError(_(PHONE_INVALID))
        return phone


class ClientSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=gettext_lazy("Search"))
