"""Writes to applications. Views, tasks and commands call these; nothing else saves
an application."""

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Case, Q, QuerySet, Value, When
from django.db.models.functions import Concat, Length, Lower, Replace
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm

from onboarding import workflow
from onboarding.application.declarations import declaration_notice
from onboarding.application.forms import REPLY_MAX, SECTION_FORMS, SectionForm, bounded_input, counts_taken
from onboarding.application.selectors import (
    is_officer_of,
    may_withdraw_for_officer,
    officer_eligibility,
    withdrawal_removes_files,
)
from onboarding.application.signals import appeal_left_by_erasure, application_submitted, application_withdrawn
from onboarding.application.uploads import inspect_letter, letter_check_given_back, letter_filename
from onboarding.application.validators import split_domain_list
from onboarding.models import (
    OPEN_STATUSES,
    WITHDRAWN_ACCOUNT_ERASED,
    WITHDRAWN_NOT_CORRECTED,
    Application,
    ApplicationDocument,
    ApplicationStatus,
    ApplicationVersion,
    Attachment,
    AuthorityToken,
    ReferenceCounter,
    Section,
    SectionStatus,
)
from onboarding.notifications import notify_officer
from onboarding.retention import files_remove
from portal.accounts.mail_limits import mailbox_key, same_mailbox
from portal.advisory import advisory_lock
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.limits import refuse_over
from portal.mail.refusals import unknown_mailboxes
from portal.organisations.models import Level, Organisation, OrganisationDomain, OrganisationStatus
from portal.organisations.states import CENTRAL
from portal.permissions import AnyUser
from portal.privacy.models import HoldTarget
from portal.privacy.notice import notice_accept
from portal.privacy.retention import legal_held
from portal.shown import shown_digest
from portal.stored_files import FileNotStored, files_delete_after_commit, files_kept_if_committed
from portal.text import before_full_stop, has_visible_characters, multi_line, single_line


class ApplicationNotEditable(Exception):
    pass


class AnswersChanged(Exception):
    """The page a section or the submission was sent from showed answers that were changed
    since it was opened (in another tab or window): nothing was saved or sent, as that
    would replace, or send, answers the officer did not see."""


class NoticeChanged(Exception):
    """The declarations were ticked on a page showing a data protection notice that is no
    longer the current one (another was published since it was opened): the officer
    accepts only a text they were shown, so nothing was saved."""


def answers_digest(answers: dict | None) -> str:
    """A short digest of a section's stored answers: the section's page sends back the one
    of the answers it showed (``shown_answers``), so that a save from a page opened before
    another tab saved the section is refused instead of replacing the newer answers."""
    return shown_digest(answers)


def status_of_form(form: SectionForm) -> SectionStatus:
    """complete / in_progress (only missing answers: errors with the code "required",
    which fields and SectionForm.require give) / has_errors (any other error: a wrong answer)."""
    if form.is_valid():
        return SectionStatus.COMPLETE
    codes = {error.code for errors in form.errors.as_data().values() for error in errors}
    return SectionStatus.IN_PROGRESS if codes == {"required"} else SectionStatus.HAS_ERRORS


def bound_section_form(application: Application, section: Section, data: dict | None = None) -> SectionForm:
    form_class = SECTION_FORMS[section]
    stored = application.section_data(section) if data is None else data
    return form_class(data=_as_form_data(stored), application=application)


def _as_form_data(stored: dict | None) -> MultiValueDict:
    values = {}
    for key, value in (stored or {}).items():
        if isinstance(value, bool):
            values[key] = ["on"] if value else []
        elif isinstance(value, list):
            values[key] = [str(v) for v in value]
        else:
            values[key] = [value]
    return MultiValueDict(values)


class Incomplete(ValidationError):
    """A submission refused: the sections that stop it (``sections``), each with its
    message (submission_problems)."""

    def __init__(self, problems: list[tuple[Section, str]]) -> None:
        super().__init__([message for _section, message in problems], code="incomplete")
        self.sections = [section for section, _message in problems]


class OfficerNotEligible(ValidationError):
    """The nodal officer's account no longer earns the power to act (its primary
    address is not official, or not verified): checked at every action, not only
    when the application was started."""


def application_lock_for_officer(*, application_id: int, actor: AnyUser, require_eligible: bool = True,
                                 in_service: bool = False) -> Application:
    """The application, locked for this transaction, if ``actor`` is its nodal officer
    and (``require_eligible``) may still act as one (``in_service``: and is still in
    government service, officer_eligibility)."""
    application = Application.objects.select_for_update().get(pk=application_id)
    if not is_officer_of(actor, application):
        raise PermissionDenied
    if require_eligible:
        problem = officer_eligibility(actor, in_service=in_service)
        if problem:
            raise OfficerNotEligible(problem, code="not_eligible")
    return application


# The first of PostgreSQL's two advisory-lock keys: the actions a nodal officer's daily
# limits count, by the mailbox of the account that acts ("OFFR").
OFFICER_MAILBOX_LOCK_NAMESPACE = 0x4F464652


def officer_lock(*, actor: AnyUser) -> None:
    """Lock the officer's row, then their mailbox (mailbox_key: every account of it, "+tag"
    and all), for this transaction: they serialise the actions of theirs that a limit counts
    (starts and open drafts, submissions, new links for an authority), which the limits
    count by that mailbox (same_mailbox), so that two at once, from one account or two of
    one mailbox, cannot both pass it. Taken before an application's row, as an erasure
    takes the officer's row. FOR NO KEY UPDATE: rows written meanwhile that refer to the officer
    (a membership on an approval of another of their applications, an audit event) do not
    wait for it."""
    get_user_model().objects.select_for_update(no_key=True).filter(pk=actor.pk).get()
    advisory_lock(OFFICER_MAILBOX_LOCK_NAMESPACE, mailbox_key(actor.email))


def _check_start_rate(actor: AnyUser, now: datetime) -> None:
    """Each start keeps an application row, its permissions and audit rows, and its
    withdrawal mails the officer, in two languages: at most ONBOARDING_STARTS_PER_DAY in 24
    hours per officer, withdrawn ones included, or ONBOARDING_OPEN_DRAFTS_MAX (open drafts
    only) would let one account start and withdraw without end. Counted by the officer's
    mailbox (same_mailbox): each "+tag" account of it is the same person."""
    started = Application.objects.filter(same_mailbox("nodal_officer__email", actor.email))
    refuse_over(started, "created_at", settings.ONBOARDING_STARTS_PER_DAY, now, _(
        "You have started %(n)s applications in the last 24 hours (from any account of your mailbox: your address "
        "with or without a “+” tag), the most the portal accepts. You can start another from %(when)s; until then, "
        "continue one of your drafts (My applications)."))


START_TOKEN = re.compile(r"[0-9a-f]{32}")
START_TOKEN_SECONDS = 600  # how long a start page's token leads back to the draft it started


def start_token_new() -> str:
    """The one-time token of a start page's form (application_create's ``start_token``)."""
    return uuid.uuid4().hex


def application_create(*, actor: AnyUser, request: HttpRequest | None = None,
                       start_token: str | None = None) -> Application:
    """Start a draft application for a nodal officer (official, verified email required).
    Refused (ValidationError with the code "too_many" or "too_many_drafts") over the
    officer's starts in 24 hours or their open drafts, from every account of their mailbox
    (same_mailbox: "+tag" accounts are the same person).

    ``start_token``: the start page's one-time token (start_token_new). Its second use
    (the form posted twice, by a double click without JavaScript) returns the draft its
    first use started, within START_TOKEN_SECONDS, and starts nothing."""
    problem = officer_eligibility(actor)
    if problem:
        raise ValidationError(problem, code="not_eligible")
    token_key = f"application-start:{actor.pk}:{start_token}" if start_token and START_TOKEN.fullmatch(start_token) else None
    with transaction.atomic():
        # The officer's row and mailbox serialise their starts: each draft may hold a letter of several MB.
        officer_lock(actor=actor)
        # Read under that lock: a second post of the same form waits for the first's commit.
        started = cache.get(token_key) if token_key else None
        if started is not None:
            # Still a draft: one withdrawn since (Back, then Start again) is no start; a new one is made.
            existing = Application.objects.filter(pk=started, nodal_officer=actor, status=ApplicationStatus.DRAFT).first()
            if existing is not None:
                return existing
        # First: withdrawing a draft, as the open drafts' message asks, makes no room for a start.
        _check_start_rate(actor, timezone.now())
        most = settings.ONBOARDING_OPEN_DRAFTS_MAX
        drafts = Application.objects.filter(same_mailbox("nodal_officer__email", actor.email),
                                            status=ApplicationStatus.DRAFT)
        if drafts.count() >= most:
            raise ValidationError(
                _("You have %(count)s draft applications open (from any account of your mailbox: your address with or "
                  "without a “+” tag), the most one officer may have: submit or withdraw one of them (My applications, "
                  "in the account that started it) before starting another.") % {"count": most},
                code="too_many_drafts")
        application = Application.objects.create(
            nodal_officer=actor,
            data={Section.NODAL_OFFICER.value: {"official_email": actor.email, "name": actor.full_name}},
        )
        assign_perm("view_application", actor, application)
        assign_perm("change_application", actor, application)
        audit_record(actor=actor, action=AuditAction.APPLICATION_CREATED, target=application, request=request)
        if token_key:
            # Before the commit: the repeat waiting on the officer's row reads it when the row is free.
            # Should this transaction roll back, the draft it names does not exist, and the repeat starts one.
            cache.set(token_key, application.pk, timeout=START_TOKEN_SECONDS)
    return application


def _keep_as_checked(raw: dict, form: SectionForm) -> None:
    """The answers the draft keeps as ``form`` checked them, not as typed: the short code
    (trimmed, in capitals: what approval makes the organisation's code and what another
    application's code is compared with), and each count it took, as the number it is (one
    typed grouped, "1,50,000", differs from "150000" in nothing the competent authority is
    to be shown as changed)."""
    if "short_code" in getattr(form, "cleaned_data", {}):
        raw["short_code"] = form.cleaned_data["short_code"]
    for name in counts_taken(form):
        raw[name] = str(form.cleaned_data[name])


def application_save_section(
    *, application_id: int, section: Section | str, querydict: QueryDict, actor: AnyUser, request: HttpRequest | None = None,
    shown_answers: str | None = None, shown_notice: str | None = None,
) -> tuple[Application, SectionForm]:
    """Store a section's input as the draft (valid or not) and return (application, form).

    The draft keeps what each field accepts (``bounded_input``); what that changed in
    the input is in ``form.input_changes``, and a warning at each such field.

    ``shown_answers``: the ``answers_digest`` of the answers the page showed; when the
    section's stored answers are no longer those and the input would change them (another
    tab saved it meanwhile), raises AnswersChanged and saves nothing. None: not checked.

    ``shown_notice``: the version of the data protection notice the declarations page
    showed; when the declarations would be accepted and another version is current now,
    raises NoticeChanged and saves nothing. None: not checked."""
    section = Section(section)
    form_class = SECTION_FORMS[section]
    with transaction.atomic():
        application = application_lock_for_officer(application_id=application_id, actor=actor)
        if not application.is_editable:
            raise ApplicationNotEditable
        raw, input_changes = bounded_input(form_class, querydict, application=application)
        if section == Section.NODAL_OFFICER:
            raw["official_email"] = actor.email  # fixed to the verified account address
            input_changes.pop("official_email", None)
        form = form_class(data=_as_form_data(raw), application=application)
        for field, notes in input_changes.items():
            for note in notes:
                form.note_input_change(field, note)
        if section == Section.COMPETENT_AUTHORITY:
            _warn_of_unknown_authority_address(form)
        status = status_of_form(form)
        _keep_as_checked(raw, form)
        old = application.section_data(section)
        changed = sorted(k for k in set(old) | set(raw) if old.get(k) != raw.get(k))
        if changed and shown_answers is not None and shown_answers != answers_digest(old):
            raise AnswersChanged
        old_status = application.status_of(section)
        if not changed and old_status == status:
            if application.status in (ApplicationStatus.DRAFT, ApplicationStatus.CHANGES_REQUESTED):
                # Nothing changed, yet the officer saved it: the reminder of a draft's erasure,
                # or of a returned application's withdrawal, says a save keeps it, and retention
                # reads updated_at. Its activity, not a change: no new version, no audit row.
                application.updated_at = timezone.now()
                Application.objects.filter(pk=application.pk).update(updated_at=application.updated_at)
            return application, form
        application.data = {**application.data, section.value: raw}
        application.section_status = {**application.section_status, section.value: status.value}
        fields = ["data", "section_status", "version", "updated_at"]
        if changed:
            application.version += 1
        if section == Section.ORGANISATION:
            application.organisation_name = (raw.get("name") or "").strip()[:200]
            level, state = raw.get("level"), raw.get("state") or ""
            application.jurisdiction = CENTRAL if level == Level.CENTRAL else state[:10]
            fields += ["organisation_name", "jurisdiction"]
        if section == Section.DECLARATIONS:
            fields += _declarations_record(application, accepted=status == SectionStatus.COMPLETE,
                                           shown_notice=shown_notice, actor=actor, request=request)
        application.save(update_fields=fields)
        _dependents_check(application, section)
        audit_record(
            actor=actor, action=AuditAction.APPLICATION_SECTION_SAVED, target=application, request=request,
            old={"section": section.value, "status": old_status},
            new={"section": section.value, "status": status.value, "changed_fields": changed},
        )
    return application, form


# The sections whose checks read another's answers, by the section they read: the
# competent authority's address is compared with the nodal officer's addresses, and both
# with the domains official for the place in the hierarchy (official_within).
DEPENDENT_SECTIONS = {
    # The authority's address may not be another open application's officer for the same
    # organisation, by its name (CompetentAuthoritySectionForm.clean_official_email).
    Section.ORGANISATION: (Section.COMPETENT_AUTHORITY,),
    Section.NODAL_OFFICER: (Section.COMPETENT_AUTHORITY,),
    Section.HIERARCHY: (Section.NODAL_OFFICER, Section.COMPETENT_AUTHORITY),
}


def _dependents_check(application: Application, saved: Section) -> None:
    """Once ``saved`` is stored, the status of each section whose checks read it
    (DEPENDENT_SECTIONS) and that was saved (not one never opened, though it may hold what
    the portal filled in for the officer), worked out again as its own save would (and as
    the submission checks it): the task list says what the submission will find."""
    statuses = dict(application.section_status)
    for section in DEPENDENT_SECTIONS.get(saved, ()):
        if application.status_of(section) != SectionStatus.NOT_STARTED and application.section_data(section):
            statuses[section.value] = status_of_form(bound_section_form(application, section)).value
    if statuses != application.section_status:
        application.section_status = statuses
        application.save(update_fields=["section_status"])


def _authority_address_refused(address: str) -> str | None:
    """The day (as the portal writes one: "8 May 2026") the mail relay last refused
    ``address`` as a mailbox that does not exist, while that refusal stands (no mail is
    offered to it: portal/mail/refusals.py); else None."""
    record = unknown_mailboxes([address]).get(address) if address else None
    return date_format(timezone.localtime(record.last_refused_at), "j M Y") if record else None


def _warn_of_unknown_authority_address(form: SectionForm) -> None:
    """Advice at the competent authority's address, when it is one the relay refused as
    unknown: a submission naming it will be refused (``application_submit``). Advice, not a
    refusal: the officer may save the section knowing the mailbox has been set up since."""
    address = form.cleaned_data.get("official_email") if form.is_valid() else None
    day = _authority_address_refused(address or "")
    if day:
        form.warn("official_email", _(
            "The mail server refused %(email)s on %(day)s as an address that does not exist: the application cannot "
            "be submitted to it. Check the address with the competent authority's office. If it is right and its "
            "mailbox has been set up since, ask the portal's superadmins to lift the refusal.")
            % {"email": address, "day": day})


def _declarations_record(
    application: Application, *, accepted: bool, shown_notice: str | None, actor: AnyUser, request: HttpRequest | None
) -> list[str]:
    """Record on ``application`` (not saved) whether the declarations are accepted and, if
    so, of which notice, recorded as the officer's acceptance too; the fields changed.
    Raises NoticeChanged when ``shown_notice`` is not the current notice's version."""
    notice = declaration_notice() if accepted else None
    if notice is not None and shown_notice is not None and shown_notice != notice.version:
        raise NoticeChanged
    if notice is not None and notice.notice_id is not None:
        notice_accept(user=actor, notice_id=notice.notice_id, request=request)
    application.declarations_version = notice.version if accepted else ""
    application.declarations_accepted_at = timezone.now() if accepted else None
    return ["declarations_version", "declarations_accepted_at"]


def attachment_upload(
    *, application_id: int, uploaded: UploadedFile, actor: AnyUser, request: HttpRequest | None = None
) -> Attachment:
    """Check and store the signed authorisation letter; the previous one stops being
    current. A previous one that was never sent for a decision (uploaded after the last
    submission, or with none yet) is removed, file and all: nobody decided on it, and an
    officer replacing a draft's letter again and again would otherwise fill the disk.
    One that was sent is kept, as what that decision was made on. Refused (ValidationError,
    code "too_many") past the officer's LETTER_CHECKS_PER_HOUR checks (inspect_letter); and
    (code "not_stored", nothing changed, the check not counted) when the storage cannot
    take the file (a full disk, an object store out of reach)."""
    content, content_type, sha256, pages = inspect_letter(uploaded, actor=actor)
    try:
        # The file is written before the rows: if the transaction fails, it is deleted.
        with files_kept_if_committed() as files:
            application = application_lock_for_officer(application_id=application_id, actor=actor)
            if not application.is_editable:
                raise ApplicationNotEditable
            replaced = _letters_replace(application)
            # The uploaded name (say "पत्र.exe") is kept only as a record, without control or
            # bidi characters; the file is stored and served as "<reference>-letter.<type>".
            attachment = Attachment(
                application=application, original_name=single_line(uploaded.name or "").strip()[:255] or "letter",
                content_type=content_type, size=len(content), sha256=sha256, pages=pages, uploaded_by=actor,
            )
            files.save(attachment.file, letter_filename(application, content_type), ContentFile(content))
            attachment.save()
            application.section_status = {
                **application.section_status, Section.AUTHORISATION_LETTER.value: SectionStatus.COMPLETE.value
            }
            application.version += 1
            application.save(update_fields=["section_status", "version", "updated_at"])
            audit_record(
                actor=actor, action=AuditAction.APPLICATION_ATTACHMENT_UPLOADED, target=application, request=request,
                old=replaced, new={"sha256": sha256, "size": len(content), "content_type": content_type, "pages": pages,
                                   "name": attachment.original_name},
            )
    except FileNotStored:  # rolled back: the draft as it was
        letter_check_given_back(actor)
        raise ValidationError(_("The letter could not be stored just now, through no fault of the file: nothing was "
                                "changed. Try again later."), code="not_stored") from None
    return attachment


def _letters_replace(application: Application) -> dict:
    """The current letter stops being current; removed when no decision was asked on it
    and neither the application nor its officer is under a legal hold. Returns what the
    upload's audit row says of it: {"sha256": ..., "size": ..., "content_type": ...,
    "pages": ..., "name": ..., "removed": bool}, or {} with none."""
    submitted_at = application.versions.order_by("-number").values_list("created_at", flat=True).first()
    held = None  # asked once, when a letter would be removed
    replaced: dict = {}
    for old in Attachment.objects.filter(application=application, is_current=True):
        sent = submitted_at is not None and old.uploaded_at <= submitted_at
        if not sent and held is None:
            held = legal_held((HoldTarget.APPLICATION, application.pk), (HoldTarget.PERSON, application.nodal_officer_id))
        replaced = {"sha256": old.sha256, "size": old.size, "content_type": old.content_type, "pages": old.pages,
                    "name": old.original_name, "removed": not (sent or held)}
        if sent or held:
            Attachment.objects.filter(pk=old.pk).update(is_current=False)
            continue
        files_delete_after_commit([(old.file.storage, old.file.name)])
        old.delete()
    return replaced


def _draft_files_remove(application: Application) -> dict:
    """A draft's letters and form PDFs are removed (onboarding.retention.files_remove: rows
    now, files after the commit), when withdrawal_removes_files says so (the withdraw page
    asks it too): not under a legal hold. Returns what was removed, for the audit row:
    {"letters_removed": [sha256...], "form_pdfs_removed": count}, or {}."""
    if not withdrawal_removes_files(application):
        return {}
    letters = list(Attachment.objects.filter(application=application).order_by("pk").values_list("sha256", flat=True))
    documents = ApplicationDocument.objects.filter(application=application).count()
    if not (letters or documents):
        return {}
    files_remove([application.pk])
    return {"letters_removed": letters, "form_pdfs_removed": documents}


def submission_problems(application: Application) -> list[tuple[Section, str]]:
    """Sections that stop submission, re-checked on the server: [(section, message)]."""
    problems = []
    for section in SECTION_FORMS:
        form = bound_section_form(application, section)
        if not form.is_valid():
            problems.append((section, _("%(section)s is not complete.") % {"section": section.label}))
    has_letter = Attachment.objects.filter(application=application, is_current=True).exists()
    if not has_letter:
        problems.append((Section.AUTHORISATION_LETTER, _("Upload the signed authorisation letter.")))
    return problems


def section_statuses_recheck(*, application_id: int, actor: AnyUser, sections: Iterable[Section]) -> None:
    """After a submission refused as incomplete (Incomplete): the stored status of each of
    ``sections`` worked out again from its answers as they stand. Something outside the form
    may have changed since they were saved (its short code taken by another organisation, a
    domain no longer official, the parent suspended): the task list then says what the check
    page says, not "Complete". Nothing else changes (the answers, the version)."""
    with transaction.atomic():
        application = application_lock_for_officer(application_id=application_id, actor=actor, require_eligible=False)
        statuses = dict(application.section_status)
        for section in sections:
            if section in SECTION_FORMS:
                statuses[section.value] = status_of_form(bound_section_form(application, section)).value
        if statuses != application.section_status:
            Application.objects.filter(pk=application.pk).update(section_status=statuses)


def _next_reference(year: int) -> str:
    counter, _created = ReferenceCounter.objects.select_for_update().get_or_create(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"ONB-{year}-{counter.last:06d}"


def _check_submission_rate(actor: AnyUser, now: datetime) -> None:
    """Each submission mails a competent authority the officer named, with what they
    typed: at most ONBOARDING_SUBMISSIONS_PER_DAY in 24 hours per officer (resubmissions
    included), or anyone with an official address could make the portal mail any official
    address again and again (submit, withdraw, submit). Counted by the officer's mailbox
    (same_mailbox): each "+tag" account of it is the same person."""
    sent = ApplicationVersion.objects.filter(same_mailbox("application__nodal_officer__email", actor.email))
    refuse_over(sent, "created_at", settings.ONBOARDING_SUBMISSIONS_PER_DAY, now, _(
        "You have sent %(n)s applications for approval in the last 24 hours (from any account of your mailbox: your "
        "address with or without a “+” tag), the most the portal accepts: each one emails its competent authority. "
        "You can send this one from %(when)s."))


# The first of PostgreSQL's two advisory-lock keys: the requests for a decision mailed to
# one competent authority's mailbox ("AUTH").
AUTHORITY_MAILBOX_LOCK_NAMESPACE = 0x41555448
# The codes of the refusals of authority_mailbox_check: the mailbox's day used up, the
# officer's own share of it used up.
AUTHORITY_MAILBOX_FULL = "authority_mailbox_full"
AUTHORITY_SHARE_FULL = "authority_share_full"
# The code of a submission refused because the mail relay refused its authority's address
# as unknown.
AUTHORITY_ADDRESS_UNKNOWN = "authority_address_unknown"
# The refusals of a submission that are said at the competent authority's address.
REFUSED_AT_AUTHORITY_ADDRESS = (AUTHORITY_MAILBOX_FULL, AUTHORITY_SHARE_FULL, AUTHORITY_ADDRESS_UNKNOWN)


def authority_mailbox_check(*, address: str, officer: AnyUser, now: datetime, message: str,
                            share_message: str) -> None:
    """Refuse (ValidationError, ``message`` or ``share_message`` as refuse_over has them)
    another request for a decision to ``address`` asked for by the nodal officer ``officer``
    (a submission, a new link) when its mailbox, however the address is written
    (mailbox_key), was sent in the 24 hours before ``now``:

    - ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY links asked for by ``officer``, from
      any account of their mailbox (same_mailbox: "+tag" accounts are the same person)
      (``share_message``, code AUTHORITY_SHARE_FULL): one officer alone, within their own
      limits (ONBOARDING_SUBMISSIONS_PER_DAY), cannot use the mailbox's whole day and lock
      every other officer naming that authority out; that takes several official mailboxes;
    - ONBOARDING_AUTHORITY_MAILS_PER_DAY links asked for, whichever officers asked
      (``message``, code AUTHORITY_MAILBOX_FULL): a gov.in mailbox flooded with the portal's
      mail gets its relay blocked by NIC's mail servers.

    The deadline sweep's reminders (AuthorityToken.reminder) count in neither: the portal's
    own mail, one a step, bounded by the steps open.

    Takes the mailbox's lock first, held until the transaction ends, in which the caller
    writes the link it mails: two requests to one mailbox at once cannot both pass its last
    slot. Taken after the officer's and the application's rows, before the reference counter
    and the audit chain."""
    mailbox = mailbox_key(address)
    advisory_lock(AUTHORITY_MAILBOX_LOCK_NAMESPACE, mailbox)
    asked = AuthorityToken.objects.filter(mailbox=mailbox, reminder=False)
    refuse_over(asked.filter(same_mailbox("step__application__nodal_officer__email", officer.email)), "created_at",
                settings.ONBOARDING_AUTHORITY_MAILS_PER_OFFICER_PER_DAY, now, share_message, code=AUTHORITY_SHARE_FULL)
    refuse_over(asked, "created_at", settings.ONBOARDING_AUTHORITY_MAILS_PER_DAY, now, message,
                code=AUTHORITY_MAILBOX_FULL)


REPLY_REQUIRED = "reply_required"


def application_submit(
    *, application_id: int, actor: AnyUser, request: HttpRequest | None = None, shown_version: int | None = None,
    reply: str = "",
) -> Application:
    """Send a complete application for approval: it gets its reference and becomes read-only.
    Refused (ValidationError) when the mail relay refused its authority's address as one
    that does not exist (AUTHORITY_ADDRESS_UNKNOWN: the request would never be offered to
    it, and a submitted application's address cannot be changed), over the officer's
    submissions in 24 hours (code "too_many"), or over the requests for a decision its
    authority's mailbox was sent, by this officer (AUTHORITY_SHARE_FULL) or by all
    (AUTHORITY_MAILBOX_FULL).

    ``shown_version``: the application's ``version`` that the check page showed; when it
    has changed since (an answer or the letter changed in another tab), raises
    AnswersChanged and sends nothing: the officer confirms what they saw. None: not checked.

    ``reply``: sending a returned application again, the officer's answer to the remarks
    it was returned with (what they changed and why), kept with the new version and in its
    audit row; required then (REPLY_REQUIRED: one of only invisible characters is none),
    at most REPLY_MAX characters. Ignored on a first submission: there are no remarks."""
    with transaction.atomic():
        officer_lock(actor=actor)  # two of their drafts sent at once cannot both pass the daily limit
        application = application_lock_for_officer(application_id=application_id, actor=actor, in_service=True)
        event = workflow.Event.RESUBMIT if application.status == ApplicationStatus.CHANGES_REQUESTED else workflow.Event.SUBMIT
        workflow.next_status(application.status, event)  # raises InvalidTransition before anything changes
        if shown_version is not None and shown_version != application.version:
            raise AnswersChanged
        problems = submission_problems(application)
        if problems:
            raise Incomplete(problems)
        reply = multi_line((reply or "").strip()).strip() if event == workflow.Event.RESUBMIT else ""
        if event == workflow.Event.RESUBMIT and not has_visible_characters(reply):
            raise ValidationError(_("Reply to the remarks the application was returned with: say what you changed "
                                    "and why."), code=REPLY_REQUIRED)
        if len(reply) > REPLY_MAX:
            raise ValidationError(_("Keep your reply to %(n)s characters.") % {"n": REPLY_MAX}, code=REPLY_REQUIRED)
        address = application.section_data(Section.COMPETENT_AUTHORITY).get("official_email") or ""
        refused_on = _authority_address_refused(address)
        if refused_on:
            raise ValidationError(_(
                "The mail server refused %(email)s on %(day)s as an address that does not exist: nothing was submitted, "
                "and your answers are kept. Check the address with the competent authority's office and correct it "
                "here. If it is right and its mailbox has been set up since, ask the portal's superadmins to lift the "
                "refusal; you can then submit the application.") % {"email": address, "day": refused_on},
                code=AUTHORITY_ADDRESS_UNKNOWN)
        now = timezone.now()
        _check_submission_rate(actor, now)
        authority_mailbox_check(
            address=address, officer=actor, now=now,
            message=_("The portal has sent this address %(n)s requests for a decision in the last 24 hours, the most "
                      "one mailbox may receive: nothing was submitted, and your answers are kept. You can submit the "
                      "application from %(when)s."),
            share_message=_("You have sent this address %(n)s requests for a decision in the last 24 hours (from any "
                            "account of your mailbox: your address with or without a “+” tag), the most one nodal "
                            "officer may send one mailbox: nothing was submitted, and your answers are kept. You can "
                            "submit the application from %(when)s."))
        old_status, new_status = workflow.advance(application, event)
        if not application.reference:
            # The year of the portal's own calendar (TIME_ZONE), not of UTC: an application
            # submitted on 1 January in India belongs to the new year.
            application.reference = _next_reference(timezone.localdate(now).year)
        application.submitted_at = now
        # A new version of the filled form: it now carries its reference and is no longer
        # a draft, so a PDF rendered before submission must not be served for it.
        application.version += 1
        application.save(update_fields=["status", "reference", "submitted_at", "version", "updated_at"])
        number = application.versions.count() + 1
        ApplicationVersion.objects.create(application=application, number=number, data=application.data,
                                          form_version=application.version, reply=reply)
        action = AuditAction.APPLICATION_RESUBMITTED if event == workflow.Event.RESUBMIT else AuditAction.APPLICATION_SUBMITTED
        audit_record(
            actor=actor, action=action, target=application, request=request,
            old={"status": old_status}, new={"status": new_status, "reference": application.reference, "version": number,
                                             **({"reply": reply} if reply else {})},
        )
        application_submitted.send(sender=Application, application=application, actor=actor, request=request)
    return application


def application_withdraw(
    *, application_id: int, actor: AnyUser, reason: str = "", request: HttpRequest | None = None
) -> Application:
    """The nodal officer withdraws the application; or, their account closed (they can no
    longer sign in), a superadmin or a state administrator of its jurisdiction does on
    their behalf (``may_withdraw_for_officer``; the audit row and those it waited on say
    so). A draft never sent for a decision
    loses its letters and form PDFs at once, files and all (the audit row lists them):
    nobody decided on them, and only open drafts count towards ONBOARDING_OPEN_DRAFTS_MAX,
    so an officer starting, uploading and withdrawing again and again would otherwise
    fill the disk until retention. One that was sent keeps them, as what its decisions
    were made on; so does everything while the application or its officer is under a
    legal hold."""
    with transaction.atomic():
        application = (Application.objects.select_for_update(of=("self",)).select_related("nodal_officer")
                       .get(pk=application_id))
        for_officer = not is_officer_of(actor, application)
        if for_officer and not may_withdraw_for_officer(actor, application):
            raise PermissionDenied
        _withdraw(application, actor=actor, request=request, for_officer=for_officer,
                  recorded={"reason": reason[:500], **({"for_officer": True} if for_officer else {})})
    return application




def applications_withdraw_on_erasure(*, user: AnyUser) -> list[int]:
    """The person's applications sent for a decision and still open (with the competent
    authority, returned for correction, with the state administrators) are withdrawn as
    their account is erased (onboarding.erasure, under the account's lock): nobody could
    act on them any more, and their links and queues would go on asking for decisions
    that could never make anyone the organisation's admin. By the withdrawal's own path
    (the open step closed, its links void, whoever it waited on told), by the system,
    its audit row saying why; the officer is not told (their account and its mail go).
    One under appeal cannot be withdrawn, and its appeal could only be upheld now
    (overturning would make the closed account its admin): the approval routing closes
    it so, as the system's decision (``appeal_left_by_erasure``). Returns their ids."""
    applications = list(Application.objects.select_for_update().filter(
        nodal_officer=user,
        status__in=(set(workflow.WITHDRAWABLE) - {ApplicationStatus.DRAFT}) | {ApplicationStatus.UNDER_APPEAL},
    ).order_by("pk"))
    for application in applications:
        if application.status == ApplicationStatus.UNDER_APPEAL:
            appeal_left_by_erasure.send(sender=Application, application=application)
        else:
            _withdraw(application, actor=None, recorded={"reason": WITHDRAWN_ACCOUNT_ERASED}, for_officer=True)
    return [application.pk for application in applications]


def applications_withdraw_not_corrected(*, application_ids: list[int]) -> list[int]:
    """Withdraw, by the system, these applications returned for correction and left so past
    the day their officer's reminder named (the retention run's rule for them,
    onboarding.application.returned, which holds their rows locked): by the withdrawal's
    own path, as their officer would have (the audit row, its reason saying why; their
    links void; their files kept, as what their decisions were made on), and the officer
    told why. A returned application waits on nobody (its step is decided), so nobody
    else is told. One no longer returned for correction is left alone. Returns the ids
    withdrawn."""
    applications = list(Application.objects.select_for_update(of=("self",)).select_related("nodal_officer").filter(
        pk__in=application_ids, status=ApplicationStatus.CHANGES_REQUESTED).order_by("pk"))
    for application in applications:
        _withdraw(application, actor=None, recorded={"reason": WITHDRAWN_NOT_CORRECTED},
                  officer_mail="withdrawn_not_corrected")
    return [application.pk for application in applications]


def _withdraw(application: Application, *, actor: AnyUser | None, recorded: dict, request: HttpRequest | None = None,
              for_officer: bool = False, officer_mail: str | None = None) -> None:
    """Withdraw ``application`` (locked by the caller): closed now; a draft never sent
    loses its files (``_draft_files_remove``); the audit row, with ``recorded`` (why), by
    ``actor`` (None: the system); the officer told when someone acted ("withdrawn"), or
    with ``officer_mail`` when the system did and says why; and the approval routing
    closes its open step (``application_withdrawn``). ``for_officer``: withdrawn on the
    nodal officer's behalf, not by them (those it waited on are told so)."""
    old_status, new_status = workflow.advance(application, workflow.Event.WITHDRAW)
    application.closed_at = timezone.now()
    application.save(update_fields=["status", "closed_at", "updated_at"])
    removed = _draft_files_remove(application)
    audit_record(
        actor=actor, action=AuditAction.APPLICATION_WITHDRAWN, target=application, request=request,
        actor_role="" if actor is not None else "system",
        old={"status": old_status}, new={"status": new_status, **recorded, **removed},
    )
    if actor is not None or officer_mail:
        notify_officer(application=application, template=officer_mail or "withdrawn")
    application_withdrawn.send(sender=Application, application=application, actor=actor, request=request,
                               for_officer=for_officer)


_STOPWORDS = {"of", "the", "and", "for", "department", "dept", "office", "ministry", "government", "govt", "directorate",
              "india"}


def _significant_words(name: str | None) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", (name or "").lower()) if len(w) > 2 and w not in _STOPWORDS]


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter changed, added, dropped, or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [i for i in range(len(a)) if a[i] != b[i]]
        return len(differ) == 1 or (len(differ) == 2 and differ[1] == differ[0] + 1
                                    and a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


# The shortest word in which names_alike forgives a typing slip.
SLIP_MIN = 5


def names_alike(name: str | None, other: str | None) -> bool:
    """Whether two organisation names are very likely the same organisation: the same
    significant words (leaving out "of", "department", "directorate" ...), in any order,
    each the same or a typing slip apart (one letter, in words of five letters or more).
    "Directorate of Agricultures Maharashtra" is like "Agriculture Directorate,
    Maharashtra"; "Horticulture" is not "Agriculture", and an office whose name adds a
    word to its parent's ("... Pune") is not its parent."""
    words, others = _significant_words(name), _significant_words(other)
    if not words or len(words) != len(others):
        return False
    remaining = list(others)
    for word in words:
        if word in remaining:
            remaining.remove(word)
    unmatched = [word for word in words if word not in others]
    for word in unmatched:
        slip = next((o for o in remaining if min(len(word), len(o)) >= SLIP_MIN and _one_edit_apart(word, o)), None)
        if slip is None:
            return False
        remaining.remove(slip)
    return True


def duplicate_warnings(application: Application, *, details: bool = False) -> list[str]:
    """Advice, not a block: organisations (public names) or open applications that
    look like this one. The officer is not told another applicant's reference or
    name (``details`` False); the state administrators' review is (True)."""
    organisation = application.section_data(Section.ORGANISATION)
    name = (organisation.get("name") or "").strip()
    domains = split_domain_list((organisation.get("email_domains") or "").lower())
    warnings = _same_domain_warnings(application, domains) + _similar_name_warnings(application, name)
    if details:
        return [text for text, _anonymous in warnings]
    return list(dict.fromkeys(anonymous or text for text, anonymous in warnings))


# The officer's advice is kept this long for the same answers: the task list shows it at
# every visit (four queries, about half of that page's time), and it is advice that the
# state administrators' review (details=True) computes afresh.
DUPLICATE_ADVICE_SECONDS = 120


def duplicate_advice(application: Application) -> list[str]:
    """``duplicate_warnings`` without details, as the officer is shown it: kept in the cache
    for DUPLICATE_ADVICE_SECONDS per application, answers it depends on (name, domains,
    parent) and language, so an answer changed is looked up afresh."""
    organisation = application.section_data(Section.ORGANISATION)
    basis = json.dumps([application.pk, application.created_at.isoformat(), application.organisation_id,
                        organisation.get("name"), organisation.get("email_domains"), _chosen_parent_id(application),
                        get_language()])
    key = "onboarding:duplicate-advice:" + hashlib.sha256(basis.encode()).hexdigest()
    advice = cache.get(key)
    if advice is None:
        advice = duplicate_warnings(application)
        cache.set(key, advice, DUPLICATE_ADVICE_SECONDS)
    return advice


def _same_domain_warnings(application: Application, domains: list[str]) -> list[tuple[str, str | None]]:
    """Organisations and open applications that already use one of ``domains``, each as
    (the warning with details, the same without another applicant's details or None)."""
    if not domains:
        return []
    # An active organisation is named to the officer too (its name is public); another is not.
    warnings = [
        (_("An organisation using the same email domain is already on Sandes: %(name)s.")
         % {"name": before_full_stop(org_name)},
         None if status == OrganisationStatus.ACTIVE else _("Another organisation on Sandes uses the same email domain."))
        for org_name, status in (
            OrganisationDomain.objects.filter(domain__in=domains)
            .values_list("organisation__name", "organisation__status").distinct()[:5]
        )
    ]
    same_domain = (
        Application.objects.filter(pk__in=_submitted_matching("data__organisation__email_domains", domains[:5]),
                                   status__in=OPEN_STATUSES, reference__isnull=False)
        .exclude(pk=application.pk)
        .values_list("reference", "organisation_name", "data__organisation__email_domains")[:50]
    )
    for reference, other, other_domains in same_domain:
        listed = set(split_domain_list((other_domains or "").lower()))
        if listed & set(domains):
            warnings.append((
                _("An open application (%(ref)s, %(name)s) lists the same email domain.") % {"ref": reference, "name": other},
                _("Another open application lists the same email domain. If it is for your organisation, agree with "
                  "your colleagues which application goes ahead; the state administrators will see both."),
            ))
    return warnings


# The most of a name's significant words the candidates for names_alike are narrowed by.
ALIKE_WORDS_MAX = 8


def _maybe_alike_q(field: str, words: list[str]) -> Q:
    """Names in ``field`` that may be alike (names_alike) a name whose significant words
    are ``words``: each word is in them, in any case, or, a word of SLIP_MIN letters or
    more (where a typing slip is forgiven), the letters before its middle one or those
    after it (a letter changed, added or dropped, or two neighbours swapped, leaves one
    side whole). All the words, not any one of them: a word many names share (the
    state's, "Maharashtra") then does not fill the candidates with names that cannot be
    alike. The first ALIKE_WORDS_MAX words: the statement's size is known, and fewer
    words only narrow less."""
    query = Q()
    for word in words[:ALIKE_WORDS_MAX]:
        if len(word) >= SLIP_MIN:
            middle = (len(word) - 1) // 2
            query &= Q(**{f"{field}__icontains": word[:middle]}) | Q(**{f"{field}__icontains": word[middle + 1:]})
        else:
            query &= Q(**{f"{field}__icontains": word})
    return query


# What separates the words of names as they are written (_significant_words splits at any
# character but a-z and 0-9): _significant_length reads each as a space. A few: SQLite's
# parser takes about 25 nested functions, and each is one more.
_NAME_SEPARATORS = (",", ".", "-", "(", ")", "&", "/")


def _significant_length(field: str) -> Length:
    """About the length of the significant words (_significant_words) of the name in
    ``field``: its length in lower case less its separators, its words "of",
    "department", "directorate" ... and its spaces (a word of one or two letters, or a
    character other than those separators, still counted). The candidates for names_alike
    are taken in this order: names alike have the same significant words, so about this
    same length, whatever the words left out ("Department of Water Resources, Government
    of Maharashtra" is the length of "Water Resources Department, Maharashtra"), and a
    name holding every word of this one and another of its own (a sub-office's
    "Sub-Division 001") is longer by that word. Its length as written put the department
    behind its own sub-offices, shorter in words left out, past the candidates compared.
    Plain string functions, on any database: about a microsecond a name on PostgreSQL."""
    text = Concat(Value(" "), Lower(field), Value(" "))
    for mark in _NAME_SEPARATORS:
        text = Replace(text, Value(mark), Value(" "))
    for word in sorted(_STOPWORDS):
        text = Replace(text, Value(f" {word} "), Value(" "))
    return Length(Replace(text, Value(" "), Value("")))


def _submitted_matching(field: str, texts: list[str]) -> QuerySet:
    """The ids of submitted applications whose ``field`` contains one of ``texts`` (any
    case): one query per text joined by UNION ALL, each of which the trigram index on
    the field (submitted applications only, migration 0006) answers. Written as one
    condition with OR, PostgreSQL estimates the index's cost per text too high and
    reads every application instead (9-18 ms at 10,000 applications, against 2-3 ms)."""
    parts = [Application.objects.filter(reference__isnull=False, **{f"{field}__icontains": text}).values("pk")
             for text in texts]
    return parts[0].union(*parts[1:], all=True)


def _chosen_parent_id(application: Application) -> int | None:
    hierarchy = application.section_data(Section.HIERARCHY)
    if hierarchy.get("parent_choice") != "existing":
        return None
    try:
        return int(hierarchy.get("parent") or 0) or None
    except (TypeError, ValueError):
        return None


def _similar_name_warnings(application: Application, name: str) -> list[tuple[str, str | None]]:
    """Organisations and open applications whose names are very like ``name``, as
    (with details, without another applicant's details or None)."""
    words = _significant_words(name)
    if not words:
        return []

    def similar(other: str | None) -> bool:
        return names_alike(name, other)

    # The organisation's own parent (chosen in the hierarchy section) and those above it
    # are where it belongs, not a duplicate: read in the same query (first), and left out.
    # The shortest in significant words first: alike, a name has the same ones as this one.
    parent_id = _chosen_parent_id(application)
    rows = list(Organisation.objects.filter(_maybe_alike_q("name", words) | Q(pk=parent_id or 0))
                .order_by(Case(When(pk=parent_id or 0, then=Value(0)), default=Value(1)), _significant_length("name"),
                          Length("name"), "pk")
                .values_list("pk", "name", "ancestry", "status")[:201])
    above = {pk for pk, _name, _ancestry, _status in rows if pk == parent_id}
    for pk, _name, ancestry, _status in rows:
        if pk == parent_id:
            above.update(int(part) for part in ancestry.strip("/").split("/") if part)
    if application.organisation_id:
        above.add(application.organisation_id)
    # An active organisation is named to the officer too (its name is public); another is not.
    warnings = [
        (_("An organisation with a very similar name is already on Sandes: %(name)s.") % {"name": before_full_stop(other)},
         None if status == OrganisationStatus.ACTIVE else _("Another organisation on Sandes has a very similar name."))
        for pk, other, _ancestry, status in rows
        if pk not in above and similar(other)
    ]
    open_applications = (
        Application.objects.filter(_maybe_alike_q("organisation_name", words), status__in=OPEN_STATUSES,
                                   reference__isnull=False)
        .exclude(pk=application.pk)
        .order_by(_significant_length("organisation_name"), Length("organisation_name"), "pk")
        .values_list("reference", "organisation_name")[:200]
    )
    for reference, other in open_applications:
        if similar(other):
            warnings.append((
                _("An open application (%(ref)s) has a very similar name: %(name)s.") % {"ref": reference,
                                                                                      "name": before_full_stop(other)},
                _("Another open application has a very similar organisation name. If it is for your organisation, "
                  "agree with your colleagues which application goes ahead; the state administrators will see both."),
            ))
    return warnings
