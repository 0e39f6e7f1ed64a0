"""The hello module: a greeting from a secret, a counter in the embedded store, a health check.

Run it the way an orchestrator does, ``python examples/hello/hello.py``, or in the dev
orchestrator: ``pywatt run examples/hello/hello.py --secrets examples/hello/.env``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from pywatt.core import AppConfig, AppState, Secret, pywatt_module
from pywatt.data import Cache, open_cache


@dataclass
class Hello:
    greeting: str
    store: Cache


def build_state(config: AppConfig, secrets: dict[str, Secret[str]]) -> Hello:
    # The orchestrator must know GREETING: bootstrap fails loudly rather than guess a default.
    return Hello(
        greeting=secrets["GREETING"].expose(),
        store=open_cache("memory://", namespace=config.module_id),
    )


@pywatt_module(secrets=["GREETING"], state=build_state)
def create_app(state: AppState[Hello]) -> FastAPI:
    hello = state.user
    app = FastAPI(title="hello")

    @app.get("/hello")
    async def greet(name: str = "world") -> dict[str, str]:
        return {"message": f"{hello.greeting}, {name}!"}

    @app.post("/count")
    async def bump() -> dict[str, int]:
        return {"count": await hello.store.increment("count")}

    @app.get("/count")
    async def read() -> dict[str, int]:
        return {"count": int(await hello.store.get("count") or 0)}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "OK"}

    return app


if __name__ == "__main__":
    create_app.run()
