from django.apps import AppConfig


class PiapiConfig(AppConfig):
    name = "studio.piapi"
    label = "piapi"
