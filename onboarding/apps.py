from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    name = "onboarding"

    def ready(self):
        # The approval routing listens to the application form's signals.
        from onboarding.approval import receivers  # noqa: F401, PLC0415

        # The competent authority's link carries a secret in its path: log lines and
        # the stored copies of sent emails lose it (portal/redaction.py).
        from onboarding.approval.tokens import LINK_PATH_PREFIX, TOKEN_CHARS  # noqa: PLC0415
        from portal.redaction import secret_path_register  # noqa: PLC0415

        secret_path_register(prefix=LINK_PATH_PREFIX, secret=TOKEN_CHARS)

        # Retention of drafts and closed applications (portal/privacy's engine) ...
        from onboarding import retention  # noqa: PLC0415

        retention.register()
        # ... and of applications returned for correction and left so (reminded, then withdrawn).
        from onboarding.application import returned  # noqa: PLC0415

        returned.register()

        # The officer's applications and files in their personal data download (portal/privacy).
        from onboarding import personal_data  # noqa: PLC0415

        personal_data.register()

        # The officer's reply to the remarks, in the audit row of a resubmission, is theirs; the
        # addresses told of an application (a reminder's, an escalation's ``to``) are those people's.
        from portal.audit.personal import register_personal_keys  # noqa: PLC0415

        register_personal_keys("reply", "to")

        # An erasure granted to the officer erases their drafts and their address on the
        # steps they decided, and is refused while one of their applications is under a
        # legal hold.
        from onboarding.erasure import person_applications_erase, person_applications_held  # noqa: PLC0415
        from portal.privacy.requests import person_erasure_register, person_hold_targets_register  # noqa: PLC0415

        person_erasure_register(person_applications_erase)
        person_hold_targets_register(person_applications_held)

        # Being an application's nodal officer is a role: the Django admin leaves the
        # password and "Active" of such an account to a superuser (portal/accounts/admin.py).
        from onboarding.application.selectors import APPLICATION_SCOPE  # noqa: PLC0415
        from onboarding.models import Application  # noqa: PLC0415
        from portal.permissions import object_role_register  # noqa: PLC0415

        object_role_register(Application, APPLICATION_SCOPE)
