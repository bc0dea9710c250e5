"""PostgreSQL as Django's backend has it, with a cheaper check of a kept connection.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every
request on a connection kept from an earlier one: a round trip per page, of a page's
five to seven. A connection the server ended (a restart, ``pg_terminate_backend``, an
idle timeout) has, by the time the next request comes, the server's last message and
the end of its stream waiting on its socket; a healthy idle one has nothing. So the
check here looks at the socket first (no round trip): nothing to read, the libpq
connection in good standing and outside a transaction, and the connection is used as
it is; anything else (a message came, the connection is not idle) and Django's own
check runs, ``SELECT 1``, which closes the connection if it fails. What neither check
can tell apart from a quiet connection is one whose server vanished without a word
(a host powered off): its first query waits for the socket's timeout. ``SELECT 1`` itself
(Django's check, and /healthz's) is waited for at most ``connect_timeout`` seconds
(DATABASE_CONNECT_TIMEOUT), after which the connection counts as unusable and is closed."""

import select
import time

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if (self.connection is not None and not self.pool and self.health_check_enabled
                and not self.health_check_done and self._quiet()):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def is_usable(self) -> bool:
        """Django's check, ``SELECT 1``, answered within ``connect_timeout`` seconds: a server
        that stopped answering (hung, or behind a firewall that swallows packets) fails it
        then, instead of holding the request until TCP gives up."""
        timeout = self.settings_dict["OPTIONS"].get("connect_timeout")
        if self.connection is None or not timeout or not hasattr(select, "poll"):
            return super().is_usable()
        pgconn = self.connection.pgconn  # non-blocking: psycopg waits for its sockets itself
        deadline = time.monotonic() + float(timeout)
        try:
            pgconn.send_query(b"SELECT 1")
            while pgconn.flush():
                self._wait_for(pgconn.socket, select.POLLOUT, deadline)
            pgconn.consume_input()
            while pgconn.is_busy():
                self._wait_for(pgconn.socket, select.POLLIN, deadline)
                pgconn.consume_input()
            statuses = []
            while (result := pgconn.get_result()) is not None:
                statuses.append(result.status)
        except (base.Database.Error, TimeoutError):
            return False
        return statuses == [pq.ExecStatus.TUPLES_OK]

    @staticmethod
    def _wait_for(socket: int, events: int, deadline: float) -> None:
        poller = select.poll()
        poller.register(socket, events)
        if not poller.poll(max(0, deadline - time.monotonic()) * 1000):
            raise TimeoutError("the database did not answer in time")

    def _quiet(self) -> bool:
        """Whether the kept connection is idle, in good standing, and nothing has come
        from the server since its last answer."""
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        if not hasattr(select, "poll"):
            return False
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)  # a hang-up or an error is reported too
        return not poller.poll(0)
