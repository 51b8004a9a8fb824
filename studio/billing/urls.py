from django.urls import path

from studio.billing import views

app_name = "billing"
urlpatterns = [
    path("teams/<int:team_id>/money/", views.settings_page, name="settings"),
    path("teams/<int:team_id>/money/prices/<slug:provider>/", views.prices_save, name="prices"),
    path("teams/<int:team_id>/money/budget/", views.team_budget_save, name="team-budget"),
    path(
        "teams/<int:team_id>/money/members/<int:membership_id>/budget/",
        views.member_budget_save,
        name="member-budget",
    ),
    path("teams/<int:team_id>/money/limits/", views.limits_save, name="limits"),
    path("teams/<int:team_id>/spend/", views.spend_page, name="spend"),
    path("teams/<int:team_id>/ledger/", views.ledger_page, name="ledger"),
    path("teams/<int:team_id>/ledger.csv", views.ledger_csv, name="ledger-csv"),
    path("teams/<int:team_id>/money/unknown/", views.unknown_page, name="unknown"),
    path(
        "teams/<int:team_id>/money/unknown/<int:job_id>/settle/",
        views.unknown_settle,
        name="unknown-settle",
    ),
]
