from django.urls import path

from studio.sharing import views

app_name = "sharing"
urlpatterns = [
    # The project's links (its admins and members).
    path("projects/<int:project_id>/shares/", views.manage, name="manage"),
    path("projects/<int:project_id>/shares/new/", views.create, name="create"),
    path(
        "projects/<int:project_id>/shares/<int:share_id>/revoke/",
        views.revoke,
        name="revoke",
    ),
    # What a link opens: anyone who holds it, while it is live (the token is the key).
    path("s/<str:token>/", views.public, name="public"),
    path("s/<str:token>/i/<int:image_id>/", views.public_image, name="public-image"),
    path("s/<str:token>/images/<int:image_id>/<str:size>/", views.image_file, name="image"),
]
