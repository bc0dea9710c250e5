from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.mail.models import OutboxMessage, OutboxStatus
from portal.mail.services import outbox_requeue


@rule("superadmin")
@require_http_methods(["GET"])
def outbox(request):
    status = request.GET.get("status", "")
    messages_qs = OutboxMessage.objects.defer("body", "html_body", "attachments").order_by("-id")
    if status in OutboxStatus.values:
        messages_qs = messages_qs.filter(status=status)
    page = Paginator(messages_qs, 50).get_page(request.GET.get("page"))
    return render(request, "portal/outbox.html", {"page": page, "status": status, "statuses": OutboxStatus.choices})


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
    return render(request, "portal/outbox_message.html", {"message": message})
