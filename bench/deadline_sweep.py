"""Deadline sweep figures: time and queries of one run over N open approval steps.

For each N (default 100, 1,000 and 10,000 open steps; a third with the competent
authority, two thirds with state administrators of three jurisdictions):

- *nothing due*: every step due in 30 days (the usual run of the beat job);
- *N reminders*: every step inside the reminder window (new links for the
  authorities, one email and one audit event per step);
- *again*: the same sweep straight after (must send nothing);
- *N escalations*: every step overdue.

"sweep" is the sweep's own transaction (selects, updates, inserts, commit);
"hand-off" is what runs after commit: one Celery message per 200 outbox rows, to an
in-memory broker here (Redis in production). The query count must be the same
for every N.

Run: .venv/bin/python bench/deadline_sweep.py [--sizes 100 1000 10000]
With DATABASE_URL set (a throw-away database!) it runs there instead of SQLite.
"""

import argparse
import resource
import time
from datetime import timedelta

from _setup import django_setup


def build(count, now):
    from onboarding.models import Application, ApplicationVersion, ApprovalStep, Stage
    from portal.accounts.models import User
    from tests.onboarding_data import VALID

    officer, _ = User.objects.get_or_create(email="bench.officer@mahaagri.gov.in", defaults={"full_name": "Bench Officer"})
    jurisdictions = ["MH", "KA", "CENTRAL"]
    start = Application.objects.count()
    applications = Application.objects.bulk_create(
        Application(
            nodal_officer=officer, reference=f"ONB-2026-{start + i + 1:06d}", status="with_state", data=VALID,
            organisation_name=f"Bench organisation {start + i}", jurisdiction=jurisdictions[i % 3], submitted_at=now,
        )
        for i in range(count)
    )
    ApplicationVersion.objects.bulk_create(ApplicationVersion(application=a, number=1, data=VALID) for a in applications)
    steps = []
    for i, application in enumerate(applications):
        authority = i % 3 == 0
        steps.append(ApprovalStep(
            application=application, stage=Stage.AUTHORITY if authority else Stage.STATE,
            assignee_email=f"authority{start + i}@dept.gov.in" if authority else "",
            jurisdiction=application.jurisdiction, version_number=1,
            opened_at=now - timedelta(days=5), due_at=now + timedelta(days=30),
        ))
    return ApprovalStep.objects.bulk_create(steps)


def people():
    from portal.accounts.models import User
    from portal.organisations.models import PlatformRoleGrant

    for email, role, jurisdiction in [("admin.mh@maharashtra.gov.in", "state_admin", "MH"),
                                      ("admin.ka@karnataka.gov.in", "state_admin", "KA"),
                                      ("admin.central@nic.in", "state_admin", "CENTRAL"),
                                      ("root@nic.in", "superadmin", "")]:
        user, _ = User.objects.get_or_create(email=email)
        PlatformRoleGrant.objects.get_or_create(user=user, role=role, jurisdiction=jurisdiction)


def measure(now):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from onboarding.approval.deadlines import deadline_sweep

    with CaptureQueriesContext(connection) as queries:
        outer = transaction.atomic()
        outer.__enter__()
        try:
            started = time.perf_counter()
            result = deadline_sweep(now=now)
            swept = time.perf_counter()
        finally:
            outer.__exit__(None, None, None)  # commit, then the on-commit hand-off to the broker
        handed_off = time.perf_counter()
    # Count the statements that do work (SELECT/UPDATE/INSERT); the transaction's
    # own BEGIN/SAVEPOINT/RELEASE/COMMIT are left out.
    skip = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")
    sweep_queries = [q for q in queries.captured_queries if not q["sql"].startswith(skip)]
    return result, len(sweep_queries), swept - started, handed_off - swept


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()
    django_setup()
    from django.db import connection
    from django.utils import timezone

    from onboarding.approval.timings import approval_timings
    from onboarding.models import ApprovalStep
    from portal.celery import app

    app.conf.task_always_eager = False  # hand messages to the broker as production does
    app.conf.broker_url = "memory://"
    people()
    print(f"database: {connection.vendor}; reminder window {approval_timings().reminder_days_before} days")
    print(f"{'open steps':>10} | {'run':<14} | {'sent':>6} | {'queries':>7} | {'sweep':>9} | {'hand-off':>9} | {'per step':>9}")
    for count in args.sizes:
        now = timezone.now()
        steps = build(count, now)
        ids = [s.pk for s in steps]
        rows = []
        rows.append(("nothing due", *measure(now)))
        ApprovalStep.objects.filter(pk__in=ids).update(due_at=now + timedelta(days=1))
        rows.append(("reminders", *measure(now)))
        rows.append(("again", *measure(now)))
        ApprovalStep.objects.filter(pk__in=ids).update(due_at=now - timedelta(hours=1))
        rows.append(("escalations", *measure(now)))
        rows.append(("again", *measure(now)))
        for name, result, queries, sweep, hand_off in rows:
            sent = result["reminded"] + result["escalated"]
            per_step = f"{(sweep + hand_off) / sent * 1000:.2f} ms" if sent else "—"
            print(f"{count:>10,} | {name:<14} | {sent:>6,} | {queries:>7} | {sweep * 1000:>6.0f} ms | "
                  f"{hand_off * 1000:>6.0f} ms | {per_step:>9}")
        ApprovalStep.objects.filter(pk__in=ids).update(decision="approve", decided_at=now)  # out of the next size's way
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
