"""Monitoring dashboard figures: the page's time for each role's scope against the time
of the same aggregates written as raw SQL, on seed_scale data (PostgreSQL).

For each role (superadmin: everything; state administrator of Maharashtra; auditor of
everything; admin of the Maharashtra department with the most offices below it):

- *page*: GET /monitoring/ through the Django test client (session, roles, MFA check,
  every figure, the first page of the organisations table, template rendering);
- *raw SQL*: the same figures as hand-written SQL over the same scope, run one after
  the other on one cursor (applications by state, overdue steps counted and the ten
  longest, median days per stage, organisations onboarded per month, verified and
  waiting users from the summary table, the table's count and first page);
- *ratio*: page / raw SQL (target: at most 2);
- *live count*: verified and waiting users counted from the government profiles
  instead of the summary table (what the beat job spares each page view).

Medians of --runs runs after one warm-up, the page and its SQL in turns (so that both
meet the same load), debug off as in production. The role holders are made (once) by the script.

Run (a throw-away database!):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \
        .venv/bin/python manage.py migrate
    DATABASE_URL=... .venv/bin/python manage.py seed_scale --organisations 10000 --users 1000000
    DATABASE_URL=... .venv/bin/python bench/dashboard.py [--runs 7]
"""

import argparse
import os
import sys
import time

from _setup import django_setup, median, timed

STATUS_SQL = "SELECT status, count(*) FROM onboarding_application a WHERE {apps} GROUP BY status"
OVERDUE_COUNT_SQL = ("SELECT count(*) FROM onboarding_approvalstep s JOIN onboarding_application a ON a.id = s.application_id "
                     "WHERE s.decision = '' AND s.due_at <= now() AND {apps}")
OVERDUE_LIST_SQL = ("SELECT s.*, a.reference, a.organisation_name FROM onboarding_approvalstep s "
                    "JOIN onboarding_application a ON a.id = s.application_id "
                    "WHERE s.decision = '' AND s.due_at <= now() AND {apps} ORDER BY s.due_at, s.id LIMIT 10")
MEDIAN_SQL = ("SELECT s.stage, percentile_cont(0.5) WITHIN GROUP (ORDER BY s.decided_at - s.opened_at) "
              "FROM onboarding_approvalstep s JOIN onboarding_application a ON a.id = s.application_id "
              "WHERE s.decision NOT IN ('', 'cancelled') AND s.decided_at IS NOT NULL AND {apps} GROUP BY s.stage")
MONTHS_SQL = ("SELECT date_trunc('month', o.activated_at AT TIME ZONE 'Asia/Kolkata'), count(*) "
              "FROM organisations_organisation o WHERE o.activated_at >= now() - interval '12 months' AND {orgs} GROUP BY 1")
USERS_SQL = ("SELECT coalesce(sum(f.verified_users), 0), coalesce(sum(f.pending_users), 0) "
             "FROM monitoring_organisationfigures f JOIN organisations_organisation o ON o.id = f.organisation_id WHERE {orgs}")
TABLE_COUNT_SQL = "SELECT count(*) FROM organisations_organisation o WHERE {orgs}"
TABLE_PAGE_SQL = ("SELECT o.id, o.name, o.short_code, o.state, o.level, o.status, o.activated_at, "
                  "coalesce(f.verified_users, 0), coalesce(f.pending_users, 0) FROM organisations_organisation o "
                  "LEFT JOIN monitoring_organisationfigures f ON f.organisation_id = o.id WHERE {orgs} "
                  "ORDER BY o.name, o.id LIMIT 25")
LIVE_USERS_SQL = ("SELECT count(*) FILTER (WHERE p.status = 'verified'), count(*) FILTER (WHERE p.status = 'pending') "
                  "FROM verification_governmentprofile p JOIN organisations_organisation o ON o.id = p.organisation_id "
                  "WHERE {orgs}")
FIGURES = [STATUS_SQL, OVERDUE_COUNT_SQL, OVERDUE_LIST_SQL, MEDIAN_SQL, MONTHS_SQL, USERS_SQL, TABLE_COUNT_SQL,
           TABLE_PAGE_SQL]


def role_holders():
    """The role holders the pages are asked as, each made (or completed) in one transaction: the
    person with their confirmed official address as primary, their role and their authenticator
    app, so that no run leaves a person without what the next run needs."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.db import transaction
    from guardian.shortcuts import assign_perm

    from portal.accounts.models import User
    from portal.organisations.models import Membership, MembershipRole, Organisation, PlatformRoleGrant
    from portal.permissions import ADMINISTER_ORGANISATION

    def person_made(email, role_given):
        with transaction.atomic():
            person, _created = User.objects.get_or_create(email=email, defaults={"full_name": email.split("@")[0]})
            # Role holders act only from a confirmed official address (their primary one).
            EmailAddress.objects.update_or_create(user=person, email=email,
                                                  defaults={"verified": True, "primary": True})
            role_given(person)
            if not Authenticator.objects.filter(user=person, type=Authenticator.Type.TOTP).exists():
                TOTP.activate(person, generate_totp_secret())
        return person

    holders = {}
    for name, role, jurisdiction in (("superadmin", "superadmin", ""), ("state admin MH", "state_admin", "MH"),
                                     ("auditor (all)", "auditor", "")):
        person = person_made(f"bench.{role}.{jurisdiction or 'all'}@nic.in",
                             lambda person, role=role, jurisdiction=jurisdiction: PlatformRoleGrant.objects.get_or_create(
                                 user=person, role=role, jurisdiction=jurisdiction))
        holders[name] = (person, jurisdiction)
    department = (Organisation.objects.filter(state="MH", parent__isnull=True).order_by("-id").first())

    def admin_appointed(person):
        Membership.objects.get_or_create(organisation=department, user=person, role=MembershipRole.ADMIN)
        assign_perm(ADMINISTER_ORGANISATION, person, department)

    holders["organisation admin"] = (person_made("bench.org.admin@nic.in", admin_appointed), department)
    return holders


def signed_in(person):
    """A test client signed in as ``person`` as the sign-in pages would leave it: the
    session has given the code of the person's authenticator app, which the portal asks
    of role holders (portal.accounts.middleware) before any page."""
    from django.test import Client

    from tests.onboarding.approval_helpers import second_factor_given

    client = Client()
    client.force_login(person)
    return second_factor_given(client, person)


def conditions(name, scope):
    """The WHERE clauses of the raw SQL for a role's scope (applications, organisations)."""
    if name in ("superadmin", "auditor (all)"):
        return "TRUE", "TRUE"
    if name == "state admin MH":
        return "a.jurisdiction = 'MH'", "o.state = 'MH'"
    subtree = f"(o2.id = {scope.pk} OR o2.ancestry LIKE '{scope.ancestry}{scope.pk}/%')"
    orgs = f"(o.id = {scope.pk} OR o.ancestry LIKE '{scope.ancestry}{scope.pk}/%')"
    apps = f"a.organisation_id IN (SELECT o2.id FROM organisations_organisation o2 WHERE {subtree})"
    return apps, orgs


def timed_warm(function, runs):
    function()  # warm-up
    return timed(function, runs)[0]


def timed_alternately(first, second, runs):
    """Medians of two functions run in turns (one warm-up each), so that both meet the
    same load on a shared machine."""
    first()
    second()
    times = ([], [])
    for _ in range(runs):
        for function, found in zip((first, second), times, strict=True):
            started = time.perf_counter()
            function()
            found.append(time.perf_counter() - started)
    return median(times[0]), median(times[1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database loaded by seed_scale (see the docstring).")
    django_setup()
    from django.conf import settings
    from django.db import connection

    from onboarding.models import Application
    from portal.organisations.models import Organisation
    from verification.models import GovernmentProfile

    settings.ALLOWED_HOSTS = ["*"]
    # As in production: with debug on, Django keeps the text of every query and the
    # templates keep what a debug page would show.
    settings.DEBUG = False
    print(f"data: {Organisation.objects.count()} organisations, {Application.objects.count()} applications, "
          f"{GovernmentProfile.objects.count()} government profiles")
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores)")
    print(f"{'role':<22}{'page ms':>9}{'raw SQL ms':>12}{'ratio':>7}{'page - SQL':>12}{'live count ms':>15}")
    for name, (person, scope) in role_holders().items():
        client = signed_in(person)
        page = client.get("/monitoring/")
        assert page.status_code == 200, f"{name}: /monitoring/ answered {page.status_code} {page.get('Location', '')}"
        apps, orgs = conditions(name, scope)

        def raw(apps=apps, orgs=orgs):
            with connection.cursor() as cursor:
                for sql in FIGURES:
                    cursor.execute(sql.format(apps=apps, orgs=orgs))
                    cursor.fetchall()

        def live(orgs=orgs):
            with connection.cursor() as cursor:
                cursor.execute(LIVE_USERS_SQL.format(orgs=orgs))
                cursor.fetchall()

        page, sql = timed_alternately(lambda client=client: client.get("/monitoring/"), raw, args.runs)
        scan = timed_warm(live, max(1, args.runs // 2))
        print(f"{name:<22}{page * 1000:>9.1f}{sql * 1000:>12.1f}{page / sql:>7.2f}{(page - sql) * 1000:>12.1f}"
              f"{scan * 1000:>15.1f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
