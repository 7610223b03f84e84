from django.contrib import admin

from .models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "tenant", "active", "created_at"]
    list_filter = ["active", "tenant"]
    search_fields = ["url", "description"]
    exclude = ["secret"]  # the tenant's signing key: platform staff have no use for it
    readonly_fields = ["created_by", "created_at", "secret_rotated_at"]

    def has_add_permission(self, request):
        return False  # endpoints get their secret from the dashboard, which shows it to the tenant


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "endpoint", "event", "status", "attempts", "last_status_code"]
    list_filter = ["status", "event", "tenant"]
    search_fields = ["event_id"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False
