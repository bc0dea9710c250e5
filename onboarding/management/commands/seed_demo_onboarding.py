"""Demo data of onboarding (run by seed_demo, safe to run again): the demo nodal
officer's application for the Directorate of Agriculture, Maharashtra, submitted and
approved by its competent authority, now waiting for the state administrator of
Maharashtra; and a draft of theirs, begun. Made through the services as the officer
and the authority would (audited, mail in the outbox), once: what people did with them
in the portal since is left as it is."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.datastructures import MultiValueDict

from onboarding.application import services
from onboarding.approval.services import step_decide
from onboarding.models import Application, AuthorityToken, Decision, Section, Stage
from portal.accounts.models import User

OFFICER = "nodal.officer@mahaagri.gov.in"  # seed_demo's nodal officer
SUBMITTED = {
    Section.ORGANISATION: {
        "name": "Directorate of Agriculture, Maharashtra", "name_local": "कृषी संचालनालय, महाराष्ट्र",
        "short_code": "DOA-MH", "org_type": "directorate", "level": "state", "state": "MH", "district": "",
        "address": "Central Building, Pune 411001", "pin_code": "411001", "landline": "020-26123456",
        "website": "https://krishi.maharashtra.gov.in", "email_domains": "mahaagri.gov.in", "approx_users": "1200",
    },
    Section.HIERARCHY: {"parent_choice": "none", "parent": "", "new_parent_name": "", "new_parent_type": ""},
    Section.NODAL_OFFICER: {
        "name": "Sunil Nodal Officer", "designation": "Deputy Director (IT)", "employee_code": "MH-AG-1042",
        "mobile": "9876543210", "alternate_email": "",
    },
    Section.COMPETENT_AUTHORITY: {
        "name": "Anita Deshmukh", "designation": "Director of Agriculture", "official_email": "director@mahaagri.gov.in",
        "mobile": "+91 91234 56789",
    },
    Section.INTEGRATION: {
        "wants_integration": "yes", "app_1_name": "Mahadbt farmer portal", "app_1_purposes": ["otp_alerts", "broadcast"],
        "monthly_volume": "50000", "tech_name": "Kiran Joshi", "tech_email": "kiran.joshi@mahaagri.gov.in",
        "tech_mobile": "9823012345",
    },
    Section.DECLARATIONS: {
        "accept_notice": "on", "undertaking_true": "on", "undertaking_authorised": "on", "undertaking_policy": "on",
    },
}
DRAFT = {  # begun, not complete: the officer's next application
    Section.ORGANISATION: {
        "name": "Maharashtra State Seed Corporation", "name_local": "महाराष्ट्र राज्य बियाणे महामंडळ", "short_code": "MSSC",
        "org_type": "psu", "level": "state", "state": "MH", "district": "Akola", "address": "", "pin_code": "",
        "landline": "", "website": "", "email_domains": "", "approx_users": "",
    },
}


def _letter() -> SimpleUploadedFile:
    """The signed authorisation letter: a one-page PDF."""
    from pypdf import PdfWriter  # only when an application is made

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return SimpleUploadedFile("authorisation-letter.pdf", buffer.getvalue(), content_type="application/pdf")


def _filled(officer: User, sections: dict) -> Application:
    application = services.application_create(actor=officer)
    for section, values in sections.items():
        services.application_save_section(
            application_id=application.pk, section=section, actor=officer,
            querydict=MultiValueDict({k: (v if isinstance(v, list) else [v]) for k, v in values.items()}),
        )
    return application


class Command(BaseCommand):
    help = "Load onboarding demo data (an application waiting for the state administrator, a draft); safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        officer = User.objects.filter(email=OFFICER).first()
        if officer is None:
            self.stderr.write(f"{OFFICER} is missing: run seed_demo first.")
            return
        if not Application.objects.filter(nodal_officer=officer).exists():
            application = _filled(officer, SUBMITTED)
            services.attachment_upload(application_id=application.pk, uploaded=_letter(), actor=officer)
            services.application_submit(application_id=application.pk, actor=officer)
            # The competent authority approves from the link mailed to it (its session holds the link's digest).
            link = AuthorityToken.objects.get(step__application=application, step__stage=Stage.AUTHORITY,
                                              used_at__isnull=True, superseded_at__isnull=True)
            step_decide(step_id=link.step_id, decision=Decision.APPROVE, token_digest=link.token_hash)
            _filled(officer, DRAFT)
