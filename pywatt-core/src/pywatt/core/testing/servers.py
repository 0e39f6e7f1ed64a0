"""Gate tests on a real server: skip on a developer's machine without it, fail in CI."""

from __future__ import annotations

import os
import socket


def server_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Skip the calling test when ``name`` is not listening; under ``CI=true`` fail instead.

    A skipped backend test proves nothing, so CI treats a missing server as a failure.
    """
    import pytest

    if server_reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason} (CI=true: a missing server is a failure, not a skip)")
    pytest.skip(reason)
