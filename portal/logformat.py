"""Log lines an operator's tools can read: one JSON object a line (configured in
LOGGING, portal/settings.py), each carrying the id of the request (or of the request
that queued the task) it was written under.

The request id lives in a context variable set by ``portal.requestlog`` for the
length of a request and by the Celery signals in ``portal.celery`` for the length
of a task; the filter copies it onto every record, whoever wrote it.
"""

import contextvars
import json
import logging
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("portal_request_id", default=None)

# What a record carries besides its message, given as ``extra={"fields": {...}}``.
FIELDS_ATTRIBUTE = "fields"


class RequestIdFilter(logging.Filter):
    """Puts the current request id (if any) on the record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One line of JSON a record: time (UTC), level, logger, message, the request id,
    the record's ``fields`` and, when there is one, the exception's traceback (already
    redacted by portal.logfilters.RedactSecrets when that filter is on the handler)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, FIELDS_ATTRIBUTE, None)
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if key not in entry})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":"))
