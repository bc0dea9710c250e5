from django.apps import AppConfig


class RostersConfig(AppConfig):
    """Roster import and invitations: part of verification, with its own tables."""

    name = "verification.rosters"
    label = "rosters"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The core sends allauth's signals and knows nothing of invitations: the
        # listener connects itself (an invitation is accepted by confirming its address).
        from portal.redaction import secret_path_register
        from verification.rosters import receivers  # noqa: F401
        from verification.rosters.tokens import TOKEN_PATTERN

        secret_path_register(prefix="/verification/invitations/", secret=TOKEN_PATTERN)
