"""The production profile, started for real on loopback: PostgreSQL (a database of
its own on the server the tests use), a Redis server and moto's S3 server of its own
on free ports, gunicorn, a Celery worker and beat, each a process whose output is kept
in a file; and an HTTP client that talks to gunicorn as nginx would (TLS ended,
X-Forwarded-For and -Proto set). Everything started here is stopped by ``close()``
(a process group each: SIGTERM, then SIGKILL after a few seconds)."""

import datetime
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HOST = "portal.test"
CLIENT_ADDRESS = "203.0.113.7"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
START_TIMEOUT = 120  # seconds a process may take to answer (the machine may be busy)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.3, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process ended ({process.returncode}):\n{process.tail()}")
        try:
            if predicate():
                return
        except Exception:  # not up yet
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} within {timeout} s" + (f":\n{process.tail()}" if process is not None else ""))


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout} s: {what}")


class Process:
    """A child process in its own process group, its standard output and error in files."""

    def __init__(self, name: str, command: list[str], *, env: dict, folder: Path):
        self.name = name
        self.stdout_path = folder / f"{name}.out"
        self.stderr_path = folder / f"{name}.err"
        self._stdout = self.stdout_path.open("ab")
        self._stderr = self.stderr_path.open("ab")
        self.popen = subprocess.Popen(  # our own commands, no shell
            command, cwd=ROOT, env=env, stdout=self._stdout, stderr=self._stderr, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def returncode(self):
        return self.popen.returncode

    def poll(self):
        return self.popen.poll()

    def output(self) -> str:
        for handle in (self._stdout, self._stderr):
            if not handle.closed:
                handle.flush()
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def stop(self, timeout: float = 15):
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(10)
        else:  # the group may still hold children of a process that ended
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._stdout.close()
        self._stderr.close()


def run(command: list[str], *, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def unit_settings(name: str) -> dict[str, list[str]]:
    """The settings of the systemd unit deploy/<name> (each key's values, in order)."""
    found: dict[str, list[str]] = {}
    for line in (ROOT / "deploy" / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def unit_environment(name: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The variables the unit deploy/<name> starts its command with: its Environment= lines, then its
    EnvironmentFile= files in their order, each overriding what came before as systemd has it:
    /etc/portal/portal.env is ``env``, a file under /srv/portal this checkout's."""
    found = {}
    for line in unit_settings(name).get("Environment", []):
        found.update(assignment.split("=", 1) for assignment in shlex.split(line))
    for path in unit_settings(name).get("EnvironmentFile", []):
        if path == "/etc/portal/portal.env":
            found |= env or {}
            continue
        assert path.startswith("/srv/portal/"), path
        for line in (ROOT / path.removeprefix("/srv/portal/")).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                found.update([line.strip().split("=", 1)])
    return found


def unit_command(name: str, env: dict[str, str] | None = None) -> list[str]:
    """The ExecStart= command of the unit deploy/<name>, its program taken from this virtual
    environment instead of /srv/portal/.venv, each ${VARIABLE} replaced as systemd replaces it
    (unit_environment; unset, an empty word)."""
    [line] = unit_settings(name)["ExecStart"]
    variables = unit_environment(name, env)
    program, *arguments = line.split()
    arguments = [re.sub(r"\$\{(\w+)\}", lambda match: variables.get(match.group(1), ""), word) for word in arguments]
    return [str(VENV_BIN / Path(program).name), *arguments]


def postgres_admin_url() -> str:
    """The PostgreSQL server the tests use (DATABASE_URL), on its maintenance database."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise LookupError("DATABASE_URL is not PostgreSQL")
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def database_url(name: str) -> str:
    parts = urlsplit(postgres_admin_url())
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def psql_admin(sql: str):
    import psycopg

    with psycopg.connect(postgres_admin_url().replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def database_create(name: str):
    psql_admin(f'CREATE DATABASE "{name}"')


def database_drop(name: str):
    psql_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Stack:
    """Everything the production profile needs, and the processes of the portal."""

    def __init__(self, folder: Path, smtp_port: int):
        self.folder = folder
        self.processes: list[Process] = []
        self.databases: list[str] = []
        self.suffix = uuid.uuid4().hex[:10]
        self.database = f"portal_production_{self.suffix}"
        self.redis_port = free_port()
        self.s3_port = free_port()
        self.bucket = "portal-files"
        self.secrets = {
            "DJANGO_SECRET_KEY": f"production-test-secret-{uuid.uuid4().hex}{uuid.uuid4().hex}",
            "AUDIT_HMAC_KEY": f"production-test-audit-key-{uuid.uuid4().hex}{uuid.uuid4().hex}",
            "STORAGE_S3_SECRET_ACCESS_KEY": f"s3secret{uuid.uuid4().hex}",
        }
        self.env = {
            name: value for name, value in os.environ.items()
            if name in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_CACHE_HOME", "FONTCONFIG_PATH", "FONTCONFIG_FILE"}
        } | self.secrets | {
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_ALLOWED_HOSTS": HOST,
            "SITE_URL": f"https://{HOST}",
            "DATABASE_URL": database_url(self.database),
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/1",
            "STORAGE_S3_BUCKET": self.bucket,
            "STORAGE_S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
            "STORAGE_S3_REGION": "ap-south-1",
            "STORAGE_S3_ACCESS_KEY_ID": "portal-test-key",
            "STORAGE_S3_ADDRESSING_STYLE": "path",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "PORTAL_TRUSTED_PROXY_COUNT": "1",
            "PORTAL_VAR_DIR": str(folder / "var-shared"),
            "PORTAL_STATIC_ROOT": str(folder / "static"),
            "WEB_CONCURRENCY": "1",
            # Fast enough for a test, and still a real key-stretching hasher.
            "PDF_RENDER_TIMEOUT_SECONDS": "50",
        }

    # Services --------------------------------------------------------------------------

    def start_redis(self):
        folder = self.folder / "redis"
        folder.mkdir(exist_ok=True)
        process = self.start("redis", [
            shutil.which("redis-server"), "--port", str(self.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(folder),
        ], env=self.env)
        wait_for(lambda: socket.create_connection(("127.0.0.1", self.redis_port), timeout=1).close() or True,
                 timeout=30, what="Redis answering", process=process)
        self.redis = process
        return process

    def start_s3(self):
        process = self.start("s3", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.s3_port)], env=self.env)
        wait_for(lambda: requests.get(f"http://127.0.0.1:{self.s3_port}/", timeout=2).status_code < 500,
                 timeout=60, what="moto's S3 server answering", process=process)
        self.s3 = process
        return process

    def s3_client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{self.s3_port}", region_name="ap-south-1",
            aws_access_key_id="portal-test-key", aws_secret_access_key=self.secrets["STORAGE_S3_SECRET_ACCESS_KEY"],
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def bucket_create(self):
        self.s3_client().create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})

    def bucket_keys(self) -> list[str]:
        listed = self.s3_client().list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def database_setup(self):
        database_create(self.database)
        self.databases.append(self.database)
        run([sys.executable, "manage.py", "migrate", "--noinput"], env=self.env)
        run([sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], env=self.env)

    def manage(self, *args, env=None) -> str:
        return run([sys.executable, "manage.py", *args], env=env or self.env).stdout

    def seed(self) -> dict:
        out = run([sys.executable, "-m", "tests.production.seed"], env=self.env).stdout
        return json.loads(out.strip().splitlines()[-1])

    # The portal's processes -------------------------------------------------------------

    def start(self, name: str, command: list[str], *, env: dict) -> Process:
        process = Process(name, command, env=env, folder=self.folder)
        self.processes.append(process)
        return process

    def start_web(self, name: str, *, workers: int = 1, app: str = "portal.wsgi", extra: tuple = ()) -> "Web":
        port = free_port()
        var = self.folder / f"var-{name}"
        var.mkdir(exist_ok=True)
        env = self.env | {"PORTAL_VAR_DIR": str(var), "PORTAL_BIND": f"127.0.0.1:{port}"}
        process = self.start(name, [
            str(VENV_BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "--workers", str(workers),
            "--control-socket", str(self.folder / f"{name}.ctl"), *extra, app,
        ], env=env)
        web = Web(name, f"http://127.0.0.1:{port}", process, var)
        wait_for(lambda: requests.get(web.base + "/healthz", headers={"Host": HOST}, timeout=5).status_code == 200,
                 timeout=START_TIMEOUT, what=f"gunicorn {name} answering /healthz", process=process)
        return web

    def start_worker(self) -> Process:
        """A worker started as its unit starts it (deploy/portal-worker.service), with one process
        (CELERY_CONCURRENCY, as /etc/portal/portal.env would set it)."""
        env = self.env | {"PORTAL_VAR_DIR": str(self.folder / "var-worker"), "CELERY_CONCURRENCY": "1"}
        return self.start("worker", [
            *unit_command("portal-worker.service", env), "--hostname", f"worker-{self.suffix}@%h",
        ], env=env)

    def start_beat(self, name: str = "beat") -> Process:
        """A beat started as its unit starts it (deploy/portal-beat.service), as on a host of its own:
        its own folder and schedule file."""
        return self.start(name, [
            *unit_command("portal-beat.service"), "--schedule", str(self.folder / f"{name}-schedule"),
        ], env=self.env | {"PORTAL_VAR_DIR": str(self.folder / f"var-{name}")})

    def logs(self) -> str:
        """Everything every process of the portal wrote (not Redis's or moto's own)."""
        return "\n".join(p.output() for p in self.processes if p.name not in ("redis", "s3"))

    def close(self):
        for process in reversed(self.processes):
            process.stop()
        for name in self.databases:
            try:
                database_drop(name)
            except Exception:  # the server went away: nothing left to drop
                pass


class Web:
    def __init__(self, name, base, process, var):
        self.name, self.base, self.process, self.var = name, base, process, var
        self.port = int(base.rsplit(":", 1)[1])

    def request_lines(self) -> list[dict]:
        """The JSON lines this gunicorn wrote on the portal.requests logger."""
        lines = []
        for line in self.process.output().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("logger") == "portal.requests":
                    lines.append(entry)
        return lines


class Browser:
    """An HTTP client that talks to gunicorn as nginx would: the request came over TLS
    (X-Forwarded-Proto) from CLIENT_ADDRESS, for the portal's host name. Cookies are
    kept by hand: the portal's are Secure, and this side of the proxy is plain HTTP."""

    def __init__(self, web: Web):
        self.web = web
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, data=None, files=None, headers=None) -> requests.Response:
        sent = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT_ADDRESS,
                "User-Agent": "production-profile-test"}
        if method == "POST":
            sent |= {"Origin": f"https://{HOST}", "Referer": f"https://{HOST}{path}"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        sent |= headers or {}
        response = requests.request(method, self.web.base + path, data=data, files=files, headers=sent,
                                    allow_redirects=False, timeout=90)
        for header in response.raw.headers.getlist("Set-Cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self.request("POST", path, data=data, **kwargs)

    def csrf(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return CSRF_RE.search(response.text).group(1)


# The deploy path: deploy/portal.env.example, deploy/README.md, the nginx site ----------------------

def example_variable(name: str) -> str:
    """The value deploy/portal.env.example gives ``name``."""
    lines = (ROOT / "deploy" / "portal.env.example").read_text().splitlines()
    [value] = [line.partition("=")[2].strip('"') for line in lines if line.startswith(f"{name}=")]
    return value


def walkthrough_folders() -> dict[Path, tuple[str | None, str | None, int]]:
    """Each folder deploy/README.md makes with ``install -d``: (owner, group, mode) as it gives them."""
    made = {}
    for line in (ROOT / "deploy" / "README.md").read_text().splitlines():
        if not line.startswith("install -d "):
            continue
        words = shlex.split(line, comments=True)
        options, paths, words = {}, [], iter(words[2:])
        for word in words:
            if word in ("-o", "-g", "-m"):
                options[word] = next(words)
            else:
                paths.append(word)
        for path in paths:
            made[Path(path)] = (options.get("-o"), options.get("-g"), int(options.get("-m", "0755"), 8))
    return made


def self_signed_certificate(certificate: Path, key: Path):
    """A certificate for HOST and its key, in PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(private, hashes.SHA256()))
    for path in (certificate, key):
        path.parent.mkdir(parents=True, exist_ok=True)
    certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    key.chmod(0o600)


class Nginx:
    """Debian's nginx serving the site of deploy/nginx-portal.conf as it stands, every file path the
    site names (static root, logs, certificate) moved under ``base``, its own prefix, pid file and
    temporary folders there too, listening on free loopback ports; its upstream (gunicorn) a free port
    where nothing answers unless ``upstream_port`` is given. Started as root, its workers run as
    www-data, as Debian's nginx.conf has them. ``stop()`` ends it (its own process group)."""

    def __init__(self, base: Path, *, upstream_port: int | None = None):
        self.base = base
        self.http_port, self.https_port = free_port(), free_port()
        self.upstream_port = upstream_port or free_port()
        self.process: Process | None = None

    def path(self, path: str | Path) -> Path:
        """Where an absolute path the site names is, under ``base``."""
        return self.base / Path(path).relative_to("/")

    def site(self) -> str:
        site = (ROOT / "deploy" / "nginx-portal.conf").read_text()
        site = re.sub(r"^\s*listen \[::\]:.*$", "", site, flags=re.M)
        site = re.sub(r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{self.http_port};", site, flags=re.M)
        site = re.sub(r"^(\s*)listen 443 ", rf"\g<1>listen 127.0.0.1:{self.https_port} ", site, flags=re.M)
        site = site.replace("server 127.0.0.1:8000", f"server 127.0.0.1:{self.upstream_port}")
        # Every file the site names (root, logs, certificate and key): under base.
        return re.sub(r"(?<=\s)(/(?:var|etc|srv|run)/[^\s;]*)", lambda match: str(self.path(match.group(1))), site)

    def start(self) -> "Nginx":
        site = (ROOT / "deploy" / "nginx-portal.conf").read_text()
        certificate = re.search(r"^\s*ssl_certificate\s+(\S+);", site, re.M).group(1)
        key = re.search(r"^\s*ssl_certificate_key\s+(\S+);", site, re.M).group(1)
        self_signed_certificate(self.path(certificate), self.path(key))
        self.logs = self.path("/var/log/nginx")
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.base / "portal-site.conf").write_text(self.site())
        (self.base / "temp").mkdir(exist_ok=True)
        temp = " ".join(f"{kind}_temp_path {self.base / 'temp' / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                                      "uwsgi", "scgi"))
        (self.base / "nginx.conf").write_text(f"""{"user www-data;" if os.getuid() == 0 else ""}
worker_processes 1;
pid {self.base / "nginx.pid"};
error_log {self.logs / "error.log"};
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    {temp}
    include {self.base / "portal-site.conf"};
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = Process("nginx", [nginx, "-p", str(self.base), "-c", str(self.base / "nginx.conf"),
                                          "-e", str(self.logs / "error.log"), "-g", "daemon off;"],
                               env={"PATH": os.environ.get("PATH", "")}, folder=self.base)
        wait_for(lambda: socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close() or True,
                 timeout=30, what="nginx answering", process=self.process)
        return self

    def request(self, path: str, *, data: bytes | None = None, https: bool = True) -> tuple[int, bytes]:
        """(status, body) of a request for ``path`` (a POST of ``data`` if given), redirects not followed."""
        scheme, port = ("https", self.https_port) if https else ("http", self.http_port)
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        request = urllib.request.Request(f"{scheme}://127.0.0.1:{port}{path}", data=data, headers={"Host": HOST})
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def logs_text(self) -> str:
        """Everything nginx wrote in its log files."""
        return "".join(path.read_text(errors="replace") for path in sorted(self.logs.iterdir()) if path.is_file())

    def stop(self):
        if self.process is not None:
            self.process.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
