"""The production profile for real (tests/production/stack.py): the officer signs in,
uploads the letter, downloads the form's PDF and submits over HTTP to gunicorn with
DJANGO_DEBUG=0 on PostgreSQL, Redis and an S3 server on loopback; a second gunicorn
with its own empty folder continues the same session and downloads the same letter.
Then what the processes wrote: one JSON line a request and a task, the request id in
the response, and no secret in any line."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import redis

from portal.celery import BEAT_LOCK_KEY
from tests.production.stack import (
    CLIENT_ADDRESS,
    ROOT,
    Browser,
    example_variable,
    unit_command,
    unit_environment,
    unit_settings,
    wait_until,
    walkthrough_folders,
)

UNITS = ("portal-web.service", "portal-worker.service", "portal-beat.service")


def test_the_officer_signs_in_uploads_downloads_the_pdf_and_submits_over_http(production, journey):
    assert journey["login"].status_code == 302, journey["login"].text[:2000]
    assert "sessionid" in journey["officer"].cookies
    assert journey["upload"].status_code == 302, journey["upload"].text[:2000]
    pdf = journey["pdf"]
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert journey["submit"].status_code == 302
    assert journey["submit"].headers["Location"] == f"/onboarding/{journey['pk']}/"
    assert "has been submitted to the competent authority" in journey["detail"].text
    # The competent authority's link works on the same profile: the token only in the first request.
    assert journey["link_click"].status_code == 302
    assert re.fullmatch(r"/onboarding/review/\?step=\d+", journey["link_click"].headers["Location"])
    assert journey["review"].status_code == 200 and "Directorate of Agriculture, Maharashtra" in journey["review"].text


def test_files_are_in_the_object_store_and_in_no_web_hosts_folder(production, journey):
    keys = production.stack.bucket_keys()
    assert [key for key in keys if key.startswith("letters/")], keys
    assert [key for key in keys if key.startswith("documents/")], keys
    for web in (production.a, production.b):
        files = web.var / "files"
        assert not files.exists() or not any(files.rglob("*")), list(files.rglob("*"))
    # Private: stored with no grant to anyone but the store's own account (no public-read ACL).
    client = production.stack.s3_client()
    for key in keys:
        grants = client.get_object_acl(Bucket=production.stack.bucket, Key=key)["Grants"]
        assert not [g for g in grants if "URI" in g["Grantee"]], (key, grants)


def test_a_second_web_host_continues_the_session_and_serves_the_same_letter(production, journey):
    elsewhere = Browser(production.b)
    elsewhere.cookies = dict(journey["officer"].cookies)
    mine = elsewhere.get("/onboarding/")
    assert mine.status_code == 200, mine.headers.get("Location")
    assert "Directorate of Agriculture, Maharashtra" in mine.text
    letter = elsewhere.get(journey["letter_path"])
    assert letter.status_code == 200
    assert letter.content == journey["letter_bytes"]
    assert elsewhere.get(f"/onboarding/{journey['pk']}/form.pdf").content.startswith(b"%PDF-")
    # Its own folder stayed empty: nothing it served came from a local disk.
    files = production.b.var / "files"
    assert not files.exists() or not any(files.rglob("*"))
    # Signed out on one host, signed out on every host.
    signed_out = elsewhere.post("/accounts/logout/", {"csrfmiddlewaretoken": elsewhere.csrf("/onboarding/")})
    assert signed_out.status_code == 302
    again = Browser(production.a)
    again.cookies = dict(journey["officer"].cookies)
    assert again.get("/onboarding/").status_code == 302


def test_one_json_line_per_request_with_its_id_in_the_response(production, journey):
    lines = production.a.request_lines()
    by_id = {line["request_id"]: line for line in lines}
    pdf = journey["pdf"]
    line = by_id[pdf.headers["X-Request-ID"]]
    assert line["method"] == "GET" and line["path"] == f"/onboarding/{journey['pk']}/form.pdf"
    assert line["status"] == 200 and isinstance(line["ms"], float) and line["user"] is not None
    assert set(line) >= {"time", "level", "logger", "message", "request_id", "method", "path", "status", "ms", "user"}
    click = by_id[journey["link_click"].headers["X-Request-ID"]]
    assert click["path"] == "/onboarding/review/[redacted]/" and click["user"] is None
    login_page = [entry for entry in lines if entry["path"] == "/accounts/login/" and entry["method"] == "GET"]
    assert login_page and login_page[0]["user"] is None
    # The trusted proxy's id is kept when it looks like one, replaced when it does not.
    browser = Browser(production.a)
    kept = browser.get("/accounts/login/", headers={"X-Request-ID": "0123456789abcdef0123456789abcdef"})
    assert kept.headers["X-Request-ID"] == "0123456789abcdef0123456789abcdef"
    replaced = browser.get("/accounts/login/", headers={"X-Request-ID": "bad id\" with quotes"})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])
    # No query string in the path.
    searched = browser.get("/accounts/login/?next=/onboarding/&secret=abc")
    assert by_id_after(production, searched)["path"] == "/accounts/login/"


def by_id_after(production, response):
    request_id = response.headers["X-Request-ID"]
    return wait_until(lambda: {e["request_id"]: e for e in production.a.request_lines()}.get(request_id), 10,
                      "the request's line")


def test_one_json_line_per_task(production, journey):
    def task_lines():
        found = []
        for line in production.worker.output().splitlines():
            if line.startswith("{") and '"portal.tasks"' in line:
                import json

                found.append(json.loads(line))
        return [entry for entry in found if entry.get("state") == "SUCCESS"]

    lines = wait_until(task_lines, 90, "a task's line in the worker's output")
    entry = lines[0]
    assert set(entry) >= {"time", "level", "logger", "message", "task", "task_id", "state", "ms"}
    assert entry["task"].startswith(("portal.", "onboarding.", "verification."))
    # The tasks queued by the submit carry its request id.
    submit_id = journey["submit"].headers["X-Request-ID"]
    wait_until(lambda: any(e.get("request_id") == submit_id for e in task_lines()), 90,
               "a task queued by the submit logged with the submit's request id")


def test_beat_runs_once_and_its_jobs_reach_the_worker(production, journey):
    assert production.beat.poll() is None, production.beat.tail()
    wait_until(lambda: "portal.mail.tasks.outbox_sweep" in production.worker.output(), 120,
               "beat's outbox sweep run by the worker")
    # A second beat finds the first one's lock and stops, saying so. Redis keeps nothing here: after
    # a restart (tests/production/test_readiness.py stops it) the first beat takes its lock again
    # within BEAT_LOCK_SECONDS / 3, and a beat started before that would rightly take it instead.
    wait_until(lambda: beat_lock(production), 60, "the first beat holding its lock")
    # Its start (Python, Django, Celery) is seconds alone but far longer beside a loaded suite:
    # waited for by what it does, its output and the lock's holder named if it does not.
    second = production.stack.start_beat("beat-second")
    try:
        wait_until(lambda: second.poll() is not None, 300, "the second beat stopping")
    except AssertionError as late:
        raise AssertionError(f"{late}; the beat lock: {beat_lock(production)}\n{second.tail()}") from None
    finally:
        second.stop()
    assert second.returncode != 0
    assert "Another Celery beat is running" in second.output()
    assert production.beat.poll() is None


def beat_lock(production) -> dict:
    """The lock a running beat holds (portal/celery.py), as the stack's Redis has it: {key: value}, empty when none."""
    client = redis.Redis.from_url(production.stack.env["REDIS_URL"], socket_timeout=5)
    return {key: client.get(key) for key in client.keys(f"*{BEAT_LOCK_KEY}")}


# Celery's warning to a worker run as root (only a test run as root sees it; the units run as portal).
ROOT_WARNING = re.compile(r"^[^\n]*SecurityWarning: You're running the worker with superuser privileges.*?"
                          r"^\s*_warn_or_raise_security_error\(.*?$\n?", re.M | re.S)


def test_the_worker_and_beat_write_only_json_lines(production, journey):
    """README: with debug off every line is a JSON object; deploy/README.md reads the worker's journal
    with jq. Started as their units start them, neither prints Celery's plain-text banner."""
    wait_until(lambda: '"portal.tasks"' in production.worker.output(), 90, "a task's line in the worker's output")
    for process in (production.worker, production.beat):
        output = process.output()
        if os.getuid() == 0:
            output = ROOT_WARNING.sub("", output)
        lines = [line for line in output.splitlines() if line.strip()]
        not_json = [line for line in lines if not line.startswith("{")]
        assert lines and not not_json, (process.name, not_json[:8])
        assert all(isinstance(json.loads(line), dict) for line in lines)


def test_no_secret_token_password_or_session_id_in_any_log_line(production, journey):
    time.sleep(1)  # the last lines flushed
    logs = production.stack.logs()
    assert '"portal.requests"' in logs and '"portal.tasks"' in logs
    cookies = journey["officer"].cookies | journey["authority"].cookies
    secrets = {
        "password": production.password,
        "authority token": journey["token"],
        "session id": cookies["sessionid"],
        "CSRF cookie": cookies["csrftoken"],
        **production.stack.secrets,
    }
    for name, secret in secrets.items():
        assert secret and secret not in logs, f"{name} appears in the logs"
    assert CLIENT_ADDRESS not in logs  # no client address either: the audit rows keep it, not the log


def test_static_files_have_hashed_names_compressed_copies_and_long_cache_headers(production, journey):
    page = Browser(production.a).get("/accounts/login/").text
    stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', page)
    assert stylesheets and all(re.search(r"\.[0-9a-f]{12}\.css$", path) for path in stylesheets), stylesheets
    response = Browser(production.a).get(stylesheets[0], headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] in {"br", "gzip"}
    assert "max-age=315360000" in response.headers["Cache-Control"] and "immutable" in response.headers["Cache-Control"]


def test_gunicorns_own_access_log_stays_off(production, journey):
    # The request's JSON line is the access log; gunicorn's would repeat it with the query string.
    assert '"gunicorn.access"' not in production.a.process.output()


def _established_tcp(pid):
    """The TCP connections (not listening sockets) process ``pid`` holds, as "address:port" pairs."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    held = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if inode in inodes and state == "01":  # ESTABLISHED
                held.append(f"{local} -> {remote}")
    return held


def test_workers_are_forks_of_a_master_that_loaded_the_portal_and_holds_no_connection(production, journey):
    """preload_app (deploy/gunicorn.conf.py): the master loaded the portal, so a worker that
    replaces one (max_requests) is a fork that serves at once; and a fork shares no
    connection: the master holds none to PostgreSQL, Redis or the object store after its
    worker served the journey's requests."""
    master = production.a.process.popen.pid
    maps = Path(f"/proc/{master}/maps").read_text()
    assert "libpq" in maps  # psycopg's library: the portal's database backend was imported by the master
    # and it did what each worker would do at its first requests (portal.preload), before forking them
    assert re.search(r"Preloaded for the workers: the URLs, \d{3} templates, the translations",
                     production.a.process.output())
    assert _established_tcp(master) == []
    workers = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == master]
    assert len(workers) == 1 and _established_tcp(workers[0])  # the worker holds its own connections


def _parent(proc):
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


# The deploy path (deploy/README.md, the units, the Makefile): read, not run ------------------------

def walkthrough_before(command):
    """deploy/README.md up to the first time it runs ``command``."""
    text = (ROOT / "deploy" / "README.md").read_text()
    return text[:text.index(command)]


def test_an_upgrade_installs_again_each_file_the_walkthrough_copied_onto_the_host():
    """Sections 1-5 copy files of deploy/ onto the host (the units, the nginx site, logrotate's and
    journald's files) and portal.env from its example; a release that changes one (a unit's
    TimeoutStopSec=, its EnvironmentFile=, a variable added) reaches a running host only if the
    upgrade copies it again: section 6 names each of them, after asking git what the release changed."""
    text = (ROOT / "deploy" / "README.md").read_text()
    before, upgrade = text.split("\n## 6. Upgrades", 1)
    upgrade = upgrade.split("\n## ", 1)[0]
    copied = {path for line in re.findall(r"^(?:cp|install) .*$", before, re.M)
              for path in re.findall(r"\bdeploy/[\w.-]+", line)}
    assert {"deploy/portal-web.service", "deploy/portal-beat.service", "deploy/nginx-portal.conf",
            "deploy/logrotate-portal", "deploy/journald-portal.conf", "deploy/portal.env.example"} <= copied, copied
    assert re.search(r"^\S.*git diff [^\n]*OLD HEAD -- deploy/", upgrade, re.M), upgrade
    for path in copied:
        assert path in upgrade, path
    assert "systemctl daemon-reload" in upgrade


def test_every_unit_may_write_the_request_log_folder_and_the_walkthrough_makes_it_first():
    """Every process loads the settings, and the example's PORTAL_REQUEST_LOG_FILE is under
    /var/log/portal: the units run with ProtectSystem=strict, so each says the folder is its own
    (LogsDirectory=), and deploy/README.md makes it before its first command (make migrate runs
    before any unit is installed; a worker host installs no portal-web)."""
    folder = str(Path(example_variable("PORTAL_REQUEST_LOG_FILE")).parent)
    assert folder == "/var/log/portal"
    for unit in UNITS:
        settings = unit_settings(unit)
        assert settings["EnvironmentFile"][0] == "/etc/portal/portal.env" and settings["ProtectSystem"] == ["strict"]
        assert settings.get("LogsDirectory") == ["portal"], unit
    assert re.search(r"install -d -o portal -g portal -m 0750 [^\n]*/var/log/portal\b", walkthrough_before("make migrate"))


def test_a_worker_stopping_lets_its_longest_task_finish():
    """systemctl stop or restart (every upgrade, deploy/README.md section 6) sends the worker SIGTERM:
    Celery's warm shutdown waits for the tasks running, each ended at its time limit at the latest,
    and systemd kills what is left after TimeoutStopSec. That must outlast the longest time limit of
    a task the worker runs, or a restart during the daily retention run or audit chain check kills it."""
    from portal.celery import app

    app.loader.import_default_modules()
    limits = {name: task.time_limit or app.conf.task_time_limit for name, task in app.tasks.items()
              if not name.startswith("celery.")}
    longest = max(limits, key=limits.get)
    settings = unit_settings("portal-worker.service")
    assert settings["KillSignal"] == ["SIGTERM"]  # Celery's warm shutdown
    [stop] = settings["TimeoutStopSec"]
    assert int(stop) > limits[longest], f"TimeoutStopSec={stop} but {longest} may run {limits[longest]} s"
    assert f"{limits[longest]} s" in (ROOT / "deploy" / "portal-worker.service").read_text()  # the comment says it
    # systemd sends KillSignal to every process of the unit unless KillMode=mixed: Celery's pool
    # children set SIGTERM back to its default when they start, and die with their task at once.
    assert settings["KillMode"] == ["mixed"]


def test_a_worker_stopped_as_the_unit_stops_it_lets_its_running_task_finish(tmp_path):
    """A prefork worker given SIGTERM as systemd gives it under the unit's KillMode: with the
    default (control-group) every process of the worker gets it, and a pool child, which
    Celery lets SIGTERM kill (celery.concurrency.prefork's WORKER_SIGRESET), ends its task
    there; with mixed only the main process gets it, whose warm shutdown waits for the task."""
    import signal  # noqa: PLC0415
    import textwrap  # noqa: PLC0415

    [kill_mode] = unit_settings("portal-worker.service").get("KillMode", ["control-group"])
    for name in ("in", "processed"):
        (tmp_path / name).mkdir()
    (tmp_path / "stopapp.py").write_text(textwrap.dedent(f"""
        import time
        from celery import Celery
        app = Celery("stopapp", broker="filesystem://")
        app.conf.broker_transport_options = {{"data_folder_in": "{tmp_path}/in", "data_folder_out": "{tmp_path}/in",
                                              "processed_folder": "{tmp_path}/processed"}}
        @app.task
        def long():
            open("{tmp_path}/started", "w").close()
            time.sleep(3)
            open("{tmp_path}/finished", "w").close()
    """))
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PYTHONPATH": str(tmp_path)}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "stopapp", "worker", "--pool", "prefork",
                               "--concurrency", "1", "--loglevel", "INFO"], cwd=tmp_path, env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        subprocess.run([sys.executable, "-c", "import stopapp; stopapp.long.delay()"], cwd=tmp_path, env=env,
                       check=True)
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "started").exists(), "the task never started"
        if kill_mode == "mixed":
            os.kill(worker.pid, signal.SIGTERM)
        else:
            os.killpg(worker.pid, signal.SIGTERM)  # every process of the unit
        worker.wait(30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert (tmp_path / "finished").exists(), f"KillMode={kill_mode}: the stop killed the running task"


SYSTEMD_SECONDS = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hr": 3600, "d": 86400, "day": 86400,
                   "days": 86400, "w": 604800, "week": 604800, "weeks": 604800}
SYSTEMD_BYTES = {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}


def test_the_walkthrough_keeps_the_journal_as_long_as_the_logs_must_be_kept():
    """README "Data protection": the journal, which has every request's and task's line and the daily
    audit head, is kept PRIVACY_LOG_RETENTION_DAYS, as the request log file is (deploy/logrotate-portal's
    rotate). deploy/README.md installs deploy/journald-portal.conf as a drop-in of journald's: on disk,
    lines kept at least that many days, and room for them beyond journald's default (a tenth of the file
    system, 4 GB at most, the oldest lines removed first when it is full)."""
    import configparser

    from django.conf import settings

    assert "journald `MaxRetentionSec=`" in (ROOT / "README.md").read_text()
    walkthrough = walkthrough_before("nginx -t")
    assert re.search(r"^install -D -m 0644 deploy/journald-portal\.conf /etc/systemd/journald\.conf\.d/portal\.conf$",
                     walkthrough, re.M)
    assert re.search(r"^systemctl restart systemd-journald$", walkthrough, re.M)
    conf = configparser.ConfigParser(interpolation=None, comment_prefixes=("#", ";"))
    conf.optionxform = str
    conf.read_string((ROOT / "deploy" / "journald-portal.conf").read_text())
    journal = conf["Journal"]
    assert journal["Storage"] == "persistent"
    number, unit = re.fullmatch(r"(\d+)\s*([a-z]*)", journal["MaxRetentionSec"]).groups()
    days = int(number) * SYSTEMD_SECONDS[unit] / 86400
    rotate = int(re.search(r"^\s*rotate (\d+)$", (ROOT / "deploy" / "logrotate-portal").read_text(), re.M).group(1))
    assert days >= max(settings.PRIVACY_LOG_RETENTION_DAYS, rotate), journal["MaxRetentionSec"]
    number, unit = re.fullmatch(r"(\d+)([KMGT]?)", journal["SystemMaxUse"]).groups()
    assert int(number) * SYSTEMD_BYTES[unit] > 4 * 1024 ** 3, journal["SystemMaxUse"]


def test_the_worker_unit_runs_as_many_processes_as_celery_concurrency_says():
    """README and `make worker`: a worker runs CELERY_CONCURRENCY processes, 2 unless it is set. The unit
    reads /etc/portal/portal.env (deploy/portal.env.example has every variable): set there, it is what a
    worker started by systemd runs too, and the unit's default is make's."""
    assert "CELERY_CONCURRENCY processes" in (ROOT / "README.md").read_text()
    makes = re.search(r"^CELERY_CONCURRENCY \?= (\d+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    [start] = unit_settings("portal-worker.service")["ExecStart"]
    assert " --concurrency ${CELERY_CONCURRENCY} " in start, start
    unit = (ROOT / "deploy" / "portal-worker.service").read_text()
    assert unit.index("Environment=CELERY_CONCURRENCY=") < unit.index("EnvironmentFile=")
    assert example_variable("CELERY_CONCURRENCY") == makes
    assert "--concurrency " + makes in " ".join(unit_command("portal-worker.service"))
    assert "--concurrency 6" in " ".join(unit_command("portal-worker.service", {"CELERY_CONCURRENCY": "6"}))


def test_the_units_run_with_debug_off_whatever_portal_env_says():
    """deploy/portal.env.example says the units set DJANGO_DEBUG=0 themselves. systemd lets a variable of an
    EnvironmentFile= override the same variable of Environment=, so an operator's portal.env holding
    DJANGO_DEBUG=1 (copied from a test host) would have switched debug pages on in production: the units
    read it from a file of their own, named after portal.env, whose settings override portal.env's."""
    assert "set DJANGO_DEBUG=0 themselves" in (ROOT / "deploy" / "portal.env.example").read_text()
    for unit in ("portal-web.service", "portal-worker.service", "portal-beat.service"):
        assert unit_environment(unit, {"DJANGO_DEBUG": "1"})["DJANGO_DEBUG"] == "0", unit
        assert unit_environment(unit, {"DJANGO_DEBUG": "1", "CELERY_CONCURRENCY": "6"}).get("CELERY_CONCURRENCY") in (None, "6")


def make_dry_run(*targets):
    """What `make -n TARGET...` would run, with the variables production needs set."""
    env = os.environ | {name: "x" for name in ("DJANGO_SECRET_KEY", "AUDIT_HMAC_KEY", "DJANGO_ALLOWED_HOSTS",
                                               "DATABASE_URL", "SITE_URL", "EMAIL_HOST")} | {"PYTHON": sys.executable}
    result = subprocess.run(["make", "-n", *targets], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_worker_and_beat_start_celery_quiet_as_the_units_do():
    """The stack above starts Celery as the units do, and checks that every line it writes is JSON;
    `make worker` and `make beat` (deploy/README.md's way without systemd) start it the same way."""
    for target, unit in (("worker", "portal-worker.service"), ("beat", "portal-beat.service")):
        [line] = unit_settings(unit)["ExecStart"]
        assert line.split()[1:5] == ["-A", "portal", "--quiet", target], line
        assert re.search(rf"^exec \S*/celery -A portal --quiet {target} ", make_dry_run(target), re.M), target
    walkthrough = (ROOT / "deploy" / "README.md").read_text()
    for command in re.findall(r"^journalctl .*$", walkthrough, re.M):
        assert "| jq -cR 'fromjson? | select(" in command, command


def make_rule(target):
    """The prerequisites of ``target`` in the Makefile and the Debian packages its recipe may install."""
    makefile = (ROOT / "Makefile").read_text()
    start = re.search(rf"^{re.escape(target)}:([^=\n]*)$", makefile, re.M)  # not a target's variable
    assert start, f"the Makefile has no rule for {target}"
    recipe = makefile[start.end():makefile.find("\n\n", start.end())]
    return start.group(1).split(), set(re.findall(r'missing="\$\$missing ([a-z0-9.+-]+)"', recipe))


def test_the_production_targets_ask_only_for_the_packages_deploy_readme_installs():
    """deploy/README.md section 1 installs the host's packages and runs `make venv` as `portal` (no sudo);
    section 4 runs `make serve`, `make worker` and `make beat` without systemd. None of them may want a
    package section 1 does not install (a browser on every production host, or apt-get run as portal);
    `make run` and `make test` still install what they need on a fresh machine."""
    install = re.search(r"^apt-get install -y (.*?[^\\])$", (ROOT / "deploy" / "README.md").read_text(), re.M | re.S)
    installed = set(install.group(1).replace("\\", " ").split())
    runtime = make_rule("system-deps")[1]
    tests_only = make_rule("test-deps")[1]
    assert runtime >= {"libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-noto-core", "gettext"}
    assert tests_only >= {"chromium", "redis-server", "postgresql-client", "nginx", "rsync"} and not runtime & tests_only
    assert runtime <= installed, runtime - installed
    for target in ("venv", "migrate", "serve", "worker", "beat", "%.mo"):
        prerequisites = make_rule(target)[0]
        assert "test-deps" not in prerequisites, target
    for target in ("serve", "worker", "beat", "run"):
        assert "system-deps" in make_rule(target)[0], target
    assert {"system-deps", "test-deps"} <= set(make_rule("test")[0])
    readme = (ROOT / "README.md").read_text()
    for target, packages in (("system-deps", runtime), ("test-deps", tests_only)):
        [bullet] = re.findall(rf"^- `make {target}`.*?(?=^- |^\n)", readme, re.M | re.S)
        assert {package for package in packages if f"`{package}`" not in bullet} == set(), target


def test_every_make_target_on_the_deploy_path_compiles_the_translations():
    """The .mo catalogues are build output, not in git. A host set up by deploy/README.md runs only
    the make targets it names (sections 1, 3 and 6), then the units, which may not write /srv/portal
    (ProtectSystem=strict): each of those targets, and make serve, worker and beat (section 4 without
    systemd), compiles every catalogue, or the portal speaks English only to Hindi and Marathi readers."""
    catalogues = sorted(str(path.relative_to(ROOT).with_suffix(".mo")) for path in ROOT.glob("**/locale/*/LC_MESSAGES/*.po")
                        if ".venv" not in path.parts)
    assert len(catalogues) >= 2, catalogues
    walkthrough = (ROOT / "deploy" / "README.md").read_text()
    targets = set(re.findall(r"(?:sudo -u portal|set \+a;) make ([a-z][a-z-]*)", walkthrough)) | {"serve", "worker", "beat"}
    assert {"migrate", "serve", "worker", "beat"} < targets and len(targets) == 5, targets
    for target in sorted(targets):
        dry = make_dry_run("-B", target)
        assert all(f"msgfmt --check-format -o {mo} " in dry for mo in catalogues), target


def test_the_readme_says_how_long_static_files_are_cached():
    """Whitenoise sends its "forever" (10 years) for the hashed names `make serve` collects, and
    WHITENOISE_MAX_AGE for the others (test_static_files_have_hashed_names... sees the header)."""
    from django.conf import settings
    from whitenoise.base import WhiteNoise

    years, hours = WhiteNoise.FOREVER // (365 * 24 * 3600), settings.WHITENOISE_MAX_AGE // 3600
    assert (years, hours) == (10, 1)
    serve = re.search(r"^make serve .*$", (ROOT / "README.md").read_text(), re.M).group(0)
    assert "cached 10 years" in serve and "other files an hour" in serve, serve


# The static files: a folder nginx reads, filled by portal-web -------------------------------------

def test_nginx_may_enter_the_static_root_and_nothing_else_of_the_portals():
    """nginx's workers run as www-data, which the walkthrough puts in no group of the portal's: every
    folder above PORTAL_STATIC_ROOT that deploy/README.md makes lets others through, while the folder
    of the uploaded letters and PDFs (PORTAL_VAR_DIR, files/) stays closed to them. portal-web, which
    collects the static files before gunicorn starts (ProtectSystem=strict), may write there."""
    static_root = Path(example_variable("PORTAL_STATIC_ROOT"))
    var_dir = Path(example_variable("PORTAL_VAR_DIR"))
    made = walkthrough_folders()
    closed = {str(path): oct(made[path][2]) for path in static_root.parents if path in made and not made[path][2] & 0o001}
    assert closed == {}, f"www-data cannot enter {closed} to reach {static_root}"
    assert var_dir not in static_root.parents and made[var_dir][2] & 0o007 == 0
    writable = [Path(path) for line in unit_settings("portal-web.service")["ReadWritePaths"] for path in line.split()]
    assert any(path == static_root or path in static_root.parents for path in writable), writable
    [root] = re.findall(r"location /static/ \{\s*root ([^;\s]+);", (ROOT / "deploy" / "nginx-portal.conf").read_text())
    assert Path(root) / "static" == static_root


def test_nginx_serves_the_static_files_and_the_413_page_on_a_host_laid_out_as_the_walkthrough_says(nginx_site):
    """deploy/README.md's folders, portal-web's collectstatic into PORTAL_STATIC_ROOT (of
    deploy/portal.env.example), the site of deploy/nginx-portal.conf: nginx's workers reach every
    static file, and the portal's page for a body too large (error_page 413) too."""
    status, body = nginx_site.request("/static/css/portal.css")
    assert status == 200 and body == (ROOT / "static" / "css" / "portal.css").read_bytes(), status
    status, body = nginx_site.request("/onboarding/1/letter/", data=b"x" * (7 * 1024 * 1024))
    assert status == 413 and b"The file is too large" in body, (status, body[:300])


def test_nginx_logs_no_secret_of_a_link_when_gunicorn_does_not_answer(nginx_site):
    """README "Secrets in logs": nginx logs every path that carries a secret with the secret
    redacted. When gunicorn does not answer (a restart, a worker killed at its timeout), nginx also
    writes a line to its error log naming the request's whole line: none for these paths, while
    another page's failure is still there."""
    token = "Zq7xK2vN9pL4sT8wY1bC5dF3gH6jM0nRaB4cD6eF8gH"  # 43 characters, as portal/tokens.py makes them
    paths = [f"/onboarding/review/{token}/", f"/verification/confirm/{token}/", f"/verification/invitations/{token}/",
             f"/accounts/password/reset/key/1a-{token}/"]
    for path in paths:
        assert nginx_site.request(path)[0] == 502, path
        assert nginx_site.request(path, https=False)[0] == 301, path
    assert nginx_site.request("/onboarding/")[0] == 502
    logs = nginx_site.logs_text()
    assert logs.count("/[redacted]/") == 2 * len(paths)  # each request was logged, its secret redacted
    assert token not in logs, [line for line in logs.splitlines() if token in line]
    assert re.search(r'connect\(\) failed .* request: "GET /onboarding/ HTTP/1\.1"', logs), logs
