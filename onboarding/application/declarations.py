"""The data protection notice and undertakings shown in the declarations section.

The notice is versioned: the version accepted is stored with the application,
and a new text gets a new version string (never edit a published version).
"""

from django.utils.translation import gettext_lazy as _

NOTICE_VERSION = "2026.1"

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
    (
        _("How long we keep it"),
        _(
            "For as long as your organisation uses the platform and for seven years after it leaves; a rejected or "
            "withdrawn application is kept for three years."
        ),
    ),
    (
        _("Who can see it"),
        _(
            "You, the competent authority named in the form, the administrators of your state (or the central "
            "administrators) and NIC's auditors. It is not shared with anyone else."
        ),
    ),
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
