"""The hello module: a greeting from a secret, a counter in the embedded store, a health check.

Run it the way an orchestrator does, ``python examples/hello/hello.py``, or in the dev
orchestrator: ``pywatt run examples/hello/hello.py --secrets examples/hello/.env``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from pywatt.core import AppConfig, AppState, Secret, ServeOptions, pywatt_module
from pywatt.data import Cache, open_cache


@dataclass
class Hello:
    greeting: str
    store: Cache


def build_state(config: AppConfig, secrets: dict[str, Secret[str]]) -> Hello:
    return Hello(
        greeting=secrets["GREETING"].expose(),
        store=open_cache("memory://", namespace=config.module_id),
    )


# GREETING comes from the orchestrator; one that does not know it gets a logged warning and
# the default, so the module still starts (a secret mapped to None would be required).
@pywatt_module(
    secrets={"GREETING": "Hello"},
    state=build_state,
    options=ServeOptions(secret_timeout=2.0),
)
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
