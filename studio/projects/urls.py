from django.urls import path

from studio.projects import views

app_name = "projects"
urlpatterns = [
    path("", views.home, name="home"),
    path("teams/<int:team_id>/projects/", views.project_create, name="create"),
]
