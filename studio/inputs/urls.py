from django.urls import path

from studio.inputs import views

app_name = "inputs"
urlpatterns = [
    path("projects/<int:project_id>/upload/", views.upload, name="upload"),
    # Before `public`, whose pattern would also match "thumbnails/<token>.webp".
    path("thumbnails/<str:token>.webp", views.thumbnail, name="thumbnail"),
    path("<str:token>/<str:name>", views.public, name="public"),
]
