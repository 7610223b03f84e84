from django.contrib import admin

from .models import CourseAccess, LearnerInvite, Product, ProductSession, RegistrationCode, SeatOrder


class ProductSessionInline(admin.TabularInline):
    model = ProductSession
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant", "is_active")
    list_filter = ("tenant", "is_active")
    search_fields = ("name",)
    inlines = [ProductSessionInline]


class RegistrationCodeInline(admin.TabularInline):
    model = RegistrationCode
    extra = 0
    # Statuses move only through the services' conditional UPDATEs.
    readonly_fields = ("code", "status", "learner", "claimed_at")
    can_delete = False


@admin.register(SeatOrder)
class SeatOrderAdmin(admin.ModelAdmin):
    list_display = ("reference", "tenant", "buyer", "product_session", "quantity", "total", "status", "created_at")
    list_filter = ("tenant", "status")
    search_fields = ("buyer__email",)
    raw_id_fields = ("buyer", "client", "product_session", "created_by")
    readonly_fields = ("quantity",)
    inlines = [RegistrationCodeInline]


@admin.register(LearnerInvite)
class LearnerInviteAdmin(admin.ModelAdmin):
    list_display = ("email", "tenant", "status", "sent_at")
    list_filter = ("tenant", "status")
    search_fields = ("email",)
    exclude = ("token_salt", "token_hash")
    raw_id_fields = ("code", "invited_by")


@admin.register(CourseAccess)
class CourseAccessAdmin(admin.ModelAdmin):
    list_display = ("learner", "product_session", "tenant", "starts_on", "ends_on", "revoked_at")
    list_filter = ("tenant",)
    search_fields = ("learner__email",)
    raw_id_fields = ("learner", "product_session", "code", "revoked_by")
