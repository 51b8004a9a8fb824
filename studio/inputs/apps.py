from django.apps import AppConfig


class InputsConfig(AppConfig):
    name = "studio.inputs"
    label = "inputs"
