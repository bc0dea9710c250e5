"""The tests' SMTP server (tests/smtp.py): a stopped server keeps its port.

Test workers run side by side, each choosing free ports from the system; a server a test
has stopped (a relay that is down) must not free its port for another worker's server, or
that worker's server would take the messages this test expects to be refused."""

import socket

import pytest

from tests.smtp import SmtpServer


def _bind(port, reuse=True):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if reuse:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    finally:
        sock.close()


def test_a_stopped_server_refuses_connections_and_gives_its_port_to_no_other_server():
    server = SmtpServer().start()
    try:
        port = server.port
        server.stop()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        with pytest.raises(OSError):
            _bind(port, reuse=False)  # held: the system hands it out to no one asking for a free port
        server.start()
        assert server.port == port
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            assert conn.recv(100).startswith(b"220 ")
    finally:
        server.close()
    _bind(port)  # closed: the port is given back
