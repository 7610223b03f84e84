from django.contrib import admin

from .models import Booking, Service, Slot, WeeklyAvailability


class AvailabilityInline(admin.TabularInline):
    model = WeeklyAvailability
    extra = 0


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "duration_minutes", "price", "is_active"]
    list_filter = ["tenant", "is_active"]
    search_fields = ["name"]
    inlines = [AvailabilityInline]


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ["service", "starts_at", "capacity", "booked", "tenant"]
    list_filter = ["tenant"]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["reference", "last_name", "first_name", "service", "starts_at", "status", "tenant"]
    list_filter = ["tenant", "status"]
    search_fields = ["reference", "email", "last_name"]
    raw_id_fields = ["slot", "client"]
