from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import AccessibleForm, limit_file_size
from portal.organisations.models import Organisation
from verification.forms import ending_confirmation
from verification.rosters.models import InvitationStatus
from verification.rosters.parsing import max_bytes, max_rows
from verification.selectors import EndsElsewhere


def too_big() -> str:
    return _("The file is larger than %(mb)s MB: split it into smaller files.") % {"mb": max_bytes() // (1024 * 1024)}


class RosterUploadForm(AccessibleForm):
    file = forms.FileField(
        label=_("Roster file"),
        widget=forms.ClearableFileInput(attrs={
            "class": "form-control",
            "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }),
        error_messages={"required": _("Choose the roster file to upload."),
                        "empty": _("The file is empty: it needs the template's header row and one row for each person.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "CSV (UTF-8) or Excel workbook (.xlsx) with the template's columns; at most %(mb)s MB and %(rows)s rows."
        ) % {"mb": max_bytes() // (1024 * 1024), "rows": f"{max_rows():,}"}

        limit_file_size(self.fields["file"], max_bytes(), too_big())

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_bytes():
            raise forms.ValidationError(too_big(), code="too_big")
        if not upload.name.lower().endswith((".csv", ".xlsx", ".txt")):
            raise forms.ValidationError(_("Upload a CSV file (.csv) or an Excel workbook (.xlsx)."), code="type")
        return upload


class InvitationsFilterForm(forms.Form):
    """The invitations of one status (the list's tabs)."""

    status = forms.ChoiceField(required=False, choices=InvitationStatus.choices)


class InvitationCancelForm(AccessibleForm):
    confirm = forms.BooleanField(
        label=_("Yes, cancel this invitation"),
        error_messages={"required": _("Tick the box to confirm that you want to cancel this invitation.")},
    )


class InvitationAcceptForm(AccessibleForm):
    """Accepting an invitation on its page. When that verifies the person at once and ends
    their verification or an admin role in another organisation (``ends``:
    invitations.acceptance_ends), only once a box says they know it, as on the join page
    (verification.forms.ending_confirmation)."""

    def __init__(self, *args, organisation: Organisation, ends: EndsElsewhere | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        box = ending_confirmation(organisation, ends)
        if box is not None:
            self.fields["confirm"] = box


class ConfirmForm(AccessibleForm):
    confirm = forms.BooleanField(
        label=_("I have read the preview: apply this roster"),
        error_messages={"required": _("Tick the box to confirm that you want to apply this roster.")},
    )
