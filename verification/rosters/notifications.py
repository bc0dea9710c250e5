"""The invitation email: in English and in the organisation's own language (Marathi
for an organisation in Maharashtra, Hindi elsewhere), sent through the default
mailer (the outbox), written in the transaction that makes or resends the invitation.

A roster may invite many people at once: the message is rendered once per batch with
markers where the person's name and link go, and each person's message is that text
with their own name (made inert, as every typed name in mail) and link put in.
Depends on no service."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from portal.text import inert

NAME_MARK = "ROSTERINVITEENAMEMARK"
LINK_MARK = "ROSTERINVITELINKMARK"


def organisation_languages(organisation) -> list[str]:
    return ["en", "mr" if organisation.state == "MH" else "hi"]


def invitation_link(raw_token: str, *, _marker: str = "T" * 43) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("verification:invitation", args=[_marker]).replace(_marker, raw_token)


def invitation_link_topic(invitation_id: int) -> str:
    """The outbox topic of every mail carrying an invitation's link
    (portal.mail.services.outbox_drop: dropped while still waiting to be sent when its link
    is replaced, or the invitation cancelled or withdrawn)."""
    return f"invitation_link:{invitation_id}"


def _render(organisation, expires_at) -> tuple[str, str]:
    context = {"organisation": organisation, "name": NAME_MARK, "link": LINK_MARK, "expires_at": expires_at,
               "site_url": settings.SITE_URL}
    subjects, bodies = [], []
    for language in organisation_languages(organisation):
        with translation.override(language):
            subjects.append(" ".join(render_to_string("verification/email/invitation_subject.txt", context).split()))
            bodies.append(render_to_string("verification/email/invitation.txt", context).strip())
    return " / ".join(dict.fromkeys(subjects)), "\n\n---\n\n".join(bodies) + "\n"


def invitation_text(*, organisation, expires_at) -> tuple[str, str]:
    """The subject and the body, with NAME_MARK and LINK_MARK where each person's own
    name and link go (rendered once for a batch)."""
    return _render(organisation, expires_at)


def _inert_name(name: str) -> str:
    """inert(name), without its four passes for a name that has nothing they change:
    no control character, no ".", "@" or ":" (what a link or an address needs)."""
    if name.isprintable() and "." not in name and "@" not in name and ":" not in name:
        return name
    return inert(name)


def invitee_fills(invitees: list[tuple[str, str, str]]) -> dict[str, list[str]]:
    """What each (address, name, raw token) puts in place of NAME_MARK and then of
    LINK_MARK: the name made inert (the address when there is none) and the link."""
    marker = "T" * 43
    link = invitation_link(marker)  # the path resolved once for the batch
    return {NAME_MARK: [_inert_name(name) or address for address, name, _raw in invitees],
            LINK_MARK: [link.replace(marker, raw_token) for _address, _name, raw_token in invitees]}


def build_invitation_mails(*, organisation, expires_at, invitees: list[tuple[str, str, str]]) -> list[EmailMessage]:
    """One message per (address, name, raw token), rendered once."""
    subject, body = _render(organisation, expires_at)
    fills = invitee_fills(invitees)
    return [EmailMessage(subject=subject, to=[address],
                         body=body.replace(NAME_MARK, fills[NAME_MARK][i]).replace(LINK_MARK, fills[LINK_MARK][i]))
            for i, (address, _name, _raw) in enumerate(invitees)]
