"""Data for the production profile's test, written with the portal's own settings
(run as ``python -m tests.production.seed`` in the profile's environment): a nodal
officer with a verified official address and a draft with every section filled
through the services, the letter not yet uploaded. Prints one JSON line."""

import json

import django


def main():
    django.setup()
    from onboarding.application import services
    from portal.audit.models import AuditEvent
    from tests.factories import PASSWORD, UserFactory
    from tests.onboarding.approval_helpers import as_querydict
    from tests.onboarding_data import VALID

    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    application = services.application_create(actor=officer)
    for section, values in VALID.items():
        services.application_save_section(application_id=application.pk, section=section,
                                          querydict=as_querydict(values), actor=officer)
    print(json.dumps({"email": officer.email, "password": PASSWORD, "application": application.pk,
                      "audit_events": AuditEvent.objects.count()}))


if __name__ == "__main__":
    main()
