"""Members page figures: the time and the queries of the verified members page of an
organisation of ``--members`` people (default 100,000: a roster holds up to 100,000 rows), as its
administrator reads it, on PostgreSQL.

The data is made here, with COPY (no model instances; the names, designations and helpers
of bench/directory_search.py): the organisation's members (97% verified, 3% suspended),
``--others`` people in 20 other organisations (default 50,000), 2% of the members with
their own visibility choices, 1 in 200 keeping their name from everyone (they come last
on the page, by id). Then the tables are analysed.

Each page is asked through the Django test client (the whole view: the administrator's
session, the organisation, the visibility rules, the template), ``--runs`` times (default
15) after one warm-up: the first page, page 200, page 1,000, a search shared by some 700
members (a family name), its second page, a search every member's addresses match, the
verified only. Reported: median and 95th
percentile (ms), and the queries of one request.

Run (a throw-away database; made again unless ``--keep``):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_members \\
        .venv/bin/python bench/members_page.py [--members 100000] [--runs 15] [--keep]
"""

import argparse
import os
import random
import re
import statistics
import time
from datetime import UTC, datetime

from _setup import django_setup, postgres_fresh
from directory_search import DESIGNATIONS, FAMILY, GIVEN, TOPICS, _copy, percentile

OTHER_ORGANISATIONS = 20
PAGES = [
    ("first page", {}),
    ("page 200", {"page": "200"}),
    ("page 1,000", {"page": "1000"}),
    ("a family name", {"q": "sharma"}),
    ("a family name, page 2", {"q": "sharma", "page": "2"}),
    ("a part of every member's address", {"q": "dept.gov"}),
    ("verified only", {"verified_only": "on"}),
]


def load(n_members, n_others):
    from django.db import connection

    from portal.accounts.models import User
    from portal.organisations.models import Organisation
    from verification.models import GovernmentProfile
    from verification.visibility.models import Audience, PersonalVisibility

    rnd = random.Random(20261201)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    started = time.perf_counter()
    _copy(connection, Organisation, (
        {"id": i, "name": f"Directorate of {TOPICS[i % len(TOPICS)]} {i}", "short_code": f"ORG{i}",
         "org_type": "directorate", "level": "state", "state": "MH", "ancestry": "/", "status": "active",
         "created_at": now, "activated_at": now}
        for i in range(1, OTHER_ORGANISATIONS + 2)
    ))
    total = n_members + n_others
    people = [(rnd.choice(GIVEN), rnd.choice(FAMILY)) for _ in range(total)]
    _copy(connection, User, (
        {"id": i, "email": f"{given.lower()}.{family.lower()}.{i}@dept.gov.in", "full_name": f"{given} {family}",
         "password": "!", "is_active": True, "date_joined": now}
        for i, (given, family) in enumerate(people, start=1)
    ))
    _copy(connection, GovernmentProfile, (
        {"id": i, "user_id": i, "organisation_id": 1 if i <= n_members else 2 + i % OTHER_ORGANISATIONS,
         "designation": DESIGNATIONS[i % len(DESIGNATIONS)], "office": f"Section {i % 97}",
         "employee_code": f"EMP{i:07d}", "official_email": f"{given.lower()}.{family.lower()}.{i}@dept.gov.in",
         "mobile": f"+91{9000000000 + i * 7919 % 1000000000}", "requested_at": now, "method": "manual",
         "verified_at": now, "decided_at": now, "verified_name": f"{given} {family}",
         "status": "suspended" if i % 33 == 0 else "verified"}
        for i, (given, family) in enumerate(people, start=1)
    ))
    _copy(connection, PersonalVisibility, (
        {"user_id": i, "mobile": int(Audience.NOBODY), "official_email": int(Audience.ADMINS),
         **({"name": int(Audience.NOBODY)} if i % 200 == 1 else {})}
        for i in range(1, n_members + 1, 50)
    ))
    with connection.cursor() as cursor:
        for model in (User, Organisation, GovernmentProfile, PersonalVisibility):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        for model in (User, Organisation, GovernmentProfile):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{model._meta.db_table}\"', 'id'), "
                           f'(SELECT MAX(id) FROM "{model._meta.db_table}"))')
    print(f"loaded {n_members:,} members and {n_others:,} others with COPY and analysed in "
          f"{time.perf_counter() - started:.1f} s")


def administrator():
    from django.test import Client
    from guardian.shortcuts import assign_perm

    from portal.accounts.models import User
    from portal.organisations.models import Membership, Organisation
    from portal.permissions import ADMINISTER_ORGANISATION
    from tests.onboarding.approval_helpers import second_factor_given

    admin, created = User.objects.get_or_create(email="bench.admin@dept.gov.in", defaults={"full_name": "Bench Admin"})
    if created:
        organisation = Organisation.objects.get(pk=1)
        Membership.objects.create(organisation=organisation, user=admin, role="admin")
        assign_perm(ADMINISTER_ORGANISATION, admin, organisation)
    client = Client()
    client.force_login(admin)
    return second_factor_given(client, admin)


def measure(client, runs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = "/verification/organisations/1/members/"
    rows, everything = [], []
    for what, query in PAGES:
        response = client.get(url, query)  # warm-up
        assert response.status_code == 200, response.status_code
        shown = len(re.findall(r'href="/verification/profiles/\d+/"', response.content.decode()))
        times = []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                client.get(url, query)
                times.append((time.perf_counter() - started) * 1000)
        everything += times
        rows.append((what, query, shown, len(captured), statistics.median(times), percentile(times, 95)))
    print()
    print("| page | query | rows shown | queries | median ms | p95 ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for what, query, shown, queries, med, p95 in rows:
        print(f"| {what} | `{'&'.join(f'{k}={v}' for k, v in query.items()) or '—'}` | {shown} | {queries} | "
              f"{med:.1f} | {p95:.1f} |")
    print(f"\nall pages ({len(everything)} runs): median {statistics.median(everything):.1f} ms, "
          f"95th percentile {percentile(everything, 95):.1f} ms; load average {os.getloadavg()[0]:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="reuse the data of an earlier run")
    args = parser.parse_args()
    postgres_fresh(keep=args.keep)
    django_setup()
    from django.conf import settings

    settings.DEBUG = False
    if not args.keep:
        load(args.members, args.others)
    measure(administrator(), args.runs)


if __name__ == "__main__":
    main()
