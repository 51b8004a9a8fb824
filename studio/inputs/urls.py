from django.urls import path

from studio.inputs import views

app_name = "inputs"
urlpatterns = [
    path("projects/<int:project_id>/upload/", views.upload, name="upload"),
    path(
        "projects/<int:project_id>/from-result/<int:image_id>/",
        views.from_result,
        name="from-result",
    ),
    # Studio's own pages, for members; before `public`, whose pattern is broader.
    path("images/<int:input_id>/", views.image, name="image"),
    path("images/<int:input_id>/thumb/", views.thumbnail, name="thumbnail"),
    # The provider's: no login, while a job may need the image (see publicly_served).
    path("<str:token>/<str:name>", views.public, name="public"),
]
