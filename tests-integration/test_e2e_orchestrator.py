"""End to end: real module processes built on the SDK, driven by the dev orchestrator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

from pywatt.cli.orchestrator import (
    ModuleCrashed,
    ModuleLog,
    ModuleSpec,
    ModuleUnavailable,
    Orchestrator,
    SecretSource,
)

MODULES = Path(__file__).with_name("modules")

pytestmark = pytest.mark.anyio


async def test_handshake_secret_and_http_both_ways():
    logs: list[ModuleLog] = []
    secrets = SecretSource.from_dict({"API_KEY": "first-key"})
    async with Orchestrator(secrets, log_sink=logs.append) as orch:
        web = await orch.start(ModuleSpec.for_script(MODULES / "web.py", env={"MODE": "e2e"}))
        assert web.listen == "{}:{}".format(*web.http_address)  # type: ignore[str-format]
        assert {e.path for e in web.endpoints} >= {"/hello", "/key", "/echo", "/db"}
        over_stdio = await web.http("GET", "/hello")
        assert (over_stdio.status, over_stdio.json()) == (200, {"module": "web"})
        over_socket = await orch.http_via_socket("web", "GET", "/hello")
        assert (over_socket.status, over_socket.json()) == (200, {"module": "web"})
        key = await web.http("GET", "/key")
        assert key.json() == {"key": "first-key", "rotations": []}
        echoed = await web.http("POST", "/echo", headers={"x-in": "hdr"}, body=b"\x00\xffraw")
        assert (echoed.status, echoed.body, echoed.headers["x-echo"]) == (
            201,
            b"\x00\xffraw",
            "hdr",
        )
        socket_echo = await orch.http_via_socket("web", "POST", "/echo", body=b"via socket")
        assert socket_echo.body == b"via socket"
        assert web.stdout_errors == []
    assert not any("first-key" in log.raw for log in logs), "the secret leaked into stderr"


async def test_rotation_is_seen_acked_and_refetched():
    secrets = SecretSource.from_dict({"API_KEY": "old"})
    async with Orchestrator(secrets, log_sink=lambda _: None) as orch:
        web = await orch.start(ModuleSpec.for_script(MODULES / "web.py"))
        ack = await web.rotate({"API_KEY": "new"})
        assert ack.status == "success"
        assert ack.rotation_id.startswith("rot-")
        reply = (await web.http("GET", "/key")).json()
        assert reply == {"key": "new", "rotations": [["API_KEY"]]}


async def test_service_proxy_database_through_a_real_module():
    async with Orchestrator(SecretSource.from_dict({"API_KEY": "k"}), log_sink=print) as orch:
        web = await orch.start(ModuleSpec.for_script(MODULES / "web.py"))
        first = await web.http("GET", "/db?v=a")
        assert first.status == 200, first.text
        assert first.json() == {"rows": [{"data": {"v": "a"}}]}
        second = await web.http("GET", "/db?v=b")
        assert second.json() == {"rows": [{"data": {"v": "a"}}, {"data": {"v": "b"}}]}


async def test_unix_socket_listen_serves_http():
    async with Orchestrator(SecretSource.from_dict({"API_KEY": "k"}), log_sink=print) as orch:
        await orch.start(ModuleSpec.for_script(MODULES / "web.py", listen="unix"))
        reply = await orch.http_via_socket("web", "GET", "/hello")
        assert reply.json() == {"module": "web"}


async def test_routing_between_two_modules_over_tcp_channels():
    async with Orchestrator(log_sink=print) as orch:
        ponger = await orch.start(ModuleSpec.for_script(MODULES / "ponger.py", tcp_channel=True))
        pinger = await orch.start(ModuleSpec.for_script(MODULES / "pinger.py", tcp_channel=True))
        reply = await pinger.http("GET", "/ping?n=41", timeout=15)
        assert reply.status == 200, reply.text
        assert reply.json() == {"pong": 42, "from": "pinger"}
        assert [f.op for f in pinger.channel_frames if f.op == "route_to_module"] == [
            "route_to_module"
        ]
        assert any(f.op == "route_to_module" for f in ponger.channel_frames)


async def test_crash_is_reported_with_exit_code():
    logs: list[ModuleLog] = []
    async with Orchestrator(log_sink=logs.append) as orch:
        crash = await orch.start(ModuleSpec.for_script(MODULES / "crash.py"))
        crashed = await crash.wait_crash(timeout=15)
        assert isinstance(crashed, ModuleCrashed)
        assert crashed.exit_code == crash.exit_code == 3
        assert "crash.py: failing on purpose" in crashed.stderr_tail
        with pytest.raises(ModuleUnavailable):
            await crash.http("GET", "/")
    assert any(log.level == "ERROR" and "exited with code 3" in log.message for log in logs)


async def test_shutdown_within_its_deadline():
    async with Orchestrator(SecretSource.from_dict({"API_KEY": "k"}), log_sink=print) as orch:
        web = await orch.start(ModuleSpec.for_script(MODULES / "web.py"))
        pid = web.pid
        started = time.monotonic()
        assert await web.stop(timeout=10) == 0
        assert time.monotonic() - started < 10
    assert pid is not None
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def test_module_exits_when_its_orchestrator_is_killed():
    parent = subprocess.Popen(
        [sys.executable, str(MODULES / "orphan_parent.py")], stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        started = json.loads(parent.stdout.readline())
        assert started["announce"]["op"] == "announce"
        child = started["pid"]
        assert _alive(child)
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), f"module {child} outlived its orchestrator"


async def test_restart_after_crash():
    async with Orchestrator(log_sink=lambda _: None) as orch:
        spec = ModuleSpec.for_script(MODULES / "crash.py", restart=True, max_restarts=1)
        crash = await orch.start(spec)
        first = crash.pid
        with anyio.fail_after(30):
            while crash.restarts < 1 or not crash.running:
                await anyio.sleep(0.05)
        assert crash.pid != first
        assert len(crash.crashes) >= 1
