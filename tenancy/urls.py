from django.urls import path

from . import views

app_name = "tenancy"

urlpatterns = [
    path("", views.home, name="home"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.team_invite, name="team_invite"),
    path("team/members/<int:member_id>/role/", views.member_role, name="member_role"),
    path("team/members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path("team/invitations/<int:invitation_id>/resend/", views.invitation_resend, name="invitation_resend"),
    path("team/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("join/<str:token>/", views.join, name="join"),
    path("settings/", views.tenant_settings, name="settings"),
    path("settings/logo/remove/", views.logo_remove, name="logo_remove"),
    path("logo/<int:stamp>.<slug:ext>", views.tenant_logo, name="logo"),
]
