from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "portal.mail"
    label = "mail"

    def ready(self):
        from portal.mail.retention import unknown_mailboxes_person_remove  # noqa: PLC0415
        from portal.privacy.requests import person_erasure_register  # noqa: PLC0415

        person_erasure_register(unknown_mailboxes_person_remove)
