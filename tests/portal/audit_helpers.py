"""Helpers of the audit log's tests (tests/portal, tests/monitoring)."""

import threading

from django.db import connection, connections

from portal.audit import services as audit_services
from portal.audit.models import AuditAction
from portal.audit.services import audit_record


def appended_once_the_head_is_read(monkeypatch, user):
    """Another request appends an event (in its own connection, committed) while the
    verifier runs, once it has read the chain head (it reads the key just after)."""
    real_key, tried, appended = audit_services.audit_key, [], []

    def key_then_someone_logs_in():
        if not tried and threading.current_thread() is threading.main_thread():
            tried.append(True)

            def other_request():
                try:
                    audit_record(actor=user, action=AuditAction.USER_LOGGED_IN, target=user)
                    appended.append(True)
                finally:
                    connections.close_all()

            worker = threading.Thread(target=other_request)
            worker.start()
            worker.join(timeout=30)
        return real_key()

    monkeypatch.setattr(audit_services, "audit_key", key_then_someone_logs_in)
    return appended


class tampering:
    """Change rows behind the application's back. On PostgreSQL the append-only
    trigger is bypassed for this session, as someone with direct database access
    could; the SET is undone with the test's transaction."""

    def __enter__(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
        return self

    def __exit__(self, *exc):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")
