"""Everything the portal holds about one person, for them to download (a JSON file
and their files, in a zip), assembled from sections that the apps owning the data
register (the core's own here; onboarding's and verification's from their
AppConfig.ready). Each section is given the person and returns only what is theirs,
by a filter on them (never on anything they typed), with a bounded number of rows.

The download is bounded: at most ``MAX_FILES`` files and ``MAX_BYTES`` bytes of
files (the rest listed as left out, with how to ask for them), written to a temporary
file (not held in memory: two downloads at once would hold 100 MB in a web worker)
that the response streams, and at most ``DOWNLOADS_PER_HOUR`` an hour per person."""

import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.files.storage import Storage
from django.utils import timezone

from portal.permissions import AnyUser

MAX_FILES = 50
MAX_BYTES = 50 * 1024 * 1024
MAX_AUDIT_EVENTS = 5000
DOWNLOADS_PER_HOUR = 5
SPOOL_BYTES = 1024 * 1024  # a download this small stays in memory


@dataclass
class PersonalFile:
    name: str  # the name in the zip
    storage: Storage
    path: str
    size: int


@dataclass(frozen=True)
class PersonalDataSection:
    name: str
    collect: Callable[[AnyUser], object]
    files: Callable[[AnyUser], list[PersonalFile]] = field(default=lambda user: [])


_SECTIONS: dict[str, PersonalDataSection] = {}


def personal_data_register(section: PersonalDataSection) -> None:
    _SECTIONS[section.name] = section


def personal_data_of(user: AnyUser) -> dict:
    """The JSON part: every registered section's data about ``user``."""
    data = {"generated_at": timezone.now().isoformat(timespec="seconds"), "person": user.email}
    for name in sorted(_SECTIONS):
        data[name] = _SECTIONS[name].collect(user)
    return data


def personal_files_of(user: AnyUser) -> list[PersonalFile]:
    return [file for name in sorted(_SECTIONS) for file in _SECTIONS[name].files(user)]


def personal_data_zip(user: AnyUser) -> tuple[tempfile.SpooledTemporaryFile, dict]:
    """The zip (data.json and the person's files, bounded), in a temporary file read
    from its start (the caller closes it: it is removed then), and a summary of it."""
    data = personal_data_of(user)
    files, left_out, total = [], [], 0
    for file in personal_files_of(user):
        if len(files) >= MAX_FILES or total + file.size > MAX_BYTES:
            left_out.append(file.name)
            continue
        files.append(file)
        total += file.size
    data["files_included"] = [file.name for file in files]
    data["files_left_out"] = left_out
    output = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (the response closes it)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False, default=str, sort_keys=True))
        for file in files:
            with file.storage.open(file.path, "rb") as handle, archive.open(f"files/{file.name}", "w") as entry:
                shutil.copyfileobj(handle, entry, 1024 * 1024)  # their sizes are bounded above
    size = output.tell()
    output.seek(0)
    return output, {"files": len(files), "left_out": len(left_out), "bytes": total, "size": size}


# The core's own sections --------------------------------------------------------------------

def _account(user: AnyUser) -> dict:
    from allauth.account.models import EmailAddress  # noqa: PLC0415 (apps loaded)

    return {
        "email": user.email, "full_name": user.full_name, "language": user.language, "date_joined": user.date_joined,
        "last_login": user.last_login, "is_active": user.is_active,
        "email_addresses": list(EmailAddress.objects.filter(user=user).values("email", "verified", "primary")),
    }


def _roles(user: AnyUser) -> dict:
    from portal.organisations.models import Membership, PlatformRoleGrant  # noqa: PLC0415

    return {
        "platform_roles": list(PlatformRoleGrant.objects.filter(user=user).values(
            "role", "jurisdiction", "granted_at", "revoked_at")),
        "organisation_memberships": list(Membership.objects.filter(user=user).values(
            "organisation__name", "role", "is_active", "created_at")),
    }


def _notice(user: AnyUser) -> list:
    from portal.privacy.models import NoticeAcceptance  # noqa: PLC0415

    return list(NoticeAcceptance.objects.filter(user=user).values("notice__version", "accepted_at"))


def _audit(user: AnyUser) -> dict:
    """What the person did (events they are the actor of), newest first, bounded."""
    from portal.audit.models import AuditEvent  # noqa: PLC0415

    events = list(AuditEvent.objects.filter(actor_id=user.pk).order_by("-id").values(
        "created_at", "action", "target_type", "target_id", "ip", "user_agent")[:MAX_AUDIT_EVENTS + 1])
    return {"events": events[:MAX_AUDIT_EVENTS], "more_not_listed": len(events) > MAX_AUDIT_EVENTS}


def _privacy_requests(user: AnyUser) -> list:
    from portal.privacy.models import PrivacyRequest  # noqa: PLC0415

    return list(PrivacyRequest.objects.filter(user=user).values(
        "kind", "details", "status", "made_at", "due_at", "decided_at", "decision_reason"))


def _nominee(user: AnyUser) -> dict | None:
    from portal.privacy.models import Nominee  # noqa: PLC0415

    return Nominee.objects.filter(user=user).values("name", "email", "relationship", "recorded_at").first()


personal_data_register(PersonalDataSection(name="account", collect=_account))
personal_data_register(PersonalDataSection(name="nominee", collect=_nominee))
personal_data_register(PersonalDataSection(name="roles", collect=_roles))
personal_data_register(PersonalDataSection(name="notice_acceptances", collect=_notice))
personal_data_register(PersonalDataSection(name="activity", collect=_audit))
personal_data_register(PersonalDataSection(name="data_protection_requests", collect=_privacy_requests))
