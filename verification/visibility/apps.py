from django.apps import AppConfig


class VisibilityConfig(AppConfig):
    """What the platform's users may see of a government user: each organisation's
    visibility policy, each person's own narrowing of it, the directory of people."""

    name = "verification.visibility"
    label = "visibility"
    default_auto_field = "django.db.models.BigAutoField"
