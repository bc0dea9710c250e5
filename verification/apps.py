from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VerificationConfig(AppConfig):
    name = "verification"
    verbose_name = _("Verification")

    def ready(self):
        # The link to confirm the official address carries a secret in its path: log
        # lines and the stored copies of sent emails lose it (portal/redaction.py).
        from portal.redaction import secret_path_register  # noqa: PLC0415
        from portal.tokens import TOKEN_CHARS  # noqa: PLC0415
        from verification.lifecycle import CONFIRM_PATH_PREFIX  # noqa: PLC0415

        secret_path_register(prefix=CONFIRM_PATH_PREFIX, secret=TOKEN_CHARS)

        # Retention of revoked people's verification records (portal/privacy's engine).
        from verification import retention  # noqa: PLC0415

        retention.register()

        # Values of its audit events that are personal (redacted with the person's data):
        # the date of superannuation, the admin who invited, the invited addresses, the
        # admin who verified a person in another organisation (ending their verification here),
        # the name a roster changes a verified person's to.
        from portal.audit.personal import register_personal_keys  # noqa: PLC0415

        register_personal_keys("superannuation_date", "invited_by", "invitations", "transferred_by", "verified_name")

        # An erasure granted to a person erases their verification records too, and is
        # refused while one of them is under a legal hold.
        # Its mail in the outbox goes too, at the official addresses they had as well.
        from portal.privacy.requests import (  # noqa: PLC0415
            person_erasure_register,
            person_hold_targets_register,
            person_past_addresses_register,
        )
        from verification.erasure import (  # noqa: PLC0415
            person_verification_addresses,
            person_verification_erase,
            person_verification_held,
        )

        person_erasure_register(person_verification_erase)
        person_hold_targets_register(person_verification_held)
        person_past_addresses_register(person_verification_addresses)

        # The person's verification records in their personal data download (portal/privacy).
        from verification import personal_data  # noqa: PLC0415

        personal_data.register()

        # The language a person is told in by the core's mail (roles granted and removed):
        # the one they last asked to be verified in.
        from portal.organisations.notifications import person_language_register  # noqa: PLC0415
        from verification.selectors import people_request_languages  # noqa: PLC0415

        person_language_register(people_request_languages)

        # An admin role resting on a verification past its date of superannuation counts for
        # nothing in the core's questions from the next request, before the hourly job ends
        # it. Registered before the roles' query is first compiled (portal.compiled).
        from portal.permissions import admin_role_lapse_register  # noqa: PLC0415
        from verification.visibility.rules import role_lapsed  # noqa: PLC0415

        admin_role_lapse_register(role_lapsed)

        # A person whose latest verification says they left government service (past its
        # date of superannuation, or ended on retirement or on leaving service) is no one to
        # act as a nodal officer: the core asks this for onboarding (portal.accounts.in_service).
        from portal.accounts.in_service import service_ended_register  # noqa: PLC0415
        from verification.selectors import person_service_ended  # noqa: PLC0415

        service_ended_register(person_service_ended)

        # An official address removed from an account suspends the verification resting on it.
        from verification import receivers  # noqa: F401, PLC0415
