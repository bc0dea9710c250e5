from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "portal.privacy"
    label = "privacy"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in  # noqa: PLC0415

        # The core's own retention rule (accounts never verified and unused); the
        # feature apps register theirs from their own AppConfig.ready.
        from portal.privacy import accounts_retention, checks, personal_data  # noqa: F401, PLC0415

        # At sign-in: a version of the data protection notice still to accept.
        from portal.privacy.notice import mark_pending_at_sign_in  # noqa: PLC0415

        user_logged_in.connect(mark_pending_at_sign_in, dispatch_uid="privacy_notice_pending")
