from django.urls import path

from studio.generation import views

app_name = "generation"
urlpatterns = [
    path("projects/<int:project_id>/", views.project_detail, name="project"),
    path("projects/<int:project_id>/jobs/", views.job_create, name="job-create"),
    path("projects/<int:project_id>/prompt/", views.prompt_preview, name="prompt-preview"),
    path("projects/<int:project_id>/describe/", views.describe, name="describe"),
    path("projects/<int:project_id>/blend/", views.blend, name="blend"),
    path("jobs/<int:job_id>/", views.job_detail, name="job"),
    path("jobs/<int:job_id>/follow-up/", views.job_follow_up, name="follow-up"),
    path("jobs/<int:job_id>/seed/", views.job_seed, name="seed"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel, name="cancel"),
    path("jobs/<int:job_id>/retry/", views.job_retry, name="retry"),
    path("jobs/<int:job_id>/retry-images/", views.job_retry_results, name="retry-images"),
    path("jobs/<int:job_id>/region/", views.region_editor, name="region"),
    path("jobs/<int:job_id>/preview/", views.job_preview, name="job-preview"),
    path("images/<int:image_id>/full/", views.result_image, {"variant": "full"}, name="image"),
    path(
        "images/<int:image_id>/thumb/", views.result_image, {"variant": "thumb"}, name="image-thumb"
    ),
    path(
        "images/<int:image_id>/video/", views.result_video, {"variant": "full"}, name="image-video"
    ),
    path(
        "images/<int:image_id>/video-preview/",
        views.result_video,
        {"variant": "preview"},
        name="image-video-preview",
    ),
    path("jobs/<int:job_id>/mask/<str:token>.png", views.job_mask, name="mask"),
    path("projects/<int:project_id>/shorten/", views.shorten, name="shorten"),
    # Animate, Retexture, Remove background, Edit: one of the project's images as input.
    path(
        "projects/<int:project_id>/images/<slug:operation>/",
        views.image_work,
        name="image-work",
    ),
    # One receiver for every provider; the job's own provider authenticates the call.
    path("webhooks/<slug:provider>/<int:job_id>/", views.webhook, name="webhook"),
    path("webhooks/<slug:provider>/<int:job_id>/<str:token>/", views.webhook, name="webhook-token"),
]
