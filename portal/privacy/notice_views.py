"""The data protection notice: reading it (anyone), accepting a new version (at the
next sign-in), what a person accepted, and publishing a version (superadmins)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import page_of_this_site, rule
from portal.privacy.forms import NoticeAcceptForm, NoticePublishForm
from portal.privacy.models import NoticeAcceptance, PrivacyNotice
from portal.privacy.notice import (
    PENDING_KEY,
    current_notice,
    notice_accept,
    notice_pending_for,
    notice_publish,
    notice_shown,
)
from portal.shown import ChangedMeanwhile, shown_on_page, shown_sent


def _safe_next(request, value: str) -> str:
    """A page of this site to go on to ("/" otherwise): not another host's, and not a bare
    word, which ``redirect`` would take for the name of a view."""
    return page_of_this_site(request, value) or "/"


@rule("public")
@require_http_methods(["GET"])
def notice(request):
    current = current_notice()
    accepted = []
    if request.user.is_authenticated:
        accepted = list(NoticeAcceptance.objects.filter(user=request.user).select_related("notice")[:50])
    return render(request, "privacy/notice.html", {
        "notice": current, "paragraphs": current.paragraphs_in(get_language()) if current else [],
        "accepted": accepted,
    })


@rule("authenticated")
@require_http_methods(["GET", "POST"])
def accept(request):
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    pending = notice_pending_for(request.user)
    if pending is None:
        request.session.pop(PENDING_KEY, None)
        return redirect(next_url)
    form = NoticeAcceptForm(request.POST or None)
    replaced = request.method == "POST" and request.POST.get("notice", "") != str(pending.pk)
    if replaced:
        # The page showed another version (a newer one was published while it was open):
        # nothing is recorded; the version to accept is shown, its box not ticked.
        form = NoticeAcceptForm()
    elif request.method == "POST" and form.is_valid():
        notice_accept(user=request.user, notice_id=pending.pk, request=request)
        request.session.pop(PENDING_KEY, None)
        messages.success(request, _("Thank you: you accepted version %(version)s of the notice.")
                         % {"version": pending.version})
        return redirect(next_url)
    return render(request, "privacy/notice_accept.html", {
        "notice": pending, "paragraphs": pending.paragraphs_in(get_language()), "form": form, "next": next_url,
        "replaced": replaced,
    })


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def publish(request):
    current = current_notice()
    initial = {"body_en": current.body_en, "body_hi": current.body_hi, "body_mr": current.body_mr} if current else {}
    form = NoticePublishForm(request.POST or None, initial=initial)
    shown = shown_on_page(request, notice_shown(current))  # once the form took any kept input
    if request.method == "POST" and form.is_valid():
        try:
            notice_publish(actor=request.user, request=request, version=form.cleaned_data["version"],
                           body_en=form.cleaned_data["body_en"], body_hi=form.cleaned_data["body_hi"],
                           body_mr=form.cleaned_data["body_mr"], shown_values=shown_sent(request.POST))
        except ChangedMeanwhile:  # its text was begun from an older version: what was typed is kept
            current = current_notice()
            shown = notice_shown(current)
            form.add_error(None, ValidationError(_(
                "Nothing was published: since this page was opened, version %(version)s was published by someone "
                "else, and your text was begun from the version before it. Compare yours with version %(version)s "
                "(the data protection notice), then publish again.") % {"version": current.version},
                code="changed_meanwhile"))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field, error)
        else:
            messages.success(request, _("Notice published. Everyone is asked to accept it at their next sign-in."))
            return redirect("privacy:notice_publish")
    versions = PrivacyNotice.objects.annotate(accepted=Count("acceptances")).select_related("published_by")[:50]
    return render(request, "privacy/notice_publish.html", {"form": form, "versions": versions, "shown_values": shown})
