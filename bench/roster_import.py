"""Roster import figures: a generated roster of N new people (default 10,000 and
100,000 rows, all on an official domain, none with an account) imported on
PostgreSQL, time and peak memory, by:

- *portal*: the roster import as the portal runs it (verification/rosters): the file
  read one batch at a time, each row checked (official address, mobile, date,
  formulas, lengths), staged with COPY, classified with a few set-based statements
  (the preview), then applied as the Celery task applies it (``roster_apply_run``,
  called directly): invitations made with INSERT ... SELECT from the staging table,
  their bilingual emails written to the outbox, one audit event each;
- *import-export*: django-import-export 4 in bulk mode (``use_bulk=True``, batches of
  1,000, ``skip_diff`` and ``force_init_instance``, its fastest settings) importing
  the same file into the same invitations table (a token hash and expiry made for
  each row; no checks, no staging, no mail, no audit: it does less).

Each run is a child process of its own, so that its peak resident memory
(``ru_maxrss``) is its own; the figure "growth" is that peak less the child's
resident memory after Django was set up, i.e. what the import itself added.

Run (a throw-away database: it is migrated and filled):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_roster \\
      .venv/bin/python bench/roster_import.py [--sizes 10000 100000] [--methods portal import-export]
"""

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import django_setup, median

HEADERS = ["Name", "Official email", "Mobile", "Designation", "Employee code", "Office", "Date of superannuation"]


def make_file(path: Path, n: int, tag: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for i in range(n):
            # About 90 bytes a row, so that 100,000 rows stay under the 10 MB limit.
            writer.writerow([f"Employee {i}", f"e{i}.{tag}@bench.gov.in", f"9{i:09d}"[-10:], "Section Officer",
                             f"E{i:06d}", f"Section {i % 40}", f"20{40 + i % 20}-03-31"])


def _world(tag):
    from guardian.shortcuts import assign_perm

    from portal.organisations.models import Membership, MembershipRole, Organisation
    from portal.permissions import ADMINISTER_ORGANISATION
    from tests.factories import OrganisationFactory, UserFactory

    organisation = OrganisationFactory(name=f"Bench office {tag}", short_code=f"B{tag}"[:20])
    admin = UserFactory(email=f"admin.{tag}@bench.mahaagri.gov.in")
    Membership.objects.create(organisation=organisation, user=admin, role=MembershipRole.ADMIN)
    assign_perm(ADMINISTER_ORGANISATION, admin, organisation)
    return Organisation.objects.get(pk=organisation.pk), admin


def run_portal(path: Path, tag: str) -> dict:
    from verification.rosters.apply import roster_apply_run
    from verification.rosters.models import Invitation
    from verification.rosters.services import roster_apply_request
    from verification.rosters.tasks import roster_apply

    organisation, admin = _world(tag)
    roster_apply.delay = lambda roster_id: None  # the task body is run below, in this process
    # Sending the invitations is the outbox's work, after the import (bench/outbox_batch.py
    # measures it): the Celery messages that would start it are not sent here, and the
    # outbox rows stay pending, as they would in a broker's queue.
    from portal.mail import tasks as mail_tasks

    mail_tasks.outbox_send_batch.apply_async = lambda *args, **options: None
    started = time.perf_counter()
    with path.open("rb") as binary:
        from verification.rosters.services import roster_upload

        roster = roster_upload(organisation_id=organisation.pk, binary=binary, file_name=path.name,
                               size=path.stat().st_size, actor=admin)
    previewed = time.perf_counter()
    roster_apply_request(roster_id=roster.pk, actor=admin)
    while not roster_apply_run(roster_id=roster.pk, budget_seconds=10_000):
        pass
    done = time.perf_counter()
    return {"preview_s": previewed - started, "apply_s": done - previewed, "total_s": done - started,
            "invitations": Invitation.objects.filter(organisation=organisation).count(), "refused": roster.refused_count}


def run_import_export(path: Path, tag: str) -> dict:
    import tablib
    from django.utils import timezone
    from import_export import fields, resources

    from verification.rosters.invitations import expiry
    from verification.rosters.models import Invitation, mailbox_of
    from verification.rosters.tokens import token_new

    organisation, admin = _world(tag)

    class InvitationResource(resources.ModelResource):
        email = fields.Field(attribute="email", column_name="Official email")
        name = fields.Field(attribute="name", column_name="Name")
        mobile = fields.Field(attribute="mobile", column_name="Mobile")
        designation = fields.Field(attribute="designation", column_name="Designation")
        employee_code = fields.Field(attribute="employee_code", column_name="Employee code")
        office = fields.Field(attribute="office", column_name="Office")
        superannuation_date = fields.Field(attribute="superannuation_date", column_name="Date of superannuation",
                                           widget=fields.widgets.DateWidget("%Y-%m-%d"))

        class Meta:
            model = Invitation
            fields = ("email", "name", "mobile", "designation", "employee_code", "office", "superannuation_date")
            import_id_fields = ()
            use_bulk = True
            batch_size = 1000
            skip_diff = True
            force_init_instance = True

        def before_save_instance(self, instance, row, **kwargs):
            now = timezone.now()
            instance.organisation, instance.invited_by = organisation, admin
            instance.created_at = instance.sent_at = now
            instance.expires_at = expiry(now)
            instance.token_hash = token_new()[1]
            instance.mailbox = mailbox_of(instance.email)  # bulk mode saves no instance one by one

    started = time.perf_counter()
    dataset = tablib.Dataset().load(path.read_text(encoding="utf-8"), format="csv")
    result = InvitationResource().import_data(dataset, dry_run=False, raise_errors=True, use_transactions=True)
    done = time.perf_counter()
    assert not result.has_errors()
    return {"total_s": done - started, "invitations": Invitation.objects.filter(organisation=organisation).count()}


def child(method: str, path: str, tag: str) -> None:
    django_setup()
    from django.conf import settings

    # As in production: with debug on, Django keeps the text of the last 9,000 queries
    # (each a batch insert of 500 rows here), which would be counted as the import's memory.
    settings.DEBUG = False
    # A worker has its URL configuration loaded once (the invitation links are reversed
    # from it): about 2 s of imports in a new process, not a cost of each import.
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018
    from django.db import connection

    waited = [0.0]

    def timed(execute, sql, params, many, context):  # the time the statements take (COPY and commits not counted)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            waited[0] += time.perf_counter() - started

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with connection.execute_wrapper(timed):
        figures = (run_portal if method == "portal" else run_import_export)(Path(path), tag)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures.update({"base_mb": base / 1024, "peak_mb": peak / 1024, "growth_mb": (peak - base) / 1024,
                    "sql_s": waited[0]})
    print("RESULT " + json.dumps(figures), flush=True)


def run_child(method: str, n: int, folder: Path, tag: str) -> dict:
    path = folder / f"roster-{tag}.csv"
    make_file(path, n, tag)
    out = subprocess.run([sys.executable, __file__, "--child", method, str(path), tag],
                         capture_output=True, text=True, env=os.environ.copy())
    path.unlink()
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    line = next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))
    figures = json.loads(line[len("RESULT "):])
    assert figures["invitations"] == n, figures
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--methods", nargs="+", default=["portal", "import-export"])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each method per size, alternating; medians after")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "FILE", "TAG"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    assert os.environ.get("DATABASE_URL", "").startswith("postgres"), "set DATABASE_URL to a throw-away PostgreSQL database"
    django_setup()  # migrate once, here
    folder = Path(tempfile.mkdtemp(prefix="roster-bench-"))
    print(f"{'rows':>8} {'method':<14} {'total s':>8} {'preview s':>9} {'apply s':>8} {'SQL s':>8} {'rows/s':>8} "
          f"{'peak MB':>8} {'growth MB':>9}  load", flush=True)
    for n in args.sizes:
        totals = {method: [] for method in args.methods}
        for r in range(args.repeat):
            for method in args.methods:
                tag = f"{method[:1]}{r}{int(time.time()) % 100000}"
                f = run_child(method, n, folder, tag)
                totals[method].append(f["total_s"])
                print(f"{n:>8} {method:<14} {f['total_s']:>8.1f} {f.get('preview_s', float('nan')):>9.1f} "
                      f"{f.get('apply_s', float('nan')):>8.1f} {f['sql_s']:>8.1f} {n / f['total_s']:>8.0f} "
                      f"{f['peak_mb']:>8.0f} {f['growth_mb']:>9.0f}  {os.getloadavg()[0]:.1f}", flush=True)
        medians = {method: median(values) for method, values in totals.items()}
        print(f"{n:>8} median total s: " + ", ".join(f"{m} {v:.1f}" for m, v in medians.items())
              + (f"; import-export / portal = {medians['import-export'] / medians['portal']:.2f}"
                 if {"portal", "import-export"} <= set(medians) else ""), flush=True)


if __name__ == "__main__":
    main()
