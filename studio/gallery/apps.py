from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "studio.gallery"
    label = "gallery"
