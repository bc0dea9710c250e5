"""The production profile, started once for the tests of this folder (they run in one
xdist worker: the ``production`` group)."""

import os
import pwd
import re
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.onboarding_data import minimal_pdf
from tests.production.stack import (
    ROOT,
    Browser,
    Nginx,
    Stack,
    example_variable,
    postgres_admin_url,
    wait_until,
    walkthrough_folders,
)
from tests.smtp import SmtpServer, text_of


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which names each item's group from its markers
def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if "tests/production/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.xdist_group("production"))


def _prerequisites_missing() -> str | None:
    try:
        postgres_admin_url()
    except LookupError:
        return "needs PostgreSQL (DATABASE_URL): `make test` uses the local server when it answers"
    if not shutil.which("redis-server"):
        return "needs redis-server on PATH (Debian: redis-server)"
    return None


@pytest.fixture(scope="session")
def production(tmp_path_factory):
    """Redis, moto's S3 server, a PostgreSQL database of its own, an SMTP server on
    loopback; migrations and collectstatic run as their own steps; the officer's draft
    seeded; two gunicorns (one worker each, a local folder each), a Celery worker and
    one beat, all with DJANGO_DEBUG=0."""
    missing = _prerequisites_missing()
    if missing:
        if os.environ.get("CI_STRICT"):
            pytest.fail(f"CI_STRICT is set: the production profile's tests {missing}")
        pytest.skip(missing)
    smtp = SmtpServer().start()
    stack = Stack(tmp_path_factory.mktemp("production"), smtp.port)
    try:
        stack.start_redis()
        # Beat needs only the broker and the cache (its lock): started first, its first
        # minute (the outbox sweep's interval) passes while the rest starts.
        beat = stack.start_beat()
        stack.start_s3()
        stack.bucket_create()
        stack.database_setup()
        seeded = stack.seed()
        web_a = stack.start_web("web-a")
        web_b = stack.start_web("web-b")
        worker = stack.start_worker()
        yield SimpleNamespace(stack=stack, smtp=smtp, a=web_a, b=web_b, worker=worker, beat=beat, **seeded)
    finally:
        stack.close()
        smtp.close()


LINK_RE = re.compile(r"https://portal\.test(/onboarding/review/([A-Za-z0-9_-]{43})/)")


@pytest.fixture(scope="session")
def journey(production):
    """The officer's journey over HTTP on the first gunicorn; what it saw, for the tests."""
    officer = Browser(production.a)
    pk = production.application
    seen = {"pk": pk}

    login = officer.post("/accounts/login/", {
        "login": production.email, "password": production.password,
        "csrfmiddlewaretoken": officer.csrf("/accounts/login/"),
    })
    seen["login"] = login
    letter = minimal_pdf()
    seen["letter_bytes"] = letter
    seen["upload"] = officer.post(
        f"/onboarding/{pk}/letter/", {"csrfmiddlewaretoken": officer.csrf(f"/onboarding/{pk}/letter/")},
        files={"letter": ("signed-letter.pdf", letter, "application/pdf")},
    )
    page = officer.get(f"/onboarding/{pk}/letter/").text
    seen["letter_path"] = re.search(rf"/onboarding/{pk}/letter/\d+/", page).group(0)
    seen["pdf"] = officer.get(f"/onboarding/{pk}/form.pdf")
    seen["submit"] = officer.post(f"/onboarding/{pk}/submit/",
                                  {"csrfmiddlewaretoken": officer.csrf(f"/onboarding/{pk}/submit/")})
    seen["detail"] = officer.get(f"/onboarding/{pk}/")
    seen["officer"] = officer

    # The competent authority's mail, sent by the Celery worker through the SMTP server.
    def authority_mail():
        for message in list(production.smtp.messages):
            if "director@mahaagri.gov.in" in str(message["To"]) and LINK_RE.search(text_of(message)):
                return message
        return None

    message = wait_until(authority_mail, 120, "the worker sends the competent authority's mail")
    path, token = LINK_RE.search(text_of(message)).groups()
    authority = Browser(production.a)
    seen["token"] = token
    seen["link_click"] = authority.get(path)
    seen["review"] = authority.get("/onboarding/review/")
    seen["authority"] = authority
    return seen


def _portal_id() -> int:
    """An id for the portal's system account (deploy/README.md: adduser --system --group portal) that
    no account of the test's host has: www-data is neither it nor in its group."""
    for uid in range(64999, 60000, -1):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise LookupError("no free user id for the portal's account")


@pytest.fixture
def nginx_site():
    """nginx with the site of deploy/nginx-portal.conf (stack.Nginx) on a host laid out as
    deploy/README.md lays it out: each folder its ``install -d`` makes, with the mode it gives and,
    run as root, the owner (the portal's account: one that nginx's www-data is not, nor in its
    group), under a folder of the test's; in the PORTAL_STATIC_ROOT of deploy/portal.env.example,
    what collectstatic (run by portal-web as portal) puts there of the files the tests ask for.
    Nothing answers at its upstream: gunicorn is stopped."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    # A missing nginx fails the test, as a missing Chromium does: `make test` installs it (test-deps).
    assert os.access(nginx, os.X_OK), f"{nginx} is missing: run `make test-deps` (apt-get install nginx)"
    base = Path(tempfile.mkdtemp(prefix="portal-nginx-"))  # not pytest's folder: 0700, www-data could not enter
    base.chmod(0o755)
    owner = _portal_id() if os.getuid() == 0 else None
    server = Nginx(base)
    try:
        static_root = Path(example_variable("PORTAL_STATIC_ROOT"))
        made = walkthrough_folders()
        for path in sorted(set(made) | {static_root}):
            local = base / path.relative_to("/")
            local.mkdir(parents=True, exist_ok=True)
            for parent in local.relative_to(base).parents:
                (base / parent).chmod(0o755)  # what Debian has there (/var, /var/lib, /var/www)
        for path in sorted(set(made) | {static_root}):
            local = base / path.relative_to("/")
            user, group, mode = made.get(path, ("portal", "portal", 0o755))  # collectstatic's folder: umask 022
            if owner is not None:
                os.chown(local, owner if user == "portal" else 0, owner if group == "portal" else 0)
            local.chmod(mode)
        for name in ("css/portal.css", "errors/request-too-large.html"):
            target = base / static_root.relative_to("/") / name
            target.parent.mkdir(exist_ok=True)
            shutil.copy(ROOT / "static" / name, target)
            for path in (target.parent, target):
                path.chmod(0o755 if path.is_dir() else 0o644)
                if owner is not None:
                    os.chown(path, owner, owner)
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
