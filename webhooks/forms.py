from django import forms
from django.utils.translation import gettext_lazy

from tenancy.events import WEBHOOK_EVENTS

from .models import DeliveryStatus
from .services import PING, url_problem


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Endpoint URL"),
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://crm.example.com/hooks/tessera", "class": "mono"}),
        help_text=gettext_lazy("Tessera POSTs JSON here, signed with the endpoint's secret."),
    )
    description = forms.CharField(
        max_length=200, required=False, help_text=gettext_lazy("Optional: what receives these events.")
    )
    events = forms.MultipleChoiceField(
        choices=list(WEBHOOK_EVENTS.items()),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": gettext_lazy("Choose at least one event."),
            "invalid_choice": gettext_lazy("Choose events from the list."),
        },
    )

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        problem = url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", gettext_lazy("Any status")), *DeliveryStatus.choices], required=False)
    event = forms.ChoiceField(
        choices=[("", gettext_lazy("Any event")), *WEBHOOK_EVENTS.items(), (PING, gettext_lazy("Test event (ping)"))],
        required=False,
    )
