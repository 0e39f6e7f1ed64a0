"""Work after the response, in real module processes: the reply comes first, over stdio and
over the socket, and the work still counts for the drain at shutdown.

The apps in ``apps/`` run as real module processes. What every adapter must do on each path
(status, headers, bodies, HEAD, errors, drain) is the conformance kit's, run in
test_adapter_kit.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from pywatt.cli.orchestrator import ModuleSpec, Orchestrator, SecretSource

pytestmark = pytest.mark.anyio

APPS = Path(__file__).parent / "apps"
ENV = {"PYWATT_LOAD_PLUGINS": "core,server"}


def quiet(_log: Any) -> None:
    """Keep module logs out of the test output."""


async def start(orch: Orchestrator, name: str, flags: Path, **env: str) -> Any:
    spec = ModuleSpec(
        [sys.executable, str(APPS / f"{name}.py")],
        name.replace("_", "-"),
        env={**ENV, "PARITY_DIR": str(flags), **env},
    )
    return await orch.start(spec)


async def over_stdio(handle: Any, method: str, uri: str) -> tuple[int, bytes]:
    response = await handle.http(method, uri, timeout=10)
    return response.status, response.body


def socket_client(handle: Any) -> httpx.AsyncClient:
    host, port = handle.http_address
    return httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10)


@pytest.mark.parametrize("name", ["parity_fastapi", "parity_flask"])
@pytest.mark.parametrize("via", ["stdio", "socket"])
async def test_reply_comes_before_background_work_which_shutdown_waits_for(tmp_path, name, via):
    async with Orchestrator(SecretSource.from_dict({}), log_sink=quiet) as orch:
        handle = await start(orch, name, tmp_path)
        # The task cannot end before "release" exists, so this reply came first.
        if via == "stdio":
            status, body = await over_stdio(handle, "GET", "/background")
        else:
            async with socket_client(handle) as wire:
                response = await wire.get("/background")
                status, body = response.status_code, response.content
        assert (status, json.loads(body)) == (200, {"queued": "yes"})
        assert not (tmp_path / "done").exists()
        codes: list[int] = []

        async def stop() -> None:
            codes.append(await handle.stop(timeout=15))

        async with anyio.create_task_group() as tg:
            tg.start_soon(stop)
            await anyio.sleep(0.5)
            assert codes == []  # still draining: the background work holds the exit
            (tmp_path / "release").write_text("")
        assert codes == [0]
        assert (tmp_path / "done").read_text() == "done"
