"""The superadmin's confirmation that a claimed domain belongs to its organisation."""

from django import forms
from django.utils.translation import gettext as _

from portal.forms import AccessibleForm
from portal.text import before_full_stop


class DomainClaimConfirmForm(AccessibleForm):
    """One claim's box on the domain claims page (one form per claim: its box's id names the
    claim, so that the error summary links to the box of the claim refused). The box sends
    "yes", as the view asks."""

    confirm = forms.BooleanField(widget=forms.CheckboxInput(attrs={"value": "yes"}))

    def __init__(self, *args, claim, **kwargs):
        kwargs.setdefault("auto_id", f"%s-{claim.pk}")
        super().__init__(*args, **kwargs)
        self.claim = claim
        names = {"domain": claim.domain, "organisation": claim.organisation.name}
        field = self.fields["confirm"]
        field.label = _("I have confirmed that %(domain)s belongs to %(organisation)s") % names
        field.error_messages["required"] = _("Tick the box to confirm that %(domain)s belongs to %(organisation)s.") % {
            **names, "organisation": before_full_stop(claim.organisation.name)}

    @classmethod
    def refused(cls, claim):
        """The claim's form as sent without its box ticked: the error at the box."""
        form = cls({}, claim=claim)
        form.is_valid()
        return form
