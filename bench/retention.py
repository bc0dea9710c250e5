"""Retention run over 1,000,000 records on PostgreSQL: time, memory, and the queries
of each batch (constant).

Data, written with COPY: 1,000 people in 10 organisations and 1,000,000 verification
records, of which --due (default 500,000) were revoked more than a year ago (the
revoked-verification rule reduces them) and the rest verified or revoked recently
(left alone); one audit event (hash-chained, under the audit key) about each due
record, whose personal part the run redacts. Then ``retention_run`` with every
policy enabled, batches of --batch records; the script counts the queries of each
batch (their minimum and maximum must be equal), measures the run's wall time and
the process's peak memory (ru_maxrss), and checks the audit chain still verifies.

Run (a throw-away database!):
    createdb -h 127.0.0.1 -U postgres portal_bench_retention
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_retention \
        .venv/bin/python bench/retention.py [--records 1000000] [--due 500000] [--batch 500]
"""

import argparse
import os
import resource
import sys
import time
from datetime import timedelta

from _setup import django_setup

STATUS_ROTATION = ("verified", "revoked")


def copy_rows(cursor, table, columns, rows):
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def generate(records, due):
    from django.db import connection
    from django.utils import timezone

    from portal.accounts.models import User
    from portal.audit.models import AuditAction, AuditChainHead
    from portal.audit.services import GENESIS, event_digest, seal_of
    from portal.organisations.models import Organisation

    now = timezone.now()
    old, recent = now - timedelta(days=800), now - timedelta(days=30)
    organisations = [Organisation.objects.create(name=f"Bench Directorate {i}", short_code=f"BENCH{i}", org_type="directorate",
                                                 level="state", state="MH", status="active") for i in range(10)]
    User.objects.bulk_create([User(email=f"bench{i}@bench.gov.in", full_name=f"Bench Person {i}") for i in range(1000)])
    names = dict(User.objects.filter(email__endswith="@bench.gov.in").values_list("pk", "full_name"))
    user_ids = list(names)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        columns = ["user_id", "organisation_id", "designation", "office", "employee_code", "official_email", "mobile",
                   "status", "requested_at", "request_language", "method", "verified_at", "decided_at",
                   "decided_by_email", "reason_code", "reason", "verified_name"]

        def profiles():
            for i in range(records):
                is_due = i < due
                status = "revoked" if is_due else STATUS_ROTATION[i % 2]
                decided = old if is_due else recent
                user = user_ids[i % len(user_ids)] if status == "revoked" else None
                if user is None:  # one verified record per person: give the others revoked-recently
                    status, user = "revoked", user_ids[i % len(user_ids)]
                yield (user, organisations[i % 10].pk, "Section Officer", f"Section {i % 97}", f"E{i:07d}",
                       f"bench{i % 1000}@bench.gov.in", "+919876543210", status, decided, "en", "manual", decided,
                       decided, "admin@bench.gov.in", "transfer", "Transferred to another department", names[user])

        started = time.perf_counter()
        copy_rows(raw, "verification_governmentprofile", columns, profiles())
        print(f"COPY {records:,} verification records: {time.perf_counter() - started:.1f} s")

        cursor.execute("SELECT id FROM verification_governmentprofile WHERE decided_at < %s ORDER BY id",
                       [now - timedelta(days=400)])
        due_ids = [row[0] for row in cursor.fetchall()]
        started = time.perf_counter()
        event_columns = ["created_at", "actor_id", "actor_email", "actor_role", "action", "target_type", "target_id",
                         "target_repr", "old_values", "new_values", "ip", "user_agent", "prev_hash", "hash",
                         "personal_keys", "personal_digest"]
        state = {"prev": GENESIS}

        def events():
            for pk in due_ids:
                fields = dict(created_at=old, actor_id=None, actor_email="", actor_role="system",
                              action=str(AuditAction.VERIFICATION_REVOKED), target_type="verification.governmentprofile",
                              target_id=str(pk), target_repr=f"bench{pk % 1000}@bench.gov.in",
                              old_values={"status": "verified"}, new_values={"status": "revoked", "reason": "Transferred"},
                              ip="10.0.0.1", user_agent="bench")
                digest = event_digest(prev_hash=state["prev"], personal_keys=["reason"], **fields)
                yield (old, None, "", "system", fields["action"], fields["target_type"], fields["target_id"],
                       fields["target_repr"], '{"status": "verified"}',
                       '{"reason": "Transferred", "status": "revoked"}', "10.0.0.1", "bench", state["prev"], digest,
                       '["reason"]', "")
                state["prev"] = digest

        copy_rows(raw, "audit_auditevent", event_columns, events())
        cursor.execute("SELECT max(id), count(*) FROM audit_auditevent")
        last_id, count = cursor.fetchone()
    head = AuditChainHead(pk=1, last_event_id=last_id, last_hash=state["prev"], count=count)
    head.seal = seal_of(head)
    head.save(force_insert=True)
    print(f"COPY {count:,} chained audit events: {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return len(due_ids)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL must name a throw-away PostgreSQL database.")
    django_setup()
    measure(args.records, args.due, args.batch)


def measure(records, due, batch):
    """The data made, the retention run measured, the audit chain verified, a second run: what
    each found."""
    from django.db import connection

    from portal.audit.services import audit_verify_report
    from portal.privacy import retention

    due = generate(records, due)

    queries = {"n": 0}

    def counter(execute, sql, params, many, context):
        queries["n"] += 1
        return execute(sql, params, many, context)

    per_batch, marks = [], []
    original = retention._batches

    def batches(queryset, batch_size):
        for ids in original(queryset, batch_size):
            marks.append((queries["n"], len(ids)))
            yield ids
            per_batch.append(queries["n"] - marks[-1][0])

    retention._batches = batches
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            run = retention.retention_run(batch_size=batch)
            elapsed = time.perf_counter() - started
    finally:
        retention._batches = original
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counts = run.counts["revoked_verification"]
    full = [n for n, (_q, size) in zip(per_batch, marks, strict=False) if size == batch]
    print(f"retention run: {elapsed:.1f} s for {counts['erased']:,} records reduced of {records:,} "
          f"({counts['erased'] / elapsed:,.0f}/s), {counts['audit_events_redacted']:,} audit events redacted")
    print(f"batches: {len(per_batch)}; queries per full batch: min {min(full)}, max {max(full)}; total {queries['n']:,}")
    print(f"peak memory (ru_maxrss): {peak / 1024:.0f} MB (before the run {before / 1024:.0f} MB)")
    assert counts["erased"] == due, (counts, due)
    started = time.perf_counter()
    report = audit_verify_report()
    print(f"verify_audit: {len(report.problems)} problems, {report.count:,} events, {report.redacted:,} redacted "
          f"({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    again = retention.retention_run(batch_size=batch).counts["revoked_verification"]
    print(f"second run: {again} in {time.perf_counter() - started:.1f} s")
    return {"run": counts, "problems": report.problems, "events": report.count, "second run": again}


if __name__ == "__main__":
    main()
