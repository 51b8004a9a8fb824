from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "studio.security"
    label = "security"
