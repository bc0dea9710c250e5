from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from onboarding import workflow
from onboarding.application import pdf, services
from onboarding.application.declarations import declaration_notice
from onboarding.application.forms import SECTION_FORMS, AttachmentForm, WithdrawReasonForm
from onboarding.application.selectors import (
    application_for_officer,
    application_for_viewer,
    application_timeline,
    current_letter,
    is_officer_of,
    last_return,
    officer_eligibility,
    officer_overview,
    withdrawal_removes_files,
)
from onboarding.application.summary import application_summary
from onboarding.application.uploads import letter_filename
from onboarding.models import Attachment, Section, SectionStatus
from portal.access import pop_pending_input, rule
from portal.downloads import stored_file_response
from portal.organisations.selectors import organisation_search

SECTION_ORDER = list(Section)


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
            application = services.application_create(actor=request.user, request=request)
        except ValidationError as exc:
            if exc.code == "too_many_drafts":  # eligible: its own message, not the eligibility box
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
    return render(request, "onboarding/start.html", {"problem": problem, "drafts_problem": drafts_problem})


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
        },
    )


def _not_eligible(request, pk, problem):
    """The officer may no longer act (their address stopped being official...): say why,
    on the application's read-only page."""
    messages.error(request, _("You can no longer change, submit or send links for this application.") + " " + problem)
    return redirect("onboarding:detail", pk=pk)


def _not_editable(request, pk):
    messages.info(request, _("This application has been submitted and can no longer be changed."))
    return redirect("onboarding:detail", pk=pk)


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
        return _not_editable(request, pk)
    problem = officer_eligibility(request.user)
    if problem:
        return _not_eligible(request, pk, problem)
    restored = False
    if request.method == "POST":
        try:
            application, form = services.application_save_section(
                application_id=application.pk, section=section, querydict=request.POST, actor=request.user, request=request
            )
        except services.ApplicationNotEditable:  # submitted from another tab meanwhile
            return _not_editable(request, pk)
        if "search_parent" in request.POST:
            query = urlencode({"q": request.POST.get("q", "")[:100]})
            return redirect(f"{reverse('onboarding:section', kwargs={'pk': pk, 'section': section.value})}?{query}")
        if form.is_valid() and not form.input_changes:
            return _section_saved(request, pk, section, form)
        messages.warning(request, _draft_saved_message(form))
    else:
        form, restored = _section_form(request, application, section)
    context = {
        "application": application,
        "section": section,
        "form": form,
        "restored": restored,
        "next_section": _next_section(section),
    }
    if section == Section.DECLARATIONS:
        context["notice"] = declaration_notice()
    if section == Section.HIERARCHY:
        context.update(_hierarchy_context(request, form))
    if section == Section.ORGANISATION and application.is_editable:
        context["duplicate_warnings"] = services.duplicate_advice(application)
    return render(request, "onboarding/section.html", context)


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
    if "continue" in request.POST and nxt:
        return redirect("onboarding:section", pk=pk, section=nxt.value)
    return redirect("onboarding:task_list", pk=pk)


def _section_form(request, application, section):
    """The section's form for a GET, and whether it holds input restored after a sign-in."""
    form_class = SECTION_FORMS[section]
    pending = pop_pending_input(request)
    restored = pending is not None
    if restored:
        form = form_class(data=QueryDict(pending), application=application)
    elif application.status_of(section) == SectionStatus.NOT_STARTED or "q" in request.GET:
        # Not started, or the officer is searching for the parent (nothing could be
        # chosen yet): the answers without their errors.
        form = form_class(initial=application.section_data(section), application=application)
    else:
        form = services.bound_section_form(application, section)
    if form.is_bound:
        form.is_valid()  # run validation so the stored draft shows its errors
    return form, restored


def _hierarchy_context(request, form):
    query = request.GET.get("q", "")
    return {"query": query, "results": organisation_search(query=query) if query else None, "chosen_parent": _chosen_parent(form)}


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
    query = request.GET.get("q", "")[:100]
    context = {"results": organisation_search(query=query), "query": query}
    return render(request, "onboarding/includes/picker_results.html", context)


@rule("nodal_officer_of_application")
@require_http_methods(["GET", "POST"])
def letter(request, pk):
    application = application_for_officer(request.user, pk)
    current = current_letter(application)
    if request.method == "POST":
        if not application.is_editable:
            return _not_editable(request, pk)
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
            except services.ApplicationNotEditable:  # submitted from another tab meanwhile
                return _not_editable(request, pk)
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
def form_pdf(request, pk):
    application = application_for_viewer(request.user, pk)
    language = pdf.requested_language(application, request.GET.get("language"))
    if language is None:  # not a language this application's documents are made in
        raise Http404
    reader = not is_officer_of(request.user, application)
    document = pdf.stored_form_pdf(application, language) if reader else None
    filename = pdf.form_pdf_filename(application, language)
    try:
        if reader and document is None:  # reading writes nothing: rendered, not stored
            content = pdf.form_pdf_for_reader(application=application, actor=request.user, language=language)
            response = HttpResponse(content, content_type="application/pdf")
            response["Content-Disposition"] = content_disposition_header(True, filename)
            response["X-Content-Type-Options"] = "nosniff"
            return response
        if document is None:
            document = pdf.application_form_pdf(application=application, actor=request.user, language=language)
    except pdf.PdfNotRendered as exc:
        messages.error(request, pdf.refusal_message(exc.reason, until=exc.until))
        return redirect(_page_before(request, reverse("onboarding:detail", kwargs={"pk": pk})))
    return stored_file_response(document.file, owner=document, content_type="application/pdf", filename=filename)


@rule("nodal_officer_of_application")
@require_http_methods(["GET", "POST"])
def submit(request, pk):
    application = application_for_officer(request.user, pk)
    if not application.is_editable:  # e.g. back to this page after submitting: say so
        messages.info(request, _("This application has already been submitted."))
        return redirect("onboarding:detail", pk=pk)
    problem = officer_eligibility(request.user)
    if problem:
        return _not_eligible(request, pk, problem)
    if request.method == "POST":
        # application_submit checks every section under its lock; checking here first would do it twice.
        try:
            application = services.application_submit(application_id=application.pk, actor=request.user, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("onboarding:task_list", pk=pk)
        except workflow.InvalidTransition:
            messages.error(request, _("This application has already been submitted."))
            return redirect("onboarding:detail", pk=pk)
        messages.success(
            request,
            _("Application %(ref)s has been submitted to the competent authority.") % {"ref": application.reference},
        )
        return redirect("onboarding:detail", pk=pk)
    problems = services.submission_problems(application)
    return render(
        request,
        "onboarding/submit.html",
        {"application": application, "problems": problems, "summary": application_summary(application),
         "letter": current_letter(application)},
    )


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
        },
    )


@rule("nodal_officer_of_application")
@require_http_methods(["GET", "POST"])
def withdraw(request, pk):
    application = application_for_officer(request.user, pk)
    if not workflow.allowed(application.status, workflow.Event.WITHDRAW):
        messages.info(request, _("This application can no longer be withdrawn."))
        return redirect("onboarding:detail", pk=pk)
    confirm_error = ""
    form = WithdrawReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        reason_ok = form.is_valid()  # its error at the box, what was typed kept
        if request.POST.get("confirm") != "yes":
            confirm_error = _("Tick the box to confirm that you want to withdraw the application.")  # at the box
        elif reason_ok:
            try:
                services.application_withdraw(
                    application_id=application.pk, actor=request.user, reason=form.cleaned_data["reason"],
                    request=request
                )
            except workflow.InvalidTransition:
                messages.info(request, _("This application can no longer be withdrawn."))
                return redirect("onboarding:detail", pk=pk)
            messages.success(request, _("The application was withdrawn."))
            return redirect("onboarding:my_applications")
    letter_deleted = current_letter(application) is not None and withdrawal_removes_files(application)
    return render(request, "onboarding/withdraw.html", {
        "application": application, "confirm_error": confirm_error, "letter_deleted": letter_deleted,
        "reason": form["reason"],
    })


@rule("public")
@require_http_methods(["GET"])
def privacy_notice(request):
    return render(request, "onboarding/privacy_notice.html", {"notice": declaration_notice()})
