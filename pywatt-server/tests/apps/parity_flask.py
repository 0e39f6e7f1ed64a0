"""The Flask twin of ``parity_fastapi.py``: work after the response (``call_on_close``,
Flask's background work)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify


def wait_then_finish(flags: Path) -> None:
    while not (flags / "release").exists():
        time.sleep(0.01)
    (flags / "done").write_text("done")


def make_app(flags: Path) -> Any:
    app = Flask("parity_flask")

    @app.get("/page")
    def page() -> Response:
        return Response("a page with a body", mimetype="text/plain", headers={"x-page": "1"})

    @app.get("/background")
    def background() -> Response:
        response = jsonify(queued="yes")
        response.call_on_close(lambda: wait_then_finish(flags))
        return response

    return app


if __name__ == "__main__":
    from pywatt.server import serve_module

    serve_module(lambda state: make_app(Path(os.environ["PARITY_DIR"])))
