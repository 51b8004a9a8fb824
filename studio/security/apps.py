from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "studio.security"
    label = "security"

    def ready(self) -> None:
        from studio.security import encryption  # noqa: F401 - registers the start-up check
