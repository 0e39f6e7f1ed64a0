"""A module that announces /admin with auth but protects nothing: it must not start."""

from __future__ import annotations

from fastapi import FastAPI

from pywatt.server import requires_auth, serve_module


def build(state):
    app = FastAPI()

    @app.get("/admin")
    @requires_auth("jwt")
    async def admin():
        return {"secret": "stuff"}

    return app


if __name__ == "__main__":
    serve_module(build)
