"""The versioned data protection notice: publishing a version (superadmins) and
a person's acceptance of it.

At sign-in (allauth's and Django's ``user_logged_in``) the portal looks once for a
version the person has not accepted and, if there is one, keeps its version in the
session; ``NoticeMiddleware`` then sends every page to the acceptance page (the
page first asked for kept as ``next``) until they accept. Nothing is read from the
database on other requests. While no version is published nobody is asked."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.advisory import advisory_lock
from portal.audit.models import AuditAction
from portal.audit.services import audit_record
from portal.permissions import AnyUser
from portal.privacy.models import NoticeAcceptance, PrivacyNotice
from portal.shown import ChangedMeanwhile, shown_digest

PENDING_KEY = "privacy_notice_pending"


def current_notice() -> PrivacyNotice | None:
    return PrivacyNotice.objects.order_by("-published_at", "-id").first()


# The first of PostgreSQL's two advisory-lock keys: publishing the notice ("NTCE").
PUBLISH_LOCK_NAMESPACE = 0x4E544345


def notice_shown(current: PrivacyNotice | None) -> str:
    """The digest of the version the publishing page's boxes were filled from (portal.shown)."""
    return shown_digest({"current": current.pk if current is not None else None})


def notice_publish(
    *, version: str, body_en: str, body_hi: str = "", body_mr: str = "", actor: AnyUser,
    request: HttpRequest | None = None, shown_values: str | None = None,
) -> PrivacyNotice:
    """Publish a new version. ``shown_values``: ``notice_shown`` of the page it was written
    on: a version published since raises ChangedMeanwhile, nothing published (its text,
    which the page never showed, would be dropped unseen); None: not checked."""
    version = version.strip()
    if not body_en.strip():
        raise ValidationError({"body_en": _("Write the notice in English.")})
    published_already = ValidationError({"version": _("This version was published already: give the new text a new "
                                                      "version.")})
    try:
        with transaction.atomic():
            advisory_lock(PUBLISH_LOCK_NAMESPACE)  # one publishing at a time: each sees the one before it
            if PrivacyNotice.objects.filter(version=version).exists():
                raise published_already  # a second "Publish" of the same page too: not "changed meanwhile"
            if shown_values is not None and shown_values != notice_shown(current_notice()):
                raise ChangedMeanwhile
            notice = PrivacyNotice.objects.create(version=version, body_en=body_en.strip(), body_hi=body_hi.strip(),
                                                  body_mr=body_mr.strip(), published_at=timezone.now(),
                                                  published_by=actor)
            audit_record(actor=actor, action=AuditAction.PRIVACY_NOTICE_PUBLISHED, target=notice, request=request,
                         new={"version": version, "characters": len(notice.body_en)})
    except IntegrityError:  # published at once by another process without the lock (SQLite has none)
        raise published_already from None
    return notice


def notice_pending_for(user: AnyUser) -> PrivacyNotice | None:
    """The current version, when the person has not accepted it (two queries at most)."""
    notice = current_notice()
    if notice is None or NoticeAcceptance.objects.filter(user=user, notice=notice).exists():
        return None
    return notice


def notice_accept(*, user: AnyUser, notice_id: int, request: HttpRequest | None = None) -> NoticeAcceptance:
    with transaction.atomic():
        notice = PrivacyNotice.objects.get(pk=notice_id)
        acceptance, created = NoticeAcceptance.objects.get_or_create(
            user=user, notice=notice, defaults={"accepted_at": timezone.now()})
        if created:
            audit_record(actor=user, action=AuditAction.PRIVACY_NOTICE_ACCEPTED, target=notice, request=request,
                         new={"version": notice.version})
    return acceptance


def mark_pending_at_sign_in(sender, request, user, **kwargs) -> None:
    """user_logged_in: remember in the session a version still to accept."""
    if request is None or not hasattr(request, "session"):
        return
    notice = notice_pending_for(user)
    if notice is None:
        request.session.pop(PENDING_KEY, None)
    else:
        request.session[PENDING_KEY] = notice.pk
