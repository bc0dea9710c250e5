from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "onboarding"

    def ready(self):
        # The approval routing listens to the application form's signals.
        from onboarding.approval import receivers  # noqa: F401, PLC0415
