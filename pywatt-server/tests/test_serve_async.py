"""A module embedded in a running async program: it stops, the program goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import sys
    import anyio
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from pywatt.core import PyWattModule

    async def ping(request):
        return PlainTextResponse("pong")

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await anyio.sleep(0.01)
                ticks += 1

        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            module = PyWattModule(lambda state: Starlette(routes=[Route("/ping", ping)]))
            code = await module.serve_async()
            before = ticks
            await anyio.sleep(0.3)  # the program, not the module, decides when to end
            print(f"program after module: code={code} still_ticking={ticks > before}")
            tg.cancel_scope.cancel()

    anyio.run(main)
    """
)
INIT = (
    b'{"op":"init","orchestrator_api":"http://127.0.0.1:9900","module_id":"embedded",'
    b'"env":{},"listen":"127.0.0.1:0","security_level":"None"}\n'
)
REQUEST = (
    b'{"op":"http_request","request_id":"r1","method":"GET","uri":"/ping","headers":{},'
    b'"body":null}\n'
)


def test_serve_async_returns_and_the_program_keeps_running(tmp_path):
    script = tmp_path / "embedded.py"
    script.write_text(PROGRAM)
    env = {**os.environ, "PYWATT_LOAD_PLUGINS": "core,server", "PYWATT_MODULE_ID": "embedded"}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    proc.stdin.write(INIT)
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["op"] == "announce"
    proc.stdin.write(REQUEST)
    proc.stdin.flush()
    reply = json.loads(proc.stdout.readline())
    assert (reply["content"]["status_code"], bytes(reply["content"]["body"])) == (200, b"pong")
    proc.stdin.write(b'{"op":"shutdown"}\n')
    proc.stdin.flush()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    # After the module stopped, stdout is the program's again: its print lands there.
    assert out == b"program after module: code=0 still_ticking=True\n"
