from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onboarding import workflow
from onboarding.application import pdf, services
from onboarding.application.declarations import declaration_notice
from onboarding.application.forms import (
    SECTION_FORMS,
    AttachmentForm,
    ResubmitReplyForm,
    WithdrawReasonForm,
    bounded_input,
)
from onboarding.application.selectors import (
    application_for_officer,
    application_for_viewer,
    application_timeline,
    correction_deadline,
    current_letter,
    is_officer_of,
    last_return,
    may_withdraw_for_officer,
    officer_eligibility,
    officer_overview,
    stores_form_pdfs,
    withdrawal_removes_files,
)
from onboarding.application.summary import application_summary, display_value
from onboarding.application.uploads import letter_filename
from onboarding.models import ApplicationStatus, Attachment, Section, SectionStatus
from portal.access import asked_on_this_site, pop_pending_input, rule
from portal.downloads import content_response, stored_file_response
from portal.organisations.selectors import PICKER_LIMIT, first_found, organisation_search, picker_query

SECTION_ORDER = list(Section)
# The reply to the remarks typed on a submission refused at the authority's address (the
# officer goes to the competent authority's section from there): {"application": pk, "reply": text},
# put back in its box on the check page until the application is sent.
SESSION_REPLY = "onboarding:reply"


def _next_section(section):
    index = SECTION_ORDER.index(section)
    return SECTION_ORDER[index + 1] if index + 1 < len(SECTION_ORDER) else None


@rule("authenticated")
@require_http_methods(["GET", "POST"])
def start(request):
    problem = drafts_problem = ""
    if request.method == "POST":
        # application_create checks the officer's eligibility itself: checking here first would do it twice.
        try:
            application = services.application_create(
                actor=request.user, request=request, start_token=request.POST.get("start_token"))
        except ValidationError as exc:
            if exc.code in ("too_many", "too_many_drafts"):  # eligible: its own message, not the eligibility box
                drafts_problem = exc.messages[0]
            else:
                problem = exc.messages[0]
        else:
            messages.success(
                request, _("Your application has been started. Fill the sections in any order; each is saved on its own.")
            )
            return redirect("onboarding:task_list", pk=application.pk)
    else:
        problem = officer_eligibility(request.user)
    # A one-time token: the form posted twice (a double click without JavaScript) starts one draft.
    context = {"problem": problem, "drafts_problem": drafts_problem, "start_token": services.start_token_new()}
    return render(request, "onboarding/start.html", context)


@rule("authenticated")
@require_http_methods(["GET"])
def my_applications(request):
    applications, problem = officer_overview(request.user)  # on PostgreSQL in one round trip
    context = {"applications": applications, "problem": problem}
    return render(request, "onboarding/my_applications.html", context)


def _task_rows(application):
    return [{"section": section, "status": SectionStatus(application.status_of(section))} for section in Section]


@rule("nodal_officer_of_application")
@require_http_methods(["GET"])
def task_list(request, pk):
    application = application_for_officer(request.user, pk)
    rows = _task_rows(application)
    completed = sum(row["status"] == SectionStatus.COMPLETE for row in rows)
    return render(
        request,
        "onboarding/task_list.html",
        {
            "application": application,
            "rows": rows,
            "all_complete": completed == len(rows),
            "completed": completed,
            "warnings": services.duplicate_advice(application) if application.is_editable else [],
            "returned": last_return(application),
            **_correction_deadline(application),
            # Sent for a decision (or closed): why nothing can be changed now, not "come back later".
            "closed": None if application.is_editable else _closed_message(application.status),
        },
    )


def _correction_deadline(application):
    """Returned for correction: the day before which it must be submitted again, or be
    withdrawn; once that day has come (the run not there yet), that the next run may
    withdraw it, never "before" a day gone."""
    deadline = correction_deadline(application)
    overdue = deadline is not None and deadline <= timezone.localdate()
    return {"correction_deadline": None if overdue else deadline, "correction_overdue": overdue}


def _not_eligible_to_submit(request, pk):
    """The answer when the officer may not submit (None while they may): one no longer in
    government service (officer_eligibility's ``in_service``) may still change the draft, and
    is told only that they cannot submit it, on its task list."""
    problem = officer_eligibility(request.user, in_service=True)
    if not problem:
        return None
    if officer_eligibility(request.user) is None:
        messages.error(request, _("You cannot submit this application: %(problem)s") % {"problem": problem})
        return redirect("onboarding:task_list", pk=pk)
    return _not_eligible(request, pk, problem)


def _not_eligible(request, pk, problem):
    """The officer may no longer act (their address stopped being official...): say why,
    on the application's read-only page."""
    messages.error(request, _("You can no longer change, submit or send links for this application.") + " " + problem)
    return redirect("onboarding:detail", pk=pk)


def _closed_message(status, *, submitting=False):
    """Why an application that is no longer a draft cannot be changed (or submitted), from
    its status: a draft withdrawn without ever being sent was never "submitted"."""
    closed = {
        ApplicationStatus.WITHDRAWN: _("This application was withdrawn and can no longer be changed or sent for approval."),
        ApplicationStatus.REJECTED: _("This application was rejected and can no longer be changed."),
        ApplicationStatus.REJECTED_FINAL: _("This application was rejected and can no longer be changed."),
        ApplicationStatus.UNDER_APPEAL: _("This application is under appeal and can no longer be changed."),
        ApplicationStatus.APPROVED: _("This application was approved and can no longer be changed."),
    }
    if status in closed:
        return closed[status]
    if submitting:  # with the competent authority or the state administrators
        return _("This application has already been submitted.")
    return _("This application has been submitted and can no longer be changed.")


def _not_editable(request, application, *, submitting=False):
    """Back to the application's page, saying why it cannot be changed now, from its status
    (``application`` read after the refusal: another tab may have submitted or withdrawn it)."""
    messages.info(request, _closed_message(application.status, submitting=submitting))
    return redirect("onboarding:detail", pk=application.pk)


@rule("nodal_officer_of_application")
@require_http_methods(["GET", "POST"])
def section_edit(request, pk, section):
    application = application_for_officer(request.user, pk)
    try:
        section = Section(section)
    except ValueError:
        raise Http404 from None
    if section == Section.AUTHORISATION_LETTER:
        return redirect("onboarding:letter", pk=pk)
    if not application.is_editable:
        return _not_editable(request, application)
    problem = officer_eligibility(request.user)
    if problem:
        return _not_eligible(request, pk, problem)
    restored, shown_answers = False, None
    if request.method == "POST":
        done, application, form = _section_save(request, application, section)
        if done is not None:
            return done
    else:
        form, restored, shown_answers = _section_form(request, application, section)
    return _section_page(request, application, section, form, restored=restored, shown_answers=shown_answers)


def _section_page(request, application, section, form, *, restored=False, shown_answers=None, action=""):
    """The section's page showing ``form``. ``action``: where its form posts, when the page
    is shown at another address than the section's own (else to itself)."""
    context = {
        "application": application,
        "section": section,
        "form": form,
        "restored": restored,
        "next_section": _next_section(section),
        # The answers this page shows as stored (what a save from it may replace): those
        # stored now, or, for input kept over a sign-in, those its page showed then.
        "shown_answers": shown_answers or services.answers_digest(application.section_data(section)),
        "action": action,
    }
    if section == Section.DECLARATIONS:
        context["notice"] = declaration_notice()
    if section == Section.HIERARCHY:
        context.update(_hierarchy_context(request, form))
    if section == Section.ORGANISATION and application.is_editable:
        context["duplicate_warnings"] = services.duplicate_advice(application)
    return render(request, "onboarding/section.html", context)


def _section_save(request, application, section):
    """Save the section's post: (the response when that ends the request, else None; the
    application; the form to show again)."""
    pk = application.pk
    try:
        application, form = services.application_save_section(
            application_id=pk, section=section, querydict=request.POST, actor=request.user, request=request,
            shown_answers=request.POST.get("shown_answers"), shown_notice=request.POST.get("notice_version"),
        )
    except services.ApplicationNotEditable:  # submitted or withdrawn from another tab meanwhile
        return _not_editable(request, application_for_officer(request.user, pk)), None, None
    except services.AnswersChanged:  # saved from another tab since this page was opened
        application = application_for_officer(request.user, pk)
        return None, application, _changed_meanwhile_form(request, application, section)
    except services.NoticeChanged:  # another notice published since this page was opened
        return None, application, _notice_changed_form(request, application)
    # "Search" is the form's first submit button, the one Enter in any of its fields sends:
    # with search words it searches; with none (Enter in the parent's name, say) the section
    # is saved as "Save and continue" saves it. The page searched opens at its results, which
    # the browser focuses (without a script), not at the top of the page.
    if "search_parent" in request.POST and _search_words(request.POST).strip():
        query = urlencode({"q": _search_words(request.POST)})
        url = reverse("onboarding:section", kwargs={"pk": pk, "section": section.value})
        return redirect(f"{url}?{query}#picker-results"), None, None
    if form.is_valid() and not form.input_changes:
        return _section_saved(request, pk, section, form), None, None
    messages.warning(request, _draft_saved_message(form))
    return None, application, form


def _draft_saved_message(form):
    if form.is_valid():  # valid once storing it had changed some answers: show them at their fields
        return _("Your answers were saved, but some were changed to fit the form: check the answers marked below.")
    return _("Your answers were saved as a draft. Correct the problems shown to complete this section.")


def _section_saved(request, pk, section, form):
    messages.success(request, _("“%(section)s” saved.") % {"section": section.label})
    # Advice that does not block (a website off the official domains...) would
    # otherwise go unseen: the page we redirect to does not show the form.
    for field_warnings in form.warnings.values():
        for warning in field_warnings:
            messages.warning(request, warning)
    nxt = _next_section(section)
    if ("continue" in request.POST or "search_parent" in request.POST) and nxt:
        return redirect("onboarding:section", pk=pk, section=nxt.value)
    return redirect("onboarding:task_list", pk=pk)


def _section_form(request, application, section):
    """The section's form for a GET, whether it holds input restored after a sign-in, and
    then the ``shown_answers`` its page had sent (None otherwise, or for a page without it)."""
    form_class = SECTION_FORMS[section]
    pending = pop_pending_input(request)
    restored = pending is not None
    shown_answers = None
    if restored:
        form = form_class(data=pending, application=application)
        shown_answers = pending.get("shown_answers")
    elif application.status_of(section) == SectionStatus.NOT_STARTED or "q" in request.GET:
        # Not started, or the officer is searching for the parent (nothing could be
        # chosen yet): the answers without their errors.
        form = form_class(initial=application.section_data(section), application=application)
    else:
        form = services.bound_section_form(application, section)
    if form.is_bound:
        form.is_valid()  # run validation so the stored draft shows its errors
    return form, restored, shown_answers


def _changed_meanwhile_form(request, application, section):
    """The section's form showing what was typed, after a save refused because another tab
    saved the section since this page was opened: the refusal said above the form, what is
    stored now said at each answer that differs (the page now sends that it showed those)."""
    form_class = SECTION_FORMS[section]
    typed = bounded_input(form_class, request.POST, application=application)[0]
    if section == Section.NODAL_OFFICER:
        typed["official_email"] = request.user.email  # as the service keeps it
    form = services.bound_section_form(application, section, data=typed)
    form.is_valid()
    form.add_error(None, ValidationError(
        _("Nothing was saved: the answers of this section were changed in another tab or window since this page was "
          "opened. What is stored now is said at each answer that differs from yours: check the answers and save "
          "again."), code="changed_meanwhile"))
    stored = application.section_data(section)
    for name, field in form.fields.items():
        if stored.get(name) != typed.get(name):
            form.warn(name, _("Saved meanwhile in another tab or window: %(answer)s")
                      % {"answer": display_value(field, stored.get(name)) or _("no answer")})
    return form


def _notice_changed_form(request, application):
    """The declarations as ticked, after a save refused because the data protection notice
    changed since the page was opened: the page shows the new text, and its box is ticked
    again for that text (the undertakings stay as ticked)."""
    form_class = SECTION_FORMS[Section.DECLARATIONS]
    typed = bounded_input(form_class, request.POST, application=application)[0]
    form = services.bound_section_form(application, Section.DECLARATIONS, data={**typed, "accept_notice": False})
    form.is_valid()
    form.errors["accept_notice"] = form.error_class([
        _("The data protection notice changed since this page was opened: read version %(version)s above and tick "
          "the box again.") % {"version": declaration_notice().version}])
    return form


# The most characters of the parent's search words searched (and shown back in the box).
SEARCH_MAX = 100


def _search_words(params):
    """The parent's search words sent in ``params`` (a GET's or a POST's), at most
    SEARCH_MAX characters: what a crafted query string makes the search cost is known."""
    return params.get("q", "")[:SEARCH_MAX]


def _parent_search(query):
    """The picker's context for the search words ``query``: the first PICKER_LIMIT
    organisations found, and whether more were (said, with how to narrow the search)."""
    results, more = first_found(organisation_search(query=query, limit=PICKER_LIMIT + 1), PICKER_LIMIT)
    return {"query": query, "results": results, "more": more, "too_short": not picker_query(query)}


def _hierarchy_context(request, form):
    # A save shown again (an error, a change in another tab) keeps the words sent with it, and their results.
    query = _search_words(request.POST if request.method == "POST" else request.GET)
    return {**(_parent_search(query) if query else {"query": query, "results": None}),
            "chosen_parent": _chosen_parent(form)}


def _chosen_parent(form):
    """The parent organisation the form holds, as its field accepts it (an active one), or None."""
    if form.is_bound:
        form.is_valid()  # done already by the page: the field has looked the organisation up
        return form.cleaned_data.get("parent")
    try:
        return form.fields["parent"].clean(form.initial.get("parent"))
    except ValidationError:
        return None


@rule("authenticated")
@require_http_methods(["GET"])
def organisation_picker(request):
    return render(request, "onboarding/includes/picker_results.html", _parent_search(_search_words(request.GET)))


@rule("nodal_officer_of_application")
@require_http_methods(["GET", "POST"])
def letter(request, pk):
    application = application_for_officer(request.user, pk)
    current = current_letter(application)
    if request.method == "POST":
        if not application.is_editable:
            return _not_editable(request, application)
        problem = officer_eligibility(request.user)
        if problem:
            return _not_eligible(request, pk, problem)
        form = AttachmentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.attachment_upload(
                    application_id=application.pk, uploaded=form.cleaned_data["letter"], actor=request.user, request=request
                )
            except ValidationError as exc:
                form.add_error("letter", exc)
            except services.ApplicationNotEditable:  # submitted or withdrawn from another tab meanwhile
                return _not_editable(request, application_for_officer(request.user, pk))
            else:
                messages.success(request, _("The authorisation letter was uploaded."))
                return redirect("onboarding:task_list", pk=pk)
    else:
        form = AttachmentForm()
    return render(request, "onboarding/letter.html", {"application": application, "form": form, "current": current})


@rule("viewer_of_application")
@require_http_methods(["GET"])
def letter_download(request, pk, attachment_id):
    application = application_for_viewer(request.user, pk)
    try:
        attachment = application.attachments.get(pk=attachment_id)
    except (Attachment.DoesNotExist, ValueError):
        raise Http404 from None
    return stored_file_response(attachment.file, owner=attachment, content_type=attachment.content_type,
                                filename=letter_filename(application, attachment.content_type))


def _page_before(request, default):
    """The portal page the person came from (the Referer, when it is one of ours), else ``default``."""
    referer = request.headers.get("Referer", "")
    ours = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return referer if referer and ours and urlsplit(referer).path != request.path else default


@rule("viewer_of_application")
@require_http_methods(["GET"])
@asked_on_this_site("onboarding:detail")
def form_pdf(request, pk):
    application = application_for_viewer(request.user, pk)
    language = pdf.requested_language(application, request.GET.get("language"))
    if language is None:  # not a language this application's documents are made in
        raise Http404
    reader = not is_officer_of(request.user, application) or not stores_form_pdfs(application)
    document = pdf.stored_form_pdf(application, language) if reader else None
    filename = pdf.form_pdf_filename(application, language)
    try:
        if reader and document is None:  # reading writes nothing: rendered, not stored
            content = pdf.form_pdf_for_reader(application=application, actor=request.user, language=language)
            return content_response(content, content_type="application/pdf", filename=filename)
        if document is None:
            document = pdf.application_form_pdf(application=application, actor=request.user, language=language,
                                                request=request)
    except pdf.PdfNotStored as exc:  # the storage could not keep it: the officer has it all the same
        return content_response(exc.content, content_type="application/pdf", filename=filename)
    except pdf.PdfNotRendered as exc:
        messages.error(request, pdf.refusal_message(exc.reason, until=exc.until))
        return redirect(_page_before(request, reverse("onboarding:detail", kwargs={"pk": pk})))
    if isinstance(document, bytes):  # withdrawn or changed while it rendered: the PDF asked for, stored nowhere
        return content_response(document, content_type="application/pdf", filename=filename)
    return stored_file_response(document.file, owner=document, content_type="application/pdf", filename=filename)


@rule("nodal_officer_of_application")
@require_http_methods(["GET", "POST"])
def submit(request, pk):
    application = application_for_officer(request.user, pk)
    if not application.is_editable:  # e.g. back to this page after submitting: say so
        return _not_editable(request, application, submitting=True)
    refused = _not_eligible_to_submit(request, pk)
    if refused:
        return refused
    returned = application.status == ApplicationStatus.CHANGES_REQUESTED
    reply_form = ((ResubmitReplyForm(request.POST) if request.method == "POST"
                   else ResubmitReplyForm(initial={"reply": _kept_reply(request, pk)})) if returned else None)
    if request.method == "POST":
        if reply_form is not None and not reply_form.is_valid():
            return _submit_page(request, application, reply_form)
        # application_submit checks every section under its lock; checking here first would do it twice.
        try:
            application = services.application_submit(
                application_id=application.pk, actor=request.user, request=request,
                shown_version=_posted_number(request.POST.get("shown_version")),
                reply=reply_form.cleaned_data["reply"] if reply_form is not None else "",
            )
        except services.AnswersChanged:  # changed in another tab since the check page was opened
            messages.warning(request, _("Nothing was submitted: the application was changed in another tab or window "
                                        "since this page was opened. Check the answers below and submit again."))
            if reply_form is not None:  # the check page again, with the reply as typed
                return _submit_page(request, application_for_officer(request.user, pk), reply_form)
            return redirect("onboarding:submit", pk=pk)
        except ValidationError as exc:
            return _submission_refused(request, pk, exc, reply_form)
        except workflow.InvalidTransition:  # submitted or withdrawn from another tab meanwhile
            return _not_editable(request, application_for_officer(request.user, pk), submitting=True)
        _kept_reply_drop(request, pk)
        messages.success(
            request,
            _("Application %(ref)s has been submitted to the competent authority.") % {"ref": application.reference},
        )
        return redirect("onboarding:detail", pk=pk)
    return _submit_page(request, application, reply_form)


def _kept_reply(request, pk) -> str:
    """The reply kept for application ``pk`` when its submission was refused at the authority's
    address (SESSION_REPLY), or ""."""
    kept = request.session.get(SESSION_REPLY)
    if isinstance(kept, dict) and kept.get("application") == str(pk) and isinstance(kept.get("reply"), str):
        return kept["reply"]
    return ""


def _kept_reply_drop(request, pk) -> None:
    """Application ``pk`` sent: its reply is kept no longer (one kept for another stays)."""
    if _kept_reply(request, pk):
        request.session.pop(SESSION_REPLY, None)


def _submission_refused(request, pk, refusal, reply_form):
    """The answer to a submission refused (``refusal``, a ValidationError) with ``reply_form``."""
    if isinstance(refusal, services.Incomplete):  # the task list then says which sections, as this refusal does
        services.section_statuses_recheck(application_id=pk, actor=request.user, sections=refusal.sections)
    if getattr(refusal, "code", None) in services.REFUSED_AT_AUTHORITY_ADDRESS:
        return _refused_at_authority_address(request, application_for_officer(request.user, pk), refusal, reply_form)
    if getattr(refusal, "code", None) == services.REPLY_REQUIRED and reply_form is not None:
        reply_form.add_error("reply", refusal)
        return _submit_page(request, application_for_officer(request.user, pk), reply_form)
    messages.error(request, " ".join(refusal.messages))
    if reply_form is not None:  # the check page, its problems listed, with the reply as typed
        return _submit_page(request, application_for_officer(request.user, pk), reply_form)
    return redirect("onboarding:task_list", pk=pk)


def _submit_page(request, application, reply_form):
    """The check page: the answers, the letter and, for a returned application, the remarks
    it was returned with and the box for the officer's reply to them."""
    problems = services.submission_problems(application)
    return render(
        request,
        "onboarding/submit.html",
        {"application": application, "problems": problems, "summary": application_summary(application),
         "letter": current_letter(application), "reply_form": reply_form,
         "returned": last_return(application) if reply_form is not None else None},
    )


def _refused_at_authority_address(request, application, refusal, reply_form):
    """A submission refused at the authority's address (its mailbox had its day's requests
    for a decision, or this officer their share of them; the mail server refused it as an
    address that does not exist): the competent authority's section, as stored (the draft
    is unchanged), with the refusal at the authority's address, where the officer sees whom
    it would go to. Its form posts to the section's own page. The reply to the remarks of a
    returned application is kept for the check page (SESSION_REPLY)."""
    if reply_form is not None:
        request.session[SESSION_REPLY] = {"application": str(application.pk), "reply": reply_form.cleaned_data["reply"]}
        messages.info(request, _("Your reply to the remarks is kept: it is in its box when you send the application "
                                 "again."))
    section = Section.COMPETENT_AUTHORITY
    form = services.bound_section_form(application, section)
    form.is_valid()
    form.add_error("official_email", refusal)
    return _section_page(request, application, section, form,
                         action=reverse("onboarding:section", kwargs={"pk": application.pk, "section": section.value}))


def _posted_number(value):
    """A whole number posted by a page (a hidden field), None when missing; one that is not
    a number in the digits 0-9 (a crafted "²" or "१२") counts as a page that showed something
    else (-1)."""
    if value is None:
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else -1


@rule("viewer_of_application")
@require_http_methods(["GET"])
def detail(request, pk):
    application = application_for_viewer(request.user, pk)
    is_officer = application.nodal_officer_id == request.user.pk
    return render(
        request,
        "onboarding/detail.html",
        {
            "application": application,
            "summary": application_summary(application),
            "timeline": application_timeline(application),
            "letter": current_letter(application),
            "can_withdraw": is_officer and workflow.allowed(application.status, workflow.Event.WITHDRAW),
            "is_officer": is_officer,
            # Its officer, as on the form: by when a returned application must be submitted again.
            **(_correction_deadline(application) if is_officer else {}),
        },
    )


def _application_to_withdraw(user, pk):
    """(the application ``user`` may withdraw, whether on its officer's behalf): their own,
    or one whose officer's account is closed, for those who may hand it over
    (``may_withdraw_for_officer``); else 404."""
    try:
        return application_for_officer(user, pk), False
    except Http404:
        application = application_for_viewer(user, pk)
        if not may_withdraw_for_officer(user, application):
            raise
        return application, True


@rule("viewer_of_application")
@require_http_methods(["GET", "POST"])
def withdraw(request, pk):
    application, for_officer = _application_to_withdraw(request.user, pk)
    if not workflow.allowed(application.status, workflow.Event.WITHDRAW):
        messages.info(request, _("This application can no longer be withdrawn."))
        return redirect("onboarding:detail", pk=pk)
    form = WithdrawReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():  # else each error at its box, the reason typed kept
            try:
                services.application_withdraw(
                    application_id=application.pk, actor=request.user, reason=form.cleaned_data["reason"],
                    request=request
                )
            except workflow.InvalidTransition:
                messages.info(request, _("This application can no longer be withdrawn."))
                return redirect("onboarding:detail", pk=pk)
            messages.success(request, _("The application was withdrawn."))
            if for_officer:  # not theirs: back to its page
                return redirect("onboarding:detail", pk=pk)
            return redirect("onboarding:my_applications")
    letter_deleted = current_letter(application) is not None and withdrawal_removes_files(application)
    return render(request, "onboarding/withdraw.html", {
        "application": application, "letter_deleted": letter_deleted,
        "reason": form["reason"], "confirm": form["confirm"], "for_officer": for_officer,
    })


@rule("public")
@require_http_methods(["GET"])
def privacy_notice(request):
    return render(request, "onboarding/privacy_notice.html", {"notice": declaration_notice()})
