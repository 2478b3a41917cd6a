from django.urls import path

from jobline.workspaces import views

app_name = "workspaces"

urlpatterns = [
    path("accounts/sign-up/", views.sign_up, name="signup"),
    path("accounts/sign-up/confirm/<str:token>/", views.sign_up_confirm, name="signup_confirm"),
    path("workspaces/new/", views.workspace_create, name="create"),
    path("workspaces/switch/", views.workspace_switch, name="switch"),
    path("settings/", views.settings_general, name="settings_general"),
    path("settings/modules/", views.settings_modules, name="settings_modules"),
    path("settings/portal/", views.settings_portal, name="settings_portal"),
    path("settings/payments/", views.settings_payments, name="settings_payments"),
    path("settings/members/", views.settings_members, name="settings_members"),
    path("settings/members/invite/", views.member_invite, name="member_invite"),
    path(
        "settings/members/<int:membership_id>/role/",
        views.member_change_role,
        name="member_change_role",
    ),
    path(
        "settings/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("settings/audit-log/", views.settings_audit_log, name="settings_audit"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
