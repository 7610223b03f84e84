from django.contrib import admin

from .models import CodeBatch, InvitationCode, Redemption


@admin.register(InvitationCode)
class InvitationCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "contract", "price", "status", "uses", "max_uses", "tenant"]
    list_filter = ["tenant", "status"]
    search_fields = ["code"]
    raw_id_fields = ["contract", "price", "participant", "batch"]


@admin.register(CodeBatch)
class CodeBatchAdmin(admin.ModelAdmin):
    list_display = ["contract", "quantity", "created_count", "status", "created_at"]
    list_filter = ["tenant", "status"]


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = ["code", "booking", "email", "redeemed_at", "released_at"]
    raw_id_fields = ["code", "booking"]
