"""Large synthetic data for benchmarks (PostgreSQL only, loaded with COPY):

    manage.py seed_scale --organisations 10000 --users 1000000

Makes organisations in every state, UT and the centre (a department every tenth,
its offices below it), one official domain each, applications in every state of
the lifecycle (onboarding/workflow.py) with their approval steps (decided, open,
overdue), government users (verified, waiting, rejected) spread over the active
organisations, and a list of offices expected to join per state, half of them
matching an organisation. Then it counts the users per organisation (the summary
table of monitoring) and ANALYZEs the tables.

It is not idempotent: each run adds a new batch (names and addresses carry the run's
tag, so a second run does not collide with the first). It refuses a database that
already holds data while debug is off (a production-looking one) unless --force.
No audit rows, memberships or object permissions are made (the dashboard does not
read them); the benchmark makes the few role holders it needs through the ORM."""

import itertools
import json
import random
import secrets
import time
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from monitoring import services
from monitoring.models import ExpectedOffice
from onboarding.models import Application, ApplicationStatus, ApprovalStep, Decision, Stage
from portal.accounts.models import User
from portal.organisations.models import Organisation, OrganisationDomain
from portal.organisations.states import CENTRAL, State
from verification.models import GovernmentProfile, VerificationStatus

JURISDICTIONS = [*State.values, CENTRAL]
# Share of the applications (beyond one approved per active organisation) in each open
# or closed state of the lifecycle.
OTHER_STATES = [
    (ApplicationStatus.DRAFT, 30), (ApplicationStatus.WITH_AUTHORITY, 20), (ApplicationStatus.CHANGES_REQUESTED, 8),
    (ApplicationStatus.WITH_STATE, 20), (ApplicationStatus.REJECTED, 6), (ApplicationStatus.UNDER_APPEAL, 3),
    (ApplicationStatus.REJECTED_FINAL, 5), (ApplicationStatus.WITHDRAWN, 8),
]
PROFILE_STATES = [(VerificationStatus.VERIFIED, 85), (VerificationStatus.PENDING, 10), (VerificationStatus.REJECTED, 5)]


def _weighted(choices, rng):
    return rng.choices([c for c, _w in choices], weights=[w for _c, w in choices])[0]


class Copier:
    """COPY rows of a model: every concrete column, the values given or the field's default."""

    def __init__(self, model, cursor):
        self.model, self.cursor = model, cursor
        self.fields = [f for f in model._meta.concrete_fields]
        self.defaults = {f.column: (None if f.null else f.get_default()) for f in self.fields}

    def copy(self, rows):
        columns = [f.column for f in self.fields]
        quoted = ", ".join(f'"{column}"' for column in columns)
        sql = f'COPY "{self.model._meta.db_table}" ({quoted}) FROM STDIN'
        json_columns = {f.column for f in self.fields if f.get_internal_type() == "JSONField"}
        count = 0
        with self.cursor.copy(sql) as copy:
            for row in rows:
                values = []
                for column in columns:
                    value = row.get(column, self.defaults[column])
                    if column in json_columns:
                        value = json.dumps(value)
                    values.append(value)
                copy.write_row(values)
                count += 1
        return count


class Command(BaseCommand):
    help = "Large synthetic data for benchmarks (PostgreSQL, COPY). Not idempotent: each run adds a batch."

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, default=10000)
        parser.add_argument("--users", type=int, default=1000000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--force", action="store_true",
                            help="run on a database that holds data while debug is off")

    def handle(self, *args, organisations, users, seed, force, **options):
        if connection.vendor != "postgresql":
            raise CommandError("seed_scale loads with PostgreSQL's COPY: point DATABASE_URL at a PostgreSQL database.")
        if not 1 <= organisations <= 200_000 or not 0 <= users <= 5_000_000:
            raise CommandError("--organisations 1..200000 and --users 0..5000000.")
        non_empty = Organisation.objects.exists() or User.objects.exists()
        if non_empty and not settings.DEBUG and not force:
            raise CommandError("This database already holds data and debug is off: it looks like production. "
                               "Refusing to add synthetic data; pass --force if it really is a benchmark database.")
        rng = random.Random(seed)
        self.tag = secrets.token_hex(3)  # marks this run's names and addresses
        self.now = timezone.now()
        started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            org_ids = self._organisations(raw, organisations, rng)
            user_ids = self._users(raw, users + len(org_ids["all"]) // 2, rng)
            officers, people = user_ids[: len(org_ids["all"]) // 2 or 1], user_ids[len(org_ids["all"]) // 2:]
            self._applications(raw, org_ids, officers, rng)
            self._profiles(raw, people, org_ids["active"], rng)
            self._expected_offices(org_ids, rng)
            for model in (Organisation, OrganisationDomain, User, Application, ApprovalStep, GovernmentProfile):
                table = model._meta.db_table
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 1))")
        refreshed = services.figures_refresh()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"seed_scale {self.tag}: {len(org_ids['all'])} organisations, {len(people)} users with a government profile, "
            f"{self.applications} applications, {self.steps} steps; figures of {refreshed['organisations']} organisations; "
            f"{time.monotonic() - started:.0f} s")

    # ----------------------------------------------------------------------------------

    def _next_id(self, model):
        return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1

    def _organisations(self, raw, n, rng):
        first = self._next_id(Organisation)
        rows, domains, active, all_ids, by_id = [], [], [], [], {}
        parent = None
        for index in range(n):
            pk = first + index
            jurisdiction = JURISDICTIONS[index // 10 % len(JURISDICTIONS)]
            top = index % 10 == 0
            if top:
                parent = pk
            is_active = rng.random() < 0.97
            activated = self.now - timedelta(days=rng.randint(0, 730)) if is_active else None
            code = f"S{self.tag}-{index}".upper()
            rows.append({
                "id": pk, "name": f"{'Department' if top else 'Office'} {index} ({self.tag})", "name_local": "",
                "short_code": code, "org_type": "state_department" if top else "district_office",
                "level": "central" if jurisdiction == CENTRAL else ("state" if top else "district"),
                "state": "" if jurisdiction == CENTRAL else jurisdiction, "district": "",
                "parent_id": None if top else parent, "ancestry": "/" if top else f"/{parent}/",
                "status": "active" if is_active else "suspended", "created_at": activated or self.now,
                "activated_at": activated,
            })
            domains.append({"organisation_id": pk, "domain": f"o{index}-{self.tag}.{jurisdiction.lower()}.gov.in",
                            "is_verified": True, "claim": "official_suffix"})
            all_ids.append(pk)
            by_id[pk] = (jurisdiction, code, domains[-1]["domain"])
            if is_active:
                active.append(pk)
        Copier(Organisation, raw).copy(rows)
        Copier(OrganisationDomain, raw).copy({**d, "id": i} for i, d in enumerate(domains, self._next_domain_id()))
        return {"all": all_ids, "active": active, "by_id": by_id}

    def _next_domain_id(self):
        return self._next_id(OrganisationDomain)

    def _users(self, raw, n, rng):
        first = self._next_id(User)
        password = make_password("seed-scale-password")
        joined = self.now - timedelta(days=400)
        Copier(User, raw).copy(
            {"id": first + i, "password": password, "email": f"u{i}.{self.tag}@people.gov.in", "full_name": f"Person {i}",
             "is_superuser": False, "is_staff": False, "is_active": True, "date_joined": joined}
            for i in range(n)
        )
        return list(range(first, first + n))

    def _applications(self, raw, org_ids, officers, rng):
        first_app, first_step = self._next_id(Application), self._next_id(ApprovalStep)
        self.application_codes: dict[str, list[str]] = {}
        apps, steps = [], []
        officer = itertools.cycle(officers)

        def application(status, jurisdiction, org=None, code="", domain=""):
            pk = first_app + len(apps)
            submitted = status != ApplicationStatus.DRAFT
            created = self.now - timedelta(days=rng.randint(1, 400))
            apps.append({
                "id": pk, "reference": f"ONB-S{self.tag}-{pk}" if submitted else None, "nodal_officer_id": next(officer),
                "status": status, "data": {"organisation": {"short_code": code, "email_domains": domain}},
                "section_status": {}, "version": 1, "organisation_name": f"Applicant {pk}", "jurisdiction": jurisdiction,
                "organisation_id": org, "declarations_version": "", "created_at": created, "updated_at": created,
                "submitted_at": created + timedelta(days=1) if submitted else None,
            })
            return pk, created + timedelta(days=1)

        def step(app, stage, opened, jurisdiction, decision="", days=None, due_days=7):
            steps.append({
                "id": first_step + len(steps), "application_id": app, "stage": stage, "assignee_email": "",
                "assignee_name": "", "jurisdiction": jurisdiction if stage == Stage.STATE else "", "version_number": 1,
                "grounds": "", "opened_at": opened, "due_at": opened + timedelta(days=due_days), "decision": decision,
                "remarks": "", "decided_at": opened + timedelta(days=days) if decision else None, "decided_by_email": "",
                "user_agent": "",
            })
            return opened + timedelta(days=days or 0)

        for org in org_ids["active"]:
            jurisdiction = org_ids["by_id"][org][0]
            pk, opened = application(ApplicationStatus.APPROVED, jurisdiction, org)
            opened = step(pk, Stage.AUTHORITY, opened, jurisdiction, Decision.APPROVE, rng.uniform(0.2, 9))
            step(pk, Stage.STATE, opened, jurisdiction, Decision.APPROVE, rng.uniform(0.5, 14))
        expected = list(org_ids["by_id"].values())
        for index in range(max(len(org_ids["all"]) // 4, len(OTHER_STATES))):
            status = OTHER_STATES[index][0] if index < len(OTHER_STATES) else _weighted(OTHER_STATES, rng)
            jurisdiction = JURISDICTIONS[index % len(JURISDICTIONS)]
            # Some carry an expected office's code (not yet active: none of the seeded codes is reused).
            code = f"X{self.tag}-{index}".upper() if index % 2 else ""
            domain = expected[index % len(expected)][2] if index % 7 == 0 else ""
            pk, opened = application(status, jurisdiction, None, code, domain)
            if code:
                self.application_codes.setdefault(jurisdiction, []).append(code)
            self._steps_for(status, pk, opened, jurisdiction, step, rng)
        self.applications = Copier(Application, raw).copy(apps)
        self.steps = Copier(ApprovalStep, raw).copy(steps)

    def _steps_for(self, status, pk, opened, jurisdiction, step, rng):
        S = ApplicationStatus
        overdue_open = rng.randint(-20, 6)  # opened this many days ago relative to a 7-day due date
        if status == S.WITH_AUTHORITY:
            step(pk, Stage.AUTHORITY, self.now - timedelta(days=7 + overdue_open), jurisdiction)
        elif status == S.CHANGES_REQUESTED:
            step(pk, Stage.AUTHORITY, opened, jurisdiction, Decision.RETURN, rng.uniform(0.5, 6))
        elif status == S.WITH_STATE:
            step(pk, Stage.AUTHORITY, opened, jurisdiction, Decision.APPROVE, rng.uniform(0.2, 9))
            step(pk, Stage.STATE, self.now - timedelta(days=10 + overdue_open), jurisdiction, due_days=10)
        elif status in (S.REJECTED, S.REJECTED_FINAL):
            step(pk, Stage.AUTHORITY, opened, jurisdiction, Decision.REJECT, rng.uniform(0.5, 6))
        elif status == S.UNDER_APPEAL:
            decided = step(pk, Stage.AUTHORITY, opened, jurisdiction, Decision.REJECT, rng.uniform(0.5, 6))
            step(pk, Stage.APPEAL, max(decided, self.now - timedelta(days=20)), jurisdiction, due_days=14)
        elif status == S.WITHDRAWN:
            step(pk, Stage.AUTHORITY, opened, jurisdiction, Decision.CANCELLED, rng.uniform(0.5, 3))

    def _profiles(self, raw, people, active, rng):
        if not active:
            return
        first = self._next_id(GovernmentProfile)
        requested = self.now - timedelta(days=200)

        def rows():
            for i, user in enumerate(people):
                status = _weighted(PROFILE_STATES, rng)
                held = status == VerificationStatus.VERIFIED
                yield {
                    "id": first + i, "user_id": user, "organisation_id": active[i % len(active)],
                    "designation": "Section Officer", "office": "Establishment", "employee_code": f"E{i}",
                    "official_email": f"u{i}.{self.tag}@people.gov.in", "mobile": "+919876543210", "status": status,
                    "requested_at": requested, "request_language": "en", "method": "manual" if held else "",
                    "verified_at": requested + timedelta(days=1) if held else None,
                    "decided_at": None if status == VerificationStatus.PENDING else requested + timedelta(days=1),
                    "decided_by_email": "", "reason_code": "", "reason": "",
                }
        Copier(GovernmentProfile, raw).copy(rows())
        # Verified under their account's name, as verifying records it (one statement).
        GovernmentProfile.objects.filter(pk__gte=first, status=VerificationStatus.VERIFIED).update(
            verified_name=Subquery(User.objects.filter(pk=OuterRef("user_id")).values("full_name")[:1]))

    def _expected_offices(self, org_ids, rng):
        """Per jurisdiction up to 40 expected offices: half with an organisation's short code,
        half with an application's (draft or in approval) or none known."""
        offices = []
        by_jurisdiction: dict[str, list] = {}
        for jurisdiction, code, domain in org_ids["by_id"].values():
            by_jurisdiction.setdefault(jurisdiction, []).append((code, domain))
        for jurisdiction, known in by_jurisdiction.items():
            for i in range(min(40, len(known) * 2)):
                applied = self.application_codes.get(jurisdiction, [])
                if i % 2 == 0:
                    code = known[i // 2][0]
                elif i // 2 < len(applied):
                    code = applied[i // 2]
                else:
                    code = f"N{self.tag}-{i}".upper()
                offices.append(ExpectedOffice(
                    jurisdiction=jurisdiction, name=f"Expected office {i} of {jurisdiction}", short_code=code,
                    contact_email=f"contact{i}.{self.tag}@{jurisdiction.lower()}.gov.in",
                    target_date=date.today() + timedelta(days=rng.randint(-90, 180))))
        ExpectedOffice.objects.bulk_create(offices, batch_size=2000, ignore_conflicts=True)
