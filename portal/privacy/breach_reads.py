"""What the request log says was read: the pages about one record that an actor or a
client address opened in a period, for the breach report (portal/privacy/breach.py).

The audit log holds every change and export but not the reading of a page. The
request log (portal/requestlog.py: one JSON line a request, with the signed-in
user's id and a keyed digest of the client's address) does, when it is written to a file
(PORTAL_REQUEST_LOG_FILE, rotated by logrotate: deploy/logrotate-portal, kept
PRIVACY_LOG_RETENTION_DAYS days). Each successful GET of a path is resolved to its
route; a route about one record is registered by the app that owns it
(``breach_read_route_register("onboarding:detail", "onboarding.application")``), and
the record leads to its person the way the audit log's targets do.

The files are read line by line (plain or gzip), newest file first, skipping files
last written before the period; a line budget bounds what one call reads, and a time
budget what the page reads inside its web request (the command has none), and the
findings say when either was reached."""

import glob
import gzip
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.urls import Resolver404, resolve

from portal.client import client_digest

READ_METHODS = frozenset({"GET", "HEAD"})
# Lines read between two looks at the clock (a look costs about what reading a line that
# no actor or address matches does).
DEADLINE_LOOKED_AT_EVERY = 1000

# route name ("onboarding:detail") -> (target type, the URL keyword holding the record's id)
_READ_ROUTES: dict[str, tuple[str, str]] = {}


def breach_read_route_register(route: str, target_type: str, kwarg: str = "pk") -> None:
    """A successful GET of ``route`` read the record of ``target_type`` whose id is the URL's ``kwarg``."""
    _READ_ROUTES[route] = (target_type, kwarg)


@dataclass
class RequestLogReads:
    configured: bool = False
    files: int = 0
    lines: int = 0
    reads: int = 0                                   # matching successful reads of any page
    truncated: bool = False                          # a budget was reached before the end of the period
    out_of_time: bool = False                        # that budget was the time, not the lines
    by_route: dict = field(default_factory=dict)     # route -> reads
    targets: dict = field(default_factory=dict)      # target type -> set of ids (str)


def request_log_files(path: str) -> list[str]:
    """The log file and its rotations (``portal-requests.log.1``, ``...-20261130.gz``), newest first."""
    if not path:
        return []
    found = [name for name in glob.glob(glob.escape(path) + "*") if os.path.isfile(name)]
    return sorted(found, key=os.path.getmtime, reverse=True)


def _stamp(moment: datetime) -> str:
    """A moment written as the request log writes its ``time`` (UTC, milliseconds, Z), so that strings compare."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _lines(name: str) -> Iterator[str]:
    opener = gzip.open if name.endswith(".gz") else open
    try:
        with opener(name, "rt", encoding="utf-8", errors="replace") as handle:
            yield from handle
    except (OSError, EOFError):
        return  # unreadable or cut short (a rotation in progress): what was read counts


@dataclass
class _Wanted:
    """Which request lines count: a successful read in [since, until) by one of ``user_ids`` from ``ip``."""
    since: str
    until: str
    user_ids: set[int] | None
    ip: str

    def __post_init__(self):
        # Cheap tests on the raw line before parsing it (the JSON is written compactly).
        ids = self.user_ids or ()
        self.needles_user = {f'"user":{pk},' for pk in ids} | {f'"user":{pk}}}' for pk in ids}
        self.client = client_digest(self.ip) if self.ip else None  # how the log writes the address
        self.needle_ip = f'"client":{json.dumps(self.client)}' if self.client else ""

    def entry(self, line: str) -> dict | None:
        if '"message":"request"' not in line or (self.needle_ip and self.needle_ip not in line):
            return None
        if self.needles_user and not any(needle in line for needle in self.needles_user):
            return None
        try:
            entry = json.loads(line)
        except ValueError:
            return None
        when = entry.get("time") if isinstance(entry, dict) else None
        if not isinstance(when, str) or not self.since <= when < self.until:
            return None
        if entry.get("method") not in READ_METHODS or entry.get("status") != 200:
            return None
        if self.user_ids is not None and entry.get("user") not in self.user_ids:
            return None
        if self.client and entry.get("client") != self.client:
            return None
        return entry


def request_log_reads(*, start: datetime, end: datetime, user_ids: set[int] | None = None, ip: str = "",
                      files: list[str] | None = None, max_lines: int | None = None,
                      max_seconds: float | None = None) -> RequestLogReads:
    """The successful reads in [start, end) by one of ``user_ids`` (when given) from ``ip`` (when given),
    reading at most ``max_lines`` lines (PRIVACY_BREACH_LOG_MAX_LINES) for at most ``max_seconds`` (no limit)."""
    configured = files is not None or bool(getattr(settings, "REQUEST_LOG_FILE", ""))
    if files is None:
        files = request_log_files(getattr(settings, "REQUEST_LOG_FILE", ""))
    found = RequestLogReads(configured=configured)
    if user_ids is not None and not user_ids:
        return found  # an actor with no account made no signed-in request
    budget = max_lines if max_lines is not None else settings.PRIVACY_BREACH_LOG_MAX_LINES
    deadline = time.monotonic() + max_seconds if max_seconds is not None else None
    wanted = _Wanted(since=_stamp(start), until=_stamp(end), user_ids=user_ids, ip=ip)
    routes: Counter = Counter()
    for name in _files_since(files, start):
        found.files += 1
        for line in _lines(name):
            if found.lines >= budget:
                found.truncated = True
                break
            if deadline is not None and found.lines % DEADLINE_LOOKED_AT_EVERY == 0 and time.monotonic() > deadline:
                found.truncated = found.out_of_time = True
                break
            found.lines += 1
            entry = wanted.entry(line)
            if entry is not None:
                found.reads += 1
                _record(found, routes, entry.get("path"))
        if found.truncated:
            break
    found.by_route = dict(routes.most_common())
    return found


def _files_since(files: list[str], start: datetime) -> Iterator[str]:
    """The files last written at or after ``start`` (an older file holds nothing of the period)."""
    for name in files:
        try:
            if os.path.getmtime(name) >= start.timestamp():
                yield name
        except OSError:
            continue


def _record(found: RequestLogReads, routes: Counter, path) -> None:
    if not isinstance(path, str):
        return
    try:
        match = resolve(path)
    except Resolver404:
        return
    routes[match.view_name] += 1
    registered = _READ_ROUTES.get(match.view_name)
    if registered is None:
        return
    target_type, kwarg = registered
    value = match.kwargs.get(kwarg)
    if value is not None:
        found.targets.setdefault(target_type, set()).add(str(value))
