"""Where a page's time goes, in one process, as gunicorn's workers serve it (DJANGO_DEBUG=0,
the production settings): each page of bench/pages.py asked N times through Django's test
client, with its mean time, its queries and, with --profile, cProfile's heaviest functions.

Run against a database and Redis seeded with bench/pages_seed.py, in the environment
bench/pages.py gives gunicorn (DJANGO_DEBUG=0, DATABASE_URL, REDIS_URL, DJANGO_ALLOWED_HOSTS=portal.test, ...):

    .venv/bin/python bench/pages_seed.py --applications 3 --links 50 > seed.json
    .venv/bin/python bench/pages_profile.py seed.json [--requests 200] [--profile PAGE] [--sort tottime]
        [--callers REGEX]
"""

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

HOST = "portal.test"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("seed", help="the JSON line bench/pages_seed.py printed (a file)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", default="", help="a page's name (or part of it) to run under cProfile")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--batches", type=int, default=1,
                        help="split the requests into this many batches and print the fastest batch's means "
                             "(a machine whose speed moves from second to second)")
    parser.add_argument("--queries", action="store_true", help="print each page's queries")
    parser.add_argument("--lines", type=int, default=45)
    parser.add_argument("--only", default="", help="a regular expression the listed functions' files must match")
    parser.add_argument("--callers", default="", help="a regular expression: who called the functions it matches")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test import Client
    from pages import totp_code

    seeded = json.loads(Path(args.seed).read_text().strip().splitlines()[-1])
    settings.ROOT_URLCONF = "pages_urls"

    def client():
        return Client(HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR="203.0.113.7",
                      secure=True)

    def sign_in(email, secret=None):
        c = client()
        response = c.post("/accounts/login/", {"login": email, "password": seeded["password"]})
        assert response.status_code == 302, response.status_code
        if secret:
            for _ in range(2):  # a code is accepted once: a run just before may have used this one
                response = c.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
                if response.status_code == 302:
                    break
                time.sleep(30 - time.time() % 30 + 0.1)
            assert response.status_code == 302, response.status_code
        return c

    officer = sign_in(seeded["officer"])
    mh = sign_in(*seeded["admins"]["MH"])
    ka = sign_in(*seeded["admins"]["KA"])
    # The review page answers 20 requests a minute per link: a browser per link, in turn (as bench/pages.py does).
    reviewers = []
    for i, raw in enumerate(seeded["links"]):
        reviewer = Client(HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_FOR=f"198.51.100.{i % 250 + 1}",
                          secure=True)
        if reviewer.get(f"/onboarding/review/{raw}/").status_code == 302:
            reviewers.append(reviewer)
    assert len(reviewers) * 15 >= args.requests, "too few links still open for --requests: seed more (--links)"
    draft = seeded["drafts"][-1]
    pages = [
        ("bare view", "/bench/bare", client()),
        ("bare view, signed in", "/bench/bare-signed-in", officer),
        ("base layout, signed in", "/bench/layout-signed-in", officer),
        ("login page", "/accounts/login/", client()),
        ("My applications", "/onboarding/", officer),
        ("task list", f"/onboarding/{draft}/tasks/", officer),
        ("state queue, 200 waiting", "/onboarding/queue/", mh),
        ("state queue, 10,000 waiting, page 200", "/onboarding/queue/?page=200", ka),
        ("authority's review page", "/onboarding/review/", reviewers),
        ("/healthz", "/healthz", client()),
    ]
    for name, path, c in pages:
        measure(name, path, c, args)


class QueryLog:
    """The SQL of every query run inside ``connection.execute_wrapper(log)``."""

    def __init__(self):
        self.sql = []

    def __call__(self, execute, sql, params, many, context):
        self.sql.append(sql)
        return execute(sql, params, many, context)


def measure(name, path, clients, args):
    """Each request from the next of ``clients`` (a list), or from the one client."""
    from django.db import connection

    clients = clients if isinstance(clients, list) else [clients]

    def get(i):
        response = clients[i % len(clients)].get(path)
        assert response.status_code == 200, (name, response.status_code)

    for i in range(3):
        get(i)
    log = QueryLog()
    with connection.execute_wrapper(log):
        get(3)
    per_batch = max(1, args.requests // args.batches)
    ms = cpu_ms = float("inf")
    for batch in range(args.batches):
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(batch * per_batch, (batch + 1) * per_batch):
            get(i)
        ms = min(ms, (time.perf_counter() - started) * 1000 / per_batch)
        cpu_ms = min(cpu_ms, (time.process_time() - cpu) * 1000 / per_batch)
    print(f"{name:40} {ms:7.2f} ms ({cpu_ms:6.2f} ms of this process's CPU)  {len(log.sql):2d} queries", flush=True)
    if args.queries:
        for sql in log.sql:
            print("   ", sql[:300])
    if args.profile and args.profile.lower() in name.lower():
        profile = cProfile.Profile()
        profile.enable()
        for i in range(args.requests):
            get(i)
        profile.disable()
        stats = pstats.Stats(profile).sort_stats(args.sort)
        stats.print_stats(*([args.only] if args.only else []), args.lines)
        if args.callers:
            stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
