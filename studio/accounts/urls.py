from django.contrib.auth import views as auth_views
from django.urls import path

from studio.accounts import views

app_name = "accounts"
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    # One's own account.
    path("me/", views.account_page, name="account"),
    path("me/profile/", views.account_profile, name="account-profile"),
    path("me/theme/", views.account_theme, name="account-theme"),
    path("me/password/", views.PasswordChangeView.as_view(), name="password-change"),
    path(
        "me/password/changed/",
        views.PasswordChangeDoneView.as_view(),
        name="password-change-done",
    ),
    # Forgotten passwords: a link by mail (open to anyone; the token guards it).
    path("password-reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password-reset-sent",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        views.PasswordResetCompleteView.as_view(),
        name="password-reset-complete",
    ),
    # The team's administration (its admins only).
    path("teams/<int:team_id>/", views.team_page, name="team"),
    path("teams/<int:team_id>/settings/", views.team_save, name="team-save"),
    path("teams/<int:team_id>/keys/", views.keys_page, name="keys"),
    path("teams/<int:team_id>/keys/add/", views.key_add, name="key-add"),
    path("teams/<int:team_id>/keys/<int:key_id>/", views.key_row, name="key-row"),
    path("teams/<int:team_id>/keys/<int:key_id>/test/", views.key_test, name="key-test"),
    path("teams/<int:team_id>/keys/<int:key_id>/rotate/", views.key_rotate, name="key-rotate"),
    path("teams/<int:team_id>/keys/<int:key_id>/disable/", views.key_disable, name="key-disable"),
    path("teams/<int:team_id>/keys/<int:key_id>/enable/", views.key_enable, name="key-enable"),
    path("teams/<int:team_id>/keys/<int:key_id>/delete/", views.key_delete, name="key-delete"),
    path("teams/<int:team_id>/keys/<int:key_id>/move/", views.key_move, name="key-move"),
    path("teams/<int:team_id>/members/", views.members_page, name="members"),
    path("teams/<int:team_id>/members/add/", views.member_create, name="member-create"),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/role/",
        views.member_role,
        name="member-role",
    ),
    path(
        "teams/<int:team_id>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path("teams/<int:team_id>/invites/", views.invite_create, name="invite-create"),
    path(
        "teams/<int:team_id>/invites/<int:invite_id>/email/",
        views.invite_email,
        name="invite-email",
    ),
    path(
        "teams/<int:team_id>/invites/<int:invite_id>/revoke/",
        views.invite_revoke,
        name="invite-revoke",
    ),
    path("teams/<int:team_id>/audit/", views.audit_page, name="audit"),
    # The invite link: anyone who holds it (GET shows it, POST joins).
    path("invites/<str:token>/", views.invite_page, name="invite"),
]
