"""HTTP over TCP (§5.4) end to end: a FastAPI module served by pywatt-server registers with
the dev orchestrator (§7.2), dials the ``orchestrator_port`` it was given, and answers the
requests the orchestrator sends there with its real app."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from pywatt.cli.orchestrator import ModuleLog, ModuleSpec, Orchestrator

MODULES = Path(__file__).with_name("modules")

pytestmark = pytest.mark.anyio


async def test_a_registered_fastapi_module_serves_http_over_tcp():
    logs: list[ModuleLog] = []
    async with Orchestrator(log_sink=logs.append) as orch:
        await orch.start(ModuleSpec.for_script(MODULES / "tcpweb.py", announce_timeout=30))
        with anyio.fail_after(30):
            while not any(
                e["module"]["info"].get("name") == "tcpweb"
                for e in orch.discovery.registered.values()
            ):
                await anyio.sleep(0.05)

        hello = await orch.discovery.http_over_tcp("tcpweb", "GET", "/hello?name=tcp", timeout=30)
        assert list(hello) == ["request_id", "status_code", "headers", "body"]
        assert hello["status_code"] == 200
        assert hello["headers"]["content-type"] == "application/json"
        assert json.loads(hello["body"]) == {"module": "tcpweb", "hello": "tcp"}

        echo = await orch.discovery.http_over_tcp(
            "tcpweb", "POST", "/echo", {"x-k": "v", "content-type": "text/plain"}, b"\x00abc",
            timeout=30,
        )  # fmt: skip
        assert echo["status_code"] == 200
        assert json.loads(echo["body"]) == {"length": 4, "text": "\x00abc", "ctype": "v"}

        async def get(n: int) -> None:
            reply = await orch.discovery.http_over_tcp("tcpweb", "GET", f"/hello?name={n}")
            assert json.loads(reply["body"])["hello"] == str(n)

        async with anyio.create_task_group() as tg:
            for n in range(5):
                tg.start_soon(get, n)

        missing = await orch.discovery.http_over_tcp("tcpweb", "GET", "/nope", timeout=30)
        assert missing["status_code"] == 404
