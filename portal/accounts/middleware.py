from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from portal import pending
from portal.access import keep_held_back_input, page_held_back_from, page_of_this_site
from portal.permissions import gave_code_lately, gave_second_factor, has_second_factor, needs_second_factor

EXEMPT_PREFIXES = ("/static/", "/healthz", "/i18n/")
SAFE_METHODS = ("GET", "HEAD")
ACCOUNT_PREFIX = "/accounts/"
SETUP_NEXT_KEY = "mfa_setup_next"
# allauth's pages that read or change the second factor itself: a password typed again
# opens them to whoever knows it, and what they give (recovery codes, an account without
# the app) is the second factor. They ask a code of it instead (gave_code_lately).
SECOND_FACTOR_PAGES = ("mfa_deactivate_totp", "mfa_view_recovery_codes", "mfa_download_recovery_codes",
                       "mfa_generate_recovery_codes")
# allauth's pages (under /accounts/) that a role holder's session which has not given its
# second factor, or whose account has none yet, still opens: signing in and out, those that
# ask the code or set up the app (the password asked again first), the second factor's own
# (asked above), confirming an address by its code, and a forgotten password's (used signed
# out by whoever holds the mailbox). Every other one, the email page and changing or setting
# the password among them, asks the code (or the set-up) first, as every page of the portal does.
OPEN_ACCOUNT_PAGES = frozenset({
    "account_login", "account_logout", "account_inactive", "account_signup", "account_reauthenticate",
    "account_email_verification_sent", "account_confirm_login_code", "account_reset_password",
    "account_reset_password_done", "account_reset_password_from_key", "account_reset_password_from_key_done",
    "mfa_index", "mfa_authenticate", "mfa_reauthenticate", "mfa_activate_totp", *SECOND_FACTOR_PAGES,
})


class MfaEnforcementMiddleware:
    """Platform roles (state admins, auditors, superadmins) and staff must set up a second factor before doing anything
    else, the Django admin included (allauth enforces no enrolment by itself), and each session of theirs must have
    given it: allauth asks the code at sign-in only of an account that already had the app then.

    A form such a session sends (any method but GET and HEAD) is not passed to its view:
    what was typed is kept for the page the form was on, shown there again once the second
    factor is given, as NoticeMiddleware does (a file cannot be kept: the person is told to
    choose it again). Checked once the URL is resolved and the form's CSRF token checked
    (``process_view``, after CsrfViewMiddleware's): a post another site made keeps nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        # Whoever holds a platform role, and staff (who can reach the Django admin): read with
        # the user's roles (no query of their own).
        user = request.user
        if (path.startswith("/accounts/2fa/") and request.path in {reverse(name) for name in SECOND_FACTOR_PAGES}
                and has_second_factor(user) and not gave_code_lately(request)):
            return code_asked_again(request, _("To read or change your second factor, enter a code of your "
                                               "authenticator app (or one of your recovery codes) first."))
        if request.method in SAFE_METHODS and self._held_back(request):
            return self._first(request, request.get_full_path())
        if request.session.get(SETUP_NEXT_KEY) == request.get_full_path():
            del request.session[SETUP_NEXT_KEY]  # arrived where the set-up started from
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        if request.method in SAFE_METHODS or not self._held_back(request):
            return None
        page = page_held_back_from(request)
        keep_held_back_input(
            request, page,
            file_again=_("Nothing was uploaded yet: your role in the portal needs two-factor sign-in first. Then "
                         "choose the file again."),
            kept=_("Nothing was done yet: your role in the portal needs two-factor sign-in first. What you typed is "
                   "kept: you will find it on its page, to check and send again."),
            send_again=_("Nothing was done yet: your role in the portal needs two-factor sign-in first. Then send "
                         "it again."),
        )
        return self._first(request, page)

    @staticmethod
    def _held_back(request) -> bool:
        """Whether the request waits for the second factor: a role that needs one, on a page
        that is not open without it, and the account has none yet or this session gave none."""
        path, user = request.path_info, request.user
        return (not path.startswith(EXEMPT_PREFIXES) and needs_second_factor(user) and not _open_account_page(path)
                and (not has_second_factor(user) or not gave_second_factor(request)))

    def _first(self, request, page: str):
        """The set-up, or the page asking the code, leading on to ``page``."""
        return self.set_up(request, page) if not has_second_factor(request.user) else self.ask_code(request, page)

    def set_up(self, request, page: str):
        """No authenticator app yet: set one up first."""
        # Say why, and keep the page first asked for: the recovery codes page, the
        # last step of the set-up, offers the way back to it.
        if request.session.get(SETUP_NEXT_KEY) is None:
            messages.info(request, _("Your role in the portal needs two-factor sign-in. Set up an authenticator app "
                                     "to continue; it takes a minute."))
        page = page_of_this_site(request, page)
        if page is not None:
            request.session[SETUP_NEXT_KEY] = page
        return _to(request, "mfa_activate_totp", page)

    def ask_code(self, request, page: str):
        """An authenticator app, but this session never gave a code of it (signed in with the
        password alone before the app was set up in another browser): allauth's page that
        asks for a code, which then leads on to the page."""
        messages.info(request, _("Your role in the portal needs two-factor sign-in. Enter a code of your "
                                 "authenticator app to continue."))
        return _to(request, "mfa_reauthenticate", page)


def code_asked_again(request, message: str):
    """allauth's page that asks a code of the authenticator app again (``mfa_reauthenticate``),
    which then leads on to the page asked for, saying ``message`` first: for a page that reads
    or takes away a second factor, when this session gave none lately (gave_code_lately)."""
    messages.info(request, message)
    return _to(request, "mfa_reauthenticate", request.get_full_path())


def _open_account_page(path: str) -> bool:
    """Whether ``path`` is one of OPEN_ACCOUNT_PAGES."""
    if not path.startswith(ACCOUNT_PREFIX):
        return False
    try:
        return resolve(path).url_name in OPEN_ACCOUNT_PAGES
    except Resolver404:
        return False


def _to(request, url_name, page: str):
    """allauth's page ``url_name``, which leads on to ``page`` (its ``next``)."""
    # Only a page of this site: a path such as "//host/..." is another host's to a browser.
    page = page_of_this_site(request, page)
    if page is None:
        return redirect(url_name)
    return redirect(f"{reverse(url_name)}?{urlencode({'next': page})}")


def page_asked_for_before_setup(request) -> str | None:
    """The page the two-factor set-up started from (kept in the session), when it is a page
    of this site: checked again where it is offered, whatever the session holds."""
    return page_of_this_site(request, request.session.get(SETUP_NEXT_KEY) or "")


class SignedInAsCookieMiddleware:
    """At each sign-in, the browser keeps which account signed in (a signed cookie): a
    form posted after the session ended is kept for that account only (portal.pending).
    At a sign-out the cookie is removed: a form posted on that browser afterwards is
    nobody's to keep."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Removed with the attributes it was set with (a browser matches them to replace it).
        attributes = {"httponly": True, "secure": settings.SESSION_COOKIE_SECURE, "samesite": "Lax"}
        user_id = getattr(request, "signed_in_as", None)
        if user_id is not None:
            response.set_signed_cookie(pending.PERSON_COOKIE, user_id, salt=pending.PERSON_COOKIE_SALT,
                                       max_age=pending.PERSON_COOKIE_MAX_AGE, **attributes)
        elif getattr(request, "signed_out", False):  # accounts.signals.on_logged_out
            response.set_cookie(pending.PERSON_COOKIE, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT",
                                **attributes)
        return response
