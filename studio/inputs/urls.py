app_name = "inputs"
urlpatterns: list = []
