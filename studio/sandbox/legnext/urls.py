from django.urls import re_path

from studio.sandbox.legnext import views

app_name = "legnext"
urlpatterns = [
    # Relative to LegNext's base URL (…/api); a trailing slash is tolerated.
    re_path(r"^v1/job/(?P<job_id>[^/]+)/?$", views.job_detail, name="job-detail"),
    re_path(r"^v1/(?P<endpoint>[A-Za-z0-9_-]+)/?$", views.job_create, name="job-create"),
    re_path(r"^account/balance/?$", views.account_balance, name="account-balance"),
    # Anything else answers in JSON too, never with an HTML page.
    re_path(r"^(?P<path>.*)$", views.not_found, name="not-found"),
]
