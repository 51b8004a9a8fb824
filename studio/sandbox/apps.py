from django.apps import AppConfig
from django.core import checks


class SandboxConfig(AppConfig):
    name = "studio.sandbox"
    label = "sandbox"

    def ready(self) -> None:
        from studio.sandbox.checks import check_behaviours_setting

        checks.register(check_behaviours_setting)
