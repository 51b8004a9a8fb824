from django.urls import path

from studio.generation import views

app_name = "generation"
urlpatterns = [
    path("projects/<int:project_id>/", views.project_detail, name="project"),
    path("projects/<int:project_id>/jobs/", views.job_create, name="job-create"),
    path("jobs/<int:job_id>/", views.job_card, name="job-card"),
    path("jobs/<int:job_id>/preview/", views.job_preview, name="job-preview"),
    path("images/<int:image_id>/full/", views.result_image, {"variant": "full"}, name="image"),
    path(
        "images/<int:image_id>/thumb/", views.result_image, {"variant": "thumb"}, name="image-thumb"
    ),
    path("webhooks/piapi/<int:job_id>/", views.webhook, name="webhook"),
]
