from django.contrib import admin
from django.urls import include, path

from tenancy import views as tenancy_views

tenant_patterns = [
    path("", include("tenancy.urls")),
    path("clients/", include("accounts.urls_clients")),
    path("account/", include("accounts.urls_portal")),
    path("account/seats/", include("regcodes.urls_portal")),
    path("account/packages/", include("packages_credits.urls_portal")),
    path("", include("messaging.urls")),
    path("", include("bookings.urls")),
    path("", include("imports.urls")),
    path("contracts/", include("contracts.urls")),
    path("contracts/", include("invitations.urls")),
    path("book/", include("invitations.urls_public")),
    path("sessions/", include("sessions_roster.urls")),
    path("register/", include("sessions_roster.urls_public")),
    path("seats/", include("regcodes.urls_public")),
    path("courses/", include("regcodes.urls")),
    path("packages/", include("packages_credits.urls")),
    path("audit/", include("audit.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("analytics/", include("analytics.urls")),
    path("api-keys/", include("api.urls_dashboard")),
    path("privacy/", include("privacy.urls")),
]

urlpatterns = [
    path("", tenancy_views.root, name="root"),
    path("workspaces/", tenancy_views.workspaces, name="workspaces"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("t/<slug:tenant_slug>/", include(tenant_patterns)),
]

admin.site.site_header = "Tessera platform administration"
admin.site.site_title = "Tessera admin"
