from django import forms
from django.utils.translation import gettext_lazy

from .models import Channel, EmailStatus
from .rendering import TemplateSources
from .services import template_validate


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", gettext_lazy("Any status")), *EmailStatus.choices], required=False)
    channel = forms.ChoiceField(choices=[("", gettext_lazy("Email and SMS")), *Channel.choices], required=False)
    q = forms.CharField(required=False, max_length=200, label=gettext_lazy("Search"))


class EmailTemplateForm(forms.Form):
    """Subject, text and HTML of one kind of email; each part must compile in the sandbox."""

    subject = forms.CharField(max_length=500, widget=forms.TextInput(attrs={"class": "mono"}))
    text = forms.CharField(
        label=gettext_lazy("Plain text"), max_length=20_000, widget=forms.Textarea(attrs={"rows": 12, "class": "mono"})
    )
    html = forms.CharField(
        label=gettext_lazy("HTML"), max_length=50_000, widget=forms.Textarea(attrs={"rows": 12, "class": "mono"})
    )

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            for part, message in template_validate(self.sources()).items():
                self.add_error(part, message)
        return cleaned

    def sources(self) -> TemplateSources:
        data = self.cleaned_data
        return TemplateSources(subject=data["subject"], text=data["text"], html=data["html"])
