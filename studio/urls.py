from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("studio.projects.urls")),
    path("", include("studio.generation.urls")),
    path("accounts/", include("studio.accounts.urls")),
    path("inputs/", include("studio.inputs.urls")),
    path("", include("studio.billing.urls")),
    path("", include("studio.gallery.urls")),
    path("", include("studio.sharing.urls")),
    path("", include("studio.api.urls")),
    path("admin/", admin.site.urls),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("studio.sandbox.urls")))
