app_name = "gallery"
urlpatterns: list = []
