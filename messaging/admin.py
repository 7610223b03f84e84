from django.contrib import admin

from .models import EmailTemplateOverride, OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "to_email", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "template_key", "tenant"]
    search_fields = ["to_email", "subject", "idempotency_key"]
    exclude = ["private_values"]  # links meant for the recipient only
    readonly_fields = [f.name for f in OutboundEmail._meta.fields if f.name != "private_values"]


@admin.register(EmailTemplateOverride)
class EmailTemplateOverrideAdmin(admin.ModelAdmin):
    list_display = ["key", "tenant", "updated_at", "updated_by"]
    list_filter = ["key", "tenant"]
