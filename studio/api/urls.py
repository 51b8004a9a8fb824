from django.urls import path

from studio.api import views

app_name = "api"

urlpatterns = [
    path("api/v1/task", views.task_create, name="task-create"),
    path("api/v1/task/<str:task_id>", views.task_detail, name="task"),
    path("account/info", views.account_info, name="account-info"),
    path("api/files/<str:signed>/", views.result_file, name="file"),
]

# The API's OpenAPI description, for anyone (appended here so as not to touch the lines
# above, owned with views.py).
from studio.api import docs  # noqa: E402

urlpatterns.append(path("api/openapi.json", docs.openapi, name="openapi"))
