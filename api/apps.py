from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Verification API"

    def ready(self):
        from api import receivers  # noqa: F401, PLC0415
