from django.urls import path

from studio.gallery import views

app_name = "gallery"
urlpatterns = [
    path("projects/<int:project_id>/gallery/", views.gallery, name="project"),
    path("projects/<int:project_id>/gallery/bulk/", views.bulk, name="bulk"),
    path("projects/<int:project_id>/gallery/download/", views.download, name="download"),
    path("images/<int:image_id>/view/", views.image_view, name="image"),
    path("images/<int:image_id>/small/", views.thumbnail, name="thumb"),
    path("images/<int:image_id>/favourite/", views.favourite, name="favourite"),
    path("images/<int:image_id>/tags/", views.image_tags, name="image-tags"),
    path("images/<int:image_id>/archive/", views.image_archive, name="archive"),
]
