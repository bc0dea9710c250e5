"""Throughput of the verification API under the production profile: gunicorn (2 sync
workers, deploy/gunicorn.conf.py, DJANGO_DEBUG=0), PostgreSQL, Redis as the cache (the
rate limit's counters); requests a second and p50/p99 latency of
``GET /api/v1/verifications`` (a client's bearer token; addresses and mobile numbers of
verified, suspended and unknown people in turn) as a share of a bare Django JSON view
served by the same workers, measured alternately with it in the same run.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api_throughput.py \
        [--seconds 3] [--rounds 5] [--concurrency 4] [--people 10000]

DATABASE_URL names the PostgreSQL server (a throw-away database is created on it and
dropped at the end); redis-server must be on PATH (one is started on a free port).
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from _load import hammer, percentile

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on port {port}")


# Processor time -------------------------------------------------------------------------------
# What each request costs the processors, whatever else the machine runs: the user and
# system time of the gunicorn workers, of the PostgreSQL backends serving the benchmark's
# database (when the server is on this machine), of the redis-server and of this
# process (the load generator), read from /proc before and after each measurement.

TICKS = os.sysconf("SC_CLK_TCK")
GROUPS = ("workers", "postgres", "redis", "load generator")


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None  # gone (a backend replaced when its connection reached CONN_MAX_AGE)
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def children_of(parent):
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == parent:
                    pids.append(int(entry.name))
            except (OSError, ValueError):
                pass
    return pids


def cpu_snapshot(gunicorn, redis, admin, database, local_postgres):
    backends = ([pid for (pid,) in admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                  [database])] if local_postgres else [])
    pids = {"workers": children_of(gunicorn.pid), "postgres": backends, "redis": [redis.pid]}
    snapshot = {group: {pid: cpu_seconds(pid) for pid in group_pids} for group, group_pids in pids.items()}
    snapshot["load generator"] = {0: time.process_time()}
    return snapshot


def cpu_spent(before, after):
    """Seconds of processor time per group between two snapshots (a process that
    started in between counts from zero)."""
    return {group: sum(seconds - (before[group].get(pid) or 0.0)
                       for pid, seconds in after[group].items() if seconds is not None)
            for group in GROUPS}


# Seeding (run in a child process with the bench's environment) ------------------------------

def seed(people):
    """A throw-away database: migrated, N verified government users in 20 organisations
    that show their addresses and mobile numbers to verified government users (and N/10
    suspended), one API client. Prints the token and the lookups as JSON."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)
    from api.services import api_client_create
    from portal.accounts.models import User
    from portal.organisations.models import Organisation, OrganisationStatus
    from verification.models import GovernmentProfile, VerificationMethod, VerificationStatus
    from verification.visibility.models import Audience, VisibilityPolicy

    organisations = Organisation.objects.bulk_create(
        Organisation(name=f"Bench Directorate {i}", short_code=f"BENCH{i}", state="MH", status=OrganisationStatus.ACTIVE)
        for i in range(20)
    )
    # Their people's official address and mobile number shown to verified government
    # users: what the API finds a person by (under the default policy, nobody).
    VisibilityPolicy.objects.bulk_create(
        VisibilityPolicy(organisation=organisation, official_email=Audience.VERIFIED, mobile=Audience.VERIFIED)
        for organisation in organisations
    )
    suspended = people // 10
    users = User.objects.bulk_create(User(email=f"person{i}@bench{i % 20}.gov.in", full_name=f"Person {i}")
                                     for i in range(people + suspended))
    now = timezone.now()
    GovernmentProfile.objects.bulk_create(
        GovernmentProfile(
            user=user, organisation=organisations[i % 20], designation="Section Officer", office="Records",
            employee_code=f"E{i:06d}", official_email=user.email, mobile=f"+919{i:09d}",
            status=VerificationStatus.VERIFIED if i < people else VerificationStatus.SUSPENDED,
            requested_at=now, verified_at=now, method=VerificationMethod.MANUAL, decided_at=now,
            verified_name=user.full_name,
        )
        for i, user in enumerate(users)
    )
    _client, token = api_client_create(organisation_id=organisations[0].pk, name="Bench", actor=None)
    # Statistics, as a database in use has them (autovacuum would gather them a minute or
    # so later, in the middle of the measurements): without them PostgreSQL may find a
    # person by an address by reading the index of verified mobile numbers through.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    lookups = []
    for i in range(0, people, max(1, people // 50)):
        lookups.append({"email": f"Person{i}@BENCH{i % 20}.gov.in"})  # verified, typed in capitals
        lookups.append({"mobile": f"9{i:09d}"})  # verified, without +91
    for i in range(people, people + suspended, max(1, suspended // 10)):
        lookups.append({"email": f"person{i}@bench{i % 20}.gov.in"})  # suspended: not verified
    lookups += [{"email": f"nobody{i}@bench.gov.in"} for i in range(10)]  # unknown
    print(json.dumps({"token": token, "lookups": lookups}))


# Load ----------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of each measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the API with the bare view")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--people", type=int, default=10000, help="verified government users in the database")
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        return seed(args.people)

    server = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(server)
    if not parts.scheme.startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL server")
    name = f"portal_bench_api_{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-api-"))
    processes = []
    import psycopg

    admin = psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        redis_port = free_port()
        processes.append(subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for_port(redis_port)
        env = os.environ | {
            "DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}")),
            "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(40), "AUDIT_HMAC_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": HOST, "SITE_URL": f"https://{HOST}", "REDIS_URL": f"redis://{HOST}:{redis_port}/0",
            "CELERY_BROKER_URL": f"redis://{HOST}:{redis_port}/1", "PORTAL_VAR_DIR": str(tmp), "EMAIL_HOST": HOST,
            "API_RATE_PER_MINUTE": "100000000", "DJANGO_SETTINGS_MODULE": "portal.settings",
        }
        print(f"migrating and seeding {args.people} verified people ...", flush=True)
        out = subprocess.run([PYTHON, __file__, "--seed", "--people", str(args.people)], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=False)
        if out.returncode:
            sys.exit(out.stderr[-3000:])
        seeded = json.loads(out.stdout.strip().splitlines()[-1])

        port = free_port()
        gunicorn = str(Path(PYTHON).parent / "gunicorn")
        log = open(tmp / "gunicorn.log", "w")
        processes.append(subprocess.Popen(
            [gunicorn, "-c", "deploy/gunicorn.conf.py", "--workers", "2", "--bind", f"{HOST}:{port}",
             "--control-socket", str(tmp / "gunicorn.ctl"), "--max-requests", "0", "--pythonpath", "bench",
             "api_throughput_wsgi:application"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
        wait_for_port(port)

        headers = {"Host": HOST, "X-Forwarded-Proto": "https", "User-Agent": "bench"}
        api_headers = headers | {"Authorization": f"Bearer {seeded['token']}"}
        api_paths = [f"/api/v1/verifications?{urlencode(query)}" for query in seeded["lookups"]]
        bare_paths = ["/bench/bare"]
        # Warm-up: both workers, both views.
        bare_requests = [(path, headers) for path in bare_paths]
        api_requests = [(path, api_headers) for path in api_paths]
        hammer(port, bare_requests, seconds=1, concurrency=args.concurrency)
        hammer(port, api_requests, seconds=1, concurrency=args.concurrency)

        local_postgres = parts.hostname in ("127.0.0.1", "localhost", "::1", None)
        redis_server, gunicorn_master = processes

        def snapshot():
            return cpu_snapshot(gunicorn_master, redis_server, admin, name, local_postgres)

        figures = {key: {"rps": [], "lat": [], "statuses": Counter(), "cpu": Counter()} for key in ("bare", "api")}
        for round_ in range(args.rounds):
            for key, requests in (("bare", bare_requests), ("api", api_requests)):
                before = snapshot()
                rps, lat, statuses = hammer(port, requests, seconds=args.seconds, concurrency=args.concurrency)
                figures[key]["cpu"].update(cpu_spent(before, snapshot()))
                figures[key]["rps"].append(rps)
                figures[key]["lat"].extend(lat)
                figures[key]["statuses"].update(statuses)
            ratio = figures["api"]["rps"][-1] / figures["bare"]["rps"][-1]
            print(f"round {round_ + 1}: bare {figures['bare']['rps'][-1]:.0f}/s, API {figures['api']['rps'][-1]:.0f}/s "
                  f"({ratio:.2f})", flush=True)

        ratios = [api / bare for api, bare in zip(figures["api"]["rps"], figures["bare"]["rps"], strict=True)]
        print()
        print(f"{args.people} verified people, {len(api_paths)} lookups in turn, {args.concurrency} client threads, "
              f"{args.rounds} rounds of {args.seconds:g} s each")
        print("| view | requests/s (median) | p50 ms | p99 ms | statuses |")
        print("|---|---:|---:|---:|---|")
        for key, label in (("bare", "bare Django JSON view"), ("api", "GET /api/v1/verifications")):
            f = figures[key]
            print(f"| {label} | {statistics.median(f['rps']):.0f} | {percentile(f['lat'], 0.5):.1f} | "
                  f"{percentile(f['lat'], 0.99):.1f} | {dict(sorted(f['statuses'].items()))} |")
        print("\nProcessor time per request, ms (all rounds; " + ("" if local_postgres else "PostgreSQL on another "
              "machine: not counted; ") + "the load generator is this process):")
        print(f"| view | {' | '.join(GROUPS)} | total |")
        print("|---|" + "---:|" * (len(GROUPS) + 1))
        totals = {}
        for key, label in (("bare", "bare Django JSON view"), ("api", "GET /api/v1/verifications")):
            count = len(figures[key]["lat"])
            per = {group: figures[key]["cpu"][group] * 1000 / count for group in GROUPS}
            totals[key] = sum(per.values())
            print(f"| {label} | {' | '.join(f'{per[group]:.2f}' for group in GROUPS)} | {totals[key]:.2f} |")
        print(f"bare view / API in processor time per request: {totals['bare'] / totals['api']:.2f}")
        print(f"\nAPI / bare view, per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f} "
              f"(target at least 0.6)")
        bad = {s for key in figures for s in figures[key]["statuses"] if s != 200}
        if bad:
            sys.exit(f"statuses other than 200: {bad} (see {tmp / 'gunicorn.log'})")
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
