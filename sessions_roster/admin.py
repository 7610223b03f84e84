from django.contrib import admin

from .models import DiscountCode, Order, Registration, Session, SessionInvitation, WaitlistEntry


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("title", "tenant", "starts_at", "capacity", "spots_taken", "is_listed")
    # Counters move only through the services' conditional UPDATEs; editing them here would break them.
    readonly_fields = ("capacity", "spots_taken")
    list_filter = ("tenant", "is_listed")
    search_fields = ("title", "location")


@admin.register(DiscountCode)
class DiscountCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "tenant", "kind", "value", "uses", "max_uses", "is_active")
    readonly_fields = ("uses",)
    list_filter = ("tenant", "kind", "is_active")
    search_fields = ("code",)


class RegistrationInline(admin.TabularInline):
    model = Registration
    extra = 0
    raw_id_fields = ("session", "invitation", "waitlist_entry")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("reference", "tenant", "email", "total", "status", "created_at")
    list_filter = ("tenant", "status")
    search_fields = ("email", "last_name")
    inlines = [RegistrationInline]
    raw_id_fields = ("user", "client", "discount_code")


@admin.register(SessionInvitation)
class SessionInvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "session", "tenant", "status", "sent_at", "expires_at")
    list_filter = ("tenant", "status")
    search_fields = ("email",)
    exclude = ("token_salt", "token_hash", "proof_hash")
    raw_id_fields = ("session", "discount_code", "created_by", "cancelled_by")


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ("email", "session", "tenant", "status", "offer_expires_at")
    list_filter = ("tenant", "status")
    search_fields = ("email",)
    exclude = ("offer_salt", "offer_token_hash")
    raw_id_fields = ("session", "user")
