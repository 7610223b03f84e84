from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from .models import Service, Weekday, WeeklyAvailability

YEAR_OUT_OF_RANGE = gettext_noop("Enter a date between the years 2000 and 2100.")
AVAILABILITY_TOO_SHORT = gettext_noop("From start to end there must be room for at least one {minutes}-minute slot.")


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = ["name", "description", "duration_minutes", "price", "is_active"]
        labels = {
            "name": gettext_lazy("Name"),
            "description": gettext_lazy("Description"),
            "price": gettext_lazy("Price"),
            "duration_minutes": gettext_lazy("Length (minutes)"),
            "is_active": gettext_lazy("Bookable"),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class AvailabilityForm(forms.ModelForm):
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int, label=gettext_lazy("Weekday"))

    class Meta:
        model = WeeklyAvailability
        fields = ["weekday", "start_time", "end_time", "slot_capacity"]
        labels = {
            "slot_capacity": gettext_lazy("People per slot"),
            "start_time": gettext_lazy("From"),
            "end_time": gettext_lazy("Until"),
        }
        widgets = {
            "start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "end_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args, service: Service, **kwargs):
        self.service = service
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start and end:
            day = datetime(2000, 1, 3)
            room = datetime.combine(day, end) - datetime.combine(day, start)
            if room < timedelta(minutes=self.service.duration_minutes):
                self.add_error("end_time", _(AVAILABILITY_TOO_SHORT).format(minutes=self.service.duration_minutes))
        return cleaned


def check_year(day) -> None:
    """Dates far from now cannot be stored or computed with in every time zone; refuse them."""
    if day is not None and not settings.EARLIEST_YEAR <= day.year <= settings.LATEST_YEAR:
        raise forms.ValidationError(_(YEAR_OUT_OF_RANGE))


class CalendarFilterForm(forms.Form):
    week = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[check_year],
        label=gettext_lazy("Week"),
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        empty_label=gettext_lazy("All services"),
        label=gettext_lazy("Service"),
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
