from allauth.account import app_settings as account_settings
from allauth.account.adapter import get_adapter
from allauth.account.forms import AddEmailForm as AllauthAddEmailForm
from allauth.account.forms import ConfirmEmailVerificationCodeForm as AllauthConfirmEmailVerificationCodeForm
from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.account.models import EmailAddress
from allauth.core import context
from allauth.core.internal.cryptokit import compare_user_code
from allauth.mfa.totp.forms import ActivateTOTPForm as AllauthActivateTOTPForm
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django import forms
from django.contrib.auth.hashers import make_password
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import SuffixKind
from portal.accounts.official_email import classify_email, is_contractor_address, normalise_mailbox
from portal.accounts.services import unconfirmed_holders_release
from portal.forms import AccessibleForm, ShowsKeptInput
from portal.organisations.models import Membership
from portal.organisations.selectors import (
    address_change_ends,
    admin_roles_named,
    official_powers_of,
    organisations_left_without_admin,
    roles_ended_by,
    verifications_suspended_by,
)
from portal.organisations.services import official_powers_end_check, own_grounds_last_admin
from portal.permissions import holds_official_powers


class EmailRuleDeleteForm(AccessibleForm):
    """The box that confirms a rule's deletion (it sends "yes", as the view asks)."""

    confirm = forms.BooleanField(label=_("Yes, delete this rule"), widget=forms.CheckboxInput(attrs={"value": "yes"}),
                                 error_messages={"required": _("Tick the box to confirm the deletion.")})
    buttons = (("action", "delete"),)  # templates/portal/email_rule_edit.html


class EmailRuleForm(AccessibleForm):
    suffix = forms.CharField(
        label=_("Domain suffix"),
        max_length=253,
        help_text=_("e.g. gov.in, or -external.gov.in for a label ending"),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=SuffixKind.choices, widget=forms.Select(attrs={"class": "form-select"}))
    note = forms.CharField(
        label=_("Note"), max_length=200, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    buttons = (("action", "save"),)  # a rule's page (templates/portal/email_rule_edit.html)


class ActivateTOTPForm(AllauthActivateTOTPForm):
    """allauth's form (settings.MFA_FORMS), except that showing the page again keeps the
    secret it showed. allauth makes a new one each time, so someone who scanned the QR code
    and then changed the page's language, or reloaded it, got "Incorrect code" for the code
    their app shows. The secret is forgotten once activated (signals.on_authenticator_added)."""

    def __init__(self, *args, **kwargs):
        shown = context.request.session.get(SECRET_SESSION_KEY)
        super().__init__(*args, **kwargs)
        if shown:
            self.secret = context.request.session[SECRET_SESSION_KEY] = shown


class LoginForm(AllauthLoginForm):
    """allauth's form (settings.ACCOUNT_FORMS), except that the address typed is read in its
    mailbox form (normalise_mailbox, as the adapter's ``clean_email`` keeps it at sign-up):
    allauth looks the account up as typed, so "asha.k@ｍha.gov.in" (a full-width letter, as
    some input methods type it), accepted at sign-up as asha.k@mha.gov.in, did not sign in
    written the same way. The failed sign-ins are counted per mailbox then too."""

    def clean_login(self) -> str:
        return normalise_mailbox(super().clean_login())


class SignupForm(AllauthSignupForm):
    """allauth's form (settings.ACCOUNT_FORMS), except that a sign-up with an address that
    has an account hashes the password typed, as a new account's is, and forgets it.
    allauth answers both alike (ACCOUNT_PREVENT_ENUMERATION) but only mails the "account
    already exists" notice, so with a slow hasher (PBKDF2) the answer came many times
    sooner and told whoever signs up that the address has an account; Django's
    ``authenticate`` hashes the password of an unknown user for the same reason."""

    def try_save(self, request):
        if self.account_already_exists and self.cleaned_data.get("password1"):
            make_password(self.cleaned_data["password1"])
        return super().try_save(request)


def reset_reaches(user, email: str) -> bool:
    """Whether a password reset for ``user`` may be mailed to ``email`` (in its mailbox
    form): an address of the account that is confirmed, or the account's own address
    (``User.email``), which its owner typed at sign-up, or confirmed since, the way back in
    for someone who signed up and never confirmed it. Not an address added to the account
    and not confirmed: a staff account adds one to anyone's account "for its owner to
    confirm", and a link mailed there let it set the owner's password."""
    return (normalise_mailbox(user.email) == email
            or EmailAddress.objects.filter(user_id=user.pk, email__iexact=email, verified=True).exists())


class ConfirmEmailVerificationCodeForm(AllauthConfirmEmailVerificationCodeForm):
    """allauth's form (settings.ACCOUNT_FORMS), except that the right code, which proves the
    address its owner's, first has the accounts that hold it unconfirmed give it up
    (``unconfirmed_holders_release``): a stranger's sign-up at someone's address, never
    confirmed, kept its owner from adding it to their own account ("A user is already
    registered with this email address"), for the year until unused accounts are erased."""

    def clean_code(self) -> str:
        code = self.cleaned_data.get("code") or ""
        if self.user is not None and self.user.pk and self.email and compare_user_code(actual=code,
                                                                                       expected=self.expected_code):
            unconfirmed_holders_release(address=self.email, owner=self.user, request=context.request)
        return super().clean_code()


class ResetPasswordForm(AllauthResetPasswordForm):
    """allauth's form (settings.ACCOUNT_FORMS), except that
    - the address it answers with is the mailbox's (the adapter's ``clean_email``), not the
      one typed. allauth looks the account up by the cleaned address but returns the typed
      one, which is also the key of the "reset_password" rate limit: "someone@ｍahaagri.gov.in"
      and its look-alikes each counted afresh, while the mail, its domain IDNA-encoded when
      sent, reached one mailbox (the limit now counts the mailbox in any case: accounts.mail_limits);
    - a link goes only for the accounts the address reaches (``reset_reaches``): allauth falls
      back to an unconfirmed address when no account has it confirmed. An address that
      reaches none is answered as one with no account (allauth's "unknown account" notice
      under ACCOUNT_PREVENT_ENUMERATION, its field error without)."""

    def clean_email(self) -> str:
        email = get_adapter().clean_email(super().clean_email())
        self.users = [user for user in self.users if reset_reaches(user, email)]
        if not self.users and not account_settings.PREVENT_ENUMERATION:
            raise get_adapter().validation_error("unknown_email")
        return email


class AddEmailForm(ShowsKeptInput, AllauthAddEmailForm):
    """allauth's form (views.EmailView), except that an address which, once confirmed,
    would replace an official primary address (ACCOUNT_CHANGE_EMAIL) is refused at the
    field while that would end a role nobody else holds: the last superadmin, or an
    organisation's last admin, hands it over first (asked again at the confirmation,
    adapter.confirm_email). A person whose primary address earns roles (a platform role, an
    organisation's admin role) is told which, and an address that cannot hold them (one that
    is not official, or a contractor's: each is said to be what it is), which ends them once
    the code mailed to it is entered (official_powers_end), is refused at a box naming them
    until it is ticked, as a revocation is confirmed (the page asking for the code names
    them again). A person with a verification resting on an address that leaves the account
    with the change (every confirmed address but the new one) is told which organisations'
    verifications it suspends, and the change is refused at the same box until it is ticked
    (the page asking for the code names them again). An address typed when the session
    ended, or on a page older than the last sign-in, is in the box again (ShowsKeptInput)."""

    end_roles = forms.BooleanField(label=_("Yes, end these roles if the change of address ends them"), required=False)
    confirming_fields = ("end_roles",)  # shown again after a sign-in, the roles' ending is ticked again by hand

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Roles held on a domain a superadmin took off the official list since end too.
        held = (official_powers_of(self.user) if account_settings.CHANGE_EMAIL and self.user is not None
                and (classify_email(self.user.email).eligible_as_officer or holds_official_powers(self.user)) else [])
        suspended = (verifications_suspended_by(self.user) if account_settings.CHANGE_EMAIL and self.user is not None
                     else [])
        if not held and not suspended:
            del self.fields["end_roles"]
            return
        said = []
        if held:
            said.append(gettext(
                "Your roles need an official primary address: %(roles)s. Changing to an address that is not official, "
                "or to a contractor's address, ends them. An official address of another department ends an "
                "organisation admin role given when its application was approved.") % {"roles": ", ".join(held)})
        if suspended:
            said.append(gettext(
                "Changing your address suspends your verification in these organisations, which rests on an address "
                "that then leaves your account: %(organisations)s. You can then ask to be verified again with your "
                "new address.") % {"organisations": ", ".join(suspended)})
            self.fields["end_roles"].label = (
                _("Yes, end these roles if the change of address ends them, and suspend these verifications")
                if held else _("Yes, suspend these verifications with the change of address"))
        self.fields["end_roles"].help_text = " ".join(said)

    def clean_email(self) -> str:
        email = super().clean_email()
        if account_settings.CHANGE_EMAIL:
            official_powers_end_check(user=self.user, new_primary=email)
        return email

    @classmethod
    def end_roles_ticked(cls, data) -> bool:
        """Whether ``data`` (a post of the email page) sends the box ending the roles ticked,
        read by the form's own field as the form reads it: a "Make primary" (allauth's action
        on the page, not this form's) is refused unless it does, as the form refuses an
        address to add (``clean``)."""
        field = cls.base_fields["end_roles"]
        return field.clean(field.widget.value_from_datadict(data, None, "end_roles"))

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        if "end_roles" not in self.fields or not email:
            return cleaned
        # The admin roles resting on a verification at an address that leaves the account
        # with the change: refused outright where nobody else would hold one (as the
        # confirmation would refuse it, after the code), else confirmed by the box too.
        change = address_change_ends(self.user, email)
        lapsing = change.lapsing
        last = organisations_left_without_admin(lapsing)
        for role in lapsing:
            if role.organisation_id in last:
                self.add_error("email", own_grounds_last_admin(role.organisation))
        if last or cleaned.get("end_roles"):
            return cleaned
        ending = roles_ended_by(self.user, email)
        if ending:
            self.add_error("end_roles", roles_end_unconfirmed(email, ending))
        if lapsing:  # which says the verification they rest on ends too
            self.add_error("end_roles", roles_lapse_unconfirmed(email, lapsing))
        if change.suspended:
            self.add_error("end_roles", verifications_suspend_unconfirmed(email, change.suspended))
        return cleaned


def roles_lapse_unconfirmed(email: str, lapsing: list[Membership]) -> str:
    """What a person is told when making ``email`` their primary address would end the admin
    roles ``lapsing`` (address_change_ends: resting on a verification at an address that then
    leaves the account) and they have not ticked the box confirming it."""
    return gettext(
        "When %(email)s becomes your primary address, your other addresses leave your account: your verification "
        "with one of them ends, and these roles, which rest on it, end with it: %(roles)s. Tick the box to confirm; "
        "you can then ask to be verified again with your new address.") % {
        "email": email, "roles": ", ".join(admin_roles_named(lapsing))}


def verifications_suspend_unconfirmed(email: str, suspended: list[str]) -> str:
    """What a person is told when making ``email`` their primary address would suspend their
    verification in the organisations ``suspended`` (address_change_ends: resting on an
    address that then leaves the account) and they have not ticked the box confirming it."""
    return gettext(
        "When %(email)s becomes your primary address, your other addresses leave your account: your verification "
        "in these organisations, which rests on one of them, is suspended: %(organisations)s. Tick the box to "
        "confirm; you can then ask to be verified again with your new address.") % {
        "email": email, "organisations": ", ".join(suspended)}


def roles_end_unconfirmed(email: str, ending: list[str]) -> str:
    """What a person is told when making ``email`` their primary address would end the roles
    ``ending`` and they have not ticked the box confirming it."""
    if is_contractor_address(email):
        said = gettext("%(email)s is a contractor's address, which cannot hold these roles: making it your "
                       "primary address ends them: %(roles)s. Tick the box to confirm, or enter an official "
                       "address that is not a contractor's.")
    elif classify_email(email).eligible_as_officer:  # official, of none of these roles' organisations
        said = gettext("%(email)s is not an address of the organisations of these roles: making it your primary "
                       "address ends them: %(roles)s. Tick the box to confirm, or enter an address of theirs.")
    else:
        said = gettext("%(email)s is not an official address: making it your primary address ends these "
                       "roles: %(roles)s. Tick the box to confirm, or enter an official address.")
    return said % {"email": email, "roles": ", ".join(ending)}
