"""The nodal officer's applications, in the person's data download
(portal/privacy/personal_data.py), registered from OnboardingConfig.ready. Only
applications whose nodal officer is the person, and of their answers only those that
are not about another person: the competent authority's section and the technical
contact's details are replaced by a note (they are those persons' data), as is the Nodal
officer section of an application handed over to them until they give their own. Of an
application handed over from them, which and when, with their own answers in it (that
section), not the rest of it (no longer theirs).

For the same reason the application's stored documents are not in the zip, only listed
(which, how many copies, why): each names another person. The form's PDF holds the
competent authority's and the technical contact's answers, the approval letter names the
authority and the administrators who decided, the authorisation letter is signed by the
authority. A copy of a PDF without them would be a fresh render per version and language,
which runs in a child process within limits and is counted against the person's renders
an hour (onboarding/application/pdf.py): not something a download made in one request can
do for up to MAX_APPLICATIONS applications. The person's own answers, the decisions and the
grounds of their appeals are in data.json."""

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onboarding.models import (
    Application,
    ApplicationDocument,
    ApplicationVersion,
    ApprovalStep,
    Attachment,
    DocumentKind,
    Section,
)
from portal.accounts.official_email import normalise_address
from portal.accounts.selectors import addresses_of_users
from portal.audit.models import AuditAction, AuditEvent
from portal.privacy.breach import breach_person_field_register, breach_record_kind_register
from portal.privacy.breach_reads import breach_read_route_register
from portal.privacy.personal_data import PersonalDataSection, personal_data_register
from portal.privacy.requests import person_past_addresses

MAX_APPLICATIONS = 200
# The answers of the form about persons other than the nodal officer, by section (None:
# every answer of the section): the competent authority, the technical contact.
OTHER_PERSONS_ANSWERS: dict[str, tuple[str, ...] | None] = {
    Section.COMPETENT_AUTHORITY: None,
    Section.INTEGRATION: ("tech_name", "tech_email", "tech_mobile"),
}


def own_answers(data: dict, addresses: set[str]) -> dict:
    """The form's answers ``data`` with those about another person replaced by a note: the
    competent authority's and the technical contact's (OTHER_PERSONS_ANSWERS), and the Nodal
    officer section when its official address is none of ``addresses`` (the person's,
    normalised): an application handed over keeps its previous officer's answers there until
    the new one gives their own."""
    note = _("details of another person, not included")
    kept = dict(data)
    officer = kept.get(Section.NODAL_OFFICER)
    if isinstance(officer, dict) and normalise_address(str(officer.get("official_email") or "")) not in addresses:
        kept[Section.NODAL_OFFICER] = dict.fromkeys(officer, note)
    for section, fields in OTHER_PERSONS_ANSWERS.items():
        answers = kept.get(section)
        if not isinstance(answers, dict):
            continue
        kept[section] = {name: note if fields is None or name in fields else value for name, value in answers.items()}
    return kept


def own_addresses(user) -> set[str]:
    """The person's addresses, normalised: the account's now, and those it had before and no
    other account holds now (person_past_addresses: their answers naming an address they
    changed since are still theirs; one passed to the next holder of a post may be that
    person's). Six queries (the account's two, the past ones' four), eight when it had others."""
    addresses = addresses_of_users({user.pk})
    return addresses | {normalise_address(address) for address in person_past_addresses(user, sorted(addresses))}


def applications_of(user) -> list:
    applications = list(Application.objects.filter(nodal_officer=user).order_by("id").values(
        "id", "reference", "status", "organisation_name", "jurisdiction", "data", "created_at", "submitted_at",
        "closed_at", "declarations_version", "declarations_accepted_at")[:MAX_APPLICATIONS])
    steps = ApprovalStep.objects.filter(application_id__in=[a["id"] for a in applications]).order_by("id").values(
        "application_id", "stage", "decision", "decided_at", "remarks", "grounds")
    by_application: dict[int, list] = {}
    for step in steps:
        by_application.setdefault(step.pop("application_id"), []).append(step)
    replies: dict[int, list] = {}
    for reply in (ApplicationVersion.objects.filter(application_id__in=[a["id"] for a in applications])
                  .exclude(reply="").order_by("application_id", "number").values("application_id", "number", "reply",
                                                                                  "created_at")):
        replies.setdefault(reply.pop("application_id"), []).append(reply)
    addresses = own_addresses(user) if applications else set()
    for application in applications:
        application["data"] = own_answers(application["data"] or {}, addresses)
        application["decisions"] = by_application.get(application["id"], [])
        # Their replies to the remarks a return came with, by the version sent with each.
        application["replies_to_remarks"] = replies.get(application["id"], [])
    documents = documents_not_included(applications)
    for application in applications:
        application["documents_not_included"] = documents.get(application["id"], [])
    return applications


def applications_handed_over_from(user) -> list:
    """The applications handed over from the person to another nodal officer (each
    handover's audit row names them by account) and not back: which (reference,
    organisation, status), when, and the person's own answers in it: the Nodal officer
    section as it holds it now while it names one of their addresses, else as the last
    version sent that did (none once replaced and never sent with them). Nine queries (the
    person's addresses six: own_addresses), whatever the number; one when none was handed over."""
    handed = dict(AuditEvent.objects.filter(
        action=AuditAction.APPLICATION_OFFICER_CHANGED, target_type="onboarding.application",
        old_values__user_id=user.pk).order_by("target_id", "id").values_list("target_id", "created_at"))
    ids = [int(pk) for pk in handed if str(pk).isdigit()]
    applications = list(Application.objects.filter(pk__in=ids).exclude(nodal_officer=user).order_by("id").values(
        "id", "reference", "status", "organisation_name", "data")[:MAX_APPLICATIONS])
    if not applications:
        return []
    addresses = own_addresses(user)

    def theirs(data) -> dict | None:
        officer = (data or {}).get(Section.NODAL_OFFICER)
        named = isinstance(officer, dict) and normalise_address(str(officer.get("official_email") or "")) in addresses
        return dict(officer) if named else None

    sent: dict[int, dict] = {}
    for application_id, data in (ApplicationVersion.objects.filter(application_id__in=[a["id"] for a in applications])
                                 .order_by("application_id", "number").values_list("application_id", "data")):
        answers = theirs(data)
        if answers is not None:
            sent[application_id] = answers  # the last version naming them
    for application in applications:
        application["handed_over_at"] = handed[str(application["id"])]
        application["your_answers"] = theirs(application.pop("data")) or sent.get(application["id"])
    return applications


def documents_not_included(applications: list[dict]) -> dict[int, list[dict]]:
    """By application id, the stored documents of ``applications`` left out of the
    download (each names another person): which, how many copies (versions and
    languages), and why, in the language of the request. Two queries, one row per kind."""
    ids = [application["id"] for application in applications]
    why = {
        DocumentKind.FORM_PDF: (str(DocumentKind.FORM_PDF.label), _(
            "It holds the details of other persons (the competent authority and the technical contact). "
            "Your answers are in this file, without theirs.")),
        DocumentKind.APPROVAL_LETTER: (str(DocumentKind.APPROVAL_LETTER.label), _(
            "It names other persons (the competent authority and the administrators who decided). "
            "The decisions are in this file, without their details.")),
    }
    letter = (_("Signed authorisation letter"), _(
        "It is signed by the competent authority and holds their details. You uploaded it yourself."))
    counted = [(row["application_id"], *why[row["kind"]], row["copies"])
               for row in ApplicationDocument.objects.filter(application_id__in=ids, kind__in=why).exclude(file="")
               .values("application_id", "kind").annotate(copies=Count("id")).order_by("application_id", "kind")]
    counted += [(row["application_id"], *letter, row["copies"])
                for row in Attachment.objects.filter(application_id__in=ids).exclude(file="")
                .values("application_id").annotate(copies=Count("id")).order_by("application_id")]
    listed: dict[int, list[dict]] = {}
    for application_id, document, reason, copies in counted:
        listed.setdefault(application_id, []).append({"document": document, "copies": copies, "reason": reason})
    return listed


def register() -> None:
    breach_person_field_register("onboarding.application", "nodal_officer_id")
    breach_person_field_register("onboarding.approvalstep", "application__nodal_officer_id")
    breach_person_field_register("onboarding.applicationdocument", "application__nodal_officer_id")
    breach_person_field_register("onboarding.attachment", "application__nodal_officer_id")
    breach_record_kind_register("onboarding.application", gettext_lazy("onboarding applications"))
    breach_record_kind_register("onboarding.approvalstep", gettext_lazy("decisions on onboarding applications"))
    breach_record_kind_register("onboarding.applicationdocument", gettext_lazy("documents of onboarding applications"))
    breach_record_kind_register("onboarding.attachment", gettext_lazy("documents of onboarding applications"))
    # The pages that show one application (its answers, its letter, its PDFs) or one step of it.
    for route in ("detail", "task_list", "section", "letter", "letter_download", "form_pdf", "approval_letter",
                  "appeal"):
        breach_read_route_register(f"onboarding:{route}", "onboarding.application")
    for route in ("queue_step", "appeal_step"):
        breach_read_route_register(f"onboarding:{route}", "onboarding.approvalstep")
    personal_data_register(PersonalDataSection(name="onboarding_applications", collect=applications_of))
    personal_data_register(PersonalDataSection(name="onboarding_applications_handed_over",
                                               collect=applications_handed_over_from))
