"""A FastAPI module run as a real process: work after the response, slow requests.

``PARITY_DIR`` holds the flag files: ``/background`` starts a task that waits for
``release`` and then writes ``done``, so a test can tell whether a reply came before the
task ended without measuring time; ``/slow`` writes ``slow-started`` and answers once
``release`` exists. ``PARITY_OPTIONS`` is a JSON object of ``ServeOptions`` fields.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import PlainTextResponse


async def wait_then_finish(flags: Path) -> None:
    # Async, so it runs on the event loop: no worker thread keeps the process alive for it.
    while not (flags / "release").exists():
        await anyio.sleep(0.01)
    (flags / "done").write_text("done")


def make_app(flags: Path) -> Any:
    app = FastAPI()

    @app.api_route("/page", methods=["GET", "HEAD"])
    async def page() -> PlainTextResponse:
        return PlainTextResponse("a page with a body", headers={"x-page": "1"})

    @app.get("/background")
    async def background(tasks: BackgroundTasks) -> dict[str, str]:
        tasks.add_task(wait_then_finish, flags)
        return {"queued": "yes"}

    @app.get("/slow")
    async def slow() -> PlainTextResponse:
        (flags / "slow-started").write_text("started")
        while not (flags / "release").exists():
            await anyio.sleep(0.01)
        return PlainTextResponse("finished")

    return app


if __name__ == "__main__":
    import json

    from pywatt.server import ServeOptions, serve_module

    options = ServeOptions(**json.loads(os.environ.get("PARITY_OPTIONS", "{}")))
    serve_module(lambda state: make_app(Path(os.environ["PARITY_DIR"])), options=options)
