from django.urls import include, path, re_path

from studio.sandbox import views

app_name = "sandbox"
urlpatterns = [
    # PiAPI's paths have no trailing slash; one is tolerated.
    re_path(r"^api/v1/task/?$", views.task_create, name="task-create"),
    re_path(r"^api/v1/task/(?P<task_id>[^/]+)/?$", views.task_detail, name="task-detail"),
    re_path(r"^account/info/?$", views.account_info, name="account-info"),
    path("images/<uuid:task_id>/<slug:name>.png", views.image, name="image"),
    path("videos/<uuid:task_id>/<slug:name>.mp4", views.video, name="video"),
    # LegNext's API, beside PiAPI's: its base URL is /sandbox/legnext/api.
    path("legnext/api/", include("studio.sandbox.legnext.urls")),
    # Anything else answers in the envelope too, never with an HTML page.
    re_path(r"^(?P<path>.*)$", views.not_found, name="not-found"),
]
