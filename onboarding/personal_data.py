"""The nodal officer's applications and their files, in the person's data download
(portal/privacy/personal_data.py), registered from OnboardingConfig.ready. Only
applications whose nodal officer is the person, and of their answers only those that
are not about another person: the competent authority's section and the technical
contact's details are replaced by a note (they are those persons' data)."""

from django.utils.translation import gettext as _

from onboarding.models import Application, ApplicationDocument, ApprovalStep, Attachment, Section
from portal.privacy.breach import breach_person_field_register
from portal.privacy.breach_reads import breach_read_route_register
from portal.privacy.personal_data import PersonalDataSection, PersonalFile, personal_data_register

MAX_APPLICATIONS = 200
# The answers of the form about persons other than the nodal officer, by section (None:
# every answer of the section): the competent authority, the technical contact.
OTHER_PERSONS_ANSWERS: dict[str, tuple[str, ...] | None] = {
    Section.COMPETENT_AUTHORITY: None,
    Section.INTEGRATION: ("tech_name", "tech_email", "tech_mobile"),
}


def own_answers(data: dict) -> dict:
    """The form's answers ``data`` with those about another person replaced by a note."""
    note = _("details of another person, not included")
    kept = dict(data)
    for section, fields in OTHER_PERSONS_ANSWERS.items():
        answers = kept.get(section)
        if not isinstance(answers, dict):
            continue
        kept[section] = {name: note if fields is None or name in fields else value for name, value in answers.items()}
    return kept


def applications_of(user) -> list:
    applications = list(Application.objects.filter(nodal_officer=user).order_by("id").values(
        "id", "reference", "status", "organisation_name", "jurisdiction", "data", "created_at", "submitted_at",
        "closed_at", "declarations_version", "declarations_accepted_at")[:MAX_APPLICATIONS])
    steps = ApprovalStep.objects.filter(application_id__in=[a["id"] for a in applications]).order_by("id").values(
        "application_id", "stage", "decision", "decided_at", "remarks")
    by_application: dict[int, list] = {}
    for step in steps:
        by_application.setdefault(step.pop("application_id"), []).append(step)
    for application in applications:
        application["data"] = own_answers(application["data"] or {})
        application["decisions"] = by_application.get(application["id"], [])
    return applications


def files_of(user) -> list[PersonalFile]:
    files = []
    for model, label in ((Attachment, "letter"), (ApplicationDocument, "document")):
        rows = model.objects.filter(application__nodal_officer=user).select_related("application").order_by("id")
        for row in rows[:MAX_APPLICATIONS]:
            if row.file.name:
                reference = row.application.reference or f"draft-{row.application_id}"
                files.append(PersonalFile(name=f"{reference}-{label}-{row.pk}.pdf", storage=row.file.storage,
                                          path=row.file.name, size=row.size))
    return files


def register() -> None:
    breach_person_field_register("onboarding.application", "nodal_officer_id")
    breach_person_field_register("onboarding.approvalstep", "application__nodal_officer_id")
    # The pages that show one application (its answers, its letter, its PDFs) or one step of it.
    for route in ("detail", "task_list", "section", "letter", "letter_download", "form_pdf", "approval_letter",
                  "appeal"):
        breach_read_route_register(f"onboarding:{route}", "onboarding.application")
    for route in ("queue_step", "appeal_step"):
        breach_read_route_register(f"onboarding:{route}", "onboarding.approvalstep")
    personal_data_register(PersonalDataSection(name="onboarding_applications", collect=applications_of,
                                               files=files_of))
