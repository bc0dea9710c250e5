"""Data for bench/pages.py, written with the portal's own settings (run in the
benchmark's production environment): prints one JSON line with what the benchmark
signs in with and asks for.

- a nodal officer with --applications filled drafts (My applications, task list, PDFs);
- a state administrator of Maharashtra with 200 applications waiting, and one of
  Karnataka with 10,000 (bulk-created rows: an application and its open state step);
- a submitted application with --links valid links for its competent authority (the
  review page is limited to 20 requests a minute per link).
"""

import json
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def waiting(jurisdiction, count, officer):
    from django.utils import timezone

    from onboarding.models import Application, ApplicationStatus, ApprovalStep, Stage

    now = timezone.now()
    applications = Application.objects.bulk_create([
        Application(
            nodal_officer=officer, status=ApplicationStatus.WITH_STATE, jurisdiction=jurisdiction,
            reference=f"ONB-{jurisdiction}-{i:06d}", organisation_name=f"Office of Records {jurisdiction} {i}",
            data={"nodal_officer": {"name": f"Officer {i}", "designation": "Deputy Director"},
                  "organisation": {"address": "x" * 2000}},
        )
        for i in range(count)
    ], batch_size=2000)
    ApprovalStep.objects.bulk_create([
        ApprovalStep(application=application, stage=Stage.STATE, jurisdiction=jurisdiction, version_number=1,
                     opened_at=now - timedelta(minutes=i), due_at=now + timedelta(days=10) - timedelta(minutes=i))
        for i, application in enumerate(applications)
    ], batch_size=2000)


def main():
    import argparse

    import django

    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=13)
    parser.add_argument("--links", type=int, default=600)
    args = parser.parse_args()
    django.setup()
    from django.conf import settings

    settings.ONBOARDING_OPEN_DRAFTS_MAX = settings.ONBOARDING_STARTS_PER_DAY = 10**6  # --applications drafts for one officer
    from onboarding.application import services
    from onboarding.approval.tokens import token_build
    from onboarding.models import ApprovalStep, AuthorityToken, Stage
    from tests.factories import PASSWORD, UserFactory
    from tests.onboarding.approval_helpers import as_querydict, make_state_admin, with_totp
    from tests.onboarding.approval_helpers import filled_application as filled
    from tests.onboarding_data import VALID

    officer = UserFactory(email="nodal.officer@mahaagri.gov.in", full_name="Sunil Patil")
    drafts = []
    for _ in range(args.applications):
        application = services.application_create(actor=officer)
        for section, values in VALID.items():
            services.application_save_section(application_id=application.pk, section=section,
                                              querydict=as_querydict(values), actor=officer)
        drafts.append(application.pk)
    submitted = services.application_submit(application_id=filled(officer).pk, actor=officer)
    step = ApprovalStep.objects.get(application=submitted, stage=Stage.AUTHORITY)
    links, rows = [], []
    for _ in range(args.links):
        raw, row = token_build(step=step, email=step.assignee_email)
        links.append(raw)
        rows.append(row)
    AuthorityToken.objects.bulk_create(rows)

    mh, ka = make_state_admin("MH", totp=False), make_state_admin("KA", totp=False)
    secrets = {"MH": with_totp(mh), "KA": with_totp(ka)}
    waiting("MH", 200, officer)
    waiting("KA", 10_000, officer)
    # The planner's statistics of the bulk-created rows and their tables' visibility maps (which
    # let PostgreSQL answer from an index alone), as autovacuum would make them within a minute
    # of the inserts in production (the test server here may run with autovacuum off: then none).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(json.dumps({
        "password": PASSWORD, "officer": officer.email, "drafts": drafts, "links": links,
        "admins": {"MH": [mh.email, secrets["MH"]], "KA": [ka.email, secrets["KA"]]},
    }))


if __name__ == "__main__":
    main()
