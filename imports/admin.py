from django.contrib import admin

from .models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["original_name", "kind", "tenant", "status", "total_rows", "problem_count", "created_at"]
    list_filter = ["status", "kind", "tenant"]
    exclude = ["content"]
    readonly_fields = ["problems", "plan", "summary", "failure"]
