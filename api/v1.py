"""The verification API, version 1 (``/api/v1/``), written with django-ninja: its
OpenAPI document (``/api/v1/openapi.json``) is generated from this code.

Every operation declares ``auth=client_token`` (a registered client's bearer token);
``VerificationApi`` gives each URL pattern its access rule from that declaration, and
the route meta-test checks it (tests/portal/test_routes.py). There are no interactive
docs: they would load scripts a strict Content-Security-Policy refuses (and, in
ninja's default, from a CDN)."""

import json
from functools import partial, wraps

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.common import no_append_slash
from django.views.decorators.http import require_GET, require_http_methods
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaError
from ninja.openapi.views import openapi_json

from api.auth import ClientToken, RateLimited, RefusedTooOften, client_token
from portal.access import rule
from portal.accounts.official_email import normalise_domain, normalise_mailbox
from portal.text import has_control_characters
from portal.views import page_not_found
from verification.selectors import verified_person_by_contact
from verification.validators import clean_mobile
from verification.visibility.models import ProfileField
from verification.visibility.rules import API_CLIENT, visible_fetched

EMAIL_MAX = 254
MOBILE_MAX = 20


def _not_found(request, *args, **kwargs):
    """An address the API does not have: 404 in JSON, as the portal's 404 handler answers
    under the API's prefix; answered here, by a view, because Django answers a 404 with
    its HTML page, not the handler, when DEBUG is on (`make run`)."""
    return page_not_found(request, Http404())


class VerificationApi(NinjaAPI):
    """ninja's API, its URL patterns carrying the portal's access rules: "api_client"
    for a path whose every operation authenticates a client's token, "public" for the
    OpenAPI document; GET only for both of those, another method refused in JSON."""

    def _get_urls(self):
        urls = [
            path(self.openapi_url.lstrip("/"),
                 rule("public")(self.refused_in_json(require_GET(partial(openapi_json, api=self)))),
                 name="openapi-json"),
        ]
        for bound in self._get_bound_routers():
            views = [view for view in bound.path_operations.values() for _operation in view.operations]
            for pattern, view in zip(bound.urls_paths(bound.prefix), views, strict=True):
                pattern.callback = self.refused_in_json(pattern.callback)
                pattern.callback.operations = view.operations
                if all(any(isinstance(auth, ClientToken) for auth in op.auth_callbacks) for op in view.operations):
                    pattern.callback.access_rule = "api_client"
                urls.append(pattern)
        # The root only tells ninja where the API is mounted (it answers 404, in JSON,
        # as at every address the API does not have: ``not_found``, also api/urls.py's
        # catch-all, the root without its slash included).
        root = no_append_slash(self.refused_in_json(require_GET(_not_found)))
        urls.append(path("", rule("public")(root), name="api-root"))
        return urls

    def refused_in_json(self, view):
        """The view, a method it refuses (405: ninja's answer is "Method not allowed" in
        HTML, require_GET's an empty page) answered as the API's other errors, with the
        Allow header that lists the methods it takes."""

        @wraps(view)
        def answer(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if response.status_code != 405:
                return response
            refused = self.create_response(
                request, {"detail": _("This method is not allowed here: use %(allowed)s.")
                          % {"allowed": response["Allow"]}}, status=405)
            refused["Allow"] = response["Allow"]
            return refused

        return answer


api = VerificationApi(
    title="Sandes verification API",
    version="1",
    description=(
        "Whether an email address or a mobile number belongs to a verified government user of the Sandes "
        "platform, and of which organisation. A person is found only by what their organisation (and they "
        "themself) let verified government users see: an official address or a mobile number kept from them finds "
        "nobody. Send `Authorization: Bearer <token>` with the token of a client your organisation's administrators "
        "registered in the portal.\n\n"
        'Every answer is JSON. An error is `{"detail": "..."}` (for 422, `detail` lists the fields\' errors): '
        "401 without a valid token, 422 for a query that is not valid, 429 over the rate limit (of the client, or of "
        "requests without a valid token from one address), 404 at an address the "
        "API does not have, 405 (with `Allow`) for a method other than GET, 400 for a request that could not be "
        "understood, 500 when something went wrong on our side."
    ),
    urls_namespace="api:api_v1",
    docs_url=None,
    auth=client_token,
)

# Every other address under the API's prefix, and the prefix without its slash (api/urls.py,
# after the API's own): 404 in JSON whatever the method, but TRACE, which every view refuses.
not_found = rule("public")(no_append_slash(api.refused_in_json(require_http_methods(
    ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"])(_not_found))))


# Schemas -------------------------------------------------------------------------------------

class Error(Schema):
    detail: str = Field(description="What was wrong, in words.")


class FieldError(Schema):
    loc: list[str | int] = Field(description='Where: ["query", "email"].')
    msg: str
    type: str


class InputErrors(Schema):
    detail: list[FieldError]


class OrganisationOut(Schema):
    name: str
    short_code: str = Field(description="The organisation's short code; may be empty.")
    state: str = Field(description='State or union territory code (ISO 3166-2:IN without "IN-"); empty for '
                                   "a central government body.")


class PersonOut(Schema):
    """Each field is the person's value when the visibility rules of the person's organisation (and the
    person's own choices) let any verified government user see it, and null otherwise."""

    name: str | None = None
    designation: str | None = None
    office: str | None = None
    official_email: str | None = None
    mobile: str | None = None
    employee_code: str | None = None


class VerificationOut(Schema):
    verified: bool = Field(description=(
        "True when the address or number belongs to a verified government user: verified by an active "
        "organisation and not suspended. A suspended, revoked, rejected or pending verification, an unknown "
        "address or number, or one the person's organisation (or the person) keeps from verified government "
        "users, is false (the answer does not say which)."))
    organisation: OrganisationOut | None = Field(description=(
        "The organisation that verified the person; null when not verified, or when the organisation's visibility "
        "rules (or the person's own choice) keep their organisation from verified government users."))
    person: PersonOut | None = Field(description="What the visibility rules let any verified government user see "
                                                 "of the person; null when not verified.")


class VerificationQuery(Schema):
    email: str | None = Field(None, max_length=EMAIL_MAX, description=(
        "An email address (compared in lower case, the domain IDNA-encoded): finds a person whose official address "
        "verified government users may see. Give this or mobile."))
    mobile: str | None = Field(None, max_length=MOBILE_MAX, description=(
        "An Indian mobile number: ten digits, with or without +91 or 0: finds a person whose mobile number verified "
        "government users may see. Give this or email."))


# Errors --------------------------------------------------------------------------------------

@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    response = api.create_response(
        request, {"detail": _("Send a valid API token: Authorization: Bearer <token>. A revoked token, or one of "
                              "an organisation that is no longer active, is refused.")}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(RateLimited)
def rate_limited(request, exc):
    if isinstance(exc, RefusedTooOften):
        detail = ngettext("Too many requests without a valid API token from this address: try again in %(seconds)s "
                          "second.",
                          "Too many requests without a valid API token from this address: try again in %(seconds)s "
                          "seconds.", exc.wait) % {"seconds": exc.wait}
    else:
        detail = ngettext("Too many requests from this client: try again in %(seconds)s second.",
                          "Too many requests from this client: try again in %(seconds)s seconds.",
                          exc.wait) % {"seconds": exc.wait}
    response = api.create_response(request, {"detail": detail}, status=429)
    response["Retry-After"] = str(exc.wait)
    return response


def _input_error(field: str, message: str, code: str) -> HttpError:
    error = HttpError(422, message)
    error.fields = [{"loc": ["query", field], "msg": message, "type": code}]
    return error


@api.exception_handler(HttpError)
def http_error(request, exc):
    body = {"detail": exc.fields} if getattr(exc, "fields", None) else {"detail": str(exc)}
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(SchemaError)
def schema_error(request, exc):
    """What the query's schema refuses before the view (its length limits): at the field, in the
    reader's language and in the shape of the API's own 422s (no pydantic "ctx")."""
    fields = []
    for error in exc.errors:
        limit = (error.get("ctx") or {}).get("max_length")
        if error.get("type") == "string_too_long" and limit is not None:
            message, code = _("Enter at most %(limit)s characters.") % {"limit": limit}, "too_long"
        else:
            message, code = _("This value is not valid."), "invalid"
        fields.append({"loc": list(error.get("loc", ())), "msg": message, "type": code})
    return api.create_response(request, {"detail": fields}, status=422)


# Input ---------------------------------------------------------------------------------------

def email_forms(address: str) -> list[str]:
    """An address as the portal may have stored it: lower case, with its domain
    IDNA-encoded, and (for an internationalised domain) also in Unicode. Raises
    ValueError for something that is not an address."""
    if has_control_characters(address):
        raise ValueError("a control character")
    # As the portal keeps an address: compatibility forms folded (a full-width letter is the
    # plain one), lower case, the domain IDNA-encoded (left as it is when it cannot be).
    local, at, domain = normalise_mailbox(address).rpartition("@")
    if not at or not local or len(local) > 64 or any(c.isspace() for c in local) or "@" in local:
        raise ValueError("not an address")
    ascii_domain = normalise_domain(domain)
    if "." not in ascii_domain or any(not label for label in ascii_domain.split(".")):
        raise ValueError("not a domain")
    forms = [f"{local}@{ascii_domain}"]
    try:
        unicode_domain = ascii_domain.encode("ascii").decode("idna")
    except UnicodeError:
        unicode_domain = ascii_domain
    if unicode_domain != ascii_domain:
        forms.append(f"{local}@{unicode_domain}")
    return forms


def _profile_for(query: VerificationQuery):
    email = (query.email or "").strip()
    mobile = (query.mobile or "").strip()
    if bool(email) == bool(mobile):
        raise _input_error("email" if email else "mobile", _("Give exactly one of email and mobile."), "one_of")
    if email:
        try:
            return verified_person_by_contact(emails=email_forms(email))
        except ValueError:
            raise _input_error("email", _("Enter a valid email address."), "invalid_email") from None
    try:
        mobile = clean_mobile(mobile)
    except ValidationError:
        raise _input_error("mobile", _("Enter a 10-digit Indian mobile number."), "invalid_mobile") from None
    return verified_person_by_contact(mobile=mobile)


def _answer_of(found: dict) -> tuple[dict | None, dict]:
    """What an API client sees of a verified profile: its organisation (when its
    "Organisation" field is one any verified government user may see, else None: which
    organisation someone belongs to is theirs and their organisation's to show) and the
    person's fields whose audience includes any verified government user, as the person's
    organisation (and the person) set them; the keys are PersonOut's. ``found`` is the
    lookup's row, which holds what the visibility rules decide on
    (verified_person_by_contact): no query.

    The single place the API's answer about a person comes from, through the visibility
    rules (verification.visibility.rules.visible_fetched, as API_CLIENT)."""
    seen = visible_fetched(API_CLIENT, found)
    if seen is None:
        return None, dict.fromkeys(PersonOut.model_fields)
    organisation = None
    if seen.values.get(ProfileField.ORGANISATION) is not None:
        organisation = {"name": found["organisation__name"], "short_code": found["organisation__short_code"],
                        "state": found["organisation__state"]}
    return organisation, {name: seen.values.get(name) for name in PersonOut.model_fields}


# Operations ----------------------------------------------------------------------------------

@api.get(
    "/verifications",
    response={200: VerificationOut, 401: Error, 422: InputErrors, 429: Error},
    summary="Is this address or mobile number a verified government user?",
    operation_id="verification_lookup",
)
def verification_lookup(request, query: Query[VerificationQuery]):
    """Give exactly one of `email` and `mobile`. Answers 200 whether or not the person is verified; a
    suspended verification counts as not verified. A lookup finds a person only by what their organisation
    lets verified government users see (narrowed by the person's own choice): by `email` when their official
    address is visible to them, by `mobile` when their mobile number is; otherwise the answer is the one for
    an unknown address or number."""
    # The answer is VerificationOut, serialised here as ninja's renderer would: ninja would
    # first validate what the view built against the schema again, at every call (the
    # schemathesis test checks the answers against the OpenAPI document).
    found = _profile_for(query)
    if found is None:
        return HttpResponse(NOT_VERIFIED, content_type=api.get_content_type())
    organisation, person = _answer_of(found)
    return HttpResponse(json.dumps({
        "verified": True, "organisation": organisation, "person": person,
    }), content_type=api.get_content_type())


NOT_VERIFIED = json.dumps({"verified": False, "organisation": None, "person": None})
