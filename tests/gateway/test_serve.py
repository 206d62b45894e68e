"""The listening socket: TCP_NODELAY on accepted connections, and a port in use as one line."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from modelkeep.errors import InvalidInputError
from modelkeep.gateway.serve import listen


def test_the_listener_says_tcp_so_connections_get_nodelay():
    """asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP (uvicorn#3149)."""
    sock = listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        client = socket.create_connection(sock.getsockname())
        accepted, _ = sock.accept()
        assert accepted.proto == socket.IPPROTO_TCP
        accepted.close()
        client.close()
    finally:
        sock.close()


def test_a_port_in_use_is_one_clear_error():
    taken = listen("127.0.0.1", 0)
    try:
        with pytest.raises(InvalidInputError, match=r"cannot listen on 127\.0\.0\.1:\d+"):
            listen("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


def test_the_command_refuses_a_port_in_use_before_loading_anything(keep):
    taken = listen("127.0.0.1", 0)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "modelkeep", "--keep", str(keep.settings.root), "gateway",
             "--port", str(taken.getsockname()[1])], capture_output=True, text=True, timeout=60)
    finally:
        taken.close()
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot listen on 127.0.0.1:")
    assert "Traceback" not in result.stderr
