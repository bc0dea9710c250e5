"""Logging filters (configured in LOGGING, portal/settings.py)."""

import logging

from portal.redaction import redact_secret_paths


class RedactSecrets(logging.Filter):
    """Takes the secrets of registered paths (portal/redaction.py: the competent
    authority's link) out of a record: its message, its arguments and its traceback.

    The pages never put a live link in a later request's path or in a Referer sent to another
    site; this is the second line of defence, for the first request of a link, a link that no
    longer works, a link's page loaded again by its language switch (the invitation's), and
    whatever else logs a path (the development server, django.request,
    gunicorn's access and error logs). Set on those loggers, it changes the record
    itself, so every handler (and a test's capture) sees the redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_secret_paths(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_secret_paths(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):  # gunicorn's access log: its atoms (a dict of its own kind, kept)
            for key, value in list(record.args.items()):
                if isinstance(value, str):
                    record.args[key] = redact_secret_paths(value)
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its message: leave that to the handler
            message = None
        if message is not None and redact_secret_paths(message) != message:
            # An argument that is not a string (a request object, say) printed a secret.
            record.msg, record.args = redact_secret_paths(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secret_paths(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_secret_paths(record.stack_info)
        return True
