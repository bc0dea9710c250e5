from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.mail.models import OutboxMessage, OutboxStatus, UnknownMailbox
from portal.mail.refusals import unknown_mailboxes
from portal.mail.services import outbox_requeue, unknown_mailbox_lift

PAGE_SIZE = 50


@rule("superadmin")
@require_http_methods(["GET"])
def outbox(request):
    status = request.GET.get("status", "")
    messages_qs = OutboxMessage.objects.defer("body", "html_body", "attachments").order_by("-id")
    if status in OutboxStatus.values:
        messages_qs = messages_qs.filter(status=status)
    page = Paginator(messages_qs, PAGE_SIZE).get_page(request.GET.get("page"))
    # The addresses no message is offered to (portal/mail/refusals.py), each with a link to lift it.
    unknown = Paginator(UnknownMailbox.objects.filter(lifted_at__isnull=True), PAGE_SIZE).get_page(
        request.GET.get("unknown_page"))
    return render(request, "portal/outbox.html", {
        "page": page, "status": status, "statuses": OutboxStatus.choices, "unknown": unknown,
        "status_label": OutboxStatus(status).label if status in OutboxStatus.values else "",
        "keep_days": settings.OUTBOX_KEEP_DAYS,
    })


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def outbox_message(request, pk):
    message = get_object_or_404(OutboxMessage, pk=pk)
    if request.method == "POST":
        if outbox_requeue(outbox_id=message.pk, actor=request.user, request=request):
            messages.success(request, _("The message was put back in the queue."))
        else:
            message.refresh_from_db(fields=["status"])
            messages.info(request, _("This message is no longer failed (now: %(status)s); nothing was queued.")
                          % {"status": message.get_status_display()})
        return redirect("mail:outbox_message", pk=pk)
    # Sent again, a failed message fails at once for its recipients still refused as unknown.
    unknown = unknown_mailboxes([*message.to, *message.cc, *message.bcc]) if message.status == OutboxStatus.FAILED else {}
    return render(request, "portal/outbox_message.html", {"message": message, "unknown": sorted(unknown)})


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def unknown_mailbox(request, pk):
    """Lift the refusal of an address as unknown: a page that asks to confirm, then the POST."""
    record = get_object_or_404(UnknownMailbox, pk=pk)
    if request.method == "POST":
        if unknown_mailbox_lift(unknown_mailbox_id=record.pk, actor=request.user, request=request):
            messages.success(request, _("The refusal of %(email)s was lifted: the next message to it is offered to "
                                        "the mail server.") % {"email": record.mailbox})
        else:
            messages.info(request, _("The refusal of %(email)s was already lifted; nothing was changed.")
                          % {"email": record.mailbox})
        return redirect("mail:outbox")
    return render(request, "portal/unknown_mailbox_lift.html", {"record": record})
