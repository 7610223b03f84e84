"""The period filter of the analytics pages: local days, both ends included, either left open."""

from datetime import date

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from .selectors import Period

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
BAD_DATE = gettext_noop("Enter a date as YYYY-MM-DD, e.g. 2026-03-31.")
OUT_OF_RANGE = f"Pick a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}."
ENDS_BEFORE_START = gettext_noop("The “to” date is before the “from” date.")
IGNORED = gettext_noop("The period was ignored: the figures below cover all time.")


class PeriodForm(forms.Form):
    start = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy(BAD_DATE)},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        required=False,
        label=gettext_lazy("To"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy(BAD_DATE)},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def _in_range(self, name):
        day = self.cleaned_data.get(name)
        # Far dates are refused before any arithmetic: the day after 9999-12-31 does not exist.
        if day is not None and not EARLIEST <= day <= LATEST:
            raise forms.ValidationError(OUT_OF_RANGE)
        return day

    def clean_start(self):
        return self._in_range("start")

    def clean_end(self):
        return self._in_range("end")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _(ENDS_BEFORE_START))
        return data


def period_from(params, *, zone) -> tuple[PeriodForm, Period]:
    """The form bound to the query string and the period it gives (all time when it is invalid)."""
    form = PeriodForm({"start": params.get("start", ""), "end": params.get("end", "")})
    if form.is_valid():
        return form, Period(form.cleaned_data["start"], form.cleaned_data["end"], zone)
    return form, Period(zone=zone)
