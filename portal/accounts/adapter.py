from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.utils import filter_users_by_email
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_str
from django.utils.translation import gettext
from email_validator import EmailNotValidError

from portal.accounts.mail_language import allauth_mail_language
from portal.accounts.official_email import classify_email, is_contractor_address, normalise_mailbox, validated_email
from portal.accounts.signals import password_refusal_record, primary_address_replaced
from portal.client import client_ip, ipv4_unmapped
from portal.mail.models import OutboxPriority, with_priority
from portal.organisations.selectors import official_powers_of, roles_ended_by
from portal.organisations.services import OfficialPowersHeld, holder_ends_own_grounds, official_powers_end_check
from portal.permissions import is_state_admin, is_superadmin


def site_link(path: str) -> str:
    """A link in mail: the path on SITE_URL (README: the base of links in emails), never
    on the host name the request came in with (a Host header anyone may send)."""
    return settings.SITE_URL.rstrip("/") + path


# The links allauth puts in these mails from the request's host (allauth.account.internal.flows):
# {template: {context key: URL name}}, made SITE_URL's in send_mail.
SITE_LINKS = {
    "account/email/unknown_account": {"signup_url": "account_signup"},
    "account/email/account_already_exists": {"signup_url": "account_signup", "password_reset_url": "account_reset_password"},
}


UNKNOWN_ACCOUNT = "account/email/unknown_account"
# What a sign-up or a password reset at the address of a closed (inactive) account is told
# (templates/account/email/account_closed_*): the account is closed, and whom to ask.
CLOSED_ACCOUNT = "account/email/account_closed"


def closed_account_at(email: str) -> bool:
    """Whether ``email`` is the address of accounts that are all closed (inactive)."""
    holders = filter_users_by_email(email)
    return bool(holders) and not any(holder.is_active for holder in holders)


@dataclass(frozen=True)
class PortalSite:
    """What allauth's mail templates call the site."""

    name: str
    domain: str


class PortalAccountAdapter(DefaultAccountAdapter):
    """Anyone may sign up (a public user); the official-email rules apply where a
    role needs them (nodal officer, competent authority), not at sign-up."""

    def is_open_for_signup(self, request):
        return True

    def clean_email(self, email: str) -> str:
        """The address in one form per mailbox (sign-up, an added address, the lookup of a
        password reset): one that differs only in how it is written is the same account.
        Refused at its field, nothing mailed, when no mail from outside can reach it (at
        localhost, an IP address, a domain without a dot): the one check of an address's
        form (official_email.validated_email)."""
        email = normalise_mailbox(super().clean_email(email))
        try:
            validated_email(email)
        except EmailNotValidError as error:
            raise ValidationError(gettext("Enter a valid email address."), code="invalid") from error
        return email

    def get_client_ip(self, request) -> str:
        """The client's address for allauth's rate limits and sessions: the one the portal
        reads everywhere (portal.client.client_ip), also for a request with fewer
        X-Forwarded-For hops than trusted proxies (one that did not come through them: the
        peer's address), where allauth's reading raises ImproperlyConfigured, a 500. An
        IPv4 client's address written as an IPv6 one as the IPv4 address it is
        (``ipv4_unmapped``): allauth counts an IPv6 client on its /64 network, the same
        ("::") for every IPv4 client so written."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ipv4_unmapped(ip)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """The key allauth counts failed sign-ins of one account under ("login_failed"):
        the mailbox the typed address reaches, however written (normalise_mailbox: accounts
        are kept in that form), and not allauth's host of the request, which Django takes as
        the client writes it ("host:port", upper case, a trailing dot): each form counted
        afresh, and a guess past the limit was let through under another one."""
        login = credentials.get("email", credentials.get("username", ""))
        return f"login:{normalise_mailbox(str(login))}"

    def authentication_failed(self, request, **credentials):
        """A password allauth refused (counted by its "login_failed" rate limit): audited
        against the account the address names, none for an address without one
        (signals.password_refusal_record)."""
        super().authentication_failed(request, **credentials)
        password_refusal_record(request=request, credentials=credentials)

    def is_safe_url(self, url) -> bool:
        """Whether ``url`` (a "next" page) may be gone on to, as allauth decides; an address
        no URL parser accepts (``http://[::1``, an IPv6 host left open) is not one: allauth's
        check would raise, a 500 on the sign-in, sign-up and sign-out pages."""
        try:
            return super().is_safe_url(url)
        except ValueError:
            return False

    def send_account_already_exists_mail(self, email: str) -> None:
        """A sign-up with an address that has an account: allauth mails it to use a password
        reset, which ignores an inactive account (the reset then says no account exists):
        for a closed account, a mail saying it is closed and whom to ask instead."""
        if closed_account_at(email):
            self.send_mail(CLOSED_ACCOUNT, email, {})
            return
        super().send_account_already_exists_mail(email)

    def send_mail(self, template_prefix, email, context):
        if template_prefix == UNKNOWN_ACCOUNT and closed_account_at(email):
            # A password reset for the address of a closed account (allauth finds active
            # accounts only, and sends this through send_mail alone): not "no account here,
            # sign up", which the sign-up answers with "an account exists".
            template_prefix, context = CLOSED_ACCOUNT, {key: value for key, value in context.items() if key == "request"}
        # Mail goes through the default mailer, which is the outbox; render it in
        # the language of the person asking on the page, or of the account it goes to
        # when anyone may have asked (portal/accounts/mail_language.py), signed with the
        # portal's name (allauth would name the host the request came to).
        request = context.get("request") or getattr(self, "request", None)
        language = allauth_mail_language(template_prefix=template_prefix, email=email, context=context, request=request)
        links = {key: site_link(reverse(name)) for key, name in SITE_LINKS.get(template_prefix, {}).items()}
        with translation.override(language or translation.get_language()):
            site = PortalSite(name=gettext("Sandes onboarding portal"), domain=urlsplit(settings.SITE_URL).netloc)
            super().send_mail(template_prefix, email, {**context, **links, "current_site": site})

    def format_email_subject(self, subject: str) -> str:
        """allauth's subject after the portal's short name in the mail's language, as its
        greeting names the portal: "[संदेस ऑनबोर्डिंग] ...", not an English prefix before a
        Hindi or Marathi subject (allauth's ACCOUNT_EMAIL_SUBJECT_PREFIX has one language)."""
        return f"[{gettext('Sandes onboarding')}] {force_str(subject)}"

    def render_mail(self, template_prefix, email, context, headers=None):
        """allauth's mail, sent before any other (OutboxPriority.URGENT): a code, a reset
        or an address to confirm, that a person waits for, and that expires; asked for by
        its recipient on a page, it is offered to the relay even when their mailbox was
        refused as unknown before (a mailbox created since: portal/mail/delivery.py)."""
        return with_priority(super().render_mail(template_prefix, email, context, headers=headers),
                             OutboxPriority.URGENT, asked_for=True)

    def get_reset_password_from_key_url(self, key: str) -> str:
        """The password-reset mail's link, on SITE_URL (allauth builds it from the request's
        host); its path as allauth makes it."""
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return site_link(path.replace("UID-KEY", quote(key)))

    def get_login_redirect_url(self, request):
        """State administrators land on their queue; everyone else where allauth sends them."""
        if is_state_admin(request.user) or is_superadmin(request.user):
            return reverse("onboarding:queue")
        return super().get_login_redirect_url(request)

    def get_email_verification_redirect_url(self, email_address):
        """Where the code that confirms an address leads: the email page when the change
        ended the person's roles (confirm_email): the page allauth leads to (a state
        administrator's queue) may be one of those roles' only."""
        if getattr(self.request, "roles_ended", None):
            return reverse("account_email")
        return super().get_email_verification_redirect_url(email_address)

    def confirm_email(self, request, email_address):
        """allauth's confirmation, in one transaction, refused (False: not confirmed, not
        made primary, the person told why) when the address would replace an official
        primary address (ACCOUNT_CHANGE_EMAIL) whose roles nobody else would hold. Asked
        first, under locks held until the change commits: allauth removes the old address
        before it says the primary one changed, and the verifications and admin roles
        resting on that address would end with it: so would an admin role resting on a
        verification at the old address when the new one is official too
        (holder_ends_own_grounds). The change is recorded, and the powers the old address
        earned end, against the account's primary address as it was (primary_address_replaced),
        not the one allauth names."""
        try:
            with transaction.atomic():
                if account_settings.CHANGE_EMAIL and email_address.user_id:
                    official_powers_end_check(user=email_address.user, new_primary=email_address.email)
                    # Named to the person before (forms.RolesEndConfirmed, the code's page) and after.
                    ending = roles_ended_by(email_address.user, email_address.email)
                    # Also those that end with a verification at the old address, which leaves the
                    # account (the new one official too): told after, by what ended.
                    old, held = email_address.user.email, official_powers_of(email_address.user)
                    with (holder_ends_own_grounds(user=email_address.user),
                          primary_address_replaced(request=request, user=email_address.user)):
                        confirmed = super().confirm_email(request, email_address)
                    kept = set(official_powers_of(email_address.user)) if confirmed else set(held)
                    lapsed = [name for name in held if name not in ending and name not in kept]
                    if lapsed:
                        request.roles_ended = [*ending, *lapsed]  # get_email_verification_redirect_url
                        self.add_message(request, messages.WARNING, message=gettext(
                            "Your primary address is now %(email)s. Your verification with %(old)s ended as that address "
                            "left your account, and these roles, which rested on it, ended: %(roles)s. Ask to be verified "
                            "again with your new address.") % {"email": email_address.email, "old": old,
                                                                "roles": ", ".join(lapsed)})
                    if confirmed and ending:
                        request.roles_ended = ending  # get_email_verification_redirect_url
                        if is_contractor_address(email_address.email):
                            said = gettext("Your primary address is now %(email)s, a contractor's address, which "
                                           "cannot hold these roles: they ended: %(roles)s.")
                        elif classify_email(email_address.email).eligible_as_officer:
                            said = gettext("Your primary address is now %(email)s, not an address of the "
                                           "organisations of these roles: they ended: %(roles)s.")
                        else:
                            said = gettext("Your primary address is now %(email)s, which is not official: these "
                                           "roles ended: %(roles)s.")
                        self.add_message(request, messages.WARNING,
                                         message=said % {"email": email_address.email, "roles": ", ".join(ending)})
                    return confirmed
                return super().confirm_email(request, email_address)
        except OfficialPowersHeld as refusal:
            for message in refusal.messages:
                self.add_message(request, messages.ERROR, message=message)
            return False
