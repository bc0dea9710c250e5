"""One JSON line a request (portal/requestlog.py, portal/logformat.py): its fields, the
request id in the response, a trusted proxy's id kept, and no query string, secret
path, cookie or password in it."""

import io
import json
import logging
import re

import pytest
from django.conf import settings
from django.urls import URLResolver, get_resolver
from django.urls.converters import IntConverter
from django.urls.resolvers import RoutePattern

from portal.logfilters import RedactSecrets
from portal.logformat import JsonFormatter, RequestIdFilter
from portal.redaction import redact_secret_paths
from portal.redaction import secret_paths as secret_paths_registered
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_log():
    """The lines written on portal.requests (and everything below the root), as LOGGING's json handler writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    handler.addFilter(RequestIdFilter())
    loggers = [logging.getLogger("portal.requests"), logging.getLogger()]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
    loggers[0].setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def test_one_line_per_request_with_its_id_in_the_response(client, request_log):
    response = client.get("/accounts/login/?next=/onboarding/&token=abc")
    (line,) = [entry for entry in request_log() if entry["logger"] == "portal.requests"]
    assert response["X-Request-ID"] == line["request_id"] and re.fullmatch(r"[0-9a-f]{32}", line["request_id"])
    assert line["message"] == "request" and line["method"] == "GET" and line["path"] == "/accounts/login/"
    assert line["status"] == 200 and line["user"] is None and line["ms"] >= 0 and line["level"] == "INFO"


def test_the_signed_in_users_id_and_no_password_or_session_id(client, request_log):
    user = UserFactory(email="nodal.officer@mahaagri.gov.in")
    login = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert login.status_code == 302
    client.get("/onboarding/")
    lines = [entry for entry in request_log() if entry["logger"] == "portal.requests"]
    assert [(entry["method"], entry["path"], entry["user"]) for entry in lines] == [
        ("POST", "/accounts/login/", user.pk), ("GET", "/onboarding/", user.pk),
    ]
    text = json.dumps(request_log())
    assert PASSWORD not in text and client.cookies["sessionid"].value not in text


def test_secret_paths_are_redacted(client, request_log):
    token = "A" * 43
    client.get(f"/onboarding/review/{token}/")
    client.get("/accounts/password/reset/key/1a-c3x1ab-9f8e7d6c5b4a3/")
    paths = [entry["path"] for entry in request_log() if entry["logger"] == "portal.requests"]
    assert paths == ["/onboarding/review/[redacted]/", "/accounts/password/reset/key/[redacted]/"]
    assert token not in json.dumps(request_log()) and "9f8e7d6c5b4a3" not in json.dumps(request_log())


# nginx's access and error logs (deploy/nginx-portal.conf) --------------------------------------

SECRET = "Ab3_-" * 8 + "xyz"  # 43 characters, as portal/tokens.py makes them


def nginx_log_map():
    """The regular expressions of ``map $uri $portal_log_uri`` in deploy/nginx-portal.conf, in order,
    each with the value nginx logs instead of the path."""
    conf = (settings.BASE_DIR / "deploy" / "nginx-portal.conf").read_text()
    block = re.search(r"^map \$uri \$portal_log_uri \{\n(.*?)^\}", conf, re.S | re.M).group(1)
    rules = [re.match(r'\s*"~(.+?)"\s+(\S+);', line) for line in block.splitlines() if '"~' in line]
    return [(re.compile(rule.group(1)), rule.group(2)) for rule in rules]


def nginx_logged_path(rules, path):
    """What nginx writes for ``path``: the value of the first expression that matches, else the path."""
    return next((value for pattern, value in rules if pattern.search(path)), path)


def concrete(pattern):
    """``pattern`` (a route or a regular expression) with SECRET in each of its parameters, a
    number for an integer's and "1z" where SECRET would not match; None where it has other parts."""
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:(\w+):)?(\w+)>",
                      lambda match: "1" if isinstance(pattern.converters.get(match.group(2)), IntConverter) else SECRET,
                      str(pattern))

    def value(match):
        return SECRET if re.fullmatch(match.group(2), SECRET) else "1z"

    text = re.sub(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)", value, str(pattern)).removeprefix("^").removesuffix("$")
    return None if re.search(r"[\\()\[\]|?*+]", text) else text


def portal_paths(patterns, prefix="/"):
    """A path for each URL pattern of the portal (allauth's too), as ``concrete`` fills it."""
    for entry in patterns:
        part = concrete(entry.pattern)
        if part is None:
            continue
        if isinstance(entry, URLResolver):
            yield from portal_paths(entry.url_patterns, prefix + part)
        else:
            yield prefix + part


def test_nginx_access_log_redacts_every_registered_secret_path():
    """Every path the portal registers as carrying a secret (portal/redaction.py: the competent
    authority's link, the address confirmation, invitations, allauth's password reset, and any
    added later) loses its secret in nginx's access log too, not only in the portal's own log."""
    secret_paths = [path for path in portal_paths(get_resolver().url_patterns) if redact_secret_paths(path) != path]
    # Each registered shape has a page found above, so one added later is checked without naming it here.
    unfound = [shape.pattern for shape in secret_paths_registered()
               if not any(shape.search(path) for path in secret_paths)]
    assert unfound == [] and len(secret_paths) >= 4
    rules = nginx_log_map()
    leaked = [path for path in secret_paths if SECRET in nginx_logged_path(rules, path)]
    assert leaked == []


def nginx_quiet_locations():
    """The regular expressions of the locations of deploy/nginx-portal.conf whose error log takes
    nothing below emerg, the one level nginx writes about no request (its lines about a request
    name the request's whole line, and the upstream's address with its path)."""
    conf = (settings.BASE_DIR / "deploy" / "nginx-portal.conf").read_text()
    server_wide = re.findall(r"^    error_log \S+ (\w+);", conf, re.M)
    assert server_wide, "the site has an error log of its own"
    return [re.compile(match.group(1)) for match in re.finditer(r'^\s*location ~ "([^"]+)" \{([^{}]*)\}', conf, re.M)
            if re.search(r"^\s*error_log \S+ emerg;", match.group(2), re.M)]


def test_nginx_error_log_names_no_registered_secret_path():
    """nginx's error log is written at warn, and each line about a request (gunicorn not answering,
    a worker timing out) names its whole request line: every path the portal registers as carrying
    a secret is served by a location whose error log takes none of them."""
    secret_paths = [path for path in portal_paths(get_resolver().url_patterns) if redact_secret_paths(path) != path]
    assert len(secret_paths) >= 4
    quiet = nginx_quiet_locations()
    logged = [path for path in secret_paths if not any(pattern.search(path) for pattern in quiet)]
    assert logged == []
    assert not any(pattern.search(path) for pattern in quiet for path in ("/onboarding/review/", "/accounts/login/"))


def test_a_trusted_proxys_request_id_is_kept_when_sane(client, settings, request_log):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="0123456789abcdef")["X-Request-ID"] != "0123456789abcdef"
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    assert client.get("/healthz", HTTP_X_REQUEST_ID="0123456789abcdef")["X-Request-ID"] == "0123456789abcdef"
    for insane in ("short", "x" * 101, "has space inside", "quote\"d-0123456789", "../../etc/passwd"):
        assert client.get("/healthz", HTTP_X_REQUEST_ID=insane)["X-Request-ID"] != insane


def test_lines_written_during_a_request_carry_its_id(client, request_log, monkeypatch):
    from portal import views

    monkeypatch.setattr(views, "_broker_connect", lambda: (_ for _ in ()).throw(ConnectionError("refused")))
    monkeypatch.setattr(views, "_readiness_kept", {})  # checked now, not an answer kept from before
    response = client.get("/readyz")
    assert response.status_code == 503
    warning = next(entry for entry in request_log() if entry["logger"] == "portal.views")
    assert warning["request_id"] == response["X-Request-ID"] and warning["message"].startswith("Readiness: broker failed")
