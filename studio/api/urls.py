from django.urls import path

from studio.api import docs, pages, views

app_name = "api"

urlpatterns = [
    # PiAPI's protocol, spoken by Studio (token in x-api-key; no session, no CSRF).
    path("api/v1/task", views.task_create, name="task-create"),
    path("api/v1/task/<str:task_id>", views.task_detail, name="task"),
    path("account/info", views.account_info, name="account-info"),
    path("api/files/<str:signed>/", views.result_file, name="file"),
    path("api/openapi.json", docs.openapi, name="openapi"),
    # The pages people use for the API.
    path("api/", pages.docs, name="docs"),
    path("account/tokens/new/", pages.token_create, name="token-create"),
    path("account/tokens/<int:token_id>/", pages.token_page, name="token"),
    path("account/tokens/<int:token_id>/revoke/", pages.token_revoke, name="token-revoke"),
    path("teams/<int:team_id>/api-tokens/", pages.team_tokens, name="team-tokens"),
    path(
        "teams/<int:team_id>/api-tokens/<int:token_id>/revoke/",
        pages.team_token_revoke,
        name="team-token-revoke",
    ),
    path(
        "teams/<int:team_id>/api-tokens/<int:token_id>/limits/",
        pages.team_token_limits,
        name="team-token-limits",
    ),
]
