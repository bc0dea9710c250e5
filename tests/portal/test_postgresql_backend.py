"""portal.postgresql: a kept connection's check before a request's first query sends
nothing while the connection is quiet, and still finds one the server ended."""

import select
import time

import pytest
from django.db import connection

from tests.pg_trace import backend_terminate, kept_connection_at_the_start_of_a_request, other_connection, statements_sent

pytestmark = pytest.mark.usefixtures("require_postgresql")


def first_query():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
        return cursor.fetchone()[0]


def test_the_engine_is_the_portals(settings):
    assert settings.DATABASES["default"]["ENGINE"] == "portal.postgresql"
    assert connection.vendor == "postgresql"


def test_a_quiet_kept_connection_is_checked_without_a_round_trip(transactional_db):
    first_query()
    pid = connection.connection.info.backend_pid
    kept_connection_at_the_start_of_a_request()
    sent, answer = statements_sent(first_query)
    assert (sent, answer) == ([' "SELECT 2"'], 2)
    assert connection.health_check_done and connection.connection.info.backend_pid == pid


def test_a_connection_the_server_ended_is_replaced_before_the_first_query(transactional_db):
    first_query()
    pid = connection.connection.info.backend_pid
    backend_terminate(pid)
    kept_connection_at_the_start_of_a_request()
    assert first_query() == 2
    assert connection.connection.info.backend_pid != pid


def test_a_message_waiting_on_the_connection_makes_it_ask_the_server(transactional_db):
    """Something came from the server since its last answer (here a notification): Django's
    own check (SELECT 1) decides, and the connection, in good health, is kept."""
    first_query()
    pid = connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("LISTEN portal_test_channel")
    with other_connection() as other:
        other.execute("NOTIFY portal_test_channel")
    poller = select.poll()
    poller.register(connection.connection.pgconn.socket, select.POLLIN)
    deadline = time.monotonic() + 10
    while not poller.poll(10):
        assert time.monotonic() < deadline
    kept_connection_at_the_start_of_a_request()
    sent, answer = statements_sent(first_query)
    assert (sent, answer) == ([' "SELECT 1"', ' "SELECT 2"'], 2)
    assert connection.connection.info.backend_pid == pid
    with connection.cursor() as cursor:
        cursor.execute("UNLISTEN *")


def test_a_connection_left_in_a_transaction_is_asked(transactional_db):
    first_query()
    connection.connection.execute("BEGIN")  # as no request leaves it; the check cannot take it as idle
    kept_connection_at_the_start_of_a_request()
    sent, _answer = statements_sent(first_query)
    assert sent[0] == ' "SELECT 1"'
    connection.connection.execute("ROLLBACK")
