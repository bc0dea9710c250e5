from django.apps import AppConfig


class VisibilityConfig(AppConfig):
    """What the platform's users may see of a government user: each organisation's
    visibility policy, each person's own narrowing of it, the directory of people."""

    name = "verification.visibility"
    label = "visibility"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The core's pages that show people (the role pages) name them as these rules let
        # the viewer see them (DESIGN §5), through the core's seam.
        from portal.organisations.names import person_name_rule_register  # noqa: PLC0415
        from verification.visibility.rules import name_shown  # noqa: PLC0415

        person_name_rule_register(name_shown)
