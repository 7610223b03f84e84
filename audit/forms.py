from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from bookings.forms import check_year

from .models import Action

DATES_ORDER = gettext_noop("“To” must not be before “from”.")


class AuditFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label=gettext_lazy("Search"))
    action = forms.ChoiceField(
        required=False, choices=[("", gettext_lazy("All actions")), *Action.choices], label=gettext_lazy("Action")
    )
    start = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[check_year],
    )
    end = forms.DateField(
        required=False,
        label=gettext_lazy("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[check_year],
    )
    object_type = forms.RegexField(
        required=False, regex=r"^[a-z_]+\.[a-z_]+$", max_length=100, label=gettext_lazy("Object type")
    )
    object_id = forms.RegexField(
        required=False, regex=r"^[0-9A-Za-z_-]{1,40}$", max_length=40, label=gettext_lazy("Object id")
    )

    def clean_q(self):
        return self.cleaned_data["q"].replace("\x00", "").strip()

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", _(DATES_ORDER))
            cleaned.pop("end", None)
        return cleaned

    def filters(self) -> dict:
        """The valid filters; a bad value drops only its own (the page says which)."""
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or ("" if name not in ("start", "end") else None) for name in self.fields}
