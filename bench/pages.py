"""Pages under the production profile: gunicorn (2 workers, DJANGO_DEBUG=0), PostgreSQL,
Redis; each page's requests a second and p50/p99 latency as a share of a bare Django JSON
view served by the same gunicorn, measured alternately with it in the same run; a
worker's first PDF render against its later ones; memory per worker after the run.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/pages.py \
        [--seconds 3] [--rounds 3] [--concurrency 4]

DATABASE_URL names the PostgreSQL server (a throw-away database is created on it and
dropped at the end); redis-server must be on PATH (one is started on a free port).
"""

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _load import hammer, percentile  # noqa: E402

from tests.production.stack import HOST, Browser, Stack, run, wait_for  # noqa: E402


def headers(cookies=None, address="203.0.113.7"):
    sent = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": address, "User-Agent": "bench"}
    if cookies:
        sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    return sent


def totp_code(secret, period=30, digits=6):
    """The code an authenticator app shows now (RFC 6238, as allauth checks it); near the
    end of a period, the next one."""
    import base64
    import hashlib
    import hmac
    import struct

    if period - time.time() % period < 3:
        time.sleep(period - time.time() % period + 0.1)
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // period), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** digits:0{digits}d}"


def sign_in(web, email, password, totp_secret=None):
    browser = Browser(web)
    response = browser.post("/accounts/login/", {"login": email, "password": password,
                                                 "csrfmiddlewaretoken": browser.csrf("/accounts/login/")})
    assert response.status_code == 302, response.status_code
    if totp_secret:
        assert response.headers["Location"].startswith("/accounts/2fa/authenticate/"), response.headers["Location"]
        code = totp_code(totp_secret)
        response = browser.post("/accounts/2fa/authenticate/", {
            "code": code, "csrfmiddlewaretoken": browser.csrf("/accounts/2fa/authenticate/"),
        })
        assert response.status_code == 302, response.text[:500]
    return browser.cookies


def worker_memory(master_pid):
    """Resident memory (MB) of each worker of the gunicorn whose master is ``master_pid``."""
    sizes = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(master_pid):
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sorted(sizes)


def pdf_figures(stack, seeded, officer_cookies, *, cycles, per_cycle):
    """Per fresh 1-worker gunicorn: the first form PDF it renders, then the later ones (ms)."""
    firsts, laters = [], []
    drafts = list(seeded["drafts"])
    for cycle in range(cycles):
        web = stack.start_web(f"pdf-{cycle}", workers=1)
        try:
            for i in range(per_cycle):
                pk = drafts.pop(0)
                started = time.perf_counter()
                conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=120)
                conn.request("GET", f"/onboarding/{pk}/form.pdf", headers=headers(officer_cookies))
                response = conn.getresponse()
                body = response.read()
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status == 200 and body.startswith(b"%PDF-"), (response.status, body[:200])
                (firsts if i == 0 else laters).append(elapsed)
        finally:
            web.process.stop()
            stack.processes.remove(web.process)
    return firsts, laters


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of each page with the bare view")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--pdf-cycles", type=int, default=3)
    parser.add_argument("--pdf-per-cycle", type=int, default=4)
    args = parser.parse_args()

    stack = Stack(Path(tempfile.mkdtemp(prefix="portal-bench-pages-")), smtp_port=9)
    for name in [n for n in stack.env if n.startswith("STORAGE_S3_")]:
        del stack.env[name]  # files in each gunicorn's folder: the PDFs below are rendered and read on one host
    stack.env |= {"ONBOARDING_TOKEN_RATE_PER_MINUTE": "1000000", "PDF_RENDER_TIMEOUT_SECONDS": "30"}
    try:
        stack.start_redis()
        print("migrating a throw-away database ...", flush=True)
        stack.database_setup()
        print("seeding ...", flush=True)
        out = run([sys.executable, "bench/pages_seed.py", "--applications",
                   str(args.pdf_cycles * args.pdf_per_cycle + 1)], env=stack.env).stdout
        import json

        seeded = json.loads(out.strip().splitlines()[-1])
        web = stack.start_web("web", workers=2, app="pages_wsgi", extra=("--pythonpath", "bench"))
        wait_for(lambda: len(worker_memory(web.process.popen.pid)) == 2, timeout=60, what="two gunicorn workers")

        officer = sign_in(web, seeded["officer"], seeded["password"])
        mh = sign_in(web, seeded["admins"]["MH"][0], seeded["password"], seeded["admins"]["MH"][1])
        ka = sign_in(web, seeded["admins"]["KA"][0], seeded["password"], seeded["admins"]["KA"][1])
        print("opening the authority's links ...", flush=True)
        review_sets = []
        for i, raw in enumerate(seeded["links"]):
            browser = Browser(web)
            address = f"198.51.{100 + i // 250}.{i % 250 + 1}"
            response = browser.get(f"/onboarding/review/{raw}/", headers={"X-Forwarded-For": address})
            assert response.status_code == 302, response.status_code
            review_sets.append(headers(browser.cookies, address))
        draft = seeded["drafts"][-1]
        pages = [
            ("login page", "/accounts/login/", [headers()]),
            ("My applications", "/onboarding/", [headers(officer)]),
            ("task list", f"/onboarding/{draft}/tasks/", [headers(officer)]),
            ("state queue, 200 waiting", "/onboarding/queue/", [headers(mh)]),
            ("state queue, 10,000 waiting, page 1", "/onboarding/queue/", [headers(ka)]),
            ("state queue, 10,000 waiting, page 200", "/onboarding/queue/?page=200", [headers(ka)]),
            ("authority's review page", "/onboarding/review/", review_sets),
            ("/healthz", "/healthz", [headers()]),
        ]
        bare = ("bare Django JSON view", "/bench/bare", [headers()])
        # Warm-up: every page once per worker, and the bare view.
        for _name, path, sets in [bare, *pages]:
            hammer(web.port, [(path, h) for h in sets], seconds=0.5, concurrency=2)

        results = {name: {"rps": [], "lat": [], "bare": [], "statuses": Counter()} for name, _p, _s in pages}
        bare_latencies = []
        for round_ in range(args.rounds):
            for name, path, sets in pages:
                bare_rps, bare_lat, _ = hammer(web.port, [(bare[1], h) for h in bare[2]], seconds=args.seconds,
                                               concurrency=args.concurrency)
                rps, lat, statuses = hammer(web.port, [(path, h) for h in sets], seconds=args.seconds,
                                            concurrency=args.concurrency)
                results[name]["rps"].append(rps)
                results[name]["bare"].append(bare_rps)
                results[name]["lat"].extend(lat)
                results[name]["statuses"].update(statuses)
                bare_latencies.extend(bare_lat)
            print(f"round {round_ + 1} of {args.rounds} done", flush=True)
        memory = worker_memory(web.process.popen.pid)

        bare_rps_all = [rps for r in results.values() for rps in r["bare"]]
        print()
        print("| page | requests/s | p50 ms | p99 ms | × bare view | statuses |")
        print("|---|---:|---:|---:|---:|---|")
        print(f"| {bare[0]} | {statistics.median(bare_rps_all):.0f} | {percentile(bare_latencies, 0.5):.1f} | "
              f"{percentile(bare_latencies, 0.99):.1f} | 1 | |")
        for name, r in results.items():
            ratio = statistics.median(rps / b for rps, b in zip(r["rps"], r["bare"], strict=True))
            statuses = ", ".join(f"{code}: {count}" for code, count in sorted(r["statuses"].items()))
            print(f"| {name} | {statistics.median(r['rps']):.0f} | {percentile(r['lat'], 0.5):.1f} | "
                  f"{percentile(r['lat'], 0.99):.1f} | {ratio:.3f} | {statuses} |")
        first_page = statistics.median(results["state queue, 10,000 waiting, page 1"]["rps"])
        last_page = statistics.median(results["state queue, 10,000 waiting, page 200"]["rps"])
        at_200 = statistics.median(results["state queue, 200 waiting"]["rps"])
        print(f"\nqueue at 10,000, page 200 against page 1 at 200 waiting: {at_200 / last_page:.2f}× the time "
              f"(page 1 at 10,000: {at_200 / first_page:.2f}×)")
        print(f"memory per worker after the run: {', '.join(f'{m:.0f} MB' for m in memory)}")

        print("\nPDF renders (a fresh 1-worker gunicorn each cycle) ...", flush=True)
        firsts, laters = pdf_figures(stack, seeded, officer, cycles=args.pdf_cycles, per_cycle=args.pdf_per_cycle)
        print(f"first render of a worker: {', '.join(f'{f:.0f}' for f in firsts)} ms (median {statistics.median(firsts):.0f})")
        print(f"later renders: {', '.join(f'{f:.0f}' for f in laters)} ms (median {statistics.median(laters):.0f})")
        print(f"first / later: {statistics.median(firsts) / statistics.median(laters):.2f}")
        print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
