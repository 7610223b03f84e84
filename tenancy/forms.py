from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from accounts.models import User

from . import branding
from .models import Role, Tenant

PASSWORDS_DIFFER = "The two passwords differ."


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STAFF)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TenantSettingsForm(forms.ModelForm):
    """The workspace's settings, and a new logo (checked and re-encoded in ``clean_logo_file``; saved
    by the view with ``branding.tenant_logo_set``)."""

    logo_file = forms.FileField(
        label=_("Logo"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_(
            "PNG, JPEG or WebP, at most 512 KB and 2000×2000 pixels. Shown with the display name on your "
            "public pages and in your emails. Leave empty to keep the current logo."
        ),
    )

    class Meta:
        model = Tenant
        fields = ["name", "display_name", "time_zone", "currency", "language", "brand_color"]
        widgets = {"brand_color": forms.TextInput(attrs={"type": "color"})}
        labels = {"brand_color": "Brand colour", "time_zone": "Time zone", "language": _("Language")}
        help_texts = {
            "language": _(
                "The language of your public pages and emails, and how they write dates, times, numbers and money."
            ),
        }

    def clean_logo_file(self):
        upload = self.cleaned_data.get("logo_file")
        return branding.logo_check(upload) if upload else None


class NewAccountForm(forms.Form):
    """The person accepting an invitation chooses their name and password."""

    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    password1 = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2:
            if password1 != password2:
                self.add_error("password2", PASSWORDS_DIFFER)
            else:
                candidate = User(
                    email=self.email, first_name=cleaned.get("first_name", ""), last_name=cleaned.get("last_name", "")
                )
                try:
                    password_validation.validate_password(password1, candidate)
                except forms.ValidationError as exc:
                    self.add_error("password1", exc)
        return cleaned
