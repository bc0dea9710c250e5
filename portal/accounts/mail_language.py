"""In which language allauth's mail is written (the adapter's send_mail).

Most of it goes to the person who asked for it, now, on a page: the code that confirms
the address one signs up, signs in or adds an address with, or the "no account at this
address" answer. That is written in the language of the page they asked on; it is their
choice, made now, and a newcomer has no other.

Some goes to an account at the request of whoever typed its address on a page anyone
may open: "an account already exists" (a sign-up with an address taken) and the
password reset. Whoever asked may not be its holder, so it is written in the holder's
language where the portal knows it (person_known_language, the one role mails use),
unless the one asking is the holder herself, signed in; and in the page's language
when no language is known for the account."""

from allauth.account.utils import filter_users_by_email

from portal.organisations.notifications import person_known_language

# allauth's mail to an account that anyone may cause by typing its address (the last
# two are switched off in settings; listed so that turning them on keeps the rule).
TO_THE_ACCOUNT_ON_ANYONES_REQUEST = {
    "account/email/account_already_exists",
    "account/email/account_closed",  # sent instead of the two around it when the account is closed
    "account/email/password_reset_key",
    "account/email/password_reset_code",
    "account/email/login_code",
}


def allauth_mail_language(*, template_prefix: str, email: str, context: dict, request) -> str | None:
    """The language of allauth's ``template_prefix`` mail to ``email`` (None: the
    current one), as the module's docstring says."""
    browsing = getattr(request, "LANGUAGE_CODE", None) if request is not None else None
    if template_prefix not in TO_THE_ACCOUNT_ON_ANYONES_REQUEST:
        return browsing
    holders = [context["user"]] if context.get("user") else filter_users_by_email(email, prefer_verified=True)
    asking = getattr(request, "user", None)
    if asking is not None and asking.is_authenticated and any(holder.pk == asking.pk for holder in holders):
        return browsing
    known = {person_known_language(holder.pk) for holder in holders} - {None}
    return known.pop() if len(known) == 1 else browsing
