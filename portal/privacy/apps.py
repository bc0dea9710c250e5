from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "portal.privacy"
    label = "privacy"

    def ready(self):
        # The core's own retention rule (accounts never verified and unused); the
        # feature apps register theirs from their own AppConfig.ready.
        from portal.privacy import accounts_retention  # noqa: F401, PLC0415
