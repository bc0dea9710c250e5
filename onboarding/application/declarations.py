"""The data protection notice and undertakings shown in the declarations section.

The notice is versioned: the version accepted is stored with the application. It is
the portal's notice (portal/privacy/notice.py), published and versioned by the
superadmins, once one is published; until then the built-in text below, version
NOTICE_VERSION. Never edit a built-in text: a new one is a new version, and every
earlier one stays in BUILT_IN_NOTICES, what those who accepted it are shown and printed.
"""

from dataclasses import dataclass

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from portal.privacy.models import PrivacyNotice
from portal.privacy.notice import current_notice

FIRST_NOTICE_VERSION = "2026.1"
# The first text left out who else reads an approved application: the admins of the
# organisation it made and of those above it (an admin administers the offices below),
# and the superadmins.
SECOND_NOTICE_VERSION = "2026.1.1"
# The second said nothing of the drafts the daily retention run erases, nor of the returned
# applications it withdraws (onboarding.retention).
NOTICE_VERSION = "2026.1.2"

# Every version promises to keep a rejected or withdrawn application for three years: the
# closed applications' retention policy keeps them so long by default, and a superadmin who
# keeps them for less is told so at the field (onboarding.retention registers the promise).
CLOSED_APPLICATION_PROMISED_DAYS = 3 * 365
CLOSED_APPLICATION_PROMISE = _(
    "The data protection notice nodal officers accept promises to keep a rejected or withdrawn application for "
    "three years (1,095 days)."
)

# Since 2026.1.2 it also promises six months untouched before a draft is erased, or an
# application returned for correction withdrawn (each after a reminder): their policies'
# days, recalled at the field to a superadmin who sets fewer (onboarding.retention,
# onboarding.application.returned).
LEFT_APPLICATION_PROMISED_DAYS = 180
DRAFT_APPLICATION_PROMISE = _(
    "The data protection notice nodal officers accept promises that an application never sent for a decision is "
    "erased only after it has not been touched for six months (180 days)."
)
RETURNED_APPLICATION_PROMISE = _(
    "The data protection notice nodal officers accept promises that an application returned for correction is "
    "withdrawn only after it has not been touched for six months (180 days)."
)

FIRST_HOW_LONG_WE_KEEP_IT = (
    _("How long we keep it"),
    _(
        "For as long as your organisation uses the platform and for seven years after it leaves; a rejected or "
        "withdrawn application is kept for three years."
    ),
)
HOW_LONG_WE_KEEP_IT = (
    _("How long we keep it"),
    _(
        "For as long as your organisation uses the platform and for seven years after it leaves; a rejected or "
        "withdrawn application is kept for three years. An application never sent for a decision is erased after a "
        "reminder by email once it has not been touched for six months; one returned to you for correction and not "
        "sent again is withdrawn in the same way."
    ),
)

FIRST_WHO_CAN_SEE_IT = (
    _("Who can see it"),
    _(
        "You, the competent authority named in the form, the administrators of your state (or the central "
        "administrators) and NIC's auditors. It is not shared with anyone else."
    ),
)
WHO_CAN_SEE_IT = (
    _("Who can see it"),
    _(
        "You, the competent authority named in the form, the administrators of your state (or the central "
        "administrators), the portal's superadmins and NIC's auditors; once the application is approved, also the "
        "administrators of your organisation and of the organisations above it on Sandes. It is not shared with "
        "anyone else."
    ),
)

NOTICE_SECTIONS = [
    (
        _("What we collect"),
        _(
            "The details of your organisation, its nodal officer and its competent authority entered in this form, "
            "the signed authorisation letter, and a record of who did what and when (time, IP address and browser)."
        ),
    ),
    (
        _("Why we collect it"),
        _(
            "To decide whether your organisation may join the Sandes government messaging platform, to contact its "
            "officers about the application, and to keep a record that can be audited."
        ),
    ),
    HOW_LONG_WE_KEEP_IT,
    WHO_CAN_SEE_IT,
    (
        _("How to complain"),
        _(
            "Write to the Grievance Officer, Sandes, National Informatics Centre, A-Block, CGO Complex, Lodhi Road, "
            "New Delhi 110003, or to grievance-sandes@nic.in. If you are not satisfied with the answer you may "
            "approach the Data Protection Board of India."
        ),
    ),
]

UNDERTAKINGS = [
    ("undertaking_true", _("The information in this form is true and complete to the best of my knowledge.")),
    ("undertaking_authorised", _("I am authorised by the competent authority named in this form to make this application.")),
    (
        "undertaking_policy",
        _("The organisation will use the platform for official communication only, under the platform's acceptable use policy."),
    ),
]


@dataclass(frozen=True)
class DeclarationNotice:
    version: str
    sections: list  # (heading, text); a published notice's paragraphs have no heading
    notice_id: int | None = None  # the published notice's row; None for the built-in text


def _earlier(version: str, *replaced: tuple[tuple, tuple]) -> DeclarationNotice:
    """An earlier built-in text: the current sections, each (current, then) pair of ``replaced``
    as it was then (compared by identity: the texts are lazy, translated only when shown)."""
    def as_then(section):
        return next((then for current, then in replaced if current is section), section)
    return DeclarationNotice(version=version, sections=[as_then(section) for section in NOTICE_SECTIONS])


BUILT_IN_NOTICE = DeclarationNotice(version=NOTICE_VERSION, sections=NOTICE_SECTIONS)
BUILT_IN_NOTICES = {
    FIRST_NOTICE_VERSION: _earlier(FIRST_NOTICE_VERSION, (WHO_CAN_SEE_IT, FIRST_WHO_CAN_SEE_IT),
                                   (HOW_LONG_WE_KEEP_IT, FIRST_HOW_LONG_WE_KEEP_IT)),
    SECOND_NOTICE_VERSION: _earlier(SECOND_NOTICE_VERSION, (HOW_LONG_WE_KEEP_IT, FIRST_HOW_LONG_WE_KEEP_IT)),
    NOTICE_VERSION: BUILT_IN_NOTICE,
}


def _published(notice: PrivacyNotice) -> DeclarationNotice:
    paragraphs = notice.paragraphs_in(get_language() or "en")
    return DeclarationNotice(version=notice.version, sections=[("", text) for text in paragraphs], notice_id=notice.pk)


def declaration_notice() -> DeclarationNotice:
    """The notice an officer accepts now, in the active language (one query)."""
    notice = current_notice()
    return BUILT_IN_NOTICE if notice is None else _published(notice)


def declaration_notice_of(version: str) -> DeclarationNotice:
    """The notice of an accepted ``version`` (the current one when none was accepted yet): the
    built-in text without a query, a published version from its row."""
    if version in BUILT_IN_NOTICES:
        return BUILT_IN_NOTICES[version]
    if not version:
        return declaration_notice()
    notice = PrivacyNotice.objects.filter(version=version).first()
    return BUILT_IN_NOTICE if notice is None else _published(notice)
