from django.contrib import admin

from .models import Contract, ContractEvent, ContractPrice, Organisation, Participant


class PriceInline(admin.TabularInline):
    model = ContractPrice
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "tenant", "status", "created_at"]
    list_filter = ["tenant", "status"]
    search_fields = ["name"]


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "invitation_prefix", "starts_on", "ends_on", "status", "tenant"]
    list_filter = ["tenant", "status"]
    search_fields = ["name", "invitation_prefix"]
    inlines = [PriceInline]


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "email", "contract", "tenant"]
    list_filter = ["tenant"]
    search_fields = ["last_name", "email"]


@admin.register(ContractEvent)
class ContractEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "contract", "kind", "summary", "actor"]
    list_filter = ["tenant", "kind"]
