from allauth.account import views as account_views
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import rule
from portal.accounts.forms import AddEmailForm, EmailRuleDeleteForm, EmailRuleForm, roles_end_unconfirmed
from portal.accounts.models import EmailSuffixRule
from portal.accounts.services import (
    email_rule_delete,
    email_rule_deleted,
    email_rule_digest,
    email_rule_save,
    email_rule_values,
)
from portal.organisations.selectors import roles_ended_by
from portal.organisations.services import OfficialPowersHeld, holder_ends_own_grounds, official_powers_end_check
from portal.shown import ChangedMeanwhile, shown_on_page, shown_sent


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def email_rules(request):
    form = EmailRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            email_rule_save(actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None if hasattr(exc, "error_dict") else "suffix", exc)
        else:
            messages.success(request, _("Rule added."))
            return redirect("accounts:email_rules")
    return render(request, "portal/email_rules.html", {"form": form, "rules": EmailSuffixRule.objects.all()})


def _rule(pk) -> EmailSuffixRule | None:
    """The rule ``pk``; None when it was deleted (a double click on "Delete", another
    superadmin meanwhile); 404 when there never was one."""
    rule_obj = EmailSuffixRule.objects.filter(pk=pk).first()
    if rule_obj is None and not email_rule_deleted(pk):
        raise Http404
    return rule_obj


def _rule_gone(request):
    messages.info(request, _("This rule was already deleted."))
    return redirect("accounts:email_rules")


def _rule_delete(request, rule_obj: EmailSuffixRule):
    """The deletion asked on a rule's page: a redirect once done (or done already), else the
    rule as it is now and the deletion's form with what stopped it (its box not ticked; the
    rule changed since the page was opened, which is shown as it is now, the box unticked),
    and whether it changed."""
    if request.POST.get("confirm") == "yes":
        try:
            deleted = email_rule_delete(rule_id=rule_obj.pk, actor=request.user, request=request,
                                        shown_values=shown_sent(request.POST))
        except ChangedMeanwhile:
            rule_obj = _rule(rule_obj.pk)
            if rule_obj is None:
                return _rule_gone(request)
            form = EmailRuleDeleteForm({})
            form.is_valid()
            form.errors["confirm"] = form.error_class([_(
                "Nothing was deleted: this rule was changed since this page was opened (by someone else or in another "
                "tab). It is shown above as it is now: check it, then tick the box again to delete it.")])
            return rule_obj, form, True
        if deleted:
            messages.success(request, _("Rule deleted."))
        else:
            messages.info(request, _("This rule was already deleted."))
        return redirect("accounts:email_rules")
    form = EmailRuleDeleteForm({})  # the box not ticked: said at the box, summed up above the page's forms
    form.is_valid()
    return rule_obj, form, False


@rule("superadmin")
@require_http_methods(["GET", "POST"])
def email_rule_edit(request, pk):
    """A rule's page: change it, or delete it. A save, or a deletion, from a page showing a
    rule another superadmin changed since it was opened is refused: what is saved now is said
    at each field that differs, what was typed is kept."""
    rule_obj = _rule(pk)
    if rule_obj is None:  # what was typed is not saved: the rule is no longer there to change
        return _rule_gone(request)
    delete_form, changed_before_deleting = EmailRuleDeleteForm(None), False
    if request.method == "POST" and request.POST.get("action") == "delete":
        outcome = _rule_delete(request, rule_obj)
        if not isinstance(outcome, tuple):
            return outcome
        rule_obj, delete_form, changed_before_deleting = outcome
    saving = request.method == "POST" and request.POST.get("action") != "delete"
    form = EmailRuleForm(
        request.POST if saving else None,
        initial=email_rule_values(rule_obj),
    )
    # Once the form took any kept input; the rule as it is now after a deletion refused for a change.
    shown = email_rule_digest(rule_obj) if changed_before_deleting else shown_on_page(request, email_rule_digest(rule_obj))
    if form.is_bound and form.is_valid():
        try:
            email_rule_save(actor=request.user, request=request, rule_id=rule_obj.pk,
                            shown_values=shown_sent(request.POST), **form.cleaned_data)
        except ChangedMeanwhile:
            rule_obj = _rule(pk)
            if rule_obj is None:
                return _rule_gone(request)
            shown = email_rule_digest(rule_obj)
            form.say_changed_meanwhile(email_rule_values(rule_obj))
        except ValidationError as exc:
            form.add_error(None if hasattr(exc, "error_dict") else "suffix", exc)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("accounts:email_rules")
    return render(request, "portal/email_rule_edit.html",
                  {"form": form, "delete_form": delete_form, "rule": rule_obj, "shown_values": shown},
                  status=400 if delete_form.errors else 200)


class EmailView(account_views.EmailView):
    """allauth's email page (at its URL, account_email), except that "Make primary" on an
    address that is not official is refused, changing nothing, while it would end a role
    nobody else holds (official_powers_end_check, asked in the transaction that makes the
    change, so that a change of roles meanwhile cannot slip between the two), and an
    address to add is checked at its field (forms.AddEmailForm). "Remove" is refused the
    same way, changing nothing, when the address is the official one of a verification an
    admin role rests on that nobody else holds (holder_ends_own_grounds): the role would end
    with it. The page offers no "Make primary" (ACCOUNT_CHANGE_EMAIL: a new address becomes
    the primary one when confirmed); one sent anyway that would end roles others also hold is
    refused, changing nothing, unless the box the change form shows for it (end_roles) is
    sent ticked, as it is refused there."""

    form_class = AddEmailForm

    def post(self, request, *args, **kwargs):
        removing, making_primary = "action_remove" in request.POST, "action_primary" in request.POST
        if "action_add" in request.POST or not (removing or making_primary):
            return super().post(request, *args, **kwargs)
        try:
            with transaction.atomic():
                if removing:
                    with holder_ends_own_grounds(user=request.user):
                        return super().post(request, *args, **kwargs)
                # The address as allauth finds it for the action: none for a value that is no
                # address (a NUL in it, say) or none sent, and the page is shown again unchanged.
                address = self._get_email_address(request) if request.POST.get("email") else None
                if address is not None and not address.primary:
                    official_powers_end_check(user=request.user, new_primary=address.email)
                    ending = roles_ended_by(request.user, address.email)
                    if ending and not AddEmailForm.end_roles_ticked(request.POST):
                        messages.error(request, roles_end_unconfirmed(address.email, ending))
                        return redirect("account_email")
                return super().post(request, *args, **kwargs)
        except OfficialPowersHeld as refusal:
            for message in refusal.messages:
                messages.error(request, message)
            return redirect("account_email")


email = rule("authenticated")(EmailView.as_view())
